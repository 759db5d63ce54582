"""When KCC employees take over chats: a municipality's weekly hours, holidays and closing days.

Configured in the municipality's content file, beside its facts:

```yaml
kcc:
  hours:                      # Europe/Amsterdam; a day left out is closed
    monday: "09:00-17:00"
    wednesday: "09:00-13:00"
  closed_on: [2026-12-24]     # extra closing days besides the public holidays
  queue_timeout_minutes: 5    # then the resident is offered a callback instead
```

Public holidays are closed everywhere (`assistant.backends.appointments.calendar`). A callback
requested outside hours is due on the next working day, which `next_opening` gives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from assistant.backends.appointments.calendar import AMSTERDAM, public_holidays

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_QUEUE_TIMEOUT = dt.timedelta(minutes=5)
MAX_QUEUE_TIMEOUT_MINUTES = 120
_SPAN = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")
# How far ahead `next_opening` looks; a year without any opening is a configuration error.
_SEARCH_DAYS = 366


class KccConfigError(ValueError):
    """The `kcc:` section of a content file is not usable; the message names the key."""


@dataclass(frozen=True)
class KccHours:
    """When the KCC answers chats. `weekly` maps a weekday (0 = Monday) to opening and closing."""

    weekly: Mapping[int, tuple[dt.time, dt.time]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    closed_on: frozenset[dt.date] = frozenset()
    queue_timeout: dt.timedelta = DEFAULT_QUEUE_TIMEOUT

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

    def _span(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        if day in self.closed_on or day in public_holidays(day.year):
            return None
        return self.weekly.get(day.weekday())


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(AMSTERDAM)


def parse_kcc(raw: Any) -> KccHours | None:
    """The `kcc:` section of a content file; None when there is none (no live handoff: the
    resident is given the phone number and contact form)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise KccConfigError(
            "kcc: must be a mapping with hours (and closed_on, queue_timeout_minutes)"
        )
    unknown = set(raw) - {"hours", "closed_on", "queue_timeout_minutes"}
    if unknown:
        raise KccConfigError(f"kcc: unknown key(s) {sorted(unknown)}")
    return KccHours(
        weekly=MappingProxyType(_weekly(raw.get("hours"))),
        closed_on=_closed_on(raw.get("closed_on", [])),
        queue_timeout=_queue_timeout(raw.get("queue_timeout_minutes")),
    )


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
        closes = dt.time(int(match[3]), int(match[4]))
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
