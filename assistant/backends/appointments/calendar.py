"""Dutch office days: the time zone every appointment system answers in, and the public holidays.

Municipal offices are closed at weekends and on the national public holidays. The sandboxes use
this to offer slots only on days a real office would, so a test never books on Easter Monday.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def easter_sunday(year: int) -> date:
    """Western Easter (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=32)
def public_holidays(year: int) -> frozenset[date]:
    """The days Dutch municipal offices are closed besides weekends.

    Good Friday and Liberation Day (5 May) are not days off for everyone by law, but
    municipalities generally close their counters on both, so the sandboxes treat them as closed.
    King's Day moves to the 26th when the 27th of April is a Sunday.
    """
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    return frozenset(
        {
            date(year, 1, 1),
            easter - timedelta(days=2),
            easter,
            easter + timedelta(days=1),
            kings_day,
            date(year, 5, 5),
            easter + timedelta(days=39),  # Ascension Day
            easter + timedelta(days=49),  # Whit Sunday
            easter + timedelta(days=50),  # Whit Monday
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


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
