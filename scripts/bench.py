"""`make bench`: the assistant's speed as a ratio against bare Rasa, measured in the same run.

The machines are shared and noisy, so a figure on its own says little. This run starts a bare
`rasa init` bot from the same environment (scripts/bench_reference.py) next to the assistant and
drives both with the same load (scripts/bench_load.py), one server at a time:

1. closed loop: --concurrency residents (20) without think time for --duration seconds on each:
   saturation throughput, and the ratio assistant/reference of messages per second;
2. open loop: messages arriving at --rate per second (25) from residents who think 2-8 s between
   turns, for --duration seconds on each: turn latency p50/p95/p99 at a municipality's busy
   hour, measured from the time each message was due, so a server falling behind cannot hide it.

Each load is split into --rounds turns (2) taken in ABBA order, so a busy spell of the shared
machine falls on both servers; before each turn the bench waits (at most a minute) until its
servers have worked off the previous one, and it reports where the CPU went during each load
(scripts/bench_machine.py): its servers, its own load generator, other programs.

The assistant is sent the Dutch resident conversations below; the reference conversations of the
same lengths from its own domain, so both handle as many messages per conversation. The assistant
is its own stack started for this run (assistant/stack.py, --profile embedded or production), or
the one at --url. It prints both figures side by side and whether the issue's targets are met,
and writes them as JSON to results/bench-<time>.json and results/bench-latest.json. Only loopback
addresses are accepted, every phase ends by a hard deadline, and the exit status is 1 when any
message failed (the targets are reported, not enforced).

With --kill it runs the kill test instead (scripts/bench_kill.py): the production profile with
two Rasa instances, --concurrency residents on the web chat for --duration seconds, one instance
killed (SIGKILL) a third of the way in; it reports messages sent, answered, lost and duplicated
and the time to recover, writes results/bench-kill-<time>.json and bench-kill-latest.json, and
exits 1 when a message was lost or answered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a file (python scripts/bench.py), not as a module

from assistant.settings import ConfigError, load_settings  # noqa: E402
from assistant.stack import StackError, free_ports  # noqa: E402
from scripts.bench_kill import (  # noqa: E402
    KILL_AT,
    KILL_THINK_TIME,
    KillRun,
    run_against_the_assistant,
)
from scripts.bench_load import (  # noqa: E402
    DEFAULT_THINK_TIME,
    NotLoopbackError,
    PhaseResult,
    Script,
    closed_loop,
    merged,
    open_loop,
    require_loopback,
    stack_for_load,
    warm_up,
)
from scripts.bench_machine import CpuMeter, settle  # noqa: E402
from scripts.bench_reference import (  # noqa: E402
    ReferenceBotError,
    reference_scripts,
    running_reference,
)

MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"
RESULTS_DIR = REPO_ROOT / "results"
PROFILES = ("embedded", "production")

# What residents type, as they type it: lower case, missing punctuation, spoken fillers.
# No personal data (BSN, phone numbers, e-mail addresses): these messages end up in logs.
SCRIPTS: tuple[Script, ...] = (
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
REFERENCE_SCRIPTS: tuple[Script, ...] = reference_scripts(SCRIPTS)
ASSISTANT_SENT = (
    f"the {len(SCRIPTS)} Dutch resident conversations of scripts/bench.py, 3-5 messages each "
    "(greetings, fees and documents, waste, a report, opening hours, a case number, asking for "
    "a person, out of scope)"
)
REFERENCE_SENT = (
    "conversations of the same lengths from rasa init's domain (greet, a mood, yes/no, "
    "'are you a bot?', goodbye)"
)

# The targets (issue 9): closed-loop ratio per profile, open-loop latency at 25/s.
RATIO_GOAL = {"embedded": 1.0, "production": 2.0}
OPEN_LOOP_RATE = 25.0
P95_GOAL_MS = 300.0
P99_GOAL_MS = 600.0

NAMES = ("assistant", "reference")
# Conversations sent at once before measuring: enough to reach every worker of a small machine.
WARM_UP = 4
# At most this many seconds of waiting, before each turn, for the servers to work off the last.
SETTLE_SECONDS = 60.0


@dataclass
class Run:
    """Everything measured in one bench run."""

    started: dt.datetime
    args: argparse.Namespace
    assistant: str = ""  # how the assistant ran
    reference: str = ""  # which reference
    workers: dict[str, int] = field(default_factory=dict)  # of a stack this run started
    warm_up_errors: dict[str, list[str]] = field(default_factory=dict)
    closed: dict[str, PhaseResult] = field(default_factory=dict)
    open: dict[str, PhaseResult] = field(default_factory=dict)
    # Where the CPU went during each load on each server, and the waits for servers to settle.
    cpu: dict[str, dict[str, CpuMeter]] = field(default_factory=dict)
    settling: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        phases = [*self.closed.values(), *self.open.values()]
        warm = sum(len(e) for e in self.warm_up_errors.values())
        return warm + sum(p.error_count for p in phases)

    @property
    def ratio(self) -> float | None:
        if "reference" not in self.closed or "assistant" not in self.closed:
            return None
        reference = self.closed["reference"].messages_per_second
        if not reference or not math.isfinite(reference):
            return None
        return self.closed["assistant"].messages_per_second / reference

    def targets(self) -> list[dict[str, Any]]:
        """The issue's targets: goal, measured value and whether met (None: not measured)."""
        profile = self.args.profile
        goal = RATIO_GOAL[profile]
        ratio = self.ratio
        targets = [
            {
                "name": f"closed loop: assistant >= {goal:g}x the reference's messages/s "
                f"({profile} profile)",
                "goal": goal,
                "value": None if ratio is None else round(ratio, 3),
                "met": None if ratio is None else ratio >= goal,
                "unit": "x",
                "note": "" if ratio is not None else "no reference in this run: --skip-reference",
            }
        ]
        opened = self.open.get("assistant")
        judged = opened is not None and self.args.rate >= OPEN_LOOP_RATE
        note = (
            ""
            if judged
            else f"not judged: the target is set at {OPEN_LOOP_RATE:g} messages/s, "
            f"this run offered {self.args.rate:g}"
        )
        summary = opened.summary() if opened else {}
        latency = summary.get("latency_ms", {})
        for key, limit in (("p95", P95_GOAL_MS), ("p99", P99_GOAL_MS)):
            value = latency.get(key)
            targets.append(
                {
                    "name": f"open loop at {OPEN_LOOP_RATE:g} messages/s: {key} <= {limit:g} ms",
                    "goal": limit,
                    "value": value,
                    "unit": "ms",
                    "met": (value is not None and value <= limit) if judged else None,
                    "note": note,
                }
            )
        errors = summary.get("errors")
        targets.append(
            {
                "name": f"open loop at {OPEN_LOOP_RATE:g} messages/s: 0 errors",
                "goal": 0,
                "value": errors,
                "unit": "",
                "met": (errors == 0) if judged else None,
                "note": note,
            }
        )
        return targets

    def summary(self, load: str, name: str) -> dict[str, Any]:
        """One server's figures under one load, with where the CPU went meanwhile."""
        result = (self.closed if load == "closed" else self.open)[name]
        meter = self.cpu.get(load, {}).get(name)
        shares = meter.shares() if meter else None
        return {**result.summary(), "cpu_share_of_all_cores": shares and shares.as_json()}

    def as_json(self) -> dict[str, Any]:
        args = self.args
        return {
            "started": self.started.isoformat(timespec="seconds"),
            "profile": args.profile,
            "assistant": self.assistant,
            "workers": self.workers,
            "reference": self.reference,
            "machine": _machine(),
            "options": {
                "duration_seconds": args.duration,
                "concurrency": args.concurrency,
                "rate": args.rate,
                "think_time_seconds": list(DEFAULT_THINK_TIME),
                "timeout_seconds": args.timeout,
                "seed": args.seed,
                "url": args.url,
                "skip_reference": args.skip_reference,
                "rounds": args.rounds,
            },
            "sent": {"assistant": ASSISTANT_SENT, "reference": REFERENCE_SENT},
            "scripts": {"assistant": SCRIPTS, "reference": REFERENCE_SCRIPTS},
            "warm_up_errors": self.warm_up_errors,
            "closed_loop": {name: self.summary("closed", name) for name in self.closed},
            "open_loop": {name: self.summary("open", name) for name in self.open},
            "settling": self.settling,
            "closed_loop_ratio": None if self.ratio is None else round(self.ratio, 3),
            "targets": self.targets(),
            "errors": self.error_count,
        }


