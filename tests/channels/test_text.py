"""One cleaning of residents' text for every channel (channels/text.py)."""

from __future__ import annotations

import json

import pytest

from channels.text import MAX_TEXT_LENGTH, InvalidText, normalise, resident_text


def test_invisible_and_bidi_characters_are_removed() -> None:
    assert normalise("pas\u200bpoort") == "paspoort"
    assert normalise("\u202epaspoort\u202c kosten\ufeff") == "paspoort kosten"
    assert normalise("pas\u00adpoort\u2060") == "paspoort"


def test_decomposed_accents_become_one_character() -> None:
    assert normalise("re\u0301sume\u0301") == "résumé"


def test_control_characters_and_line_breaks_become_single_spaces() -> None:
    assert normalise("  wat\tkost\r\n een\x00 paspoort \x1b ") == "wat kost een paspoort"


def test_a_lone_surrogate_is_refused_with_a_reason() -> None:
    text = json.loads('"paspoort \\ud800"')
    with pytest.raises(InvalidText) as problem:
        normalise(text)
    assert problem.value.reason == "surrogate"


def test_emoji_and_dutch_letters_stay() -> None:
    assert normalise("Bedankt 👍 ĳsbaan één") == "Bedankt 👍 ĳsbaan één"


def test_a_resident_message_must_have_words_and_fit() -> None:
    assert resident_text("  /human_handoff ") == "human_handoff"
    for empty in ("", "   ", "\u200b\u200b", "///"):
        with pytest.raises(InvalidText, match="empty"):
            resident_text(empty)
    assert len(resident_text("a" * MAX_TEXT_LENGTH)) == MAX_TEXT_LENGTH
    with pytest.raises(InvalidText, match="too_long"):
        resident_text("a" * (MAX_TEXT_LENGTH + 1))
