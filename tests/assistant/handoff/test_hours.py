"""When the KCC takes over chats: weekly hours, public holidays, closing days, bad configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.content import load_municipality
from assistant.handoff.hours import Kcc, KccConfigError, parse_kcc

UTRECHT = parse_kcc(
    {
        "hours": {
            "monday": "09:00-17:00",
            "tuesday": "09:00-17:00",
            "wednesday": "09:00-13:00",
            "thursday": "09:00-17:00",
            "friday": "09:00-13:00",
        },
        "closed_on": [dt.date(2026, 12, 24)],
        "queue_timeout_minutes": 7,
    }
)


def at(day: str, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at("2026-11-24", "09:00"), True),  # a Tuesday, opening time
        (at("2026-11-24", "16:59"), True),
        (at("2026-11-24", "17:00"), False),  # closing time is closed
        (at("2026-11-25", "13:30"), False),  # Wednesday afternoon
        (at("2026-11-28", "10:00"), False),  # Saturday
        (at("2026-12-24", "10:00"), False),  # a closing day of the municipality
        (at("2026-12-25", "10:00"), False),  # Christmas
        (at("2027-03-26", "10:00"), False),  # Good Friday
        (at("2026-05-05", "10:00"), False),  # Liberation Day, also outside lustrum years
    ],
)
def test_open_within_the_hours_on_working_days_only(moment: dt.datetime, open_: bool) -> None:
    assert UTRECHT is not None and UTRECHT.is_open(moment) is open_


def test_the_clock_is_amsterdams_whatever_zone_the_moment_comes_in() -> None:
    utc_eight = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)  # 09:00 in Utrecht
    assert UTRECHT is not None and UTRECHT.is_open(utc_eight)


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (at("2026-11-24", "10:00"), at("2026-11-24", "10:00")),  # open now
        (at("2026-11-24", "07:30"), at("2026-11-24", "09:00")),  # later today
        (at("2026-11-27", "14:00"), at("2026-11-30", "09:00")),  # Friday afternoon: Monday
        (at("2026-12-23", "18:00"), at("2026-12-28", "09:00")),  # past 24, 25, 26 December
    ],
)
def test_the_next_opening_for_a_callback(moment: dt.datetime, opening: dt.datetime) -> None:
    assert UTRECHT is not None and UTRECHT.next_opening(moment) == opening


def test_no_section_means_no_live_handoff_and_the_default_timeout() -> None:
    assert parse_kcc(None) is None
    assert UTRECHT is not None and UTRECHT.queue_timeout == dt.timedelta(minutes=7)
    assert Kcc().next_opening(at("2026-11-24", "10:00")) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"hours": {"maandag": "09:00-17:00"}}, "not a weekday"),
        ({"hours": {"monday": "9-17"}}, "09:00-17:00"),
        ({"hours": {"monday": "17:00-09:00"}}, "closes before it opens"),
        ({"hours": {}}, "at least one day"),
        ({"hours": {"monday": "09:00-17:00"}, "closed_on": ["morgen"]}, "list of dates"),
        ({"hours": {"monday": "09:00-17:00"}, "queue_timeout_minutes": 0}, "between 1 and"),
        ({"hours": {"monday": "09:00-17:00"}, "timeout": 5}, "unknown key"),
        ({"hours": {"monday": "09:00-17:00"}, "phone_queue": "14 030"}, "kcc.phone_queue"),
        ({"hours": {"monday": "09:00-17:00"}, "phone_queue": "tel:+31302860000"}, "sip:kcc"),
        ("altijd", "must be a mapping"),
    ],
)
def test_a_bad_section_is_refused_with_the_key_named(raw: object, message: str) -> None:
    with pytest.raises(KccConfigError, match=message):
        parse_kcc(raw)


def test_the_demo_municipalities_have_kcc_hours() -> None:
    for municipality in ("utrecht", "zwolle"):
        hours = load_municipality(municipality).kcc
        assert hours is not None and hours.is_open(at("2026-11-24", "10:00"))


def test_calls_are_transferred_to_the_phone_queue_of_the_content_file() -> None:
    for municipality in ("utrecht", "zwolle"):
        kcc = load_municipality(municipality).kcc
        assert kcc is not None and kcc.phone_queue and kcc.phone_queue.startswith("+31")
    sip = parse_kcc({"hours": {"monday": "09:00-17:00"}, "phone_queue": "sip:kcc@pbx.example.nl"})
    assert sip is not None and sip.phone_queue == "sip:kcc@pbx.example.nl"


def test_a_round_the_clock_desk_is_open_at_midnight_and_on_holidays() -> None:
    desk = parse_kcc(
        {
            "hours": {"friday": "00:00-24:00", "saturday": "00:00-24:00"},
            "open_on_public_holidays": True,
        }
    )
    assert desk is not None
    assert desk.is_open(at("2026-12-25", "23:59"))  # Christmas, a Friday
    assert desk.is_open(at("2026-12-26", "00:00"))
    assert not UTRECHT.is_open(at("2026-12-25", "10:00"))


def test_a_callback_is_due_at_the_next_opening_or_the_next_working_day() -> None:
    # Asked on Saturday: Monday at nine. Asked while open (nobody was free): the next day.
    assert UTRECHT.callback_due(at("2026-11-28", "10:00")) == at("2026-11-30", "09:00")
    assert UTRECHT.callback_due(at("2026-11-24", "10:00")) == at("2026-11-25", "09:00")
    assert UTRECHT.callback_due(at("2026-11-24", "07:30")) == at("2026-11-24", "09:00")


def test_standard_answers_are_read_and_checked() -> None:
    desk = parse_kcc(
        {
            "hours": {"monday": "09:00-17:00"},
            "standard_answers": [{"title": " Begroeting ", "text": "Goedendag!"}],
        }
    )
    assert desk is not None
    assert [(a.title, a.text) for a in desk.standard_answers] == [("Begroeting", "Goedendag!")]
    for bad in (
        [{"title": "", "text": "x"}],
        [{"title": "t", "text": "x" * 1001}],
        [{"title": "t", "text": "x", "html": "<b>"}],
        "Goedendag",
    ):
        with pytest.raises(KccConfigError, match="standard_answers"):
            parse_kcc({"hours": {"monday": "09:00-17:00"}, "standard_answers": bad})


def test_every_shipped_municipality_has_standard_answers() -> None:
    for municipality in ("utrecht", "zwolle"):
        desk = load_municipality(municipality).kcc
        assert desk is not None and desk.standard_answers
