from assistant.nlu.entity_normalizer import normalise


def entity(name: str, value: str, start: int, end: int, extractor: str = "DIETClassifier") -> dict:
    return {"entity": name, "value": value, "start": start, "end": end, "extractor": extractor}


def test_values_take_the_contract_forms() -> None:
    result = normalise(
        [
            entity("postcode", "3511 ab", 0, 7),
            entity("phone", "+31 6-12 34 56 78", 10, 27),
            entity("case_number", "zaak-2026-0000123", 30, 47),
            entity("email", "Jan@Example.NL", 50, 64),
            entity("house_number", "12 a", 70, 74),
        ]
    )
    assert [e["value"] for e in result] == [
        "3511AB",
        "0612345678",
        "ZAAK-2026-0000123",
        "jan@example.nl",
        "12A",
    ]


def test_the_same_span_found_twice_is_kept_once_preferring_the_regex() -> None:
    result = normalise(
        [
            entity("postcode", "3511 a", 0, 6),
            entity("postcode", "3511 AB", 0, 7, extractor="RegexEntityExtractor"),
        ]
    )
    assert len(result) == 1
    assert result[0]["extractor"] == "RegexEntityExtractor"
    assert result[0]["value"] == "3511AB"


def test_entities_without_rules_are_untouched() -> None:
    original = [entity("document", "paspoort", 0, 8), entity("date", "morgen", 10, 16)]
    assert normalise(original) == original
