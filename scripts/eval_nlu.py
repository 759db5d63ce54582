"""Print the NLU figures on the held-out test set: `make eval`.

Usage: .venv/bin/python scripts/eval_nlu.py [--model models/assistant.tar.gz]
       [--heldout tests/nlu/heldout.yml] [--top 15]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import warnings
from pathlib import Path

# Keep TensorFlow's start-up chatter out of the figures.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.nlu_evaluation import HELDOUT_PATH, MODEL_PATH, NluReport, evaluate_model


def render(report: NluReport, top: int) -> str:
    lines = [
        f"Held-out NLU evaluation: {report.examples} examples",
        "",
        f"  intent accuracy          {report.intent_accuracy:6.1%}",
        f"  macro-F1 (contract)      {report.macro_f1:6.1%}",
        f"  out_of_scope recall      {report.out_of_scope_recall:6.1%}",
        f"  out_of_scope kept safe   {report.out_of_scope_safe_rate:6.1%}"
        "   (out_of_scope or nlu_fallback)",
        f"  entity precision         {report.entity_precision:6.1%}",
        f"  entity recall            {report.entity_recall:6.1%}",
        f"  entity F1                {report.entity_f1:6.1%}",
        f"  median parse time        {report.median_parse_ms:6.1f} ms",
        "",
        f"  {'intent':<24}{'n':>4}{'precision':>11}{'recall':>8}{'F1':>8}",
    ]
    for row in sorted(report.per_intent, key=lambda r: r.f1):
        scores = f"{row.precision:>11.0%}{row.recall:>8.0%}{row.f1:>8.0%}"
        lines.append(f"  {row.intent:<24}{row.support:>4}{scores}")
    lines += ["", f"  Top confusions ({len(report.misclassified)} misclassified in total)"]
    lines.append(f"  {'expected':<24}{'predicted':<24}{'n':>4}")
    for expected, predicted, count in report.confusions(top):
        lines.append(f"  {expected:<24}{predicted:<24}{count:>4}")
    lines += ["", "  Misclassified examples"]
    for miss in sorted(report.misclassified, key=lambda m: (m.expected, m.predicted)):
        lines.append(f"  {miss.expected} -> {miss.predicted} ({miss.confidence:.2f}): {miss.text}")
    return "\n".join(lines)


def _quiet_rasa() -> None:
    """Only the figures on screen: no per-message debug lines, no library warnings."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    warnings.filterwarnings("ignore")
    configure_logging_and_warnings(logging.ERROR)
    configure_structlog(logging.ERROR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--heldout", type=Path, default=HELDOUT_PATH)
    parser.add_argument("--top", type=int, default=15, help="number of confusions to list")
    args = parser.parse_args()
    _quiet_rasa()

    if not args.heldout.is_file():
        print(f"Held-out test set not found: {args.heldout}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(evaluate_model(args.model, args.heldout))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    print(render(report, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
