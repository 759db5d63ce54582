"""Web chat channel: the widget on a municipality's website talks to Rasa over one WebSocket.

Enable it in ``credentials.yml``::

    channels.webchat.WebChatInput:

(no options; everything comes from the environment, see ``assistant/settings.py``). Rasa then
serves, under ``/webhooks/webchat/``:

==========================  =====================================================================
``GET /``                   health check: ``{"status": "ok"}``
``GET /widget.js``          the widget script; a page embeds it with one ``<script>`` tag
``GET /widget.css``         the widget's styles
``GET /tokens.css``         NL Design System style design tokens (themes utrecht and zwolle)
``GET /ws`` (WebSocket)     the chat protocol below
==========================  =====================================================================

The WebSocket is refused with HTTP 403 unless the ``Origin`` header is one of
``WEBCHAT_ALLOWED_ORIGINS`` (a browser always sends it; non-browser clients must set it too;
``*`` in the setting allows every origin).

Protocol
--------
Every frame is a JSON object with a ``type``. Text frames only, at most 16 000 bytes.

Client to server:

``{"type": "hello", "session_id": "<22-64 of A-Z a-z 0-9 _ ->", "municipality": "utrecht"}``
    Must come first; may be sent again on the same connection to switch to another (new)
    conversation. ``session_id`` is a random id the widget creates and keeps in localStorage;
    it doubles as the key to the conversation, so it must be unguessable (>= 128 bits).
    ``municipality`` comes from the embed tag; unknown or missing ids fall back to
    ``ASSISTANT_MUNICIPALITY``. The server answers with ``history``, then ``handoff``.
``{"type": "message", "text": "...", "id"?: "<8-64 of A-Z a-z 0-9 _ ->"}``
    What the resident typed: 1 to 1000 characters after cleaning (channels/text.py: NFC, no
    invisible or control characters; lone surrogates are refused). With an ``id`` (the widget
    sends one, unique within the conversation) the message is answered at most once, however
    often it is sent: the widget sends again, after a reconnect, what it has no ``ack`` for,
    and that may reach another Rasa process. See "Answered once" below.
``{"type": "message", "payload": "/intent{...}", "id"?}``
    A quick-reply button was chosen. Only payloads the assistant offered in this conversation
    are accepted (so a page cannot inject arbitrary intents). ``id`` as for text.
``{"type": "rate_answer", "message_id": "<id of a bot message>", "helpful": true}``
``{"type": "rate_conversation", "score": 1..10, "about"?: "employee"}``
    The whole conversation, or with ``about`` the help of the employee who just handed it back.
``{"type": "typing", "active": true|false}``
    The resident is typing to the employee who has the conversation (ignored otherwise).
``{"type": "cancel_handoff"}``
    "Stop met wachten": leave the queue for a person (an employee who took over stays).

Server to client:

``{"type": "history", "session_id", "municipality", "messages": [...], "conversation_score"}``
    The current conversation session, rebuilt from the tracker store, so a reload or a
    reconnect shows what was said. Items are ``{"role": "user", "text", "id"?}`` (``id``: the
    message's ``id`` when it was sent with one) and bot messages as below with
    ``"role": "bot"``; a bot item carries ``"rating": true|false|null``.
``{"type": "typing", "active": true|false, "employee"?}``
    The assistant started / finished working on the resident's message; with ``employee``
    ("Sanne"): the employee who has the conversation is typing.
``{"type": "bot", "id", "text", "buttons": [{"title", "payload"}], "rateable", "employee"?,
"notice"?, "custom"?}``
    One message; the messages of one answer come together, once Rasa has stored the turn.
    ``text`` is plain text that may contain Markdown links ``[tekst](https://...)`` and bare
    ``https://`` addresses: the widget turns those into links with DOM APIs and never
    interprets anything as HTML. ``id`` identifies the answer for ``rate_answer``; only
    ``rateable`` answers (ones that carry information) get the rating buttons. ``employee``:
    written by that KCC employee; ``notice``: a line about the conversation ("Sanne neemt het
    gesprek over").
``{"type": "handoff", "state": "none"|"waiting"|"taken", "position", "employee", "rate_employee"}``
    Whether the resident waits for a person (and their place in the queue) or talks with one;
    after every ``history`` and on every change. ``rate_employee`` is true right after an
    employee handed the conversation back or ended it: the widget asks to rate the help.
``{"type": "ack", "id", "state": "done"|"pending"}``
    The message with that ``id`` was answered (``done``; for a repeat, after the answer's
    ``bot`` frames this connection has not shown yet), or an earlier copy of it is still being
    answered (``pending``: send it again later if no answer came).
``{"type": "delivered"}``
    The resident's message was kept for the person who has (or will take) the conversation;
    the assistant does not answer it.
``{"type": "rated", "message_id", "helpful"}`` / ``{"type": "rated", "score"}``
    The rating was stored.
``{"type": "error", "code", "message"}``
    Something was wrong with the last frame or the assistant failed; ``message`` is Dutch text
    for the resident. The connection stays usable.

Answered once
-------------
A message's ``id`` is claimed in a store every Rasa process shares (assistant/once.py, in
Redis under ``webchat:answered:`` when REDIS_URL is set) before it is answered, and recorded as
done after its answer was sent; it travels to Rasa as the metadata ``message_id``, so the
tracker's user event carries it, and the ``history`` shows it. A copy that finds the claim:

- done: the answer is re-sent from the tracker (only what this connection has not shown),
  then ``ack`` ``done``; nothing is answered again;
- still pending: either another process is answering it right now, or the process that
  claimed it died. Rasa stores a turn's user and bot events together at its end, so the
  tracker tells: with the id in it, the turn was answered (re-sent as above, ``done``);
  without, ``pending``.

A pending claim expires after TICKET_LOCK_LIFETIME seconds, as long as Rasa's conversation lock
of the same turn: both outlive every turn (a channel cancels a turn after TURN_TIMEOUT_SECONDS,
assistant/settings.py), and after a process was killed both free its conversations at about the
same moment, so the copy that takes the claim over finds the conversation unlocked. The
widget drops from its outbox every message whose id the ``history`` shows, and a killed
process stores nothing later, so a copy sent after the claim expired is never one whose turn
was stored. Because the ``bot`` frames of an answer are sent only after Rasa stored the turn,
a resident never saw an answer the tracker does not have (which a resend would answer a
second time).

Every message passes the conversation router (assistant/handoff/router.py): while a person has
the conversation, Rasa does not see it. The municipality travels to Rasa as message metadata
``{"municipality": "<id>"}``. Message text is never logged above debug level; conversation ids
appear in logs only as a short hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.exceptions import WebsocketClosed
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from assistant.content import known_municipality
from assistant.feedback import FeedbackStore
from assistant.handoff.bus import LiveEvent
from assistant.handoff.router import HANDOFF_KEY
from assistant.handoff.runtime import HandoffRuntime, handoff_for, run_with_server
from assistant.handoff.store import Status
from assistant.once import PENDING, once_store
from assistant.settings import TURN_TIMEOUT_SECONDS, Settings, load_settings
from assistant.transcript import bot_role, current_session, informative, message_id
from channels.buttons import buttons_of
from channels.limits import MessageLimits, client_address, limit_request_size
from channels.text import MAX_TEXT_LENGTH, InvalidText, resident_text

logger = logging.getLogger(__name__)

WEBCHAT_DIR = Path(__file__).resolve().parent.parent / "webchat"
STATIC_FILES = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "tokens.css": "text/css; charset=utf-8",
}
# Short enough that a new widget version reaches residents the same day; the ETag makes the
# revalidation after expiry a cheap 304.
STATIC_CACHE_CONTROL = "public, max-age=600"

MAX_FRAME_BYTES = 16_000
MAX_PAYLOAD_LENGTH = 500
TYPING_INTERVAL_SECONDS = 1.0
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
SENDER_PREFIX = "webchat-"
# The metadata key of a resident's message id in the tracker's user event.
MESSAGE_ID_KEY = "message_id"

# Dutch texts the resident reads (B1, formal "u").
ERRORS = {
    "bad_json": "Dit bericht kunnen wij niet lezen. Probeer het opnieuw.",
    "unknown_type": "Dit soort bericht kennen wij niet. Laad de pagina opnieuw.",
    "bad_field": "Dit bericht is niet goed ingevuld. Laad de pagina opnieuw.",
    "too_long": f"Uw bericht is te lang. Gebruik maximaal {MAX_TEXT_LENGTH} tekens.",
    "empty": "Uw bericht is leeg. Typ eerst uw vraag.",
    "surrogate": "Uw bericht bevat tekens die wij niet kunnen lezen. Typ uw vraag opnieuw.",
    "no_session": "Het gesprek is nog niet gestart. Laad de pagina opnieuw.",
    "bad_session": "Dit gesprek kunnen wij niet openen. Start een nieuw gesprek.",
    "unknown_choice": "Deze keuze is niet (meer) mogelijk. Typ uw vraag.",
    "unknown_answer": "Dit antwoord kunnen wij niet vinden. Uw beoordeling is niet opgeslagen.",
    "bad_score": "Kies een cijfer van 1 tot en met 10.",
    "too_fast": "U stuurt veel berichten kort na elkaar. Wacht een minuut en probeer het opnieuw.",
    "not_ready": "De assistent is nog niet klaar. Probeer het over een paar minuten opnieuw.",
    "unavailable": "Het lukt nu niet om uw vraag te beantwoorden. Probeer het later opnieuw.",
    "feedback_failed": "Uw beoordeling is niet opgeslagen. Probeer het later opnieuw.",
    "with_person": "U praat nu met een medewerker. Typ uw bericht; knoppen werken nu niet.",
    "no_employee": "In dit gesprek heeft geen medewerker geholpen. Uw cijfer is niet opgeslagen.",
}
ORIGIN_REFUSED = "Deze website mag de chat van de gemeente niet gebruiken."


class ProtocolError(Exception):
    """A client frame we cannot act on; `code` selects the Dutch text in ERRORS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- client frames --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    session_id: str
    municipality: str | None


