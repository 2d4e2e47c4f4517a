"""Route a spoken question to the guide topic that answers it, with a confidence band.

Pure Python, no model files: the guide is small (seventeen topics, about two thousand sample
questions), so a careful reading of the question and a weighted word match are enough, start
in milliseconds and cost nothing to ship.

Reading a question (vocabulary data in `router_vocabulary.yaml`):
  1. normalise (lower case, apostrophes dropped), join spelled letters ("j a k", "jay a k"
     -> "jak");
  2. fix misheard forms ("jack in hibitors", "and closing spondylitis", "side affects");
  3. join split words when the joined form is a guide word ("tab lets", "acu puncture") or
     sounds like one ("con clue shun", "spawn delight us"), and split merged ones
     ("sideeffects"); a word that sounds like "jak" before "inhibitors" is "jak" ("jaguar
     inhibitors": the guide names no other inhibitors), and so is one before "guide" that is
     not the guide's own word ("the jacked guide": it is the JAK guide);
  4. say everyday words the guide's way ("kick in" -> "start working");
  5. drop fillers ("um", "alexa", "can you tell me", "please");
  6. spelled-out numbers and digits become "number"; stopwords are dropped;
  7. an unknown word is matched to a guide word by sound and spelling ("jock" -> "jak"),
     or else stays unknown, and an out-of-domain word ("weather", "xeljanz") is noted, as
     is another medicine named without the treatment ("side effects of ibuprofen").

Scoring a topic (all in [0, 1]):
  coverage   the share of the question's weighted words (rarer words weigh more; unknown
             words weigh against every topic) that the topic's own words explain (a word
             counts a little less for a topic whose phrases use it only in passing);
  similarity the cosine between the question and the topic's closest sample question
             (words and word pairs), scaled by the share of the question that is known.
  likelihood how likely the question's words are among the topic's sample questions' words
             against the other topics' (a naive Bayes posterior over the topics): a
             discriminative view that weighs a word by how much it tells the topics apart,
             where similarity needs one sample that says most of the question;
  spelling   the cosine of letter trigrams (rarer trigrams weigh more) between the question's
             content words run together and the topic's closest name (title, short name,
             keyword): a second, spelling-level view that still matches when a word was
             split, merged or misheard in a way no table lists ("inter act", "side efects",
             "summery"). Only for a question with such a word (unknown, or reached by
             sound): in the guide's own words, it adds nothing the others miss.
  score      a weighted mean of the four (`Weights`, the `scoring:` section of the vocabulary
             file), times `out_of_domain_factor` when the question names something the guide
             does not cover. 1 means every word of the question is the topic's and it matches
             a sample question exactly; 0 means nothing in common.

The band comes from the top score and its gap to the second (see `band_for`); an unsure
question whose top topic scores at least `offer_min_score` is declined with that topic offered
as the nearest part of the guide (`RouteDecision.nearest`). The thresholds (`bands:`) and the
weights (`scoring:`) live in the vocabulary file and are chosen together by
`python -m benchmarks.routing --tune --write` over the development questions; `--crossval`
estimates how well that choice does on questions it was not chosen on.
"""

from __future__ import annotations

import gc
import itertools
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from skill.guide import Guide, GuideError, load_yaml_mapping
from skill.text import normalise

Band = Literal["sure", "clarify", "unsure"]

ROUTER_VOCABULARY_FILE = Path(__file__).with_name("router_vocabulary.yaml")

# Rare words decide: a word's weight is its normalised inverse topic frequency to this power.
IDF_POWER = 1.0
# Letter sequences compared by the spelling signal (see `_char_grams`).
CHAR_GRAM = 3
# Weight of a word pair relative to its words, in the similarity to sample questions.
BIGRAM_WEIGHT = 0.7
# The least total word weight that counts as a whole question: about one word that only one
# topic uses. Less than this, and coverage is scaled down.
MIN_EVIDENCE = 0.8
# How a topic's credit for its own word falls with how rarely its phrases use the word,
# relative to the topic that uses it most (0: every own word counts in full).
OWN_WORD_POWER = 0.1
# How close a split word holding a real word must be to a guide word to be joined into it.
NEAR_WORD_CUTOFF = 0.9
# Split pieces that sound like a guide word together must also be this close to it, letter
# for letter.
SPLIT_SOUND_RATIO = 0.5
# ... and this close when the first piece is a small word or one of them a guide word itself.
SOUND_JOIN_WITH_WORD_RATIO = 0.75
# A word joined by sound is at least this long, relative to the pieces run together.
SOUND_JOIN_MIN_LENGTH_SHARE = 0.65
# Split pieces one sound away from a long word ("accu punk sure": "acupuncture", "angela
# sing": "ankylosing") are joined into it when it has at least this many letters, and the
# pieces, run together, are at least this close to it letter for letter.
NEAR_SOUND_MIN_LENGTH = 8
NEAR_SOUND_RATIO = 0.6
# Pieces beside one word of a two-word term are read as the other word when they run together
# loosely like it: at least this likeness (sound keys or letters), from this many pieces, with
# a length between these shares of the word's.
TERM_PARTNER_RATIO = 0.7
TERM_PARTNER_PIECES = (4, 3, 2, 1)
TERM_PARTNER_LENGTHS = (0.6, 1.5)
# ... and pieces that are all words of the guide's ("an key losing spondylitis"), two or more,
# or that end on a small word ("ankle is in spondylitis"): at least this close to the word
# (letter for letter, or also by sound when they end on a small word).
TERM_PARTNER_OWN_WORDS_RATIO = 0.85
# Add-this-many smoothing of the likelihood signal's word counts: a word none of a topic's
# samples says is not impossible for it.
LIKELIHOOD_SMOOTHING = 0.5
# A word matched by sound or spelling counts a little less than one heard right.
FUZZY_CREDIT = 0.85
# Words whose reading the reader remembers (see `_Reader`): far more than a guide's worth.
WORD_CACHE_SIZE = 16384
# Texts whose reading the reader remembers once built: the popular questions, not every
# question ever asked (a varied stream of questions is read afresh, as it would be in use).
TEXT_CACHE_SIZE = 1024
# A feature in at least this share of a phrase index's phrases is common (see `_PhraseIndex`);
# the combinations of common features questions bring are few, and remembered.
COMMON_FEATURE_SHARE = 0.04
COMMON_CACHE_SIZE = 512
# The out-of-domain group of a question that names another medicine or an everyday ailment
# without the treatment.
ANOTHER_SUBJECT_ALONE = "another_subject_alone"
# The last piece of a split word is never an article: 'book an' is not 'began'.
_ARTICLES = frozenset({"a", "an", "the"})
# Single letters spelled out that are also words; a run of these alone is not joined.
_LETTER_WORDS = frozenset({"a", "i"})


# --- vocabulary file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bands:
    """Thresholds on the top score and the gap to the second."""

    sure_min_score: float
    sure_min_gap: float
    clarify_min_score: float
    # Unsure, but the top topic scores this much: the decline names it as the nearest part
    # of the guide, and "yes" plays it.
    offer_min_score: float = 1.0


@dataclass(frozen=True)
class Weights:
    """How the signals mix into a topic's score (the `scoring:` section, chosen by the
    benchmark's cross-validation, not by hand)."""

    # Share of the score from the closest sample question by words (cosine of word weights).
    similarity_share: float = 0.4
    # Share of the score from the closest sample question by spelling (letter trigrams of the
    # question's content words run together): robust to split, merged and misheard words.
    spelling_share: float = 0.2
    # How much a word of the topic's own guide text (not its samples, keywords or title)
    # counts, relative to a word of its sample questions.
    guide_text_credit: float = 0.5
    # Share of the score from the topics' likelihood given the question's words (naive Bayes
    # over the sample questions' words).
    likelihood_share: float = 0.0

    @property
    def coverage_share(self) -> float:
        return max(0.0, 1.0 - self.similarity_share - self.spelling_share - self.likelihood_share)


