"""Content per municipality: shipped files load and fill every answer; bad files are refused."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.content import (
    NATIONAL_FILE,
    REQUIRED_MUNICIPAL_KEYS,
    REQUIRED_NATIONAL_KEYS,
    UNVERIFIED,
    ContentError,
    UnknownMunicipality,
    format_value,
    known_municipalities,
    load_municipality,
    national_facts,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("utrecht", "zwolle")


def test_both_shipped_municipalities_are_known() -> None:
    assert set(SHIPPED) <= known_municipalities()


@pytest.mark.parametrize("municipality_id", SHIPPED)
def test_shipped_municipality_has_every_required_fact_with_source_and_date(
    municipality_id: str,
) -> None:
    municipality = load_municipality(municipality_id)

    assert municipality.id == municipality_id
    assert municipality.name == municipality_id.capitalize()
    assert set(municipality.facts) == REQUIRED_MUNICIPAL_KEYS
    for fact in municipality.facts.values():
        assert fact.source.startswith("https://")
        assert fact.checked <= date.today()


@pytest.mark.parametrize("municipality_id", SHIPPED)
def test_template_values_hold_every_municipal_and_national_fact(municipality_id: str) -> None:
    values = load_municipality(municipality_id).template_values()

    expected = {key.replace(".", "_") for key in REQUIRED_MUNICIPAL_KEYS | REQUIRED_NATIONAL_KEYS}
    assert expected | {"municipality_name"} == set(values)
    assert all(isinstance(value, str) and value for value in values.values())
    assert re.fullmatch(r"€ \d+,\d\d", values["fees_paspoort_adult"])
    assert values["national_omgevingsloket"].startswith("https://")


def test_the_same_answer_differs_per_municipality() -> None:
    utrecht = load_municipality("utrecht").template_values()
    zwolle = load_municipality("zwolle").template_values()

    assert utrecht["kcc_phone"] == "14 030"
    assert zwolle["kcc_phone"] == "14 038"
    assert utrecht["fees_paspoort_adult"] != zwolle["fees_paspoort_adult"]
    assert utrecht["municipality_name"] == "Utrecht"
    assert zwolle["municipality_name"] == "Zwolle"
    # National facts are shared.
    assert utrecht["national_omgevingsloket"] == zwolle["national_omgevingsloket"]


def test_fees_are_written_the_dutch_way() -> None:
    assert format_value(Decimal("84.30")) == "€ 84,30"
    assert format_value(Decimal("0.00")) == "€ 0,00"
    assert format_value(Decimal("1234.50")) == "€ 1.234,50"
    assert format_value("14 030") == "14 030"


def test_unknown_municipality_is_refused() -> None:
    with pytest.raises(UnknownMunicipality, match="amsterdam"):
        load_municipality("amsterdam")
    # Not an id at all: never turned into a file path.
    with pytest.raises(UnknownMunicipality):
        load_municipality("../national")
    assert issubclass(UnknownMunicipality, ValueError)


def test_national_facts_cover_every_agency() -> None:
    facts = national_facts()
    assert set(facts) == REQUIRED_NATIONAL_KEYS
    assert facts["agency.belastingdienst.phone"].value == "0800 0543"


# --- invalid files -------------------------------------------------------------------------------

GOOD_FACTS = {
    key: (
        Decimal("12.50")
        if key.startswith("fees.")
        else "https://www.example.nl/" + key.replace(".", "-")
        if key.startswith("links.") or key.endswith("_url")
        else "tekst"
    )
    for key in REQUIRED_MUNICIPAL_KEYS
}


def _yaml_value(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    return f'"{value}"'


def write_municipality(
    folder: Path,
    facts: dict[str, object] | None = None,
    *,
    source: str = "https://www.example.nl/bron",
    checked: str = "2026-01-15",
    municipality_id: str = "testdorp",
) -> Path:
    """A municipality file as a maintainer writes it, with one fact or another made wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"id: {municipality_id}",
        "name: Testdorp",
        "sources:",
        f"  - source: {source}",
        f"    checked: {checked}",
        "    facts:",
    ]
    lines += [f"      {key}: {_yaml_value(value)}" for key, value in (facts or GOOD_FACTS).items()]
    path = folder / f"{municipality_id}.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_valid_file_in_another_directory_loads(tmp_path: Path) -> None:
    write_municipality(tmp_path)

    assert known_municipalities(tmp_path) == {"testdorp"}
    municipality = load_municipality("testdorp", tmp_path, NATIONAL_FILE)
    assert municipality.facts["fees.paspoort.adult"].value == Decimal("12.50")
    assert municipality.facts["kcc.phone"].source == "https://www.example.nl/bron"
    assert municipality.facts["kcc.phone"].checked == date(2026, 1, 15)
    assert municipality.template_values()["fees_paspoort_adult"] == "€ 12,50"


