"""The offline voice mode: ask, chat, listen and render, driving the real skill on a laptop."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from skill.local_alexa import BUILT_IN_PHRASES, LocalAlexa, LocalTurn
from speech.local_voice import plain_text
from speech.tts import LocalVoice

# An answer should pass the one-breath test; past this the render table flags it.
MAX_ANSWER_SECONDS = 45.0


def deliver(turn: LocalTurn, local_voice: LocalVoice, out: TextIO, wav: Path | None) -> None:
    """Print the answer's text, then speak it, or write it to `wav` when given."""
    if not turn.ssml:
        return
    print(plain_text(turn.ssml), file=out)
    if wav is not None:
        info = local_voice.write_wav(turn.ssml, wav)
        print(f"(saved {info.seconds:.1f} s of speech to {info.path})", file=out)
    else:
        local_voice.speak(turn.ssml)


def ask(
    alexa: LocalAlexa,
    question: str,
    local_voice: LocalVoice,
    out: TextIO,
    wav: Path | None = None,
    as_json: bool = False,
) -> LocalTurn:
    """One question in a new session; print (or print the envelope) and speak the answer."""
    turn = alexa.say(question)
    if as_json:
        print(json.dumps(turn.envelope, indent=2), file=out)
        if wav is not None:
            local_voice.write_wav(turn.ssml, wav)
        return turn
    deliver(turn, local_voice, out, wav)
    return turn


def chat(
    alexa: LocalAlexa,
    lines: Iterable[str],
    local_voice: LocalVoice,
    out: TextIO,
    wav_dir: Path | None = None,
    prompt: Callable[[], None] | None = None,
) -> list[LocalTurn]:
    """A conversation: launch, then one turn per line, until the skill ends the session."""
    turns: list[LocalTurn] = []

    def take(turn: LocalTurn) -> None:
        turns.append(turn)
        wav = wav_dir / f"turn-{len(turns):02d}.wav" if wav_dir else None
        deliver(turn, local_voice, out, wav)

    if wav_dir:
        wav_dir.mkdir(parents=True, exist_ok=True)
    take(alexa.launch())
    for line in _prompted(lines, prompt):
        if not line.strip():
            continue
        take(alexa.say(line))
        if turns[-1].ends_session:
            break
    return turns


def listen(
    alexa: LocalAlexa,
    wav_in: Path,
    recogniser: Transcriber,
    local_voice: LocalVoice,
    out: TextIO,
    wav: Path | None = None,
) -> tuple[str, LocalTurn]:
    """Recognise a spoken question from a WAV file, then answer it."""
    heard = recogniser.transcribe(wav_in)
    print(f"heard: {heard or '(nothing)'}", file=out)
    turn = alexa.say(heard)
    deliver(turn, local_voice, out, wav)
    return heard, turn


class Transcriber(Protocol):
    """Anything that turns a WAV file into words (the pocketsphinx recogniser, in practice)."""

    def transcribe(self, wav_path: Path) -> str:
        """The words heard."""
        ...


def recognition_sentences(alexa: LocalAlexa) -> list[str]:
    """What the recogniser's language model is built from: every sample the skill knows."""
    return alexa.known_sentences() + [p for phrases in BUILT_IN_PHRASES.values() for p in phrases]


@dataclass(frozen=True)
class RenderedAnswer:
    """One topic part written to WAV, and how long it speaks."""

    topic_id: str
    part: int
    path: Path
    seconds: float

    @property
    def too_long(self) -> bool:
        """Longer than one breath allows."""
        return self.seconds > MAX_ANSWER_SECONDS


def render_all(
    alexa: LocalAlexa,
    out_dir: Path,
    local_voice: LocalVoice,
    progress: TextIO,
) -> list[RenderedAnswer]:
    """Every topic's spoken answer, part by part, as the skill says it, to WAV files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(t, part) for t in alexa.conversation.guide.topics for part in range(t.part_count)]
    rendered = []
    for done, (topic, part) in enumerate(jobs, start=1):
        turn = alexa.intent(topic.intent_name) if part == 0 else alexa.intent("AMAZON.MoreIntent")
        path = out_dir / f"{topic.id}-{part + 1}.wav"
        info = local_voice.write_wav(turn.ssml, path)
        rendered.append(RenderedAnswer(topic.id, part, path, info.seconds))
        _progress_bar(progress, done, len(jobs), f"{topic.id} part {part + 1}")
    print(file=progress)
    return rendered


def duration_table(rendered: list[RenderedAnswer]) -> str:
    """A table of answer lengths that flags any over the limit."""
    width = max(len(r.topic_id) for r in rendered)
    lines = [f"{'topic':<{width}}  part  seconds", f"{'-' * width}  ----  -------"]
    for r in rendered:
        flag = f"  LONGER THAN {MAX_ANSWER_SECONDS:.0f} S" if r.too_long else ""
        lines.append(f"{r.topic_id:<{width}}  {r.part + 1:>4}  {r.seconds:7.1f}{flag}")
    long_ones = sum(r.too_long for r in rendered)
    lines.append(f"{len(rendered)} answers, {long_ones} longer than {MAX_ANSWER_SECONDS:.0f} s")
    return "\n".join(lines)


def _progress_bar(stream: TextIO, done: int, total: int, label: str) -> None:
    filled = round(30 * done / total)
    stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {label:<40}")
    stream.flush()


def _prompted(lines: Iterable[str], prompt: Callable[[], None] | None) -> Iterable[str]:
    iterator = iter(lines)
    while True:
        if prompt:
            prompt()
        try:
            yield next(iterator)
        except StopIteration:
            return
