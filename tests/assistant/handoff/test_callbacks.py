"""Callback requests: queued with what the call needs, made once, and gone after retention."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.handoff.callbacks import CallbackStatus, CallbackStore
from assistant.handoff.store import HandoffStore

MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)


@pytest.fixture(params=["sqlite", "postgresql"])
def callbacks(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallbackStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handoff.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    schema = HandoffStore(url)
    schema.ensure_schema()  # one schema for handoffs and callbacks
    schema.dispose()
    store = CallbackStore(url)
    yield store


def ask(store: CallbackStore, conversation: str = "conv-1", **overrides: object) -> str:
    fields: dict[str, object] = {
        "municipality": "utrecht",
        "channel": "webchat",
        "name": "Anna de Vries",
        "phone": "0612345678",
        "topic": "Vraag over mijn  paspoort",
        "due_at": MONDAY_MORNING,
        **overrides,
    }
    return store.request(conversation, **fields).id  # type: ignore[arg-type]


def test_a_callback_waits_with_what_the_call_needs(callbacks: CallbackStore) -> None:
    callback = callbacks.get(ask(callbacks))
    assert callback is not None and callback.status is CallbackStatus.OPEN
    assert (callback.name, callback.phone, callback.topic) == (
        "Anna de Vries",
        "0612345678",
        "Vraag over mijn paspoort",
    )
    assert callback.due_at == MONDAY_MORNING
    assert "Anna" not in repr(callback) and "0612" not in repr(callback), "not in logs"


def test_the_queue_shows_what_is_due_first_per_municipality(callbacks: CallbackStore) -> None:
    later = ask(callbacks, "a", due_at=MONDAY_MORNING + dt.timedelta(days=1))
    first = ask(callbacks, "b")
    other = ask(callbacks, "c", municipality="zwolle")
    assert [c.id for c in callbacks.open("utrecht")] == [first, later]
    assert [c.id for c in callbacks.open("zwolle")] == [other]


def test_a_callback_is_made_once_even_when_two_employees_mark_it(
    callbacks: CallbackStore,
) -> None:
    callback_id = ask(callbacks)
    start, done = threading.Barrier(4), []

    def mark(employee: str) -> None:
        start.wait()
        if callbacks.done(callback_id, employee):
            done.append(employee)

    threads = [threading.Thread(target=mark, args=(f"employee-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 1 and callbacks.open() == []
    assert callbacks.get(callback_id).done_by == done[0]  # type: ignore[union-attr]


def test_every_callback_is_deleted_after_the_retention_period(callbacks: CallbackStore) -> None:
    made, waiting = ask(callbacks, "a"), ask(callbacks, "b")
    callbacks.done(made, "sanne")
    assert callbacks.purge_older_than(dt.timedelta(days=30)) == 0
    assert callbacks.purge_older_than(dt.timedelta(seconds=-1)) == 2
    assert callbacks.get(made) is None and callbacks.get(waiting) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "06-12345678"),  # not normalised: phone_in's output is expected
        ("phone", "12345"),
        ("name", "   "),
        ("name", "x" * 101),
        ("topic", ""),
        ("due_at", dt.datetime(2026, 11, 30, 9, 0)),  # naive
    ],
)
def test_what_cannot_be_called_back_is_refused(
    callbacks: CallbackStore, field: str, value: object
) -> None:
    with pytest.raises(ValueError):
        ask(callbacks, **{field: value})
    assert callbacks.open() == []
