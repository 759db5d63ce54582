"""The load of `make bench` (scripts/bench_load.py) against a stand-in for Rasa's REST channel.

The stand-in is a real aiohttp server on loopback in a thread of its own, with its own event loop,
so that when it stalls (a blocking pause, as a CPU-bound turn blocks Rasa) the load generator's
clock keeps running. It answers after a delay chosen per message text and records what it got.
The loads run for a second or two; nothing here sleeps to wait for something to happen.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from scripts import bench
from scripts.bench_load import (
    NotLoopbackError,
    closed_loop,
    open_loop,
    open_loop_schedule,
    percentiles,
    require_loopback,
)


@dataclass
class Received:
    at: float  # time.monotonic() when the handler saw it
    sender: str
    text: str
    address: str
    peer: tuple[str, int]  # the client end of the TCP connection


@dataclass
class StandIn:
    """What the stand-in does: seconds per message text, the status it answers with, one stall."""

    delay: Callable[[str], float] = lambda text: 0.005
    status: int = 200
    stall_on_request: int | None = None  # the n-th message (from 1) blocks the whole server
    stall_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    stalled: tuple[float, float] | None = None  # monotonic start and end of the stall

    def app(self) -> web.Application:
        async def root(_: web.Request) -> web.Response:
            return web.Response(text="Hello from Rasa: 3.6.21")

        async def webhook(request: web.Request) -> web.Response:
            body = await request.json()
            self.received.append(
                Received(
                    time.monotonic(),
                    body["sender"],
                    body["message"],
                    request.headers.get("X-Forwarded-For", ""),
                    request.transport.get_extra_info("peername")[:2],
                )
            )
            if len(self.received) == self.stall_on_request:
                began = time.monotonic()
                time.sleep(self.stall_seconds)  # blocks this server's loop: every request waits
                self.stalled = (began, time.monotonic())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay(body["message"]))  # the stand-in's work
            finally:
                self.in_flight -= 1
            if self.status != 200:
                return web.Response(status=self.status, text="stuk")
            return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

        app = web.Application()
        app.router.add_get("/", root)
        app.router.add_post("/webhooks/rest/webhook", webhook)
        return app


@pytest.fixture
def serve() -> Iterator[Callable[[StandIn], str]]:
    """Start a StandIn on a free loopback port in its own thread; yields a function that does it
    and returns the base URL. Every server is stopped after the test."""
    stops: list[Callable[[], None]] = []

    def start(stand_in: StandIn) -> str:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        port: list[int] = []
        runner = web.AppRunner(stand_in.app(), access_log=None)

        async def begin() -> None:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            ready.set()

        thread = threading.Thread(
            target=lambda: (loop.run_until_complete(begin()), loop.run_forever()), daemon=True
        )
        thread.start()
        assert ready.wait(timeout=10), "the stand-in did not start"

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

        stops.append(stop)
        return f"http://127.0.0.1:{port[0]}"

    yield start
    for stop in stops:
        stop()


# --- percentiles and the timetable ---------------------------------------------------------------


def test_percentiles_of_known_values() -> None:
    figures = percentiles([float(n) for n in range(1, 101)])
    assert figures["p50"] == pytest.approx(50.5)
    assert figures["p95"] == pytest.approx(95.05)
    assert figures["p99"] == pytest.approx(99.01)
    assert figures["max"] == 100.0
    assert percentiles([0.2]) == {"p50": 0.2, "p95": 0.2, "p99": 0.2, "max": 0.2}


@pytest.mark.parametrize("seed", [1, 2, 2026])
def test_the_open_loop_timetable_averages_the_rate(seed: int) -> None:
    plan = open_loop_schedule([3, 4, 5, 5], rate=25, duration=2000, seed=seed)
    due = sorted(t for conversation in plan for t in conversation.due)
    assert len(due) == pytest.approx(25 * 2000, rel=0.03)
    # Stationary from the first second: the first and the last minute carry the same load.
    first = sum(1 for t in due if t < 60)
    last = sum(1 for t in due if t >= 2000 - 60)
    assert first == pytest.approx(last, rel=0.25)
    for conversation in plan:
        gaps = [b - a for a, b in zip(conversation.due, conversation.due[1:], strict=False)]
        assert all(2.0 <= gap <= 8.0 for gap in gaps)


def test_the_timetable_is_reproducible_and_the_same_for_equal_lengths() -> None:
    one = open_loop_schedule([3, 4], rate=10, duration=30, seed=7)
    assert one == open_loop_schedule([3, 4], rate=10, duration=30, seed=7)
    assert one != open_loop_schedule([3, 4], rate=10, duration=30, seed=8)


# --- closed loop ---------------------------------------------------------------------------------


def test_closed_loop_counts_every_message_and_its_latency(serve) -> None:
    stand_in = StandIn(delay=lambda text: 0.1 if text == "slow" else 0.01)
    url = serve(stand_in)
    # One message in ten is slow: the median is fast, p95 and p99 are slow.
    scripts = [("fast",) * 4 + ("slow",) + ("fast",) * 5]

    result = asyncio.run(closed_loop(url, scripts, residents=4, duration=1.5, timeout=5, seed=1))

    assert result.error_count == 0 and not result.hit_deadline
    assert result.answered == len(result.samples) == len(stand_in.received)
    # Closed: never more residents waiting than there are, and all of them most of the time.
    assert stand_in.most_in_flight == 4
    # Four residents, each at most one message per 10 ms: a bounded count, and a real one.
    assert 40 < result.answered <= 4 * 1.5 / 0.01 + 4
    assert result.elapsed >= 1.5
    assert result.messages_per_second == pytest.approx(result.answered / result.elapsed)
    figures = percentiles(result.latencies)
    # asyncio may wake a sleeper up to its clock's resolution early, and times are in whole ms.
    early = 0.002
    assert 0.01 - early <= figures["p50"] < 0.1
    assert figures["p95"] >= 0.1 - early and figures["p99"] >= 0.1 - early
    assert min(result.latencies) >= 0.01 - early
    # A conversation is one sender from one address, its messages in the script's order.
    by_sender: dict[str, list[Received]] = defaultdict(list)
    for message in stand_in.received:
        by_sender[message.sender].append(message)
    addresses = {m.address for m in stand_in.received}
    assert len(addresses) == len(by_sender) > 4
    for messages in by_sender.values():
        assert len({m.address for m in messages}) == 1
        assert [m.text for m in messages] == list(scripts[0][: len(messages)])
    # Each conversation over a connection of its own, as from a resident's browser: none shared.
    peers = {sender: {m.peer for m in messages} for sender, messages in by_sender.items()}
    assert all(len(p) == 1 for p in peers.values())
    assert len(set.union(*peers.values())) == len(by_sender)


# --- open loop -----------------------------------------------------------------------------------


def test_open_loop_sends_the_timetable_at_the_rate(serve) -> None:
    stand_in = StandIn()
    url = serve(stand_in)
    scripts = [("a", "b", "c"), ("d", "e", "f", "g")]
    options = {"rate": 30.0, "duration": 2.0, "seed": 5, "think_time": (0.05, 0.2)}

    result = asyncio.run(open_loop(url, scripts, timeout=5, **options))

    plan = open_loop_schedule([3, 4], **options)
    due = sorted(t for conversation in plan for t in conversation.due)
    assert len(result.samples) == len(due) == len(stand_in.received)
    assert len(due) == pytest.approx(30 * 2, rel=0.35)
    assert result.error_count == 0
    assert sorted(s.scheduled for s in result.samples) == pytest.approx(due)
    # A server that keeps up: messages go out on time and answers come quickly.
    assert result.max_send_lag < 0.2
    assert percentiles(result.latencies)["p50"] < 0.2
    # Each message reached the server no earlier than it was due.
    arrivals = sorted(m.at - result.started for m in stand_in.received)
    assert all(a >= d - 0.002 for a, d in zip(arrivals, due, strict=True))


def test_open_loop_latency_counts_from_the_due_time_through_a_stall(serve) -> None:
    stand_in = StandIn(stall_on_request=12, stall_seconds=0.8)
    url = serve(stand_in)
    scripts = [("a", "b", "c", "d", "e"), ("f", "g", "h", "i")]

    result = asyncio.run(
        open_loop(url, scripts, rate=30, duration=2.0, timeout=5, seed=3, think_time=(0.05, 0.15))
    )

    assert result.error_count == 0
    assert stand_in.stalled is not None
    began, ended = (t - result.started for t in stand_in.stalled)
    during = [s for s in result.samples if began <= s.scheduled < ended - 0.05]
    assert len(during) >= 5
    for sample in during:
        # Nothing due in the stall was answered before it ended: the stall is in its latency.
        assert sample.latency is not None
        assert sample.latency >= ended - sample.scheduled - 0.01
    # Some were follow-ups that could only be sent after the previous answer, late: measured from
    # their sending they would look fast, which is the omission this load does not make.
    sent_late = [s for s in during if s.sent is not None and s.sent >= ended - 0.01]
    assert sent_late
    assert max(s.latency for s in during) >= 0.5
    assert result.max_send_lag >= 0.3


# --- errors and refusals -------------------------------------------------------------------------


def test_a_server_answering_500_is_counted_as_errors(serve) -> None:
    url = serve(StandIn(status=500))
    result = asyncio.run(closed_loop(url, [("a", "b")], residents=2, duration=1, timeout=5, seed=1))
    assert result.answered == 0
    assert result.error_count == len(result.samples) > 0
    assert result.errors == {"HTTP 500": result.error_count}


def test_bench_exits_non_zero_when_messages_failed(serve, tmp_path: Path, capsys) -> None:
    url = serve(StandIn(status=500))
    code = bench.main(
        [
            *("--url", url, "--skip-reference", "--concurrency", "2", "--duration", "1"),
            *("--rate", "10", "--results-dir", str(tmp_path)),
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "HTTP 500" in out
    latest = json.loads((tmp_path / "bench-latest.json").read_text(encoding="utf-8"))
    assert latest["errors"] > 0
    assert latest["closed_loop"]["assistant"]["errors_by_kind"]["HTTP 500"] > 0


def test_bench_reports_the_figures_and_writes_them_as_json(serve, tmp_path: Path, capsys) -> None:
    url = serve(StandIn())
    code = bench.main(
        [
            *("--url", url, "--skip-reference", "--concurrency", "2", "--duration", "1"),
            *("--rate", "25", "--results-dir", str(tmp_path)),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    # What tests/test_deployment.py reads from the output.
    for label in ("messages per second", "turn latency p50", "turn latency p99", "errors:"):
        assert label in out
    assert re.search(r"errors:\s+0\b", out)
    assert int(re.search(r"messages answered:\s+(\d+)", out).group(1)) > 0
    files = sorted(tmp_path.glob("bench-*.json"))
    assert [f.name for f in files][-1] == "bench-latest.json" and len(files) == 2
    result = json.loads(files[0].read_text(encoding="utf-8"))
    assert result == json.loads(files[1].read_text(encoding="utf-8"))
    assert result["profile"] == "embedded" and result["machine"]["cores"] >= 1
    assert result["closed_loop"]["assistant"]["messages_answered"] > 0
    assert result["open_loop"]["assistant"]["errors"] == 0
    assert result["closed_loop_ratio"] is None  # no reference in this run
    by_name = {t["name"]: t for t in result["targets"]}
    assert any("p95 <= 300 ms" in name and t["met"] is True for name, t in by_name.items())


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.10:5005",
        "http://example.org",
        "http://127.0.0.1.example.org:5005",
        "ftp://127.0.0.1:5005",
    ],
)
def test_a_url_not_on_this_machine_is_refused(url: str, capsys) -> None:
    with pytest.raises(NotLoopbackError):
        require_loopback(url)
    with pytest.raises(NotLoopbackError):
        asyncio.run(closed_loop(url, [("a",)], residents=1, duration=1, timeout=1, seed=1))
    with pytest.raises(NotLoopbackError):
        asyncio.run(open_loop(url, [("a",)], rate=1, duration=1, timeout=1, seed=1))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--url", url, "--skip-reference"])
    assert exit_.value.code == 2
    assert "on this machine" in capsys.readouterr().err
