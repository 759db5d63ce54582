"""What an employee sends to the desk's API, checked before the desk sees it; Dutch refusals.

An employee's message reaches the resident's chat, the tracker and the other consoles, so it is
cleaned like a resident's (`channels/text.py`): Unicode NFC, no control, zero-width or bidi
characters, lone surrogates refused, 1 to MAX_TEXT_LENGTH characters. One difference: line
breaks stay (at most one empty line in a row), because the web chat shows an employee's
message in paragraphs and lines, and a list of steps reads better that way. A leading "/" is
kept too: the text is the assistant's utterance, never parsed as an intent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from aiohttp import web

from channels.text import MAX_TEXT_LENGTH, has_lone_surrogate

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r"[^\S\n]+")  # white space other than the line break
_EMPTY_LINES = re.compile(r"\n{3,}")

NOT_JSON = "Het verzoek klopt niet: stuur een JSON-object. Laad de pagina opnieuw."
TEXT_NOT_TEXT = "Het bericht moet tekst zijn."
TEXT_EMPTY = "Typ eerst een bericht."
TEXT_TOO_LONG = f"Uw bericht is te lang. Gebruik maximaal {MAX_TEXT_LENGTH} tekens."
TEXT_SURROGATE = "Uw bericht bevat tekens die niet verstuurd kunnen worden. Pas het bericht aan."
ACTIVE_NOT_BOOLEAN = 'Geef met "active": true of false aan of u typt.'


class BadInput(Exception):
    """A request the API refuses with 400; `message` is what the employee reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def employee_text(raw: Any) -> str:
    """An employee's message, cleaned; BadInput with a Dutch reason when it cannot be sent."""
    if not isinstance(raw, str):
        raise BadInput(TEXT_NOT_TEXT)
    if has_lone_surrogate(raw):
        raise BadInput(TEXT_SURROGATE)
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", raw))
    text = "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
    )
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _EMPTY_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not text:
        raise BadInput(TEXT_EMPTY)
    if len(text) > MAX_TEXT_LENGTH:
        raise BadInput(TEXT_TOO_LONG)
    return text


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's body as a JSON object; BadInput for anything else."""
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise BadInput(NOT_JSON) from None
    if not isinstance(body, dict):
        raise BadInput(NOT_JSON)
    return body


def active_flag(body: dict[str, Any]) -> bool:
    active = body.get("active")
    if not isinstance(active, bool):
        raise BadInput(ACTIVE_NOT_BOOLEAN)
    return active
