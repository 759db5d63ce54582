"""Bring extracted entity values into the canonical forms of the NLU contract.

Residents write "3511 ab", "06-12 34 56 78" or "zaak-2026-0000123"; analytics, the back-office
clients and the actions want one form per value. Regex and DIET extraction can also find the same
span twice; the regex match is kept because its boundaries are exact. Entities with a fixed set of
values (document, permit) are mapped onto them, typos and look-alike digits included ("pasp00rt"
is a passport); a value that means none of them is dropped, so no slot is filled with it and the
assistant asks which one is meant.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from assistant.slot_values import KNOWN_VALUES, canonical_value

REGEX_EXTRACTOR = "RegexEntityExtractor"


def normalise_postcode(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[^\d+]", "", value)
    if digits.startswith("+31"):
        digits = "0" + digits[3:]
    elif digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits


def normalise_case_number(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def normalise_house_number(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


NORMALISERS = {
    "postcode": normalise_postcode,
    "phone": normalise_phone,
    "case_number": normalise_case_number,
    "house_number": normalise_house_number,
    "email": lambda value: value.strip().lower(),
}


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def deduplicate(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop an entity when another of the same type covers the same text, preferring regex hits."""
    ranked = sorted(entities, key=lambda e: e.get("extractor") != REGEX_EXTRACTOR)
    kept: list[dict[str, Any]] = []
    for entity in ranked:
        if "start" in entity and any(
            other["entity"] == entity["entity"] and "start" in other and _overlaps(other, entity)
            for other in kept
        ):
            continue
        kept.append(entity)
    return sorted(kept, key=lambda e: e.get("start", 0))


def normalise(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for entity in deduplicate(entities):
        name = entity["entity"]
        normaliser = NORMALISERS.get(name)
        if normaliser and isinstance(entity.get("value"), str):
            entity = {**entity, "value": normaliser(entity["value"])}
        elif name in KNOWN_VALUES:
            value = canonical_value(name, entity.get("value"))
            if value is None:
                continue
            entity = {**entity, "value": value}
        result.append(entity)
    return result


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityNormalizer(GraphComponent):
    """Rasa graph component: normalises and de-duplicates the entities of each message."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityNormalizer:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, normalise(entities), add_to_output=True)
        return messages
