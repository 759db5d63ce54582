"""Reading a resident's choice of product, location and moment against what the backend offers.

Everything here is pure: the lists come from the appointment system, the words from the
resident, so the matching is tested without a conversation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from assistant.backends.appointments.base import Location, Product
from assistant.dutch_time import day_in_words, time_in_words
from assistant.when import AMSTERDAM, When, in_daypart, nearest

# How far ahead residents can book online; the sandboxes offer six weeks.
HORIZON_DAYS = 42
# Days whose times are read when the resident named a time or daypart but no day.
DAYS_TO_SEARCH = 5
MAX_BUTTONS = 4

# The document words in product names ("Paspoort aanvragen"), by the `document` slot's values.
DOCUMENT_WORDS = {
    "paspoort": ("paspoort", "reispas"),
    "id_kaart": ("idkaart", "identiteitskaart"),
    "rijbewijs": ("rijbewijs",),
}
_PICKUP = re.compile(r"\b(?:op ?halen|afhalen|ophaal\w*|klaar|ligt klaar)\b")
_APPLY = re.compile(r"\b(?:aan ?vra\w*|verleng\w*|nieuw\w*|vervang\w*)\b")


def _plain(text: str) -> str:
    """Lower case without dashes, so "ID-kaart", "id kaart" and "idkaart" read the same."""
    return re.sub(r"(?<=\bid)[\s-]+(?=kaart)", "", text.casefold()).replace("-", " ")


def document_in(text: str) -> str | None:
    plain = _plain(text)
    return next(
        (doc for doc, words in DOCUMENT_WORDS.items() if any(w in plain for w in words)), None
    )


def wants_pickup(text: str) -> bool | None:
    """True for collecting a document, False for applying, None when the words do not say."""
    plain = _plain(text)
    if _PICKUP.search(plain):
        return True
    return False if _APPLY.search(plain) else None


def product_for(
    products: Sequence[Product], document: str | None, pickup: bool | None
) -> Product | None:
    """The product for `document`: applying unless collecting was said. None if not offered."""
    if document is None:
        return None
    words = DOCUMENT_WORDS[document]
    offered = [p for p in products if any(w in _plain(p.name) for w in words)]
    collect = [p for p in offered if _PICKUP.search(_plain(p.name))]
    apply = [p for p in offered if p not in collect]
    if pickup is None and len(offered) == 1:
        return offered[0]
    chosen = collect if pickup else apply
    return chosen[0] if chosen else None


def product_named(products: Sequence[Product], text: str) -> Product | None:
    """The product whose name the resident typed or whose button they pressed."""
    plain = _plain(text).strip()
    exact = [p for p in products if _plain(p.name) == plain]
    if exact:
        return exact[0]
    return product_for(products, document_in(text), wants_pickup(text))


def location_named(locations: Sequence[Location], text: str) -> Location | None:
    """The location named by its name, street or city word; None when none or several fit."""
    plain = _plain(text)
    exact = [loc for loc in locations if _plain(loc.name) == plain.strip()]
    if exact:
        return exact[0]
    words = set(re.findall(r"\w{4,}", plain))
    fitting = [
        loc
        for loc in locations
        if words & set(re.findall(r"\w{4,}", _plain(f"{loc.name} {loc.address}")))
    ]
    return fitting[0] if len(fitting) == 1 else None


def day_button(day: dt.date, today: dt.date) -> dict[str, str]:
    """A button for a day; its payload is the same words, read like typed text."""
    words = day_in_words(day, today)
    return {"title": words, "payload": words}


def time_button(moment: dt.datetime, today: dt.date) -> dict[str, str]:
    """A button for a time; the payload names the day too, so it is read right on any turn."""
    local = moment.astimezone(AMSTERDAM)
    return {
        "title": time_in_words(local),
        "payload": f"{day_in_words(local.date(), today)} om {local:%H:%M}",
    }


def nearest_days(days: Sequence[dt.date], wanted: dt.date | None) -> list[dt.date]:
    """Up to MAX_BUTTONS free days, those closest to `wanted` first (earliest without one)."""
    if wanted is None:
        return list(days[:MAX_BUTTONS])
    return sorted(days, key=lambda day: (abs((day - wanted).days), day))[:MAX_BUTTONS]


def fitting_times(times: Sequence[dt.datetime], wanted: When) -> list[dt.datetime]:
    """Up to MAX_BUTTONS times closest to what was asked, in clock order."""
    return sorted(nearest(wanted, times, MAX_BUTTONS))


def exact_time(times: Sequence[dt.datetime], wanted: dt.time) -> dt.datetime | None:
    return next(
        (t for t in times if t.astimezone(AMSTERDAM).time().replace(tzinfo=None) == wanted), None
    )


def in_part(times: Sequence[dt.datetime], wanted: When) -> list[dt.datetime]:
    if wanted.daypart is None:
        return list(times)
    return [t for t in times if in_daypart(t.astimezone(AMSTERDAM).time(), wanted.daypart)]


def spoken_time(moment: dt.datetime) -> str:
    return time_in_words(moment.astimezone(AMSTERDAM))


def place(location: Location) -> str:
    """The location as a resident reads it: "Stadskantoor, Stadsplateau 1, Utrecht"."""
    return ", ".join(part for part in (location.name, location.address, location.city) if part)
