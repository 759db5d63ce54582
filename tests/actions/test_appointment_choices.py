"""Reading a resident's choice against what the appointment system offers."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.appointments import choices
from actions.appointments.book import SUMMARY
from actions.appointments.manage import reference_in
from assistant.backends.appointments.base import Location, Product
from assistant.when import AMSTERDAM, When

PRODUCTS = [
    Product("1", "Paspoort aanvragen"),
    Product("2", "Paspoort ophalen"),
    Product("3", "ID-kaart aanvragen"),
    Product("4", "ID-kaart ophalen"),
    Product("5", "Rijbewijs aanvragen"),
]
LOCATIONS = [
    Location("a", "Stadskantoor", "Lübeckplein 2", "8017 JZ", "Zwolle"),
    Location("b", "Stadhuis", "Grote Kerkplein 15", "8011 PK", "Zwolle"),
]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Paspoort ophalen", "Paspoort ophalen"),
        ("mijn id kaart is klaar, ik wil hem ophalen", "ID-kaart ophalen"),
        ("nieuwe identiteitskaart", "ID-kaart aanvragen"),
        ("rijbewijs verlengen", "Rijbewijs aanvragen"),
        ("paspoort", "Paspoort aanvragen"),
    ],
)
def test_the_product_is_read_from_the_residents_words(said: str, expected: str) -> None:
    product = choices.product_named(PRODUCTS, said)
    assert product is not None and product.name == expected


def test_no_product_when_none_fits() -> None:
    assert choices.product_named(PRODUCTS, "een parkeervergunning") is None
    assert choices.product_for(PRODUCTS, "rijbewijs", pickup=True) is None, "not offered"


@pytest.mark.parametrize(
    ("said", "expected"),
    [("Stadhuis", "b"), ("bij het stadskantoor", "a"), ("grote kerkplein", "b"), ("zwolle", None)],
)
def test_a_location_by_name_or_street_and_none_when_ambiguous(
    said: str, expected: str | None
) -> None:
    location = choices.location_named(LOCATIONS, said)
    assert (location.id if location else None) == expected


def test_buttons_carry_words_that_read_back_to_the_same_moment() -> None:
    today = dt.date(2026, 11, 24)
    moment = dt.datetime(2026, 11, 26, 14, 30, tzinfo=AMSTERDAM)
    assert choices.day_button(moment.date(), today)["payload"] == "donderdag 26 november"
    button = choices.time_button(moment, today)
    assert button == {"title": "14.30 uur", "payload": "donderdag 26 november om 14:30"}


def test_times_offered_fit_the_daypart_and_stay_in_clock_order() -> None:
    day = dt.date(2026, 11, 26)
    times = [
        dt.datetime.combine(day, dt.time(h, m), AMSTERDAM) for h in range(9, 17) for m in (0, 30)
    ]
    offered = choices.fitting_times(choices.in_part(times, When(day, None, "middag")), When(day))
    assert offered == sorted(offered) and all(12 <= t.hour < 17 for t in offered)
    assert len(offered) == choices.MAX_BUTTONS


@pytest.mark.parametrize(
    ("said", "slots"),
    [
        ("andere dag", ("appointment_day", "appointment_time")),
        (
            "een ander product",
            ("appointment_product", "appointment_location", "appointment_day", "appointment_time"),
        ),
        ("ik wil een andere tijd", ("appointment_time",)),
        ("liever een andere plek", ("appointment_location", "appointment_day", "appointment_time")),
        ("mijn e-mailadres klopt niet", ("appointment_contact",)),
        ("de naam moet anders", ("appointment_name",)),
        ("de dag is goed", ()),
    ],
)
def test_what_to_change_at_the_summary(said: str, slots: tuple[str, ...]) -> None:
    assert SUMMARY.slots_named(said, asked_what=False) == slots


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "mijn nummer is 6f1d6a52-1c39-4d0e-9a51-6a2c3f0c1f10 ",
            "6f1d6a52-1c39-4d0e-9a51-6a2c3f0c1f10",
        ),
        ("0b6f3f5e3a474b8e8f0e5c2d9a7b1e42", "0b6f3f5e3a474b8e8f0e5c2d9a7b1e42"),
        ("ik weet het niet", None),
    ],
)
def test_a_booking_reference_is_found_in_what_was_pasted(said: str, expected: str | None) -> None:
    assert reference_in(said) == expected
