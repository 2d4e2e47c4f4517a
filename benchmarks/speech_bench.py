"""Time offline speech: LocalVoice vs the espeak-ng command, recognition, and 500 answers in a row.

Run from the project root: .venv/bin/python benchmarks/speech_bench.py [--runs 20] [--answers 500]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from pathlib import Path

# Run as a script from anywhere: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from speech.local_voice import Utterance, plain_text
from speech.recognition import QuestionRecogniser, normalise, word_errors
from speech.tts import DEFAULT_RATE, LocalVoice

# A typical answer (58 words) as the skill sends it: alias for JAK, pauses between ideas.
ANSWER = (
    '<speak><sub alias="jack">JAK</sub> inhibitors are tablets that block Janus kinase enzymes, '
    "which carry the immune signals that drive inflammation in ankylosing spondylitis."
    '<break time="400ms"/>Two are approved for it: tofacitinib and upadacitinib.'
    '<break time="400ms"/>They can ease back pain and stiffness within weeks, but they raise '
    "the risk of infections such as shingles, so your doctor will check your blood and liver "
    "tests regularly."
    "</speak>"
)
QUESTIONS = [
    "what are jak inhibitors",
    "how do jak inhibitors work",
    "what are the side effects",
    "is tofacitinib approved for ankylosing spondylitis",
    "what is upadacitinib",
    "what about filgotinib",
    "can jak inhibitors cause infections",
    "what is ankylosing spondylitis",
    "do i need blood tests",
    "what is janus kinase",
    "does it help sacroiliac joint pain",
    "can i take it while pregnant",
    "how long does it take to work",
    "what about the shingles vaccine",
    "should i stop before surgery",
    "can i drink alcohol",
    "does acupuncture help",
    "how is it different from biologics",
    "what are the heart risks",
    "list topics",
]


def _median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_synthesis(voice: LocalVoice, tmp: Path, runs: int) -> None:
    text = plain_text(ANSWER)
    print(f"Synthesis of a {len(text.split())}-word answer to WAV, median of {runs} runs")
    voice.write_wav(ANSWER, tmp / "warm.wav")  # engine start-up is not part of the figure
    local_plain = _median_seconds(lambda: voice.write_wav([Utterance(text)], tmp / "a.wav"), runs)
    local_ssml = _median_seconds(lambda: voice.write_wav(ANSWER, tmp / "b.wav"), runs)
    cmd = ["espeak-ng", "-v", "en-us", "-s", str(DEFAULT_RATE), "-w", str(tmp / "c.wav"), text]
    cli = _median_seconds(lambda: subprocess.run(cmd, check=True), runs)
    print(f"  LocalVoice, plain text (1 utterance)     {local_plain * 1000:7.1f} ms")
    print(f"  LocalVoice, SSML (3 utterances + pauses) {local_ssml * 1000:7.1f} ms")
    print(f"  espeak-ng -v en-us -w (same text)        {cli * 1000:7.1f} ms")
    print(f"  ratio LocalVoice plain / espeak-ng       {local_plain / cli:7.2f}")


def timed_recogniser(
    sentences: Sequence[str], cache_dir: Path
) -> tuple[QuestionRecogniser, float, float]:
    """A recogniser, the seconds to build its language model, and to load it from the cache."""
    start = time.perf_counter()
    recogniser = QuestionRecogniser(sentences, cache_dir=cache_dir)
    built = time.perf_counter() - start
    start = time.perf_counter()
    QuestionRecogniser(sentences, cache_dir=cache_dir)
    return recogniser, built, time.perf_counter() - start


def bench_recognition(voice: LocalVoice, tmp: Path) -> None:
    recogniser, built, cached = timed_recogniser(QUESTIONS, tmp / "asr")
    times, errors, exact = [], 0, 0
    for i, question in enumerate(QUESTIONS):
        ssml = "<speak>" + question.replace("jak", '<sub alias="jack">JAK</sub>') + "</speak>"
        voice.write_wav(ssml, tmp / f"q{i}.wav", rate=150)
        start = time.perf_counter()
        heard = recogniser.transcribe(tmp / f"q{i}.wav")
        times.append(time.perf_counter() - start)
        errors += word_errors(normalise(question), heard.split())
        exact += heard == question
    words = sum(len(q.split()) for q in QUESTIONS)
    print(f"Recognition of {len(QUESTIONS)} synthesised questions (pocketsphinx, sentence LM)")
    print(f"  recogniser start-up: {built:.2f} s building the LM, {cached:.2f} s from cache")
    print(
        f"  seconds per question: median {statistics.median(times):.3f}, max {max(times):.3f}"
        " (includes resampling with " + ("sox" if shutil.which("sox") else "scipy") + ")"
    )
    print(f"  word error rate {errors / words:.1%}; exact transcripts {exact}/{len(QUESTIONS)}")


def bench_many(voice: LocalVoice, tmp: Path, answers: int) -> None:
    whole = 0
    start = time.perf_counter()
    for i in range(answers):
        path = tmp / f"many{i % 10}.wav"
        info = voice.write_wav(ANSWER.replace("Two are", f"Answer {i}: two are"), path)
        with wave.open(str(path)) as w:
            frames = w.getnframes()
            data = w.readframes(frames)
        # Whole: readable, every frame present, and about as long as the answer (15-30 s).
        whole += frames == info.frames > 0 and len(data) == 2 * frames and 15 < info.seconds < 30
    elapsed = time.perf_counter() - start
    print(
        f"{answers} answers rendered in a row by LocalVoice: {whole} whole "
        f"({elapsed:.1f} s, {elapsed / answers * 1000:.0f} ms each)"
    )


def main() -> None:
    """Run the three benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per synthesis timing")
    parser.add_argument("--answers", type=int, default=500, help="answers rendered in a row")
    args = parser.parse_args()
    voice = LocalVoice()
    with tempfile.TemporaryDirectory(prefix="jak-bench-") as folder:
        tmp = Path(folder)
        bench_synthesis(voice, tmp, args.runs)
        bench_recognition(voice, tmp)
        bench_many(voice, tmp, args.answers)


if __name__ == "__main__":
    main()
