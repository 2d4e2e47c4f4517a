"""Router benchmark: accuracy, declines, clarifications, safety and cost on labelled questions.

Run from the project root:

    python -m benchmarks.routing                 # the report on the held-out questions
    python -m benchmarks.routing --questions benchmarks/development_questions --split all
    python -m benchmarks.routing --crossval      # 5-fold cross-validation on the development set
    python -m benchmarks.routing --tune          # choose weights and bands on the development set
    python -m benchmarks.routing --tune --write  # ... and write them to router_vocabulary.yaml

Two kinds of question file. `development_questions/` (the first set, both of its halves, and
every former held-out set, a file or a batch each) is the development set: everything is tuned
on it, and `--crossval` estimates how the tuning generalises (choose the scoring weights and
the bands on four folds, score the fifth, five times; folds by a stable hash of each
question's sample form). The development questions' plain paraphrases are also sample
questions of the guide (`benchmarks.question_samples`), so every figure on them, and the
tuning, scores each question with a router built without its fold's samples.
`heldout_questions.yaml` is the held-out set: written by someone who never saw the router,
never tuned on, read only for the final report, which uses every entry; once it has been
looked at, it joins the development set (as `development_questions/set_NN.yaml`, its split
`tune`) and a fresh one is written. Without it, the report falls back to the held-out half of
the first set. Entries marked `guide_silent` ask about a subject the guide never mentions; the
report also gives the figures without them.

Every question goes through the skill's own order: `skill.safety.check_question` first
(emergency, then personal dose), then the router.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import re
import statistics
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from skill import router as router_module
from skill.guide import Guide, load_guide, load_yaml_mapping
from skill.prompts import load_prompts
from skill.router import (
    ROUTER_VOCABULARY_FILE,
    Bands,
    RouteDecision,
    Router,
    ScoredTopic,
    Weights,
    band_for,
)
from skill.safety import (
    answered_by_safety_check,
    asks_of_another_medicine,
    check_question,
    personal_dose_topic,
)

# The development set: a file per set of questions, read in the order of their names.
QUESTIONS_DIR = Path(__file__).with_name("development_questions")
HELDOUT_FILE = Path(__file__).with_name("heldout_questions.yaml")  # never tuned on
ROUTED_KINDS = ("paraphrase", "misheard", "keyword", "fragment")
KINDS = (*ROUTED_KINDS, "dose")
SPLITS = ("heldout", "tune", "all")

# What each outcome is worth when choosing the bands: a wrong answer costs more than a
# question asked back, and a question asked back costs a little more than a polite decline.
UTILITY = {
    ("in_scope", "sure", True): 1.0,
    ("in_scope", "sure", False): -2.0,
    ("in_scope", "clarify", True): 0.5,
    ("in_scope", "clarify", False): -0.5,
    ("in_scope", "unsure", False): 0.0,
    ("out_of_scope", "sure", False): -2.0,
    ("out_of_scope", "clarify", False): -0.5,
    ("out_of_scope", "unsure", False): 1.0,
}
# Constraints on the chosen bands, measured on the questions they are chosen on.
MIN_SURE_PRECISION = 0.95
MIN_DECLINE_RECALL = 0.90
# A decline offers the nearest topic only from a score where, on the questions tuned on, at
# least this share of such offers were the right topic for a question the guide answers.
MIN_OFFER_PRECISION = 0.5
GRID_SURE = [round(0.20 + 0.02 * i, 2) for i in range(31)]  # 0.20 .. 0.80
GRID_GAP = [round(0.01 * i, 2) for i in range(31)]  # 0.00 .. 0.30
GRID_CLARIFY = [round(0.10 + 0.02 * i, 2) for i in range(31)]  # 0.10 .. 0.70
# Said to the speaker or to soften a question, at either end: not part of its sample form.
_LEADING_FILLERS = re.compile(r"^(?:(?:alexa|um+|uh+|er|erm|hmm|so|ok|okay|hey|right|well|oh) )+")
_TRAILING_FILLERS = re.compile(r"(?: (?:please|thanks|thank you|then))+$")


@dataclass(frozen=True)
class Question:
    text: str
    accept: tuple[str, ...]
    kind: str
    split: str
    # About a subject the guide's text never mentions (drug names, pregnancy ...), so that its
    # label is a loosely related section: marked by a second annotator, before evaluation.
    guide_silent: bool = False


@dataclass(frozen=True)
class Outcome:
    """What the skill would do with one question."""

    question: Question
    # "emergency" or "dose" when the safety reply took the place of any answer; "likely
    # emergency" or "likely dose" when it came first and the question was routed as usual.
    safety: str | None
    ranked: tuple[ScoredTopic, ...]
    band: str | None  # None when the safety check answered first
    choices: tuple[str, ...] = ()  # the topics asked about on a close call (one or two)
    nearest: str | None = None  # the topic a decline offers as the nearest part of the guide
    dose_topic: str | None = None  # the topic after the personal-dose prompt, when caught

    @property
    def in_scope(self) -> bool:
        return bool(self.question.accept)

    @property
    def answered_by_safety(self) -> bool:
        """The safety check's reply took the place of any answer (a pattern found it)."""
        return self.safety in ("emergency", "dose")

    @property
    def emergency_guidance(self) -> bool:
        """Emergency guidance came first, in place of the answer or before it."""
        return self.safety in ("emergency", "likely emergency")

    @property
    def top(self) -> str | None:
        return self.ranked[0].topic_id if self.ranked else None

    @property
    def offered(self) -> tuple[str, ...]:
        if self.band == "sure":
            return tuple(s.topic_id for s in self.ranked[:1])
        return self.choices

    @property
    def top1(self) -> bool:
        """Right: routed to an accepted topic, or caught as a personal dose whose answer (the
        topic after the prompt) is accepted."""
        if self.safety == "dose" and self.dose_topic in self.question.accept:
            return True
        if self.answered_by_safety or self.band not in ("sure", "clarify"):
            return False
        return self.top in self.question.accept

    @property
    def first_right(self) -> bool:
        """The ranking alone puts an accepted topic first, whatever the band (how the issue's
        reference systems, which never decline, are measured)."""
        if self.safety == "dose" and self.dose_topic in self.question.accept:
            return True
        return not self.answered_by_safety and self.top in self.question.accept

    @property
    def sure_right(self) -> bool:
        if self.safety == "dose" and self.dose_topic in self.question.accept:
            return True
        return (
            not self.answered_by_safety and self.band == "sure" and self.top in self.question.accept
        )

    @property
    def declined(self) -> bool:
        return not self.answered_by_safety and self.band == "unsure"