@dataclass(frozen=True)
class Message:
    text: str | None = None
    payload: str | None = None
    id: str | None = None  # the widget's id for answering it once (MESSAGE_ID)


@dataclass(frozen=True)
class RateAnswer:
    message_id: str
    helpful: bool


@dataclass(frozen=True)
class RateConversation:
    score: int
    about_employee: bool = False


@dataclass(frozen=True)
class Typing:
    active: bool


@dataclass(frozen=True)
class CancelHandoff:
    pass


ClientFrame = Hello | Message | RateAnswer | RateConversation | Typing | CancelHandoff


def _string(frame: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = frame.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ProtocolError("bad_field")
    return value


def parse_frame(raw: str | bytes) -> ClientFrame:
    """Validate one client frame; raises ProtocolError with the reason."""
    if isinstance(raw, bytes | bytearray):
        raise ProtocolError("bad_json")
    if len(raw.encode("utf-8", errors="replace")) > MAX_FRAME_BYTES:
        raise ProtocolError("too_long")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad_json")
    kind = frame.get("type")
    if kind == "hello":
        session_id = _string(frame, "session_id")
        if not SESSION_ID.fullmatch(session_id):
            raise ProtocolError("bad_session")
        municipality = frame.get("municipality")
        return Hello(session_id, municipality if isinstance(municipality, str) else None)
    if kind == "message":
        return _parse_message(frame)
    if kind == "rate_answer":
        message_id = _string(frame, "message_id")
        helpful = frame.get("helpful")
        if not message_id or len(message_id) > 64 or not isinstance(helpful, bool):
            raise ProtocolError("bad_field")
        return RateAnswer(message_id, helpful)
    if kind == "rate_conversation":
        score = frame.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 10:
            raise ProtocolError("bad_score")
        about = frame.get("about", "conversation")
        if about not in ("conversation", "employee"):
            raise ProtocolError("bad_field")
        return RateConversation(score, about_employee=about == "employee")
    if kind == "typing":
        active = frame.get("active")
        if not isinstance(active, bool):
            raise ProtocolError("bad_field")
        return Typing(active)
    if kind == "cancel_handoff":
        return CancelHandoff()
    raise ProtocolError("unknown_type")


def _parse_message(frame: Mapping[str, Any]) -> Message:
    text = _string(frame, "text", required=False)
    payload = _string(frame, "payload", required=False)
    message_id = _string(frame, "id", required=False)
    if (text is None) == (payload is None):
        raise ProtocolError("bad_field")
    if message_id is not None and not MESSAGE_ID.fullmatch(message_id):
        raise ProtocolError("bad_field")
    if payload is not None:
        if not payload.strip() or len(payload) > MAX_PAYLOAD_LENGTH:
            raise ProtocolError("bad_field")
        return Message(payload=payload.strip(), id=message_id)
    try:
        return Message(text=resident_text(text), id=message_id)
    except InvalidText as problem:
        raise ProtocolError(problem.reason) from None


# --- server frames --------------------------------------------------------------------------


def error_frame(code: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": ERRORS[code]}


def _buttons(message: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"title": title, "payload": payload} for title, payload in buttons_of(message)]


def bot_frame(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """Rasa's channel-neutral bot message (with its event's metadata: who wrote it, which
    response) as a `bot` frame; None when nothing to show. The assistant's queue marker
    (custom `handoff`) is left out: it becomes a `handoff` frame."""
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    buttons = _buttons(message)
    custom = message.get("custom") if isinstance(message.get("custom"), Mapping) else None
    if custom is not None and HANDOFF_KEY in custom:
        custom = None
    if not text and not buttons and custom is None:
        return None
    role, employee = bot_role(message)
    frame: dict[str, Any] = {
        "type": "bot",
        "id": message_id(message.get("timestamp"), text),
        "text": text,
        "buttons": buttons,
        "rateable": role == "assistant" and informative(message.get("utter_action")),
    }
    if employee:
        frame["employee"] = employee
    if role == "notice":
        frame["notice"] = True
    if custom is not None:
        frame["custom"] = dict(custom)
    return frame


def handoff_frame(
    state: str, position: int | None = None, employee: str = "", rate_employee: bool = False
) -> dict[str, Any]:
    return {
        "type": "handoff",
        "state": state,
        "position": position,
        "employee": employee or None,
        "rate_employee": rate_employee,
    }


def offered_payloads(events: Iterable[Any]) -> set[str]:
    return {
        button["payload"]
        for event in events
        if isinstance(event, BotUttered)
        for button in _buttons(event.data or {})
    }


def history_messages(
    events: Iterable[Any], ratings: Mapping[str, bool] | None = None
) -> list[dict[str, Any]]:
    """The current session's conversation as the resident saw it.

    A button the resident chose is stored by Rasa as its payload; we show the button's title
    instead, found among the buttons the assistant offered before it.
    """
    ratings = ratings or {}
    items: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for event in current_session(events):
        if isinstance(event, BotUttered):
            frame = bot_frame(event.message())
            if frame is None:
                continue
            titles.update({b["payload"]: b["title"] for b in frame["buttons"]})
            frame.pop("type")
            items.append({"role": "bot", **frame, "rating": ratings.get(frame["id"])})
        elif isinstance(event, UserUttered) and event.text:
            text = event.text
            if text.startswith("/"):
                if text not in titles:
                    continue  # a payload not from a visible button (e.g. a test or API call)
                text = titles[text]
            item = {"role": "user", "text": text}
            sent_id = resident_message_id(event)
            if sent_id is not None:
                item["id"] = sent_id
            items.append(item)
    return items


def resident_message_id(event: UserUttered) -> str | None:
    """The widget's id of the message this user event records, if it was sent with one."""
    value = (event.metadata or {}).get(MESSAGE_ID_KEY)
    return value if isinstance(value, str) and MESSAGE_ID.fullmatch(value) else None


def recorded_answer(events: Iterable[Any], sent_id: str) -> list[dict[str, Any]] | None:
    """The `bot` frames that answered the resident's message `sent_id`, or None when the
    tracker has no such message (its turn was never stored)."""
    answer: list[dict[str, Any]] | None = None
    for event in events:
        if isinstance(event, UserUttered):
            if answer is not None:
                return answer  # the next message of the resident: the answer is complete
            if resident_message_id(event) == sent_id:
                answer = []
        elif isinstance(event, BotUttered) and answer is not None:
            frame = bot_frame(event.message())
            if frame is not None:
                answer.append(frame)
    return answer


def find_bot_message(events: Iterable[Any], wanted_id: str) -> BotUttered | None:
    for event in current_session(events):
        if isinstance(event, BotUttered):
            message = event.message()
            text = message.get("text") if isinstance(message.get("text"), str) else ""
            if message_id(message.get("timestamp"), text) == wanted_id:
                return event
    return None


# --- helpers ---------------------------------------------------------------------------------


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    if not origin:
        return False
    allowed = tuple(allowed)
    return "*" in allowed or origin.rstrip("/") in allowed


def log_id(sender_id: str) -> str:
    """Conversation ids are bearer secrets (they unlock the history): log only a hash."""
    return hashlib.sha256(sender_id.encode()).hexdigest()[:10]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def live_frames(event: LiveEvent) -> list[dict[str, Any]]:
    """What the resident's chat shows of a live handoff event (their own messages and typing
    are already on their screen)."""
    at = event.at.timestamp()
    notice = {
        "type": "bot",
        "id": message_id(at, event.text),
        "text": event.text,
        "buttons": [],
        "rateable": False,
        "notice": True,
    }
    if event.kind == "employee":
        return [{**notice, "notice": False, "employee": event.employee}]
    if event.kind == "assistant":
        buttons = [{"title": title, "payload": payload} for title, payload in event.buttons]
        return [{**notice, "notice": False, "buttons": buttons}]
    if event.kind == "typing" and event.employee:
        return [{"type": "typing", "active": event.active, "employee": event.employee}]
    if event.kind == "joined":
        return [
            {**notice, "employee": event.employee},
            handoff_frame("taken", None, event.employee),
        ]
    if event.kind in ("assistant_back", "closed"):
        state = handoff_frame("none", rate_employee=bool(event.employee))
        return [{**notice, "employee": event.employee}, state] if event.text else [state]
    return []


class WebSocketOutput(OutputChannel):
    """Collects the frames of one answer as Rasa produces them. The channel sends them when the
    turn is over: Rasa stores a turn only at its end, and a resident must never see an answer
    that a process dying before that moment would leave out of the tracker (see "Answered
    once" in the module docstring)."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return "webchat"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # Overridden whole: the base class splits text on blank lines and drops the
        # timestamp we derive the message id from.
        frame = bot_frame(message)
        if frame is not None:
            self.frames.append(frame)
        custom = message.get("custom")
        if isinstance(custom, Mapping) and isinstance(custom.get(HANDOFF_KEY), Mapping):
            position = custom[HANDOFF_KEY].get("position")
            self.frames.append(handoff_frame("waiting", position if _is_count(position) else None))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


class _Static:
    """The widget's files, read on change, with an ETag for cheap revalidation."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cache: dict[str, tuple[float, bytes, str]] = {}

    def get(self, name: str) -> tuple[bytes, str] | None:
        path = self._directory / name
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._cache.get(name)
        if cached is None or cached[0] != mtime:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            cached = (mtime, body, etag)
            self._cache[name] = cached
        return cached[1], cached[2]


# --- the channel ----------------------------------------------------------------------------


class WebChatInput(InputChannel):
    """Rasa input channel for the web chat widget (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WebChatInput:
        if credentials:
            raise ValueError(
                "channels.webchat.WebChatInput takes no options in credentials.yml; "
                f"configure it with environment variables (got {sorted(credentials)})"
            )
        return cls()

    def __init__(
        self, settings: Settings | None = None, feedback: FeedbackStore | None = None
    ) -> None:
        self.settings = settings or load_settings()
        self.feedback = feedback or FeedbackStore(self.settings.feedback_database_url)
        self.limits = MessageLimits(self.settings)
        # Which resent messages were answered already, shared by every Rasa process. A claim
        # lives as long as Rasa's lock of the same turn (see "Answered once" above).
        self.answered = once_store(
            self.settings.redis_url,
            prefix="webchat:answered:",
            pending_seconds=self.settings.ticket_lock_lifetime,
        )
        self._static = _Static(WEBCHAT_DIR)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat_input", __name__)
        limit_request_size(webchat, self.settings.max_request_bytes)

        @webchat.middleware("request")
        async def check_origin(request: Request) -> HTTPResponse | None:
            # Before the WebSocket handshake: a page on another site must not open a chat
            # in the resident's browser (cross-site WebSocket hijacking).
            if request.path.rstrip("/").endswith("/webchat/ws") and not origin_allowed(
                request.headers.get("origin"), self.settings.webchat_allowed_origins
            ):
                logger.info("webchat connection refused: origin not allowed")
                return response.json({"error": ORIGIN_REFUSED}, status=403)
            return None

        @webchat.listener("after_server_start")
        async def purge_old_ratings(*_: Any) -> None:
            # Ratings are kept as long as conversations (ASSISTANT_RETENTION_DAYS).
            try:
                removed = await asyncio.to_thread(
                    self.feedback.purge_older_than, self.settings.retention_days
                )
                logger.info("webchat: removed %d ratings past the retention period", removed)
            except Exception:
                logger.exception("webchat: the feedback database is not usable")

        run_with_server(webchat, self.settings)

        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webchat.route("/<name:(widget\\.js|widget\\.css|tokens\\.css)>", methods=["GET", "HEAD"])
        async def static(request: Request, name: str) -> HTTPResponse:
            found = self._static.get(name) if name in STATIC_FILES else None
            if found is None:
                return response.json({"error": "Dit bestand bestaat niet."}, status=404)
            body, etag = found
            headers = {
                "Cache-Control": STATIC_CACHE_CONTROL,
                "ETag": etag,
                "X-Content-Type-Options": "nosniff",
                # Embedded on other sites by design; lets pages with COEP load it too.
                "Cross-Origin-Resource-Policy": "cross-origin",
            }
            if etag in request.headers.get("if-none-match", ""):
                return response.empty(status=304, headers=headers)
            return response.raw(
                b"" if request.method == "HEAD" else body,
                content_type=STATIC_FILES[name],
                headers=headers,
            )

        @webchat.websocket("/ws")
        async def chat(request: Request, ws: Any) -> None:
            await _Conversation(self, request, ws, on_new_message).run()

        return webchat


class _Conversation:
    """One WebSocket connection: reads frames one by one and answers them."""

    def __init__(
        self,
        channel: WebChatInput,
        request: Request,
        ws: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        self.channel = channel
        self.request = request
        self.ws = ws
        self.on_new_message = on_new_message
        self.sender_id: str | None = None
        self.municipality = channel.settings.default_municipality
        self.address = client_address(request)
        self.open = True
        self.handoff: HandoffRuntime = handoff_for(request.app, channel.settings)
        self.follower: asyncio.Task[None] | None = None
        # Ids of the bot messages on the resident's screen: a live message that the history
        # already showed is not shown twice.
        self.shown: set[str] = set()
        self.sending = asyncio.Lock()  # the follower and the answers share the socket
        self.state = "none"  # of the last `handoff` frame sent
        self.last_typing = float("-inf")

    async def send(self, frame: dict[str, Any]) -> None:
        if not self.open:
            return
        if frame.get("type") == "bot":
            if frame["id"] in self.shown:
                return
            self.shown.add(frame["id"])
        elif frame.get("type") == "handoff":
            self.state = frame["state"]
        try:
            async with self.sending:
                await self.ws.send(json.dumps(frame, ensure_ascii=False))
        except Exception:  # closed underneath us: the widget reconnects and replays history
            self.open = False

    async def run(self) -> None:
        try:
            while self.open:
                raw = await self.ws.recv()
                if raw is None:
                    continue
                try:
                    await self.handle(parse_frame(raw))
                except ProtocolError as problem:
                    await self.send(error_frame(problem.code))
        except (ConnectionClosed, WebsocketClosed):
            pass  # the resident left or the network dropped; the widget reconnects
        except Exception:
            logger.exception("webchat connection failed")  # our bug; no message content
        finally:
            self.open = False
            await self.stop_following()

    def agent(self) -> Any:
        agent = getattr(self.request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            raise ProtocolError("not_ready")
        return agent

    async def tracker_events(self) -> list[Any]:
        assert self.sender_id is not None
        tracker = await self.agent().tracker_store.retrieve(self.sender_id)
        return list(tracker.events) if tracker is not None else []

    async def handle(self, frame: ClientFrame) -> None:
        if isinstance(frame, Hello):
            await self.hello(frame)
            return
        if self.sender_id is None:
            raise ProtocolError("no_session")
        if isinstance(frame, Message):
            await self.message(frame)
        elif isinstance(frame, RateAnswer):
            await self.rate_answer(frame)
        elif isinstance(frame, RateConversation):
            await self.rate_conversation(frame)
        elif isinstance(frame, Typing):
            await self.typing(frame)
        elif isinstance(frame, CancelHandoff):
            await self.cancel_handoff()

    async def hello(self, frame: Hello) -> None:
        # Opening conversations counts against the address too: a script cannot dodge the
        # message limits by starting new conversations.
        if not await self.channel.limits.allow_address(self.address):
            raise ProtocolError("too_fast")
        await self.stop_following()
        self.sender_id = SENDER_PREFIX + frame.session_id
        self.municipality = (
            known_municipality(frame.municipality) or self.channel.settings.default_municipality
        )
        self.shown = set()
        # Listening starts before the history is read: a message in between is in both, and
        # shown once (`send` skips ids already shown).
        await self.follow()
        events = await self.tracker_events()
        try:
            ratings = await asyncio.to_thread(self.channel.feedback.ratings_for, self.sender_id)
        except Exception:
            logger.exception("webchat: reading ratings failed; history is sent without them")
            ratings = None
        messages = history_messages(events, ratings.answers if ratings else None)
        self.shown.update(item["id"] for item in messages if item["role"] == "bot")
        await self.send(
            {
                "type": "history",
                "session_id": frame.session_id,
                "municipality": self.municipality,
                "messages": messages,
                "conversation_score": ratings.score if ratings else None,
            }
        )
        await self.send_handoff_state()
        logger.info("webchat conversation %s opened", log_id(self.sender_id))

    async def send_handoff_state(self) -> None:
        """Whether the resident waits for or talks with a person, so a reloaded chat shows it."""
        assert self.sender_id is not None
        store = self.handoff.store
        handoff = await asyncio.to_thread(store.open_for, self.sender_id)
        if handoff is None:
            await self.send(handoff_frame("none"))
        elif handoff.status is Status.WAITING:
            position = await asyncio.to_thread(store.position, handoff)
            await self.send(handoff_frame("waiting", position))
        else:
            await self.send(handoff_frame("taken", None, handoff.employee_name or ""))

    async def follow(self) -> None:
        assert self.sender_id is not None
        subscribed = asyncio.Event()
        self.follower = asyncio.create_task(self._follow(self.sender_id, subscribed))
        await subscribed.wait()

    async def _follow(self, conversation_id: str, subscribed: asyncio.Event) -> None:
        try:
            async with self.handoff.live.subscribe(conversation_id) as events:
                subscribed.set()
                while self.open:
                    event = await events.get()
                    if event.kind == "waiting":
                        await self.send_handoff_state()
                    for frame in live_frames(event):
                        await self.send(frame)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("webchat: live handoff events stopped for this connection")
        finally:
            subscribed.set()

    async def stop_following(self) -> None:
        if self.follower is not None:
            self.follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.follower
            self.follower = None

    async def message(self, frame: Message) -> None:
        """Answer a message; one with an id at most once (the widget resends what it has no
        `ack` for, to whichever process it reconnects to)."""
        if frame.id is None:
            await self.answer(frame)
            return
        assert self.sender_id is not None
        key = f"{self.sender_id}:{frame.id}"
        try:
            earlier = await self.channel.answered.claim(key)
        except RedisError as error:  # answering twice is better than not at all
            logger.warning("webchat: resend check unavailable: %s", type(error).__name__)
            earlier = None
        if earlier is not None:
            await self.repeat(key, frame.id, earlier)
            return
        try:
            await self.answer(frame)
        except BaseException:
            await self._quietly(self.channel.answered.release(key))
            raise
        await self._quietly(self.channel.answered.finish(key, "done"))
        await self.send({"type": "ack", "id": frame.id, "state": "done"})

    async def repeat(self, key: str, sent_id: str, earlier: str) -> None:
        """A copy of a message whose id was claimed before: its answer from the tracker, or
        `pending` while no process has stored its turn (see "Answered once")."""
        answer = recorded_answer(await self.tracker_events(), sent_id)
        if answer is None:
            # Pending: another process is answering it, or died doing so (then the claim
            # expires and a later copy is answered). Done: answered with an error, which
            # stored nothing to re-send.
            state = "pending" if earlier == PENDING else "done"
            await self.send({"type": "ack", "id": sent_id, "state": state})
            return
        if earlier == PENDING:
            # Stored, but its process died before it could record that: record it now, so the
            # claim does not expire into a second answer.
            await self._quietly(self.channel.answered.finish(key, "done"))
        for answer_frame in answer:
            await self.send(answer_frame)  # skips what this connection has shown already
        await self.send({"type": "ack", "id": sent_id, "state": "done"})

    async def _quietly(self, step: Awaitable[None]) -> None:
        try:
            await step
        except RedisError as error:
            logger.warning("webchat: resend check unavailable: %s", type(error).__name__)

    async def answer(self, frame: Message) -> None:
        assert self.sender_id is not None
        if not await self.channel.limits.allow_message(self.sender_id, self.address):
            raise ProtocolError("too_fast")
        self.agent()  # fail early with a clear text when the model is still loading
        if frame.payload is not None and frame.payload not in offered_payloads(
            current_session(await self.tracker_events())
        ):
            raise ProtocolError("unknown_choice")
        metadata = {"municipality": self.municipality}
        if frame.id is not None:
            metadata[MESSAGE_ID_KEY] = frame.id  # stored with the user event: see "Answered once"
        output = WebSocketOutput()
        user_message = UserMessage(
            text=frame.payload if frame.payload is not None else frame.text,
            output_channel=output,
            sender_id=self.sender_id,
            input_channel=WebChatInput.name(),
            metadata=metadata,
        )
        routed = await self.handoff.router.route(
            user_message, lambda routed_message: self.ask_assistant(routed_message, output)
        )
        if routed.to_person:
            await self.send({"type": "delivered"})
        elif routed.refused:
            raise ProtocolError("with_person")

    async def ask_assistant(self, user_message: UserMessage, output: WebSocketOutput) -> None:
        """The assistant answers, with its typing indicator while it works; the answer is sent
        once Rasa has stored the turn (a failed or cancelled turn stores nothing, and the
        resident sees only the error)."""
        await self.send({"type": "typing", "active": True})
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.on_new_message(user_message), TURN_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            logger.error("webchat conversation %s: no answer in time", log_id(self.sender_id))
            await self.send(error_frame("unavailable"))
        except Exception:
            logger.exception("webchat conversation %s: Rasa failed", log_id(self.sender_id))
            await self.send(error_frame("unavailable"))
        else:
            for frame in output.frames:
                await self.send(frame)
        finally:
            await self.send({"type": "typing", "active": False})
        logger.info(
            "webchat conversation %s answered in %.0f ms",
            log_id(user_message.sender_id),
            (time.perf_counter() - started) * 1000,
        )

    async def typing(self, frame: Typing) -> None:
        """Passed on only while an employee has the conversation; "typing" at most once a
        second (an indicator is a nicety, the rest is dropped without an error), "stopped"
        always, so the employee's indicator never stays on."""
        assert self.sender_id is not None
        if self.state != "taken":
            return
        if frame.active:
            moment = time.monotonic()
            if moment - self.last_typing < TYPING_INTERVAL_SECONDS:
                return
            self.last_typing = moment
        await self.handoff.router.typing(self.sender_id, frame.active)

    async def cancel_handoff(self) -> None:
        assert self.sender_id is not None
        if not await self.handoff.router.stop_waiting(self.sender_id):
            await self.send_handoff_state()

    async def rate_answer(self, frame: RateAnswer) -> None:
        event = find_bot_message(await self.tracker_events(), frame.message_id)
        if event is None:
            raise ProtocolError("unknown_answer")
        response_name = (event.metadata or {}).get("utter_action")
        await self._store(
            self.channel.feedback.rate_answer,
            sender_id=self.sender_id,
            message_id=frame.message_id,
            answer_text=event.text or "",
            helpful=frame.helpful,
            municipality=self.municipality,
            response_name=response_name if isinstance(response_name, str) else None,
        )
        await self.send({"type": "rated", "message_id": frame.message_id, "helpful": frame.helpful})

    async def rate_conversation(self, frame: RateConversation) -> None:
        if frame.about_employee:
            await self.rate_employee(frame.score)
            return
        await self._store(
            self.channel.feedback.rate_conversation,
            sender_id=self.sender_id,
            score=frame.score,
            municipality=self.municipality,
        )
        await self.send({"type": "rated", "score": frame.score})

    async def rate_employee(self, score: int) -> None:
        try:
            rated = await asyncio.to_thread(self.handoff.store.rate_help, self.sender_id, score)
        except Exception:
            logger.exception("webchat: storing a rating of an employee's help failed")
            raise ProtocolError("feedback_failed") from None
        if not rated:
            raise ProtocolError("no_employee")
        await self.send({"type": "rated", "score": score, "about": "employee"})

    async def _store(self, method: Callable[..., None], **kwargs: Any) -> None:
        try:
            await asyncio.to_thread(method, **kwargs)
        except Exception:
            logger.exception("webchat: storing a rating failed")
            raise ProtocolError("feedback_failed") from None
