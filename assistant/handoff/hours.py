"""The KCC's chat desk per municipality: when employees take over chats (weekly hours,
holidays, closing days) and the standard answers their console offers.

Configured in the municipality's content file, beside its facts:

```yaml
kcc:
  hours:                      # Europe/Amsterdam; a day left out is closed
    monday: "09:00-17:00"
    wednesday: "09:00-13:00"
  closed_on: [2026-12-24]     # extra closing days besides the public holidays
  queue_timeout_minutes: 5    # then the resident is offered a callback instead
  phone_queue: "+31302860000" # callers asking for a person are transferred here (E.164 or sip:)
  open_on_public_holidays: false   # the default; a round-the-clock service says true
  standard_answers:           # texts an employee sends with one click
    - title: Begroeting
      text: "Goedendag, u spreekt met een medewerker van de gemeente. Waarmee kan ik u helpen?"
```

The phone queue takes transferred calls in the same hours as the chats; a municipality without
one gives callers the callback instead. "00:00-24:00" is a whole day. Public holidays
(`assistant.backends.appointments.calendar`) are closed unless `open_on_public_holidays` is
true. A callback requested outside hours is due on the next working day, which `next_opening`
gives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from assistant.backends.appointments.calendar import AMSTERDAM, public_holidays
from channels.text import MAX_TEXT_LENGTH

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_QUEUE_TIMEOUT = dt.timedelta(minutes=5)
MAX_QUEUE_TIMEOUT_MINUTES = 120
MAX_STANDARD_ANSWERS = 30
MAX_TITLE_LENGTH = 60
_SPAN = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*(?:([01]\d|2[0-3]):([0-5]\d)|(24:00))\s*$")
# How far ahead `next_opening` looks; a year without any opening is a configuration error.
_SEARCH_DAYS = 366
# Where a call can be transferred: an E.164 number or a SIP address (RFC 3261 user@host).
_PHONE_QUEUE = re.compile(r"\+[1-9]\d{6,14}|sips?:[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]{1,253}")


class KccConfigError(ValueError):
    """The `kcc:` section of a content file is not usable; the message names the key."""


@dataclass(frozen=True)
class StandardAnswer:
    title: str
    text: str


@dataclass(frozen=True)
class Kcc:
    """When the KCC answers chats (`weekly` maps a weekday, 0 = Monday, to opening and closing)
    and the standard answers of its employees."""

    weekly: Mapping[int, tuple[dt.time, dt.time]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    closed_on: frozenset[dt.date] = frozenset()
    queue_timeout: dt.timedelta = DEFAULT_QUEUE_TIMEOUT
    open_on_public_holidays: bool = False
    standard_answers: tuple[StandardAnswer, ...] = ()
    phone_queue: str | None = None

    def is_open(self, moment: dt.datetime) -> bool:
        local = _local(moment)
        span = self._span(local.date())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, moment: dt.datetime) -> dt.datetime | None:
        """The next moment the KCC opens after `moment` (an aware datetime); now, if open.
        None when no opening lies within a year (no hours configured)."""
        local = _local(moment)
        if self.is_open(local):
            return local
        for offset in range(_SEARCH_DAYS):
            day = local.date() + dt.timedelta(days=offset)
            span = self._span(day)
            if span is None:
                continue
            opening = dt.datetime.combine(day, span[0], AMSTERDAM)
            if opening > local:
                return opening
        return None

    def callback_due(self, moment: dt.datetime) -> dt.datetime | None:
        """When the KCC calls back a resident who asked at `moment`: the next opening, or,
        while open (nobody was free to chat), the first opening of the next working day."""
        if not self.is_open(moment):
            return self.next_opening(moment)
        tomorrow = _local(moment).date() + dt.timedelta(days=1)
        return self.next_opening(dt.datetime.combine(tomorrow, dt.time(0), AMSTERDAM))

    def _span(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        if day in self.closed_on:
            return None
        if not self.open_on_public_holidays and day in public_holidays(day.year):
            return None
        return self.weekly.get(day.weekday())


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(AMSTERDAM)


def parse_kcc(raw: Any) -> Kcc | None:
    """The `kcc:` section of a content file; None when there is none (no live handoff: the
    resident is given the phone number and contact form)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise KccConfigError(
            "kcc: must be a mapping with hours (and closed_on, queue_timeout_minutes)"
        )
    unknown = set(raw) - {
        "hours",
        "closed_on",
        "queue_timeout_minutes",
        "open_on_public_holidays",
        "standard_answers",
        "phone_queue",
    }
    if unknown:
        raise KccConfigError(f"kcc: unknown key(s) {sorted(unknown)}")
    return Kcc(
        weekly=MappingProxyType(_weekly(raw.get("hours"))),
        closed_on=_closed_on(raw.get("closed_on", [])),
        queue_timeout=_queue_timeout(raw.get("queue_timeout_minutes")),
        open_on_public_holidays=_holidays(raw.get("open_on_public_holidays", False)),
        standard_answers=_standard_answers(raw.get("standard_answers", [])),
        phone_queue=_phone_queue(raw.get("phone_queue")),
    )


