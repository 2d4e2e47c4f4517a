"""Development questions as sample questions: which qualify, how they are written, and how the
benchmark keeps a question's own sample out of the router that scores it."""

from __future__ import annotations

import shutil

from benchmarks import question_samples, routing
from skill.guide import GUIDE_TOPICS_FILE, load_guide
from skill.prompts import load_prompts


def question(text, accept=("lifestyle",), kind="paraphrase", guide_silent=False):
    return routing.Question(text, tuple(accept), kind, "tune", guide_silent)


def test_a_question_in_sample_form_loses_fillers_at_its_ends_and_its_punctuation():
    assert routing.sample_form("Alexa, um, what's the dose please?") == "what's the dose"
    assert routing.sample_form("so what about yoga then") == "what about yoga"
    assert routing.sample_form("is it ok to swim") == "is it ok to swim"  # only at the ends


def test_only_plain_one_topic_questions_the_guide_answers_become_samples(guide):
    prompts = load_prompts(guide)
    taken = question_samples.new_samples(
        [
            question("would a spot of tai chi on the lawn be good for me"),
            question("alexa would daily swimming laps be good for my back please"),
            question("would gentle pottering in the garden be good for me", kind="misheard"),
            question("would a brisk walk be good for me", ("lifestyle", "benefits")),
            question("would a bike ride be good for me while pregnant", guide_silent=True),
            question("should i double my dose"),  # the safety check answers it
            question("would cycling be good for my diabetes"),  # names another disease
            question("what is it"),  # nothing but a question word
            question(guide.topic("lifestyle").samples[0]),  # already a sample
        ],
        guide,
        prompts,
    )
    assert taken == {
        "lifestyle": [
            "would a spot of tai chi on the lawn be good for me",
            "would daily swimming laps be good for my back",
        ]
    }


def test_a_question_labelled_two_ways_where_it_was_asked_twice_is_left_out(guide):
    prompts = load_prompts(guide)
    asked = [
        question("would a spot of tai chi on the lawn be good for me"),
        question("would a spot of tai chi on the lawn be good for me", ("benefits",)),
    ]
    assert question_samples.new_samples(asked, guide, prompts) == {}


def test_new_samples_are_appended_to_their_topics_list_keeping_the_rest_of_the_file(tmp_path):
    path = tmp_path / GUIDE_TOPICS_FILE.name
    shutil.copy(GUIDE_TOPICS_FILE, path)
    before = path.read_text(encoding="utf-8")
    question_samples.write_samples({"lifestyle": ["would tai chi on the lawn help me"]}, path)
    after = path.read_text(encoding="utf-8")
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    lifestyle = load_guide(path).topic("lifestyle")
    assert lifestyle.samples[-1] == "would tai chi on the lawn help me"
    assert lifestyle.samples[:-1] == load_guide().topic("lifestyle").samples
    assert after.splitlines()[0] == before.splitlines()[0]  # the header comment is kept


def test_the_benchmark_scores_a_question_without_the_sample_it_became(guide):
    sample = guide.topic("lifestyle").samples[0]
    asked = question(f"alexa {sample} please")
    without = routing.guide_without(guide, [asked])
    assert sample not in without.topic("lifestyle").samples
    assert len(without.topic("lifestyle").samples) == len(guide.topic("lifestyle").samples) - 1
    assert without.topic("dosage").samples == guide.topic("dosage").samples
    # A question and its sample form share a fold, so no fold's router holds the other.
    assert routing.fold_of(asked) == routing.fold_of(question(sample))
