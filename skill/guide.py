"""The guide as data: topics loaded from `guide_topics.yaml` and checked once at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GUIDE_TOPICS_FILE = Path(__file__).with_name("guide_topics.yaml")

TOPIC_KINDS = ("intro", "section", "faq", "closing")
# Alexa sample utterances: lower-case letters, spaces and possessive apostrophes, no digits.
SAMPLE_PATTERN = re.compile(r"^[a-z]+(?:'[a-z]+)?(?: [a-z]+(?:'[a-z]+)?)*$")
ID_PATTERN = re.compile(r"^[a-z][a-z_]*[a-z]$")
MIN_SAMPLES = 10
# About 45 seconds at a calm speaking rate of roughly 140 words a minute.
MAX_WORDS_PER_PART = 110
FORBIDDEN_SPOKEN_CHARS = re.compile(r"[<>&0-9]")


class GuideError(ValueError):
    """A content file is malformed; the message names the file, the item and the field."""


@dataclass(frozen=True)
class Topic:
    """One part of the guide: the intro, a section, an FAQ or the closing."""

    id: str
    kind: str
    title: str
    short_name: str
    guide_text: str
    spoken: tuple[str, ...]
    samples: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]

    @property
    def intent_name(self) -> str:
        """The Alexa intent that asks for this topic, e.g. `RisksAndSideEffectsIntent`."""
        return "".join(word.capitalize() for word in self.id.split("_")) + "Intent"

    @property
    def names(self) -> tuple[str, ...]:
        """What the topic is called: its keywords, title and short name."""
        return (*self.keywords, self.title, self.short_name)

    @property
    def phrases(self) -> tuple[str, ...]:
        """Everything that asks for this topic: its sample questions and its names."""
        return (*self.samples, *self.names)

    @property
    def part_count(self) -> int:
        """How many spoken parts the answer has."""
        return len(self.spoken)


@dataclass(frozen=True)
class Guide:
    """Every topic of the guide, in the guide's order."""

    topics: tuple[Topic, ...]
    source: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.id: t for t in self.topics})
        object.__setattr__(self, "_by_intent", {t.intent_name: t for t in self.topics})

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id (KeyError if there is none)."""
        return self._by_id[topic_id]  # type: ignore[attr-defined]

    def has_topic(self, topic_id: str) -> bool:
        """Whether a topic with this id exists."""
        return topic_id in self._by_id  # type: ignore[attr-defined]

    def topic_for_intent(self, intent_name: str) -> Topic | None:
        """The topic a per-topic intent asks for, or None."""
        return self._by_intent.get(intent_name)  # type: ignore[attr-defined]

    def index_of(self, topic_id: str) -> int:
        """Position of the topic in guide order."""
        return [t.id for t in self.topics].index(topic_id)


def load_guide(path: Path | str = GUIDE_TOPICS_FILE) -> Guide:
    """Load and validate the guide topics file; raise GuideError naming file, topic and field."""
    path = Path(path)
    data = load_yaml_mapping(path)
    raw_topics = data.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise GuideError(f"{path.name}: field 'topics' must be a non-empty list")
    topics = tuple(_parse_topic(path, i, raw) for i, raw in enumerate(raw_topics))
    _check_across_topics(path, topics)
    return Guide(topics=topics, source=path)


# libyaml's safe loader when PyYAML was built with it (the wheels are): the content files
# load several times faster, which is most of the skill's start-up.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_mapping(path: Path) -> Mapping[str, Any]:
    """Read a YAML file whose top level is a mapping; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GuideError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise GuideError(f"{path.name}: is not valid YAML{where}") from exc
    if not isinstance(data, dict):
        raise GuideError(f"{path.name}: the top level must be a mapping")
    return data


def _parse_topic(path: Path, index: int, raw: Any) -> Topic:
    if not isinstance(raw, dict):
        raise GuideError(f"{path.name}: topic #{index + 1}: must be a mapping")
    topic_id = raw.get("id")
    if not isinstance(topic_id, str) or not ID_PATTERN.match(topic_id):
        raise GuideError(f"{path.name}: topic #{index + 1}: field 'id' must be snake_case text")
    where = f"{path.name}: topic '{topic_id}'"

    def text(field: str) -> str:
        value = raw.get(field)
        if not isinstance(value, str) or not value.strip():
            raise GuideError(f"{where}: field '{field}' must be non-empty text")
        return " ".join(value.split())

    def text_list(field: str, minimum: int, required: bool = True) -> tuple[str, ...]:
        value = raw.get(field, None if required else [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise GuideError(f"{where}: field '{field}' must be a list of non-empty texts")
        if len(value) < minimum:
            raise GuideError(f"{where}: field '{field}' needs at least {minimum} entries")
        return tuple(" ".join(v.split()) for v in value)

    kind = text("kind")
    if kind not in TOPIC_KINDS:
        raise GuideError(f"{where}: field 'kind' must be one of {', '.join(TOPIC_KINDS)}")
    spoken = text_list("spoken", 1)
    for number, part in enumerate(spoken, start=1):
        if FORBIDDEN_SPOKEN_CHARS.search(part):
            raise GuideError(f"{where}: field 'spoken' part {number} has a digit or < > &")
        if len(part.split()) > MAX_WORDS_PER_PART:
            raise GuideError(
                f"{where}: field 'spoken' part {number} is longer than {MAX_WORDS_PER_PART} words"
            )
    samples = text_list("samples", MIN_SAMPLES)
    for sample in samples:
        if not SAMPLE_PATTERN.match(sample):
            raise GuideError(
                f"{where}: field 'samples' entry {sample!r} may hold only lower-case letters, "
                "spaces and apostrophes"
            )
    return Topic(
        id=topic_id,
        kind=kind,
        title=text("title"),
        short_name=text("short_name"),
        guide_text=text("guide_text"),
        spoken=spoken,
        samples=samples,
        keywords=tuple(k.lower() for k in text_list("keywords", 0, required=False)),
        related=text_list("related", 1),
    )


def _check_across_topics(path: Path, topics: tuple[Topic, ...]) -> None:
    ids = [t.id for t in topics]
    seen_samples: dict[str, str] = {}
    for topic in topics:
        where = f"{path.name}: topic '{topic.id}'"
        if ids.count(topic.id) > 1:
            raise GuideError(f"{where}: field 'id' is used by more than one topic")
        for related in topic.related:
            if related not in ids or related == topic.id:
                raise GuideError(f"{where}: field 'related' names unknown topic '{related}'")
        for sample in topic.samples:
            owner = seen_samples.setdefault(sample, topic.id)
            if owner != topic.id:
                raise GuideError(
                    f"{where}: field 'samples' entry {sample!r} is also in topic '{owner}'"
                )