def load_questions(path: Path = QUESTIONS_DIR) -> list[Question]:
    """The questions of a benchmark file, or of every file of a folder of them (in the order of
    their names); an entry without a split is a held-out question."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return [
        Question(
            str(q["text"]),
            tuple(q.get("accept") or ()),
            q["kind"],
            q.get("split") or "heldout",
            bool(q.get("guide_silent")),
        )
        for file in files
        for q in load_yaml_mapping(file)["questions"]
    ]


def safety_of(question: Question, prompts) -> str | None:
    finding = check_question(question.text, prompts)
    if finding is None:
        return None
    kind = "emergency" if finding.emergency else "dose"
    return f"likely {kind}" if finding.likely else kind


def evaluate(
    router: Router,
    prompts,
    questions: Sequence[Question],
    bands: Bands,
    safety: Sequence[str | None] | None = None,
) -> list[Outcome]:
    """What the skill does with each question (`safety`: the safety check's findings, if known)."""
    if safety is None:
        safety = [safety_of(q, prompts) for q in questions]
    outcomes = []
    for q, found in zip(questions, safety, strict=True):
        ranked = tuple(router.rank(q.text))
        dose_topic = None
        if found == "dose" and asks_of_another_medicine(router.read(q.text)):
            found = "likely dose"  # who decides a dose, then the usual reply (`ask_question`)
        if found == "dose":
            decision = RouteDecision(band=band_for(ranked, bands), ranked=ranked)
            dose_topic = personal_dose_topic(decision, prompts)
        outcomes.append(outcome(q, found, ranked, bands, dose_topic))
    return outcomes


def outcome(
    question: Question,
    safety: str | None,
    ranked: tuple,
    bands: Bands,
    dose_topic: str | None = None,
) -> Outcome:
    """What the skill does, as `Conversation.ask_question` decides it (`dose_topic`: the topic
    after the personal-dose prompt, when the safety check caught one)."""
    if safety in ("emergency", "dose"):
        return Outcome(question, safety, ranked, None, dose_topic=dose_topic)
    decision = RouteDecision(band=band_for(ranked, bands), ranked=ranked)
    return Outcome(
        question, safety, ranked, decision.band, decision.choices(bands), decision.nearest(bands)
    )


def rebanded(outcomes: Sequence[Outcome], bands: Bands) -> list[Outcome]:
    # The dose topics stay as found: dose requests take no part in choosing the bands.
    return [outcome(o.question, o.safety, o.ranked, bands, o.dose_topic) for o in outcomes]


# --- the report --------------------------------------------------------------------------------


def _routed_text(o: Outcome) -> str:
    """The band and top topics, after any likely safety finding ("likely emergency sure ...")."""
    ranked = ", ".join(f"{s.topic_id} {s.score:.2f}" for s in o.ranked[:3])
    return " ".join(part for part in (o.safety, o.band, ranked) if part)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}% ({part}/{whole})" if whole else "   n/a"


def reciprocal_rank(outcome: Outcome) -> float:
    for rank, scored in enumerate(outcome.ranked, start=1):
        if scored.topic_id in outcome.question.accept:
            return 1 / rank
    return 0.0


def _accuracy_line(label: str, group: Sequence[Outcome]) -> str:
    top1 = _pct(sum(o.top1 for o in group), len(group))
    strict = _pct(sum(o.sure_right for o in group), len(group))
    first = _pct(sum(o.first_right for o in group), len(group))
    return f"  {label:<11} top-1 {top1:<18} strict-sure {strict:<18} ranking {first}"


