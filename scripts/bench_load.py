"""The load of `make bench`: simulated residents sending scripted conversations to a Rasa server.

Two loads, both over Rasa's REST channel (POST <url>/webhooks/rest/webhook), both seeded:

- Closed loop (`closed_loop`): N residents, each sending its next message as soon as the previous
  one is answered, for D seconds. This finds the saturation throughput (messages per second); its
  latencies are those of a server that is kept exactly full, from send to answer.
- Open loop (`open_loop`): conversations arrive as a Poisson process, each resident pausing a
  think time between turns, so that messages arrive at R per second on average whatever the server
  does. The whole timetable is drawn beforehand (`open_loop_schedule`). Latency is measured from
  the time a message was *scheduled*: a resident cannot type before the previous answer arrived,
  so when an answer is late the next message goes out late, and that wait is counted as latency
  of the late message instead of being hidden ("coordinated omission").

A conversation is a script (a tuple of texts) sent with a new sender id, over a connection of its
own (as from a resident's browser, so a server's workers share the residents as they would in
service) and from a client address of its own (X-Forwarded-For, honoured when the server trusts
one proxy), so per-address rate limits see residents, not the load generator. Only loopback URLs
are accepted: this is a load test for one's own machine. Every phase ends by a hard deadline:
what has not been answered by then is counted as an error, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import statistics
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from assistant.stack import Stack, free_ports, running_stack

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_THINK_TIME = (2.0, 8.0)  # seconds a resident reads and types between turns
# Extra seconds after the per-message timeout before a phase is cut off: the tasks' own bookkeeping.
DEADLINE_SLACK = 5.0
# The client closes idle connections well before Sanic's 5 s keep-alive does, so a request is
# never sent on a connection the server is closing at that moment (a client artefact, not an
# error of the server under test).
KEEPALIVE_SECONDS = 1.0
UNANSWERED = "unanswered at the phase deadline"

Script = tuple[str, ...]


class NotLoopbackError(ValueError):
    """The URL is not an http(s) address on this machine."""


def require_loopback(url: str) -> str:
    """`url` without a trailing slash; NotLoopbackError unless it is http(s) on loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise NotLoopbackError(
            f"{url!r} is not an http(s) address on this machine (e.g. http://127.0.0.1:5005)"
        )
    return url.rstrip("/")


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of `values` (NaN for none); the same method for every figure."""
    if not values:
        nan = float("nan")
        return {"p50": nan, "p95": nan, "p99": nan, "max": nan}
    if len(values) == 1:
        only = values[0]
        return {"p50": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


@dataclass
class Sample:
    """One message: when it was due (seconds after the phase started) and what became of it."""

    scheduled: float
    latency: float | None  # seconds from `scheduled` to the whole answer; None when it failed
    error: str | None = None
    empty: bool = False
    # When it actually went out: later than `scheduled` when the previous answer came late.
    sent: float | None = None


@dataclass
class PhaseResult:
    """What one load did against one server."""

    load: str  # "closed" or "open"
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0  # the event loop's clock (time.monotonic) when the phase began
    elapsed: float = 0.0  # seconds from the start to the last answer (or the deadline)
    conversations: int = 0  # conversations whose every message was answered
    hit_deadline: bool = False

    @property
    def latencies(self) -> list[float]:
        return [s.latency for s in self.samples if s.latency is not None and s.error is None]

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> Counter[str]:
        return Counter(s.error for s in self.samples if s.error is not None)

    @property
    def error_count(self) -> int:
        return sum(1 for s in self.samples if s.error is not None)

    @property
    def empty_replies(self) -> int:
        return sum(1 for s in self.samples if s.empty and s.error is None)

    @property
    def max_send_lag(self) -> float:
        """The longest a message waited past its due time before going out (open loop)."""
        lags = [s.sent - s.scheduled for s in self.samples if s.sent is not None]
        return max(lags, default=0.0)

    @property
    def messages_per_second(self) -> float:
        return self.answered / self.elapsed if self.elapsed > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """The figures as JSON values (milliseconds for latencies; NaN becomes None)."""
        ms = {k: _finite(v * 1000) for k, v in percentiles(self.latencies).items()}
        return {
            "load": self.load,
            "elapsed_seconds": round(self.elapsed, 3),
            "messages_sent": len(self.samples),
            "messages_answered": self.answered,
            "messages_per_second": _finite(self.messages_per_second),
            "latency_ms": {k: None if v is None else round(v, 1) for k, v in ms.items()},
            "sent_late_ms_max": _finite(round(self.max_send_lag * 1000, 1)),
            "empty_replies": self.empty_replies,
            "errors": self.error_count,
            "errors_by_kind": dict(self.errors.most_common()),
            "conversations_finished": self.conversations,
            "hit_deadline": self.hit_deadline,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def merged(results: Sequence[PhaseResult]) -> PhaseResult:
    """Several stretches of one load on one server as one result (elapsed times add up)."""
    if not results:
        raise ValueError("nothing to merge")
    whole = PhaseResult(load=results[0].load, started=results[0].started)
    for part in results:
        if part.load != whole.load:
            raise ValueError("cannot merge a closed loop with an open loop")
        whole.samples.extend(part.samples)
        whole.elapsed += part.elapsed
        whole.conversations += part.conversations
        whole.hit_deadline = whole.hit_deadline or part.hit_deadline
    return whole


# --- the open loop's timetable ----------------------------------------------------------------


@dataclass(frozen=True)
class PlannedConversation:
    """A conversation of the open loop: which script, and when each of its messages is due."""

    number: int
    script: int  # index into the scripts
    due: tuple[float, ...]  # seconds after the phase start, ascending, all within the window


def open_loop_schedule(
    script_lengths: Sequence[int],
    *,
    rate: float,
    duration: float,
    seed: int,
    think_time: tuple[float, float] = DEFAULT_THINK_TIME,
) -> list[PlannedConversation]:
    """The timetable of an open loop: messages due at `rate` per second on average in [0, duration).

    Conversations arrive as a Poisson process at rate / (mean script length), each picking a
    script uniformly; between two messages of a conversation lies a think time drawn uniformly
    from `think_time`. Arrivals start before 0, as far back as the longest conversation lasts, so
    the window opens on a busy hour already under way rather than on an empty system: a
    conversation under way at 0 joins with the messages still due, and one running past the end
    is cut off. (A joining conversation sends its script from the beginning, so that each one
    opens with a greeting.) Only the lengths matter here, so two servers given scripts of the
    same lengths get the same timetable.
    """
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    if not script_lengths or min(script_lengths) < 1:
        raise ValueError("every script needs at least one message")
    low, high = think_time
    if not 0 <= low <= high:
        raise ValueError("think time must be a range 0 <= low <= high")
    choose = random.Random(f"open-loop/{seed}")
    arrivals_per_second = rate / statistics.fmean(script_lengths)
    lead = (max(script_lengths) - 1) * high  # the longest a conversation can last
    planned: list[PlannedConversation] = []
    arrival = -lead
    number = 0
    while True:
        arrival += choose.expovariate(arrivals_per_second)
        if arrival >= duration:
            return planned
        script = choose.randrange(len(script_lengths))
        times = [arrival]
        for _ in range(script_lengths[script] - 1):
            times.append(times[-1] + choose.uniform(low, high))
        due = tuple(t for t in times if 0 <= t < duration)
        if due:
            planned.append(PlannedConversation(number, script, due))
            number += 1


# --- sending ------------------------------------------------------------------------------------


class _Target:
    """A Rasa server's REST webhook for one phase; each conversation gets a client of its own."""

    def __init__(self, url: str, metadata: Mapping[str, str], run: str, timeout: float) -> None:
        self.webhook = f"{url}/webhooks/rest/webhook"
        self.metadata = dict(metadata)
        self.run = run  # new for every run: a server that keeps trackers sees new conversations
        self.timeout = timeout

    def client(self) -> aiohttp.ClientSession:
        """One resident's browser: its own connection for the conversation, closed at its end.

        A pool shared by all residents would pin every resident to the few connections opened in
        the first burst, and so to whichever server worker happened to accept them.
        """
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=KEEPALIVE_SECONDS)
        return aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
        )

    async def send(
        self, client: aiohttp.ClientSession, sender: str, text: str, address: str
    ) -> tuple[str | None, bool]:
        """Send one message; return (error kind or None, whether the answer was empty)."""
        try:
            async with client.post(
                self.webhook,
                json={"sender": sender, "message": text, "metadata": self.metadata},
                headers={"X-Forwarded-For": address},
            ) as response:
                if response.status != 200:
                    return f"HTTP {response.status}", False
                replies = await response.json(content_type=None)
        except asyncio.TimeoutError:
            return "timeout", False
        except aiohttp.ClientError as error:
            return type(error).__name__, False
        except ValueError:
            return "invalid JSON", False
        if not isinstance(replies, list):
            return "answer is not a list", False
        return None, not replies


