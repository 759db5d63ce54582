"""Names, e-mail addresses and phone numbers as residents give them."""

from __future__ import annotations

import pytest

from assistant.contact_details import contact_in, email_in, name_in, phone_in, split_name


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("anna.devries@example.nl", "anna.devries@example.nl"),
        ("mijn mail is Jan@Example.NL.", "Jan@example.nl"),
        ("stuur het naar piet+gemeente@voorbeeld.com graag", "piet+gemeente@voorbeeld.com"),
        ("jan@", None),
        ("jan at example.nl", None),
        ("a@b", None),
    ],
)
def test_email_addresses(said: str, expected: str | None) -> None:
    assert email_in(said) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("06-12345678", "0612345678"),
        ("mijn nummer is +31 6 1234 5678", "0612345678"),
        ("0031 30 286 0000", "0302860000"),
        ("bel me op 030 2860000", "0302860000"),
        ("+32 470 12 34 56", "+32470123456"),
        ("06 123", None),
        ("ZAAK-2026-0000123", None),
    ],
)
def test_phone_numbers(said: str, expected: str | None) -> None:
    assert phone_in(said) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Anna de Vries", "Anna de Vries"),
        ("mijn naam is  Mehmet   Yılmaz", "Mehmet Yılmaz"),
        ("ik heet A.J. van den Berg-Öztürk", "A.J. van den Berg-Öztürk"),
        ("d'Ancona", "d'Ancona"),
        ("1234", None),
        ("anna@example.nl", None),
        ("x", None),
        ("a" * 101, None),
    ],
)
def test_names(said: str, expected: str | None) -> None:
    assert name_in(said) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("nul zes een twee drie vier vijf zes zeven acht", "0612345678"),
        ("(030) 286 00 00", "0302860000"),
        ("+31 (0)30 286 0000", "0302860000"),
        ("06.12.34.56.78", "0612345678"),
        ("postcode 3511 AB 12, telefoon 06 12345678", "0612345678"),
        ("bel 14 030", None),
        ("0800-1234", None),
        ("24-11-2026", None),
    ],
)
def test_phone_numbers_as_typed_and_spoken(said: str, expected: str | None) -> None:
    assert phone_in(said) == expected


def test_a_dictated_email_address_is_read() -> None:
    assert email_in("jan punt jansen apenstaartje example punt nl") == "jan.jansen@example.nl"
    assert email_in("hij at een appel") is None


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("anna de vries", "Anna de Vries"),
        ("anne-marie van 't hof", "Anne-Marie van 't Hof"),
        ("ja, ik ben Piet", "Piet"),
        ("ik wil een afspraak", None),
        ("nee", None),
        ("Jan van", None),
    ],
)
def test_a_name_typed_in_lower_case_gets_its_capitals(said: str, expected: str | None) -> None:
    assert name_in(said) == expected


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Jan van der Berg", ("Jan", "van der", "Berg")),
        ("A.J. van den Berg-Öztürk", ("A.J.", "van den", "Berg-Öztürk")),
        ("de Vries", ("", "de", "Vries")),
        ("Anna Jansen", ("Anna", "", "Jansen")),
        ("Jansen", ("", "", "Jansen")),
        ("Jan De Vries", ("Jan", "de", "Vries")),
        ("Piet van de van der Berg", ("Piet", "", "van de van der Berg")),
    ],
)
def test_a_name_is_split_as_dutch_registers_keep_it(name: str, parts: tuple[str, str, str]) -> None:
    assert split_name(name) == parts


def test_an_email_address_and_a_phone_number_are_kept_together() -> None:
    assert contact_in("mail a@b.nl of bel 06 1234 5678") == "a@b.nl en 0612345678"
    assert contact_in("06-12345678") == "0612345678"
    assert contact_in("liever niet") is None
