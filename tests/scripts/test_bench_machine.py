"""Where the CPU went during a bench turn, and waiting for the bench's servers to settle
(scripts/bench_machine.py), with a child process that burns CPU as a server under load does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from scripts.bench_machine import HAVE_PROC, CpuMeter, descendants, settle

pytestmark = pytest.mark.skipif(not HAVE_PROC, reason="CPU accounting reads /proc (Linux)")

# Burns about `seconds` of CPU, says so, then waits idle on stdin until it is closed.
BURN = """
import sys, time
end = time.process_time() + float(sys.argv[1])
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def child() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def _burn(started: list[subprocess.Popen[str]], seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", BURN, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    return process


def test_the_cpu_of_the_bench_servers_is_told_apart(child) -> None:
    meter = CpuMeter()
    meter.start()
    process = _burn(child, 0.5)
    assert process.stdout is not None and process.stdout.readline() == "done\n"
    assert process.pid in descendants(os.getpid())
    meter.stop()

    shares = meter.shares()
    assert shares is not None
    cores = os.cpu_count()
    # The child's half second of CPU is the servers' share (give or take start-up and ticks).
    assert shares.servers * cores * shares.seconds >= 0.4
    assert shares.machine_busy >= shares.servers
    total = shares.servers + shares.load_generator + shares.others
    assert total == pytest.approx(shares.machine_busy, abs=0.01)


def test_settling_waits_while_a_server_works_and_not_after(child) -> None:
    process = _burn(child, 30)
    waited, quiet = settle(1.0)
    assert not quiet and waited >= 1.0
    process.kill()
    process.wait()
    waited, quiet = settle(10.0)
    assert quiet and waited < 5
