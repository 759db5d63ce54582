"""The few caller answers the voice channel reads itself: yes or no to its own questions, and a
menu choice by number or by the choice's title (pure functions).

Everything else a caller says goes to the dialogue's NLU. These answers do not: the questions
are the channel's own (is the transcript right? a text message?), or the answer must become the
button's payload ("Paspoort" to a menu whose first button is "Paspoort").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from channels.voice.answer import Button
from channels.voice.speech import menu_title

_YES_WORDS = frozenset(
    {"ja", "jawel", "jazeker", "jaja", "klopt", "correct", "graag", "zeker", "prima", "goed"}
    | {"ok", "oké", "okay", "oke", "yes", "juist", "precies", "inderdaad", "akkoord"}
)
_NO_WORDS = frozenset({"nee", "neen", "niet", "nope", "no", "fout", "verkeerd", "neej"})
_NUMBER_WORDS = {
    "een": 1, "één": 1, "eén": 1, "eerste": 1, "twee": 2, "tweede": 2, "drie": 3, "derde": 3,
    "vier": 4, "vierde": 4, "vijf": 5, "vijfde": 5, "zes": 6, "zesde": 6, "zeven": 7,
    "zevende": 7, "acht": 8, "achtste": 8, "negen": 9, "negende": 9,
}  # fmt: skip
# "Optie twee", "nummer 2", "de eerste", "toets 1": the word before the number carries nothing.
_CHOICE_FILLERS = frozenset({"optie", "nummer", "de", "het", "keuze", "toets", "ik", "kies"})
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-case words of `text`, without punctuation."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None for anything else ("dat klopt niet" is a no)."""
    said = words(text)
    if not said or len(said) > 6:
        return None
    if any(word in _NO_WORDS for word in said):
        return False
    if said[0] in _YES_WORDS or (said[0] in {"dat", "is", "doe"} and set(said) & _YES_WORDS):
        return True
    if said[:2] == ["doe", "maar"]:
        return True
    return None


def key_answer(digits: str) -> bool | None:
    """Keys on a yes/no question: 1 is yes, 2 is no."""
    return {"1": True, "2": False}.get(digits)


def spoken_choice(text: str, buttons: Sequence[Button]) -> Button | None:
    """The menu choice the caller said: a button's title, or its number ("twee", "optie 2")."""
    said = words(text)
    if not said or not buttons:
        return None
    for button in buttons:
        if said == words(menu_title(button.title)) or said == words(button.title):
            return button
    rest = [word for word in said if word not in _CHOICE_FILLERS]
    if len(rest) == 1:
        number = _NUMBER_WORDS.get(rest[0]) or (int(rest[0]) if rest[0].isdigit() else None)
        if number is not None and 1 <= number <= len(buttons):
            return buttons[number - 1]
    return None
