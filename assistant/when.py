"""What a resident says about a day and time for an appointment, as a date, a time or a daypart.

Dates and times are Duckling's: its Dutch rules ("morgen", "volgende week dinsdag", "3 december",
"kwart over twee") run in `assistant.duckling_worker`. There is no date grammar here, only a thin
layer for what Duckling misses or reads differently from a municipal desk:

- Text: at most `MAX_CHARS` characters are read (what bounds Duckling's time is the worker's
  deadline: a few repeated words already make it exponential). Emoji, lone surrogates and
  punctuation become spaces, except what Duckling reads: , . : ' / - (pauses, dates, clock
  times). Fillers ("eh", "ehm", "uh", "nou", "ja", "dus", "graag", "liefst", "liever", "maar")
  are dropped, because they break Duckling's joining of "dinsdag" and "om 3 uur". "om" stays.
- "14.30", "14u30" and "14h30" become "14:30": Duckling reads "14." as the 14th of the month.
- Dayparts are taken out of the text before Duckling sees it: compounds are split
  ("donderdagmiddag" → "donderdag middag", "vanmiddag" → "vandaag middag"), and then "ochtend",
  "middag", "avond" ("'s middags", "in de avond") and "morgen" after a day word
  ("dinsdagmorgen", "'s morgens") become the `daypart`. Duckling knows no compounds, reads
  "morgen ochtend" as this morning, and its dayparts (0–12, 12–18, 18–24) are not ours
  (`DAYPARTS`: 08–12, 12–17, 17–21). An interval Duckling does return ("tussen 2 en 4") becomes
  the daypart of its middle hour: before 12 ochtend, before 17 middag, later avond.
- Hours: Duckling lists both readings of an hour said without am/pm ("half drie": 02:30 and
  14:30) and reads "2:30" as 02:30 only; the hour meant is decided here. With middag or avond an
  hour before 12 is after noon, with ochtend it stays. Without a daypart, office hours: 1–6 is
  13:00–18:59 ("half drie", "2.30" → 14:30) unless the night is named ("'s nachts",
  "vannacht"); 7–11 stays morning ("half acht" → 07:30); an am/pm "12" is noon.
- Days: the first day Duckling lists that is not before today, so "3 november" said on
  24 November is next year. A weekday named on that weekday means next week ("dinsdag" on a
  Tuesday); today is "vandaag". A day that can only be past ("gisteren") is returned as said,
  for the dialogue to answer that it has passed. "volgende week" is its first day, "deze week"
  today.
- A time alone ("half drie") has no day: Duckling puts it on consecutive days, and `day` is None.
- "zo snel mogelijk", "zsm", "maakt niet uit" and the like, with no day or time, give `EARLIEST`:
  a `When` without preferences, for which `nearest` offers the earliest slots.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from assistant.duckling_worker import ZONE, DucklingWorker
from assistant.dutch_time import day_in_words, time_in_words

Daypart = Literal["ochtend", "middag", "avond"]

AMSTERDAM = ZoneInfo(ZONE)
MAX_CHARS = 200  # an answer to "which day suits you?" fits in far less
DAYPARTS: dict[Daypart, tuple[dt.time, dt.time]] = {
    "ochtend": (dt.time(8), dt.time(12)),
    "middag": (dt.time(12), dt.time(17)),
    "avond": (dt.time(17), dt.time(21)),
}
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


@dataclass(frozen=True)
class When:
    """What the resident asked for; a field left None is no preference."""

    day: dt.date | None = None
    time: dt.time | None = None
    daypart: Daypart | None = None


EARLIEST = When()  # "zo snel mogelijk": no preference, so the earliest slot is the nearest

_worker = DucklingWorker()

_NOT_TEXT = re.compile(r"[^\w\s:',./-]")  # keeps what Duckling reads: pauses, dates, times
_FILLERS = re.compile(r"\b(?:e+h+m*|u+h+m*|hm+|nou|ja|dus|graag|liefst|liever|maar)\b")
_CLOCK = re.compile(r"(?<![\d.:])(\d{1,2})[.uh]([0-5]\d)(?![\d.:])")
_DAY_WORDS = "|".join((*WEEKDAYS, "vandaag", "overmorgen", "morgen"))
_VAN_DAYPART = re.compile(r"\bvan(ochtend|morgen|middag|avond)\b")
_COMPOUND = re.compile(rf"\b({_DAY_WORDS})(ochtend|morgen|middag|avond)\b")
_DAYPART = re.compile(
    rf"\b(?P<day>{_DAY_WORDS}) morgen\b"  # "dinsdag morgen": the morning, not tomorrow
    r"|'s ?morgens\b"
    r"|(?:'s ?|\bin de )?\b(?P<part>ochtend|middag|avond)s?\b"
)
_ASAP = re.compile(
    r"\b(?:zo (?:snel|vroeg|spoedig|gauw) (?:als )?mogelijk|zsm|z\.s\.m|asap"
    r"|eerst(?:e|volgende)? (?:mogelijke|beschikbare|vrije)|maakt (?:me |mij )?niet uit)\b"
)
_TIME_GRAINS = {"second", "minute", "hour"}
_DAY_GRAINS = {"day", "week", "month"}
_YEARS = range(1900, 2200)


def now() -> dt.datetime:
    """The current moment on the Amsterdam clock (aware)."""
    return dt.datetime.now(AMSTERDAM)


def understand(text: str, now: dt.datetime) -> When | None:
    """The day, time and daypart in `text`, as meant at `now` (an aware datetime).

    None when the text names no day, time or daypart, and for any text Duckling cannot read in
    time; never raises on what a resident types. `now` is passed in so tests fix the clock; a
    naive one is a caller's bug and raises ValueError.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(text, str):
        return None
    cleaned, daypart = _prepare(text)
    entities = _worker.parse(cleaned, int(now.timestamp())) if cleaned else []
    if entities is None:
        return None
    local_now = now.astimezone(AMSTERDAM)
    weekday_named = re.search(rf"\b{WEEKDAYS[local_now.weekday()]}\b", cleaned) is not None
    said = _Said(
        today=local_now.date(),
        not_today=weekday_named and "vandaag" not in cleaned,
        daypart=daypart,
        night="nacht" in cleaned,
    )
    found = When(daypart=daypart)
    for entity in entities:
        found = _merge(found, _read(entity, said))
    if found != EARLIEST:
        return found
    return EARLIEST if _ASAP.search(cleaned) else None


