"""Speech hints from the assistant's own vocabulary, so "paspoort" is not heard as "passport".

Telephony speech recognition accepts a list of phrases it should expect (TwiML ``hints``,
AudioCodes ``sttContextPhrases``). The domain already names what callers talk about: the values
of categorical slots ("rijbewijs", "kapvergunning"), the titles of buttons ("Afval en
grofvuil") and the topic names (`utter_topic_*`). Deduplicated, short phrases only, capped:
recognisers weigh long lists less, and a hint is a word or two a caller would say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from rasa.shared.core.slots import CategoricalSlot

MAX_HINTS = 100
MAX_HINT_WORDS = 4
MAX_HINT_CHARS = 40
TOPIC_PREFIX = "utter_topic_"
# Rasa's catch-all value of a categorical slot, never said by anyone.
_OTHER = "__other__"
# Placeholders ("{day}") are filled per conversation; a phrase with one is no vocabulary.
_USABLE = re.compile(r"[^{}\[\]()/\\<>*#_|]+")


def speech_hints(domain: Any) -> tuple[str, ...]:
    """Hints from a Rasa `Domain` (slots and responses), most telling first."""
    seen: set[str] = set()
    hints: list[str] = []
    for phrase in _phrases(domain):
        cleaned = " ".join(phrase.replace(",", " ").split()).strip(" .?!:;'\"")
        key = cleaned.lower()
        if not _usable(cleaned) or key in seen:
            continue
        seen.add(key)
        hints.append(cleaned)
        if len(hints) == MAX_HINTS:
            break
    return tuple(hints)


def _usable(phrase: str) -> bool:
    return (
        bool(phrase)
        and len(phrase) <= MAX_HINT_CHARS
        and len(phrase.split()) <= MAX_HINT_WORDS
        and _USABLE.fullmatch(phrase) is not None
    )


def _phrases(domain: Any) -> Iterator[str]:
    for slot in getattr(domain, "slots", []):
        if isinstance(slot, CategoricalSlot):
            yield from (str(value).replace("_", " ") for value in slot.values if value != _OTHER)
    responses: dict[str, list[dict[str, Any]]] = getattr(domain, "responses", {}) or {}
    for name in sorted(responses):
        if name.startswith(TOPIC_PREFIX):
            yield from _texts(responses[name])
    for name in sorted(responses):
        for variant in responses[name]:
            yield from (
                button["title"]
                for button in variant.get("buttons") or []
                if isinstance(button, dict) and isinstance(button.get("title"), str)
            )


def _texts(variants: Iterable[dict[str, Any]]) -> Iterator[str]:
    for variant in variants:
        text = variant.get("text")
        if isinstance(text, str):
            yield text


class HintCache:
    """The hints of the agent's current domain, worked out once per loaded model."""

    def __init__(self) -> None:
        self._domain: object | None = None
        self._hints: tuple[str, ...] = ()

    def hints_for(self, domain: object | None) -> tuple[str, ...]:
        if domain is None:
            return ()
        if domain is not self._domain:
            self._hints = speech_hints(domain)
            self._domain = domain
        return self._hints
