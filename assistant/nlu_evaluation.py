"""Measure the trained NLU model on the held-out test set (tests/nlu/heldout.yml).

The held-out set is never trained on, so these figures say how the assistant understands messages
it has not seen. Used by `make eval` (scripts/eval_nlu.py) and by tests/nlu/test_heldout.py.

Rasa's `nlu_fallback` counts as a wrong intent: for accuracy, for macro-F1 and for out_of_scope
recall alike. The report also shows how often an out_of_scope message was at least not answered
as if it were in scope (predicted out_of_scope or nlu_fallback): that is what a resident notices.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
HELDOUT_PATH = REPO_ROOT / "tests" / "nlu" / "heldout.yml"
MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"

# The names fixed by shared/nlu-contract.md. Listed here because the contract is not part of the
# repository at run time; tests/nlu/test_heldout.py checks both lists against it when it is there.
CONTRACT_INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "human_handoff",
    "out_of_scope",
    "document_apply",
    "document_lost",
    "document_costs",
    "document_requirements",
    "document_pickup",
    "permit_needed",
    "permit_apply",
    "case_status",
    "appointment_book",
    "appointment_reschedule",
    "appointment_cancel",
    "appointment_check",
    "complaint_file",
    "report_public_space",
    "objection_file",
    "move_report",
    "waste_collection",
    "contact_info",
    "inform",
)
CONTRACT_ENTITIES: tuple[str, ...] = (
    "document",
    "permit",
    "case_number",
    "postcode",
    "house_number",
    "email",
    "phone",
    "date",
    "time",
)
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"

Entity = tuple[str, str]  # (entity name, normalised value)


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: frozenset[Entity]


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    entities: frozenset[Entity]
    parse_ms: float


@dataclass(frozen=True)
class IntentRow:
    intent: str
    support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Misclassification:
    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class NluReport:
    examples: int
    intent_accuracy: float
    macro_f1: float
    out_of_scope_recall: float
    out_of_scope_safe_rate: float  # out_of_scope examples answered as out_of_scope or nlu_fallback
    entity_precision: float
    entity_recall: float
    entity_f1: float
    median_parse_ms: float
    per_intent: list[IntentRow]
    misclassified: list[Misclassification]

    def confusions(self, top: int = 15) -> list[tuple[str, str, int]]:
        """The most frequent (expected, predicted) mistakes, most frequent first."""
        pairs = Counter((m.expected, m.predicted) for m in self.misclassified)
        return [(exp, pred, n) for (exp, pred), n in pairs.most_common(top)]


def normalise_value(entity: str, value: Any) -> str:
    """Make gold and predicted values comparable: case, spacing and notation do not count."""
    text = re.sub(r"\s+", " ", str(value)).strip().lower()
    if entity in ("postcode", "house_number", "case_number"):
        return text.replace(" ", "").upper()  # "3511 ab" = "3511AB", "4 bis" = "4BIS"
    if entity == "phone":
        digits = re.sub(r"\D", "", text)
        # +31 6... and 0031 6... are the same number as 06...
        return re.sub(r"^(00)?31", "0", digits)
    return text.strip(".,;:!?")


def _entities(raw: list[dict[str, Any]]) -> frozenset[Entity]:
    # A set: two extractors finding the same entity count once.
    return frozenset((e["entity"], normalise_value(e["entity"], e.get("value"))) for e in raw)


def load_heldout(path: Path = HELDOUT_PATH) -> list[Example]:
    """Read the held-out Rasa YAML file into examples with their expected intent and entities."""
    from rasa.shared.nlu.training_data.loading import load_data  # heavy import, only when needed

    data = load_data(str(path))
    return [
        Example(
            text=message.get("text"),
            intent=message.get("intent"),
            entities=_entities(message.get("entities") or []),
        )
        for message in data.intent_examples
    ]


def load_agent(model_path: Path = MODEL_PATH) -> Any:
    """Load the trained model; a missing model is a clear error, not a stack trace deep in Rasa."""
    if not model_path.is_file():
        raise FileNotFoundError(f"No trained model at {model_path}: run `make train` first.")
    from rasa.core.agent import Agent

    return Agent.load(str(model_path))


async def parse_all(agent: Any, examples: list[Example]) -> list[Prediction]:
    """Parse every example, timing only the parse call, after one warm-up parse."""
    await agent.parse_message("warm-up")  # first call builds lazily initialised graphs
    predictions = []
    for example in examples:
        start = time.perf_counter()
        parsed = await agent.parse_message(example.text)
        elapsed_ms = (time.perf_counter() - start) * 1000
        intent = parsed.get("intent") or {}
        predictions.append(
            Prediction(
                intent=intent.get("name") or FALLBACK_INTENT,
                confidence=float(intent.get("confidence") or 0.0),
                entities=_entities(parsed.get("entities") or []),
                parse_ms=elapsed_ms,
            )
        )
    return predictions


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def evaluate(examples: list[Example], predictions: list[Prediction]) -> NluReport:
    """Compute the figures from expected examples and the model's predictions (same order)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    if len(examples) != len(predictions) or not examples:
        raise ValueError("need one prediction for every example, and at least one example")
    gold = [e.intent for e in examples]
    pred = [p.intent for p in predictions]
    labels = list(CONTRACT_INTENTS)

    precision, recall, f1, support = precision_recall_fscore_support(
        gold, pred, labels=labels, zero_division=0
    )
    per_intent = [
        IntentRow(label, int(s), float(p), float(r), float(f))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]

    oos = [p for g, p in zip(gold, pred, strict=True) if g == OUT_OF_SCOPE]
    true_pos = sum(len(e.entities & p.entities) for e, p in zip(examples, predictions, strict=True))
    gold_total = sum(len(e.entities) for e in examples)
    pred_total = sum(len(p.entities) for p in predictions)
    entity_precision = _ratio(true_pos, pred_total)
    entity_recall = _ratio(true_pos, gold_total)

    return NluReport(
        examples=len(examples),
        intent_accuracy=_ratio(sum(g == p for g, p in zip(gold, pred, strict=True)), len(gold)),
        macro_f1=float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        out_of_scope_recall=_ratio(oos.count(OUT_OF_SCOPE), len(oos)),
        out_of_scope_safe_rate=_ratio(
            sum(p in (OUT_OF_SCOPE, FALLBACK_INTENT) for p in oos), len(oos)
        ),
        entity_precision=entity_precision,
        entity_recall=entity_recall,
        entity_f1=_f1(entity_precision, entity_recall),
        median_parse_ms=statistics.median(p.parse_ms for p in predictions),
        per_intent=per_intent,
        misclassified=[
            Misclassification(e.text, e.intent, p.intent, p.confidence)
            for e, p in zip(examples, predictions, strict=True)
            if e.intent != p.intent
        ],
    )


async def evaluate_model(model_path: Path = MODEL_PATH, heldout: Path = HELDOUT_PATH) -> NluReport:
    """Load the model and the held-out set, parse everything, and report."""
    agent = load_agent(model_path)
    examples = load_heldout(heldout)
    return evaluate(examples, await parse_all(agent, examples))
