"""What a resident typed or said, made safe once at the channel boundary, alike for every channel.

Text reaches the NLU, the tracker, the staff console and the logs, so it is cleaned before any of
them sees it:

- Unicode NFC, so "é" typed as e + combining accent matches the training data;
- control characters, zero-width characters, bidi overrides and other invisible format characters
  removed ("pas<U+200B>poort" and right-to-left tricks read as what the resident sees);
- runs of white space (new lines included) become one space;
- lone surrogates, which no real keyboard produces and spaCy cannot handle, are refused with a
  clear reason instead of failing somewhere downstream.
"""

from __future__ import annotations

import re
import unicodedata

# The longest message a resident may send on any channel (characters, after cleaning).
MAX_TEXT_LENGTH = 1000

# Cc: control characters (white-space controls are handled as white space first);
# Cf: format characters: zero-width (U+200B-U+200D, U+2060, U+FEFF), soft hyphen, bidi embeddings,
#     overrides and isolates (U+202A-U+202E, U+2066-U+2069), and the like.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})
_WHITESPACE = re.compile(r"\s+")


class InvalidText(ValueError):
    """The text cannot be used; `reason` is one of "surrogate", "empty", "too_long"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a code point that is not valid in UTF-8 (JSON "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def normalise(text: str) -> str:
    """`text` in NFC without invisible characters and with single spaces; may return "".

    Raises InvalidText("surrogate") for text with lone surrogates.
    """
    if has_lone_surrogate(text):
        raise InvalidText("surrogate")
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    return _WHITESPACE.sub(" ", text).strip()


def resident_text(text: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A resident's message ready for the assistant: normalised, not empty, not too long.

    Rasa reads text starting with "/" as a hand-written intent ("/human_handoff"); what a resident
    types must go through the NLU, so leading slashes are dropped.
    """
    cleaned = normalise(text).lstrip("/").strip()
    if not cleaned:
        raise InvalidText("empty")
    if len(cleaned) > max_length:
        raise InvalidText("too_long")
    return cleaned
