"""Dutch office days: the time zone every appointment system answers in, and the public holidays.

Municipal offices are closed at weekends and on the national public holidays. The sandboxes use
this to offer slots only on days a real office would, so a test never books on Easter Monday.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=32)
def public_holidays(year: int) -> frozenset[date]:
    """The days Dutch municipal offices are closed besides weekends.

    The national holidays are the `holidays` package's (Good Friday included, and King's Day
    moved to the 26th when the 27th is a Sunday). Liberation Day (5 May) is a day off by law
    only every fifth year, but municipalities close their counters on it every year.
    """
    national = holidays.country_holidays("NL", years=year)
    return frozenset({*national, date(year, 5, 5)})


def is_office_day(day: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


def local_today() -> date:
    """Today's date in the Netherlands (not the server's time zone)."""
    return datetime.now(AMSTERDAM).date()


def as_amsterdam(moment: datetime) -> datetime:
    """`moment` as Amsterdam wall-clock time; a naive value is taken to be Amsterdam time already.

    JCC and Qmatic send naive times meaning the branch's local time, so naive never means UTC here.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=AMSTERDAM)
    return moment.astimezone(AMSTERDAM)
