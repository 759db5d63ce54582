"""`make profile`: where a turn's CPU time goes, measured on a real Rasa worker under load.

Starts the production profile with one Rasa worker (so every message is handled by the process
being measured), warms it up, and drives it with make bench's closed loop (scripts/bench_load.py)
while py-spy, a sampling profiler that attaches to the running process, records the worker's
main thread. Nothing in the assistant is changed for measuring. Each sample is put in the stage
of a turn it was taken in (`STAGES`: the innermost Rasa function on the stack that names a
stage), and the stages are printed as CPU milliseconds per message and as shares of the worker's
busy time, followed by the CPU time per message of the action server, PostgreSQL and Redis.

The figures are CPU time, not waiting: a turn also waits for the action server, the database and
Redis, which the per-process lines show as those processes' own CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a file (python scripts/profile_turn.py)

from assistant.stack import StackError  # noqa: E402
from scripts.bench import MODEL_PATH, SCRIPTS  # noqa: E402
from scripts.bench_load import closed_loop, stack_for_load, warm_up  # noqa: E402
from scripts.bench_machine import cpu_seconds, pids_named  # noqa: E402

# (stage, frames that mark it as "function (path ending)"), innermost first: a sample counts
# for the first stage, walking from the sampled function outwards, whose frame is on its stack.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lock store (Redis)", ("lock (rasa/core/lock_store.py)", "lock (assistant/lock_store.py)")),
    (
        "tracker store: read and rebuild",
        (
            "retrieve (rasa/core/tracker_store.py)",
            "retrieve_full_tracker (rasa/core/tracker_store.py)",
        ),
    ),
    (
        "tracker store: write",
        ("save (rasa/core/tracker_store.py)", "save (assistant/tracker_store.py)"),
    ),
    (
        "NLU graph (spaCy, featurizers, DIET)",
        ("_parse_message_with_graph (rasa/core/processor.py)",),
    ),
    ("policy: TED", ("predict_action_probabilities (rasa/core/policies/ted_policy.py)",)),
    ("policy: rules", ("predict_action_probabilities (rasa/core/policies/rule_policy.py)",)),
    ("policy: memoization", ("predict_action_probabilities (rasa/core/policies/memoization.py)",)),
    ("policies: ensemble, states", ("_predict_next_with_tracker (rasa/core/processor.py)",)),
    ("action server call (HTTP, JSON)", ("request (rasa/utils/endpoints.py)",)),
    (
        "action answer check (jsonschema)",
        ("_validate_action_result (rasa/core/actions/action.py)",),
    ),
    ("actions: Rasa's side", ("_run_action (rasa/core/processor.py)",)),
    ("processor: events, slots, session", ("handle_message (rasa/core/processor.py)",)),
)
OTHER = "channel, router, web server"
# The worker's main thread: its samples pass through Sanic's server loop. A sample whose stack
# ends there is the event loop (uvloop, in C) waiting for or reading sockets: not a turn's work.
MAIN_THREAD = "serve (sanic/server/runners.py)"
EVENT_LOOP = "event loop (waiting, socket I/O)"
SAMPLES_PER_SECOND = 200
PY_SPY_ATTACH_SECONDS = 5  # py-spy's start before the load begins


def _frame(raw: str) -> str:
    """ "handle_message (rasa/core/processor.py:720)" -> "handle_message (rasa/core/processor.py)",
    with the path shortened to what follows site-packages/."""
    name, _, location = raw.partition(" (")
    path = re.sub(r":\d+\)$", "", location).rstrip(")")
    path = path.split("site-packages/")[-1]
    return f"{name} ({path})"


_STAGE_OF_FRAME = {mark: stage for stage, marks in STAGES for mark in marks}


def _stage(frames: list[str]) -> str:
    """The stage of a sample whose stack is `frames` (outermost first)."""
    for frame in reversed(frames):
        if frame in _STAGE_OF_FRAME:
            return _STAGE_OF_FRAME[frame]
    return OTHER


def stage_samples(raw_lines: Iterable[str]) -> Counter[str]:
    """Samples per stage from py-spy's raw output ("frame;frame;... count" per line), counting
    only the main thread's stacks (the server loop's)."""
    counts: Counter[str] = Counter()
    for line in raw_lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(raw) for raw in stack.split(";")]
        if MAIN_THREAD not in frames:
            continue
        counts[EVENT_LOOP if frames[-1] == MAIN_THREAD else _stage(frames)] += int(count)
    return counts


@dataclass
class Profile:
    stages: Counter[str]
    messages: int
    seconds: float
    process_cpu: Mapping[str, float]  # CPU seconds of other processes during the load

    def ms_per_message(self, samples: int) -> float:
        return samples / SAMPLES_PER_SECOND / self.messages * 1000

    def report(self) -> str:
        busy = sum(n for stage, n in self.stages.items() if stage != EVENT_LOOP)
        lines = [
            f"{self.messages} messages in {self.seconds:.0f} s "
            f"({self.messages / self.seconds:.1f}/s), one Rasa worker, production profile",
            "",
            f"{'Rasa worker, main thread':40} {'ms/message':>10} {'share':>7}",
        ]
        order = [stage for stage, _ in STAGES] + [OTHER]
        for stage in sorted(order, key=lambda s: -self.stages[s]):
            samples = self.stages[stage]
            lines.append(f"  {stage:38} {self.ms_per_message(samples):10.1f} {samples / busy:7.0%}")
        lines.append(f"  {'total':38} {self.ms_per_message(busy):10.1f} {1:7.0%}")
        waiting = self.ms_per_message(self.stages[EVENT_LOOP])
        lines.append(f"  {EVENT_LOOP + ', not in the total':38} {waiting:10.1f}")
        lines += ["", f"{'CPU time of the processes':40} {'ms/message':>10}"]
        for name, seconds in self.process_cpu.items():
            lines.append(f"  {name:38} {seconds / self.messages * 1000:10.1f}")
        return "\n".join(lines)


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is missing: requirements.txt pins it; `make profile` installs it.")
    return found


def measure(duration: float, concurrency: int, keep: Path | None) -> Profile:
    print("Starting the assistant (production profile, one Rasa worker)...", flush=True)
    with (
        stack_for_load(
            MODEL_PATH, profile="production", sanic_workers=1, action_workers=1
        ) as stack,
        tempfile.TemporaryDirectory() as scratch,
    ):
        errors = asyncio.run(warm_up(stack.rasa_url, SCRIPTS, timeout=60))
        if errors:
            raise SystemExit(f"The assistant failed while warming up: {Counter(errors)}")
        (worker,) = stack.worker_pids("rasa")
        others = {
            "Rasa worker (all its threads)": [worker],
            "action server": stack.worker_pids("actions"),
            "PostgreSQL": pids_named(frozenset({"postgres"})),
            "Redis": pids_named(frozenset({"redis-server"})),
        }
        raw = Path(scratch) / "samples.txt"
        recorder = subprocess.Popen(
            [
                *(py_spy(), "record", "--pid", str(worker), "--format", "raw"),
                *("--output", str(raw), "--rate", str(SAMPLES_PER_SECOND), "--nonblocking"),
                *("--duration", str(int(duration + PY_SPY_ATTACH_SECONDS))),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        before = {name: cpu_seconds(pids) for name, pids in others.items()}
        print(f"Closed loop: {concurrency} residents for {duration:.0f} s...", flush=True)
        result = asyncio.run(
            closed_loop(
                stack.rasa_url,
                SCRIPTS,
                residents=concurrency,
                duration=duration,
                timeout=60,
                seed=2026,
            )
        )
        used = {name: cpu_seconds(pids) - before[name] for name, pids in others.items()}
        _, problem = recorder.communicate(timeout=duration + 60)
        if recorder.returncode != 0 or not raw.exists():
            raise SystemExit(f"py-spy could not record the worker: {problem.decode()[-400:]}")
        if result.error_count:
            raise SystemExit(f"{result.error_count} messages failed: {dict(result.errors)}")
        stack.check_alive()
        with raw.open(encoding="utf-8", errors="replace") as lines:
            stages = stage_samples(lines)
        if keep is not None:
            shutil.copyfile(raw, keep)
    return Profile(stages, result.answered, result.elapsed, used)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (30)")
    parser.add_argument("--concurrency", type=int, default=8, help="residents at once (8)")
    parser.add_argument(
        "--keep", type=Path, help="also write py-spy's raw samples here (for a flame graph)"
    )
    args = parser.parse_args(argv)
    if not 5 <= args.duration <= 600 or not 1 <= args.concurrency <= 100:
        parser.error("--duration must be 5-600 seconds and --concurrency 1-100 residents")
    try:
        profile = measure(args.duration, args.concurrency, args.keep)
    except StackError as error:
        print(f"The assistant did not start: {error}", file=sys.stderr)
        return 1
    print()
    print(profile.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
