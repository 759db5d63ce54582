"""Build the blank Dutch spaCy pipeline that Rasa's SpacyNLP loads from disk.

No pretrained model can be downloaded here, and the assistant needs only tokens and lemmas:
spaCy's Dutch tokeniser plus the lookup lemmatiser whose tables ship in spacy-lookups-data.
The build is deterministic, so the same inputs always give the same pipeline.
"""

import sys
from pathlib import Path

import spacy


def build(target: Path) -> None:
    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "nl_blank_lookup"
    nlp.meta["description"] = "Blank Dutch pipeline: tokenizer and lookup lemmatizer"
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_spacy_nl.py TARGET_DIR")
    build(Path(sys.argv[1]))
    print(f"Dutch spaCy pipeline written to {sys.argv[1]}")
