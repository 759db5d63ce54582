"""The voice channel's turn-taking, the same for every telephony platform.

A connector hands the core one `Turn` per webhook and speaks the `Step`s it gets back. The core
only manages the conversation on the line; what to say, to transfer or to hang up is the
dialogue's decision (channels/voice/answer.py reads it). Per turn:

- the call starts: the dialogue is sent "/greet" (its voice greeting names key 0 for a person);
- silence: "Ik hoorde niets." and the last question again; a second silence in a row ends the
  call with a goodbye;
- keys: 0 always asks for a person; with a menu, key n chooses button n (its payload goes to
  the dialogue); other keys go as text (a phone or house number);
- speech: a menu choice said by its title or number becomes that button's payload; a transcript
  the recogniser doubted (confidence below VOICE_MIN_CONFIDENCE) is read back first, so nothing
  is booked or filed on a misheard word;
- an answer with links that cannot be spoken ends with an offer to send them by text message;
  the caller's next turn may accept it ("ja", key 1), anything else drops the offer. The
  answer's menu is read after the offer (key 1 cannot be "ja" and a choice at once), and its
  choices can be said or keyed (2-9) meanwhile.

The caller's number is used for that message only: from the current request (Twilio sends it
with every webhook), or from the call state where it is kept encrypted (AudioCodes sends it once).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from assistant.content import UnknownMunicipality, load_municipality
from channels.text import InvalidText, resident_text
from channels.voice import prompts
from channels.voice.answer import Answer, read_answer
from channels.voice.caller import CallerCipher, can_receive_sms, normalised_number
from channels.voice.config import VoiceConfig
from channels.voice.dialogue import Dialogue, DialogueUnavailable
from channels.voice.sms import LinkTexter
from channels.voice.speech import join, menu
from channels.voice.state import CallState, CallStore
from channels.voice.turns import (
    Call,
    CallEnded,
    CallStarted,
    Digits,
    HangUp,
    Listen,
    Say,
    Silence,
    Speech,
    Step,
    TransferEnded,
    Turn,
)
from channels.voice.understand import key_answer, spoken_choice, yes_or_no

logger = logging.getLogger(__name__)

# The second silence in a row ends the call.
MAX_SILENCES = 2


class VoiceCore:
    def __init__(
        self,
        *,
        store: CallStore,
        dialogue: Dialogue,
        config: VoiceConfig,
        texter: LinkTexter | None = None,
        cipher: CallerCipher | None = None,
        hints: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.dialogue = dialogue
        self.config = config
        self.texter = texter
        self.cipher = cipher
        self.hints = hints

    async def handle(self, call: Call, turn: Turn) -> list[Step]:
        """The steps that answer `turn`; the call's state is saved (or removed) before return."""
        if isinstance(turn, CallEnded):
            await self.store.delete(call.conversation_id)
            return []
        state = (
            None if isinstance(turn, CallStarted) else await self.store.load(call.conversation_id)
        )
        if state is None:
            # A turn of a call we do not know (its state expired): start it afresh.
            started = turn if isinstance(turn, CallStarted) else CallStarted()
            state = self._new_state(started)
            steps = await self._ask(call, state, prompts.GREET_PAYLOAD)
        elif isinstance(turn, TransferEnded):
            steps = await self._after_transfer(call, state, turn)
        elif state.ended:
            return []
        else:
            steps = await self._turn(call, state, turn)
        await self.store.save(call.conversation_id, state)
        return steps

    async def _after_transfer(
        self, call: Call, state: CallState, turn: TransferEnded
    ) -> list[Step]:
        """Back from the KCC's line: done when it answered, else the callback offer."""
        if not state.transferred or turn.answered:
            state.ended = True
            return [HangUp()]
        state.ended = state.transferred = False
        try:
            reply = await self.dialogue.unanswered(call.conversation_id)
        except DialogueUnavailable:
            state.ended = True
            return [Say(prompts.UNAVAILABLE), HangUp()]
        return self._speak(call, state, read_answer(reply.messages))

    def _new_state(self, started: CallStarted) -> CallState:
        state = CallState(municipality=self.config.municipality_for(started.called))
        number = normalised_number(started.caller)
        # Kept only when a text message could reach it, and only encrypted.
        if self.cipher and self.texter and can_receive_sms(number) and number:
            state.caller = self.cipher.seal(number)
        return state

    async def _turn(self, call: Call, state: CallState, turn: Turn) -> list[Step]:
        if isinstance(turn, Silence):
            return self._silence(state)
        state.silences = 0
        if state.pending_transcript is not None:
            return await self._confirming(call, state, turn)
        if state.sms_links:
            return await self._offering(call, state, turn)
        return await self._answer_turn(call, state, turn)

    # --- the channel's own questions --------------------------------------------------------

    def _silence(self, state: CallState) -> list[Step]:
        state.silences += 1
        if state.silences >= MAX_SILENCES:
            state.ended = True
            return [Say(prompts.NOTHING_HEARD_TWICE), HangUp()]
        return [
            Say(join(prompts.NOTHING_HEARD, state.prompt or prompts.ANYTHING_ELSE)),
            self._listen(state),
        ]

    async def _confirming(self, call: Call, state: CallState, turn: Turn) -> list[Step]:
        pending, state.pending_transcript = state.pending_transcript, None
        answer = _yes_no(turn)
        if answer is True and pending:
            return await self._ask(call, state, pending)
        if answer is False:
            menu = _menu_of(state)
            return self._prompt(state, join(prompts.SAY_IT_AGAIN, menu))
        # Not an answer to "Klopt dat?": the caller went on, so this is their new turn.
        return await self._answer_turn(call, state, turn)

    async def _offering(self, call: Call, state: CallState, turn: Turn) -> list[Step]:
        """The caller's answer to the text-message offer. Only "ja" or key 1 accept it; the
        menu of the answer (if any) is read after the offer, and stays valid meanwhile."""
        links, state.sms_links = state.sms_links, []
        if isinstance(turn, Digits):
            answer = True if turn.digits.strip("#") == "1" else None
        else:
            answer = _yes_no(turn)
        if answer is None:
            return await self._answer_turn(call, state, turn)
        next_question = _menu_of(state) or prompts.ANYTHING_ELSE
        if answer is False:
            return self._prompt(state, join(prompts.SMS_DECLINED, next_question))
        number = self._caller_number(call, state)
        sent = False
        if self.texter is not None and number:
            sent = await self.texter.send_links(number, state.municipality, links)
        if sent:
            outcome = prompts.SMS_SENT_MANY if len(links) > 1 else prompts.SMS_SENT
        else:
            outcome = prompts.SMS_FAILED.format(website=self._website(state))
        return self._prompt(state, join(outcome, next_question))

    # --- turns for the dialogue --------------------------------------------------------------

    async def _answer_turn(self, call: Call, state: CallState, turn: Turn) -> list[Step]:
        if isinstance(turn, Speech):
            try:
                text = resident_text(turn.transcript)
            except InvalidText:
                return self._silence(state)
            threshold = self.config.min_confidence
            if turn.confidence is not None and turn.confidence < threshold:
                state.pending_transcript = text
                confirm = prompts.CONFIRM_TRANSCRIPT.format(transcript=text)
                return self._prompt(state, confirm, yes_no=True)
            choice = spoken_choice(text, state.buttons)
            return await self._ask(call, state, choice.payload if choice else text)
        if isinstance(turn, Digits):
            return await self._keys(call, state, turn.digits)
        return self._repeat(state)

    async def _keys(self, call: Call, state: CallState, pressed: str) -> list[Step]:
        digits = pressed.replace("*", "").replace("#", "")
        if not digits:
            return self._repeat(state)
        if digits == "0":
            return await self._ask(call, state, prompts.HANDOFF_PAYLOAD)
        if state.buttons and len(digits) == 1:
            number = int(digits)
            if 1 <= number <= len(state.buttons):
                return await self._ask(call, state, state.buttons[number - 1].payload)
            return self._prompt(state, join(prompts.UNKNOWN_KEY, _menu_of(state)))
        return await self._ask(call, state, digits)

    async def _ask(self, call: Call, state: CallState, text: str) -> list[Step]:
        try:
            reply = await self.dialogue.ask(call.conversation_id, text, state.municipality)
        except DialogueUnavailable:
            state.ended = True
            return [Say(prompts.UNAVAILABLE), HangUp()]
        if reply.to_person or reply.refused:
            return self._prompt(state, prompts.WITH_EMPLOYEE)
        return self._speak(call, state, read_answer(reply.messages))

    def _speak(self, call: Call, state: CallState, answer: Answer) -> list[Step]:
        state.buttons = list(answer.buttons)
        state.sms_links = []
        if answer.transfer is not None or answer.hangup:
            state.ended = True
            state.transferred = answer.transfer is not None
            said = [Say(answer.text)] if answer.text else []
            return [*said, answer.transfer or HangUp()]
        tail: list[str] = []
        if answer.invalid_transfer:
            tail.append(prompts.TRANSFER_FAILED)
        # The offer is a yes/no question, so a menu waits until it is answered (key 1 cannot
        # mean both "ja" and the first choice).
        offer = bool(answer.links) and self._can_text(call, state)
        if offer:
            state.sms_links = list(answer.links)
            tail.append(prompts.SMS_OFFER)
        elif answer.links:
            tail.append(prompts.MORE_ON_WEBSITE.format(website=self._website(state)))
        if answer.buttons and not offer:
            tail.append(answer.menu)
        text = answer.text or ("" if tail else prompts.NO_ANSWER)
        question = answer.question or text
        state.prompt = join(question, *tail)
        state.yes_no = offer
        return [Say(join(text, *tail)), self._listen(state)]

    # --- helpers -----------------------------------------------------------------------------

    def _prompt(self, state: CallState, text: str, *, yes_no: bool = False) -> list[Step]:
        state.prompt = text
        state.yes_no = yes_no
        return [Say(text), self._listen(state)]

    def _repeat(self, state: CallState) -> list[Step]:
        return [Say(state.prompt or prompts.ANYTHING_ELSE), self._listen(state)]

    def _listen(self, state: CallState) -> Listen:
        return Listen(
            hints=() if state.yes_no else self.hints,
            dtmf=True,
            single_key=state.yes_no or bool(state.buttons),
        )

    def _caller_number(self, call: Call, state: CallState) -> str | None:
        if call.caller:
            return normalised_number(call.caller)
        return self.cipher.open(state.caller) if self.cipher else None

    def _can_text(self, call: Call, state: CallState) -> bool:
        return self.texter is not None and can_receive_sms(self._caller_number(call, state))

    def _website(self, state: CallState) -> str:
        try:
            municipality = load_municipality(state.municipality)
        except UnknownMunicipality:
            return prompts.WEBSITE_FALLBACK.format(name=state.municipality.capitalize())
        fact = municipality.facts.get("links.website")
        host = urlsplit(str(fact.value)).hostname if fact else None
        if not host:
            return prompts.WEBSITE_FALLBACK.format(name=municipality.name)
        return host.removeprefix("www.")


def _yes_no(turn: Turn) -> bool | None:
    if isinstance(turn, Speech):
        return yes_or_no(turn.transcript)
    if isinstance(turn, Digits):
        return key_answer(turn.digits.replace("#", ""))
    return None


def _menu_of(state: CallState) -> str:
    return menu([button.title for button in state.buttons])
