"""The handoff queue in SQL: one open request per conversation, an atomic take, closing rules."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.handoff.store import Closed, HandoffStore, Status


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HandoffStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handoff.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    handoffs = HandoffStore(url)
    handoffs.ensure_schema()
    try:
        yield handoffs
    finally:
        handoffs.dispose()


def ask(store: HandoffStore, conversation: str, municipality: str = "utrecht") -> str:
    handoff = store.request(
        conversation, municipality=municipality, channel="webchat", summary="Mijn paspoort?"
    )
    return handoff.id


def test_asking_twice_queues_the_resident_once(store: HandoffStore) -> None:
    first = ask(store, "conv-1")
    assert ask(store, "conv-1") == first
    assert [h.id for h in store.queue()] == [first]
    open_one = store.open_for("conv-1")
    assert open_one is not None and open_one.status is Status.WAITING


def test_the_queue_is_per_municipality_in_order_of_asking(store: HandoffStore) -> None:
    first, other, second = ask(store, "a"), ask(store, "b", "zwolle"), ask(store, "c")
    assert [h.id for h in store.queue("utrecht")] == [first, second]
    assert store.position(store.get(second)) == 2  # type: ignore[arg-type]
    assert store.position(store.get(other)) == 1  # type: ignore[arg-type]


def test_one_employee_takes_a_conversation_and_a_colleague_cannot(store: HandoffStore) -> None:
    handoff_id = ask(store, "conv-1")
    taken = store.claim(handoff_id, "sanne", "Sanne")
    assert taken is not None and taken.status is Status.TAKEN and taken.employee_name == "Sanne"
    assert store.claim(handoff_id, "piet", "Piet") is None
    assert store.queue() == [] and [h.id for h in store.taken()] == [handoff_id]


def test_two_employees_racing_for_one_conversation_get_one_winner(store: HandoffStore) -> None:
    handoff_id = ask(store, "conv-1")
    start = threading.Barrier(8)
    winners: list[str] = []

    def take(employee: str) -> None:
        start.wait()
        if store.claim(handoff_id, employee, employee):
            winners.append(employee)

    threads = [threading.Thread(target=take, args=(f"employee-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert store.get(handoff_id).employee_id == winners[0]  # type: ignore[union-attr]


def test_only_the_employee_who_holds_it_hands_it_back(store: HandoffStore) -> None:
    handoff_id = ask(store, "conv-1")
    store.claim(handoff_id, "sanne", "Sanne")
    assert not store.close(handoff_id, Closed.TO_ASSISTANT, employee_id="piet")
    assert store.close(handoff_id, Closed.TO_ASSISTANT, employee_id="sanne")
    closed = store.get(handoff_id)
    assert closed is not None and closed.closed_how is Closed.TO_ASSISTANT
    assert store.open_for("conv-1") is None, "the assistant answers again"
    assert ask(store, "conv-1") != handoff_id, "a later request is a new one"


def test_requests_nobody_takes_in_time_are_closed_but_taken_ones_stay(
    store: HandoffStore,
) -> None:
    waiting, taken = ask(store, "a"), ask(store, "b")
    store.claim(taken, "sanne", "Sanne")
    expired = store.expire_waiting(dt.timedelta(seconds=-1))  # everything is "too old"
    assert [h.id for h in expired] == [waiting]
    assert expired[0].closed_how is Closed.TIMED_OUT
    assert store.get(taken).status is Status.TAKEN  # type: ignore[union-attr]
    assert store.expire_waiting(dt.timedelta(hours=1)) == []


def test_closed_requests_are_purged_after_the_retention_period(store: HandoffStore) -> None:
    closed, still_open = ask(store, "a"), ask(store, "b")
    store.close(closed, Closed.LEFT)
    assert store.purge_older_than(dt.timedelta(days=30)) == 0
    assert store.purge_older_than(dt.timedelta(seconds=-1)) == 1
    assert store.get(closed) is None and store.get(still_open) is not None


def test_a_summary_is_kept_to_one_short_line(store: HandoffStore) -> None:
    handoff = store.request(
        "conv-1", municipality="utrecht", channel="webchat", summary="lang\n\nverhaal " * 100
    )
    assert "\n" not in handoff.summary and len(handoff.summary) <= 300


def test_a_conversation_id_must_be_sane(store: HandoffStore) -> None:
    with pytest.raises(ValueError):
        store.request("", municipality="utrecht", channel="webchat", summary="x")
    with pytest.raises(ValueError):
        store.request("x" * 129, municipality="utrecht", channel="webchat", summary="x")


def test_the_help_of_an_employee_is_rated_apart_and_a_new_score_replaces_the_old(
    store: HandoffStore,
) -> None:
    handoff_id = ask(store, "conv-rated")
    assert not store.rate_help("conv-rated", 8), "nobody helped yet"
    store.claim(handoff_id, "emp-1", "Sanne")
    store.close(handoff_id, Closed.TO_ASSISTANT, employee_id="emp-1")
    assert store.rate_help("conv-rated", 8) and store.rate_help("conv-rated", 9)
    assert store.help_score(handoff_id) == 9
    for bad in (0, 11, True):
        with pytest.raises(ValueError):
            store.rate_help("conv-rated", bad)  # type: ignore[arg-type]
    left = ask(store, "conv-left")
    store.close(left, Closed.LEFT, only_waiting=True)
    assert not store.rate_help("conv-left", 7), "the resident stopped waiting: nobody to rate"
