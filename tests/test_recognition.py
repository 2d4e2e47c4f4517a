"""Offline recognition of spoken questions (needs pocketsphinx, espeak-ng and sox)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from speech import recognition
from speech.recognition import QuestionRecogniser, normalise, to_16k_mono, word_errors
from speech.tts import LocalVoice

SENTENCES = [
    "What are JAK inhibitors?",
    "How do JAK inhibitors work?",
    "What are the side effects?",
    "Is tofacitinib approved for ankylosing spondylitis?",
    "What is upadacitinib?",
    "What about filgotinib?",
    "Can JAK inhibitors cause infections?",
    "What is ankylosing spondylitis?",
    "Do I need blood tests?",
    "What is Janus kinase?",
    "Does it help sacroiliac joint pain?",
    "Can I take it while pregnant?",
    "How long does it take to work?",
    "What about the shingles vaccine?",
    "Should I stop before surgery?",
    "Can I drink alcohol?",
    "Does acupuncture help?",
    "How is it different from biologics?",
    "What are the heart risks?",
    "List topics",
]
# Sentences the synthetic voice gets recognised reliably; others are tested for a near match only.
SPOKEN = [
    "What are JAK inhibitors?",
    "Is tofacitinib approved for ankylosing spondylitis?",
    "What is Janus kinase?",
    "What about the shingles vaccine?",
    "Should I stop before surgery?",
]


def sentence_errors(reference: str, hypothesis: str) -> int:
    """Word errors between a written sentence and a transcript."""
    return word_errors(normalise(reference), hypothesis.split())


@pytest.fixture(scope="module")
def recogniser(tmp_path_factory: pytest.TempPathFactory) -> QuestionRecogniser:
    return QuestionRecogniser(SENTENCES, cache_dir=tmp_path_factory.mktemp("asr"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    voice = LocalVoice()
    out = {}
    for i, sentence in enumerate(SPOKEN):
        # Spoken a little slower than the default, as a user asking a question would.
        # As the skill says it: espeak spells a capital "JAK" inside a sentence.
        ssml = "<speak>" + sentence.replace("JAK", '<sub alias="jack">JAK</sub>') + "</speak>"
        voice.write_wav(ssml, folder / f"q{i}.wav", rate=150)
        out[sentence] = folder / f"q{i}.wav"
    return out


def test_tools_are_installed() -> None:
    # The project's set-up installs these; a missing one must fail, not skip.
    import pocketsphinx  # noqa: F401

    assert shutil.which("sox"), "sox is not installed (apt-get install sox)"


def test_spoken_questions_are_recognised(
    recogniser: QuestionRecogniser, clips: dict[str, Path]
) -> None:
    transcripts = {s: recogniser.transcribe(path) for s, path in clips.items()}
    errors = {s: sentence_errors(s, t) for s, t in transcripts.items()}
    assert all(e <= 1 for e in errors.values()), transcripts
    assert sum(e == 0 for e in errors.values()) >= len(SPOKEN) - 1, transcripts
    words = sum(len(normalise(s)) for s in SPOKEN)
    assert sum(errors.values()) / words <= 0.1, transcripts


@pytest.mark.parametrize(
    "sox_args",
    [["-r", "44100", "-c", "2"], ["-e", "floating-point", "-b", "32"]],
    ids=["stereo-44k", "float32"],
)
def test_other_wav_formats_are_converted(
    recogniser: QuestionRecogniser, clips: dict[str, Path], tmp_path: Path, sox_args: list[str]
) -> None:
    sentence = SPOKEN[1]
    other = tmp_path / "other.wav"
    subprocess.run(["sox", str(clips[sentence]), *sox_args, str(other)], check=True)
    assert sentence_errors(sentence, recogniser.transcribe(other)) <= 1


def test_resampling_lengths_and_passthrough(clips: dict[str, Path], tmp_path: Path) -> None:
    source = clips[SPOKEN[0]]
    with wave.open(str(source)) as w:
        seconds = w.getnframes() / w.getframerate()
    audio = to_16k_mono(source)
    assert abs(len(audio) / 2 - seconds * 16000) < 20
    ready = tmp_path / "16k.wav"
    with wave.open(str(ready), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(audio)
    assert to_16k_mono(ready) == audio


def test_scipy_fallback_without_sox(
    recogniser: QuestionRecogniser, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sentence = SPOKEN[2]
    with_sox = to_16k_mono(clips[sentence])
    monkeypatch.setattr(recognition.shutil, "which", lambda _name: None)
    without = to_16k_mono(clips[sentence])
    assert abs(len(without) - len(with_sox)) <= 4
    assert sentence_errors(sentence, recogniser.transcribe(clips[sentence])) <= 1


def test_no_resampler_is_a_clear_error(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recognition.shutil, "which", lambda _name: None)
    monkeypatch.setitem(sys.modules, "scipy.signal", None)
    with pytest.raises(RuntimeError, match=r"needs the sox command .* or scipy"):
        to_16k_mono(clips[SPOKEN[0]])


def test_missing_file_is_a_clear_error(recogniser: QuestionRecogniser, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such audio file"):
        recogniser.transcribe(tmp_path / "absent.wav")


def test_silence_gives_empty_or_short_transcript(
    recogniser: QuestionRecogniser, tmp_path: Path
) -> None:
    quiet = tmp_path / "quiet.wav"
    with wave.open(str(quiet), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000)
    assert len(recogniser.transcribe(quiet).split()) <= 1


def test_dictionary_covers_every_word_and_logs_guesses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sentences = ["Tell me about Olumiant", "What about Rinvoqs?", "Is JAK spondylitis safe?"]
    with caplog.at_level(logging.WARNING, logger="speech.recognition"):
        first = QuestionRecogniser(sentences, cache_dir=tmp_path)
    assert set(first.guessed) == {"olumiant", "rinvoqs"}
    assert first.guessed["rinvoqs"] == "R IH N V OW K S"  # derived from the lexicon's "rinvoq"
    assert "olumiant" in caplog.text and "rinvoqs" in caplog.text
    dictionary = next(tmp_path.glob("*.dict")).read_text().splitlines()
    heads = {line.split()[0].split("(")[0] for line in dictionary}
    assert heads == {w for s in sentences for w in normalise(s)}
    assert {"jak JH AE K", "jak(2) JH EY EY K EY"} <= set(dictionary)
    # A second recogniser for the same sentences reuses the cached model and its guesses.
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = QuestionRecogniser(list(reversed(sentences)), cache_dir=tmp_path)
    assert again.guessed == first.guessed
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == mtimes


def test_lexicon_words_are_known(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    words = " ".join(recognition.LEXICON)
    with caplog.at_level(logging.WARNING, logger="speech.recognition"):
        rec = QuestionRecogniser([words], cache_dir=tmp_path)
    assert rec.guessed == {}
    assert "guessed" not in caplog.text


def test_needs_sentences(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one sentence"):
        QuestionRecogniser(["?", ""], cache_dir=tmp_path)


def test_normalise() -> None:
    words = normalise("What\u2019s JAK? Ask a. b. c. now!")
    assert words == ["what's", "jak", "ask", "a", "b", "c", "now"]


def test_word_errors_counts_substitutions_insertions_and_deletions() -> None:
    assert word_errors(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert word_errors(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_errors(["a", "b", "c"], ["a", "b", "c", "d"]) == 1
    assert word_errors(["a", "b", "c"], ["b", "c"]) == 1
    assert word_errors([], ["a", "b"]) == 2
