"""Which other government agency a question is for, when the municipality cannot answer it.

The out-of-scope action uses `detect_agency` to tell a resident where to go instead: the
Belastingdienst (taxes and toeslagen), DUO, UWV, SVB or RDW. Recognition is by keyword patterns on
normalised text (lower case, accents and hyphens removed), with word stems so "toeslagen",
"kentekens" and "werkloze" match as well as "toeslag", "kenteken" and "werkloos".

Some words look like another agency's topic but are municipal business; they veto that agency.
The municipality issues the driving licence (not the RDW), handles parking permits (with a
licence plate), municipal taxes such as OZB and WOZ (not the Belastingdienst) and bijstand (not
UWV). The agencies' names, phone numbers, links and topics come from assistant/national.yml.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.content import AGENCY_IDS, Fact, format_value, national_facts

# Longer texts are not questions; cap the work the patterns do on them.
MAX_TEXT_LENGTH = 1000


@dataclass(frozen=True)
class Agency:
    id: str  # "belastingdienst"
    name: str  # "de Belastingdienst"
    phone: str
    url: str
    topics: str  # "belastingen en toeslagen, zoals zorgtoeslag en huurtoeslag"


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b(?:{pattern})\b" for pattern in patterns))


_VEHICLE = r"auto|motor|motorfiets|scooter|brommer|bromfiets|caravan|aanhanger|aanhangwagen"
# Transferring, registering or suspending a vehicle is the RDW's business.
_VEHICLE_ACTION = r"overschrij\w*|op (?:mijn |zijn |haar )?naam|schorsen|geschorst"

# agency id -> (what points to it, what says the question is the municipality's after all)
_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "belastingdienst": (
        _words(
            r"belastingdienst",
            r"belasting ?telefoon",
            r"(?:zorg|huur|kinderopvang) ?toeslag(?:en)?",
            # "toeslag" alone, but not the surcharge for an urgent passport ("spoed toeslag").
            r"(?<!spoed )toeslag(?:en)?(?! (?:\w+ ){0,3}spoed)",
            r"kindgebonden budget",
            r"inkomsten ?belasting",
            r"belasting ?aangifte",
            r"aangifte (?:\w+ ){0,2}belasting(?:en)?",
            r"belasting ?(?:teruggave|aanslag)",
            r"voorlopige aanslag",
            r"btw",
            r"loonheffing(?:en)?",
            r"motorrijtuigenbelasting|wegenbelasting",
            r"belasting(?:en)?",
        ),
        _words(
            r"gemeente(?:lijke)? ?belasting(?:en)?",
            r"ozb|woz(?: ?waarde)?",
            r"honden ?belasting|toeristen ?belasting|parkeer ?belasting",
            r"afvalstoffen ?heffing|riool ?heffing",
        ),
    ),
    "duo": (
        _words(
            r"duo",
            r"studiefinanciering|stufi",
            r"studie ?(?:schuld|schulden|lening|voorschot)",
            r"(?:basis|aanvullende) ?beurs",
            r"studenten ?(?:ov|reisproduct|ov ?chipkaart)",
            r"ov ?studentenkaart|studentenkaart",
            r"collegegeldkrediet|lesgeld",
            r"tegemoetkoming studiekosten",
        ),
        None,
    ),
    "uwv": (
        _words(
            r"uwv",
            r"ww(?: ?uitkering)?",
            r"werkloosheids ?uitkering|werkloos(?:heid)?|werkloze",
            r"ontslag(?:en)?",
            r"wia|wao|wga|wajong",
            r"ziekte ?wet",
            r"arbeidsongeschikt(?:heid)?",
            r"zwangerschaps ?verlof|bevallings ?verlof",
            r"werk\.nl",
        ),
        _words(r"bijstand(?:s ?uitkering)?", r"participatiewet", r"bbz"),
    ),
    "svb": (
        _words(
            r"svb|sociale verzekeringsbank",
            r"aow(?: ?(?:uitkering|leeftijd|pensioen))?",
            r"kinderbijslag",
            r"anw|nabestaanden ?uitkering|wezen ?uitkering",
        ),
        None,
    ),
    "rdw": (
        _words(
            r"rdw",
            r"kenteken(?:s|bewijs|card|plaat|platen)?",
            r"apk(?: ?keuring)?",
            r"voertuig(?:en)?",
            r"tenaamstelling|vrijwaringsbewijs|kilometerstand",
            rf"(?:{_VEHICLE})\b.{{0,40}}\b(?:{_VEHICLE_ACTION})",
            rf"(?:{_VEHICLE_ACTION})\b.{{0,40}}\b(?:{_VEHICLE})",
        ),
        _words(
            r"rijbewijs\w*",
            r"parkeer\w*",
            r"gehandicapten ?parkeerkaart",
            r"milieu ?zone",
        ),
    ),
}


def normalise(text: str) -> str:
    """Lower case, without accents, hyphens or repeated spaces: "Zórg-toeslag" -> "zorg toeslag"."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT_LENGTH])
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[\s\-_/]+", " ", plain.lower()).strip()


def detect_agency(text: str, agencies: Mapping[str, Agency] | None = None) -> Agency | None:
    """The agency a question is for, or None when it is not recognisably another agency's.

    When several agencies match, the one with most matching words wins; on a tie, the one
    mentioned first.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    plain = normalise(text)
    best: tuple[int, int, str] | None = None  # (-hits, first position, id)
    for agency_id, (pattern, veto) in _RULES.items():
        if veto is not None and veto.search(plain):
            continue
        matches = list(pattern.finditer(plain))
        if not matches:
            continue
        candidate = (-len(matches), matches[0].start(), agency_id)
        if best is None or candidate < best:
            best = candidate
    if best is None:
        return None
    return (agencies if agencies is not None else load_agencies())[best[2]]


def load_agencies(national_path: Path | None = None) -> dict[str, Agency]:
    """The agencies as described in national.yml (validated there, cached by the loader)."""
    return agencies_from_facts(national_facts(national_path))


def agencies_from_facts(facts: Mapping[str, Fact]) -> dict[str, Agency]:
    def field(agency_id: str, name: str) -> str:
        return format_value(facts[f"agency.{agency_id}.{name}"].value)

    return {
        agency_id: Agency(
            id=agency_id,
            name=field(agency_id, "name"),
            phone=field(agency_id, "phone"),
            url=field(agency_id, "url"),
            topics=field(agency_id, "topics"),
        )
        for agency_id in AGENCY_IDS
    }