def _machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        # The load average before the run says how busy the shared machine already was.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


# --- printing ----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _table(run: Run, load: str, rows: list[tuple[str, str]]) -> list[str]:
    results = run.closed if load == "closed" else run.open
    names = [name for name in NAMES if name in results]
    summaries = {name: run.summary(load, name) for name in names}
    lines = [" " * 26 + "".join(f"{name:>14}" for name in names)]
    for label, key in rows:
        cells = []
        for name in names:
            summary = summaries[name]
            if key.startswith("cpu."):
                shares = summary["cpu_share_of_all_cores"] or {}
                cells.append(_percent(shares.get(key.split(".", 1)[1])))
            elif key == "sent_late_ms_max":
                cells.append(_ms(summary[key]))
            elif key.startswith("latency_ms."):
                cells.append(_ms(summary["latency_ms"][key.split(".", 1)[1]]))
            elif key == "messages_per_second":
                rate = summary[key]
                cells.append("-" if rate is None else f"{rate:.1f}")
            else:
                cells.append(str(summary[key]))
        lines.append(f"  {label + ':':<24}" + "".join(f"{cell:>14}" for cell in cells))
    for name in names:
        kinds = summaries[name]["errors_by_kind"]
        if kinds:
            listed = ", ".join(f"{kind}: {count}" for kind, count in kinds.items())
            lines.append(f"  {name} errors by kind: {listed}")
        if summaries[name]["hit_deadline"]:
            lines.append(f"  {name}: cut off at a phase's hard deadline")
    return lines


