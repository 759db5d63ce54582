"""Where something is, as a resident types it: a street and house number, or a postcode and
house number ("Oudegracht 12", "bij de Neude 11", "3511 AB 12", "Kerkstraat 5a, 3511 AB").

Used by the public-space report, where the answer to "waar is het?" arrives as free text. No
street register is consulted here: the reader only separates what was typed into street, house
number and postcode, and the resident confirms the summary. The back office (Signalen checks an
address against PDOK) has the last word.

The house number is the last number in the text that is not part of the postcode, so "2e
Daalsedijk 12" is number 12. The street is what precedes it within its clause, after the last
preposition ("het is bij de Oudegracht 12" -> "Oudegracht"). A street without a number, or a
postcode without one, is a partial answer: the form then asks for the house number only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

POSTCODE = re.compile(r"(?<![\w-])([1-9]\d{3})\s?([a-zA-Z]{2})(?![\w-])")
# Letters no postcode uses (PostNL leaves out SA, SD and SS).
_NO_POSTCODE_LETTERS = frozenset({"SA", "SD", "SS"})
HOUSE_NUMBER = re.compile(
    r"(?<![\w-])(?:(?:huis)?nummer|nr\.?|no\.?)?\s*"
    r"(\d{1,5})(?:\s?-\s?([a-zA-Z0-9]{1,4})|\s?([a-zA-Z]))?(?![\w-])",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;:!?()\n]|\.(?:\s|$)")
# Abbreviations in street names ("Burg. de Withstraat") whose dot ends no sentence.
_ABBREVIATION = re.compile(r"\b(burg|prof|dr|mr|st|ir|ds|mgr|gen|jhr|kon|pres)\.\s", re.I)
_PREPOSITION = (
    r"bij|op|aan|in|naast|tegenover|voor|achter|vlakbij|dichtbij|nabij|ter hoogte van|hoek"
    r"|richting|langs|tussen|vanaf"
)  # not "van": "Laan van Meerdervoort" is a street
# The street starts after the last preposition; articles after it are not part of it.
_LAST_PREPOSITION = re.compile(rf"^.*\b(?:{_PREPOSITION})\s+(?:(?:de|het|'t)\s+)?", re.I)
_PREPOSITION_WORD = re.compile(_PREPOSITION, re.IGNORECASE)
_FILLER = re.compile(
    r"^(?:(?:het|dat|die|is|ligt|staat|zit|zat|was|adres|straat|ongeveer|in de)\s+)+", re.I
)
_NUMBER_WORD = re.compile(r"\s+(?:huis)?(?:nummer|nr\.?|no\.?)$", re.IGNORECASE)
_STREET = re.compile(r"(?:\d{1,3}e\s+|'[st]\s+)?[^\W\d_][\w'’.-]*(?:\s+[^\W\d_]?[\w'’.-]*)*")
# "de deur van Kerkstraat 12": a lower-case noun and "van" before the street.
_NOUN_VAN = re.compile(r"^[a-z][a-z ]* van\s+(?=\S+$)")
# A street said without a number is recognised by how Dutch street names end.
_STREET_ENDING = re.compile(
    r"(?:straat|laan|weg|plein|gracht|kade|dijk|singel|steeg|pad|park|hof|dreef|markt|baan|wal"
    r"|veld|haven|boulevard|allee|dam|brug|ring|erf|plantsoen|burgwal|vaart|wetering|kamp"
    r"|weide|zijde|poort|oord|plaats|kanaal|promenade|passage|boog|hoven|tuin|straatje)$",
    re.IGNORECASE,
)
_PARTICLES = frozenset({"van", "de", "der", "den", "het", "'t", "aan", "op", "in", "bij"})
_PARTICLES |= frozenset({"naar", "ter", "ten", "te", "en", "over", "achter", "voor", "tot"})
_NOT_STREETS = frozenset({"huisnummer", "nummer", "postcode", "weet ik niet", "geen", "nee"})
# Words of a sentence around a number ("er liggen 3 zakken"), never of a street name.
_NOT_STREET_WORDS = frozenset(
    {"er", "is", "zijn", "ligt", "liggen", "staat", "staan", "zit", "mijn", "uw", "ik", "wij"}
    | {"we", "en", "of", "huisnummer", "nummer", "postcode", "adres", "niet", "wel", "heb"}
    | {"hebben", "kapot", "weet", "al", "sinds", "dagen", "weken", "zakken", "stuks", "keer"}
)
MAX_STREET = 80


@dataclass(frozen=True)
class Address:
    """What was typed, in canonical form: postcode "3511AB", house number "12a" or "12-2"."""

    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None

    @property
    def complete(self) -> bool:
        """A house number with a street or a postcode: enough to find the spot."""
        return bool(self.house_number and (self.street or self.postcode))

    @property
    def partial(self) -> bool:
        """A street or a postcode without a house number: ask for the number."""
        return not self.house_number and bool(self.street or self.postcode)

    def completed_by(self, later: Address) -> Address:
        """This partial answer with the house number given afterwards ("12")."""
        if later.street or later.postcode:
            return later
        return Address(self.street, later.house_number, self.postcode)

    def in_words(self) -> str:
        """ "Oudegracht 12, 3511 AB", "Oudegracht 12" or "postcode 3511 AB, huisnummer 12"."""
        postcode = f"{self.postcode[:4]} {self.postcode[4:]}" if self.postcode else ""
        if self.street:
            street = " ".join(part for part in (self.street, self.house_number) if part)
            return ", ".join(part for part in (street, postcode) if part)
        parts = (
            f"postcode {postcode}" if postcode else "",
            f"huisnummer {self.house_number}" if self.house_number else "",
        )
        return ", ".join(part for part in parts if part)

    def as_slot(self) -> dict[str, str | None]:
        return {"street": self.street, "house_number": self.house_number, "postcode": self.postcode}

    @classmethod
    def from_slot(cls, value: Any) -> Address | None:
        """The address a slot holds (`as_slot`), or None for anything else."""
        if not isinstance(value, dict):
            return None
        fields = {key: value.get(key) for key in ("street", "house_number", "postcode")}
        if not all(item is None or isinstance(item, str) for item in fields.values()):
            return None
        address = cls(**fields)
        return address if address.complete or address.partial else None


def postcode_in(text: str) -> str | None:
    """The postcode in `text` as "3511AB"; None when there is none."""
    match = _postcode_match(text)
    return f"{match.group(1)}{match.group(2).upper()}" if match else None


def _postcode_match(text: str) -> re.Match[str] | None:
    for match in POSTCODE.finditer(text):
        if match.group(2).upper() not in _NO_POSTCODE_LETTERS:
            return match
    return None


def address_in(text: str) -> Address | None:
    """The street, house number and postcode in `text`, as far as given; None when it holds
    none of them. A bare number ("12") is an `Address` with only a house number."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = " ".join(text.split())
    postcode_match = _postcode_match(text)
    postcode = None
    if postcode_match:
        postcode = f"{postcode_match.group(1)}{postcode_match.group(2).upper()}"
        start, end = postcode_match.span()
        text = f"{text[:start]}, {text[end:]}"
    numbers = list(HOUSE_NUMBER.finditer(text))
    number = numbers[-1] if numbers else None
    if number is None:
        street = _street(text) if _STREET_ENDING.search(_street(text) or "") else None
        return Address(street, None, postcode) if street or postcode else None
    house_number = number.group(1).lstrip("0") or None
    if house_number and number.group(2):
        house_number += f"-{number.group(2).upper()}"
    elif house_number and number.group(3):
        house_number += number.group(3).lower()
    street = _street(text[: number.start()])
    if street is None and not postcode:  # "nummer 12 aan de Kerkstraat"
        after = _street(text[number.end() :])
        street = after if after and _STREET_ENDING.search(after) else None
    return Address(street, house_number, postcode)


