"""The content files: faithful to the guide, within limits, and refused loudly when malformed."""

import re
from pathlib import Path

import pytest
import yaml

from app import create_app
from skill.guide import GUIDE_TOPICS_FILE, MIN_SAMPLES, GuideError, load_guide
from skill.prompts import PROMPT_KEYS, PROMPTS_FILE, load_prompts

GUIDE_TEXT = Path(__file__).parents[2] / "shared" / "guide" / "consumer-guide-jak-inhibitors-as.txt"
SKILL_DIR = Path(__file__).parents[1] / "skill"


def test_the_guide_has_its_seventeen_topics_in_order(conversation):
    kinds = [t.kind for t in conversation.guide.topics]
    assert kinds == ["intro"] + ["section"] * 10 + ["faq"] * 5 + ["closing"]


@pytest.mark.skipif(not GUIDE_TEXT.exists(), reason="the shared guide is not beside the repo")
def test_every_card_text_is_the_guides_own_words(conversation):
    guide = " ".join(GUIDE_TEXT.read_text(encoding="utf-8").split())
    for topic in conversation.guide.topics:
        assert topic.guide_text in guide, topic.id
    covered = sum(len(t.guide_text) for t in conversation.guide.topics)
    headings = sum(len(t.title) for t in conversation.guide.topics)
    # Everything in the guide is on some card, but for its title line and FAQ heading.
    assert covered + headings >= 0.9 * len(guide)


def test_spoken_answers_add_no_numbers_and_stay_short(conversation):
    for topic in conversation.guide.topics:
        assert len(topic.samples) >= MIN_SAMPLES
        for part in topic.spoken:
            assert not re.search(r"\d", part), topic.id
            assert len(part.split()) <= 110, topic.id


def test_every_prompt_key_the_code_uses_exists_and_no_key_is_unused():
    data = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    assert set(data["prompts"]) == set(PROMPT_KEYS)
    code = "\n".join(p.read_text() for p in SKILL_DIR.glob("*.py") if p.name != "prompts.py")
    used = set(re.findall(r'"([a-z_]+)"', code))
    assert set(PROMPT_KEYS) - used == set(), "prompt keys never used"


def test_every_example_question_is_a_sample_of_its_topic(conversation):
    for example in conversation.prompts.example_questions:
        assert example.text.lower() in conversation.guide.topic(example.topic).samples


def _write_topics(tmp_path, change):
    data = yaml.safe_load(GUIDE_TOPICS_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "guide_topics.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _topic(data, topic_id):
    return next(t for t in data["topics"] if t["id"] == topic_id)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: _topic(d, "dosage").pop("spoken"), "topic 'dosage': field 'spoken'"),
        (lambda d: _topic(d, "dosage").update(title=""), "topic 'dosage': field 'title'"),
        (lambda d: _topic(d, "dosage").update(kind="essay"), "topic 'dosage': field 'kind'"),
        (lambda d: _topic(d, "dosage").update(samples=["one"]), "topic 'dosage': field 'samples'"),
        (
            lambda d: _topic(d, "dosage")["samples"].append("take 2 pills"),
            "topic 'dosage': field 'samples' entry 'take 2 pills'",
        ),
        (
            lambda d: _topic(d, "dosage")["spoken"].append("Take 2 & more."),
            "topic 'dosage': field 'spoken' part",
        ),
        (
            lambda d: _topic(d, "dosage").update(spoken=["word " * 120]),
            "topic 'dosage': field 'spoken' part 1 is longer",
        ),
        (
            lambda d: _topic(d, "dosage").update(related=["nowhere"]),
            "topic 'dosage': field 'related' names unknown topic 'nowhere'",
        ),
        (
            lambda d: _topic(d, "dosage")["samples"].append(_topic(d, "monitoring")["samples"][0]),
            "is also in topic",
        ),
        (lambda d: _topic(d, "dosage").update(id="Dosage!"), "topic #9: field 'id'"),
        (lambda d: d.update(topics=[]), "field 'topics'"),
    ],
)
def test_a_malformed_topics_file_names_file_topic_and_field(tmp_path, change, message):
    path = _write_topics(tmp_path, change)
    with pytest.raises(GuideError) as caught:
        load_guide(path)
    assert str(caught.value).startswith("guide_topics.yaml: ")
    assert message in str(caught.value)


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "guide_topics.yaml"
    path.write_text("topics:\n  - id: a\n   bad: [\n", encoding="utf-8")
    with pytest.raises(GuideError, match=r"^guide_topics.yaml: is not valid YAML at line \d+"):
        load_guide(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(GuideError, match=r"^missing\.yaml: cannot be read"):
        load_guide(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["prompts"].pop("welcome"), "prompts.yaml: prompts: field 'welcome'"),
        (
            lambda d: d["prompts"].update(clarify="Did you mean {first"),
            "prompts: field 'clarify' has a bad placeholder",
        ),
        (
            lambda d: d["prompts"].update(goodbye="Call 911."),
            "prompts: field 'goodbye' has a digit",
        ),
        (
            lambda d: d["safety"]["emergencies"][0].update(patterns=["(unclosed"]),
            "safety: emergencies #1: field 'patterns' entry '(unclosed' is invalid",
        ),
        (
            lambda d: d["safety"]["personal_dose"].update(topic="nowhere"),
            "safety: personal_dose: field 'topic' names unknown topic",
        ),
        (
            lambda d: d["safety"]["personal_dose"].update(or_when_sure=["nowhere"]),
            "safety: personal_dose: field 'or_when_sure' must list known topic ids",
        ),
        (
            lambda d: d["question_carriers"].append("{query}"),
            "field 'question_carriers' entry '{query}' needs {query} and a carrier",
        ),
        (
            lambda d: d["example_questions"][0].update(topic="nowhere"),
            "example_questions #1: field 'topic' names unknown topic",
        ),
        (
            lambda d: d["safety"]["asked_about"].update(rules=["heart"]),
            "safety: asked_about: field 'rules' must list emergency ids",
        ),
        (
            lambda d: d["safety"]["past_history"].update(still_likely=["heart"]),
            "safety: past_history: field 'still_likely' must list emergency ids",
        ),
        (
            lambda d: d["safety"]["past_history"].update(patterns=["(had"]),
            "safety: past_history: field 'patterns' entry '(had' is invalid",
        ),
    ],
)
def test_a_malformed_prompts_file_names_the_field(changed_copy, conversation, change, message):
    path = changed_copy(PROMPTS_FILE, change)
    with pytest.raises(GuideError) as caught:
        load_prompts(conversation.guide, path)
    assert message in str(caught.value)


def test_the_app_refuses_to_start_on_a_malformed_file(tmp_path):
    path = _write_topics(tmp_path, lambda d: _topic(d, "benefits").pop("title"))
    with pytest.raises(GuideError, match=r"guide_topics\.yaml: topic 'benefits': field 'title'"):
        create_app({"TOPICS_FILE": str(path)})


def test_the_cli_reports_a_content_error_and_exits_two(tmp_path, monkeypatch, capsys):
    from skill.cli import main

    path = _write_topics(tmp_path, lambda d: _topic(d, "benefits").pop("title"))
    monkeypatch.setenv("JAK_GUIDE_TOPICS_FILE", str(path))
    assert main(["check"]) == 2
    assert "guide_topics.yaml: topic 'benefits': field 'title'" in capsys.readouterr().err
