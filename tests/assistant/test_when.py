"""Days and times as residents say them, resolved with Duckling's Dutch rules and the thin layer.

Three fixed clocks: a Tuesday morning in November, a Friday evening at the end of October (a
month end and a weekend ahead) and a Monday in late December (the year rolls over). Duckling
runs for real, in its worker process.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.duckling_worker import DEADLINE_SECONDS
from assistant.when import EARLIEST, UNKNOWN_DAY, When, happened, in_daypart, nearest, understand

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TUESDAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=AMSTERDAM)
FRIDAY_EVENING = dt.datetime(2026, 10, 30, 19, 30, tzinfo=AMSTERDAM)
LATE_DECEMBER = dt.datetime(2026, 12, 28, 10, 0, tzinfo=AMSTERDAM)
FUZZ_TEXTS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "texts.json"


def day(month: int, number: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, number)


def at(month: int, number: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, number, hour, minute, tzinfo=AMSTERDAM)


def test_morgen_and_overmorgen_count_from_today() -> None:
    assert understand("morgen", TUESDAY) == When(day=day(11, 25))
    assert understand("overmorgen", TUESDAY) == When(day=day(11, 26))
    assert understand("morgen", FRIDAY_EVENING) == When(day=day(10, 31))
    assert understand("overmorgen", FRIDAY_EVENING) == When(day=day(11, 1)), "past the month end"
    assert understand("morgen", LATE_DECEMBER) == When(day=day(12, 29))


def test_vandaag_is_today_even_late_in_the_day() -> None:
    assert understand("vandaag", TUESDAY) == When(day=day(11, 24))
    assert understand("vandaag", FRIDAY_EVENING) == When(day=day(10, 30))


def test_volgende_week_dinsdag_is_the_tuesday_of_next_week() -> None:
    assert understand("volgende week dinsdag", TUESDAY) == When(day=day(12, 1))
    assert understand("volgende week dinsdag", FRIDAY_EVENING) == When(day=day(11, 3))


def test_a_weekday_alone_is_the_next_such_day_and_next_week_when_said_on_that_day() -> None:
    assert understand("donderdag", TUESDAY) == When(day=day(11, 26))
    assert understand("maandag", FRIDAY_EVENING) == When(day=day(11, 2))
    assert understand("dinsdag", TUESDAY) == When(day=day(12, 1))
    assert understand("dinsdag om 11 uur", TUESDAY) == When(day=day(12, 1), time=dt.time(11))
    assert understand("vrijdag", FRIDAY_EVENING) == When(day=day(11, 6))


def test_a_date_still_ahead_keeps_this_year_and_a_past_one_goes_to_next_year() -> None:
    assert understand("3 december", TUESDAY) == When(day=day(12, 3))
    assert understand("3 november", TUESDAY) == When(day=day(11, 3, 2027))
    assert understand("3 december", LATE_DECEMBER) == When(day=day(12, 3, 2027))


def test_2_januari_said_in_late_december_is_next_january() -> None:
    assert understand("2 januari", LATE_DECEMBER) == When(day=day(1, 2, 2027))
    assert understand("eh, 2 januari om kwart voor elf graag", LATE_DECEMBER) == When(
        day=day(1, 2, 2027), time=dt.time(10, 45)
    )


@pytest.mark.parametrize("now", [TUESDAY, FRIDAY_EVENING, LATE_DECEMBER])
def test_half_drie_is_half_past_two_in_the_afternoon_whatever_the_hour_now(
    now: dt.datetime,
) -> None:
    # Duckling itself picks the next 02:30 or 14:30 after `now`; the office reading does not move.
    assert understand("half drie", now) == When(time=dt.time(14, 30))
    assert understand("kwart over twee", now) == When(time=dt.time(14, 15))


def test_hours_from_seven_to_twelve_stay_as_said() -> None:
    assert understand("om 7 uur", TUESDAY) == When(time=dt.time(7))
    assert understand("half acht", TUESDAY) == When(time=dt.time(7, 30))
    assert understand("10 uur", FRIDAY_EVENING) == When(time=dt.time(10))
    assert understand("om 12 uur", TUESDAY) == When(time=dt.time(12))


def test_a_time_before_seven_is_the_night_only_when_the_night_is_named() -> None:
    assert understand("2.30", TUESDAY) == When(time=dt.time(14, 30))
    assert understand("half drie 's nachts", TUESDAY) == When(time=dt.time(2, 30))
    assert understand("om 3 uur 's nachts", TUESDAY) == When(time=dt.time(3))


def test_a_daypart_decides_between_morning_and_evening() -> None:
    assert understand("half 8 's avonds", TUESDAY) == When(time=dt.time(19, 30), daypart="avond")
    assert understand("9.30 ’s avonds", TUESDAY) == When(time=dt.time(21, 30), daypart="avond")
    assert understand("'s ochtends om 11", TUESDAY) == When(time=dt.time(11), daypart="ochtend")
    assert understand("'s middags om 1", TUESDAY) == When(time=dt.time(13), daypart="middag")


def test_14_30_written_with_a_dot_u_or_h_is_a_clock_time_not_the_14th() -> None:
    for text in ("14.30", "14u30", "14h30", "om 14:30", "om 14.30 uur"):
        assert understand(text, TUESDAY) == When(time=dt.time(14, 30)), text
    assert understand("24.11.2026", TUESDAY) == When(day=day(11, 24)), "a date stays a date"


def test_donderdagmiddag_is_thursday_afternoon() -> None:
    assert understand("donderdagmiddag", TUESDAY) == When(day=day(11, 26), daypart="middag")


def test_compound_dayparts_are_split_and_morgenochtend_is_tomorrow_morning() -> None:
    # Duckling alone reads "morgen ochtend" as this morning.
    assert understand("morgenochtend", TUESDAY) == When(day=day(11, 25), daypart="ochtend")
    assert understand("morgen ochtend", TUESDAY) == When(day=day(11, 25), daypart="ochtend")
    assert understand("morgenmiddag", TUESDAY) == When(day=day(11, 25), daypart="middag")
    assert understand("maandagochtend", TUESDAY) == When(day=day(11, 30), daypart="ochtend")
    assert understand("vrijdagavond", TUESDAY) == When(day=day(11, 27), daypart="avond")
    assert understand("woensdagmorgen", TUESDAY) == When(day=day(11, 25), daypart="ochtend")
    assert understand("vanmiddag", TUESDAY) == When(day=day(11, 24), daypart="middag")
    assert understand("vanavond", FRIDAY_EVENING) == When(day=day(10, 30), daypart="avond")
    assert understand("in de ochtend", TUESDAY) == When(daypart="ochtend")


def test_eh_dinsdag_ochtend_is_next_tuesday_morning() -> None:
    assert understand("eh dinsdag ochtend", TUESDAY) == When(day=day(12, 1), daypart="ochtend")
    assert understand("eh dinsdag ochtend", FRIDAY_EVENING) == When(
        day=day(11, 3), daypart="ochtend"
    )


def test_fillers_between_the_day_and_the_time_do_not_split_them() -> None:
    assert understand("Donderdag, eh, nou om 3 uur graag!", TUESDAY) == When(
        day=day(11, 26), time=dt.time(15)
    )


def test_a_comma_keeps_two_days_apart_and_the_first_one_counts() -> None:
    assert understand("vandaag, morgen", TUESDAY) == When(day=day(11, 24))
    assert understand("morgen. Om 3 uur", TUESDAY) == When(day=day(11, 25), time=dt.time(15))


def test_vrijdag_om_kwart_voor_elf_is_friday_at_a_quarter_to_eleven() -> None:
    assert understand("vrijdag om kwart voor elf", TUESDAY) == When(
        day=day(11, 27), time=dt.time(10, 45)
    )


def test_maandagochtend_om_9_uur_is_monday_at_nine() -> None:
    assert understand("maandagochtend om 9 uur", TUESDAY) == When(
        day=day(11, 30), time=dt.time(9), daypart="ochtend"
    )
    assert understand("maandagochtend om 9 uur", FRIDAY_EVENING) == When(
        day=day(11, 2), time=dt.time(9), daypart="ochtend"
    )


def test_overmorgen_om_10_uur_is_a_day_and_an_hour() -> None:
    assert understand("overmorgen om 10 uur", TUESDAY) == When(day=day(11, 26), time=dt.time(10))


def test_an_interval_becomes_the_daypart_of_its_middle() -> None:
    assert understand("tussen 2 en 4", TUESDAY) == When(daypart="middag")
    assert understand("voor 12 uur", TUESDAY) == When(daypart="ochtend")
    assert understand("na 3 uur", FRIDAY_EVENING) == When(daypart="middag")


def test_zo_snel_mogelijk_means_no_preference_so_the_earliest_slot() -> None:
    for text in ("zo snel mogelijk", "zsm", "Het maakt me niet uit"):
        assert understand(text, TUESDAY) == EARLIEST, text
    assert understand("zo snel mogelijk, liefst 's middags", TUESDAY) == When(daypart="middag")
    assert understand("morgen, zo vroeg mogelijk", TUESDAY) == When(day=day(11, 25))


def test_an_answer_without_a_day_or_time_is_not_understood() -> None:
    for text in ("nee", "ja graag", "ik wil een paspoort aanvragen", "1234", "3", "", " \n"):
        assert understand(text, TUESDAY) is None, text


def test_fuzz_corpus_texts_and_junk_never_raise() -> None:
    entries = json.loads(FUZZ_TEXTS.read_text(encoding="utf-8"))
    texts = [
        "".join(piece * count for piece, count in e["parts"]) if "parts" in e else e["text"]
        for e in entries
    ]
    texts += ["\ud800 morgen \udfff", "🗓️⏰" * 50, "\x00" * 300, "ｍｏｒｇｅｎ", "٣ ديسمبر"]
    texts += ["10000000 dagen geleden", "over 100000 weken", "24:61", "99.99", "0:00"]
    for text in texts:
        result = understand(text, TUESDAY)
        assert result is None or isinstance(result, When)
    assert understand("\ud800 morgen", TUESDAY) == When(day=day(11, 25)), "surrogates dropped"


@pytest.mark.timeout(5)
def test_a_10_kb_answer_of_time_words_is_cut_off_and_the_next_answer_is_understood() -> None:
    # Nine adjacent "morgen"s take Duckling 22 s; these would take forever without the deadline.
    for flood in ("morgen " * 1500, "12:30 " * 1700, "dinsdag " * 1250):
        started = time.perf_counter()
        assert understand(flood, TUESDAY) is None
        assert time.perf_counter() - started < DEADLINE_SECONDS + 1.5
    assert understand("morgen", TUESDAY) == When(day=day(11, 25)), "a new worker took over"


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        understand("morgen", dt.datetime(2026, 11, 24, 10))


def test_dayparts_start_on_the_hour_and_end_before_the_next() -> None:
    assert in_daypart(dt.time(8), "ochtend")
    assert not in_daypart(dt.time(7, 59), "ochtend")
    assert not in_daypart(dt.time(12), "ochtend")
    assert in_daypart(dt.time(12), "middag")
    assert in_daypart(dt.time(16, 59), "middag")
    assert in_daypart(dt.time(17), "avond")
    assert not in_daypart(dt.time(21), "avond")


def test_nearest_offers_the_asked_day_and_daypart_first_then_the_nearest_days() -> None:
    free = [
        at(11, 30, 14),
        at(11, 27, 14),
        at(11, 26, 9),
        at(11, 26, 15, 30),
        at(11, 25, 14),
        at(11, 26, 13),
    ]
    wanted = When(day=day(11, 26), daypart="middag")
    assert nearest(wanted, free, limit=5) == [
        at(11, 26, 13),
        at(11, 26, 15, 30),
        at(11, 26, 9),  # the asked day, another daypart
        at(11, 25, 14),  # one day off either way: the earlier first
        at(11, 27, 14),
    ]


def test_nearest_to_an_asked_time_prefers_the_closest_minutes() -> None:
    free = [at(11, 26, 10), at(11, 26, 14), at(11, 26, 15), at(11, 26, 14, 45)]
    wanted = When(day=day(11, 26), time=dt.time(14, 30))
    assert nearest(wanted, free) == [at(11, 26, 14, 45), at(11, 26, 14), at(11, 26, 15)]


def test_nearest_without_a_day_takes_the_earliest_day_with_a_fitting_slot() -> None:
    free = [at(11, 27, 14, 30), at(11, 25, 9), at(11, 26, 16), at(11, 26, 14)]
    assert nearest(When(time=dt.time(14, 30)), free) == [
        at(11, 26, 14),
        at(11, 26, 16),
        at(11, 27, 14, 30),
    ]


def test_nearest_for_the_earliest_is_simply_the_earliest_slots() -> None:
    free = [at(12, 1, 9), at(11, 25, 16), at(11, 25, 9), at(11, 26, 8)]
    assert nearest(EARLIEST, free, limit=2) == [at(11, 25, 9), at(11, 25, 16)]


def test_nearest_reads_slots_on_the_amsterdam_clock_and_returns_them_as_given() -> None:
    utc = dt.timezone.utc
    afternoon = dt.datetime(2026, 11, 26, 13, 30, tzinfo=utc)  # 14:30 in Amsterdam
    morning = dt.datetime(2026, 11, 26, 10, 0, tzinfo=utc)  # 11:00 in Amsterdam
    assert nearest(When(time=dt.time(14, 30)), [morning, afternoon], limit=1) == [afternoon]
    assert nearest(EARLIEST, [morning], limit=0) == []
    assert nearest(EARLIEST, []) == []


def test_a_taken_moment_leads_to_the_nearest_free_ones() -> None:
    wanted = understand("donderdagmiddag om half drie", TUESDAY)
    assert wanted == When(day=day(11, 26), time=dt.time(14, 30), daypart="middag")
    free = [at(11, 26, 9, 30), at(11, 26, 16), at(11, 27, 14, 30), at(11, 26, 13, 45)]
    assert nearest(wanted, free) == [at(11, 26, 13, 45), at(11, 26, 16), at(11, 26, 9, 30)]


# A Wednesday in March, for what residents say about a day that has passed.
A_WEDNESDAY = dt.datetime(2026, 3, 4, 10, 0, tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("gisteren", "dinsdag 3 maart"),
        ("vorige week dinsdag", "dinsdag 24 februari"),
        ("dinsdag", "dinsdag 3 maart"),
        ("woensdag", "woensdag 25 februari"),  # said on a Wednesday: last week's
        ("3 december", "woensdag 3 december 2025"),  # no year: the last one that passed
        ("gisteravond", "dinsdag 3 maart, in de avond"),
        ("gisteren om half drie", "dinsdag 3 maart om 14.30 uur"),
        ("vandaag", "woensdag 4 maart"),
        ("vorige maand", "vorige maand"),  # a period is kept as said
        ("rond kerst", "rond kerst"),
        ("weet ik niet", UNKNOWN_DAY),
        ("morgen", None),
        ("volgende week dinsdag", None),
        ("3 december 2026", None),
        ("wat kost een paspoort", None),
        ("ergens in de zomer " + "toen het heel warm was " * 4, None),  # a story, not a time
        ("", None),
    ],
)
def test_what_happened_is_a_day_that_has_passed(said: str, expected: str | None) -> None:
    assert happened(said, A_WEDNESDAY) == expected
