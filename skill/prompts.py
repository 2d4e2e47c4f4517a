"""Fixed prompts, disclaimer, pronunciations and safety rules, loaded from `prompts.yaml`."""

from __future__ import annotations

import re
import re._constants as sre  # the parser behind `re`: private, but stable since Python 3.11
import re._parser as sre_parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skill.guide import (
    FORBIDDEN_SPOKEN_CHARS,
    SAMPLE_PATTERN,
    Guide,
    GuideError,
    load_yaml_mapping,
)
from skill.safety_classifier import (
    SAFETY_EXAMPLES_FILE,
    SafetyClassifier,
    load_safety_examples,
    train_safety_classifier,
)

PROMPTS_FILE = Path(__file__).with_name("prompts.yaml")

# Every prompt key the code uses; a test checks this list against the code.
PROMPT_KEYS = (
    "welcome", "welcome_reprompt", "help", "help_reprompt",
    "offer_more", "offer_more_reprompt", "offer_related", "offer_related_reprompt",
    "anything_else", "anything_else_reprompt",
    "topic_list_sections", "topic_list_faqs", "topic_list_offer_faqs", "topic_list_reprompt",
    "clarify", "clarify_reprompt", "clarify_one", "clarify_one_reprompt", "decline",
    "decline_nearest", "decline_nearest_reprompt",
    "fallback_rephrase", "fallback_list", "fallback_exit",
    "nothing_to_repeat", "start_of_guide", "end_of_guide", "no_more",
    "goodbye", "error", "error_reprompt", "personal_dose",
    "likely_emergency_bridge", "likely_emergency_no_answer", "likely_personal_dose",
)  # fmt: skip


@dataclass(frozen=True)
class Signals:
    """How a safety rule recognises a question: any pattern, or every group of a sign."""

    patterns: tuple[re.Pattern[str], ...]
    # A sign is a set of word groups that must all appear, in any order ("chest" + "heavy").
    signs: tuple[tuple[re.Pattern[str], ...], ...] = ()

    def __post_init__(self) -> None:
        # One search over all the patterns costs far less than one search per pattern; and no
        # sign can hold unless its first group is there, so one search over the first groups
        # of all signs spares most questions the sign-by-sign check. The first groups are
        # plain lists of words, which one alternation searches fast; the patterns are not.
        object.__setattr__(self, "_any_pattern", _AnyOf(self.patterns))
        object.__setattr__(
            self, "_any_sign_start", _alternation([sign[0].pattern for sign in self.signs])
        )

    def match(self, text: str) -> bool:
        """Whether the normalised question shows any of these signals."""
        if self._any_pattern.search(text):  # type: ignore[attr-defined]
            return True
        if not self._any_sign_start.search(text):  # type: ignore[attr-defined]
            return False
        return any(all(group.search(text) for group in sign) for sign in self.signs)


_ANY_CHAR = ""  # in a set of first characters: the pattern may start with any character
_WORD_BOUNDARY = re.compile(r"\b")