def known_forms(guide: Guide) -> frozenset[str]:
    """The sample forms of everything the skill has met: the development questions, and the
    guide's own sample questions and topic names."""
    known = {sample_form(q.text) for q in load_questions(QUESTIONS_DIR)}
    known |= {sample_form(p) for t in guide.topics for p in t.phrases}
    return frozenset(known)


def _unseen_lines(outcomes: Sequence[Outcome], known: frozenset[str]) -> list[str]:
    """The headline figures again, on the questions that are not, word for word, one the skill
    has met (`known_forms`): a fresh set's writer often asks what an earlier one asked."""
    unseen = [o for o in outcomes if sample_form(o.question.text) not in known]
    lines = [
        f"On the {len(unseen)} questions the skill has not met word for word (the other "
        f"{len(outcomes) - len(unseen)} are development questions, or the guide's own samples "
        "or topic names):"
    ]
    for kind in ROUTED_KINDS:
        group = [o for o in unseen if o.question.kind == kind and not o.question.guide_silent]
        lines.append(_accuracy_line(kind, group))
    lines.append(_accuracy_line("guide_silent", [o for o in unseen if o.question.guide_silent]))
    oos = [o for o in unseen if o.question.kind == "out_of_scope"]
    emergencies = [o for o in unseen if o.question.kind == "emergency"]
    lines.append(f"  out-of-scope declined: {_pct(sum(o.declined for o in oos), len(oos))}")
    lines.append(
        "  emergencies intercepted: "
        f"{_pct(sum(o.emergency_guidance for o in emergencies), len(emergencies))}"
    )
    lines.append("")
    return lines


def report(
    outcomes: Sequence[Outcome], split: str, known: frozenset[str] | None = None
) -> str:
    """The benchmark's report; with `known`, also the figures on the questions not in it."""
    lines = [f"JAK Guide router benchmark: {split}, {len(outcomes)} questions", ""]
    lines.append(
        "Top-1 accuracy by kind (sure or clarify with the right first topic; strict = sure;"
        " ranking = the first topic right, band aside)"
    )
    for kind in KINDS:
        group = [o for o in outcomes if o.question.kind == kind]
        lines.append(_accuracy_line(kind, group))
    routed = [o for o in outcomes if o.question.kind in ROUTED_KINDS]
    lines.append(_accuracy_line("all routed", routed))
    mrr = statistics.fmean(reciprocal_rank(o) for o in routed) if routed else 0.0
    lines.append(f"  mean reciprocal rank (router ranking, routed kinds): {mrr:.3f}")
    silent = [o for o in outcomes if o.question.guide_silent]
    if silent:
        lines.append(
            f"  without the {len(silent)} questions about subjects the guide never mentions"
            " (guide_silent):"
        )
        for kind in ROUTED_KINDS:
            group = [o for o in outcomes if o.question.kind == kind and not o.question.guide_silent]
            lines.append("  " + _accuracy_line(kind, group))
        lines.append(_accuracy_line("  guide_silent", silent))
    lines.append("")
    if known is not None:
        lines += _unseen_lines(outcomes, known)

    oos = [o for o in outcomes if o.question.kind == "out_of_scope"]
    declined = [o for o in outcomes if o.declined]
    right_declines = sum(o.question.kind == "out_of_scope" for o in declined)
    lines.append("Declines (band unsure)")
    lines.append(f"  out-of-scope declined (recall): {_pct(right_declines, len(oos))}")
    lines.append(
        f"  declines that were out of scope (precision): {_pct(right_declines, len(declined))}"
    )
    oos_sure = sum(o.band == "sure" for o in oos)
    oos_clarify = sum(o.band == "clarify" for o in oos)
    lines.append(f"  out-of-scope answered sure: {oos_sure}, asked back: {oos_clarify}")
    with_offer = [o for o in declined if o.nearest]
    in_scope_declined = [o for o in declined if o.in_scope]
    offer_right = sum(o.nearest in o.question.accept for o in in_scope_declined if o.nearest)
    lines.append(f"  declines that offer the nearest topic: {_pct(len(with_offer), len(declined))}")
    lines.append(f"    the right topic: {_pct(offer_right, len(with_offer))}")
    offered_of_in_scope = _pct(offer_right, len(in_scope_declined))
    lines.append(f"    in-scope declines offered the right topic: {offered_of_in_scope}")
    reached = sum(o.top1 or (o.declined and o.nearest in o.question.accept) for o in routed)
    lines.append(
        "  routed kinds reached in at most one yes (answered, asked back, or offered on a "
        f"decline): {_pct(reached, len(routed))}"
    )
    lines.append("")

    banded = [o for o in outcomes if o.band is not None]
    clarified = [o for o in banded if o.band == "clarify"]
    in_scope_clarified = [o for o in clarified if o.in_scope]
    offered_right = sum(bool(set(o.offered) & set(o.question.accept)) for o in in_scope_clarified)
    sure = [o for o in banded if o.band == "sure"]
    sure_right = sum(o.in_scope and o.top in o.question.accept for o in sure)
    lines.append("Bands")
    lines.append(f"  sure fires: {_pct(len(sure), len(banded))}")
    lines.append(f"  sure precision: {_pct(sure_right, len(sure))}")
    lines.append(f"  clarify fires: {_pct(len(clarified), len(banded))}")
    offered = _pct(offered_right, len(in_scope_clarified))
    lines.append(f"  clarify offers the right topic (of one or two): {offered}")
    lines.append("")

    emergencies = [o for o in outcomes if o.question.kind == "emergency"]
    doses = [o for o in outcomes if o.question.kind == "dose"]
    false_alarms = [
        o for o in outcomes if o.safety and o.question.kind not in ("emergency", "dose")
    ]
    lines.append("Safety (skill.safety.check_question, before routing)")
    intercepted = sum(o.emergency_guidance for o in emergencies)
    only_likely = sum(o.safety == "likely emergency" for o in emergencies)
    caught = sum(o.safety in ("dose", "likely dose") for o in doses)
    lines.append(
        f"  emergencies intercepted: {_pct(intercepted, len(emergencies))}, "
        f"{only_likely} of them only as likely (guidance first, then the answer)"
    )
    lines.append(f"  dose questions caught as personal dose: {_pct(caught, len(doses))}")
    lines.append(f"  other questions flagged by the safety check: {len(false_alarms)}")
    for o in false_alarms:
        lines.append(f"    {o.safety}: {o.question.text!r}")
    lines.append("")

    confusion: Counter[tuple[str, str]] = Counter()
    for o in outcomes:
        if o.answered_by_safety or o.band not in ("sure", "clarify"):
            continue
        if o.question.kind == "out_of_scope":
            confusion[("(out of scope)", f"{o.top} [{o.band}]")] += 1
        elif o.top not in o.question.accept:
            confusion[("/".join(o.question.accept), f"{o.top} [{o.band}]")] += 1
    lines.append("Worst confusions (expected -> routed to)")
    for (expected, got), count in confusion.most_common(10):
        lines.append(f"  {count:>3}  {expected} -> {got}")
    if not confusion:
        lines.append("  none")
    return "\n".join(lines)