@contextlib.contextmanager
def stack_for_load(model: Path, **options: Any) -> Iterator[Stack]:
    """The assistant (assistant/stack.py) on free ports for a load. Rasa trusts one proxy, so
    each simulated resident's X-Forwarded-For counts as their address in the rate limits.
    `options` go to running_stack (profile, workers, instances)."""
    rasa_port, action_port, demo_port = free_ports(3)
    with running_stack(
        model,
        rasa_port=rasa_port,
        action_port=action_port,
        demo_port=demo_port,
        env_overrides={"SANIC_PROXIES_COUNT": "1"},
        **options,
    ) as stack:
        yield stack


def resident_address(number: int) -> str:
    """A private address per conversation (reported in a header, never contacted)."""
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


async def run_bounded(
    jobs: list[asyncio.Task[None]], deadline: float, loop: asyncio.AbstractEventLoop
) -> bool:
    """Wait for `jobs` until `deadline` (loop time); cancel the rest. True when cut off."""
    if not jobs:
        return False
    done, pending = await asyncio.wait(jobs, timeout=max(0.0, deadline - loop.time()))
    for job in pending:
        job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*pending, return_exceptions=True)
    for job in done:
        job.result()  # a bug in the load generator surfaces instead of looking like a quiet run
    return bool(pending)


