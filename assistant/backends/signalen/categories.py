"""Choose a Signalen sub-category from what the resident wrote: a deliberately small keyword table.

Why a table and not a model: Signalen's own suggestion endpoint (`POST /signals/category/
prediction`) is a proxy to Amsterdam's ML tool, not something every municipality runs, and a
wrong guess from a model cannot be explained to anyone. A keyword table is predictable, testable
and reviewable by the people who route meldingen. It covers the reports residents make most
(street lights, paving, litter, trees, playgrounds, vermin, wrecks); anything else goes to
"overig", which the back office re-routes by hand anyway, exactly as it does for web-form
meldingen. When one kind of melding keeps landing in "overig", add a row here.

Slugs follow Amsterdam's category tree. Another municipality's Signalen may differ; the
ReportService resolves a slug against the categories the server actually offers and falls back
to "overig" there too.

Matching: each keyword is a regular expression that must start at a word start, so "boom"
matches "boomtak" but not "slagboom", and "rat" never matches "straat". The row with the most
distinct keyword hits wins; on a tie the earlier row wins, so more specific rows come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class CategoryRule:
    main_slug: str
    sub_slug: str
    keywords: tuple[str, ...]

    def hits(self, text: str) -> int:
        return sum(1 for pattern in self._patterns if pattern.search(text))

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(rf"\b(?:{keyword})") for keyword in self.keywords)


FALLBACK = CategoryRule("overig", "overig", ())

# Order matters on ties: rats by the bins are a rat report, a bicycle wreck by a container is a
# wreck, so those rows come before litter.
RULES: tuple[CategoryRule, ...] = (
    CategoryRule(
        "wegen-verkeer-straatmeubilair",
        "lantaarnpaal-straatverlichting",
        ("lantaarn", "straatlamp", "straatverlichting", "lichtmast", "verlichting", "lamp"),
    ),
    CategoryRule(
        "wegen-verkeer-straatmeubilair",
        "speelplaats",
        ("speeltuin", "speelplaats", "speeltoestel", "schommel", "glijbaan", "klimrek", "zandbak"),
    ),
    CategoryRule(
        "overlast-van-dieren",
        "ratten",
        (r"rat\b", "ratten", "ongedierte", "muis", "muizen", "kakkerlak"),
    ),
    CategoryRule(
        "overlast-in-de-openbare-ruimte",
        "fietswrak",
        ("fietswrak", "fietsenwrak", "weesfiets", r"(?:kapotte|verroeste|achtergelaten) fiets"),
    ),
    CategoryRule(
        "overlast-in-de-openbare-ruimte",
        "auto-scooter-bromfietswrak",
        ("autowrak", "wrak", r"(?:achtergelaten|verlaten) (?:auto|scooter|brommer)"),
    ),
    CategoryRule(
        "openbaar-groen-en-water",
        "boom",
        ("boom", "bomen", r"tak\b", "takken", "struik", "heg", "plantsoen", "gras", "onkruid"),
    ),
    CategoryRule(
        "wegen-verkeer-straatmeubilair",
        "bestrating",
        ("stoeptegel", "tegel", "bestrating", "stoep", "trottoir", "klinker", "losliggend", "kuil"),
    ),
    CategoryRule(
        "afval",
        "veeg-zwerfvuil",
        (
            "zwerfafval",
            "zwerfvuil",
            "afval",
            r"vuilnis",
            "rommel",
            "troep",
            r"(?:naast|bij) de container",
            "gedumpt",
        ),
    ),
)

# Sub-category slug -> its main category's slug, for building a URL without asking the server.
PARENTS: dict[str, str] = {rule.sub_slug: rule.main_slug for rule in (*RULES, FALLBACK)}


def choose_category(text: str) -> str:
    """The sub-category slug for a resident's Dutch description; "overig" when nothing fits."""
    lowered = text.lower()
    best, best_hits = FALLBACK, 0
    for rule in RULES:
        hits = rule.hits(lowered)
        if hits > best_hits:
            best, best_hits = rule, hits
    return best.sub_slug
