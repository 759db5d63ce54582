"""The values the assistant can answer for, per slot, and how a resident's spelling maps onto them.

The canonical values are fixed by the NLU contract (shared/nlu-contract.md); domain/ declares
the same lists for its categorical slots (a test keeps the two equal). A value that maps onto
none of them is rejected, so no action ever looks for a response that does not exist
("utter_document_costs_pasp00rt") and the resident is asked again instead.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

KNOWN_VALUES: dict[str, tuple[str, ...]] = {
    "document": ("paspoort", "id_kaart", "rijbewijs"),
    "permit": (
        "omgevingsvergunning",
        "kapvergunning",
        "evenementenvergunning",
        "parkeervergunning",
    ),
}

# Digits typed for the letters they look like ("pasp00rt", "r1jbewijs").
_LOOKALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_NOT_LETTERS = re.compile(r"[^a-z]")
# Close enough for one or two typos in these long words, far enough apart to keep them distinct.
_SIMILARITY = 0.8


def fold(value: str) -> str:
    """Lower case letters only, accents and look-alike digits folded ("ID-Kaart" -> "idkaart")."""
    decomposed = unicodedata.normalize("NFKD", value.lower().translate(_LOOKALIKES))
    ascii_letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTERS.sub("", ascii_letters)


def canonical_value(slot: str, value: object) -> str | None:
    """The known value of `slot` that `value` means, or None when it means none of them.

    Slots without a list of known values take any text.
    """
    if not isinstance(value, str):
        return None
    known = KNOWN_VALUES.get(slot)
    if known is None:
        return value
    folded = {fold(candidate): candidate for candidate in known}
    key = fold(value)
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, folded, n=1, cutoff=_SIMILARITY)
    return folded[close[0]] if close else None
