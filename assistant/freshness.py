"""Which facts are due for a new check: checked more than a year ago, or never verified.

Fees change every January and web pages move, so every fact in assistant/municipalities/*.yml and
assistant/national.yml records when it was last checked at its source. Run

    python -m assistant.freshness [--today 2026-11-24] [--max-age-days 365]

to print a table of the facts to check again, oldest first. The report is for the people who
maintain the content, so it is in English. It always exits 0 when the files are valid; an invalid
file exits 2 with the message naming the file and key.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from assistant.content import (
    UNVERIFIED,
    ContentError,
    Fact,
    known_municipalities,
    load_municipality,
    national_facts,
)

NATIONAL = "national"
DEFAULT_MAX_AGE_DAYS = 365


def stale_facts(
    today: date,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    *,
    municipalities_dir: Path | None = None,
    national_path: Path | None = None,
) -> list[tuple[str, Fact]]:
    """(municipality id or "national", fact) for every fact older than `max_age_days`.

    Never-verified facts come first, then the oldest; ties in file order by key.
    """
    if max_age_days < 0:
        raise ValueError(f"max_age_days must be 0 or more, got {max_age_days}")
    found: list[tuple[str, Fact]] = [
        (NATIONAL, fact)
        for fact in national_facts(national_path).values()
        if _is_stale(fact, today, max_age_days)
    ]
    for municipality_id in sorted(known_municipalities(municipalities_dir)):
        municipality = load_municipality(municipality_id, municipalities_dir, national_path)
        found.extend(
            (municipality_id, fact)
            for fact in municipality.facts.values()
            if _is_stale(fact, today, max_age_days)
        )
    return sorted(found, key=lambda item: (item[1].checked, item[0], item[1].key))


def _is_stale(fact: Fact, today: date, max_age_days: int) -> bool:
    return fact.checked == UNVERIFIED or (today - fact.checked).days > max_age_days


def render(stale: list[tuple[str, Fact]], today: date, max_age_days: int) -> str:
    if not stale:
        return f"All facts were checked within the last {max_age_days} days."
    rows = [("where", "key", "checked", "age (days)", "source")]
    for where, fact in stale:
        if fact.checked == UNVERIFIED:
            checked, age = "never", "-"
        else:
            checked, age = fact.checked.isoformat(), str((today - fact.checked).days)
        rows.append((where, fact.key, checked, age, fact.source))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
    never = sum(1 for _, fact in stale if fact.checked == UNVERIFIED)
    lines.append("")
    lines.append(
        f"{len(stale)} facts need checking: {never} never verified, "
        f"{len(stale) - never} checked more than {max_age_days} days ago."
    )
    return "\n".join(line.rstrip() for line in lines)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-11-24: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.freshness",
        description="List the content facts that were checked too long ago or never verified.",
    )
    parser.add_argument("--today", type=_date, default=date.today(), help="default: today")
    parser.add_argument(
        "--max-age-days",
        type=int,
        default=DEFAULT_MAX_AGE_DAYS,
        help=f"facts checked longer ago are listed (default {DEFAULT_MAX_AGE_DAYS})",
    )
    args = parser.parse_args(argv)
    if args.max_age_days < 0:
        parser.error("--max-age-days must be 0 or more")
    try:
        stale = stale_facts(args.today, args.max_age_days)
    except ContentError as error:
        print(f"Invalid content file: {error}", file=sys.stderr)
        return 2
    print(render(stale, args.today, args.max_age_days))
    return 0


if __name__ == "__main__":
    sys.exit(main())
