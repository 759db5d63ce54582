"""The AudioCodes VoiceAI Connect bot API in HTTP mode ("AC Bot API"): reading its requests and
writing activities (pure functions, no I/O).

Sources: techdocs.audiocodes.com/voice-ai-connect (API, call initiation, hang-up, call transfer,
receiving DTMF, controlling events sent to the bot, speech customisation) and the reference
connector ac-voice-ai/rasa-audiocodes.

- ``POST .../webhook {"conversation": "<id>"}`` opens a conversation;
- ``POST .../activities {"conversation", "activities": [...]}``: each activity has an ``id``
  (repeated deliveries keep it), ``timestamp``, ``type`` and ``parameters``:
  ``{"type": "event", "name": "start", "parameters": {"caller", "callee", ...}}`` first, then
  ``{"type": "message", "text", "parameters": {"confidence"}}`` per utterance,
  ``{"type": "event", "name": "DTMF", "value": "123"}`` for keys and
  ``{"type": "event", "name": "noUserInput"}`` after a silence (both enabled by the session
  parameters we send with the greeting); other events are not for us and are ignored;
- the answer is ``{"activities": [...]}`` of messages and the events ``transfer`` and ``hangup``,
  each with its own ``id`` and ``timestamp``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from channels.text import MAX_TEXT_LENGTH
from channels.voice.turns import (
    CallStarted,
    Digits,
    HangUp,
    Listen,
    Say,
    Silence,
    Speech,
    Step,
    Transfer,
    Turn,
)

LANGUAGE = "nl-NL"
# Conversation and activity ids: VoiceAI Connect sends UUID-like ids; anything else is refused.
SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_ACTIVITIES = 50
MAX_NUMBER_LENGTH = 64
DIGITS = re.compile(r"[0-9*#]{1,32}")
# Topic of a transferred call, as a SIP header the employee's phone system can show.
TOPIC_HEADER = "X-Onderwerp"
# Digits are collected until # or a pause, so a house number arrives as one event; a caller
# who says nothing for this long gets a noUserInput event (our silence turn).
SESSION_PARAMS: dict[str, Any] = {
    "language": LANGUAGE,
    "sendDTMF": True,
    "dtmfCollect": True,
    "dtmfCollectInterDigitTimeoutMS": 2000,
    "dtmfCollectSubmitDigit": "#",
    "sendEventsToBot": ["noUserInput"],
    "userNoInputTimeoutMS": 7000,
}


class MalformedRequest(ValueError):
    """The request is not one of the bot API's; the message says what is wrong."""


@dataclass(frozen=True)
class Activity:
    """One incoming activity: its id, and the turn it means (None: an event not for us)."""

    id: str
    turn: Turn | None


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest("the body is not a JSON object")
    return value


def conversation_id(value: object) -> str:
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        raise MalformedRequest("conversation must be 1-128 of A-Z a-z 0-9 . _ : -")
    return value


def read_activities(body: Mapping[str, Any], conversation: str) -> list[Activity]:
    if "conversation" in body and body["conversation"] != conversation:
        raise MalformedRequest("conversation does not match the URL")
    activities = body.get("activities")
    if not isinstance(activities, list) or len(activities) > MAX_ACTIVITIES:
        raise MalformedRequest(f"activities must be a list of at most {MAX_ACTIVITIES}")
    return [_activity(activity) for activity in activities]


def _activity(activity: object) -> Activity:
    if not isinstance(activity, dict):
        raise MalformedRequest("an activity must be an object")
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not SAFE_ID.fullmatch(activity_id):
        raise MalformedRequest("an activity needs an id of 1-128 of A-Z a-z 0-9 . _ : -")
    parameters = activity.get("parameters", {})
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise MalformedRequest("parameters must be an object")
    kind = activity.get("type")
    if kind == "message":
        return Activity(activity_id, _message(activity, parameters))
    if kind == "event":
        return Activity(activity_id, _event(activity, parameters))
    if not isinstance(kind, str):
        raise MalformedRequest("an activity needs a type")
    return Activity(activity_id, None)


def _message(activity: Mapping[str, Any], parameters: Mapping[str, Any]) -> Turn:
    text = activity.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        raise MalformedRequest(f"a message needs a text of at most {MAX_TEXT_LENGTH} characters")
    confidence = parameters.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
        or not 0 <= confidence <= 1
    ):
        raise MalformedRequest("confidence must be a number between 0 and 1")
    if not text.strip():
        return Silence()
    return Speech(text, None if confidence is None else float(confidence))


def _event(activity: Mapping[str, Any], parameters: Mapping[str, Any]) -> Turn | None:
    name = activity.get("name")
    if not isinstance(name, str):
        raise MalformedRequest("an event needs a name")
    if name == "start":
        return CallStarted(
            called=_number(parameters.get("callee")), caller=_number(parameters.get("caller"))
        )
    if name == "DTMF":
        value = activity.get("value")
        if not isinstance(value, str) or not DIGITS.fullmatch(value):
            raise MalformedRequest("a DTMF event needs a value of 0-9, * and #")
        return Digits(value)
    if name == "noUserInput":
        return Silence()
    return None


def _number(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NUMBER_LENGTH:
        return None
    return value.strip()


# --- answers ---------------------------------------------------------------------------------


def timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds, as VoiceAI Connect writes its own."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_config() -> dict[str, Any]:
    """The event that sets the call's language, key collection and silence events."""
    return {"type": "event", "name": "config", "sessionParams": dict(SESSION_PARAMS)}


def activities_for(
    steps: Sequence[Step], new_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> list[dict[str, Any]]:
    """The core's steps as bot activities. VoiceAI Connect listens after every message by
    itself; a `Listen` only adds its speech hints to the message before it."""
    activities: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, Say):
            activities.append({"type": "message", "text": step.text})
        elif isinstance(step, Listen):
            if step.hints and activities and activities[-1]["type"] == "message":
                activities[-1]["activityParams"] = {"sttContextPhrases": list(step.hints)}
        elif isinstance(step, Transfer):
            params: dict[str, Any] = {"transferTarget": f"tel:{step.number}"}
            if step.topic:
                params["transferSipHeaders"] = [{"name": TOPIC_HEADER, "value": _ascii(step.topic)}]
            activities.append({"type": "event", "name": "transfer", "activityParams": params})
        elif isinstance(step, HangUp):
            activities.append({"type": "event", "name": "hangup"})
    return stamped(activities, new_id)


def _ascii(text: str) -> str:
    # SIP header values are safest in ASCII: "Geboorteaangifte" stays, "é" becomes "e".
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def stamped(
    activities: Sequence[Mapping[str, Any]], new_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> list[dict[str, Any]]:
    now = timestamp()
    return [{**activity, "id": new_id(), "timestamp": now} for activity in activities]
