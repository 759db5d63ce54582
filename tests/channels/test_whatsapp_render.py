"""The assistant's messages as WhatsApp Cloud API parts (channels/whatsapp/render.py)."""

from __future__ import annotations

import pytest

from assistant.handoff.bus import LiveEvent
from assistant.sandbox.whatsapp import check_send
from channels.whatsapp.render import (
    BODY_LIMIT,
    STOP_WAITING_ID,
    payload_for_reply,
    render,
    render_event,
    shorten,
    split_text,
    whatsapp_text,
)


def buttons(*titles: str) -> list[dict[str, str]]:
    return [{"title": title, "payload": f'/choose{{"n": {i}}}'} for i, title in enumerate(titles)]


def accepted_by_graph(parts: list[dict]) -> None:
    """Every part passes the Graph API stand-in's checks of Meta's limits."""
    for part in parts:
        check_send({**part, "messaging_product": "whatsapp", "to": "31612345678"})


def test_plain_text_is_one_text_without_link_preview() -> None:
    assert render({"text": "Een paspoort kost € 80,40."}) == [
        {"type": "text", "text": {"body": "Een paspoort kost € 80,40.", "preview_url": False}}
    ]


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        (
            "Kijk op [de website](https://www.utrecht.nl/paspoort).",
            "Kijk op de website (https://www.utrecht.nl/paspoort).",
        ),
        ("[https://utrecht.nl](https://utrecht.nl)", "https://utrecht.nl"),
        ("[utrecht.nl](https://utrecht.nl/)", "https://utrecht.nl/"),
        ("Dit is **belangrijk**.", "Dit is *belangrijk*."),
        ("[niet](javascript:alert(1))", "[niet](javascript:alert(1))"),
    ],
)
def test_markdown_links_and_bold_become_whatsapp_text(markdown: str, shown: str) -> None:
    assert whatsapp_text(markdown) == shown


def test_a_long_text_is_split_at_paragraphs_under_the_limit() -> None:
    paragraph = ("Dit is een zin over de gemeente. " * 60).strip()  # about 2000 characters
    parts = render({"text": "\n\n".join([paragraph] * 3)})
    bodies = [part["text"]["body"] for part in parts]
    # Two paragraphs fit in one message, the third goes in the next.
    assert bodies == [f"{paragraph}\n\n{paragraph}", paragraph]
    accepted_by_graph(parts)


def test_a_paragraph_too_long_is_split_at_sentences_then_words() -> None:
    sentence = "Woorden " * 20 + "eind."
    pieces = split_text(" ".join([sentence] * 100), 500)
    assert all(len(piece) <= 500 for piece in pieces)
    assert all(piece.endswith("eind.") for piece in pieces)
    assert split_text("x" * 1200, 500) == ["x" * 500, "x" * 500, "x" * 200]
    assert split_text("   ", 500) == []


def test_up_to_three_short_buttons_are_reply_buttons_with_the_payload_as_id() -> None:
    message = {"text": "Klopt dit?", "buttons": buttons("Ja, verstuur", "Nee, iets anders")}
    (part,) = render(message)
    interactive = part["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Klopt dit?"}
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": '/choose{"n": 0}', "title": "Ja, verstuur"},
        {"id": '/choose{"n": 1}', "title": "Nee, iets anders"},
    ]
    accepted_by_graph([part])