def in_daypart(moment: dt.time, daypart: Daypart) -> bool:
    """Whether `moment` falls in `daypart` (start included, end excluded)."""
    start, end = DAYPARTS[daypart]
    return start <= moment.replace(tzinfo=None) < end


def daypart_of(moment: dt.time) -> Daypart | None:
    """The daypart `moment` falls in; None before 08:00 and from 21:00."""
    return next((part for part in DAYPARTS if in_daypart(moment, part)), None)


def nearest(wanted: When, free: Sequence[dt.datetime], limit: int = 3) -> list[dt.datetime]:
    """The `limit` free slots closest to what was asked, best first, for "how about these".

    Order: the asked day (then the days nearest to it, earlier first on a tie); within a day,
    slots in the asked daypart (or the daypart of the asked time) first, then the ones closest
    to the asked time or daypart. Without a day, the earliest day that has a fitting slot comes
    first; without any preference (`EARLIEST`) simply the earliest slots. Slots are compared on
    the Amsterdam clock and returned as given.
    """
    part = wanted.daypart or (daypart_of(wanted.time) if wanted.time else None)

    def key(slot: dt.datetime) -> tuple[int, int, dt.date, int, dt.datetime]:
        local = slot.astimezone(AMSTERDAM) if slot.tzinfo else slot.replace(tzinfo=AMSTERDAM)
        day_gap = abs((local.date() - wanted.day).days) if wanted.day else 0
        misses = 0 if part is None or in_daypart(local.time(), part) else 1
        earliest_day = dt.date.min if wanted.day else local.date()
        return day_gap, misses, earliest_day, _minutes_off(local.time(), wanted.time, part), local

    return sorted(free, key=key)[: max(limit, 0)]


def _minutes_off(moment: dt.time, wanted: dt.time | None, part: Daypart | None) -> int:
    """Minutes from `moment` to the asked time, or to the asked daypart (0 inside it)."""
    minute = moment.hour * 60 + moment.minute
    if wanted is not None:
        return abs(minute - (wanted.hour * 60 + wanted.minute))
    if part is None:
        return 0
    start, end = (t.hour * 60 + t.minute for t in DAYPARTS[part])
    return max(start - minute, minute - end + 1, 0)


def _prepare(text: str) -> tuple[str, Daypart | None]:
    """The thin layer before Duckling: clean `text` and take the daypart out of it."""
    text = text[:MAX_CHARS].encode("utf-8", "ignore").decode("utf-8")  # drops lone surrogates
    text = re.sub(r"[’‘`´]", "'", text.lower())
    text = _FILLERS.sub(" ", _NOT_TEXT.sub(" ", text))
    text = _CLOCK.sub(lambda m: f"{m[1]}:{m[2]}" if int(m[1]) < 24 else m[0], text)
    text = _VAN_DAYPART.sub(r"vandaag \1", text)
    text = _COMPOUND.sub(r"\1 \2", text)
    daypart: Daypart | None = None
    match = _DAYPART.search(text)
    if match:
        daypart = cast(Daypart, match["part"] or "ochtend")
        text = text[: match.start()] + (match["day"] or "") + text[match.end() :]
    return " ".join(text.split()), daypart


