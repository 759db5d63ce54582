"""The phone channel with real audio: a caller's words spoken, heard and answered.

For each request, espeak-ng speaks the sentence in Dutch (16 kHz after sox), Whisper base turns
the audio into a transcript and a confidence (scripts/transcribe.py in its own environment,
.venv-voice), and those go to the running assistant as Twilio posts them after a `<Gather>`:
a signed `SpeechResult` and `Confidence`. Each request is a call of its own (a booking form
started by one request would take the next as its answer).

The assertions are on the *topic* of the spoken answer, never on the transcript: a robotic
voice through a small offline model keeps the intent's key word in about six sentences of ten,
so the requests are ones that come through, and two of three must reach their topic. A
transcript heard with low confidence is read back by the channel; the caller then says "ja"
by key 1, as a caller who heard their own words would.

Slow and optional: `make voice-test` installs espeak-ng and sox, creates .venv-voice from
requirements-voice.txt and runs this file. Without them it is skipped, saying what is missing.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from assistant.stack import Stack
from tests.channels.voice_call import Reply, VoiceCall
from tests.conftest import CHANNEL_SECRETS, REPO_ROOT

VOICE_PYTHON = REPO_ROOT / ".venv-voice" / "bin" / "python"
TRANSCRIBE = REPO_ROOT / "scripts" / "transcribe.py"
# A landline: no text-message offer between the answer and the next question.
LANDLINE = "+31302861234"
# Two of three requests must reach their topic.
MIN_REACHED = 2
# The channel's read-back of a doubtful transcript (channels/voice/prompts.py).
READ_BACK = "Ik verstond:"


def _missing() -> str | None:
    if not VOICE_PYTHON.is_file():
        return (
            f"{VOICE_PYTHON.relative_to(REPO_ROOT)} is missing: `make voice-test` creates it "
            "from requirements-voice.txt"
        )
    for program in ("espeak-ng", "sox"):
        if shutil.which(program) is None:
            return f"{program} is not installed: `make voice-test` installs it (Debian package)"
    return None


MISSING = _missing()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
    pytest.mark.timeout(600),
]


@dataclass(frozen=True)
class Request:
    """A caller's sentence and what the answer to it talks about (texts in domain/*.yml)."""

    sentence: str
    topic: str
    answer: re.Pattern[str]


# The patterns look at the answer without its spoken menu ("Zeg Verhuizing doorgeven of toets
# 2."): the fallback's menu of likely topics names them too.
REQUESTS = (
    # The booking form (domain/appointments.yml) asks what for, where, which day or time.
    Request(
        "ik wil een afspraak maken voor een paspoort",
        "afspraak maken",
        re.compile(
            r"waarvoor wilt u een afspraak maken|kies een locatie|welke dag komt het u uit"
            r"|hoe laat wilt u komen|op welke naam maak ik de afspraak",
            re.I,
        ),
    ),
    # utter_move_report (domain/living.yml). "ik ga verhuizen" is heard as "Ik jammer 1000."
    Request("ik wil een verhuizing doorgeven", "verhuizing", re.compile(r"verhuiz", re.I)),
    # utter_document_lost_paspoort (domain/documents.yml).
    Request(
        "mijn paspoort is gestolen", "kwijt of gestolen", re.compile(r"kwijt of gestolen", re.I)
    ),
)
# One choice of a spoken menu (channels/voice/speech.py).
MENU_CHOICE = re.compile(r"\s*Zeg [^.?!]+? of toets \d\.")


def without_menu(said: str) -> str:
    return MENU_CHOICE.sub("", said).strip()


@dataclass(frozen=True)
class Heard:
    transcript: str
    confidence: float


@dataclass(frozen=True)
class Turn:
    request: Request
    heard: Heard
    read_back: bool
    answer: str
    # Speaking and hearing (espeak-ng, sox, the transcriber with its model load), then the
    # assistant's answer (the signed webhook, and the read-back's key when there was one).
    hearing_seconds: float
    answer_seconds: float

    @property
    def reached(self) -> bool:
        return bool(self.request.answer.search(without_menu(self.answer)))

    def line(self) -> str:
        mark = f"{'yes' if self.reached else 'NO '} {self.request.topic:<17}"
        back = ", read back" if self.read_back else ""
        return (
            f"  {mark} {self.hearing_seconds + self.answer_seconds:5.2f} s "
            f"(hear {self.hearing_seconds:.2f} + answer {self.answer_seconds:.2f})  "
            f"{self.request.sentence!r} -> heard "
            f"{self.heard.transcript!r} ({self.heard.confidence:.2f}{back}) -> "
            f"{self.answer[:110]!r}"
        )


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command[0]} failed ({done.returncode}):\n{done.stderr}"
    return done


def speak_and_hear(sentence: str, folder: Path) -> Heard:
    """espeak-ng's Dutch voice at 140 words a minute, resampled to 16 kHz, transcribed."""
    raw, wav = folder / "espeak.wav", folder / "speech.wav"
    run(["espeak-ng", "-v", "nl", "-s", "140", "-w", str(raw), sentence])
    run(["sox", str(raw), "-r", "16000", str(wav)])
    done = run([str(VOICE_PYTHON), str(TRANSCRIBE), str(wav)])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Heard(result["transcript"], float(result["confidence"]))


async def one_call(
    http: aiohttp.ClientSession, webhook: str, request: Request, folder: Path
) -> Turn:
    call = VoiceCall(http, webhook, CHANNEL_SECRETS["TWILIO_AUTH_TOKEN"], caller=LANDLINE)
    greeting = await call.start()
    assert greeting.gather is not None and greeting.gather.get("language") == "nl-NL"

    started = time.perf_counter()
    heard = await asyncio.to_thread(speak_and_hear, request.sentence, folder)
    heard_at = time.perf_counter()
    reply: Reply = await call.say(heard.transcript, heard.confidence)
    read_back = READ_BACK in reply.said
    if read_back:
        reply = await call.press("1")
    answered_at = time.perf_counter()
    return Turn(request, heard, read_back, reply.said, heard_at - started, answered_at - heard_at)


async def test_spoken_requests_reach_their_topic(
    http: aiohttp.ClientSession,
    assistant_stack: Stack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhook = f"{assistant_stack.rasa_url}/webhooks/voice/webhook"
    turns = []
    for number, request in enumerate(REQUESTS):
        folder = tmp_path / str(number)
        folder.mkdir()
        turns.append(await one_call(http, webhook, request, folder))

    reached = sum(turn.reached for turn in turns)
    report = "\n".join(
        [
            f"audio round trip: {reached} of {len(turns)} requests reached their topic",
            *(turn.line() for turn in turns),
        ]
    )
    with capsys.disabled():
        print("\n" + report)
    assert reached >= MIN_REACHED, report
