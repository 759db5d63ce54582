"""Days and times as a Dutch resident reads them ("dinsdag 24 november 2026", "14.30 uur").

Babel holds the Dutch names and patterns; the few choices here are the B1 house style: the weekday
with the date, the year only when it is not this year's, and "14.30 uur" with a dot as Dutch
government texts write it.
"""

from __future__ import annotations

from datetime import date, datetime, time

from babel.dates import format_date


def day_in_words(day: date, today: date | None = None) -> str:
    """The day, e.g. "dinsdag 24 november"; with the year when it is not `today`'s year."""
    pattern = "EEEE d MMMM" if today is not None and day.year == today.year else "EEEE d MMMM y"
    return format_date(day, pattern, locale="nl")


def time_in_words(moment: datetime | time) -> str:
    """The time of day, e.g. "14.30 uur"."""
    return f"{moment.hour}.{moment.minute:02d} uur"


def moment_in_words(moment: datetime, today: date | None = None) -> str:
    """Day and time, e.g. "dinsdag 24 november om 14.30 uur"."""
    return f"{day_in_words(moment.date(), today)} om {time_in_words(moment)}"