@dataclass(frozen=True)
class _Said:
    """What the thin layer knows beside Duckling's entities."""

    today: dt.date
    not_today: bool  # today's weekday was named without "vandaag": next week's is meant
    daypart: Daypart | None
    night: bool  # "'s nachts", "vannacht": no office hours


@dataclass(frozen=True)
class _Reading:
    """One reading Duckling lists for an entity: a moment, or an interval (open on one side)."""

    start: dt.datetime | None
    end: dt.datetime | None  # excluded; None for a moment
    grain: str

    @property
    def anchor(self) -> dt.datetime:
        """The moment that stands for the reading: its start, or the minute before its end."""
        if self.start is not None:
            return self.start
        assert self.end is not None  # _readings keeps no reading without either
        return self.end - dt.timedelta(minutes=1)

    @property
    def middle(self) -> dt.datetime:
        if self.start is not None and self.end is not None:
            return self.start + (self.end - self.start) / 2
        return self.anchor


def _read(entity: dict[str, Any], said: _Said) -> When:
    """One Duckling entity as a `When`, using every reading Duckling lists for it."""
    value = entity.get("value") or {}
    readings = _readings(value)
    if not readings or readings[0].grain not in _TIME_GRAINS | _DAY_GRAINS:
        return EARLIEST  # a year or a quarter: too vague, and what junk digits turn into
    grain = readings[0].grain
    dates = sorted({r.anchor.date() for r in readings})
    if grain in {"week", "month"}:
        return When(day=max(dates[0], said.today))
    gaps = {(b - a).days for a, b in itertools.pairwise(dates)}
    if grain in _TIME_GRAINS and gaps == {1}:
        day = None  # Duckling put the time on consecutive days: no day was said
    else:
        day = next(
            (d for d in dates if d > said.today or (d == said.today and not said.not_today)),
            dates[0],
        )
    if grain not in _TIME_GRAINS:
        return When(day=day)
    hours = {r.anchor.hour for r in readings}
    am_pm = len(hours) == 2 and max(hours) - min(hours) == 12  # Duckling lists both readings
    hour = _clock_hour(min(hours) if am_pm else readings[0].anchor.hour, am_pm, said)
    reading = next((r for r in readings if r.anchor.hour == hour), readings[0])
    if value.get("type") != "interval":
        return When(day=day, time=dt.time(hour, reading.anchor.minute))
    if reading.start and reading.end and reading.end - reading.start > dt.timedelta(hours=12):
        return When(day=day)  # a range of days ("dit weekend"): its first day
    shift = hour - reading.anchor.hour  # 0, or 12 for "tussen 2:00 en 4:00" read as 14–16
    return When(day=day, daypart=_interval_daypart(reading.middle.hour + shift))


def _readings(value: dict[str, Any]) -> list[_Reading]:
    """The readings Duckling lists (or its one value), on the Amsterdam clock."""
    readings = []
    for listed in value.get("values") or [value]:
        if listed.get("type") == "interval":
            start, end = _wall(listed.get("from")), _wall(listed.get("to"))
            bound = listed.get("from") or listed.get("to") or {}
        else:
            start, end, bound = _wall(listed), None, listed
        if start is not None or end is not None:
            readings.append(_Reading(start, end, str(bound.get("grain", ""))))
    return readings


def _wall(point: dict[str, Any] | None) -> dt.datetime | None:
    """A Duckling time on the Amsterdam clock, without zone, for clock arithmetic.

    None for a missing bound, and for junk readings such as "10000000 dagen geleden" (year
    -25353, which Python cannot represent) or centuries away: no appointment is.
    """
    try:
        moment = dt.datetime.fromisoformat(str((point or {})["value"]))
    except (KeyError, ValueError):
        return None
    if moment.year not in _YEARS:
        return None
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def _clock_hour(hour: int, am_pm: bool, said: _Said) -> int:
    """The hour a resident means on a municipal desk's clock, from the hour Duckling read."""
    if am_pm:
        hour = hour % 12 or 12
    if said.daypart in ("middag", "avond") and hour < 12:
        return hour + 12
    if said.daypart is None and not said.night and 1 <= hour <= 6:
        return hour + 12  # office hours: "half drie" and "2.30" are 14:30
    return hour