def _street(before: str) -> str | None:
    """The street name at the end of `before` (the text before the house number)."""
    protected = _ABBREVIATION.sub(lambda match: f"{match.group(1)}\x00 ", before)
    clause = _CLAUSE.split(protected)[-1].replace("\x00", ".").strip()
    clause = _NUMBER_WORD.sub("", clause)
    cut = _LAST_PREPOSITION.sub("", clause)
    if cut != clause and cut.strip():
        clause = cut
    clause = _FILLER.sub("", clause).strip(" -")
    if _STREET_ENDING.search(clause):
        clause = _NOUN_VAN.sub("", clause)
    if not clause or len(clause) > MAX_STREET or clause.lower() in _NOT_STREETS:
        return None
    words = clause.lower().split()
    if any(word in _NOT_STREET_WORDS for word in words):
        return None
    if all(word in _PARTICLES or _PREPOSITION_WORD.fullmatch(word) for word in words):
        return None  # "op" in "op nummer 12": no street
    if not _STREET.fullmatch(clause) or len(clause.split()) > 6:
        return None
    if clause == clause.lower():
        clause = " ".join(
            word if index and word in _PARTICLES else word[:1].upper() + word[1:]
            for index, word in enumerate(clause.split())
        )
    return clause


@dataclass(frozen=True)
class SharedLocation:
    """A place a resident shared from their phone (WhatsApp's location message): a point in
    WGS84, with the name or address the app added when the resident picked a place."""

    latitude: float
    longitude: float
    label: str | None = None

    complete = True  # a point is enough to find the spot, like a whole address

    def in_words(self) -> str:
        return self.label or "de plek die u deelde"

    def as_slot(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude, "label": self.label}

    @classmethod
    def from_slot(cls, value: Any) -> SharedLocation | None:
        """The location a slot or a message's metadata holds, or None for anything else
        (including coordinates outside their ranges)."""
        if not isinstance(value, dict):
            return None
        latitude, longitude = value.get("latitude"), value.get("longitude")
        if not all(
            isinstance(number, int | float) and not isinstance(number, bool)
            for number in (latitude, longitude)
        ):
            return None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return None
        label = value.get("label")
        return cls(float(latitude), float(longitude), label if isinstance(label, str) else None)

    @classmethod
    def from_metadata(cls, metadata: Any) -> SharedLocation | None:
        """The location a channel put in a message's metadata (`location`: latitude, longitude
        and the app's optional `name` and `address`)."""
        shared = metadata.get("location") if isinstance(metadata, dict) else None
        if not isinstance(shared, dict):
            return None
        words = ", ".join(
            part.strip()
            for part in (shared.get("name"), shared.get("address"))
            if isinstance(part, str) and part.strip()
        )
        return cls.from_slot({**shared, "label": words[: MAX_STREET * 2] or None})


def place_from_slot(value: Any) -> Address | SharedLocation | None:
    """What the report's place slot holds: a typed address or a shared location."""
    return SharedLocation.from_slot(value) or Address.from_slot(value)
