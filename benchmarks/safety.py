"""Safety-check benchmark: emergencies and personal-dose requests caught before routing.

Run:
  python -m benchmarks.safety                    each example set, scored out of fold
  python -m benchmarks.safety --sweep            the classifier's settings, out of fold
  python -m benchmarks.safety --questions FILE   the skill as it is, on a fresh labelled set

For each kind of question it prints how many the patterns caught (the safety reply in place
of any answer), how many only the classifier caught ("likely": the safety reply first, then
the usual answer), and how many were missed; for ordinary questions, how many were left
alone. Then every miss and false alarm, so the rules can be reviewed.

Out of fold, each set of `skill/safety_examples.yaml` is scored by a classifier that learnt
from the other sets (and the guide's samples). The patterns were broadened against every
set, so only the classifier's share there is an out-of-fold figure; a fresh set, looked at
once with --questions, gives the held-out figure. False alarms are also counted on the
routing development questions, which the classifier never learns from.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks.routing import load_questions
from skill.guide import Guide, load_guide, load_yaml_mapping
from skill.prompts import Prompts, load_prompts
from skill.safety import check_question
from skill.safety_classifier import (
    ORDINARY,
    SafetyClassifier,
    SafetyExample,
    load_safety_examples,
    train_safety_classifier,
)

SMOOTHINGS = (0.1, 0.3, 0.5, 1.0)
THRESHOLDS = (0.99, 0.999, 0.9999)
# The rule the sweep picks by: the most caught (mean over the flagged kinds, out of fold), with
# false alarms on ordinary routing questions at most these shares: about 1 in 700 for an
# emergency preface, 1 in 100 for the milder personal-dose preface.
MOST_EMERGENCY_FALSE_ALARMS = 0.0015
MOST_DOSE_FALSE_ALARMS = 0.01


def verdict(question: str, prompts: Prompts) -> tuple[str, bool]:
    """The safety check's label ("emergency_<id>", "dose" or "none") and whether it is only
    likely (the classifier's, not a pattern's)."""
    finding = check_question(question, prompts)
    if finding is None:
        return ORDINARY, False
    label = f"emergency_{finding.emergency.id}" if finding.emergency else "dose"
    return label, finding.likely


def caught(expected: str, label: str) -> bool:
    """Any emergency guidance counts for an emergency; the right kind is reported too."""
    both_emergencies = expected.startswith("emergency") and label.startswith("emergency")
    return label == expected or both_emergencies


class Tally:
    """Per expected label: caught by a pattern, caught only as likely, missed; and what the
    classifier alone would have caught."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.misses: list[tuple[str, str, str]] = []
        self.scored_alone = False  # whether the classifier's own labels were given

    def add(
        self, text: str, expected: str, label: str, likely: bool, alone: str | None = None
    ) -> None:
        """One question's verdict; `alone`, the classifier's own label for it, if known."""
        if expected == ORDINARY:
            how = "alone" if label == ORDINARY else ("likely" if likely else "pattern")
        elif caught(expected, label):
            how = "likely" if likely else "pattern"
        else:
            how = "missed"
        self.counts[(expected, how)] += 1
        self.counts[(expected, "total")] += 1
        if alone is not None:
            self.scored_alone = True
            self.counts[(expected, "classifier")] += caught(expected, alone)
        got = f"likely {label}" if likely else label
        if how == "missed" or (expected == ORDINARY and how != "alone"):
            self.misses.append((expected, got, text))
        elif label != expected and expected != ORDINARY:
            self.misses.append((expected, f"{got} (wrong kind)", text))

    @property
    def total(self) -> int:
        """How many questions were added."""
        return sum(n for (_, how), n in self.counts.items() if how == "total")

    def lines(self) -> list[str]:
        out = []
        for expected in sorted({e for e, _ in self.counts}):
            c = {how: self.counts[(expected, how)] for how in HOWS}
            total = c["total"]
            if expected == ORDINARY:
                line = (
                    f"  {expected:<18} left alone {_pct(c['alone'], total)}; flagged by a "
                    f"pattern {c['pattern']}, as likely {c['likely']}"
                )
                alone_word = "left alone"
            else:
                line = (
                    f"  {expected:<18} caught {_pct(c['pattern'] + c['likely'], total)}: by a "
                    f"pattern {c['pattern']}, only as likely {c['likely']}; missed {c['missed']}"
                )
                alone_word = "caught"
            if self.scored_alone:
                line += f"\n  {'':<18} the classifier alone: {alone_word} "
                line += _pct(c["classifier"], total)
            out.append(line)
        return out


HOWS = ("pattern", "likely", "missed", "alone", "total", "classifier")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}% ({part}/{whole})" if whole else "  n/a"


def classifier_without(
    examples: Sequence[SafetyExample],
    left_out: str,
    guide: Guide,
    smoothing: float,
    threshold: float,
) -> SafetyClassifier:
    """A classifier that never saw the set `left_out`."""
    kept = [e for e in examples if e.set_name != left_out]
    return train_safety_classifier(kept, guide, smoothing, threshold)


def routing_false_alarms(prompts: Prompts) -> Counter[str]:
    """How the safety check flags the routing development questions that are neither
    emergencies nor dose requests."""
    flags: Counter[str] = Counter()
    for q in load_questions():
        if q.kind in ("emergency", "dose"):
            continue
        label, likely = verdict(q.text, prompts)
        flags["questions"] += 1
        if label != ORDINARY:
            flags[f"{'likely ' if likely else ''}{label}"] += 1
    return flags