def _interval_daypart(hour: int) -> Daypart:
    return "ochtend" if hour < 12 else "middag" if hour < 17 else "avond"


def _merge(first: When, second: When) -> When:
    """`first`, with what it lacks taken from `second` (Duckling may split one answer in two)."""
    return When(
        day=first.day if first.day is not None else second.day,
        time=first.time if first.time is not None else second.time,
        daypart=first.daypart or second.daypart,
    )


# --- when something happened (a complaint) ----------------------------------------------------

UNKNOWN_DAY = "weet ik niet meer"
PAST_MAX_CHARS = 80

_WEEKDAY = re.compile(rf"\b(?:{'|'.join(WEEKDAYS)})", re.IGNORECASE)
# Words that name one day; without them a time word ("vorige week") is kept as said.
_ONE_DAY = re.compile(
    rf"\d|{_WEEKDAY.pattern}|\b(?:eer)?gister|\bvandaag\b|\bvan(?:ochtend|morgen|middag|avond|nacht)",
    re.IGNORECASE,
)
_TO_COME = re.compile(r"\b(?:morgen|overmorgen|volgende|komende|aanstaande|straks)\b", re.I)
_TODAY_WORDS = re.compile(r"\b(?:vandaag|van(?:ochtend|morgen|middag|avond|nacht))\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_CLOCK_SAID = re.compile(r"\buur\b|\d[:.]\d\d|\bhalf\b|\bkwart\b", re.IGNORECASE)
_DONT_KNOW = re.compile(
    r"^(?:dat |het )?(?:weet ik (?:het )?niet(?: meer| precies)?|geen idee|weet niet(?: meer)?"
    r"|onbekend|ik weet het niet(?: meer)?|kan ik me niet (?:meer )?herinneren)\b",
    re.IGNORECASE,
)
_TIME_WORDS = re.compile(
    r"\b(?:dag|dagen|week|weken|maand|maanden|jaar|jaren|geleden|ochtend|middag|avond|nacht"
    r"|weekend|kerst\w*|pasen|zomer\w*|winter\w*|lente|voorjaar|najaar|herfst\w*|vakantie"
    r"|begin|eind|rond|ongeveer|sinds|laatst|onlangs|zojuist|januari|februari|maart|april|mei"
    r"|juni|juli|augustus|september|oktober|november|december)\b",
    re.IGNORECASE,
)
_DAYPART_WORDS = {"ochtend": "in de ochtend", "middag": "in de middag", "avond": "in de avond"}


def happened(text: str, moment: dt.datetime) -> str | None:
    """When something happened, in words for the summary and the case; None when the text
    names no time that has passed (a day to come, or no time at all).

    A named day becomes a date ("vorige week dinsdag" -> "dinsdag 24 februari"); `understand`
    looks ahead, as appointments do, so a bare weekday or a date without a year is moved back
    to the last one that has passed. A period ("vorige maand", "rond kerst") is kept as said,
    and "weet ik niet" is an answer too: a complaint does not need the exact day.
    """
    text = " ".join(text.split())
    if not text or len(text) > PAST_MAX_CHARS:
        return None
    if _DONT_KNOW.match(text):
        return UNKNOWN_DAY
    if _TO_COME.search(text):
        return None
    today = moment.astimezone(AMSTERDAM).date()
    if _ONE_DAY.search(text) and (found := understand(text, moment)) and found.day:
        day = _in_the_past(found.day, text, today)
        if day is None:
            return None
        words = day_in_words(day, today)
        if found.time and _CLOCK_SAID.search(text):
            return f"{words} om {time_in_words(dt.datetime.combine(day, found.time))}"
        return f"{words}, {_DAYPART_WORDS[found.daypart]}" if found.daypart else words
    if _TIME_WORDS.search(text) or _ONE_DAY.search(text):
        return text
    return None


def names_one_day(text: str) -> bool:
    """Whether `text` names one day ("dinsdag", "gisteren", "3 maart"), not a period."""
    return _ONE_DAY.search(text) is not None


def _in_the_past(day: dt.date, text: str, today: dt.date) -> dt.date | None:
    if _WEEKDAY.search(text) and not _TODAY_WORDS.search(text) and not re.search(r"\d", text):
        while day >= today:  # "dinsdag": the last Tuesday; on a Tuesday, last week's
            day -= dt.timedelta(days=7)
    elif day > today and not _YEAR.search(text):  # "3 december" said in March: last December
        try:
            day = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            day = day.replace(year=day.year - 1, day=28)
    return day if day <= today else None
