"""Written answers made fit for the phone: links, Markdown, emoji, menus, length."""

from __future__ import annotations

import pytest

from channels.voice.answer import Button, read_answer
from channels.voice.speech import MAX_SPOKEN_CHARS, menu, shorten, speakable
from channels.voice.turns import Transfer


def test_a_markdown_link_keeps_its_label_and_the_address_is_set_apart() -> None:
    spoken = speakable("Maak online een [afspraak](https://pki.utrecht.nl/afspraak?id=429).")
    assert spoken.text == "Maak online een afspraak."
    assert spoken.links == ("https://pki.utrecht.nl/afspraak?id=429",)


def test_a_bare_address_is_not_read_aloud() -> None:
    spoken = speakable("Kijk op https://www.utrecht.nl/afval. Of bel ons.")
    assert "http" not in spoken.text and "www" not in spoken.text
    assert spoken.text == "Kijk op de website. Of bel ons."
    assert spoken.links == ("https://www.utrecht.nl/afval",)


def test_an_address_without_a_lead_in_is_dropped_with_its_punctuation() -> None:
    spoken = speakable("Meer informatie: www.zwolle.nl")
    assert spoken.text == "Meer informatie."
    assert spoken.links == ("https://www.zwolle.nl",)


def test_markdown_marks_headings_and_bullets_are_not_read() -> None:
    spoken = speakable("# Let op\n**Neem mee**: een *goede* pasfoto\n- uw paspoort\n- `bsn`")
    assert spoken.text == "Let op. Neem mee: een goede pasfoto. uw paspoort. bsn."


def test_emoji_and_symbols_are_left_out() -> None:
    spoken = speakable("Gelukt 👍🏽 ✔ → klaar! 🇳🇱")
    assert spoken.text == "Gelukt klaar!"


def test_phone_numbers_amounts_and_times_still_read_well() -> None:
    spoken = speakable(
        "Bel 14 030, van 9.00 tot 17.00 uur. Een paspoort kost € 75,80; "
        "spoed € 1.234,50. Kom om 10.15 uur."
    )
    assert spoken.text == (
        "Bel 14 030, van 9 uur tot 17 uur. Een paspoort kost 75,80 euro; "
        "spoed 1.234,50 euro. Kom om 10 uur 15."
    )


def test_abbreviations_are_said_in_full() -> None:
    assert speakable("Open ma t/m vr, bijv. om 9.00").text == (
        "Open ma tot en met vr, bijvoorbeeld om 9 uur."
    )


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Typ uw voornaam en achternaam.", "Zeg uw voornaam en achternaam."),
        ("Heeft u nog een vraag? Typ die dan hieronder.", "Heeft u nog een vraag? Zeg die dan."),
        (
            "Kies een van de knoppen. Of typ 'stop'.",
            "Kies een van de mogelijkheden. Of zeg 'stop'.",
        ),
    ],
)
def test_chat_words_are_said_as_a_caller_does(written: str, said: str) -> None:
    assert speakable(written).text == said


def test_lines_of_a_summary_get_a_pause_each() -> None:
    spoken = speakable("Klopt dit?\nPaspoort aanvragen\ndonderdag 3 december om 9.00 uur")
    assert spoken.text == "Klopt dit? Paspoort aanvragen. donderdag 3 december om 9 uur."


def test_buttons_become_a_menu_of_keys() -> None:
    assert menu(["Paspoort", "ID-kaart", "Rijbewijs"]) == (
        "Zeg Paspoort of toets 1. Zeg ID-kaart of toets 2. Zeg Rijbewijs of toets 3."
    )


def test_a_menu_has_at_most_nine_choices() -> None:
    spoken = menu([f"Keuze {n}" for n in range(1, 13)])
    assert "toets 9." in spoken and "toets 10" not in spoken


def test_a_short_answer_is_left_whole() -> None:
    text = "Een paspoort kost 75,80 euro. U haalt het op in het stadskantoor."
    assert shorten(text) == (text, False)


def test_a_long_answer_is_cut_at_a_sentence_and_keeps_its_question() -> None:
    sentence = "Dit is een zin met informatie over uw aanvraag bij de gemeente."
    text = " ".join([sentence] * 8) + " Wilt u een afspraak maken?"
    short, cut = shorten(text)
    assert cut
    assert len(short) <= MAX_SPOKEN_CHARS
    assert short.endswith("Wilt u een afspraak maken?")
    assert short.startswith(sentence)
    assert short.count(sentence) <= 2


def test_an_answer_with_a_menu_and_a_link() -> None:
    answer = read_answer(
        [
            {"text": "Lees [de regels](https://example.nl/regels)."},
            {
                "text": "Wat wilt u weten?",
                "buttons": [
                    {"title": "Kosten", "payload": "/document_costs"},
                    {"title": "Aanvragen", "payload": "/document_apply"},
                ],
            },
        ]
    )
    assert answer.text == "Lees de regels. Wat wilt u weten?"
    assert answer.question == "Wat wilt u weten?"
    assert answer.links == ("https://example.nl/regels",)
    assert answer.buttons == (
        Button("Kosten", "/document_costs"),
        Button("Aanvragen", "/document_apply"),
    )
    assert answer.menu == "Zeg Kosten of toets 1. Zeg Aanvragen of toets 2."


def test_a_transfer_from_the_dialogue_is_read_with_its_topic() -> None:
    answer = read_answer(
        [
            {
                "text": "Ik verbind u door.",
                "custom": {"transfer": {"number": "+31302860000", "topic": "Paspoort"}},
            }
        ]
    )
    assert answer.transfer == Transfer("+31302860000", "Paspoort")
    assert not answer.hangup


def test_a_transfer_without_topic_and_a_bad_number() -> None:
    no_topic = read_answer([{"custom": {"transfer": {"number": "+31302860000", "topic": None}}}])
    assert no_topic.transfer == Transfer("+31302860000", None)
    bad = read_answer([{"custom": {"transfer": {"number": "0302860000; rm", "topic": "x"}}}])
    assert bad.transfer is None and bad.invalid_transfer


def test_a_goodbye_that_hangs_up() -> None:
    answer = read_answer([{"text": "Tot ziens!", "custom": {"hangup": True}}])
    assert answer.hangup and answer.text == "Tot ziens!"
