"""Questions for another agency are recognised, questions for the municipality are not."""

from __future__ import annotations

import pytest

from assistant.agencies import detect_agency, load_agencies


@pytest.mark.parametrize(
    ("question", "agency_id"),
    [
        ("mijn zorgtoeslag", "belastingdienst"),
        ("Mijn ZÓRG-TOESLAG is gestopt", "belastingdienst"),
        ("hoe vraag ik huurtoeslag aan", "belastingdienst"),
        ("wanneer worden de toeslagen betaald", "belastingdienst"),
        ("hulp bij mijn aangifte inkomstenbelasting", "belastingdienst"),
        ("kenteken overschrijven", "rdw"),
        ("mijn auto op naam zetten", "rdw"),
        ("mijn APK is verlopen", "rdw"),
        ("hoe vraag ik studiefinanciering aan", "duo"),
        ("ov-studentenkaart kwijt", "duo"),
        ("ik heb studieschulden", "duo"),
        ("ik ben werkloos geworden", "uwv"),
        ("WW-uitkering aanvragen", "uwv"),
        ("ik zit in de ziektewet", "uwv"),
        ("wanneer krijg ik AOW", "svb"),
        ("mijn kinderbijslag is niet betaald", "svb"),
    ],
)
def test_question_for_another_agency_is_recognised(question: str, agency_id: str) -> None:
    agency = detect_agency(question)

    assert agency is not None
    assert agency.id == agency_id


@pytest.mark.parametrize(
    "question",
    [
        "rijbewijs verlengen",  # the municipality issues driving licences, not the RDW
        "mijn rijbewijs verlengen bij de RDW",
        "kenteken wijzigen op mijn parkeervergunning",
        "wat kost de toeslag voor spoed bij een paspoort",
        "bezwaar tegen mijn WOZ-waarde",
        "gemeentelijke belastingen betalen",
        "ik ben werkloos en wil bijstand aanvragen",
        "aangifte doen van een geboorte",
        "wanneer wordt het grofvuil opgehaald",
        "",
        "   ",
    ],
)
def test_question_for_the_municipality_names_no_agency(question: str) -> None:
    assert detect_agency(question) is None


def test_agency_carries_what_the_answer_needs() -> None:
    agency = detect_agency("vraag over mijn zorgtoeslag")

    assert agency is not None
    assert agency.name == "de Belastingdienst"
    assert agency.phone == "0800 0543"
    assert agency.url.startswith("https://")
    assert "toeslagen" in agency.topics


def test_every_agency_has_name_phone_link_and_topics() -> None:
    agencies = load_agencies()

    assert set(agencies) == {"belastingdienst", "duo", "uwv", "svb", "rdw"}
    for agency in agencies.values():
        assert agency.name and agency.phone and agency.topics
        assert agency.url.startswith("https://")


def test_most_mentioned_agency_wins() -> None:
    agency = detect_agency("mijn AOW en kinderbijslag, en ook de zorgtoeslag")

    assert agency is not None
    assert agency.id == "svb"