@dataclass(frozen=True)
class Vocabulary:
    """The router's reading data, from `router_vocabulary.yaml`."""

    bands: Bands
    weights: Weights
    unknown_word_weight: float
    common_word_weight: float
    out_of_domain_factor: float
    fillers: tuple[tuple[str, ...], ...]
    stopwords: frozenset[str]
    misheard: Mapping[tuple[str, ...], tuple[str, ...]]
    synonyms: Mapping[tuple[str, ...], tuple[str, ...]]
    letter_names: Mapping[str, str]
    numbers: frozenset[str]
    common_words: frozenset[str]
    as_disease_after: frozenset[str]
    as_disease_before: frozenset[str]
    as_word_before: frozenset[str]
    as_heard: frozenset[str]
    # Terms of two guide words, matched by sound across pieces split elsewhere ("sigh defects").
    two_word_terms: tuple[tuple[str, ...], ...]
    out_of_domain: Mapping[tuple[str, ...], str]
    # Another medicine or an everyday ailment named without the treatment: outside the guide
    # (see the vocabulary).
    subject_names: frozenset[str]
    treatment_words: frozenset[str]
    # A medicine of this out_of_domain group, named with the treatment and one of these words,
    # is the guide's question about other medications (see the vocabulary).
    together_group: str
    together_words: frozenset[str]
    # After this word, one of these words means the question asks what to do when something
    # goes wrong ("and if it makes me sick"): it adds the term `what_if_means` (see the
    # vocabulary).
    what_if_after: str
    what_if_words: frozenset[str]
    what_if_means: str
    source: Path


def load_vocabulary(path: Path | str = ROUTER_VOCABULARY_FILE) -> Vocabulary:
    """Load and check the router vocabulary; GuideError names the file and the field."""
    path = Path(path)
    data = load_yaml_mapping(path)
    name = path.name

    def number(mapping: Any, key: str, where: str = "") -> float:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise GuideError(f"{name}: {where}field '{key}' must be a number from 0 to 1")
        return float(value)

    def phrase(value: Any, where: str) -> tuple[str, ...]:
        words = tuple(normalise(value).split()) if isinstance(value, str) else ()
        if not words:
            raise GuideError(f"{name}: {where} must be non-empty text")
        return words

    def words(key: str, mapping: Any = data, where: str = "") -> frozenset[str]:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list) or not value:
            raise GuideError(f"{name}: {where}field '{key}' must be a non-empty list of words")
        return frozenset(w for v in value for w in phrase(v, f"{where}field '{key}' entry {v!r}"))

    def single_word(key: str, mapping: Any, where: str) -> str:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if not isinstance(value, str) or not value.isalpha():
            raise GuideError(f"{name}: {where}field '{key}' must be a single word")
        return value.lower()

    def phrase_map(key: str) -> dict[tuple[str, ...], tuple[str, ...]]:
        value = data.get(key)
        if not isinstance(value, dict) or not value:
            raise GuideError(f"{name}: field '{key}' must map phrases to phrases")
        return {
            phrase(k, f"field '{key}' entry {k!r}"): phrase(v, f"field '{key}' entry {k!r}")
            for k, v in value.items()
        }

    bands_raw = data.get("bands")
    if not isinstance(bands_raw, dict):
        raise GuideError(f"{name}: field 'bands' must be a mapping")
    bands = Bands(
        sure_min_score=number(bands_raw, "sure_min_score", "bands: "),
        sure_min_gap=number(bands_raw, "sure_min_gap", "bands: "),
        clarify_min_score=number(bands_raw, "clarify_min_score", "bands: "),
        offer_min_score=number(bands_raw, "offer_min_score", "bands: "),
    )
    if bands.clarify_min_score > bands.sure_min_score:
        raise GuideError(f"{name}: bands: field 'clarify_min_score' is above 'sure_min_score'")
    if bands.offer_min_score > bands.clarify_min_score:
        raise GuideError(f"{name}: bands: field 'offer_min_score' is above 'clarify_min_score'")

    scoring_raw = data.get("scoring")
    if not isinstance(scoring_raw, dict):
        raise GuideError(f"{name}: field 'scoring' must be a mapping")
    weights = Weights(
        similarity_share=number(scoring_raw, "similarity_share", "scoring: "),
        spelling_share=number(scoring_raw, "spelling_share", "scoring: "),
        guide_text_credit=number(scoring_raw, "guide_text_credit", "scoring: "),
        likelihood_share=number(scoring_raw, "likelihood_share", "scoring: "),
    )
    if weights.similarity_share + weights.spelling_share + weights.likelihood_share > 1:
        raise GuideError(f"{name}: scoring: the shares add up to more than 1")

    fillers_raw = data.get("fillers")
    if not isinstance(fillers_raw, list) or not fillers_raw:
        raise GuideError(f"{name}: field 'fillers' must be a non-empty list of phrases")
    fillers = tuple(phrase(v, f"field 'fillers' entry {v!r}") for v in fillers_raw)

    ood_raw = data.get("out_of_domain")
    if not isinstance(ood_raw, dict) or not ood_raw:
        raise GuideError(f"{name}: field 'out_of_domain' must map groups to lists of phrases")
    out_of_domain: dict[tuple[str, ...], str] = {}
    for group, values in ood_raw.items():
        if not isinstance(values, list) or not values:
            raise GuideError(f"{name}: out_of_domain: field '{group}' must be a list of phrases")
        for v in values:
            out_of_domain[phrase(v, f"out_of_domain: field '{group}' entry {v!r}")] = str(group)

    terms_raw = data.get("two_word_terms")
    if not isinstance(terms_raw, list):
        raise GuideError(f"{name}: field 'two_word_terms' must be a list of two-word phrases")
    two_word_terms = tuple(phrase(v, f"field 'two_word_terms' entry {v!r}") for v in terms_raw)
    if any(len(t) != 2 for t in two_word_terms):
        raise GuideError(f"{name}: field 'two_word_terms' must hold phrases of two words")

    together_raw = data.get("taken_together")
    what_if_raw = data.get("if_something_goes_wrong")
    together_group = together_raw.get("group") if isinstance(together_raw, dict) else None
    if together_group not in ood_raw:
        raise GuideError(f"{name}: taken_together: field 'group' must name an out_of_domain group")

    names_raw = data.get("letter_names")
    if not isinstance(names_raw, dict) or not all(
        isinstance(k, str) and k.isalpha() and isinstance(v, str) and len(v) == 1 and v.isalpha()
        for k, v in names_raw.items()
    ):
        raise GuideError(f"{name}: field 'letter_names' must map words to single letters")

    return Vocabulary(
        bands=bands,
        weights=weights,
        unknown_word_weight=number(data, "unknown_word_weight"),
        common_word_weight=number(data, "common_word_weight"),
        out_of_domain_factor=number(data, "out_of_domain_factor"),
        fillers=fillers,
        stopwords=words("stopwords"),
        misheard=phrase_map("misheard"),
        two_word_terms=two_word_terms,
        synonyms=phrase_map("synonyms"),
        letter_names=dict(names_raw),
        numbers=words("numbers"),
        common_words=words("common_words"),
        as_disease_after=words("disease_after", data.get("as_the_disease"), "as_the_disease: "),
        as_disease_before=words("disease_before", data.get("as_the_disease"), "as_the_disease: "),
        as_word_before=words("word_before", data.get("as_the_disease"), "as_the_disease: "),
        as_heard=words("heard_as", data.get("as_the_disease"), "as_the_disease: "),
        subject_names=words(
            "names", data.get("another_subject_alone"), "another_subject_alone: "
        ),
        treatment_words=words(
            "unless", data.get("another_subject_alone"), "another_subject_alone: "
        ),
        together_group=str(together_group),
        together_words=words("words", together_raw, "taken_together: "),
        what_if_after=single_word("after", what_if_raw, "if_something_goes_wrong: "),
        what_if_words=words("words", what_if_raw, "if_something_goes_wrong: "),
        what_if_means=single_word("means", what_if_raw, "if_something_goes_wrong: "),
        out_of_domain=out_of_domain,
        source=path,
    )