# Where the CPU went while a server was loaded: shares of all the machine's cores.
CPU_ROWS = [
    ("CPU busy (all cores)", "cpu.machine_busy"),
    ("  servers of this run", "cpu.servers"),
    ("  load generator", "cpu.load_generator"),
    ("  other programs", "cpu.others"),
]


def report(run: Run) -> str:
    args = run.args
    machine = _machine()
    indent = " " * 13
    lines = [
        f"Bench {run.started:%Y-%m-%d %H:%M} UTC, profile {args.profile}, "
        f"{machine['usable_cores']} cores, seed {args.seed}",
        f"  assistant: {run.assistant}",
        textwrap.fill(
            f"sent {ASSISTANT_SENT}", 100, initial_indent=indent, subsequent_indent=indent
        ),
    ]
    if run.reference:
        lines += [
            f"  reference: {run.reference}",
            textwrap.fill(
                f"sent {REFERENCE_SENT}", 100, initial_indent=indent, subsequent_indent=indent
            ),
        ]
    if args.url:
        lines.append(
            "  (the assistant at --url is no process of this run: its CPU counts as other programs)"
        )
    unsettled = [entry for entry in run.settling if not entry["quiet"]]
    if unsettled:
        lines.append(
            f"  the servers were still busy before {len(unsettled)} turn(s) after waiting "
            f"{SETTLE_SECONDS:g} s: a backlog of the previous turn slowed those"
        )
    for name, errors in run.warm_up_errors.items():
        if errors:
            lines.append(f"  {name} warm-up errors: {', '.join(errors)}")
    if run.closed:
        lines += [
            "",
            f"Closed loop: {args.concurrency} residents, no think time, {args.duration:g} s on "
            f"each server in {args.rounds} turns (saturation throughput; latency from send to "
            "answer)",
            *_table(
                run,
                "closed",
                [
                    ("messages answered", "messages_answered"),
                    ("messages per second", "messages_per_second"),
                    ("turn latency p50", "latency_ms.p50"),
                    ("turn latency p95", "latency_ms.p95"),
                    ("turn latency p99", "latency_ms.p99"),
                    ("turn latency max", "latency_ms.max"),
                    ("empty replies", "empty_replies"),
                    ("errors", "errors"),
                    *CPU_ROWS,
                ],
            ),
        ]
        if run.ratio is not None:
            lines.append(f"  throughput assistant/reference: {run.ratio:.2f}x")
    if run.open:
        low, high = DEFAULT_THINK_TIME
        lines += [
            "",
            f"Open loop: messages arriving at {args.rate:g}/s (Poisson conversations, think time "
            f"{low:g}-{high:g} s), {args.duration:g} s on each server in {args.rounds} turns "
            "(latency from the time a message was due)",
            *_table(
                run,
                "open",
                [
                    ("messages due", "messages_sent"),
                    ("messages answered", "messages_answered"),
                    ("messages per second", "messages_per_second"),
                    ("turn latency p50", "latency_ms.p50"),
                    ("turn latency p95", "latency_ms.p95"),
                    ("turn latency p99", "latency_ms.p99"),
                    ("turn latency max", "latency_ms.max"),
                    ("longest send delay", "sent_late_ms_max"),
                    ("empty replies", "empty_replies"),
                    ("errors", "errors"),
                    *CPU_ROWS,
                ],
            ),
        ]
    lines += ["", "Targets (issue 9)"]
    for target in run.targets():
        met = {True: "met", False: "NOT MET", None: "-"}[target["met"]]
        value = target["value"]
        unit = target["unit"]
        if value is None:
            shown = "-"
        elif unit == "x":
            shown = f"{value:.2f}x"
        else:
            shown = f"{value:.0f} {unit}".rstrip()
        note = f" ({target['note']})" if target["note"] else ""
        lines.append(f"  [{met:^7}] {target['name']}: {shown}{note}")
    return "\n".join(lines)


