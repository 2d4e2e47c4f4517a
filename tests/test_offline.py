"""The offline voice mode drives the real skill through request envelopes, and writes real WAVs."""

import io
import json
import wave

import pytest

from skill import offline
from skill.cli import main
from skill.local_alexa import LocalAlexa, local_app
from speech.local_voice import plain_text
from speech.tts import NO_DEVICE_MESSAGE, LocalVoice


@pytest.fixture(scope="module")
def alexa_app():
    return local_app()


@pytest.fixture
def alexa(alexa_app):
    return LocalAlexa(alexa_app)


def frames(path):
    with wave.open(str(path)) as wav:
        return wav.getnframes()


@pytest.mark.parametrize(
    "line, intent, slots",
    [
        ("next", "AMAZON.NextIntent", {}),
        ("Go back", "AMAZON.PreviousIntent", {}),
        ("yes please", "AMAZON.YesIntent", {}),
        ("stop", "AMAZON.StopIntent", {}),
        ("list topics", "ListTopicsIntent", {}),
        ("What's the bottom line?", "ClosingIntent", {}),
        ("what about the blood tests", "QuestionIntent", {"query": "the blood tests"}),
        ("what about the dose", "DosageIntent", {}),  # a sample utterance wins over a carrier
        ("does it upset your tummy", "QuestionIntent", {"query": "does it upset your tummy"}),
        ("i have chest pain", "MedicalEmergencyIntent", {}),
    ],
)
def test_a_line_resolves_to_the_intent_alexa_would_send(alexa, line, intent, slots):
    assert alexa.resolve(line) == (intent, slots)


def test_ask_prints_the_spoken_text_and_writes_a_wav(alexa, tmp_path):
    out = io.StringIO()
    turn = offline.ask(
        alexa, "what are the side effects", LocalVoice(), out, wav=tmp_path / "a.wav"
    )
    assert turn.envelope["sessionAttributes"]["topic"] == "risks_and_side_effects"
    printed = out.getvalue().splitlines()
    assert printed[0] == plain_text(turn.ssml)
    assert "<" not in printed[0] and "jack inhibitors" in printed[0]
    assert frames(tmp_path / "a.wav") > 22050  # more than a second of speech


def test_cli_ask_json_prints_the_whole_response_envelope(capsys):
    assert main(["ask", "how do i take it", "--json"]) == 0
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["sessionAttributes"]["topic"] == "dosage"
    assert envelope["response"]["outputSpeech"]["type"] == "SSML"


def test_speaking_without_a_sound_device_says_so_once_and_returns(monkeypatch, capsys):
    monkeypatch.setattr("speech.tts.has_audio_device", lambda: False)
    assert main(["ask", "how do i take it"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count(NO_DEVICE_MESSAGE) == 1
    assert "tablet" in captured.out


def test_chat_is_one_session_across_turns_and_ends_on_stop(alexa, tmp_path):
    out = io.StringIO()
    lines = ["what are the side effects", "yes", "repeat", "next", "stop", "never reached"]
    turns = offline.chat(alexa, lines, LocalVoice(), out, wav_dir=tmp_path)
    assert [t.intent for t in turns] == [
        "LaunchRequest",
        "RisksAndSideEffectsIntent",
        "AMAZON.YesIntent",
        "AMAZON.RepeatIntent",
        "AMAZON.NextIntent",
        "AMAZON.StopIntent",
    ]
    assert turns[3].ssml == turns[2].ssml
    assert turns[-1].ends_session and not any(t.ends_session for t in turns[:-1])
    wavs = sorted(tmp_path.glob("turn-*.wav"))
    assert [w.name for w in wavs] == [f"turn-{i:02d}.wav" for i in range(1, 7)]
    assert all(frames(w) > 0 for w in wavs)


def test_render_writes_every_part_of_every_topic_and_tabulates_durations(alexa, tmp_path):
    progress = io.StringIO()
    rendered = offline.render_all(alexa, tmp_path, LocalVoice(), progress)
    guide = alexa.conversation.guide
    expected = [(t.id, p) for t in guide.topics for p in range(t.part_count)]
    assert [(r.topic_id, r.part) for r in rendered] == expected
    for r in rendered:
        assert r.path.exists() and frames(r.path) > 0
        assert 1.0 < r.seconds < offline.MAX_ANSWER_SECONDS, r
    assert f"{len(expected)}/{len(expected)}" in progress.getvalue()
    table = offline.duration_table(rendered)
    assert table.splitlines()[-1] == f"{len(expected)} answers, 0 longer than 45 s"


def test_the_duration_table_flags_an_answer_over_forty_five_seconds(tmp_path):
    rendered = [
        offline.RenderedAnswer("dosage", 0, tmp_path / "a.wav", 12.0),
        offline.RenderedAnswer("lifestyle", 1, tmp_path / "b.wav", 45.5),
    ]
    lines = offline.duration_table(rendered).splitlines()
    assert lines[2] == "dosage        1     12.0"
    assert lines[3] == "lifestyle     2     45.5  LONGER THAN 45 S"
    assert lines[-1] == "2 answers, 1 longer than 45 s"


def test_listen_recognises_a_spoken_question_and_answers_it(alexa, tmp_path):
    from speech.recognition import QuestionRecogniser

    question = tmp_path / "question.wav"
    # A sample question the recogniser hears word for word from espeak's voice (it hears "side
    # effects" as "side the benefits" now and then: benchmarks/voice_roundtrip.py has the rates).
    LocalVoice().write_wav("<speak>how soon will i feel better</speak>", question)
    recogniser = QuestionRecogniser(offline.recognition_sentences(alexa), cache_dir=tmp_path)
    out = io.StringIO()
    heard, turn = offline.listen(
        alexa, question, recogniser, LocalVoice(), out, wav=tmp_path / "a.wav"
    )
    assert heard == "how soon will i feel better"
    assert turn.envelope["sessionAttributes"]["topic"] == "faq_time_to_improve"
    assert out.getvalue().startswith(f"heard: {heard}\n")