# --- words ---------------------------------------------------------------------------------


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """A light stemmer: 'effects'/'effect', 'cured'/'cure', 'working'/'works' meet."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly", "ness", "ment"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


_PHONETIC_PAIRS = (
    ("tch", "ch"), ("sch", "sk"), ("ph", "f"), ("ght", "t"), ("gh", ""), ("ck", "k"), ("qu", "kw"),
    ("wh", "w"), ("th", "0"), ("sh", "x"), ("ch", "x"), ("dg", "j"), ("tion", "xon"),
    ("sion", "xon"),
    ("nd", "n"),  # the d after n is lost in quick speech: 'and hibitors', 'kind ace'
)  # fmt: skip


@lru_cache(maxsize=4096)
def phonetic_key(word: str) -> str:
    """A simple sound key in the spirit of metaphone: 'jock', 'jag' and 'jak' sound alike."""
    w = "".join(c for c in word.lower() if c.isalpha())
    if not w:
        return ""
    if w.startswith("gh"):
        w = "g" + w[2:]  # 'ghost'; elsewhere 'gh' is silent: 'sigh', 'weigh', 'though'
    for a, b in _PHONETIC_PAIRS:
        w = w.replace(a, b)
    out: list[str] = []
    for i, c in enumerate(w):
        nxt = w[i + 1] if i + 1 < len(w) else ""
        if c in "aeiouy":
            if i == 0:
                out.append("a")
            continue
        if c == "c":
            c = "s" if nxt in ("e", "i", "y") else "k"
        elif c == "g":
            c = "j" if nxt in ("e", "i", "y") else "k"
        elif c == "q":
            c = "k"
        elif c == "x":
            c = "ks"
        elif c == "z":
            c = "s"
        elif c == "d":
            c = "t"
        elif c == "b":
            c = "p"
        elif c == "v":
            c = "f"
        elif c in "hw" and (nxt not in "aeiou" or (i > 0 and w[i - 1] not in "aeiouy")):
            continue  # silent: 'rheumatologist' sounds like 'roomatologist'
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


class _PhraseTable:
    """Whole-word phrase replacement, longest phrase first."""

    def __init__(self, entries: Mapping[tuple[str, ...], tuple[str, ...]]) -> None:
        # By first word: the phrase lengths it starts, longest first, each with its phrases.
        by_first: dict[str, dict[int, dict[tuple[str, ...], tuple[str, ...]]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for heard, meant in entries.items():
            by_first[heard[0]][len(heard)][heard] = meant
        self._by_first = {
            first: sorted(by_length.items(), key=lambda e: -e[0])
            for first, by_length in by_first.items()
        }

    def apply(self, tokens: list[str]) -> list[str]:
        # Its own scan, not `_join_windows`: only the lengths of phrases starting with the word
        # are tried, which keeps the router's build about 90 ms shorter.
        if self._by_first.keys().isdisjoint(tokens):
            return tokens  # most texts hold no phrase of a given table
        out: list[str] = []
        words = tuple(tokens)
        i = 0
        while i < len(words):
            for length, phrases in self._by_first.get(words[i], ()):
                meant = phrases.get(words[i : i + length])
                if meant is not None:
                    out.extend(meant)
                    i += length
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def find(self, tokens: list[str]) -> list[tuple[str, ...]]:
        """The phrases that occur in the tokens."""
        found = []
        words = tuple(tokens)
        for i, token in enumerate(words):
            for length, phrases in self._by_first.get(token, ()):
                if words[i : i + length] in phrases:
                    found.append(words[i : i + length])
        return found


# --- reading a question ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What the router made of a question."""

    terms: tuple[str, ...]  # stemmed content words, in order (unknown words included)
    unknown: tuple[str, ...]  # content words the guide does not know
    common: tuple[str, ...]  # everyday words the guide does not use, weak evidence either way
    fuzzy: tuple[str, ...]  # stems reached by sound or spelling, not heard as such
    out_of_domain: tuple[str, ...]  # out-of-domain groups the question names
    # content words as heard (after the phrase tables; fuzzy matches corrected), unstemmed
    spelled: tuple[str, ...] = field(default=())