def test_unverified_facts_load_as_never_checked(tmp_path: Path) -> None:
    write_municipality(tmp_path, checked="unverified")

    fact = load_municipality("testdorp", tmp_path).facts["kcc.phone"]
    assert fact.checked == UNVERIFIED


def _refused(folder: Path) -> str:
    with pytest.raises(ContentError) as raised:
        load_municipality("testdorp", folder)
    message = str(raised.value)
    assert "testdorp.yml" in message
    return message


def test_missing_fact_is_refused_naming_the_key(tmp_path: Path) -> None:
    facts = {key: value for key, value in GOOD_FACTS.items() if key != "kcc.hours"}
    write_municipality(tmp_path, facts)

    assert "kcc.hours" in _refused(tmp_path)


def test_misspelt_fact_key_is_refused(tmp_path: Path) -> None:
    facts = dict(GOOD_FACTS)
    facts["links.parkeervergunnnig"] = "https://www.example.nl/parkeren"
    write_municipality(tmp_path, facts)

    assert "links.parkeervergunnnig" in _refused(tmp_path)


def test_fact_key_written_twice_is_refused(tmp_path: Path) -> None:
    path = write_municipality(tmp_path)
    path.write_text(path.read_text() + '      kcc.phone: "14 000"\n', encoding="utf-8")

    assert "kcc.phone" in _refused(tmp_path)


def test_http_link_is_refused(tmp_path: Path) -> None:
    facts = dict(GOOD_FACTS)
    facts["links.waste"] = "http://www.example.nl/afval"
    write_municipality(tmp_path, facts)

    assert "links.waste" in _refused(tmp_path)


def test_http_source_is_refused(tmp_path: Path) -> None:
    write_municipality(tmp_path, source="http://www.example.nl/bron")

    assert "source" in _refused(tmp_path)


def test_check_date_in_the_future_is_refused(tmp_path: Path) -> None:
    tomorrow = date.today() + timedelta(days=1)
    write_municipality(tmp_path, checked=tomorrow.isoformat())

    assert "future" in _refused(tmp_path)


def test_check_date_that_is_not_a_date_is_refused(tmp_path: Path) -> None:
    write_municipality(tmp_path, checked="last week")

    assert "checked" in _refused(tmp_path)


@pytest.mark.parametrize("bad_fee", ["84.3", "84", '"84,30"', '"€ 84,30"', "-1.00", ".inf"])
def test_badly_written_fee_is_refused(tmp_path: Path, bad_fee: str) -> None:
    path = write_municipality(tmp_path)
    text = path.read_text().replace("fees.paspoort.child: 12.50", f"fees.paspoort.child: {bad_fee}")
    path.write_text(text, encoding="utf-8")

    assert "fees.paspoort.child" in _refused(tmp_path)


def test_phone_number_written_as_a_number_is_refused(tmp_path: Path) -> None:
    path = write_municipality(tmp_path)
    path.write_text(path.read_text().replace('kcc.phone: "tekst"', "kcc.phone: 14030"))

    assert "kcc.phone" in _refused(tmp_path)


def test_file_whose_id_does_not_match_its_name_is_refused(tmp_path: Path) -> None:
    path = write_municipality(tmp_path)
    path.write_text(path.read_text().replace("id: testdorp", "id: anderdorp"), encoding="utf-8")

    assert "anderdorp" in _refused(tmp_path)


def test_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "testdorp.yml").write_text("id: [unclosed\n", encoding="utf-8")

    assert "YAML" in _refused(tmp_path)