def _phone_queue(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _PHONE_QUEUE.fullmatch(raw):
        raise KccConfigError(
            'kcc.phone_queue: a phone number as "+31302860000" or a SIP address as '
            f'"sip:kcc@pbx.example.nl", got {raw!r}'
        )
    return raw


def _standard_answers(raw: Any) -> tuple[StandardAnswer, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_STANDARD_ANSWERS:
        raise KccConfigError(f"kcc.standard_answers: a list of at most {MAX_STANDARD_ANSWERS}")
    answers = []
    for number, item in enumerate(raw, start=1):
        title = item.get("title") if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        if not (
            isinstance(title, str)
            and isinstance(text, str)
            and 0 < len(title.strip()) <= MAX_TITLE_LENGTH
            and 0 < len(text.strip()) <= MAX_TEXT_LENGTH
            and set(item) == {"title", "text"}
        ):
            raise KccConfigError(
                f"kcc.standard_answers[{number}]: a title (at most {MAX_TITLE_LENGTH} characters)"
                f" and a text (at most {MAX_TEXT_LENGTH}), nothing else"
            )
        answers.append(StandardAnswer(title.strip(), text.strip()))
    return tuple(answers)


def _holidays(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise KccConfigError("kcc.open_on_public_holidays: true or false")
    return raw


def _weekly(raw: Any) -> dict[int, tuple[dt.time, dt.time]]:
    if not isinstance(raw, dict) or not raw:
        raise KccConfigError('kcc.hours: give at least one day, e.g. monday: "09:00-17:00"')
    weekly: dict[int, tuple[dt.time, dt.time]] = {}
    for day, span in raw.items():
        if day not in WEEKDAYS:
            raise KccConfigError(f"kcc.hours.{day}: not a weekday (use {', '.join(WEEKDAYS)})")
        match = _SPAN.match(span) if isinstance(span, str) else None
        if match is None:
            raise KccConfigError(f'kcc.hours.{day}: write it as "09:00-17:00", got {span!r}')
        opens = dt.time(int(match[1]), int(match[2]))
        # A day that ends at midnight closes at the last moment of the day.
        closes = dt.time.max if match[5] else dt.time(int(match[3]), int(match[4]))
        if closes <= opens:
            raise KccConfigError(f"kcc.hours.{day}: closes before it opens ({span})")
        weekly[WEEKDAYS.index(day)] = (opens, closes)
    return weekly


def _closed_on(raw: Any) -> frozenset[dt.date]:
    if not isinstance(raw, list) or not all(isinstance(day, dt.date) for day in raw):
        raise KccConfigError("kcc.closed_on: a list of dates (2026-12-24)")
    return frozenset(raw)


def _queue_timeout(raw: Any) -> dt.timedelta:
    if raw is None:
        return DEFAULT_QUEUE_TIMEOUT
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise KccConfigError("kcc.queue_timeout_minutes: a whole number of minutes")
    if not 1 <= raw <= MAX_QUEUE_TIMEOUT_MINUTES:
        raise KccConfigError(
            f"kcc.queue_timeout_minutes: between 1 and {MAX_QUEUE_TIMEOUT_MINUTES}, got {raw}"
        )
    return dt.timedelta(minutes=raw)