class _Reader:
    """Turns a spoken question into the guide's terms (see the module docstring)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._misheard = _PhraseTable(vocabulary.misheard)
        self._fillers = _PhraseTable({f: () for f in vocabulary.fillers})
        # Words that are not the guide's but are not mishearings either: never joined or fixed.
        # Every word of a filler too: "thank you" is dropped whole, never joined ("think").
        self._other_words = (
            {p[0] for p in (*vocabulary.synonyms, *vocabulary.misheard, *vocabulary.out_of_domain)
             if len(p) == 1}
            | {w for p in vocabulary.fillers for w in p}
            | vocabulary.common_words
        )  # fmt: skip
        self._synonyms = _PhraseTable(vocabulary.synonyms)
        self._out_of_domain = _PhraseTable({p: (g,) for p, g in vocabulary.out_of_domain.items()})
        self._ood_group = dict(vocabulary.out_of_domain)
        self.known_words: set[str] = set()
        self.known_stems: set[str] = set()
        self._by_key: dict[str, set[str]] = defaultdict(set)
        # Two-word terms by the sound of the two run together (one word of the pair each way).
        self._term_by_key: dict[str, set[str]] = defaultdict(set)
        for term in vocabulary.two_word_terms:
            self._term_by_key[phonetic_key("".join(term))].add(" ".join(term))
        # Long words by their sound with any one sound left out: a sound one edit away from a
        # word's shares one of these with it. The words the vocabulary reads as the guide's
        # ("rheumatologist", "inflammatory") are here too, and by their whole sound: pieces that
        # sound like one are joined into it, and the synonym table then reads it.
        self._by_near_key: dict[str, set[str]] = defaultdict(set)
        self._read_word_by_key: dict[str, set[str]] = defaultdict(set)
        for phrase in vocabulary.synonyms:
            if len(phrase) == 1 and len(phrase[0]) >= NEAR_SOUND_MIN_LENGTH:
                self._read_word_by_key[phonetic_key(phrase[0])].add(phrase[0])
                self._add_near_key(phrase[0])
        for term in vocabulary.two_word_terms:  # "cider fects": "side effects"
            self._add_near_key(" ".join(term))
        # Each word of a two-word term: its partner, and whether the partner comes before it.
        self._term_partners: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for first, second in vocabulary.two_word_terms:
            self._term_partners[first].append((second, False))
            self._term_partners[second].append((first, True))
        self._by_initial_and_length: dict[tuple[str, int], list[str]] = defaultdict(list)
        self._letters: dict[str, Counter[str]] = {}
        # Word-level answers repeat from question to question (and words are few): remember
        # them, per reader, until the reader learns more words.
        self._is_known = lru_cache(maxsize=WORD_CACHE_SIZE)(self._is_known_uncached)
        self._sounds_like = lru_cache(maxsize=WORD_CACHE_SIZE)(self._sounds_like_uncached)
        self._closest = lru_cache(maxsize=WORD_CACHE_SIZE)(self._closest_uncached)
        self._sounds_whole = lru_cache(maxsize=WORD_CACHE_SIZE)(self._sounds_whole_uncached)
        # A text's words with letters joined and mishearings mended need no learned word: the
        # guide's phrases are learned, then read, and pass this step once while the router is
        # built (`serve` then keeps only the popular questions).
        self._mended = lru_cache(maxsize=WORD_CACHE_SIZE)(self._mended_uncached)
        # The same for the words after the synonym and filler tables, as heard.
        self._surface = lru_cache(maxsize=WORD_CACHE_SIZE)(self._surface_uncached)

    def serve(self) -> None:
        """Built: from now on remember only the last `TEXT_CACHE_SIZE` texts read."""
        self._mended = lru_cache(maxsize=TEXT_CACHE_SIZE)(self._mended_uncached)
        self._surface = lru_cache(maxsize=TEXT_CACHE_SIZE)(self._surface_uncached)

    def learn(self, texts: Iterable[str]) -> None:
        """Add the words of the guide's own texts to the words the reader knows."""
        for text in texts:
            # A word that names something outside the guide stays outside it, even when a
            # sample says it ("can i take these alongside my methotrexate").
            new_words = [
                w
                for w in self.surface_words(text)
                if w not in self.vocabulary.stopwords
                and w not in self.known_words
                and (w,) not in self._ood_group
            ]
            for word in new_words:
                self.known_words.add(word)
                self.known_stems.add(stem(word))
                if len(word) >= 4:
                    self._by_key[phonetic_key(word)].add(word)
                    self._by_initial_and_length[word[0], len(word)].append(word)
                if len(word) >= NEAR_SOUND_MIN_LENGTH:
                    self._add_near_key(word)
            if new_words:  # what was remembered may no longer hold
                for cached in (
                    self._is_known, self._sounds_like, self._closest, self._sounds_whole
                ):
                    cached.cache_clear()

    def surface_words(self, text: str) -> list[str]:
        """The words of a text after the phrase tables, before stemming."""
        return list(self._surface(tuple(self._heard_words(text, spelled_right=True))))

    def _heard_words(self, text: str, spelled_right: bool = False) -> list[str]:
        """The words as heard: letters joined, mishearings mended, split and merged words
        mended (not in the guide's own texts, which are spelled right)."""
        tokens = list(self._mended(text))
        if spelled_right:
            return tokens
        if self.known_words and not all(self._is_known(t) for t in tokens):
            # Every join needs a piece that is not known: nothing to mend otherwise. A term's
            # other word first: beside one word of a term, pieces that sound like the other
            # are meant as it ("and kill a sing spondylitis"), not as a word they might sound
            # like anywhere ("closing").
            tokens = self._complete_terms(tokens)
            split = self._join_split_words(self._split_merged_words(tokens))
            tokens = [self._as_read_word(t) for t in self._join_near_sounds(split)]
        tokens = _jak_before_guide(self._complete_terms(tokens), self._is_guide_word)
        if _INHIBITOR_WORDS.isdisjoint(tokens):
            return tokens
        # ... and the words heard before "inhibitors" before any mending: "jerk inhibitors"
        # is read as "jak inhibitors" by the misheard table, but "jerk" said again is "jak".
        heard_as_jak = _heard_before_inhibitor(normalise(text).split())
        return _jak_before_inhibitor(tokens, heard_as_jak, self._is_known)

    def _as_read_word(self, token: str) -> str:
        """An unknown long word that sounds like a word the vocabulary reads and is spelled
        much like it, as that word ("roomatologist": "rheumatologist", which reads as the
        doctor; never "teenagers": "dangerous")."""
        if len(token) < NEAR_SOUND_MIN_LENGTH or self._is_known(token):
            return token
        return self._same_sound(token, SOUND_JOIN_WITH_WORD_RATIO, self._read_word_by_key) or token

    def _surface_uncached(self, heard: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self._fillers.apply(self._synonyms.apply(list(heard))))

    def _mended_uncached(self, text: str) -> tuple[str, ...]:
        letters = _join_letters(normalise(text).split(), self.vocabulary.letter_names)
        return tuple(self._misheard.apply(letters))

    def read(self, question: str) -> Reading:
        heard = self._heard_words(question)
        tokens = list(self._surface(tuple(heard)))
        groups = {self._ood_group[p] for p in self._out_of_domain.find(tokens)}
        vocab = self.vocabulary
        if not vocab.subject_names.isdisjoint(heard) and vocab.treatment_words.isdisjoint(heard):
            groups.add(ANOTHER_SUBJECT_ALONE)
        if (
            vocab.together_group in groups
            and not vocab.treatment_words.isdisjoint(heard)
            and not vocab.together_words.isdisjoint(heard)
        ):
            # "can i take these alongside my methotrexate": the guide's own question.
            groups.discard(vocab.together_group)
            ood_group = self._ood_group
            tokens = [
                "medication" if ood_group.get((t,)) == vocab.together_group else t
                for t in tokens
            ]
        terms: list[str] = []
        unknown: list[str] = []
        common: list[str] = []
        fuzzy: list[str] = []
        spelled: list[str] = []
        for i, token in enumerate(tokens):
            if (token == "as" or token in vocab.as_heard) and self._as_is_disease(tokens, i):
                terms.append(stem("spondylitis"))
                spelled.append("spondylitis")
                continue
            if token in vocab.numbers or token.isdigit():
                continue  # "two weeks" and "2 weeks" read the same: the number is not the topic
            if token in vocab.stopwords:
                continue
            spelled.append(token)
            if self._is_guide_word(token):
                terms.append(stem(token))
                continue
            if (token,) in self._ood_group:
                unknown.append(token)
                terms.append(token)
                continue
            if token in vocab.common_words:
                common.append(token)
                terms.append(token)
                continue
            match = self._sounds_like(token)
            if match:
                terms.append(stem(match))
                fuzzy.append(stem(match))
                spelled[-1] = match
            else:
                unknown.append(token)
                terms.append(token)
        if vocab.what_if_after in heard:
            after = heard[heard.index(vocab.what_if_after) + 1 :]
            if not vocab.what_if_words.isdisjoint(after):
                # "and if it makes me sick": what to do about it, said without "what to do".
                terms.append(stem(vocab.what_if_means))
        return Reading(
            terms=tuple(terms),
            unknown=tuple(unknown),
            common=tuple(common),
            fuzzy=tuple(fuzzy),
            out_of_domain=tuple(sorted(groups)),
            spelled=tuple(spelled),
        )

    def _join_split_words(self, tokens: list[str]) -> list[str]:
        """'tab lets' -> 'tablets' when a piece is unknown and the whole is a guide word, or a
        word the vocabulary reads ('re cap' -> 'recap', a synonym of 'summary')."""
        return _join_windows(tokens, (4, 3, 2), self._split_word)

    def _split_word(self, pieces: list[str]) -> tuple[str, ...] | None:
        """The words that split pieces were meant as, if they are one split word."""
        if all(self._is_known(p) for p in pieces):
            return None
        joined = "".join(pieces)
        if len(joined) < 5:
            return None
        target: str | None = None
        unknown = sum(not self._is_known(p) for p in pieces)
        if (joined,) in self.vocabulary.misheard:
            return self.vocabulary.misheard[(joined,)]
        if self._is_guide_word(joined) or (joined,) in self.vocabulary.synonyms:
            target = joined
        elif len(joined) >= 7 and not any(len(p) > 4 and self._is_known(p) for p in pieces):
            # "spondy light is" -> "spondylitis", "in flamation" -> "inflammation";
            # never "inhibitors cost" -> "inhibitors"
            cutoff = 0.8 if unknown >= 2 else 0.88
            target = self._closest(joined, cutoff, max_length_change=2)
        elif len(joined) >= 9:
            # A real word in a split one ("improve mints", "inhibit tours"): only when
            # the whole is nearly a guide word, letter for letter.
            target = self._closest(joined, NEAR_WORD_CUTOFF, max_length_change=2)
        if not target and len(joined) >= 6 and pieces[-1] not in _ARTICLES:
            # Pieces that sound like a guide word together: "con clue shun",
            # "spawn delight us"; starting on a small word or holding a guide word
            # ("in habiters", "benny fits"), only when nearly that word letter for
            # letter too (never "any in ter": "intro", nor "take ace": "teach").
            whole = self._sounds_whole(joined)
            # ... and never much shorter: "get sigh" is not "gets".
            if whole and _long_enough(whole, joined) and (
                _ratio(joined, whole) >= SOUND_JOIN_WITH_WORD_RATIO
                or (
                    pieces[0] not in self.vocabulary.stopwords
                    and not any(len(p) > 3 and self._is_guide_word(p) for p in pieces)
                )
            ):
                target = whole
        return tuple(target.split()) if target else None  # a two-word term is two words

    def _join_near_sounds(self, tokens: list[str]) -> list[str]:
        """After `_join_split_words`: pieces, one of them still unknown and none a small word
        or a longer guide word, that run together are one sound away from a long word ("accu
        punk sure": "acupuncture"; never "ever be rid": "everybody"). Last, so that no near
        sound takes the place of a sound heard exactly."""
        return _join_windows(tokens, (3, 2), self._near_sound_word)

    def _near_sound_word(self, pieces: list[str]) -> tuple[str, ...] | None:
        """The long word (or term) pieces were meant as, if one sound away from it."""
        if (
            any(p in self.vocabulary.stopwords for p in pieces)
            or all(self._is_known(p) for p in pieces)
            or any(len(p) > 4 and self._is_guide_word(p) for p in pieces)
        ):
            return None
        joined = "".join(pieces)
        whole = self._near_sound(joined)
        if whole and _long_enough(whole, joined):
            return tuple(whole.split())  # a two-word term is two words
        return None

    def _complete_terms(self, tokens: list[str]) -> list[str]:
        """One word of a two-word term heard, and the pieces beside it, where the other word
        belongs, loosely sound like that word: they were meant as it ("uncle lousy
        spondylitis", "ankylosing sponge elitist", "janis kyness"). The word heard makes the
        other likely, so a looser likeness will do than for a join anywhere
        (`TERM_PARTNER_RATIO`)."""
        partners = self._term_partners
        if not any(t in partners for t in tokens):
            return tokens
        out = list(tokens)
        i = 0
        while i < len(out):
            for partner, before in partners.get(out[i], ()):
                i += self._complete_term(out, i, partner, before)
            i += 1
        return out

    def _complete_term(self, out: list[str], i: int, partner: str, before: bool) -> int:
        """Replace the pieces on one side of `out[i]` with its term partner if they sound
        loosely like it (in place); how far `out[i]` moved. Of the runs of pieces that do,
        the one most like it ("fix and kylie sing": "and kylie sing"), the longer on a tie."""
        term_stems = {stem(out[i]), stem(partner)}
        best: tuple[float, int] | None = None
        for n in TERM_PARTNER_PIECES:
            lo, hi = (i - n, i) if before else (i + 1, i + 1 + n)
            if lo < 0 or hi > len(out):
                continue
            pieces = out[lo:hi]
            if not term_stems.isdisjoint(map(stem, pieces)):
                return 0  # the term is whole, or the partner is near: nothing to complete
            outer = pieces[0] if before else pieces[-1]
            if len(outer) > 3 and self._is_guide_word(outer):
                continue  # "help hanky losing": the guide's word is meant as itself
            likeness = self._likeness_to_partner(pieces, partner)
            if likeness is not None and (best is None or likeness > best[0]):
                best = (likeness, n)
        if best is None:
            return 0
        n = best[1]
        lo, hi = (i - n, i) if before else (i + 1, i + 1 + n)
        out[lo:hi] = [partner]
        return 1 - n if before else 0

    def _likeness_to_partner(self, pieces: list[str], word: str) -> float | None:
        """How much pieces, run together, sound like a word, if loosely enough: ending on a
        small word only when nearly it ("ankle is in": "ankylosing"), and starting on one
        only if it starts the word's sound ("and kill a sing")."""
        stopwords = self.vocabulary.stopwords
        own_words = all(p in stopwords or self._is_guide_word(p) for p in pieces)
        if own_words and len(pieces) < 2:
            return None
        target = phonetic_key(word)
        if pieces[0] in stopwords and not target.startswith(phonetic_key(pieces[0])):
            return None
        joined = "".join(pieces)
        shortest, longest = TERM_PARTNER_LENGTHS
        if not shortest * len(word) <= len(joined) <= longest * len(word):
            return None
        if own_words:
            likeness = _ratio(joined, word)
            return likeness if likeness >= TERM_PARTNER_OWN_WORDS_RATIO else None
        key = phonetic_key(joined)
        if key[:1] != target[:1]:
            # A dropped or added h ("hanky losing"), or a j said as y ("yanus kinase").
            key = phonetic_key("j" + joined[1:] if joined[0] == "y" else joined.lstrip("h"))
        # One word the reader does not know, where the other word belongs, starting with its
        # first sounds ("anchorage spondylitis", "fizzy therapy"): it was meant.
        if len(pieces) == 1 and len(joined) >= 3 and not self._is_known(joined) and (
            key[:2] == target[:2]
        ):
            return TERM_PARTNER_RATIO
        likeness = max(_ratio(key, target), _ratio(joined, word))
        if pieces[-1] in stopwords:
            needed = TERM_PARTNER_OWN_WORDS_RATIO
        elif any(len(p) > 3 and (self._is_guide_word(p) or p in self._other_words) for p in pieces):
            # A word of the guide's or the vocabulary's among them ("jak interfere") asks more.
            needed = SOUND_JOIN_WITH_WORD_RATIO
        else:
            needed = TERM_PARTNER_RATIO
        return likeness if likeness >= needed else None

    def _as_is_disease(self, tokens: list[str], i: int) -> bool:
        """Whether 'as' names ankylosing spondylitis here ("cure for as") or is just 'as'."""
        vocab = self.vocabulary
        before = tokens[i - 1] if i > 0 else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if after in vocab.as_word_before:
            return False
        return not after or before in vocab.as_disease_after or after in vocab.as_disease_before

    def _split_merged_words(self, tokens: list[str]) -> list[str]:
        """'sideeffects' -> 'side effects': an unknown word that is two guide words run together;
        either may be a mishearing the vocabulary mends ('jackinhibitors': 'jak inhibitors')."""
        out: list[str] = []
        for token in tokens:
            if len(token) < 6 or self._is_known(token):
                out.append(token)
                continue
            for cut in range(2, len(token) - 1):
                head, tail = token[:cut], token[cut:]
                head_words, tail_words = self._as_guide_word(head), self._as_guide_word(tail)
                if not (head_words and tail_words):
                    continue
                # A mended piece only beside a long guide word: "jackson" is not "jak son".
                if (head_words != (head,) and len(tail) < 5) or (
                    tail_words != (tail,) and len(head) < 5
                ):
                    continue
                out.extend((*head_words, *tail_words))
                break
            else:
                out.append(token)
        return out

    def _as_guide_word(self, piece: str) -> tuple[str, ...] | None:
        """A guide word as itself, or a word the misheard table mends, as mended."""
        if piece in self.known_words:
            return (piece,)
        return self.vocabulary.misheard.get((piece,))

    def _is_guide_word(self, token: str) -> bool:
        """A word of the guide's own texts, or a form of one ('effects', 'effect')."""
        return token in self.known_words or stem(token) in self.known_stems

    def _is_known_uncached(self, token: str) -> bool:
        return (
            token in self.vocabulary.stopwords
            or token in self._other_words
            or self._is_guide_word(token)
            or token in self.vocabulary.numbers
        )

    def _sounds_like_uncached(self, token: str) -> str | None:
        """The guide word an unknown word was probably meant to be, if any."""
        if len(token) < 4 or not token.isalpha():
            return None
        same_sound = self._same_sound(token, 0.7)
        if same_sound or len(token) < 5:
            return same_sound
        return self._closest(token, 0.8)

    def _sounds_whole_uncached(self, joined: str) -> str | None:
        """The guide word, two-word term ("sigh defects": "side effects") or word the
        vocabulary reads ("room atologist": "rheumatologist") that split pieces, run together,
        sound like, if any."""
        return (
            self._same_sound(joined, SPLIT_SOUND_RATIO)
            or self._same_sound(joined, SPLIT_SOUND_RATIO, self._term_by_key)
            or self._read_word_sounding_like(joined)
        )

    def _read_word_sounding_like(self, joined: str) -> str | None:
        """A word the vocabulary reads that the pieces sound like, if the guide does not have
        it itself: "i experience sigh" is not "experiencing", a form of "experience"."""
        word = self._same_sound(joined, SPLIT_SOUND_RATIO, self._read_word_by_key)
        return word if word and not self._is_guide_word(word) else None

    def _add_near_key(self, word: str) -> None:
        for key in _one_sound_less(phonetic_key(word)):
            self._by_near_key[key].add(word)

    def _near_sound(self, joined: str) -> str | None:
        """The long word (or two-word term) whose sound is one edit from the joined pieces' and
        that is closest to them letter for letter, if close enough."""
        key = phonetic_key(joined)
        if len(joined) < NEAR_SOUND_MIN_LENGTH or len(key) < 5:
            return None
        near = {
            word
            for k in _one_sound_less(key)
            for word in self._by_near_key.get(k, ())
            if phonetic_key(word)[0] == key[0]  # a recogniser seldom mishears the first sound
        }
        if not near:
            return None
        best = max(near, key=lambda w: (_ratio(joined, w.replace(" ", "")), w))
        return best if _ratio(joined, best.replace(" ", "")) >= NEAR_SOUND_RATIO else None

    def _same_sound(
        self, text: str, min_ratio: float, by_key: Mapping[str, set[str]] | None = None
    ) -> str | None:
        """The guide word (or term, from `by_key`) with the same sound key as the text that is
        closest to it letter for letter, if at least this close."""
        same_sound = (self._by_key if by_key is None else by_key).get(phonetic_key(text), ())
        if not same_sound:
            return None
        best = max(same_sound, key=lambda w: (_ratio(text, w.replace(" ", "")), w))
        return best if _ratio(text, best.replace(" ", "")) >= min_ratio else None

    def _closest_uncached(
        self, token: str, cutoff: float, max_length_change: int = 3
    ) -> str | None:
        best, best_ratio = None, cutoff
        letters = Counter(token)
        lengths = range(len(token) - max_length_change, len(token) + max_length_change + 1)
        for word in itertools.chain.from_iterable(
            self._by_initial_and_length.get((token[0], n), ()) for n in lengths
        ):
            # The letters the two share bound the ratio from above (SequenceMatcher's
            # quick_ratio): a word that cannot reach the best so far skips the slow exact one.
            counts = self._letters.get(word)
            if counts is None:  # worked out when first compared, not for every word learned
                counts = self._letters[word] = Counter(word)
            shared = sum(min(n, counts.get(c, 0)) for c, n in letters.items())
            if 2 * shared < best_ratio * (len(token) + len(word)):
                continue
            ratio = _ratio(token, word)
            if ratio > best_ratio or (ratio == best_ratio and best is not None and word < best):
                best, best_ratio = word, ratio
        return best


