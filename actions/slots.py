"""Validation of what a resident gives when the assistant asks for a value.

Typed answers are mapped by the NLU (assistant.nlu.entity_normalizer), but a button payload or an
API call can carry any value. The form accepts only values the assistant can answer for; anything
else is rejected with a short explanation, and the form asks again with buttons.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.slot_values import canonical_value


class ValidateDocumentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_document_form"

    async def validate_document(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        document = canonical_value("document", value)
        if document is None:
            dispatcher.utter_message(response="utter_document_unknown")
        return {"document": document}
