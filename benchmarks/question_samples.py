"""Development questions that people asked become sample questions of the guide's topics.

Run from the project root:

    python -m benchmarks.question_samples           # list what would be added, per topic
    python -m benchmarks.question_samples --write   # ... and add them to guide_topics.yaml
    python -m benchmarks.question_samples --from FILE --write
        # candidate samples written from the guide, by topic (`samples: {topic_id: [...]}`),
        # through the same checks

Like the NLU examples of a Rasa project, the labelled development questions
(`benchmarks/development_questions/`) teach the router how people really ask. A question is taken
when a careful listener gave it one topic, it is a plain paraphrase or a topic word said
alone (misheard transcripts would teach the offline recogniser's language model the wrong
words), the guide speaks to its subject (not `guide_silent`, and no word the router reads as
outside the guide), the safety check leaves it alone, its sample form is new to the whole
skill, and it says more than a question word. Last, the router built with the new samples
must answer each of them sure with its own topic, as it must every sample: one that reads
like another topic's question (the same words, a different label) is left out.

Once questions are samples, figures on the development set mean little unless each question
is scored by a router that does not hold it: `benchmarks.routing` does that (out of fold),
with `sample_form` below to find the sample a question became. The held-out set never
becomes samples while it is held out.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.routing import QUESTIONS_DIR, Question, load_questions, sample_form
from skill.guide import GUIDE_TOPICS_FILE, SAMPLE_PATTERN, Guide, load_guide, load_yaml_mapping
from skill.prompts import Prompts, load_prompts
from skill.router import Router
from skill.safety import answered_by_safety_check

SAMPLE_KINDS = ("paraphrase", "keyword")
_SAMPLES_HEADER = "    samples:\n"
MAX_ROUNDS = 20
QUESTION_WORDS = frozenset({"what", "how", "who", "when", "why", "which", "where"})


def existing_utterances(guide: Guide, prompts: Prompts) -> set[str]:
    """Everything the skill's model already says, in sample form (a new sample must not
    repeat one: Alexa rejects a model with the same utterance twice)."""
    said = {sample_form(p) for t in guide.topics for p in t.phrases}
    said |= {sample_form(s) for s in prompts.list_topics_samples}
    said |= {sample_form(s) for s in prompts.personal_dose_samples}
    said |= {sample_form(s) for rule in prompts.emergencies for s in rule.samples}
    return said


def new_samples(
    questions: Iterable[Question], guide: Guide, prompts: Prompts
) -> dict[str, list[str]]:
    """The sample form of each development question that qualifies, by topic, in file order."""
    router = Router(guide)
    taken = existing_utterances(guide, prompts)
    by_text: dict[str, set[str]] = defaultdict(set)
    order: list[str] = []
    for q in questions:
        if q.kind not in SAMPLE_KINDS or len(q.accept) != 1 or q.guide_silent:
            continue
        form = sample_form(q.text)
        if not form or not SAMPLE_PATTERN.match(form) or form in taken:
            continue
        if answered_by_safety_check(form, prompts) or answered_by_safety_check(q.text, prompts):
            continue  # answered by the safety check, never routed
        reading = router.read(form)
        if reading.out_of_domain or not set(reading.terms) - QUESTION_WORDS:
            continue
        if form not in by_text:
            order.append(form)
        by_text[form].add(q.accept[0])
    by_topic: dict[str, list[str]] = defaultdict(list)
    for form in order:
        if len(by_text[form]) == 1:  # labelled alike wherever it was asked
            by_topic[next(iter(by_text[form]))].append(form)
    return _answered_sure(dict(by_topic), guide, prompts)


def _answered_sure(
    by_topic: dict[str, list[str]], guide: Guide, prompts: Prompts
) -> dict[str, list[str]]:
    """The new samples that a router holding them answers sure with their own topic, and
    that leave every one of the guide's own phrases answered sure (rounds: leaving one out
    changes how the others score)."""
    for _ in range(MAX_ROUNDS):
        router = Router(with_samples(guide, by_topic))
        kept = {
            topic: [s for s in forms if _sure_for(router, s, topic)]
            for topic, forms in by_topic.items()
        }
        for topic in guide.topics:
            for phrase in topic.phrases:
                if answered_by_safety_check(phrase, prompts) or _sure_for(router, phrase, topic.id):
                    continue
                # The rival topic's new sample nearest the phrase crowds it out: drop it.
                rival = next(s.topic_id for s in router.rank(phrase) if s.topic_id != topic.id)
                own = set(router.read(phrase).terms)
                forms = kept.get(rival, [])
                if forms:
                    forms.remove(max(forms, key=lambda s: len(own & set(router.read(s).terms))))
        if kept == by_topic:
            break
        by_topic = kept
    return by_topic


def _sure_for(router: Router, text: str, topic_id: str) -> bool:
    decision = router.best_topic(text)
    return decision.band == "sure" and decision.ranked[0].topic_id == topic_id


def with_samples(guide: Guide, by_topic: dict[str, list[str]]) -> Guide:
    """The guide with these samples added to its topics."""
    topics = tuple(replace(t, samples=(*t.samples, *by_topic.get(t.id, ()))) for t in guide.topics)
    return replace(guide, topics=topics)


def candidates(path: Path) -> list[Question]:
    """Candidate samples written for each topic (`samples: {topic_id: [text, ...]}`), as
    one-topic paraphrases."""
    data = load_yaml_mapping(path).get("samples")
    if not isinstance(data, dict):
        raise SystemExit(f"{path.name}: field 'samples' must map topic ids to lists")
    return [
        Question(str(text), (str(topic),), "paraphrase", "tune")
        for topic, texts in data.items()
        for text in texts or ()
    ]


def write_samples(by_topic: dict[str, list[str]], path: Path = GUIDE_TOPICS_FILE) -> None:
    """Append each topic's new samples to the end of its `samples:` list, keeping comments."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out: list[str] = []
    topic_id = None
    in_samples = False
    for line in lines:
        if line.startswith("  - id: "):
            topic_id = line.split(":", 1)[1].strip()
        if in_samples and not line.startswith("      - "):
            out.extend(f"      - {s}\n" for s in by_topic.get(topic_id or "", []))
            in_samples = False
        if line == _SAMPLES_HEADER:
            in_samples = True
        out.append(line)
    path.write_text("".join(out), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.question_samples", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--write", action="store_true", help="add them to guide_topics.yaml")
    parser.add_argument(
        "--from", dest="source", type=Path, help="candidate samples by topic, instead"
    )
    args = parser.parse_args(argv)
    guide = load_guide()
    prompts = load_prompts(guide)
    questions = load_questions(QUESTIONS_DIR) if args.source is None else candidates(args.source)
    by_topic = new_samples(questions, guide, prompts)
    for topic in guide.topics:
        forms = by_topic.get(topic.id, [])
        print(f"{topic.id}: {len(topic.samples)} samples, {len(forms)} new")
        for form in forms:
            print(f"    {form}")
    print(f"{sum(len(f) for f in by_topic.values())} new samples in all")
    if args.write:
        write_samples(by_topic)
        load_guide()  # the file must still load
        print(f"written to {GUIDE_TOPICS_FILE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
