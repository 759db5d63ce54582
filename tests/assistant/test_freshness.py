"""The freshness report lists facts checked more than a year ago, and only those."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from assistant.content import NATIONAL_FILE, REQUIRED_MUNICIPAL_KEYS, UNVERIFIED
from assistant.freshness import render, stale_facts

REPO_ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 24)


def write_municipality(folder: Path, municipality_id: str, checked: str) -> None:
    """A valid municipality file whose facts were all checked on `checked`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"id: {municipality_id}",
        f"name: {municipality_id.capitalize()}",
        "sources:",
        "  - source: https://www.example.nl/bron",
        f"    checked: {checked}",
        "    facts:",
    ]
    for key in sorted(REQUIRED_MUNICIPAL_KEYS):
        if key.startswith("fees."):
            value = "10.00"
        elif key.startswith("links.") or key.endswith("_url"):
            value = '"https://www.example.nl/pagina"'
        else:
            value = '"tekst"'
        lines.append(f"      {key}: {value}")
    (folder / f"{municipality_id}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _municipality_keys(stale: list, municipality_id: str) -> set[str]:
    return {fact.key for where, fact in stale if where == municipality_id}


def _write_two_ages(folder: Path) -> None:
    """One municipality checked 13 months ago, another checked last month."""
    write_municipality(folder / "munis", "oud", checked="2025-10-20")
    write_municipality(folder / "munis", "nieuw", checked="2026-10-20")


def test_fact_checked_thirteen_months_ago_is_listed_and_last_month_is_not(tmp_path: Path) -> None:
    _write_two_ages(tmp_path)

    stale = stale_facts(TODAY, municipalities_dir=tmp_path / "munis", national_path=NATIONAL_FILE)

    assert "kcc.phone" in _municipality_keys(stale, "oud")
    assert _municipality_keys(stale, "nieuw") == set()


def test_shorter_maximum_age_lists_more(tmp_path: Path) -> None:
    _write_two_ages(tmp_path)

    stale = stale_facts(TODAY, 14, municipalities_dir=tmp_path / "munis")

    assert "kcc.phone" in _municipality_keys(stale, "nieuw")


def test_never_verified_facts_are_always_listed_first(tmp_path: Path) -> None:
    write_municipality(tmp_path / "munis", "vaag", checked="unverified")

    stale = stale_facts(TODAY, 100_000, municipalities_dir=tmp_path / "munis")

    assert "kcc.phone" in _municipality_keys(stale, "vaag")
    assert stale[0][1].checked == UNVERIFIED


def test_report_shows_place_key_date_and_source(tmp_path: Path) -> None:
    _write_two_ages(tmp_path)
    stale = stale_facts(TODAY, municipalities_dir=tmp_path / "munis")

    report = render(stale, TODAY, 365)

    row = next(
        line for line in report.splitlines() if line.startswith("oud") and "kcc.phone" in line
    )
    assert "2025-10-20" in row
    assert "https://www.example.nl/bron" in row
    assert "never" in report  # the shipped national file has unverified phone numbers
    assert "facts need checking" in report


def test_report_says_so_when_everything_is_fresh() -> None:
    assert render([], TODAY, 365) == "All facts were checked within the last 365 days."


def test_shipped_content_flags_the_old_tariffs() -> None:
    stale = stale_facts(TODAY)

    # Utrecht's only published tariff is from 2022; it must show up for a new check.
    assert "fees.paspoort.adult" in _municipality_keys(stale, "utrecht")
    # ...while a fact read in a current source this year is not listed.
    assert "contact.phone" not in _municipality_keys(stale, "utrecht")


def test_command_line_prints_the_table_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assistant.freshness", "--today", TODAY.isoformat()],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "fees.paspoort.adult" in result.stdout
    assert "facts need checking" in result.stdout


def test_command_line_refuses_a_bad_date_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assistant.freshness", "--today", "gisteren"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "2026-11-24" in result.stderr