_INHIBITOR_WORDS = frozenset({"inhibitor", "inhibitors"})
# The start of "inhibitor" as a recogniser may write it apart: "jak in hibitors", "jack and
# hibitors".
_INHIBITOR_START = frozenset({"in", "an", "and"})
# The sound of a word heard for "jak": 'jaguar', 'jerk', 'yak', 'check', 'jacking', 'junk',
# or any short word that starts like it: 'jam', 'jab', 'jazz'; 'zack', 'zach', 'gak' and 'kay'.
_SOUNDS_LIKE_JAK = re.compile(r"^(j|ks|a)[rln]?k|^j.?$|^sks?$|^k$")


def _sounds_like_jak(word: str) -> bool:
    return _SOUNDS_LIKE_JAK.match(phonetic_key(word)) is not None


def _jak_before_inhibitor(
    tokens: list[str], heard_as_jak: Iterable[str], is_known: Callable[[str], bool]
) -> list[str]:
    """'jaguar inhibitors' -> 'jak inhibitors': the only inhibitors the guide names are JAK
    inhibitors, so a word that sounds like 'jak' before 'inhibitor' was meant as 'jak'; so
    too with the start of 'inhibitor' heard apart ('yak in hibitors': 'yak in inhibitors').
    The same word heard elsewhere, if not a known one, is 'jak' too ("what does jerk stand for
    in jerk inhibitors": `heard_as_jak`, the words heard before inhibitors). The caller
    checks that the tokens say inhibitor(s)."""
    kept = [
        token
        for i, token in enumerate(tokens)
        if not (
            token in _INHIBITOR_START
            and 0 < i < len(tokens) - 1
            and tokens[i + 1] in _INHIBITOR_WORDS
            and _sounds_like_jak(tokens[i - 1])
        )
    ]
    heard_as_jak = {*heard_as_jak, *_heard_before_inhibitor(kept)}
    return [
        "jak"
        if tok in heard_as_jak and (nxt in _INHIBITOR_WORDS or not is_known(tok))
        else tok
        for tok, nxt in zip(kept, [*kept[1:], ""], strict=True)
    ]


