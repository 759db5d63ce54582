"""The fuzz suite's corpus and its watch on the running assistant's logs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.stack import Stack

CORPUS = Path(__file__).resolve().parent / "corpus"
PROCESSES = ("rasa", "actions", "demo_site")


def corpus(name: str) -> list[dict[str, Any]]:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def entry_text(entry: dict[str, Any]) -> str:
    """A corpus entry's input as text (texts and raw frames)."""
    if "parts" in entry:
        return "".join(piece * count for piece, count in entry["parts"])
    return entry.get("text", entry.get("raw", ""))


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """A corpus entry's input as the bytes sent on the wire."""
    if "base64" in entry:
        return base64.b64decode(entry["base64"])
    if "json" in entry:
        return json.dumps(entry["json"]).encode()
    return entry_text(entry).encode("utf-8", "surrogatepass")


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in entries]


@pytest.fixture
def no_tracebacks(assistant_stack: Stack) -> Iterator[None]:
    """Fails the test when a process of the assistant logged a traceback while it ran."""
    paths = {name: assistant_stack.log_path(name) for name in PROCESSES}
    offsets = {name: path.stat().st_size for name, path in paths.items()}
    yield
    for name, path in paths.items():
        with path.open("rb") as log:
            log.seek(offsets[name])
            written = log.read().decode("utf-8", "replace")
        assert "Traceback" not in written, f"{name} logged a traceback:\n{written[-3000:]}"
