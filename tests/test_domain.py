"""The domain's texts fit the facts and the actions that fill them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from actions.answers import DOCUMENT_TOPICS, TOPICS
from assistant.content import known_municipalities, load_municipality
from tests.domain_files import DOMAIN

ROOT = Path(__file__).resolve().parent.parent
RESPONSES: dict = DOMAIN["responses"]
# Values the actions fill in themselves (actions/answers.py, cases.py, appointments/).
ACTION_PLACEHOLDERS = {
    "product",
    "moment",
    "old_moment",
    "location",
    "reference",
    "name",
    "contact",
    "day",
    "time",
    *("description", "when", "answer_date", "address", "report_number"),  # complaints, reports
    "agency_name",
    "agency_topics",
    "agency_phone",
    "agency_url",
    "case_number",
    "case_type",
    "status_text",
    "status_date",
    "expected_date",
    *("position", "opening", "due", "phone"),  # handoff and callbacks
}
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")


def placeholders(response: dict) -> set[str]:
    found = set(PLACEHOLDER.findall(response.get("text", "")))
    for button in response.get("buttons", []):
        found |= set(PLACEHOLDER.findall(button["title"]))
    return found


def test_every_placeholder_is_a_fact_of_every_municipality() -> None:
    for municipality in known_municipalities():
        facts = set(load_municipality(municipality).template_values())
        for name, variants in RESPONSES.items():
            for variant in variants:
                missing = placeholders(variant) - facts - ACTION_PLACEHOLDERS
                assert not missing, f"{name} uses {missing}, unknown for {municipality}"


def test_every_answer_action_has_its_response() -> None:
    for topic in TOPICS:
        assert f"utter_{topic}" in RESPONSES, topic
    documents = DOMAIN["slots"]["document"]["values"]
    for topic in DOCUMENT_TOPICS:
        for document in documents:
            assert f"utter_{topic}_{document}" in RESPONSES, (topic, document)


def test_variant_responses_exist_only_for_known_slot_values() -> None:
    for name in RESPONSES:
        for topic, slot in TOPICS.items():
            prefix = f"utter_{topic}_"
            if slot and name.startswith(prefix):
                assert name[len(prefix) :] in DOMAIN["slots"][slot]["values"], name


def test_buttons_fit_whatsapp_and_carry_a_payload() -> None:
    """A payload is an intent of the domain ("/affirm") or plain Dutch that the form reads like
    typed text ("andere dag"), so every channel can send it as the resident's words."""
    intents = set(DOMAIN["intents"])
    for name, variants in RESPONSES.items():
        for variant in variants:
            buttons = variant.get("buttons", [])
            assert len(buttons) <= 3, f"{name}: WhatsApp shows at most 3 buttons"
            for button in buttons:
                assert 0 < len(button["title"]) <= 20, f"{name}: title too long for WhatsApp"
                payload = button["payload"].strip()
                assert payload, name
                if payload.startswith("/"):
                    assert re.match(r"/(\w+)", payload)[1] in intents, name


def _actions_in_dialogue_data() -> set[str]:
    used = set()
    for path in (ROOT / "data").glob("*/*.yml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("rules", []) + content.get("stories", []):
            used |= {step["action"] for step in block.get("steps", []) if "action" in step}
    return used


def _responses_named_by_actions() -> set[str]:
    """Response names the actions' code names: literals, and f-string prefixes such as
    f"utter_{topic}_..." (every response starting with the prefix counts)."""
    named: set[str] = set()
    prefixes: set[str] = set()
    for path in (ROOT / "actions").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        named |= set(re.findall(r"[\"'](utter_[a-z_]+)[\"']", source))
        prefixes |= set(re.findall(r"f[\"'](utter_[a-z_]*)\{", source))
    return named | {name for name in RESPONSES if name.startswith(tuple(prefixes))}


def test_every_response_is_reachable() -> None:
    """Rasa's validator only sees responses named in stories and rules; the rest must be ones
    the actions render, or they are dead text nobody will ever read."""
    rendered_by_actions = _responses_named_by_actions()
    for topic in [*TOPICS, *DOCUMENT_TOPICS]:
        rendered_by_actions |= {
            name
            for name in RESPONSES
            if name == f"utter_{topic}" or name.startswith(f"utter_{topic}_")
        }
    # Forms ask for each required slot with utter_ask_<slot>.
    rendered_by_actions |= {
        f"utter_ask_{slot}" for form in DOMAIN["forms"].values() for slot in form["required_slots"]
    }
    unreachable = set(RESPONSES) - rendered_by_actions - _actions_in_dialogue_data()
    assert not unreachable
