"""`make bench`: simulated residents chatting with the assistant at the same time.

Each simulated resident runs scripted Dutch conversations (greeting, a question or two, thanks,
goodbye; some out of scope) one after the other, each conversation with a new sender id, over
Rasa's REST channel (POST /webhooks/rest/webhook). The run prints messages per second, turn
latency percentiles (time from sending a message to receiving all answers) and errors.

Against the assistant at --url (default: the local Rasa from RASA_PORT, http://127.0.0.1:5005).
Without --url, when nothing answers there, the script starts its own stack on free ports
(assistant/stack.py) and stops it afterwards. Only loopback addresses are accepted: this is a
load test for one's own machine, not for someone else's server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a file (python scripts/bench.py), not as a module

from assistant.settings import ConfigError, load_settings  # noqa: E402
from assistant.stack import Stack, StackError, free_ports, running_stack  # noqa: E402

MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# What residents type, as they type it: lower case, missing punctuation, spoken fillers.
# No personal data (BSN, phone numbers, e-mail addresses): these messages end up in logs.
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("goedemorgen", "wat kost een paspoort?", "dank u wel", "tot ziens"),
    ("hallo", "mijn paspoort is verlopen", "wat moet ik meenemen", "bedankt", "doei"),
    ("hoi", "wanneer wordt het grofvuil opgehaald", "mijn container is niet geleegd", "dankjewel"),
    ("goedemiddag", "wat kost een id kaart", "paspoort", "top, bedankt", "fijne dag nog"),
    ("goedemiddag", "kan ik morgen langskomen voor een paspoort", "ja", "dank u", "tot ziens"),
    ("eh hallo", "mijn rijbewijs is gestolen wat moet ik doen", "wat kost een nieuwe", "bedankt"),
    ("goedenavond", "de lantaarnpaal in onze straat is kapot", "hoe laat is het stadskantoor open"),
    ("hoi", "ben jij een robot?", "wat kost een identiteitskaart", "dank je wel", "doei"),
    ("hallo", "ik ga verhuizen", "hoe staat het met mijn aanvraag ZAAK-2026-0000123", "ok dank u"),
    ("hallo", "mag ik zomaar een schutting plaatsen", "hoe vraag ik een parkeervergunning aan"),
    ("hallo", "wat voor weer wordt het morgen?", "hoe vraag ik zorgtoeslag aan", "laat maar, doei"),
    ("goedemorgen", "kun je een sollicitatiebrief voor me schrijven", "nee", "tot ziens"),
    ("hallo", "ik wil iemand spreken", "dank u"),
    ("hoi", "waar kan ik met oud ijzer en grofvuil heen", "en wanneer is de milieustraat open"),
)


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds per turn that succeeded
    errors: Counter[str] = field(default_factory=Counter)
    empty_replies: int = 0
    conversations: int = 0


def _reachable(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/", timeout=3) as response:
            return "Hello from Rasa" in response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return False


async def _turn(
    session: aiohttp.ClientSession,
    webhook: str,
    sender: str,
    text: str,
    metadata: dict[str, str],
    address: str,
) -> tuple[float, str | None, bool]:
    """Send one message; return (latency, error kind or None, whether the reply was empty)."""
    started = time.perf_counter()
    try:
        async with session.post(
            webhook,
            json={"sender": sender, "message": text, "metadata": metadata},
            # Each simulated resident has an address of their own (honoured when Rasa trusts a
            # proxy, SANIC_PROXIES_COUNT=1, as the stack this script starts does).
            headers={"X-Forwarded-For": address},
        ) as response:
            if response.status != 200:
                return time.perf_counter() - started, f"HTTP {response.status}", False
            replies = await response.json(content_type=None)
    except asyncio.TimeoutError:
        return time.perf_counter() - started, "timeout", False
    except aiohttp.ClientError as error:
        return time.perf_counter() - started, type(error).__name__, False
    except ValueError:
        return time.perf_counter() - started, "invalid JSON", False
    latency = time.perf_counter() - started
    if not isinstance(replies, list):
        return latency, "reply is not a list", False
    return latency, None, not replies


async def _resident(
    number: int,
    session: aiohttp.ClientSession,
    webhook: str,
    metadata: dict[str, str],
    deadline: float,
    think_time: float,
    seed: int,
    results: Results,
) -> None:
    choose = random.Random(seed * 1000 + number)
    while time.perf_counter() < deadline:
        sender = f"bench-{number}-{uuid.uuid4().hex[:12]}"
        for text in choose.choice(SCRIPTS):
            if time.perf_counter() >= deadline:
                return
            latency, error, empty = await _turn(
                session, webhook, sender, text, metadata, f"10.0.{number // 250}.{number % 250 + 1}"
            )
            if error:
                results.errors[error] += 1
            else:
                results.latencies.append(latency)
                results.empty_replies += empty
            if think_time:
                await asyncio.sleep(think_time)  # a resident reading the answer, not timing
        results.conversations += 1


async def run_load(
    rasa_url: str,
    *,
    concurrency: int,
    duration: float,
    think_time: float,
    timeout: float,
    municipality: str,
    seed: int,
) -> tuple[Results, float]:
    results = Results()
    webhook = f"{rasa_url}/webhooks/rest/webhook"
    connector = aiohttp.TCPConnector(limit=concurrency)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(
            *(
                _resident(
                    n,
                    session,
                    webhook,
                    {"municipality": municipality},
                    deadline,
                    think_time,
                    seed,
                    results,
                )
                for n in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
    return results, elapsed


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if len(values) < 2:
        only = values[0] if values else float("nan")
        return {"p50": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


def report(results: Results, elapsed: float, args: argparse.Namespace, url: str) -> str:
    turns = len(results.latencies)
    errors = sum(results.errors.values())
    ms = {k: v * 1000 for k, v in _percentiles(results.latencies).items()}
    lines = [
        f"Load test against {url}",
        f"  residents (concurrent):  {args.concurrency}",
        f"  duration:                {elapsed:.1f} s (asked {args.duration:.0f} s)",
        f"  think time between turns:{args.think_time:>6.2f} s",
        f"  conversations finished:  {results.conversations}",
        f"  messages answered:       {turns}",
        f"  messages per second:     {turns / elapsed:.1f}" if elapsed else "",
        f"  turn latency p50:        {ms['p50']:.0f} ms",
        f"  turn latency p95:        {ms['p95']:.0f} ms",
        f"  turn latency p99:        {ms['p99']:.0f} ms",
        f"  turn latency max:        {ms['max']:.0f} ms",
        f"  empty replies:           {results.empty_replies}",
        f"  errors:                  {errors}"
        + (
            f"  ({', '.join(f'{k}: {v}' for k, v in results.errors.most_common())})"
            if errors
            else ""
        ),
    ]
    return "\n".join(line for line in lines if line)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="Rasa server (default: http://127.0.0.1:RASA_PORT)")
    parser.add_argument("--concurrency", type=int, default=20, help="simulated residents (20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--think-time", type=float, default=0.0, help="pause between turns (0)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per message (60)")
    parser.add_argument("--seed", type=int, default=2026, help="which scripts residents pick")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 200:
        parser.error("--concurrency must be between 1 and 200")
    if not 1 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    if not 0 <= args.think_time <= 60:
        parser.error("--think-time must be between 0 and 60 seconds")
    if not 1 <= args.timeout <= 600:
        parser.error("--timeout must be between 1 and 600 seconds")
    if args.url is not None:
        parts = urlsplit(args.url)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
            parser.error(
                "--url must be an http(s) address on this machine, e.g. http://127.0.0.1:5005"
            )
        args.url = args.url.rstrip("/")
    return args


@contextlib.contextmanager
def _target(args: argparse.Namespace, default_url: str) -> Iterator[str]:
    """The Rasa URL to load: the given or running one, else a stack started for this run."""
    url = args.url or default_url
    if _reachable(url):
        yield url
        return
    if args.url:
        raise StackError(f"No Rasa server answers at {url}. Start it with `make run`.")
    print(f"No assistant answers at {url}; starting one on free ports for this run...", flush=True)
    rasa_port, action_port, demo_port = free_ports(3)
    stack: Stack
    with running_stack(
        MODEL_PATH,
        rasa_port=rasa_port,
        action_port=action_port,
        demo_port=demo_port,
        env_overrides={"SANIC_PROXIES_COUNT": "1"},
    ) as stack:
        yield stack.rasa_url


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Invalid setting: {error}", file=sys.stderr)
        return 2
    try:
        with _target(args, settings.rasa_url) as url:
            print(f"{args.concurrency} residents chatting for {args.duration:.0f} s...", flush=True)
            results, elapsed = asyncio.run(
                run_load(
                    url,
                    concurrency=args.concurrency,
                    duration=args.duration,
                    think_time=args.think_time,
                    timeout=args.timeout,
                    municipality=settings.default_municipality,
                    seed=args.seed,
                )
            )
    except StackError as error:
        print(f"Could not reach or start the assistant:\n{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print(report(results, elapsed, args, url))
    return 1 if sum(results.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