def _jak_before_guide(tokens: list[str], is_guide_word: Callable[[str], bool]) -> list[str]:
    """'the jacked guide' -> 'the jak guide': the guide is the JAK guide, so a word not of the
    guide's own that sounds like 'jak' right before 'guide' was meant as 'jak'."""
    if "guide" not in tokens:
        return tokens
    return [
        "jak"
        if nxt == "guide" and not is_guide_word(tok) and _sounds_like_jak(tok)
        else tok
        for tok, nxt in zip(tokens, [*tokens[1:], ""], strict=True)
    ]


def _heard_before_inhibitor(words: Sequence[str]) -> set[str]:
    """The words right before 'inhibitor(s)' that sound like 'jak' (but are not 'jak')."""
    return {
        word
        for word, nxt in itertools.pairwise(words)
        if nxt in _INHIBITOR_WORDS and word != "jak" and _sounds_like_jak(word)
    }


def _long_enough(whole: str, joined: str) -> bool:
    """Whether a word (or term) joined by sound is not much shorter than the pieces run
    together (`SOUND_JOIN_MIN_LENGTH_SHARE`)."""
    return len(whole) - whole.count(" ") >= SOUND_JOIN_MIN_LENGTH_SHARE * len(joined)


def _one_sound_less(key: str) -> set[str]:
    """A sound key and the keys with one of its sounds left out: two keys one insertion,
    deletion or substitution apart share one of these."""
    return {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}


@lru_cache(maxsize=65536)
def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _join_windows(
    tokens: list[str],
    sizes: Iterable[int],
    join: Callable[[list[str]], tuple[str, ...] | None],
) -> list[str]:
    """The tokens, with each run of pieces that `join` reads as other words replaced by them:
    at each place the longest run first (`sizes`, longest first), then on after it."""
    sizes = tuple(sizes)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for n in sizes:
            pieces = tokens[i : i + n]
            words = join(pieces) if len(pieces) == n else None
            if words is not None:
                out.extend(words)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _join_letters(tokens: list[str], letter_names: Mapping[str, str]) -> list[str]:
    """'j a k' -> 'jak', and 'jay a k' or 'jay ay kay' too (letters heard as their names): a
    run of two or more letters, not only the words 'a' and 'i'."""
    letters = [t for t in tokens if (len(t) == 1 and t.isalpha()) or t in letter_names]
    if len(letters) < 2 or set(letters) <= _LETTER_WORDS:
        return tokens  # no run of two letters that are not all 'a' and 'i'
    out: list[str] = []
    run: list[tuple[str, str]] = []  # (as heard, the letter)
    for token in [*tokens, ""]:
        letter = token if len(token) == 1 and token.isalpha() else letter_names.get(token)
        if letter:
            run.append((token, letter))
            continue
        if (len(run) >= 4 or (len(run) == 2 and len(run[1][0]) > 1)) and run[0][0] == "a":
            # "on a j a k", "a jay nus kinase": the first 'a' is the article
            out.append(run.pop(0)[0])
        # "is a s a chronic disease": the last 'a' is the article after the disease.
        article = run.pop() if len(run) >= 3 and [h for h, _ in run[-2:]] == ["s", "a"] else None
        if len(run) >= 2 and not {heard for heard, _ in run} <= _LETTER_WORDS:
            out.append("".join(letter for _, letter in run))
        else:
            out.extend(heard for heard, _ in run)
        if article:
            out.append(article[0])
        run = []
        if token:
            out.append(token)
    return out


def _char_grams(words: Iterable[str]) -> Counter[str]:
    """Letter trigrams of the words run together: "inter act" and "interact" share them all,
    "improve mints" shares most with "improvement"."""
    text = "".join(words)
    return Counter(text[i : i + CHAR_GRAM] for i in range(len(text) - CHAR_GRAM + 1))


