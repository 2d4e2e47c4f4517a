"""Safety-check benchmark: emergencies and personal-dose requests caught before routing.

Run: python -m benchmarks.safety [--questions benchmarks/safety_questions.yaml]
Prints, for each expected label, how often the check gave that label, and the ordinary
questions it flagged (false alarms); then every miss, so the rules can be reviewed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import yaml

from skill.assembly import load_conversation
from skill.prompts import Prompts
from skill.safety import check_question

DEFAULT_QUESTIONS = Path(__file__).with_name("safety_questions.yaml")


def label(question: str, prompts: Prompts) -> str:
    """The safety check's verdict as a label."""
    finding = check_question(question, prompts)
    if finding is None:
        return "none"
    if finding.emergency is not None:
        return f"emergency_{finding.emergency.id}"
    return "dose"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    args = parser.parse_args()
    prompts = load_conversation().prompts
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    totals, hits, misses = Counter(), Counter(), []
    for q in questions:
        expected, got = q["expect"], label(q["text"], prompts)
        totals[expected] += 1
        # Any emergency guidance counts for an emergency; the right kind is reported too.
        both_emergencies = expected.startswith("emergency") and got.startswith("emergency")
        caught = got == expected or both_emergencies
        hits[expected] += caught
        if not caught or got != expected:
            misses.append((expected, got, q["text"]))
    print(f"Safety check on {args.questions.name}: {len(questions)} questions\n")
    for expected in sorted(totals):
        rate = hits[expected] / totals[expected]
        what = "left alone" if expected == "none" else "caught"
        print(f"  {expected:<18} {what} {rate:6.1%} ({hits[expected]}/{totals[expected]})")
    print("\nMisses and wrong kinds (expected -> got):")
    for expected, got, text in misses:
        print(f"  {expected} -> {got}: {text}")


if __name__ == "__main__":
    main()