async def closed_loop(
    url: str,
    scripts: Sequence[Script],
    *,
    residents: int,
    duration: float,
    timeout: float,
    seed: int,
    metadata: Mapping[str, str] | None = None,
) -> PhaseResult:
    """`residents` residents, no think time, for `duration` seconds; latency from send to answer.

    Each resident runs seeded random scripts one after the other, each conversation with a new
    sender id and address. Nobody starts a message after `duration`; the answers then under way
    get the per-message `timeout`, after which the phase is cut off.
    """
    url = require_loopback(url)
    if residents < 1 or duration <= 0 or timeout <= 0:
        raise ValueError("residents, duration and timeout must be positive")
    result = PhaseResult(load="closed")
    loop = asyncio.get_running_loop()
    run = uuid.uuid4().hex[:10]
    numbers = iter(range(1 << 24))
    target = _Target(url, metadata or {}, run, timeout)
    started = result.started = loop.time()
    stop_sending = started + duration

    async def conversation(script: Script, number: int) -> bool:
        """Whether every message was answered; False also when cut off by the end of sending."""
        sender = f"bench-{run}-c{number}"
        answered_all = True
        async with target.client() as client:
            for text in script:
                if loop.time() >= stop_sending:
                    return False
                now = loop.time() - started
                # Recorded before sending, so a message cut off by the deadline counts.
                sample = Sample(scheduled=now, latency=None, error=UNANSWERED, sent=now)
                result.samples.append(sample)
                error, empty = await target.send(client, sender, text, resident_address(number))
                sample.latency = loop.time() - started - sample.scheduled
                sample.error, sample.empty = error, empty
                answered_all = answered_all and error is None
        return answered_all

    async def resident(n: int) -> None:
        choose = random.Random(f"closed-loop/{seed}/{n}")
        while loop.time() < stop_sending:
            script = scripts[choose.randrange(len(scripts))]
            result.conversations += await conversation(script, next(numbers))

    jobs = [asyncio.ensure_future(resident(n)) for n in range(residents)]
    result.hit_deadline = await run_bounded(jobs, stop_sending + timeout + DEADLINE_SLACK, loop)
    result.elapsed = loop.time() - started
    return result