def write_results(run: Run, directory: Path) -> Path:
    return _write_json(run.as_json(), directory, "bench", run.started)


def _write_json(data: dict[str, Any], directory: Path, stem: str, started: dt.datetime) -> Path:
    """`<stem>-<time>.json`, and the same as `<stem>-latest.json`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}-{started:%Y%m%dT%H%M%SZ}.json"
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    latest = directory / f"{stem}-latest.json"
    tmp = latest.with_suffix(".json.tmp")
    shutil.copyfile(path, tmp)
    tmp.replace(latest)  # whole or not at all, for whoever reads it now
    return path


# --- the kill test -------------------------------------------------------------------------------


def kill_targets(run: KillRun) -> list[dict[str, Any]]:
    """The issue's targets for the kill test: nothing lost, nothing answered twice."""
    lost, duplicated = len(run.result.lost), len(run.result.duplicated)
    return [
        {"name": "kill test: 0 messages lost", "goal": 0, "value": lost, "met": lost == 0},
        {
            "name": "kill test: 0 messages answered twice",
            "goal": 0,
            "value": duplicated,
            "met": duplicated == 0,
        },
    ]


def kill_json(run: KillRun, args: argparse.Namespace, started: dt.datetime) -> dict[str, Any]:
    return {
        "started": started.isoformat(timespec="seconds"),
        "test": "kill",
        "profile": args.profile,
        "assistant": run.assistant,
        "workers": run.workers,
        "machine": _machine(),
        "options": {
            "duration_seconds": args.duration,
            "residents": args.concurrency,
            "think_time_seconds": list(KILL_THINK_TIME),
            "kill_after_seconds": round(args.duration * KILL_AT, 1),
            "give_up_after_seconds": run.give_up_after,
            "seed": args.seed,
        },
        "sent": ASSISTANT_SENT,
        "warm_up_errors": run.warm_up_errors,
        **run.result.summary(),
        "targets": kill_targets(run),
    }