def _percentiles(per_question: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of per-question times, in ms."""
    ordered = sorted(per_question)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return ordered[len(ordered) // 2], p99, ordered[-1]


def _median_times(texts: Sequence[str], work, repeats: int) -> list[float]:
    """Each text's median time through `work`, in ms, after one warm-up pass."""
    for text in texts:
        work(text)
    per_question = []
    for text in texts:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            work(text)
            runs.append(time.perf_counter() - start)
        per_question.append(statistics.median(runs) * 1000)
    return per_question


def cost_report(questions: Sequence[Question], repeats: int = 5) -> str:
    guide = load_guide()
    router = Router(guide)
    prompts = load_prompts(guide)
    texts = [q.text for q in questions]
    p50, p99, most = _percentiles(_median_times(texts, router.best_topic, repeats))
    s50, s99, s_most = _percentiles(
        _median_times(texts, lambda text: check_question(text, prompts), repeats)
    )

    builds = []
    for _ in range(7):
        router_module.phonetic_key.cache_clear()
        router_module._ratio.cache_clear()
        router_module.stem.cache_clear()
        gc.collect()
        start = time.perf_counter()
        Router(load_guide())
        builds.append((time.perf_counter() - start) * 1000)
    safety_builds = []
    for _ in range(7):
        gc.collect()
        start = time.perf_counter()
        load_prompts(guide)
        safety_builds.append((time.perf_counter() - start) * 1000)
    return "\n".join(
        [
            "Cost",
            f"  routing latency per question (warm, median of {repeats}): "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {most:.2f} ms",
            f"  safety check per question (patterns and classifier, warm): "
            f"p50 {s50:.2f} ms, p99 {s99:.2f} ms, max {s_most:.2f} ms",
            f"  start-up (load guide + build router, median of {len(builds)} fresh builds): "
            f"{statistics.median(builds):.0f} ms",
            f"  start-up of the safety check (load prompts and safety examples, train the "
            f"classifier; median of {len(safety_builds)}): "
            f"{statistics.median(safety_builds):.0f} ms",
        ]
    )


# --- choosing the bands and the weights -------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    bands: Bands
    utility: float
    top1: float
    sure_precision: float
    decline_recall: float
    clarify_rate: float
    smoothed: float = 0.0  # mean utility of the settings around this one


# Settings are judged with their neighbours (this many grid steps each way), so the choice
# sits on a broad plateau rather than on a lucky corner of the questions tuned on.
SMOOTHING_STEPS = 2

# The scoring weights tried (skill.router.Weights); each with every band setting.
# Around the last choice before the likelihood signal came (similarity 0.40, spelling 0.10,
# guide text credit 0.20): each value more costs a full out-of-fold run per setting.
WEIGHT_GRID = [
    Weights(
        similarity_share=sim, spelling_share=spell, guide_text_credit=text, likelihood_share=lik
    )
    for sim in (0.3, 0.4, 0.5)
    for spell in (0.1, 0.2)
    for text in (0.2, 0.35)
    for lik in (0.2, 0.3, 0.4)
    if sim + spell + lik <= 1
]
FOLDS = 5


def fold_of(question: Question, folds: int = FOLDS) -> int:
    """A stable fold for a question, from a hash of its sample form (so "alexa, what is the
    dose" and "what is the dose" share a fold, and one never trains the other's router)."""
    return zlib.crc32(sample_form(question.text).encode("utf-8")) % folds


def sample_form(text: str) -> str:
    """A question as a sample utterance: lower case, no fillers at the ends, no punctuation
    but apostrophes ("Alexa, what's the dose please?" -> "what's the dose")."""
    text = " ".join(re.sub(r"[^a-z' ]", " ", text.lower().replace("\u2019", "'")).split())
    return _TRAILING_FILLERS.sub("", _LEADING_FILLERS.sub("", text)).strip()


def guide_without(guide: Guide, questions: Iterable[Question]) -> Guide:
    """The guide without the samples these questions became (`benchmarks.question_samples`):
    a router built from it has never seen them."""
    forms = {sample_form(q.text) for q in questions}
    topics = tuple(
        replace(t, samples=tuple(s for s in t.samples if sample_form(s) not in forms))
        for t in guide.topics
    )
    return replace(guide, topics=topics)


def out_of_fold(
    guide: Guide,
    prompts,
    questions: Sequence[Question],
    weights: Weights | None = None,
    safety: Sequence[str | None] | None = None,
) -> list[Outcome]:
    """Each question scored by a router built without the samples of its fold's questions:
    development questions are sample questions too, and a router must not be scored on its
    own samples."""
    if safety is None:
        safety = [safety_of(q, prompts) for q in questions]
    outcomes: list[Outcome] = []
    order: list[int] = []
    for fold in range(FOLDS):
        idx = [i for i, q in enumerate(questions) if fold_of(q) == fold]
        router = Router(guide_without(guide, (questions[i] for i in idx)), weights=weights)
        picked = [questions[i] for i in idx]
        outcomes += evaluate(router, prompts, picked, router.bands, [safety[i] for i in idx])
        order += idx
    by_index = dict(zip(order, outcomes, strict=True))
    return [by_index[i] for i in range(len(questions))]


def _items(outcomes: Sequence[Outcome]) -> list[tuple[bool, float, float, bool, bool]]:
    items = []
    for o in outcomes:
        if o.answered_by_safety or o.question.kind not in (*ROUTED_KINDS, "out_of_scope"):
            continue
        top = o.ranked[0].score if o.ranked else 0.0
        gap = top - (o.ranked[1].score if len(o.ranked) > 1 else 0.0)
        accept = set(o.question.accept)
        first_right = bool(o.ranked) and o.ranked[0].topic_id in accept
        two_right = bool(accept & {s.topic_id for s in o.ranked[:2]})
        items.append((o.in_scope, top, gap, first_right, two_right))
    return items


def grid_search(outcomes: Sequence[Outcome]) -> list[GridPoint]:
    """Every band setting on the grid, scored on these outcomes (the same rules as
    `band_for`; clarify thresholds by a sorted sweep, so the whole grid takes a blink)."""
    items = _items(outcomes)
    n_in = sum(i[0] for i in items)
    n_out = len(items) - n_in
    u_unsure = {True: UTILITY[("in_scope", "unsure", False)],
                False: UTILITY[("out_of_scope", "unsure", False)]}  # fmt: skip
    points = []
    for sure, gap_min in itertools.product(GRID_SURE, GRID_GAP):
        utility = 0.0
        sure_n = sure_ok = declined = 0
        rest = []  # (top, utility gained by asking back instead of declining, in, first_right)
        for in_scope, top, gap, first_right, two_right in items:
            if top >= sure and gap >= gap_min:
                sure_n += 1
                sure_ok += in_scope and first_right
                scope = "in_scope" if in_scope else "out_of_scope"
                utility += UTILITY[(scope, "sure", in_scope and first_right)]
                continue
            utility += u_unsure[in_scope]
            declined += not in_scope
            # Asked back about the top two when the second is close, else the top one alone.
            offered_right = two_right if gap < gap_min else first_right
            scope = "in_scope" if in_scope else "out_of_scope"
            gain = UTILITY[(scope, "clarify", in_scope and offered_right)] - u_unsure[in_scope]
            rest.append((top, gain, in_scope, in_scope and first_right))
        rest.sort(key=lambda r: -r[0])
        tops = [-r[0] for r in rest]
        gains = list(itertools.accumulate((r[1] for r in rest), initial=0.0))
        outs = list(itertools.accumulate((not r[2] for r in rest), initial=0))
        rights = list(itertools.accumulate((r[3] for r in rest), initial=0))
        for clarify in GRID_CLARIFY:
            if clarify > sure:
                continue
            k = bisect.bisect_right(tops, -clarify)  # how many have top >= clarify
            points.append(
                GridPoint(
                    Bands(sure, gap_min, clarify),
                    utility + gains[k],
                    (sure_ok + rights[k]) / n_in if n_in else 0.0,
                    sure_ok / sure_n if sure_n else 1.0,
                    (declined - outs[k]) / n_out if n_out else 1.0,
                    k / len(items) if items else 0.0,
                )
            )
    return smooth(points)


def smooth(points: Sequence[GridPoint]) -> list[GridPoint]:
    """Each point with the mean utility of its grid neighbourhood (a box filter, one axis at a
    time, over the settings that exist)."""
    shape = (len(GRID_SURE), len(GRID_GAP), len(GRID_CLARIFY))
    total = [[[0.0] * shape[2] for _ in range(shape[1])] for _ in range(shape[0])]
    count = [[[0.0] * shape[2] for _ in range(shape[1])] for _ in range(shape[0])]
    where = []
    for p in points:
        i, j, k = (GRID_SURE.index(p.bands.sure_min_score), GRID_GAP.index(p.bands.sure_min_gap),
                   GRID_CLARIFY.index(p.bands.clarify_min_score))  # fmt: skip
        total[i][j][k], count[i][j][k] = p.utility, 1.0
        where.append((i, j, k))

    def box(line: list[float]) -> list[float]:
        sums = list(itertools.accumulate(line, initial=0.0))
        n = len(line)
        return [
            sums[min(n, x + SMOOTHING_STEPS + 1)] - sums[max(0, x - SMOOTHING_STEPS)]
            for x in range(n)
        ]

    for grid in (total, count):
        for i in range(shape[0]):
            for j in range(shape[1]):
                grid[i][j] = box(grid[i][j])
        for i in range(shape[0]):
            for k in range(shape[2]):
                column = box([grid[i][j][k] for j in range(shape[1])])
                for j in range(shape[1]):
                    grid[i][j][k] = column[j]
        for j in range(shape[1]):
            for k in range(shape[2]):
                column = box([grid[i][j][k] for i in range(shape[0])])
                for i in range(shape[0]):
                    grid[i][j][k] = column[i]
    return [
        GridPoint(p.bands, p.utility, p.top1, p.sure_precision, p.decline_recall,
                  p.clarify_rate, total[i][j][k] / count[i][j][k])
        for p, (i, j, k) in zip(points, where, strict=True)
    ]  # fmt: skip


def choose(points: Sequence[GridPoint], own: OwnPhrases | None = None) -> GridPoint:
    """Best utility among the settings that meet the precision and decline constraints, and
    answer every one of the guide's own phrases sure (when `own` is given)."""
    # The guide's own phrases answered sure is a must; when no setting meets every
    # constraint, the decline target gives way first, then the precision target.
    own_sure = [p for p in points if own is None or own.all_sure(p.bands)] or list(points)
    precise = [p for p in own_sure if p.sure_precision >= MIN_SURE_PRECISION]
    allowed = [p for p in precise if p.decline_recall >= MIN_DECLINE_RECALL] or precise or own_sure
    # Best neighbourhood first, then its own utility, more right answers, fewer asked back.

    def key(p: GridPoint) -> tuple[float, ...]:
        return (round(p.smoothed, 6), round(p.utility, 6), p.top1, -p.clarify_rate)

    best = max(key(p) for p in allowed)
    plateau = sorted(
        (p for p in allowed if key(p) == best),
        key=lambda p: (p.bands.sure_min_score, p.bands.sure_min_gap, p.bands.clarify_min_score),
    )
    return plateau[len(plateau) // 2]


def offer_threshold(outcomes: Sequence[Outcome], bands: Bands) -> float:
    """The lowest score (on the clarify grid, up to `clarify_min_score`) from which a decline
    offers the nearest topic: the offers made from there on are right at least
    `MIN_OFFER_PRECISION` of the time (an offer to an out-of-scope question counts as wrong).
    At `clarify_min_score`, no decline offers anything."""
    declined = sorted(
        (o.ranked[0].score, o.in_scope and o.ranked[0].topic_id in o.question.accept)
        for o in rebanded(outcomes, bands)
        if o.declined and o.ranked and o.question.kind in (*ROUTED_KINDS, "out_of_scope")
    )
    for threshold in (t for t in GRID_CLARIFY if t < bands.clarify_min_score):
        offers = [right for score, right in declined if score >= threshold]
        if offers and sum(offers) >= MIN_OFFER_PRECISION * len(offers):
            return threshold
    return bands.clarify_min_score


def _rank_key(p: GridPoint) -> tuple[float, ...]:
    """How weight settings compare: their chosen bands' neighbourhood, then own utility."""
    return (round(p.smoothed, 6), round(p.utility, 6), p.top1)


@dataclass(frozen=True)
class OwnPhrases:
    """How a router scores the guide's own phrases (each topic's samples, keywords, title and
    short name): each must reach its topic sure, or the skill would ask "did you mean" about
    its own sample questions."""

    all_first: bool  # every phrase ranks its own topic first
    min_top: float  # the lowest top score among them
    min_gap: float  # the smallest gap to the second topic among them

    @classmethod
    def of(cls, router: Router, guide, prompts) -> OwnPhrases:
        all_first, min_top, min_gap = True, 1.0, 1.0
        for topic in guide.topics:
            for phrase in topic.phrases:
                if answered_by_safety_check(phrase, prompts):
                    continue  # answered by the safety check, never routed
                ranked = router.rank(phrase)
                if not ranked or ranked[0].topic_id != topic.id:
                    all_first = False
                    continue
                second = ranked[1].score if len(ranked) > 1 else 0.0
                min_top = min(min_top, ranked[0].score)
                min_gap = min(min_gap, ranked[0].score - second)
        return cls(all_first, min_top, min_gap)

    def all_sure(self, bands: Bands) -> bool:
        return (
            self.all_first
            and bands.sure_min_score <= self.min_top
            and bands.sure_min_gap <= self.min_gap
        )


class Tuner:
    """Routes the development questions once per weight setting and chooses weights and bands
    on any subset of them."""

    def __init__(self, questions: Sequence[Question], weight_grid: Sequence[Weights]) -> None:
        guide = load_guide()
        prompts = load_prompts(guide)
        self.questions = list(questions)
        safety = [safety_of(q, prompts) for q in self.questions]
        self.outcomes: dict[Weights, list[Outcome]] = {}
        self.own: dict[Weights, OwnPhrases] = {}
        for weights in weight_grid:
            self.outcomes[weights] = out_of_fold(guide, prompts, self.questions, weights, safety)
            self.own[weights] = OwnPhrases.of(Router(guide, weights=weights), guide, prompts)

    def choose(self, keep: set[int] | None = None) -> tuple[Weights, GridPoint, list[GridPoint]]:
        """The weights and bands with the best utility on the questions at these indices."""
        best: tuple[Weights, GridPoint, list[GridPoint]] | None = None
        best_key: tuple[Any, ...] = ()
        # Weights whose bands can answer all the guide's own phrases sure come first.
        for weights, outcomes in self.outcomes.items():
            subset = [o for i, o in enumerate(outcomes) if keep is None or i in keep]
            points = grid_search(subset)
            own = self.own[weights]
            chosen = choose(points, own)
            key = (own.all_sure(chosen.bands), *_rank_key(chosen))
            if best is None or key > best_key:
                best, best_key = (weights, chosen, points), key
        assert best is not None
        weights, chosen, points = best
        subset = [o for i, o in enumerate(self.outcomes[weights]) if keep is None or i in keep]
        offer = offer_threshold(subset, chosen.bands)
        return weights, replace(chosen, bands=replace(chosen.bands, offer_min_score=offer)), points


def _weights_text(w: Weights) -> str:
    return (
        f"similarity {w.similarity_share:.2f}, spelling {w.spelling_share:.2f}, "
        f"likelihood {w.likelihood_share:.2f}, coverage {w.coverage_share:.2f}, "
        f"guide text credit {w.guide_text_credit:.2f}"
    )


def _bands_text(b: Bands) -> str:
    return (
        f"sure >= {b.sure_min_score:.2f} and gap >= {b.sure_min_gap:.2f}; "
        f"clarify >= {b.clarify_min_score:.2f}; a decline offers the nearest topic from "
        f"{b.offer_min_score:.2f}"
    )


def crossval(questions: Sequence[Question], weight_grid: Sequence[Weights]) -> str:
    """Choose weights and bands on four folds, score the fifth; the report pools the five
    scored folds, so every question is scored by a setting that was not tuned on it."""
    tuner = Tuner(questions, weight_grid)
    pooled: list[Outcome] = []
    lines = [f"Cross-validation: {FOLDS} folds by a hash of the sample form, {len(weight_grid)} "
             "weight settings x the band grid chosen on the other four folds"]  # fmt: skip
    per_fold: list[dict[str, float]] = []
    for fold in range(FOLDS):
        train = {i for i, q in enumerate(tuner.questions) if fold_of(q) != fold}
        weights, point, _ = tuner.choose(train)
        rebanded_all = rebanded(tuner.outcomes[weights], point.bands)
        scored = [o for i, o in enumerate(rebanded_all) if i not in train]
        pooled.extend(scored)
        figures = {}
        for kind in (*ROUTED_KINDS, "out_of_scope"):
            group = [o for o in scored if o.question.kind == kind]
            hits = [o.declined if kind == "out_of_scope" else o.top1 for o in group]
            figures[kind] = 100 * sum(hits) / len(hits) if hits else float("nan")
        per_fold.append(figures)
        lines.append(
            f"  fold {fold}: {len(scored):3d} scored | {_weights_text(weights)} | "
            f"{_bands_text(point.bands)}"
        )
        lines.append("          " + "  ".join(f"{k} {v:5.1f}%" for k, v in figures.items()))
    lines.append(
        "  mean over folds: "
        + "  ".join(
            f"{k} {statistics.fmean(f[k] for f in per_fold):5.1f}%"
            for k in (*ROUTED_KINDS, "out_of_scope")
        )
    )
    lines.append("")
    lines.append(report(pooled, "cross-validated (each fold scored by settings tuned on the rest)"))
    return "\n".join(lines)


def tune_report(points: Sequence[GridPoint], chosen: GridPoint, weights: Weights) -> str:
    lines = [
        f"Band grid on the development set, weights: {_weights_text(weights)}",
        f"  {len(points)} band settings "
        f"(constraints: the guide's own phrases all sure, "
        f"sure precision >= {MIN_SURE_PRECISION:.0%}, "
        f"out-of-scope declined >= {MIN_DECLINE_RECALL:.0%})",
        "  sure_min  gap  clarify_min | utility (around)  top-1  sure-prec  declined  clarify",
    ]

    def row(p: GridPoint, mark: str = "") -> str:
        b = p.bands
        return (
            f"  {b.sure_min_score:8.2f} {b.sure_min_gap:4.2f} {b.clarify_min_score:12.2f} | "
            f"{p.utility:7.1f} ({p.smoothed:6.1f}) {p.top1:6.1%} {p.sure_precision:9.1%} "
            f"{p.decline_recall:9.1%} "
            f"{p.clarify_rate:8.1%}{mark}"
        )

    lines.append("  best setting for each sure_min:")
    for sure in GRID_SURE[::2]:
        subset = [p for p in points if p.bands.sure_min_score == sure]
        if subset:
            lines.append(row(choose(subset)))
    lines.append("  chosen:")
    lines.append(row(chosen, "  <-"))
    lines.append(f"  a decline offers the nearest topic from a score of "
                 f"{chosen.bands.offer_min_score:.2f}")  # fmt: skip
    return "\n".join(lines)


def write_settings(bands: Bands, weights: Weights, path: Path = ROUTER_VOCABULARY_FILE) -> None:
    """Put the chosen thresholds and weights in the `bands:` and `scoring:` sections."""
    text = path.read_text(encoding="utf-8")
    values = {
        "sure_min_score": bands.sure_min_score,
        "sure_min_gap": bands.sure_min_gap,
        "clarify_min_score": bands.clarify_min_score,
        "offer_min_score": bands.offer_min_score,
        "similarity_share": weights.similarity_share,
        "spelling_share": weights.spelling_share,
        "guide_text_credit": weights.guide_text_credit,
        "likelihood_share": weights.likelihood_share,
    }
    for key, value in values.items():
        text, count = re.subn(rf"(?m)^(  {key}: ).*$", rf"\g<1>{value:.2f}", text)
        if count != 1:
            raise SystemExit(f"{path.name}: cannot find {key}")
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.routing", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--questions",
        type=Path,
        default=None,
        help="questions to report on (default: heldout_questions.yaml if present, every entry; "
        "else the held-out half of development_questions)",
    )
    parser.add_argument(
        "--split", choices=SPLITS, default=None, help="entries of the file (default: see above)"
    )
    parser.add_argument(
        "--tune", action="store_true", help="choose weights and bands on the development set"
    )
    parser.add_argument("--write", action="store_true", help="with --tune: save them")
    parser.add_argument(
        "--crossval", action="store_true", help="5-fold cross-validation on the development set"
    )
    parser.add_argument("--failures", action="store_true", help="list the questions gotten wrong")
    parser.add_argument("--no-cost", action="store_true", help="skip the latency measurements")
    args = parser.parse_args(argv)

    if args.tune or args.crossval:
        # Only ever the development set: the held-out file is never tuned on.
        if args.questions is not None and args.questions.resolve() != QUESTIONS_DIR.resolve():
            parser.error("--tune and --crossval work on benchmarks/development_questions only")
        dev = [q for q in load_questions(QUESTIONS_DIR) if args.split in (None, "all", q.split)]
        if args.crossval:
            print(crossval(dev, WEIGHT_GRID))
        if args.tune:
            weights, chosen, points = Tuner(dev, WEIGHT_GRID).choose()
            print(tune_report(points, chosen, weights))
            if args.write:
                write_settings(chosen.bands, weights)
                print(f"written to {ROUTER_VOCABULARY_FILE.name}")
        return 0

    path = args.questions
    if path is None:
        path = HELDOUT_FILE if HELDOUT_FILE.exists() else QUESTIONS_DIR
    split = args.split or ("heldout" if path.resolve() == QUESTIONS_DIR.resolve() else "all")

    guide = load_guide()
    prompts = load_prompts(guide)
    router = Router(guide)
    selected = [q for q in load_questions(path) if split == "all" or q.split == split]
    if path.resolve() == QUESTIONS_DIR.resolve():
        # Development questions are sample questions too: score each one out of fold.
        outcomes = out_of_fold(guide, prompts, selected)
        print(report(outcomes, f"{path.name}, {split}, each scored without its fold's samples"))
    else:
        outcomes = evaluate(router, prompts, selected, router.bands)
        print(report(outcomes, f"{path.name}, {split}", known_forms(guide)))
    print(f"  (bands: {_bands_text(router.bands)})")
    print(f"  (weights: {_weights_text(router.weights)})")
    if args.failures:
        print("\nWrong or not answered")
        for o in outcomes:
            ok = (
                o.declined
                if o.question.kind == "out_of_scope"
                else (o.emergency_guidance if o.question.kind == "emergency" else o.sure_right)
            )
            if not ok:
                got = o.safety if o.answered_by_safety else _routed_text(o)
                want = list(o.question.accept)
                print(f"  [{o.question.kind}] {o.question.text!r} want {want}: {got}")
    if not args.no_cost:
        print()
        print(cost_report(selected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
