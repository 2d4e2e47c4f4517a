"""Spoken questions end to end: LocalVoice speaks, pocketsphinx hears, the real skill answers.

Needs espeak-ng (through pyttsx3) and pocketsphinx; a missing one fails these tests, never skips
them. Rates over many questions come from `python -m benchmarks.voice_roundtrip`; the questions
here are ones that came back word for word at 150 words a minute (and at 125 and 175, except
"what are the side effects", which the larger language model now hears as "side the clinic" at
125 and now and then at 150: one miss per set is allowed).
"""

from __future__ import annotations

import shutil
import sys

import pytest

from skill.local_alexa import LocalAlexa, local_app
from skill.offline import recognition_sentences
from speech.recognition import QuestionRecogniser, normalise
from speech.tts import LocalVoice

# As a user asking a question speaks: a little slower than the engine's default.
RATE = 150
# Sample utterances of six topics (so in the language model), with the topic they ask for.
SAMPLES = {
    "what are the side effects": "risks_and_side_effects",
    "how soon will i feel better": "faq_time_to_improve",
    "what is the usual dose": "dosage",
    "how will my doctor know if it's working": "monitoring",
    "can jak inhibitors cure ankylosing spondylitis": "faq_cure",
    "give me a general overview of jak inhibitors": "about_the_guide",
}
# Paraphrases from benchmarks/heldout_questions.yaml: held-out questions are never samples, so
# the language model has never seen these sentences, only their words. (When that set joins the
# development questions, its paraphrases may become samples: take these from the next one.)
PARAPHRASES = {
    "what kind of illness is a s": "understanding_as",
    "what do these tablets do inside my body": "how_jak_inhibitors_work",
    "will these tablets help my pain": "benefits",
    "how do i pick between the different jak tablets": "choosing_a_jak_inhibitor",
}


def spoken(question: str) -> str:
    """The question as SSML, with "JAK" said "jack" as the skill says it."""
    words = ('<sub alias="jack">JAK</sub>' if w == "jak" else w for w in question.split())
    return "<speak>" + " ".join(words) + "</speak>"


@pytest.fixture(scope="module")
def alexa() -> LocalAlexa:
    return LocalAlexa(local_app())


@pytest.fixture(scope="module")
def recogniser(alexa: LocalAlexa, tmp_path_factory: pytest.TempPathFactory) -> QuestionRecogniser:
    # What `jak-guide listen` hears with: every sample utterance and built-in phrase.
    return QuestionRecogniser(
        recognition_sentences(alexa), cache_dir=tmp_path_factory.mktemp("asr")
    )


@pytest.fixture(scope="module")
def heard(
    recogniser: QuestionRecogniser, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Each question spoken to a WAV and recognised: question -> transcript."""
    folder = tmp_path_factory.mktemp("questions")
    voice = LocalVoice()
    out = {}
    for i, question in enumerate([*SAMPLES, *PARAPHRASES]):
        wav = folder / f"q{i}.wav"
        voice.write_wav(spoken(question), wav, rate=RATE)
        out[question] = recogniser.transcribe(wav)
    return out


def answered_topic(alexa: LocalAlexa, text: str) -> str | None:
    """The topic the skill answers with, in a new session (None: it asked back or declined)."""
    alexa.attributes, alexa.in_session = {}, False
    turn = alexa.say(text)
    return (turn.envelope.get("sessionAttributes") or {}).get("topic")


def test_speech_tools_are_installed() -> None:
    # The project's set-up installs both; a missing one must fail, not skip.
    import pocketsphinx  # noqa: F401

    if sys.platform.startswith("linux"):
        assert shutil.which("espeak-ng"), "espeak-ng is not installed (apt-get install espeak-ng)"


def test_the_paraphrases_are_not_in_the_language_model(alexa: LocalAlexa) -> None:
    in_model = {" ".join(normalise(s)) for s in recognition_sentences(alexa)}
    assert not {" ".join(normalise(q)) for q in PARAPHRASES} & in_model
    assert {" ".join(normalise(q)) for q in SAMPLES} <= in_model


def test_sample_questions_are_heard_word_for_word(heard: dict[str, str]) -> None:
    exact = [q for q in SAMPLES if heard[q].split() == normalise(q)]
    assert len(exact) >= 4, {q: heard[q] for q in SAMPLES}


# espeak's audio is not bit-identical from one synthesis to the next, and a word or two of a
# question sits on the edge of being heard right ("side effects" is sometimes "side the
# benefits"): one miss per set is allowed, two fail. The rates over many questions are the
# benchmark's (benchmarks/voice_roundtrip.py), not this test's.
MISSES_ALLOWED_PER_SET = 1


@pytest.mark.parametrize("questions", [SAMPLES, PARAPHRASES], ids=["samples", "paraphrases"])
def test_spoken_questions_reach_their_topics(
    questions: dict[str, str], heard: dict[str, str], alexa: LocalAlexa
) -> None:
    misses = {
        question: (heard[question], answered_topic(alexa, heard[question]))
        for question, topic in questions.items()
        if answered_topic(alexa, heard[question]) != topic
    }
    assert len(misses) <= MISSES_ALLOWED_PER_SET, misses
