"""Duckling's Dutch time rules, run in a child process that is killed when it overruns.

Duckling's parser is exponential in the number of adjacent time words: measured on this
package (pyduckling-native-phihos 0.4.0), "morgen" said 7 times takes 0.5 s, 8 times 3 s and
9 times 22 s, and "12:30" or "dinsdag" repeated a dozen times take 5–7 s. That is 60
characters, so no length limit makes a parse cheap, and a native call cannot be interrupted in
a thread. The parse therefore runs in one long-lived child process; a parse that overruns
`DEADLINE_SECONDS` is answered with None and the child is killed (the next call starts a new
one). A normal parse takes about 3 ms, plus well under a millisecond for the pipe.

The child is this file run as a script (`python -I duckling_worker.py`), speaking one JSON line
per request and answer over stdin/stdout. Not `multiprocessing`: "fork" would copy the Haskell
runtime Duckling starts on import, and "spawn" re-imports the parent's main module, which
breaks any entry script without a `__main__` guard. The script imports nothing from the
project, and `-I` keeps its folder off `sys.path`.
"""

from __future__ import annotations

import atexit
import json
import logging
import select
import subprocess
import sys
import threading
from typing import IO, Any

logger = logging.getLogger(__name__)

ZONE = "Europe/Amsterdam"
ZONEINFO = "/usr/share/zoneinfo"
# Generous for a 3 ms parse on two busy cores; short enough that a runaway costs little.
DEADLINE_SECONDS = 0.5
# Starting the child imports Duckling and reads the time zone database (about 0.3 s).
START_SECONDS = 10.0


class DucklingWorker:
    """One child process that parses text with Duckling's Dutch rules, for "time" only."""

    def __init__(self, deadline_seconds: float = DEADLINE_SECONDS) -> None:
        self._deadline = deadline_seconds
        self._lock = threading.Lock()  # one request at a time on the pipe
        self._process: subprocess.Popen[str] | None = None
        atexit.register(self.stop)

    def parse(self, text: str, reference_timestamp: int) -> list[dict[str, Any]] | None:
        """Duckling's entities for `text` as seen at the Unix time `reference_timestamp`.

        Returns None when the parse overran the deadline, or the child could not be started or
        died; the caller treats that as "not understood". Never raises.
        """
        with self._lock:
            try:
                stdin, stdout = self._pipes()
                stdin.write(json.dumps({"text": text, "at": reference_timestamp}) + "\n")
                stdin.flush()
                if _readable(stdout, self._deadline):
                    answer: list[dict[str, Any]] = json.loads(stdout.readline())
                    return answer
                logger.warning(
                    "Duckling overran %.1f s on %d characters", self._deadline, len(text)
                )
            except (OSError, ValueError):  # ValueError: a broken or empty answer line
                logger.exception("Duckling worker failed")
            self.stop()
            return None

    def stop(self) -> None:
        """Kill the child (if any); the next parse starts a new one."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        if self._process is None or self._process.poll() is not None:
            self.stop()
            self._process = subprocess.Popen(
                [sys.executable, "-I", __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            assert self._process.stdout is not None
            if not _readable(self._process.stdout, START_SECONDS):
                raise OSError("Duckling worker did not start in time")
            if self._process.stdout.readline().strip() != "ready":
                raise OSError("Duckling worker could not start")
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout


def _readable(pipe: IO[str], seconds: float) -> bool:
    readable, _, _ = select.select([pipe], [], [], seconds)
    return bool(readable)


def _serve() -> None:
    """The child: answer each request line with Duckling's entities, until stdin closes."""
    import duckling  # only the child starts the Haskell runtime

    zones = duckling.load_time_zones(ZONEINFO)
    locale = duckling.default_locale_lang(duckling.parse_lang("NL"))
    dimensions = duckling.parse_dimensions(["time"])
    print("ready", flush=True)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reference = duckling.parse_ref_time(zones, ZONE, request["at"])
            context = duckling.Context(reference, locale)
            entities = duckling.parse(request["text"], context, dimensions, False)
        except Exception:  # a text Duckling cannot take is a text without a time
            entities = []
        print(json.dumps(entities), flush=True)


if __name__ == "__main__":
    _serve()
