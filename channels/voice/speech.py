"""Written answers made fit to be spoken: no links, Markdown or emoji read aloud, short enough
to hold in your head, and button menus as "Zeg ... of toets 1." (pure functions, no I/O).

The assistant writes for a screen. Read aloud, "[afspraak maken](https://...)" would be spelled
out character by character, "**let op**" read with its asterisks and an emoji named ("duim
omhoog"). So a link keeps its label and the address goes (the caller can get it by text
message), bare addresses go, Markdown marks go, symbols and emoji go. What must stay readable
does: "14 030", "€ 75,80" (read "75,80 euro"), "9.00 uur" (read "9 uur"), "10.15" ("10 uur 15").

The answers also speak of typing and buttons ("Typ uw voornaam en achternaam", "Kies een van
de knoppen"); a caller says and chooses, so those few chat words are said as a caller does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# What a caller can hold: about two sentences. Longer answers are cut at a sentence, and the
# full text (its links) can be sent by text message.
MAX_SPOKEN_CHARS = 300
MAX_SPOKEN_SENTENCES = 2
# One key per choice: 1-9 (0 is always "a person").
MAX_MENU_CHOICES = 9

_LINK = re.compile(r"\[([^\[\]\n]{1,300})\]\(\s*((?:https?://|mailto:|tel:)[^\s()]*)\s*\)")
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+", re.IGNORECASE)
# A bare address after these words is replaced by "de website" rather than dropped, so the
# sentence still reads ("Kijk op de website.").
_URL_LEAD_IN = re.compile(r"\b(op|via|naar|zie|kijk)\s*:?\s*$", re.IGNORECASE)
_TRAILING_URL_PUNCTUATION = ".,;:!?'\""
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]*)`")
_HEADING_OR_BULLET = re.compile(r"^\s*(?:#{1,6}\s+|[-*•·]\s+|\d{1,2}[.)]\s+)")
_EURO = re.compile(r"€\s*(\d{1,3}(?:\.\d{3})*(?:,(?:\d{2}|-))?)")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[.:]([0-5]\d)\b(\s*uur\b)?")
_ABBREVIATIONS = {
    r"bijv\.": "bijvoorbeeld",
    r"bv\.": "bijvoorbeeld",
    r"o\.a\.": "onder andere",
    r"t/m": "tot en met",
    r"i\.p\.v\.": "in plaats van",
    r"d\.w\.z\.": "dat wil zeggen",
    r"z\.s\.m\.": "zo snel mogelijk",
    r"ca\.": "ongeveer",
    r"nr\.": "nummer",
    r"incl\.": "inclusief",
    r"excl\.": "exclusief",
    r"enz\.": "enzovoort",
}
# Chat words and what a caller does instead: "Typ 'stop'" is "Zeg 'stop'".
_CHAT_WORDS = (
    (re.compile(r"\b([Tt])yp\b"), lambda m: "Zeg" if m.group(1) == "T" else "zeg"),
    (re.compile(r"\s+hieronder\b"), lambda _: ""),
    (re.compile(r"\bvan de knoppen\b"), lambda _: "van de mogelijkheden"),
    (re.compile(r"\bde knop\b"), lambda _: "de keuze"),
)
_ABBREVIATION = re.compile(r"(?<!\w)(" + "|".join(_ABBREVIATIONS) + r")(?!\w)", flags=re.IGNORECASE)
# Characters that carry no words: symbol categories (emoji, arrows, dingbats, modifier
# symbols), private use, and format characters such as the zero-width joiner inside emoji.
_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Co", "Cs", "Cf", "Cn"})
_DROPPED_CHARACTERS = frozenset("<>|~^=_*#\\{}[]•·→←↑↓")
_KEPT_SYMBOLS = frozenset("+%/-")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Spoken:
    """Text to speak and the addresses that were taken out of it (in order, without repeats)."""

    text: str
    links: tuple[str, ...] = ()


def speakable(text: str) -> Spoken:
    """`text` as it should be read aloud, with its links set apart."""
    links: list[str] = []

    def keep_label(match: re.Match[str]) -> str:
        _remember(links, match.group(2))
        return match.group(1)

    text = _LINK.sub(keep_label, text)
    text = _drop_bare_urls(text, links)
    lines = [_line(line) for line in text.splitlines()]
    text = " ".join(_with_full_stop(line) for line in lines if line)
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS_BY_TEXT[m.group(1).lower()], text)
    for chat_word, spoken in _CHAT_WORDS:
        text = chat_word.sub(spoken, text)
    text = _EURO.sub(lambda m: m.group(1).removesuffix(",-") + " euro", text)
    text = _CLOCK.sub(_clock, text)
    text = "".join(_spoken_character(ch) for ch in unicodedata.normalize("NFC", text))
    return Spoken(_tidy(text), tuple(links))


_ABBREVIATIONS_BY_TEXT = {
    pattern.replace("\\", ""): words for pattern, words in _ABBREVIATIONS.items()
}


def _remember(links: list[str], url: str) -> None:
    if url.lower().startswith("www."):
        url = "https://" + url
    if url.lower().startswith(("http://", "https://")) and url not in links:
        links.append(url)


def _drop_bare_urls(text: str, links: list[str]) -> str:
    pieces: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(_TRAILING_URL_PUNCTUATION)
        _remember(links, stripped)
        before = text[position : match.start()]
        pieces.append(before)
        if _URL_LEAD_IN.search("".join(pieces)):
            pieces.append("de website")
        pieces.append(url[len(stripped) :])
        position = match.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _line(line: str) -> str:
    line = _HEADING_OR_BULLET.sub("", line)
    line = _BOLD.sub(r"\2", line)
    line = _EMPHASIS.sub(r"\1", line)
    line = _CODE.sub(r"\1", line)
    return line.strip()


def _with_full_stop(line: str) -> str:
    # A list item or a summary line ("Paspoort aanvragen") gets a pause after it when spoken.
    return line if line[-1] in ".!?:;," else line + "."


def _clock(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), match.group(2)
    return f"{hours} uur" if minutes == "00" else f"{hours} uur {minutes}"


def _spoken_character(ch: str) -> str:
    if ch == "&":
        return " en "
    if ch in _KEPT_SYMBOLS or ch == "€":
        return ch
    if ch in _DROPPED_CHARACTERS:
        return " "
    category = unicodedata.category(ch)
    if category in _DROPPED_CATEGORIES or (category == "Mn" and 0xFE00 <= ord(ch) <= 0xFE0F):
        return ""
    if category.startswith("S"):
        return " "
    return ch


def _tidy(text: str) -> str:
    text = re.sub(r"\(\s*\)", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    # Punctuation left behind where an address or emoji was: "Kijk hier: ." -> "Kijk hier."
    text = re.sub(r"[,;:]+(?=[.!?])", "", text)
    text = re.sub(r"([.!?])[.,;:]+", r"\1", text)
    text = re.sub(r"^[\s.,;:!?]+", "", text)
    return re.sub(r"\s*[,;:]+$", ".", text.strip())


# --- length ----------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_BREAK.split(text.strip()) if part]


def shorten(text: str, max_chars: int = MAX_SPOKEN_CHARS) -> tuple[str, bool]:
    """`text` cut at a sentence to what a caller can hold; True when something was left out.

    A closing question is kept, since it tells the caller what to answer. The first sentence
    is always kept, even when it alone is longer.
    """
    if len(text) <= max_chars:
        return text, False
    parts = sentences(text)
    question = parts[-1] if len(parts) > 1 and parts[-1].endswith("?") else None
    body = parts[:-1] if question else parts
    budget = max_chars - (len(question) + 1 if question else 0)
    kept: list[str] = []
    for sentence in body[:MAX_SPOKEN_SENTENCES]:
        if kept and len(" ".join([*kept, sentence])) > budget:
            break
        kept.append(sentence)
    if question:
        kept.append(question)
    short = " ".join(kept)
    return short, short != " ".join(parts)


# --- menus -----------------------------------------------------------------------------------


def menu(titles: Sequence[str]) -> str:
    """The spoken menu of a message's buttons: "Zeg Paspoort of toets 1. Zeg ... toets 2."."""
    return " ".join(
        f"Zeg {menu_title(title)} of toets {number}."
        for number, title in enumerate(titles[:MAX_MENU_CHOICES], start=1)
    )


def menu_title(title: str) -> str:
    return speakable(title).text.rstrip(".!?:;, ")


def join(*parts: str) -> str:
    """Spoken pieces as one text, each ending in a full stop or question mark."""
    return " ".join(_with_full_stop(part.strip()) for part in parts if part and part.strip())
