"""What the WhatsApp Cloud API stand-in (whatsapp.py) refuses, in Graph's codes and words.

Graph's own parameter checks (missing, wrong type, not one of a set) answer code 100 with the
reason in the message; WhatsApp's checks of a value (four buttons, a title too long, eleven
rows) answer 131009 with the reason in `error_data.details`, in the words developers report
Meta answering. Sources and deviations are in whatsapp.py's docstring.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

# Graph's list in "Param type must be one of ..." (v19.0); the stand-in sends text and interactive.
GRAPH_TYPES = [
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
]
INTERACTIVE_TYPES = ["button", "cta_url", "flow", "list", "product", "product_list"]
WA_ID = re.compile(r"[0-9]{6,15}")  # E.164 without "+": a country code and at most 14 digits
NOT_VALID = "(#131009) Parameter value is not valid"


class Invalid(Exception):
    """What Graph answers a request it refuses: `code`, `message` and maybe `details`."""

    def __init__(self, code: int, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _param(message: str) -> Invalid:
    """A refusal by Graph's own parameter checks: code 100, the reason in the message."""
    return Invalid(100, f"(#100) {message}")


def _value(details: str) -> Invalid:
    """A refusal by WhatsApp's checks of a value: code 131009, the reason in the details."""
    return Invalid(131009, NOT_VALID, details)


def _one_of(name: str, allowed: Collection[str], got: Any) -> Invalid:
    choices = ", ".join(value.upper() for value in allowed)
    return _param(f'Param {name} must be one of {{{choices}}} - got "{got}".')


def _string(value: Any, param: str, most: int, label: str, too_long: str | None = None) -> str:
    """`value` as a string of 1..`most` characters. Missing or not a string is Graph's code 100,
    naming `param`; a length out of range is 131009, with `too_long` or Meta's "<label> length
    invalid. Min length: 1, Max length: <most>"."""
    if value is None:
        raise _param(f"The parameter {param} is required.")
    if not isinstance(value, str):
        raise _param(f"Param {param} must be a string.")
    if not 1 <= len(value) <= most:
        raise _value(too_long or f"{label} length invalid. Min length: 1, Max length: {most}")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise _param(f"The parameter {name} is required.")
    if not isinstance(value, dict):
        raise _param(f"Param {name} must be a JSON object.")
    return value


def _array(value: Any, name: str) -> list[Any]:
    if value is None:
        raise _param(f"The parameter {name} is required.")
    if not isinstance(value, list):
        raise _param(f"Param {name} must be an array.")
    return value


def check_read(body: dict[str, Any]) -> None:
    """A mark-as-read call: messaging_product, status "read" and the message's wamid."""
    _check_product(body)
    if body["status"] != "read":
        raise _one_of("status", ["read"], body["status"])
    _string(body.get("message_id"), "message_id", 256, "Message id")


def check_send(body: Any) -> str:
    """The recipient of a message Graph would send; raises Invalid for the first fault."""
    body = _object(body, "body")
    _check_product(body)
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise _one_of("recipient_type", ["individual"], recipient_type)
    to = _string(body.get("to"), "to", 15, "To")
    # Deviation: Graph also accepts "+31 6 1234 5678" and normalises it; the stand-in wants
    # the wa_id the webhook names a resident by, so a client that sends anything else shows.
    if not WA_ID.fullmatch(to):
        raise _value("Invalid 'to' parameter: a wa_id is 6 to 15 digits.")
    kind = body.get("type", "text")  # Graph's default when `type` is left out
    if kind not in GRAPH_TYPES:
        raise _one_of("type", GRAPH_TYPES, kind)
    if kind == "text":
        _check_text(_object(body.get("text"), "text"))
    elif kind == "interactive":
        _check_interactive(_object(body.get("interactive"), "interactive"))
    else:  # Deviation: a type Graph sends but the stand-in does not.
        raise Invalid(100, "(#100) Invalid parameter", f"The sandbox does not send {kind}.")
    return to


