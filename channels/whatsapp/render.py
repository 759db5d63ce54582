"""The assistant's messages as WhatsApp Cloud API message parts (pure functions, no I/O).

A part is the type-specific half of a Graph API send request, e.g.
`{"type": "text", "text": {"body": ..., "preview_url": False}}`; the client adds the recipient.

Rules (limits from Meta's reference: text 4096 characters, interactive body 1024, reply button
title 20 and id 256, list row title 24, description 72 and id 200, 3 reply buttons, 10 rows):

- Markdown links `[label](url)` become `label (url)`, `**bold**` WhatsApp's `*bold*`; link
  previews stay off (a preview of a municipality page adds nothing and loads a third party).
- Long texts are split at paragraph, then sentence, then word boundaries.
- 1-3 buttons whose titles fit 20 characters (and differ) become reply buttons; 4-10 buttons,
  or a longer title, a list message ("Kies"); of more than 10 the first 10 are shown. A row
  title over 24 characters is shortened with "…" and the whole title goes into the row's
  description.
- A button id is the Rasa payload, so a tap comes back as the payload we offered. A payload over
  the id limit is offered as "h:" + a hash of it instead; the inbound side finds the payload
  among those offered in the conversation (`payload_for_reply`). No state to keep, and no
  button silently left out.
- `image` and `attachment` are sent as their link in a text: the assistant links to pages and
  documents of the municipality, and a media message would need an upload or a public URL that
  Meta fetches.
- The assistant's queue marker (custom `{"handoff": {...}}`) gets the reply button "Niet meer
  wachten" (id STOP_WAITING_ID), which the inbound side turns into leaving the queue.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistant.handoff.bus import LiveEvent
from assistant.handoff.router import HANDOFF_KEY
from channels.buttons import Button, buttons_of

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
LIST_BUTTON = "Kies"
ELLIPSIS = "…"
HASHED_PREFIX = "h:"

STOP_WAITING_ID = "handoff:stop"
STOP_WAITING_TITLE = "Niet meer wachten"
# Body texts for interactive messages that came without text (WhatsApp requires a body).
CHOOSE = "Maak een keuze."
WAITING = "U wacht op een medewerker."

Part = dict[str, Any]

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+")


# --- text -----------------------------------------------------------------------------------


def whatsapp_text(text: str) -> str:
    """Markdown links and bold as WhatsApp shows them."""

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1).strip(), match.group(2)
        bare = url.split("://", 1)[1].rstrip("/")
        if label in (url, bare):
            return url
        return f"{label} ({url})"

    return _BOLD.sub(r"*\1*", _LINK.sub(link, text))


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, split where a reader expects a break."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    for separator, splitter in (
        ("\n\n", lambda t: re.split(r"\n\s*\n", t)),
        ("\n", lambda t: t.split("\n")),
        (" ", _SENTENCE_END.split),
        (" ", lambda t: t.split(" ")),
    ):
        if len(text) <= limit:
            break
        parts = [p.strip() for p in splitter(text) if p.strip()]
        if len(parts) > 1:
            for chunk in _pack(parts, separator, limit):
                pieces.extend(split_text(chunk, limit) if len(chunk) > limit else [chunk])
            return pieces
    if len(text) <= limit:
        return [text]
    # One word longer than the limit (a very long URL): cut it; nothing better is possible.
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _pack(parts: Sequence[str], separator: str, limit: int) -> list[str]:
    """Greedily join consecutive parts while they fit."""
    chunks: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{separator}{part}" if current else part
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            chunks.append(current)
            current = part
    if current:
        chunks.append(current)
    return chunks


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word where possible, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and cut.rfind(" ") >= limit // 2:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def text_part(body: str) -> Part:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


# --- buttons --------------------------------------------------------------------------------


def payload_id(payload: str, limit: int) -> str:
    """The id a button carries: the payload itself, or a hash of it when too long."""
    if len(payload) <= limit:
        return payload
    return HASHED_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def payload_for_reply(reply_id: str, offered: Iterable[str]) -> str | None:
    """The offered payload a tapped button stands for, or None when it was not offered."""
    offered = set(offered)
    if reply_id in offered:
        return reply_id
    if reply_id.startswith(HASHED_PREFIX):
        for payload in offered:
            if payload_id(payload, 0) == reply_id:
                return payload
    return None


def interactive_part(body: str, buttons: Sequence[Button]) -> Part:
    """Reply buttons when they fit, else a list of at most MAX_ROWS rows."""
    body = body or CHOOSE
    titles = [title for title, _ in buttons]
    # WhatsApp wants reply button titles unique; list rows need only unique ids.
    if (
        len(buttons) <= MAX_REPLY_BUTTONS
        and all(len(title) <= BUTTON_TITLE_LIMIT for title in titles)
        and len(set(titles)) == len(titles)
    ):
        action: dict[str, Any] = {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {"id": payload_id(payload, BUTTON_ID_LIMIT), "title": title},
                }
                for title, payload in buttons
            ]
        }
        return {"type": "interactive", "interactive": _interactive("button", body, action)}
    rows = []
    for title, payload in buttons[:MAX_ROWS]:
        row = {"id": payload_id(payload, ROW_ID_LIMIT), "title": title}
        if len(title) > ROW_TITLE_LIMIT:
            row["title"] = shorten(title, ROW_TITLE_LIMIT)
            row["description"] = shorten(title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    action = {"button": LIST_BUTTON, "sections": [{"rows": rows}]}
    return {"type": "interactive", "interactive": _interactive("list", body, action)}


def _interactive(kind: str, body: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "body": {"text": body}, "action": action}


def with_buttons(text: str, buttons: Sequence[Button]) -> list[Part]:
    """Text parts, the last one carrying the buttons; its body stays within BODY_LIMIT."""
    chunks = split_text(text, TEXT_LIMIT)
    last = chunks.pop() if chunks else ""
    tail = split_text(last, BODY_LIMIT) or [""]
    chunks.extend(tail[:-1])
    return [*(text_part(chunk) for chunk in chunks), interactive_part(tail[-1], buttons)]


# --- whole messages -------------------------------------------------------------------------


def render(message: Mapping[str, Any]) -> list[Part]:
    """A Rasa bot message (`OutputChannel.send_response`'s dict) as WhatsApp message parts."""
    raw_text = message.get("text")
    text = whatsapp_text(raw_text) if isinstance(raw_text, str) else ""
    buttons = buttons_of(message)
    custom = message.get("custom")
    waiting = isinstance(custom, Mapping) and HANDOFF_KEY in custom
    parts: list[Part]
    if waiting:
        parts = with_buttons(text or WAITING, [(STOP_WAITING_TITLE, STOP_WAITING_ID)])
    elif buttons:
        parts = with_buttons(text, buttons)
    else:
        parts = [text_part(chunk) for chunk in split_text(text, TEXT_LIMIT)]
    for key in ("image", "attachment"):
        link = _link(message.get(key))
        if link:
            parts.append(text_part(link))
    return parts


def _link(value: Any) -> str | None:
    if isinstance(value, Mapping):  # Rasa's attachment dict: {"payload": {"src": ...}} or so
        payload = value.get("payload") if isinstance(value.get("payload"), Mapping) else value
        value = next((payload.get(k) for k in ("url", "src", "link") if payload.get(k)), None)
    if isinstance(value, str) and value.strip().startswith(("https://", "http://")):
        return value.strip()[:TEXT_LIMIT]
    return None


def employee_line(employee: str, text: str) -> str:
    """An employee's message, so the resident sees who writes."""
    return f"*{employee} (gemeente):* {text}"


def render_event(event: LiveEvent) -> list[Part]:
    """A live handoff event the router pushes (messages outside a resident's turn)."""
    if event.kind == "employee":
        text = employee_line(event.employee or "Medewerker", event.text) if event.text else ""
        return [text_part(chunk) for chunk in split_text(text, TEXT_LIMIT)]
    if event.kind == "assistant":
        buttons = [{"title": title, "payload": payload} for title, payload in event.buttons]
        return render({"text": event.text, "buttons": buttons})
    if event.kind in ("joined", "assistant_back", "closed"):
        return [text_part(chunk) for chunk in split_text(event.text, TEXT_LIMIT)]
    return []
