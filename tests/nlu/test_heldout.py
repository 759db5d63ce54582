"""The trained model understands residents' messages it has never seen, and the NLU names match the
contract (shared/nlu-contract.md) that analytics, channels and the staff console rely on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import pytest_asyncio

from assistant.nlu_evaluation import (
    CONTRACT_ENTITIES,
    CONTRACT_INTENTS,
    HELDOUT_PATH,
    MODEL_PATH,
    NluReport,
    evaluate,
    load_agent,
    load_heldout,
    parse_all,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING_DATA = REPO_ROOT / "data" / "nlu"
DOMAIN_PATH = REPO_ROOT / "domain"
# CI and developers have shared/ beside the repository.
CONTRACT_PATH = REPO_ROOT.parent / "shared" / "nlu-contract.md"

MIN_ACCURACY = 0.92
MIN_EXAMPLES_PER_INTENT = 10


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


@pytest_asyncio.fixture(scope="session")
async def heldout_report() -> NluReport:
    if not MODEL_PATH.is_file():
        pytest.fail(f"No trained model at {MODEL_PATH}: run `make train` first.")
    agent = load_agent(MODEL_PATH)
    examples = load_heldout(HELDOUT_PATH)
    return evaluate(examples, await parse_all(agent, examples))


def test_model_recognises_unseen_messages(heldout_report: NluReport) -> None:
    confusions = "\n".join(
        f"  {expected} -> {predicted}: {n}"
        for expected, predicted, n in heldout_report.confusions()
    )
    assert heldout_report.intent_accuracy >= MIN_ACCURACY, (
        f"intent accuracy {heldout_report.intent_accuracy:.1%} on the held-out set is below "
        f"{MIN_ACCURACY:.0%}; most frequent confusions:\n{confusions}"
    )


def test_every_contract_intent_is_tested_with_enough_examples() -> None:
    counts = Counter(example.intent for example in load_heldout(HELDOUT_PATH))
    too_few = {
        intent: counts[intent]
        for intent in CONTRACT_INTENTS
        if counts[intent] < MIN_EXAMPLES_PER_INTENT
    }
    assert not too_few, f"held-out intents with fewer than {MIN_EXAMPLES_PER_INTENT}: {too_few}"


def test_heldout_examples_are_not_in_the_training_data() -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    training = load_data(str(TRAINING_DATA)).intent_examples if TRAINING_DATA.is_dir() else []
    assert training, f"no NLU training examples found in {TRAINING_DATA}"
    trained = {_normalise(message.get("text")) for message in training}
    leaked = [e.text for e in load_heldout(HELDOUT_PATH) if _normalise(e.text) in trained]
    assert not leaked, f"held-out examples that also appear in {TRAINING_DATA}: {leaked}"


def _contract_names(markdown: str, section: str) -> set[str]:
    """The backticked names in the first column of a contract table (## Intents, ## Entities)."""
    body = markdown.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([a-z_]+)`", first_cell))
    return names


def test_domain_declares_every_contract_intent_and_entity() -> None:
    from rasa.shared.core.domain import Domain

    intents, entities = set(CONTRACT_INTENTS), set(CONTRACT_ENTITIES)
    if CONTRACT_PATH.is_file():
        contract = CONTRACT_PATH.read_text(encoding="utf-8")
        # Our evaluation's lists must follow the contract, not drift from it.
        assert _contract_names(contract, "Intents") == intents
        assert _contract_names(contract, "Entities") == entities

    assert DOMAIN_PATH.is_dir(), f"{DOMAIN_PATH} is missing"
    domain = Domain.load(str(DOMAIN_PATH))
    missing_intents = sorted(intents - set(domain.intents))
    missing_entities = sorted(entities - set(domain.entities))
    assert not missing_intents, f"contract intents missing from the domain: {missing_intents}"
    assert not missing_entities, f"contract entities missing from the domain: {missing_entities}"
