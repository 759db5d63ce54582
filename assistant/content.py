"""Facts per municipality (fees, opening hours, phone numbers, links) and national facts.

One trained model serves every municipality: the response texts in domain/*.yml hold
`{placeholders}` and the actions fill them with `Municipality.template_values()`. The facts live in
data files, one per municipality in `assistant/municipalities/<id>.yml` plus
`assistant/national.yml`, never in code.

Every fact carries the address of the page it was taken from and the date someone checked it there,
so `python -m assistant.freshness` can list what needs checking again. A file is validated as a
whole when it is loaded: a missing or misspelt key, an http link or a badly written fee stops the
assistant with a message naming the file and the key, instead of a resident reading a wrong answer.

File shape (facts grouped by the page they come from, so a source is written once):

    id: utrecht
    name: Utrecht
    sources:
      - source: https://www.utrecht.nl/over-deze-website/servicenormen
        checked: 2026-11-24        # or `unverified`: not confirmed in any source yet
        facts:
          contact.phone: "14 030"
          fees.paspoort.adult: 75.80   # euros, always two decimals
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from assistant.backends.config import BackendConfigError, BackendsConfig, parse_backends
from assistant.handoff.hours import Kcc, KccConfigError, parse_kcc

PACKAGE_DIR = Path(__file__).resolve().parent
# ASSISTANT_CONTENT_DIR: another folder of municipality files (a municipality's own checkout
# of its content, or the tests' copy with round-the-clock KCC hours).
MUNICIPALITIES_DIR = Path(os.environ.get("ASSISTANT_CONTENT_DIR") or PACKAGE_DIR / "municipalities")
NATIONAL_FILE = PACKAGE_DIR / "national.yml"

# `checked: unverified` in a file: the fact could not be confirmed in any source. It loads as the
# oldest possible date, so the freshness report always lists it.
UNVERIFIED = date.min
UNVERIFIED_MARK = "unverified"

REQUIRED_MUNICIPAL_KEYS: frozenset[str] = frozenset(
    {
        "contact.phone",
        "contact.phone_hours",
        "contact.form_url",
        "office.name",
        "office.address",
        "office.opening_hours",
        "kcc.phone",
        "kcc.hours",
        "fees.paspoort.adult",
        "fees.paspoort.child",
        "fees.paspoort.urgent",
        "fees.id_kaart.adult",
        "fees.id_kaart.child",
        "fees.rijbewijs.standard",
        "fees.rijbewijs.urgent",
        "documents.ready_days",
        "links.website",
        "links.appointment",
        "links.documents",
        "links.rijbewijs",
        "links.lost_document",
        "links.move",
        "links.waste",
        "links.bulky_waste",
        "links.permits",
        "links.parkeervergunning",
        "links.kapvergunning",
        "links.evenementenvergunning",
        "links.report",
        "links.complaint",
        "links.objection",
        "links.case_status",
    }
)

AGENCY_IDS: tuple[str, ...] = ("belastingdienst", "duo", "uwv", "svb", "rdw")
AGENCY_FIELDS: tuple[str, ...] = ("name", "phone", "url", "topics")

REQUIRED_NATIONAL_KEYS: frozenset[str] = frozenset(
    {
        "national.omgevingsloket",
        "national.rdw_rijbewijs_online",
        "national.rijksoverheid_documents",
        *(f"agency.{agency}.{name}" for agency in AGENCY_IDS for name in AGENCY_FIELDS),
    }
)

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


class ContentError(ValueError):
    """A content file is invalid. The message names the file and the key."""


class UnknownMunicipality(ValueError):
    """No content file exists for this municipality id."""


@dataclass(frozen=True)
class Fact:
    key: str  # e.g. "fees.paspoort.adult"
    value: str | Decimal | int
    source: str  # https URL of the page the value was taken from
    checked: date  # when it was checked there; UNVERIFIED if never


@dataclass(frozen=True)
class Municipality:
    id: str  # "utrecht"
    name: str  # "Utrecht"
    facts: Mapping[str, Fact]
    # The national facts this municipality's answers are filled with (loaded next to it).
    national: Mapping[str, Fact] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # Its back-office systems (assistant/backends/config.py); none: residents are sent to the
    # website and phone number for transactions.
    backends: BackendsConfig = field(default_factory=BackendsConfig, repr=False, compare=False)
    # When KCC employees take over chats (assistant/handoff/hours.py); none: no live handoff.
    kcc: Kcc | None = field(default=None, repr=False, compare=False)

    def template_values(self) -> dict[str, str]:
        """Every municipal and national fact, formatted for a Dutch reader, keyed for templates.

        "fees.paspoort.adult" becomes "fees_paspoort_adult" with a value like "€ 75,80";
        "municipality_name" is added.
        """
        values = {
            _template_key(key): format_value(fact.value) for key, fact in self.national.items()
        }
        values.update(
            {_template_key(key): format_value(fact.value) for key, fact in self.facts.items()}
        )
        values["municipality_name"] = self.name
        return values


def _template_key(key: str) -> str:
    return key.replace(".", "_")


def format_value(value: str | Decimal | int) -> str:
    """How a resident reads a fact: euros as "€ 1.234,50", everything else as written."""
    if isinstance(value, Decimal):
        # Python formats 1234.5 as "1,234.50"; Dutch swaps the separators.
        english = f"{value:,.2f}"
        return "€ " + english.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return str(value)


# --- loading -------------------------------------------------------------------------------------


def known_municipalities(directory: Path | None = None) -> frozenset[str]:
    """Ids of the municipality files in `directory` (default: assistant/municipalities/)."""
    folder = Path(directory) if directory is not None else MUNICIPALITIES_DIR
    if not folder.is_dir():
        return frozenset()
    return frozenset(
        path.stem for path in folder.glob("*.yml") if _ID_PATTERN.match(path.stem) is not None
    )


def known_municipality(requested: object) -> str | None:
    """The id a channel or slot asked for, if it names a shipped municipality (else None)."""
    if not isinstance(requested, str):
        return None
    candidate = requested.strip().lower()
    return candidate if candidate in known_municipalities() else None


def load_municipality(
    municipality_id: str, directory: Path | None = None, national_path: Path | None = None
) -> Municipality:
    """The validated facts of one municipality. Cached: each file is read once per process."""
    if not isinstance(municipality_id, str) or _ID_PATTERN.match(municipality_id) is None:
        raise UnknownMunicipality(f"Not a municipality id: {municipality_id!r}")
    folder = (Path(directory) if directory is not None else MUNICIPALITIES_DIR).resolve()
    national = (Path(national_path) if national_path is not None else NATIONAL_FILE).resolve()
    if not (folder / f"{municipality_id}.yml").is_file():
        known = ", ".join(sorted(known_municipalities(folder))) or "none"
        raise UnknownMunicipality(
            f"No content file for municipality {municipality_id!r} in {folder} (known: {known})"
        )
    return _load_municipality(municipality_id, folder, national)


def national_facts(path: Path | None = None) -> Mapping[str, Fact]:
    """The validated national facts (Omgevingsloket, RDW, other agencies). Cached."""
    return _load_national((Path(path) if path is not None else NATIONAL_FILE).resolve())


@lru_cache(maxsize=64)
def _load_municipality(municipality_id: str, folder: Path, national_path: Path) -> Municipality:
    path = folder / f"{municipality_id}.yml"
    document = _read_yaml(path)
    _check_top_level(
        path, document, {"id", "name", "sources"}, optional=frozenset({"backends", "kcc"})
    )
    file_id = _text(path, "id", document.get("id"))
    if file_id != municipality_id:
        raise ContentError(
            f"{path}: id: is {file_id!r}, but the file name says {municipality_id!r}"
        )
    name = _text(path, "name", document.get("name"))
    facts = _load_facts(path, document.get("sources"), REQUIRED_MUNICIPAL_KEYS)
    try:
        backends = parse_backends(document.get("backends"))
        kcc = parse_kcc(document.get("kcc"))
    except (BackendConfigError, KccConfigError) as error:
        raise ContentError(f"{path}: {error}") from None
    return Municipality(
        id=file_id,
        name=name,
        facts=facts,
        national=_load_national(national_path),
        backends=backends,
        kcc=kcc,
    )


@lru_cache(maxsize=8)
def _load_national(path: Path) -> Mapping[str, Fact]:
    document = _read_yaml(path)
    _check_top_level(path, document, {"sources"})
    return _load_facts(path, document.get("sources"), REQUIRED_NATIONAL_KEYS)


def _check_top_level(
    path: Path, document: Any, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    if not isinstance(document, dict):
        raise ContentError(f"{path}: the file must hold a mapping with {sorted(required)}")
    allowed = required | optional
    for key in document:
        if key not in allowed:
            raise ContentError(
                f"{path}: {key}: unknown key (allowed: {', '.join(sorted(allowed))})"
            )
    for key in required:
        if key not in document:
            raise ContentError(f"{path}: {key}: missing")


def _load_facts(path: Path, groups: Any, required: frozenset[str]) -> Mapping[str, Fact]:
    if not isinstance(groups, list) or not groups:
        raise ContentError(f"{path}: sources: must be a list of groups with source, checked, facts")
    facts: dict[str, Fact] = {}
    for number, group in enumerate(groups, start=1):
        where = f"sources[{number}]"
        if not isinstance(group, dict):
            raise ContentError(f"{path}: {where}: must be a mapping with source, checked, facts")
        for key in group:
            if key not in {"source", "checked", "facts"}:
                raise ContentError(
                    f"{path}: {where}.{key}: unknown key (allowed: source, checked, facts)"
                )
        entries = group.get("facts")
        if not isinstance(entries, dict) or not entries:
            raise ContentError(f"{path}: {where}.facts: must map fact keys to values")
        first_key = next(iter(entries))
        source = _https_url(path, f"{first_key} (source of {where})", group.get("source"))
        checked = _checked(path, f"{first_key} (checked of {where})", group.get("checked"))
        for key, raw in entries.items():
            if not isinstance(key, str) or key not in required:
                raise ContentError(f"{path}: {key}: unknown fact key (is it misspelt?)")
            if key in facts:
                raise ContentError(f"{path}: {key}: given twice")
            facts[key] = Fact(key=key, value=_value(path, key, raw), source=source, checked=checked)
    missing = sorted(required - facts.keys())
    if missing:
        raise ContentError(f"{path}: {missing[0]}: missing (all missing: {', '.join(missing)})")
    return MappingProxyType(dict(sorted(facts.items())))


# --- values --------------------------------------------------------------------------------------


def _kind(key: str) -> str:
    if key.startswith("fees."):
        return "fee"
    if key.startswith(("links.", "national.")) or key.endswith((".url", "_url")):
        return "url"
    return "text"


def _value(path: Path, key: str, raw: Any) -> str | Decimal:
    kind = _kind(key)
    if kind == "fee":
        return _fee(path, key, raw)
    if kind == "url":
        return _https_url(path, key, raw)
    return _text(path, key, raw)


def _fee(path: Path, key: str, raw: Any) -> Decimal:
    problem = "must be an amount in euros with two decimals, like 84.30 (not quoted, no €)"
    if not isinstance(raw, Decimal) or not raw.is_finite():
        raise ContentError(f"{path}: {key}: {problem}, got {raw!r}")
    if raw.as_tuple().exponent != -2:
        raise ContentError(f"{path}: {key}: {problem}, got {raw}")
    if raw < 0:
        raise ContentError(f"{path}: {key}: must not be negative, got {raw}")
    return raw


def _https_url(path: Path, key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.startswith("https://") or any(c.isspace() for c in raw):
        raise ContentError(f"{path}: {key}: must be an https:// address, got {raw!r}")
    if not urlsplit(raw).hostname:
        raise ContentError(f"{path}: {key}: has no host name: {raw!r}")
    return raw


def _text(path: Path, key: str, raw: Any) -> str:
    # Phone numbers are text too: YAML would read 14030 as a number and drop the spacing.
    if not isinstance(raw, str) or not raw.strip():
        raise ContentError(f"{path}: {key}: must be text in quotes, got {raw!r}")
    return raw.strip()


def _checked(path: Path, key: str, raw: Any) -> date:
    if raw == UNVERIFIED_MARK:
        return UNVERIFIED
    if not isinstance(raw, date) or isinstance(raw, datetime):
        raise ContentError(
            f"{path}: {key}: must be a date like 2026-11-24 or {UNVERIFIED_MARK!r}, got {raw!r}"
        )
    if raw > date.today():
        raise ContentError(f"{path}: {key}: {raw} is in the future")
    return raw


# --- YAML ----------------------------------------------------------------------------------------


class _ContentLoader(yaml.SafeLoader):
    """Safe YAML that keeps amounts exact and refuses a key written twice."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text  # e.g. ".inf": rejected with a clear message by the fee check


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_ContentLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_ContentLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ContentError(f"{path}: cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ContentError(f"{path}: is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_ContentLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ContentError(f"{path}: is not valid YAML: {error}") from None