def _bigrams(terms: Iterable[str]) -> list[str]:
    seq = list(terms)
    return [f"{a}_{b}" for a, b in itertools.pairwise(seq)]


# --- routing --------------------------------------------------------------------------------


class ScoredTopic(NamedTuple):
    """A topic and how well it matches the question, from 0 to 1 (a tuple: made per topic
    for every question, so it must be cheap)."""

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

    def choices(self, bands: Bands) -> tuple[str, ...]:
        """On a close call, the topics to ask about: the top two when the second is close to
        the first ("the side effects, or what to do if you get one?"), else the top one alone
        ("did you mean the side effects?"). Empty in the other bands."""
        if self.band != "clarify" or not self.ranked:
            return ()
        first = self.ranked[0]
        if len(self.ranked) > 1 and first.score - self.ranked[1].score < bands.sure_min_gap:
            return (first.topic_id, self.ranked[1].topic_id)
        return (first.topic_id,)

    def nearest(self, bands: Bands) -> str | None:
        """When declining, the topic to offer as the nearest part of the guide: the top one,
        if it scores at least `offer_min_score`. None in the other bands."""
        top = self.top
        if self.band != "unsure" or top is None or top.score < bands.offer_min_score:
            return None
        return top.topic_id


class _PhraseIndex:
    """The guide's phrases as weighted feature vectors, grouped by topic, for one question at a
    time: each topic's best cosine with it. An inverted index, so a question costs only the
    phrases it shares a feature with; weights are stored already divided by their phrase's
    norm, so a topic's best cosine is the largest of its phrases' dot products.

    Common features ("jak", "inhibitor", "what") are in most questions and in hundreds of
    phrases. Their part of each topic's best dot product depends only on which of them the
    question has, with what weights, so it is worked out once per such combination and
    remembered; a question then walks only its rarer features' phrases. Exact: a phrase the
    rare features touch scores its rare part plus its common part, and one they miss scores
    its common part alone, which the remembered best already bounds."""

    def __init__(
        self, topic_ids: Iterable[str], phrases: Iterable[tuple[str, Mapping[str, float]]]
    ) -> None:
        by_topic: dict[str, list[Mapping[str, float]]] = {t: [] for t in topic_ids}
        seen: set[tuple[str, frozenset[tuple[str, float]]]] = set()
        for topic_id, vector in phrases:
            # Phrases that read alike ("what are the side effects", "what are side effects")
            # are one vector: a topic's best cosine is the same with one copy.
            key = (topic_id, frozenset(vector.items()))
            if vector and key not in seen:
                seen.add(key)
                by_topic[topic_id].append(vector)
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._ranges: list[tuple[str, int, int]] = []  # topic, first and past-last phrase
        self._topic_of: list[str] = []
        normalised: list[dict[str, float]] = []
        for topic_id, vectors in by_topic.items():
            if not vectors:
                continue
            self._ranges.append((topic_id, len(normalised), len(normalised) + len(vectors)))
            for vector in vectors:
                norm = math.sqrt(sum(w * w for w in vector.values()))
                normalised.append({f: w / norm for f, w in vector.items()})
                self._topic_of.append(topic_id)
        for index, vector in enumerate(normalised):
            for feature, weight in vector.items():
                self._postings[feature].append((index, weight))
        self._size = len(normalised)
        self._common = frozenset(
            f for f, p in self._postings.items() if len(p) >= COMMON_FEATURE_SHARE * self._size
        )
        self._common_best = lru_cache(maxsize=COMMON_CACHE_SIZE)(self._common_best_uncached)

    def best_by_topic(self, query: Mapping[str, float], query_norm: float) -> dict[str, float]:
        """Each topic's best cosine between the query and one of its phrases."""
        common = tuple(sorted((f, w) for f, w in query.items() if f in self._common))
        common_best, common_dots = self._common_best(common)
        best = dict(common_best)
        postings = self._postings
        touched: dict[int, float] = {}
        for feature, q_weight in query.items():
            if feature in self._common:
                continue
            for index, weight in postings.get(feature, ()):
                touched[index] = touched.get(index, 0.0) + q_weight * weight
        topic_of = self._topic_of
        for index, dot in touched.items():
            dot += common_dots[index]
            topic_id = topic_of[index]
            if dot > best[topic_id]:
                best[topic_id] = dot
        return {topic_id: best[topic_id] / query_norm for topic_id, _, _ in self._ranges}

    def _common_best_uncached(
        self, common: tuple[tuple[str, float], ...]
    ) -> tuple[dict[str, float], array[float]]:
        """Each topic's best dot product over the common features alone, and each phrase's
        (kept compact: a few hundred combinations are remembered)."""
        dots = [0.0] * self._size
        for feature, q_weight in common:
            for index, weight in self._postings[feature]:
                dots[index] += q_weight * weight
        best = {topic_id: max(dots[a:b]) for topic_id, a, b in self._ranges}
        return best, array("d", dots)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Building the router makes about a million small objects, none in a cycle; Python's
    cyclic collector would walk them again and again for nothing (a tenth of the build)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Router:
    """Scores every topic of the guide against a question and decides what to do."""

    def __init__(
        self,
        guide: Guide,
        vocabulary: Vocabulary | Path | str = ROUTER_VOCABULARY_FILE,
        weights: Weights | None = None,
    ) -> None:
        if not isinstance(vocabulary, Vocabulary):
            vocabulary = load_vocabulary(vocabulary)
        self.vocabulary = vocabulary
        self.bands = vocabulary.bands
        self.weights = weights or vocabulary.weights
        with _cyclic_gc_paused():
            self._build(guide)

    def _build(self, guide: Guide) -> None:
        vocabulary = self.vocabulary
        credit_text = self.weights.guide_text_credit
        self._reader = _Reader(vocabulary)
        self._topic_ids = tuple(t.id for t in guide.topics)

        # The words the guide knows: its topics' phrases and texts, and the synonym targets.
        phrases = {t.id: t.phrases for t in guide.topics}
        self._reader.learn(p for ps in phrases.values() for p in ps)
        self._reader.learn(t for topic in guide.topics for t in (topic.guide_text, *topic.spoken))
        self._reader.learn(" ".join(v) for v in vocabulary.synonyms.values())

        # Each topic's own terms (from its phrases) and the terms of its guide text.
        own: dict[str, set[str]] = {}
        text_terms: dict[str, set[str]] = {}
        readings: dict[str, list[tuple[str, ...]]] = {}
        uses: dict[str, Counter[str]] = {}
        for topic in guide.topics:
            readings[topic.id] = [self._reader.read(p).terms for p in phrases[topic.id]]
            # How many of the topic's phrases use each term (word or word pair).
            uses[topic.id] = Counter(t for r in readings[topic.id] for t in {*r, *_bigrams(r)})
            own[topic.id] = set(uses[topic.id])
            text = self._reader.read(" ".join((topic.guide_text, *topic.spoken))).terms
            text_terms[topic.id] = set(text) - own[topic.id]

        n = len(self._topic_ids)
        df = Counter(t for terms in own.values() for t in terms)
        df_text = Counter(t for terms in text_terms.values() for t in terms)
        top = math.log(1 + n)
        self._idf: dict[str, float] = {}
        for term in set(df) | set(df_text):
            count = df.get(term, 0) + credit_text * df_text.get(term, 0)
            self._idf[term] = (math.log(1 + n / count) / top) ** IDF_POWER
        # How much of a term each topic explains: 1 for its own words, less for its text.
        self._credit: dict[str, dict[str, float]] = defaultdict(dict)
        for topic_id in self._topic_ids:
            for term in text_terms[topic_id]:
                self._credit[term][topic_id] = credit_text
        # A topic's own word counts in full for the topic whose phrases use it most, and less
        # for a topic that uses it in passing: "help" is the benefits' word more than the
        # mechanism's, though a sample of each says it.
        most: Counter[str] = Counter()
        for counts in uses.values():
            for term, n in counts.items():
                most[term] = max(most[term], n)
        for topic_id in self._topic_ids:
            for term in own[topic_id]:
                share = uses[topic_id][term] / most[term]
                self._credit[term][topic_id] = max(credit_text, share**OWN_WORD_POWER)

        # Each topic's log likelihood of a word its phrases do not use, and how much more likely
        # each word they use is (add-LIKELIHOOD_SMOOTHING counts over the words some topic's
        # phrases use). Kept by word, so a question costs only the topics its words name.
        words_used = {t for counts in uses.values() for t in counts if "_" not in t}
        self._log_unseen: dict[str, float] = {}
        self._log_gain: dict[str, dict[str, float]] = defaultdict(dict)
        for topic_id in self._topic_ids:
            counts = {t: c for t, c in uses[topic_id].items() if "_" not in t}
            total = sum(counts.values()) + LIKELIHOOD_SMOOTHING * len(words_used)
            self._log_unseen[topic_id] = math.log(LIKELIHOOD_SMOOTHING / total)
            for term, count in counts.items():
                self._log_gain[term][topic_id] = math.log(1 + count / LIKELIHOOD_SMOOTHING)

        # The guide's own phrases as sets of terms: a question that reads as one is complete.
        self._phrases = {frozenset(r) for rs in readings.values() for r in rs if r}

        # Sample vectors: each topic's closest sample question by words.
        self._samples = _PhraseIndex(
            self._topic_ids,
            ((t, self._vector(terms)) for t in self._topic_ids for terms in readings[t]),
        )

        # The topics' names by spelling: letter trigrams weighted by how few names share them.
        # Names (title, short name, keywords), not every sample question: a misheard or split
        # word is a name's word, and names are a small fraction of the phrases to compare with.
        spelled = [
            (topic.id, _char_grams(self._reader.read(p).spelled))
            for topic in guide.topics
            for p in topic.names
        ]
        spelled = [(t, g) for t, g in spelled if g]
        gram_df = Counter(g for _, grams in spelled for g in grams)
        self._gram_idf = {g: math.log(1 + len(spelled) / c) for g, c in gram_df.items()}
        self._gram_unknown = math.log(1 + len(spelled))
        self._spellings = _PhraseIndex(
            self._topic_ids,
            ((t, {g: c * self._gram_idf[g] for g, c in grams.items()}) for t, grams in spelled),
        )
        self._reader.serve()

    # -- public API --

    def best_topic(self, question: str) -> RouteDecision:
        """Rank the topics and decide: answer, ask which of two, or decline."""
        ranked = tuple(self.rank(question))
        return RouteDecision(band=band_for(ranked, self.bands), ranked=ranked)

    def rank(self, question: str) -> list[ScoredTopic]:
        """Every topic with a score above zero, best first (ties in guide order)."""
        scores = self.scores(question)
        order = sorted(self._topic_ids, key=lambda t: -scores[t])
        return [ScoredTopic(t, scores[t]) for t in order if scores[t] > 0]

    def read(self, question: str) -> Reading:
        """What the router makes of a question (for tests, the benchmark and the review log)."""
        return self._reader.read(question)

    def scores(self, question: str) -> dict[str, float]:
        """The score of every topic for this question, from 0 to 1."""
        reading = self._reader.read(question)
        scores = dict.fromkeys(self._topic_ids, 0.0)
        fuzzy = set(reading.fuzzy)
        common = set(reading.common)
        weights: list[tuple[str, float]] = []
        for term in dict.fromkeys(reading.terms):
            if term in self._idf:
                weights.append((term, self._idf[term] * (FUZZY_CREDIT if term in fuzzy else 1)))
            elif term in common:
                weights.append((term, self.vocabulary.common_word_weight))
            else:
                weights.append((term, self.vocabulary.unknown_word_weight))
        total = sum(w for _, w in weights)
        if not total:
            return scores
        known = sum(w for t, w in weights if t in self._idf) / total

        # A question of common words only ("what about it") is not evidence for any topic.
        # (Unless it is, word for word, one of the guide's own phrases: "jak", "what is this".)
        own_phrase = frozenset(reading.terms) in self._phrases
        mass = total if own_phrase else max(total, MIN_EVIDENCE)
        evidence = total / mass
        coverage: dict[str, float] = defaultdict(float)
        for term, weight in weights:
            for topic_id, credit in self._credit.get(term, {}).items():
                coverage[topic_id] += weight * credit / mass

        query = self._vector([t for t in reading.terms if t in self._idf])
        similarity: dict[str, float] = {}
        if query:
            q_norm = math.sqrt(sum(w * w for w in query.values()))
            similarity = self._samples.best_by_topic(query, q_norm)

        # Spelling is evidence where a word was not heard as one of the guide's (unknown, or
        # reached by sound): a question in the guide's own words is read well enough without.
        spelling: Mapping[str, float] = {}
        if self.weights.spelling_share and (reading.unknown or reading.fuzzy):
            spelling = self._spelling(reading.spelled)

        likelihood: Mapping[str, float] = {}
        if self.weights.likelihood_share:
            if own_phrase:
                # One of the guide's own phrases is its topic's, whatever its words suggest.
                likelihood = similarity
            else:
                likelihood = self._likelihood(t for t, _ in weights if t in self._idf)

        w = self.weights
        # Without the spelling signal, the others make the whole score between them.
        present = 1.0 if spelling or w.spelling_share >= 1 else 1.0 - w.spelling_share
        signals = (
            (w.coverage_share / present, coverage),
            (w.similarity_share / present * known * evidence, similarity),
            (w.spelling_share * evidence, spelling),
            (w.likelihood_share / present * known * evidence, likelihood),
        )
        # Each signal adds only to the topics it names, in the same order for every topic.
        for share, signal in signals:
            if share:
                for topic_id, value in signal.items():
                    scores[topic_id] += share * value
        factor = self.vocabulary.out_of_domain_factor if reading.out_of_domain else 1.0
        return {t: round(min(1.0, raw * factor), 4) for t, raw in scores.items()}

    def _likelihood(self, terms: Iterable[str]) -> dict[str, float]:
        """Each topic's posterior given the question's words (equal priors, naive Bayes)."""
        terms = list(terms)
        if not terms:
            return {}
        log_odds = {topic_id: len(terms) * unseen for topic_id, unseen in self._log_unseen.items()}
        for term in terms:
            for topic_id, gain in self._log_gain.get(term, {}).items():
                log_odds[topic_id] += gain
        top = max(log_odds.values())
        odds = {topic_id: math.exp(v - top) for topic_id, v in log_odds.items()}
        total = sum(odds.values())
        return {topic_id: v / total for topic_id, v in odds.items()}

    def _spelling(self, words: Iterable[str]) -> dict[str, float]:
        """Each topic's best cosine of letter trigrams with one of its phrases."""
        grams = _char_grams(words)
        if not grams:
            return {}
        query = {g: c * self._gram_idf.get(g, self._gram_unknown) for g, c in grams.items()}
        q_norm = math.sqrt(sum(v * v for v in query.values()))
        return self._spellings.best_by_topic(query, q_norm)

    # -- helpers --

    def _vector(self, terms: Iterable[str]) -> dict[str, float]:
        seq = [t for t in terms if t in self._idf]
        vector: dict[str, float] = {}
        for term in seq:
            vector[term] = self._idf[term]
        for pair in _bigrams(seq):
            if pair in self._idf:
                vector[pair] = self._idf[pair] * BIGRAM_WEIGHT
        return vector


def band_for(ranked: tuple[ScoredTopic, ...], bands: Bands) -> Band:
    """Sure when the top score is high and clear of the second; clarify on a close call (a
    top score that is high but not clear of the second, or clear but only middling)."""
    if not ranked or ranked[0].score < bands.clarify_min_score:
        return "unsure"
    second = ranked[1].score if len(ranked) > 1 else 0.0
    if ranked[0].score >= bands.sure_min_score and ranked[0].score - second >= bands.sure_min_gap:
        return "sure"
    return "clarify"