class _AnyOf:
    """Whether any of these patterns (each `\\b(?:...)\\b`) matches a text.

    One alternation of them all tries every pattern at every word boundary, most of them in
    vain: "chests? ..." cannot match where the word starts with a "t". So each pattern goes
    with the characters it can start with, worked out from its parsed form, and at each
    boundary only the patterns that can start with the character there are tried. Exact: a
    pattern whose start cannot be worked out is tried everywhere."""

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        by_char: dict[str, list[str]] = {}
        anywhere: list[str] = []
        for pattern in patterns:
            chars, may_be_empty = _first_chars(sre_parse.parse(pattern.pattern))
            if may_be_empty or _ANY_CHAR in chars:
                anywhere.append(pattern.pattern)
            else:
                for char in chars:
                    by_char.setdefault(char, []).append(pattern.pattern)
        self._by_char = {c: _alternation([*ps, *anywhere]) for c, ps in by_char.items()}
        self._anywhere = _alternation(anywhere)

    def search(self, text: str) -> bool:
        for boundary in _WORD_BOUNDARY.finditer(text):
            at = boundary.start()
            pattern = self._by_char.get(text[at], self._anywhere) if at < len(text) else (
                self._anywhere
            )
            if pattern.match(text, at):
                return True
        return False


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    """One pattern that matches where any of these does (never, for none)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)")


def _first_chars(items: Any) -> tuple[set[str], bool]:
    """The characters a parsed pattern can start with, and whether it can match nothing."""
    chars: set[str] = set()
    for op, av in items:
        starts, may_be_empty = _first_chars_of(op, av)
        chars |= starts
        if not may_be_empty:
            return chars, False
    return chars, True


def _first_chars_of(op: Any, av: Any) -> tuple[set[str], bool]:
    if op is sre.LITERAL:
        return {chr(av)}, False
    if op is sre.IN and all(o in (sre.LITERAL, sre.RANGE) for o, _ in av):
        return {
            chr(c) for o, a in av for c in ((a,) if o is sre.LITERAL else range(a[0], a[1] + 1))
        }, False
    if op is sre.BRANCH:
        chars: set[str] = set()
        may_be_empty = False
        for branch in av[1]:
            starts, empty = _first_chars(branch)
            chars |= starts
            may_be_empty = may_be_empty or empty
        return chars, may_be_empty
    if op is sre.SUBPATTERN:
        return _first_chars(av[-1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        starts, empty = _first_chars(av[2])
        return starts, empty or av[0] == 0
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return set(), True  # takes no character
    return {_ANY_CHAR}, True  # anything else: it may start anywhere


@dataclass(frozen=True)
class EmergencyRule:
    """Words that signal an emergency, and what to say instead of any answer."""

    id: str
    speech: str
    card: str
    signals: Signals
    samples: tuple[str, ...]


@dataclass(frozen=True)
class ExampleQuestion:
    """A question offered at launch, and the topic it reaches."""

    topic: str
    text: str


@dataclass(frozen=True)
class Listing:
    """How the skill is described in the Alexa app."""

    summary: str
    description: str
    keywords: tuple[str, ...]
    testing_instructions: str


@dataclass(frozen=True)
class Prompts:
    """Everything the skill says that is not a guide topic."""

    skill_name: str
    invocation_name: str
    guide_title: str
    disclaimer_spoken: str
    disclaimer_full: str
    pronunciations: dict[str, str]
    example_questions: tuple[ExampleQuestion, ...]
    texts: dict[str, str]
    emergencies: tuple[EmergencyRule, ...]
    personal_dose_topic: str
    # Topics that follow the personal-dose prompt instead, when the router is sure of them.
    personal_dose_or_when_sure: tuple[str, ...]
    personal_dose_signals: Signals
    # An emergency pattern of one of `asked_about_rules`, with one of these and none of
    # `happening_now_signals`, is only likely: a question about the past or about what the
    # tablets can do.
    asked_about_rules: tuple[str, ...]
    asked_about_signals: Signals
    happening_now_signals: Signals
    # An emergency told as history ("had a stroke last year"): taken out, the question is
    # checked again; for `past_history_still_likely` rules what is left is still likely.
    past_history: re.Pattern[str]
    past_history_still_likely: tuple[str, ...]
    personal_dose_samples: tuple[str, ...]
    # Catches what the patterns miss, as "likely": the dialog then says the safety guidance
    # before its usual answer instead of in place of it.
    safety_classifier: SafetyClassifier
    question_carriers: tuple[str, ...]
    list_topics_samples: tuple[str, ...]
    listing: Listing
    source: Path

    def say(self, key: str, **values: str) -> str:
        """The prompt `key` with its placeholders filled."""
        return self.texts[key].format(**values)


def load_prompts(
    guide: Guide,
    path: Path | str = PROMPTS_FILE,
    examples_path: Path | str = SAFETY_EXAMPLES_FILE,
) -> Prompts:
    """Load and validate prompts.yaml against the guide, and build the safety classifier from
    the safety examples and the guide's samples; raise GuideError naming the file and field."""
    path = Path(path)
    data = load_yaml_mapping(path)
    name = path.name

    def text(mapping: Any, field: str, where: str = "") -> str:
        value = mapping.get(field) if isinstance(mapping, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise GuideError(f"{name}: {where}field '{field}' must be non-empty text")
        return " ".join(value.split())

    texts_raw = data.get("prompts")
    if not isinstance(texts_raw, dict):
        raise GuideError(f"{name}: field 'prompts' must be a mapping")
    texts = {key: text(texts_raw, key, "prompts: ") for key in PROMPT_KEYS}
    for key, value in texts.items():
        if FORBIDDEN_SPOKEN_CHARS.search(value):
            raise GuideError(f"{name}: prompts: field '{key}' has a digit or < > &")
        try:
            value.format_map(_AnyValue())
        except (ValueError, IndexError) as exc:
            raise GuideError(f"{name}: prompts: field '{key}' has a bad placeholder") from exc

    pronunciations = data.get("pronunciations")
    if not isinstance(pronunciations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in pronunciations.items()
    ):
        raise GuideError(f"{name}: field 'pronunciations' must map words to spoken forms")

    examples = []
    for i, raw in enumerate(data.get("example_questions") or []):
        where = f"example_questions #{i + 1}: "
        example = ExampleQuestion(topic=text(raw, "topic", where), text=text(raw, "text", where))
        if not guide.has_topic(example.topic):
            raise GuideError(f"{name}: {where}field 'topic' names unknown topic {example.topic!r}")
        examples.append(example)
    if not examples:
        raise GuideError(f"{name}: field 'example_questions' needs at least one entry")

    safety = data.get("safety")
    if not isinstance(safety, dict):
        raise GuideError(f"{name}: field 'safety' must be a mapping")
    emergencies = tuple(
        EmergencyRule(
            id=text(raw, "id", f"safety: emergencies #{i + 1}: "),
            speech=text(raw, "speech", f"safety: emergencies #{i + 1}: "),
            card=text(raw, "card", f"safety: emergencies #{i + 1}: "),
            signals=_signals(name, f"safety: emergencies #{i + 1}", raw),
            samples=_samples(name, f"safety: emergencies #{i + 1}: ", raw.get("samples")),
        )
        for i, raw in enumerate(safety.get("emergencies") or [])
    )
    if not emergencies:
        raise GuideError(f"{name}: safety: field 'emergencies' needs at least one entry")
    dose = safety.get("personal_dose")
    dose_topic = text(dose, "topic", "safety: personal_dose: ")
    if not guide.has_topic(dose_topic):
        raise GuideError(f"{name}: safety: personal_dose: field 'topic' names unknown topic")
    or_when_sure = dose.get("or_when_sure", [])
    if not isinstance(or_when_sure, list) or not all(
        isinstance(t, str) and guide.has_topic(t) for t in or_when_sure
    ):
        raise GuideError(
            f"{name}: safety: personal_dose: field 'or_when_sure' must list known topic ids"
        )

    asked_about = safety.get("asked_about")
    asked_about_rules = asked_about.get("rules") if isinstance(asked_about, dict) else None
    rule_ids = {rule.id for rule in emergencies}
    if not isinstance(asked_about_rules, list) or not set(asked_about_rules) <= rule_ids:
        raise GuideError(f"{name}: safety: asked_about: field 'rules' must list emergency ids")
    asked_about_rules = tuple(asked_about_rules)
    past_history = safety.get("past_history")
    still_likely = past_history.get("still_likely") if isinstance(past_history, dict) else None
    if not isinstance(still_likely, list) or not set(still_likely) <= rule_ids:
        raise GuideError(
            f"{name}: safety: past_history: field 'still_likely' must list emergency ids"
        )
    past_history_signals = _signals(name, "safety: past_history", past_history)
    classifier = _safety_classifier(
        name, safety.get("classifier"), guide, [rule.id for rule in emergencies], examples_path
    )
    carriers = _samples(name, "", data.get("question_carriers"), "question_carriers", slot=True)
    listing = data.get("listing")
    keywords = listing.get("keywords") if isinstance(listing, dict) else None
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise GuideError(f"{name}: listing: field 'keywords' must be a list of texts")

    return Prompts(
        skill_name=text(data, "skill_name"),
        invocation_name=text(data, "invocation_name"),
        guide_title=text(data, "guide_title"),
        disclaimer_spoken=text(data.get("disclaimer"), "spoken", "disclaimer: "),
        disclaimer_full=text(data.get("disclaimer"), "full", "disclaimer: "),
        pronunciations=dict(pronunciations),
        example_questions=tuple(examples),
        texts=texts,
        emergencies=emergencies,
        personal_dose_topic=dose_topic,
        personal_dose_or_when_sure=tuple(or_when_sure),
        personal_dose_signals=_signals(name, "safety: personal_dose", dose),
        asked_about_rules=asked_about_rules,
        asked_about_signals=_signals(name, "safety: asked_about", asked_about),
        happening_now_signals=_signals(
            name, "safety: happening_now", safety.get("happening_now")
        ),
        past_history=re.compile(
            "|".join(pattern.pattern for pattern in past_history_signals.patterns)
        ),
        past_history_still_likely=tuple(still_likely),
        personal_dose_samples=_samples(name, "safety: personal_dose: ", dose.get("samples")),
        safety_classifier=classifier,
        question_carriers=carriers,
        list_topics_samples=_samples(
            name, "", data.get("list_topics_samples"), "list_topics_samples"
        ),
        listing=Listing(
            summary=text(listing, "summary", "listing: "),
            description=text(listing, "description", "listing: "),
            keywords=tuple(keywords),
            testing_instructions=text(listing, "testing_instructions", "listing: "),
        ),
        source=path,
    )


def _samples(
    name: str, where: str, values: Any, field: str = "samples", slot: bool = False
) -> tuple[str, ...]:
    """Sample utterances: lower-case words; with `slot`, each holds {query} and a carrier."""
    if not isinstance(values, list) or not values:
        raise GuideError(f"{name}: {where}field '{field}' must be a non-empty list")
    for value in values:
        words = value.replace("{query}", "query") if slot and isinstance(value, str) else value
        if not isinstance(words, str) or not SAMPLE_PATTERN.match(words):
            raise GuideError(
                f"{name}: {where}field '{field}' entry {value!r} may hold only lower-case "
                "letters, spaces and apostrophes"
            )
        if slot and (value.count("{query}") != 1 or value.strip() == "{query}"):
            raise GuideError(
                f"{name}: {where}field '{field}' entry {value!r} needs {{query}} and a carrier"
            )
    return tuple(values)


def _safety_classifier(
    name: str, raw: Any, guide: Guide, emergency_ids: list[str], examples_path: Path | str
) -> SafetyClassifier:
    settings = {}
    for field, most in (("smoothing", None), ("threshold", 1.0)):
        value = raw.get(field) if isinstance(raw, dict) else None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value <= 0 or (most is not None and value >= most):
            limits = "above 0" if most is None else "between 0 and 1"
            raise GuideError(
                f"{name}: safety: classifier: field '{field}' must be a number {limits}"
            )
        settings[field] = float(value)
    examples = load_safety_examples(emergency_ids, examples_path)
    return train_safety_classifier(examples, guide, settings["smoothing"], settings["threshold"])


def _signals(name: str, where: str, raw: Any) -> Signals:
    values = raw.get("patterns") if isinstance(raw, dict) else None
    if not isinstance(values, list) or not values:
        raise GuideError(f"{name}: {where}: field 'patterns' must be a non-empty list")
    patterns = tuple(_compile(name, f"{where}: field 'patterns'", v) for v in values)
    signs = raw.get("signs", [])
    if not isinstance(signs, list) or not all(isinstance(s, list) and s for s in signs):
        raise GuideError(f"{name}: {where}: field 'signs' must be a list of word-group lists")
    compiled_signs = tuple(
        tuple(_compile(name, f"{where}: field 'signs'", group) for group in sign) for sign in signs
    )
    return Signals(patterns=patterns, signs=compiled_signs)


def _compile(name: str, where: str, value: Any) -> re.Pattern[str]:
    try:
        return re.compile(rf"\b(?:{value})\b")
    except (re.error, TypeError) as exc:
        raise GuideError(f"{name}: {where} entry {value!r} is invalid") from exc


class _AnyValue(dict):
    """Format mapping that accepts any placeholder name, to check a prompt's syntax."""

    def __missing__(self, key: str) -> str:
        return ""
