"""The reference bot of `make bench` (scripts/bench_reference.py), without training it: what it is
sent, and when its cached training is used again."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from scripts.bench import REFERENCE_SCRIPTS, SCRIPTS
from scripts.bench_reference import _template_dir, reference_script, template_hash


def _init_examples() -> set[str]:
    """Every training example of `rasa init`'s project, as the installed Rasa ships it."""
    nlu = yaml.safe_load((_template_dir() / "data" / "nlu.yml").read_text(encoding="utf-8"))
    examples = set()
    for block in nlu["nlu"]:
        for line in block["examples"].splitlines():
            examples.add(line.strip().removeprefix("- ").strip())
    return examples


def test_the_reference_gets_conversations_as_long_as_the_assistants() -> None:
    assert [len(s) for s in REFERENCE_SCRIPTS] == [len(s) for s in SCRIPTS]
    for length in range(1, 9):
        for variant in range(4):
            assert len(reference_script(length, variant)) == length


def test_the_reference_is_sent_only_its_own_training_examples() -> None:
    # Exact examples, so every message lands on an intent its stories and rules answer with a
    # response (the init bot has no custom actions and no action server).
    examples = _init_examples()
    sent = {text for script in REFERENCE_SCRIPTS for text in script}
    sent |= {text for n in range(1, 9) for v in range(4) for text in reference_script(n, v)}
    assert sent <= examples, sent - examples


def test_the_cache_key_changes_with_the_template(tmp_path: Path) -> None:
    copy = tmp_path / "initial_project"
    shutil.copytree(_template_dir(), copy)
    assert template_hash(copy) == template_hash()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.pyc").write_bytes(b"byte code is not the template")
    assert template_hash(copy) == template_hash()
    with (copy / "domain.yml").open("a", encoding="utf-8") as domain:
        domain.write("\n# changed\n")
    assert template_hash(copy) != template_hash()
