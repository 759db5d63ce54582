"""The telephony-neutral contract between the voice core and its connectors.

A connector turns what its platform sends (a TwiML form post, an AudioCodes activity) into one
`Turn`, hands it to the core, and turns the `Step`s it gets back into its platform's answer
(TwiML verbs, AudioCodes activities). Nothing here knows a platform.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    """The call a turn belongs to.

    `conversation_id` is the id of the call ("voice-<CallSid>"), never the caller's number.
    `caller` is the caller's number as the platform sent it with *this* request (Twilio sends
    it every time), only used during the turn and never stored; None when the platform did not
    send it.
    """

    conversation_id: str
    input_channel: str
    caller: str | None = None


# --- turns in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    """The call was answered. `called` is the number the caller dialled (it selects the
    municipality); `caller` is their number, which the core may keep encrypted for the call."""

    called: str | None = None
    caller: str | None = None


@dataclass(frozen=True)
class Speech:
    """What the platform's speech recognition heard; `confidence` 0-1, None when unknown."""

    transcript: str
    confidence: float | None = None


@dataclass(frozen=True)
class Digits:
    """Keys the caller pressed (0-9, * and #)."""

    digits: str


@dataclass(frozen=True)
class Silence:
    """The caller said nothing (or nothing the recogniser could use) before the timeout."""


@dataclass(frozen=True)
class CallEnded:
    """The caller hung up or the platform ended the call."""


@dataclass(frozen=True)
class TransferEnded:
    """The call we transferred came back: the KCC's line did not answer, was busy or failed
    (`answered` False), or the caller's talk with the employee is over (True)."""

    answered: bool


Turn = CallStarted | Speech | Digits | Silence | CallEnded | TransferEnded


# --- steps out -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Listen:
    """Wait for the caller. `hints`: phrases that help speech recognition (none on yes/no
    questions, where they make a short "ja" harder to hear); `single_key`: a menu or a yes/no
    question, so one key press is a complete answer."""

    hints: tuple[str, ...] = ()
    dtmf: bool = True
    single_key: bool = False


@dataclass(frozen=True)
class Transfer:
    """Connect the caller to `number` (E.164); `topic` tells the employee what the call is
    about, when the dialogue knows it."""

    number: str
    topic: str | None = None


@dataclass(frozen=True)
class HangUp:
    pass


Step = Say | Listen | Transfer | HangUp