def _check_product(body: dict[str, Any]) -> None:
    product = body.get("messaging_product")
    if product is None:
        raise _param("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise _one_of("messaging_product", ["whatsapp"], product)


def _check_text(text: dict[str, Any]) -> None:
    body = text.get("body")
    if body is None or body == "":
        raise _param("The parameter text['body'] is required.")
    if not isinstance(body, str):
        raise _param("Param text['body'] must be a string.")
    if len(body) > 4096:
        raise _param("Param text['body'] must be at most 4096 characters long.")
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise _param("Param text['preview_url'] must be a boolean.")


def _check_interactive(interactive: dict[str, Any]) -> None:
    kind = interactive.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise _one_of("interactive['type']", INTERACTIVE_TYPES, kind)
    if kind not in ("button", "list"):  # Deviation: Graph sends these too.
        raise Invalid(100, "(#100) Invalid parameter", f"The sandbox does not send {kind}.")
    body = _object(interactive.get("body"), "interactive['body']")
    most = 1024 if kind == "button" else 4096
    _string(body.get("text"), "interactive['body']['text']", most, "Body text")
    if "header" in interactive:
        header = _object(interactive["header"], "interactive['header']")
        if header.get("type") != "text":  # Deviation: Graph also takes media headers.
            raise _one_of("interactive['header']['type']", ["text"], header.get("type"))
        _string(header.get("text"), "interactive['header']['text']", 60, "Header text")
    if "footer" in interactive:
        footer = _object(interactive["footer"], "interactive['footer']")
        _string(footer.get("text"), "interactive['footer']['text']", 60, "Footer text")
    action = _object(interactive.get("action"), "interactive['action']")
    if kind == "button":
        _check_buttons(_array(action.get("buttons"), "interactive['action']['buttons']"))
    else:
        _string(action.get("button"), "interactive['action']['button']", 20, "Button text")
        _check_sections(_array(action.get("sections"), "interactive['action']['sections']"))


def _check_buttons(buttons: list[Any]) -> None:
    if not 1 <= len(buttons) <= 3:
        raise _value("Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
    ids, titles = set(), set()
    for index, button in enumerate(buttons):
        name = f"interactive['action']['buttons'][{index}]"
        button = _object(button, name)
        if button.get("type") != "reply":
            raise _one_of(f"{name}['type']", ["reply"], button.get("type"))
        reply = _object(button.get("reply"), f"{name}['reply']")
        ids.add(_string(reply.get("id"), f"{name}['reply']['id']", 256, "Button id"))
        titles.add(_string(reply.get("title"), f"{name}['reply']['title']", 20, "Button title"))
    # Meta documents that ids and titles must be unique; the wording here is the stand-in's.
    if len(ids) < len(buttons) or len(titles) < len(buttons):
        raise _value("Button ids and titles must be unique.")


def _check_sections(sections: list[Any]) -> None:
    if not 1 <= len(sections) <= 10:
        raise _value("Invalid sections count. Min allowed sections: 1, Max allowed sections: 10")
    rows = []
    for index, section in enumerate(sections):
        name = f"interactive['action']['sections'][{index}]"
        section = _object(section, name)
        # A section title is required once there are two or more sections.
        if len(sections) > 1 or "title" in section:
            _string(section.get("title"), f"{name}['title']", 24, "Section title")
        rows += _array(section.get("rows"), f"{name}['rows']")
    if not rows:
        raise _value("Invalid rows count. Min allowed rows: 1")
    if len(rows) > 10:
        raise _value("Total row count exceed max allowed count: 10")
    ids = set()
    for index, row in enumerate(rows):
        name = f"row[{index}]"  # Graph names it by section; the stand-in counts all rows
        row = _object(row, name)
        ids.add(_string(row.get("id"), f"{name}['id']", 200, "Row id"))
        too_long = "Row title is too long. Max length is 24"
        _string(row.get("title"), f"{name}['title']", 24, "Row title", too_long)
        if "description" in row:
            _string(row["description"], f"{name}['description']", 72, "Row description")
    if len(ids) < len(rows):
        raise _value("Row ids must be unique.")