def crossval(prompts: Prompts, guide: Guide) -> None:
    examples = load_safety_examples([r.id for r in prompts.emergencies])
    sets = list(dict.fromkeys(e.set_name for e in examples))
    total = Tally()
    print(f"Out of fold, set by set, over {len(examples)} safety examples:")
    for name in sets:
        classifier = prompts.safety_classifier
        fold = dataclasses.replace(
            prompts,
            safety_classifier=classifier_without(
                examples, name, guide, classifier.smoothing, classifier.threshold
            ),
        )
        tally = Tally()
        for e in examples:
            if e.set_name == name:
                label, likely = verdict(e.text, fold)
                alone = fold.safety_classifier.likely_label(e.text) or ORDINARY
                tally.add(e.text, e.expect, label, likely, alone)
                total.add(e.text, e.expect, label, likely, alone)
        print(f"\n {name} set")
        print("\n".join(tally.lines()))
    print("\n All sets")
    print("\n".join(total.lines()))
    flags = routing_false_alarms(prompts)
    print(
        f"\nRouting development questions that are neither emergencies nor dose requests "
        f"({flags.pop('questions')}), flagged by the skill's safety check: "
        + (", ".join(f"{k} {v}" for k, v in sorted(flags.items())) or "none")
    )
    print("\nMisses and false alarms out of fold (expected -> got):")
    for expected, got, text in total.misses:
        print(f"  {expected} -> {got}: {text}")


def sweep(prompts: Prompts, guide: Guide) -> None:
    """The classifier alone (no patterns), out of fold, for each setting: the table the
    settings in prompts.yaml were chosen from."""
    examples = load_safety_examples([r.id for r in prompts.emergencies])
    sets = list(dict.fromkeys(e.set_name for e in examples))
    ordinary = [q.text for q in load_questions() if q.kind not in ("emergency", "dose")]
    print(
        "The classifier alone, out of fold by set; false alarms on "
        f"{len(ordinary)} ordinary routing development questions (classifier of all sets)"
    )
    best: tuple[float, float, float] | None = None
    for smoothing in SMOOTHINGS:
        for threshold in THRESHOLDS:
            hits: Counter[str] = Counter()
            totals: Counter[str] = Counter()
            for name in sets:
                fold = classifier_without(examples, name, guide, smoothing, threshold)
                for e in examples:
                    if e.set_name == name:
                        label = fold.likely_label(e.text) or ORDINARY
                        totals[e.expect] += 1
                        hits[e.expect] += caught(e.expect, label)
            full = train_safety_classifier(examples, guide, smoothing, threshold)
            alarms = Counter(full.likely_label(t) for t in ordinary)
            rates = {e: hits[e] / totals[e] for e in sorted(totals)}
            emergency_alarms = sum(v for k, v in alarms.items() if k and k != "dose")
            print(
                f"  smoothing {smoothing:<4} threshold {threshold:<7} "
                + "  ".join(f"{e} {100 * r:5.1f}%" for e, r in rates.items())
                + f"  false alarms: emergency {emergency_alarms}, dose {alarms['dose']}"
            )
            mean_caught = sum(r for e, r in rates.items() if e != ORDINARY) / (len(rates) - 1)
            most_emergency = MOST_EMERGENCY_FALSE_ALARMS * len(ordinary)
            most_dose = MOST_DOSE_FALSE_ALARMS * len(ordinary)
            allowed = emergency_alarms <= most_emergency and alarms["dose"] <= most_dose
            if allowed and (best is None or mean_caught > best[0]):
                best = (mean_caught, smoothing, threshold)
    if best:
        print(
            f"\nMost caught with false alarms at most {100 * MOST_EMERGENCY_FALSE_ALARMS:.2f}% "
            f"(emergency) and {100 * MOST_DOSE_FALSE_ALARMS:.0f}% (dose): "
            f"smoothing {best[1]}, threshold {best[2]}"
            f" (mean {100 * best[0]:.1f}% caught)"
        )


def fresh(prompts: Prompts, path: Path) -> None:
    """A fresh set, scored once; also on its questions the classifier did not learn word for
    word (a fresh set's writer often asks what an earlier one asked)."""
    questions = load_yaml_mapping(path)["questions"]
    tally, unseen = Tally(), Tally()
    for q in questions:
        label, likely = verdict(q["text"], prompts)
        tally.add(q["text"], q["expect"], label, likely)
        if not prompts.safety_classifier.was_taught(q["text"]):
            unseen.add(q["text"], q["expect"], label, likely)
    print(f"Safety check on {path.name}: {len(questions)} questions\n")
    print("\n".join(tally.lines()))
    print(
        f"\nOn the {unseen.total} questions it has not learnt word for word (the other "
        f"{len(questions) - unseen.total} are among its examples or the guide's samples):"
    )
    print("\n".join(unseen.lines()))
    print("\nMisses, wrong kinds and false alarms (expected -> got):")
    for expected, got, text in tally.misses:
        print(f"  {expected} -> {got}: {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, help="a fresh labelled set to score once")
    parser.add_argument("--sweep", action="store_true", help="the classifier's settings")
    args = parser.parse_args()
    guide = load_guide()
    prompts = load_prompts(guide)
    if args.questions:
        fresh(prompts, args.questions)
    elif args.sweep:
        sweep(prompts, guide)
    else:
        crossval(prompts, guide)


if __name__ == "__main__":
    main()