async def open_loop(
    url: str,
    scripts: Sequence[Script],
    *,
    rate: float,
    duration: float,
    timeout: float,
    seed: int,
    think_time: tuple[float, float] = DEFAULT_THINK_TIME,
    metadata: Mapping[str, str] | None = None,
) -> PhaseResult:
    """Messages due at `rate` per second for `duration` seconds (`open_loop_schedule`).

    A message goes out at its due time, or when the answer to the conversation's previous message
    arrives if that is later; its latency runs from the due time to its answer. Answers still
    outstanding `timeout` seconds after the window are counted as errors.
    """
    url = require_loopback(url)
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    plan = open_loop_schedule(
        [len(s) for s in scripts], rate=rate, duration=duration, seed=seed, think_time=think_time
    )
    result = PhaseResult(load="open")
    loop = asyncio.get_running_loop()
    run = uuid.uuid4().hex[:10]
    target = _Target(url, metadata or {}, run, timeout)
    started = result.started = loop.time()

    async def conversation(planned: PlannedConversation) -> None:
        sender = f"bench-{run}-o{planned.number}"
        address = resident_address(planned.number)
        answered_all = True
        async with target.client() as client:
            for due, text in zip(planned.due, scripts[planned.script], strict=False):
                delay = started + due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # the resident's timetable, not the server
                sample = Sample(
                    scheduled=due, latency=None, error=UNANSWERED, sent=loop.time() - started
                )
                result.samples.append(sample)
                error, empty = await target.send(client, sender, text, address)
                sample.latency = loop.time() - started - due
                sample.error, sample.empty = error, empty
                answered_all = answered_all and error is None
        result.conversations += answered_all

    jobs = [asyncio.ensure_future(conversation(p)) for p in plan]
    result.hit_deadline = await run_bounded(
        jobs, started + duration + timeout + DEADLINE_SLACK, loop
    )
    result.elapsed = max(duration, loop.time() - started)
    # Messages never sent because the phase was cut off count as unanswered too.
    sent = len(result.samples)
    due_total = sum(len(p.due) for p in plan)
    result.samples.extend(
        Sample(scheduled=float("nan"), latency=None, error=UNANSWERED)
        for _ in range(due_total - sent)
    )
    return result


async def warm_up(
    url: str,
    scripts: Sequence[Script],
    *,
    timeout: float,
    metadata: Mapping[str, str] | None = None,
) -> list[str]:
    """Conversations sent before measuring, all at once, so first-request costs (lazy loading,
    graph tracing) in every worker process are not charged to the load; returns the errors."""
    url = require_loopback(url)
    target = _Target(url, metadata or {}, uuid.uuid4().hex[:10], timeout)
    errors: list[str] = []

    async def conversation(number: int, script: Script) -> None:
        sender = f"bench-warm-up-{target.run}-{number}"
        async with target.client() as client:
            for text in script:
                error, _ = await target.send(client, sender, text, f"10.255.255.{number + 1}")
                if error:
                    errors.append(error)

    await asyncio.gather(*(conversation(n, s) for n, s in enumerate(scripts)))
    return errors