def kill_report(run: KillRun, args: argparse.Namespace, started: dt.datetime) -> str:
    figures = run.result.summary()
    indent = " " * 13
    recovery = figures["recovery_seconds"]
    low, high = KILL_THINK_TIME
    lines = [
        f"Kill test {started:%Y-%m-%d %H:%M} UTC, profile {args.profile}, "
        f"{_machine()['usable_cores']} cores, seed {args.seed}",
        textwrap.fill(
            f"assistant: {run.assistant}", 100, initial_indent="  ", subsequent_indent=indent
        ),
        textwrap.fill(
            f"load: {args.concurrency} residents on the web chat for {args.duration:g} s (think "
            f"time {low:g}-{high:g} s), spread over both instances; sent {ASSISTANT_SENT}",
            100,
            initial_indent="  ",
            subsequent_indent=indent,
        ),
        textwrap.fill(
            f"killed at {figures['killed_at_seconds']} s: {figures['killed']}",
            100,
            initial_indent="  ",
            subsequent_indent=indent,
        ),
    ]
    for name, errors in run.warm_up_errors.items():
        if errors:
            lines.append(f"  {name} warm-up errors: {', '.join(errors)}")
    rows = [
        ("conversations", figures["conversations"]),
        ("messages sent", figures["messages_sent"]),
        ("messages answered", figures["messages_answered"]),
        ("LOST", figures["lost"]),
        ("DUPLICATED", figures["duplicated"]),
        (
            "caught by the kill",
            f"{figures['caught_by_the_kill']} ({figures['caught_sent_again']} under way, sent "
            f"again; {figures['caught_found_in_history']} found answered in the history)",
        ),
        (
            "time to recover",
            "-"
            if recovery is None
            else f"{recovery:.1f} s (the longest a message caught by the kill waited)",
        ),
        ("pending acks", figures["pending_acks"]),
        ("reconnects", figures["reconnects"]),
    ]
    lines += ["", *(f"  {label + ':':<24}{value}" for label, value in rows)]
    if figures["errors_by_kind"]:
        listed = ", ".join(f"{kind}: {n}" for kind, n in figures["errors_by_kind"].items())
        lines.append(f"  errors by kind: {listed}")
    if figures["unreadable_histories"]:
        lines.append(
            f"  conversations whose history could not be read: {figures['unreadable_histories']}"
        )
    for key, label in (("lost_ids", "lost"), ("duplicated_ids", "duplicated")):
        if figures[key]:
            lines.append(f"  {label} message ids: {', '.join(figures[key])}")
    if figures["hit_deadline"]:
        lines.append("  cut off at the test's hard deadline")
    lines += ["", "Targets (issue 9)"]
    for target in kill_targets(run):
        met = "met" if target["met"] else "NOT MET"
        lines.append(f"  [{met:^7}] {target['name']}: {target['value']}")
    return "\n".join(lines)


