"""Where the machine's CPU went while `make bench` measured, and waiting for its servers to settle.

The machines the bench runs on are shared: other people's tests and stacks run at the same time.
A ratio measured in the same run already cancels much of that, and these figures say how much
was left: for each phase, the share of all cores that was busy, used by the servers this run
started (every process descending from the bench: the reference bot, the assistant's stack and
their workers), by the bench's own load generator, and by other programs.

Before a phase the bench waits until its servers are quiet (`settle`), so a server still working
off the previous phase's backlog (an overloaded open loop leaves one) does not slow the next.

Linux only (/proc); elsewhere the figures are None and settling returns at once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
HAVE_PROC = (_PROC / "stat").exists()
# Quiet: the bench's servers together use less than this share of one core.
QUIET_SHARE_OF_A_CORE = 0.15
SETTLE_INTERVAL = 0.5  # seconds between two readings while settling


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot."""
    fields = (_PROC / "stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _stat(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:  # it ended meanwhile
        return None
    # "pid (command) state ppid ...": the command may contain spaces and parentheses.
    return text[text.rfind(")") + 2 :].split()


def _process_jiffies(pid: int, *, own: bool = True, reaped: bool = False) -> int:
    """Clock ticks of `pid` itself (utime, stime) and/or of its children that ended and were
    waited for (cutime, cstime: a server's short-lived helpers would otherwise vanish)."""
    fields = _stat(pid)
    if not fields or len(fields) < 15:
        return 0
    ticks = int(fields[11]) + int(fields[12]) if own else 0
    return ticks + (int(fields[13]) + int(fields[14]) if reaped else 0)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes `pids` used so far (their own, not their children's)."""
    return sum(_process_jiffies(pid) for pid in pids) / os.sysconf("SC_CLK_TCK")


def pids_named(names: frozenset[str]) -> list[int]:
    """The running processes whose command name is one of `names` (e.g. "postgres")."""
    found = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
            except OSError:  # it ended meanwhile
                continue
            if command in names:
                found.append(int(entry.name))
    return found


def descendants(root: int) -> list[int]:
    """Every process below `root` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and len(fields) > 1:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _servers_jiffies() -> int:
    """Every process this bench started, with their ended children, and those of its own
    children that ended."""
    below = sum(_process_jiffies(pid, reaped=True) for pid in descendants(os.getpid()))
    return below + _process_jiffies(os.getpid(), own=False, reaped=True)


@dataclass
class CpuShares:
    """Shares of all cores (0-1) over a stretch of time."""

    seconds: float
    machine_busy: float
    servers: float  # the processes this bench started
    load_generator: float  # the bench process itself
    others: float  # everything else (other people's work; an assistant given with --url)

    def as_json(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in vars(self).items()}


class CpuMeter:
    """Accumulates CPU shares over several stretches (the rounds of one load on one server)."""

    def __init__(self) -> None:
        self._ticks = os.sysconf("SC_CLK_TCK") if HAVE_PROC else 100
        self._cores = os.cpu_count() or 1
        self._sum = [0.0, 0, 0, 0, 0]  # seconds, machine busy, total, servers, self
        self._start: tuple[float, int, int, int, int] | None = None

    def start(self) -> None:
        if HAVE_PROC:
            busy, total = _machine_jiffies()
            own = _process_jiffies(os.getpid())
            self._start = (time.monotonic(), busy, total, _servers_jiffies(), own)

    def stop(self) -> None:
        if self._start is None:
            return
        busy, total = _machine_jiffies()
        now = (time.monotonic(), busy, total, _servers_jiffies(), _process_jiffies(os.getpid()))
        for i, (a, b) in enumerate(zip(self._start, now, strict=True)):
            self._sum[i] += b - a
        self._start = None

    def shares(self) -> CpuShares | None:
        seconds, busy, total, servers, own = self._sum
        if not HAVE_PROC or total <= 0:
            return None
        capacity = total  # ticks of all cores over the stretches
        machine = busy / capacity
        # Processes that ended during a stretch take their ticks with them: clamp at 0.
        servers_share = min(machine, max(0, servers) / capacity)
        own_share = min(machine - servers_share, own / capacity)
        return CpuShares(
            seconds=seconds,
            machine_busy=machine,
            servers=servers_share,
            load_generator=own_share,
            others=max(0.0, machine - servers_share - own_share),
        )


def settle(max_wait: float) -> tuple[float, bool]:
    """Wait until the processes this bench started are quiet, at most `max_wait` seconds.

    Returns (seconds waited, whether they became quiet)."""
    if not HAVE_PROC:
        return 0.0, True
    ticks = os.sysconf("SC_CLK_TCK")
    began = time.monotonic()
    before, at = _servers_jiffies(), began
    while True:
        time.sleep(SETTLE_INTERVAL)  # a measuring interval, not a wait for an event
        now, used = time.monotonic(), _servers_jiffies()
        share_of_a_core = max(0, used - before) / ticks / (now - at)
        if share_of_a_core < QUIET_SHARE_OF_A_CORE:
            return now - began, True
        if now - began >= max_wait:
            return now - began, False
        before, at = used, now