def test_four_to_ten_buttons_are_a_list() -> None:
    (part,) = render({"text": "Waarvoor?", "buttons": buttons(*"ABCDE")})
    interactive = part["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Kies"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == list("ABCDE")
    accepted_by_graph([part])


def test_a_title_over_twenty_characters_makes_a_list_with_the_whole_title_described() -> None:
    title = "Ja, ik wil een afspraak maken voor mijn paspoort"
    (part,) = render({"text": "Wat wilt u?", "buttons": buttons(title, "Nee")})
    rows = part["interactive"]["action"]["sections"][0]["rows"]
    assert part["interactive"]["type"] == "list"
    assert len(rows[0]["title"]) <= 24 and rows[0]["title"].endswith("…")
    assert rows[0]["description"] == title
    assert rows[1] == {"id": '/choose{"n": 1}', "title": "Nee"}
    accepted_by_graph([part])


def test_a_title_too_long_for_the_description_is_shortened_with_an_ellipsis() -> None:
    title = "Een heel lange keuze " * 6
    (part,) = render({"text": "Kies", "buttons": buttons(title.strip(), "Twee")})
    row = part["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["description"]) <= 72 and row["description"].endswith("…")
    assert shorten("kort", 10) == "kort"


def test_more_than_ten_buttons_show_the_first_ten() -> None:
    (part,) = render({"text": "Kies", "buttons": buttons(*(f"Keuze {i}" for i in range(14)))})
    rows = part["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == [f"Keuze {i}" for i in range(10)]
    accepted_by_graph([part])


def test_equal_titles_go_in_a_list_since_reply_buttons_must_differ() -> None:
    (part,) = render({"text": "Welke?", "buttons": buttons("Kerkstraat", "Kerkstraat")})
    assert part["interactive"]["type"] == "list"
    accepted_by_graph([part])


def test_a_payload_over_the_id_limit_gets_a_short_id_that_maps_back() -> None:
    long_payload = '/inform{"report_description": "' + "x" * 300 + '"}'
    (part,) = render({"text": "Klopt dit?", "buttons": [{"title": "Ja", "payload": long_payload}]})
    reply_id = part["interactive"]["action"]["buttons"][0]["reply"]["id"]
    assert len(reply_id) <= 256 and reply_id != long_payload
    assert payload_for_reply(reply_id, {long_payload, "/deny"}) == long_payload
    assert payload_for_reply(reply_id, {"/deny"}) is None
    assert payload_for_reply("/deny", {"/deny"}) == "/deny"
    accepted_by_graph([part])


def test_buttons_without_text_get_a_body_and_a_long_text_goes_before_them() -> None:
    (part,) = render({"text": "", "buttons": buttons("Ja")})
    assert part["interactive"]["body"]["text"]
    long_text = ("Een zin van de assistent. " * 80).strip()  # about 2000 characters
    parts = render({"text": long_text, "buttons": buttons("Ja", "Nee")})
    assert [p["type"] for p in parts] == ["text", "text", "interactive"]
    assert len(parts[-1]["interactive"]["body"]["text"]) <= BODY_LIMIT
    shown = " ".join(
        [p["text"]["body"] for p in parts[:-1]] + [parts[-1]["interactive"]["body"]["text"]]
    )
    assert shown == long_text
    accepted_by_graph(parts)


def test_images_and_attachments_become_their_link() -> None:
    parts = render({"text": "Zo ziet het eruit:", "image": "https://example.nl/kaart.png"})
    assert [p["text"]["body"] for p in parts] == [
        "Zo ziet het eruit:",
        "https://example.nl/kaart.png",
    ]
    (part,) = render({"attachment": {"type": "file", "payload": {"src": "https://e.nl/a.pdf"}}})
    assert part["text"]["body"] == "https://e.nl/a.pdf"
    assert render({"image": "javascript:alert(1)"}) == []


def test_the_queue_marker_adds_a_stop_waiting_button() -> None:
    (part,) = render(
        {"text": "U bent nummer 2 in de wachtrij.", "custom": {"handoff": {"position": 2}}}
    )
    (button,) = part["interactive"]["action"]["buttons"]
    assert button["reply"] == {"id": STOP_WAITING_ID, "title": "Niet meer wachten"}
    assert part["interactive"]["body"]["text"] == "U bent nummer 2 in de wachtrij."
    accepted_by_graph([part])


def test_an_employee_message_shows_who_writes() -> None:
    (part,) = render_event(
        LiveEvent("employee", "whatsapp-x", text="Ik kijk het na.", employee="Sanne")
    )
    assert part["text"]["body"] == "*Sanne (gemeente):* Ik kijk het na."


def test_notices_and_the_assistants_offer_are_rendered_and_typing_is_not() -> None:
    (notice,) = render_event(
        LiveEvent("joined", "whatsapp-x", text="Sanne neemt het over.", employee="Sanne")
    )
    assert notice["text"]["body"] == "Sanne neemt het over."
    (offer,) = render_event(
        LiveEvent(
            "assistant",
            "whatsapp-x",
            text="Zullen wij u bellen?",
            buttons=(("Ja", "/affirm"), ("Nee", "/deny")),
        )
    )
    assert [b["reply"]["id"] for b in offer["interactive"]["action"]["buttons"]] == [
        "/affirm",
        "/deny",
    ]
    assert render_event(LiveEvent("typing", "whatsapp-x", active=True)) == []