def kill_main(args: argparse.Namespace, municipality: str) -> int:
    started = dt.datetime.now(dt.timezone.utc)
    print("Starting the assistant (production profile, two Rasa instances)...", flush=True)
    try:
        run = run_against_the_assistant(
            MODEL_PATH,
            SCRIPTS,
            residents=args.concurrency,
            duration=args.duration,
            timeout=args.timeout,
            seed=args.seed,
            municipality=municipality,
            sanic_workers=args.sanic_workers,
            action_workers=args.action_workers,
            warm_up_scripts=WARM_UP,
        )
    except StackError as error:
        print(f"Could not start or reach a server:\n{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print()
    print(kill_report(run, args, started))
    path = _write_json(kill_json(run, args, started), args.results_dir, "bench-kill", started)
    print(f"\nResults: {path} (and {path.parent / 'bench-kill-latest.json'})")
    if run.result.failed:
        print("Messages were lost or answered twice: see above.", file=sys.stderr)
        return 1
    return 0


# --- running -------------------------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="embedded",
        help="the assistant's stack: embedded (make run's default, in memory) or production "
        "(Sanic workers, Redis lock store, PostgreSQL tracker store); with --url, the profile "
        "the targets are judged for",
    )
    parser.add_argument("--sanic-workers", type=int, help="Rasa workers (production: one per core)")
    parser.add_argument(
        "--action-workers", type=int, help="action server workers (production: one per 2 cores)"
    )
    parser.add_argument("--url", help="an assistant already running on this machine")
    parser.add_argument("--skip-reference", action="store_true", help="no rasa init reference")
    parser.add_argument("--concurrency", type=int, default=20, help="closed-loop residents (20)")
    parser.add_argument("--rate", type=float, default=25.0, help="open-loop messages/s (25)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (60)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per message (30)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="turns per load, the servers alternating (ABBA), so a busy spell of the shared "
        "machine falls on both (2)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="scripts and timetable (2026)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="for the JSON")
    parser.add_argument(
        "--kill",
        action="store_true",
        help="the kill test instead of the load (needs --profile production): two Rasa "
        "instances, --concurrency residents on the web chat, one instance killed a third of the "
        "way into --duration; reports lost and duplicated messages",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 200:
        parser.error("--concurrency must be between 1 and 200")
    if not 0.1 <= args.rate <= 500:
        parser.error("--rate must be between 0.1 and 500 messages per second")
    if not 1 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if args.duration / args.rounds < 0.5:
        parser.error("--duration must give every turn at least half a second")
    if not 1 <= args.timeout <= 600:
        parser.error("--timeout must be between 1 and 600 seconds")
    if args.url is not None and (args.sanic_workers or args.action_workers):
        parser.error("--sanic-workers and --action-workers are for a stack this run starts")
    if args.profile == "embedded" and (args.sanic_workers or 1) * (args.action_workers or 1) > 1:
        parser.error("several workers need --profile production")
    if args.kill and args.profile != "production":
        parser.error("--kill needs --profile production (instances sharing PostgreSQL and Redis)")
    if args.kill and args.url is not None:
        parser.error("--kill starts (and kills) instances of its own: not with --url")
    if args.url is not None:
        try:
            args.url = require_loopback(args.url)
        except NotLoopbackError:
            parser.error(
                "--url must be an http(s) address on this machine, e.g. http://127.0.0.1:5005"
            )
    return args


def _reachable(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/", timeout=3) as response:
            return "Hello from Rasa" in response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _assistant(args: argparse.Namespace, run: Run) -> Iterator[tuple[str, Any]]:
    """The assistant's URL and, when this run started it, its Stack (for liveness checks)."""
    if args.url:
        if not _reachable(args.url):
            raise StackError(f"No Rasa server answers at {args.url}. Start it with `make run`.")
        run.assistant = f"already running at {args.url} (judged as the {args.profile} profile)"
        yield args.url, None
        return
    print(f"Starting the assistant ({args.profile} profile) on free ports...", flush=True)
    with stack_for_load(
        MODEL_PATH,
        profile=args.profile,
        sanic_workers=args.sanic_workers,
        action_workers=args.action_workers,
    ) as stack:
        run.assistant = (
            f"{args.profile} profile started by this run at {stack.rasa_url}, "
            f"{stack.rasa_workers} Rasa worker(s), {stack.action_workers} action server worker(s)"
        )
        run.workers = {"rasa": stack.rasa_workers, "actions": stack.action_workers}
        yield stack.rasa_url, stack


def _turns(names: Sequence[str], rounds: int, shift: int) -> Iterator[tuple[int, str]]:
    """(round, server) in ABBA order: the first server of a round is the last of the one before,
    so over the rounds neither always runs first, last or right after a start-up."""
    for number in range(rounds):
        order = list(names) if (number + shift) % 2 == 0 else list(reversed(names))
        for name in order:
            yield number, name


def measure(args: argparse.Namespace, run: Run, metadata: dict[str, str]) -> None:
    """Start what is needed, run every phase, stop everything again."""
    with contextlib.ExitStack() as started:
        targets: dict[str, tuple[str, tuple[Script, ...], Any]] = {}
        if not args.skip_reference:
            port = free_ports(1)[0]
            print("Starting the reference bot (rasa init)...", flush=True)
            reference = started.enter_context(running_reference(port))
            run.reference = (
                f"bare `rasa init` bot, Rasa {reference.version}, one process at {reference.url}"
            )
            targets["reference"] = (reference.url, REFERENCE_SCRIPTS, reference)
        url, stack = started.enter_context(_assistant(args, run))
        targets["assistant"] = (url, SCRIPTS, stack)

        def alive() -> None:
            for _, _, process in targets.values():
                if process is not None:
                    process.check_alive()

        for name, (target_url, scripts, _) in targets.items():
            run.warm_up_errors[name] = asyncio.run(
                warm_up(target_url, scripts[:WARM_UP], timeout=args.timeout, metadata=metadata)
            )
        stretch = args.duration / args.rounds
        names = [name for name in ("reference", "assistant") if name in targets]
        for shift, load in enumerate(("closed", "open")):
            parts: dict[str, list[PhaseResult]] = {name: [] for name in names}
            meters = run.cpu.setdefault(load, {name: CpuMeter() for name in names})
            for number, name in _turns(names, args.rounds, shift):
                target_url, scripts, _ = targets[name]
                alive()
                waited, quiet = settle(SETTLE_SECONDS)
                run.settling.append(
                    {
                        "load": load,
                        "round": number,
                        "server": name,
                        "waited": round(waited, 1),
                        "quiet": quiet,
                    }
                )
                what = (
                    f"{args.concurrency} residents"
                    if load == "closed"
                    else f"{args.rate:g} messages/s"
                )
                print(
                    f"{load.capitalize()} loop on the {name}, turn {number + 1} of "
                    f"{args.rounds}: {what}, {stretch:g} s...",
                    flush=True,
                )
                seed = args.seed * 100 + number  # each round its own, the same for both servers
                drive, pace = (
                    (closed_loop, {"residents": args.concurrency})
                    if load == "closed"
                    else (open_loop, {"rate": args.rate})
                )
                coroutine = drive(
                    target_url,
                    scripts,
                    duration=stretch,
                    timeout=args.timeout,
                    seed=seed,
                    metadata=metadata,
                    **pace,
                )
                meters[name].start()
                try:
                    parts[name].append(asyncio.run(coroutine))
                finally:
                    meters[name].stop()
            results = {name: merged(parts[name]) for name in names}
            if load == "closed":
                run.closed = results
            else:
                run.open = results
        alive()


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Invalid setting: {error}", file=sys.stderr)
        return 2
    if args.kill:
        return kill_main(args, settings.default_municipality)
    run = Run(started=dt.datetime.now(dt.timezone.utc), args=args)
    try:
        measure(args, run, {"municipality": settings.default_municipality})
    except (StackError, ReferenceBotError) as error:
        print(f"Could not start or reach a server:\n{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print()
    print(report(run))
    path = write_results(run, args.results_dir)
    print(f"\nResults: {path} (and {path.parent / 'bench-latest.json'})")
    if run.error_count:
        print(f"{run.error_count} messages failed: see the errors above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
