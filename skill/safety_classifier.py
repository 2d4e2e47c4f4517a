"""A small naive Bayes classifier that catches emergencies and personal-dose requests phrased
in ways no safety pattern names ("alexa tell my kids i'm sorry").

The patterns in prompts.yaml are exact but narrow: each fresh set of questions brought
emergencies they missed. This classifier learns from labelled examples
(`safety_examples.yaml`) and from the guide's own sample questions, which are all ordinary.
Its verdict is only "likely", so the dialog says the safety guidance first and then answers
as usual, rather than replacing the answer: a false alarm costs a sentence or two.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path

from skill.guide import Guide, GuideError, load_yaml_mapping
from skill.text import normalise, words

SAFETY_EXAMPLES_FILE = Path(__file__).with_name("safety_examples.yaml")
ORDINARY = "none"
# The labels a safety example may carry: "emergency_" and an emergency rule's id, the
# personal-dose request, or an ordinary question.
DOSE = "dose"
EMERGENCY_PREFIX = "emergency_"


@dataclass(frozen=True)
class SafetyExample:
    """A question and what the safety check must do with it."""

    text: str
    expect: str  # "emergency_<rule id>", "dose" or "none"
    set_name: str  # the examples are scored set by set, each by a classifier without it


def load_safety_examples(
    emergency_ids: Iterable[str], path: Path | str = SAFETY_EXAMPLES_FILE
) -> tuple[SafetyExample, ...]:
    """Load and validate the labelled examples; raise GuideError naming the file and field."""
    path = Path(path)
    name = path.name
    labels = [*(EMERGENCY_PREFIX + rule_id for rule_id in emergency_ids), DOSE, ORDINARY]
    sets = load_yaml_mapping(path).get("sets")
    if not isinstance(sets, list) or not sets:
        raise GuideError(f"{name}: field 'sets' must be a non-empty list")
    examples = []
    for i, raw in enumerate(sets):
        where = f"{name}: sets #{i + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise GuideError(f"{where}: field 'name' must be text")
        unknown = sorted(set(raw) - {"name", "note", *labels})
        if unknown:
            raise GuideError(
                f"{where}: field '{unknown[0]}' is not one of name, note, {', '.join(labels)}"
            )
        for label in labels:
            texts = raw.get(label, [])
            if not isinstance(texts, list) or not all(
                isinstance(t, str) and normalise(t) for t in texts
            ):
                raise GuideError(f"{where}: field '{label}' must be a list of non-empty texts")
            examples += [SafetyExample(text, label, raw["name"]) for text in texts]
    for label in (ORDINARY, DOSE):
        if not any(e.expect == label for e in examples):
            raise GuideError(f"{name}: no set lists any '{label}' question")
    return tuple(examples)


def _features_of(text_words: list[str]) -> list[str]:
    """Words and word pairs of a normalised text: pairs keep "my life" apart from "life"."""
    return text_words + list(map(" ".join, pairwise(text_words)))


class SafetyClassifier:
    """Multinomial naive Bayes over words and word pairs, with equal class priors.

    Equal priors, because how many examples of each kind exist says how the sets were
    written, not how often people ask. The smoothing and the threshold come from
    `python -m benchmarks.safety --sweep`, which scores each example set out of fold."""

    def __init__(
        self, labelled: Iterable[tuple[str, str]], smoothing: float, threshold: float
    ) -> None:
        words_by_label: dict[str, list[list[str]]] = {}
        labels_by_text: dict[str, set[str]] = {}
        for text, label in labelled:
            text_words = words(text)
            words_by_label.setdefault(label, []).append(text_words)
            labels_by_text.setdefault(" ".join(text_words), set()).add(label)
        # A question it was taught gets the label it was taught (the guide's own samples are
        # ordinary, whatever words they share with emergencies); the model is for the rest.
        self._taught = {text: next(iter(ls)) for text, ls in labels_by_text.items() if len(ls) == 1}
        self._taught_forms = frozenset(labels_by_text)
        counts = {
            label: Counter(chain.from_iterable(map(_features_of, texts)))
            for label, texts in words_by_label.items()
        }
        if ORDINARY not in counts or len(counts) < 2:
            raise ValueError("the safety classifier needs ordinary and flagged examples")
        self._vocabulary = set().union(*counts.values())
        vocabulary_size = len(self._vocabulary)
        self.threshold = threshold
        self.smoothing = smoothing
        self._counts = counts
        # Smoothing in proportion to each class's size. With the same pseudo-count for every
        # class, a word the small dose class never saw would still be likelier there than a
        # word the large ordinary class saw once, and the guide's own samples would be flagged.
        totals = {label: sum(c.values()) for label, c in counts.items()}
        mean_total = sum(totals.values()) / len(totals)
        self._pseudo_counts = {
            label: smoothing * total / mean_total for label, total in totals.items()
        }
        self._log_totals = {
            label: math.log(totals[label] + self._pseudo_counts[label] * vocabulary_size)
            for label in counts
        }

    def was_taught(self, text: str) -> bool:
        """Whether this text, word for word, is one of the examples it learnt from."""
        return " ".join(words(text)) in self._taught_forms

    def posteriors(self, text: str) -> dict[str, float]:
        """Each label's probability for this text; empty when no feature was ever seen."""
        return self._posteriors(words(text))

    def _posteriors(self, text_words: list[str]) -> dict[str, float]:
        seen = [f for f in _features_of(text_words) if f in self._vocabulary]
        if not seen:
            return {}
        log_likelihoods = {
            label: sum(math.log(counts[f] + self._pseudo_counts[label]) for f in seen)
            - len(seen) * self._log_totals[label]
            for label, counts in self._counts.items()
        }
        top = max(log_likelihoods.values())
        weights = {label: math.exp(v - top) for label, v in log_likelihoods.items()}
        total = sum(weights.values())
        return {label: w / total for label, w in weights.items()}

    def likely_label(self, text: str) -> str | None:
        """The flagged label ("emergency_<id>" or "dose") this text likely has, or None."""
        text_words = words(text)
        taught = self._taught.get(" ".join(text_words))
        if taught is not None:
            return None if taught == ORDINARY else taught
        posteriors = self._posteriors(text_words)
        if not posteriors:
            return None
        label = max(posteriors, key=posteriors.__getitem__)
        if label == ORDINARY or posteriors[label] < self.threshold:
            return None
        return label


def train_safety_classifier(
    examples: Iterable[SafetyExample], guide: Guide, smoothing: float, threshold: float
) -> SafetyClassifier:
    """A classifier learnt from these examples and from the guide's sample questions, which are
    all ordinary ones and far more varied than the ordinary safety examples alone."""
    ordinary = [(sample, ORDINARY) for topic in guide.topics for sample in topic.samples]
    return SafetyClassifier([(e.text, e.expect) for e in examples] + ordinary, smoothing, threshold)
