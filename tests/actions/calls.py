"""The calls Rasa makes to the action server, built for tests that run actions through the SDK's
own executor: the slots as set before, the resident's message (with the timestamp the
once-key needs), and the active form if any."""

from __future__ import annotations

import time
import uuid
from typing import Any

from rasa_sdk.executor import ActionExecutor

from tests.domain_files import DOMAIN

EXECUTOR = ActionExecutor()
EXECUTOR.register_package("actions")


def sender() -> str:
    return f"test-{uuid.uuid4().hex}"


def action_call(
    action: str,
    text: str = "",
    intent: str = "inform",
    slots: dict[str, Any] | None = None,
    *,
    form: str | None = None,
    conversation: str | None = None,
    municipality: str = "utrecht",
) -> dict[str, Any]:
    """The call Rasa makes for `action` right after the resident said `text`: the slots as set
    before, the message (with a timestamp, as the once-key needs), the form active."""
    slots = {"municipality": municipality, **(slots or {})}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    conversation = conversation or sender()
    events: list[dict[str, Any]] = [
        *({"event": "slot", "name": name, "value": value} for name, value in slots.items()),
        {"event": "user", "text": text, "parse_data": latest, "timestamp": time.time()},
        {"event": "action", "name": form},
    ]
    return {
        "next_action": action,
        "sender_id": conversation,
        "tracker": {
            "sender_id": conversation,
            "slots": slots,
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": form} if form else {},
            "latest_action_name": "action_listen",
        },
        "domain": DOMAIN,
        "version": "3.6.2",
    }


async def run(call: dict[str, Any]) -> dict[str, Any]:
    result = await EXECUTOR.run(call)
    assert result is not None
    return result


def responses(result: dict[str, Any]) -> list[str]:
    return [r["response"] for r in result["responses"] if r.get("response")]


def slots_set(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}
