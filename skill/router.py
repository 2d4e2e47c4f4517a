"""Route a spoken question to the guide topic that answers it, with a confidence band."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Literal

from skill.guide import Guide
from skill.text import normalise

Band = Literal["sure", "clarify", "unsure"]

# The bands, in one place. Sure: answer. Clarify: ask which of the top two. Unsure: decline.
SURE_MIN_SCORE = 0.5
SURE_MIN_GAP = 0.12
CLARIFY_MIN_SCORE = 0.3

# Words that carry no topic meaning in a spoken question.
STOPWORDS = frozenset(
    """a an the and or of to for in on at by with from about as is are was were be been being
    it its it's this that these those there their them they i im me my we you your yours he she
    do does did doing can could should would will shall may might must have has had having
    what whats which who whom how when where why whether if so than then too very just also
    please um uh er hmm alexa tell me know like want wanna need ask say hey okay ok well
    give get some any more much many one really thing things about again now question""".split()
)

# Misheard or split forms of the guide's names, as speech recognisers produce them.
MISHEARD = (
    ("jack in hibitors", "jak inhibitors"),
    ("jak in hibitors", "jak inhibitors"),
    ("jack inhibitors", "jak inhibitors"),
    ("jack inhibitor", "jak inhibitor"),
    ("and closing spondylitis", "ankylosing spondylitis"),
    ("ankle losing", "ankylosing"),
    ("janice kinase", "janus kinase"),
    ("side affects", "side effects"),
    ("side affect", "side effect"),
)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'effects' with 'effect' and 'working' with 'work'."""
    for suffix in ("ingly", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def question_terms(question: str) -> list[str]:
    """The meaningful, stemmed words of a question after fixing common mishearings."""
    text = f" {normalise(question)} "
    for heard, meant in MISHEARD:
        text = text.replace(f" {heard} ", f" {meant} ")
    return [stem(w) for w in text.split() if w not in STOPWORDS]


@dataclass(frozen=True)
class ScoredTopic:
    """A topic and how well it matches the question, from 0 to 1."""

    topic_id: str
    score: float


@dataclass(frozen=True)
class RouteDecision:
    """The ranked topics and the band that says what to do with them."""

    band: Band
    ranked: tuple[ScoredTopic, ...]

    @property
    def top(self) -> ScoredTopic | None:
        """The best topic, if any topic scored at all."""
        return self.ranked[0] if self.ranked else None


class Router:
    """Scores every topic of the guide against a question."""

    def __init__(self, guide: Guide) -> None:
        self._topic_ids = [t.id for t in guide.topics]
        self._samples: dict[str, list[Counter[str]]] = {}
        self._vocabulary: dict[str, set[str]] = {}
        for topic in guide.topics:
            phrases = [*topic.samples, *topic.keywords, topic.title, topic.short_name]
            self._samples[topic.id] = [Counter(question_terms(p)) for p in phrases]
            self._vocabulary[topic.id] = {t for c in self._samples[topic.id] for t in c}
        document_count = Counter(t for vocab in self._vocabulary.values() for t in vocab)
        n = len(self._topic_ids)
        self._idf = {t: math.log(1 + n / c) for t, c in document_count.items()}
        self._known_terms = sorted(self._idf)

    def rank(self, question: str) -> list[ScoredTopic]:
        """Every topic with a score above zero, best first."""
        terms = [self._known_form(t) for t in question_terms(question)]
        terms = [t for t in terms if t]
        if not terms:
            return []
        scored = [ScoredTopic(tid, round(self._score(tid, terms), 4)) for tid in self._topic_ids]
        return sorted((s for s in scored if s.score > 0), key=lambda s: -s.score)

    def best_topic(self, question: str) -> RouteDecision:
        """Rank the topics and decide: answer, ask which of two, or decline."""
        ranked = tuple(self.rank(question))
        return RouteDecision(band=band_for(ranked), ranked=ranked)

    def _known_form(self, term: str) -> str | None:
        if term in self._idf:
            return term
        if len(term) < 5:
            return None
        close = get_close_matches(term, self._known_terms, n=1, cutoff=0.8)
        return close[0] if close else None

    def _score(self, topic_id: str, terms: list[str]) -> float:
        weights = [self._idf[t] for t in terms]
        total = sum(weights)
        vocab = self._vocabulary[topic_id]
        coverage = sum(w for t, w in zip(terms, weights, strict=True) if t in vocab) / total
        best_sample = max(self._sample_similarity(sample, terms) for sample in self._samples[topic_id])
        return 0.6 * coverage + 0.4 * best_sample

    def _sample_similarity(self, sample: Counter[str], terms: list[str]) -> float:
        query = set(terms)
        union = query | set(sample)
        if not union:
            return 0.0
        shared = sum(self._idf[t] for t in query & set(sample))
        return shared / sum(self._idf.get(t, 1.0) for t in union)


def band_for(ranked: tuple[ScoredTopic, ...]) -> Band:
    """Sure when the top score is high and clear of the second; clarify on a close call."""
    if not ranked or ranked[0].score < CLARIFY_MIN_SCORE:
        return "unsure"
    second = ranked[1].score if len(ranked) > 1 else 0.0
    if ranked[0].score >= SURE_MIN_SCORE and ranked[0].score - second >= SURE_MIN_GAP:
        return "sure"
    return "clarify"
