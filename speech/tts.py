"""Speak or save the skill's SSML offline with pyttsx3, working around its espeak-driver races."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech.local_voice import Pause, Segment, Utterance, to_segments

# espeak-ng's own default speed; pyttsx3's espeak driver starts at a hurried 200 wpm.
DEFAULT_RATE = 175
PREFERRED_VOICE = "gmw/en-us"
NO_DEVICE_MESSAGE = "jak-guide: no sound device was found; use --wav FILE to save the answer."
ESPEAK_HINT = "install the espeak-ng package (Debian/Ubuntu: sudo apt-get install espeak-ng)"
# Linux players tried in order; sox's `play` is last because it needs a format plug-in.
_LINUX_PLAYERS = (["paplay"], ["pw-play"], ["aplay", "-q"], ["play", "-q"])


class TtsError(RuntimeError):
    """The engine failed to produce audio."""


class TtsUnavailableError(TtsError):
    """pyttsx3 could not start (on Linux: the espeak-ng library is missing)."""


@dataclass(frozen=True)
class WavInfo:
    """What write_wav wrote."""

    path: Path
    seconds: float
    frames: int
    sample_rate: int


class _SharedEngine:
    """The process's one pyttsx3 engine; every use holds the lock so saves never overlap."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._engine: Any = None
        self._voice_ids: list[str] = []
        self._voice: str | None = None
        self._rate: int | None = None
        self._finished = threading.Event()
        self._errors: list[BaseException] = []

    @property
    def driver(self) -> str:
        """Name of the pyttsx3 driver in use (espeak, nsss, sapi5)."""
        return str(self._get().driver_name)

    def _get(self) -> Any:
        with self.lock:
            if self._engine is None:
                try:
                    import pyttsx3

                    engine = pyttsx3.init()
                    voices = engine.getProperty("voices") or []
                except Exception as exc:  # ImportError, OSError, RuntimeError from the driver
                    raise TtsUnavailableError(
                        f"pyttsx3 could not start a text-to-speech engine ({exc}); {ESPEAK_HINT}"
                    ) from exc
                engine.connect("finished-utterance", lambda **_: self._finished.set())
                engine.connect("error", lambda exception=None, **_: self._errors.append(exception))
                self._voice_ids = [str(v.id) for v in voices]
                # pyttsx3 keeps engines in a weak dict: this reference keeps ours alive.
                self._engine = engine
            return self._engine

    def resolve_voice(self, voice: str | None) -> str | None:
        """Map a voice id/short name to an engine id; None picks en-US where there is one."""
        self._get()
        ids = self._voice_ids
        if voice is None:
            if PREFERRED_VOICE in ids:
                return PREFERRED_VOICE
            # macOS (com.apple...en-US...) and Windows (...EN-US...) ids carry the locale.
            us = [i for i in ids if "en-us" in i.lower() or "en_us" in i.lower()]
            return us[0] if us else None
        for candidate in ids:
            low, want = candidate.lower(), voice.lower()
            if low == want or low.endswith("/" + want):
                return candidate
        raise ValueError(f"unknown voice {voice!r}; some available: {', '.join(ids[:12])}")

    def _configure(self, voice: str | None, rate: int) -> None:
        # Setting a property before every save sometimes yields an empty WAV: only set changes.
        engine = self._get()
        if voice is not None and voice != self._voice:
            engine.setProperty("voice", voice)
            self._voice = voice
            self._wait_idle()
        if rate != self._rate:
            engine.setProperty("rate", rate)
            self._rate = rate
            self._wait_idle()

    def _wait_idle(self, limit: float = 2.0) -> None:
        """Wait until espeak's command queue is empty.

        espeak queues a property change; pyttsx3's runAndWait calls espeak_Cancel whenever
        espeak is busy, which flushes that queue, so a new rate was often silently dropped.
        """
        if self.driver != "espeak":
            return
        from pyttsx3.drivers import _espeak

        deadline = time.monotonic() + limit
        while _espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.0005)

    def save(self, text: str, path: Path, voice: str | None, rate: int) -> None:
        """Synthesise text into path and return only when the file is complete."""
        with self.lock:
            engine = self._get()
            self._configure(voice, rate)
            # espeak's runAndWait returns before the audio exists; other drivers save synchronously.
            timeout = 10.0 + len(text) / 200 if self.driver == "espeak" else 2.0
            for _attempt in range(2):
                self._wait_idle()  # so runAndWait's Cancel has nothing in flight to kill
                path.unlink(missing_ok=True)
                self._finished.clear()
                self._errors.clear()
                with _quiet_stdout():
                    engine.save_to_file(text, str(path))
                    _run_and_wait(engine)
                    self._finished.wait(timeout)
                if self._errors:
                    raise TtsError(f"pyttsx3 failed: {self._errors[0]}")
                if _frame_count(path) > 0:
                    return
            raise TtsError(f"pyttsx3 wrote no audio for {text[:60]!r} after 2 attempts")

    def say(self, segments: Sequence[Segment], voice: str | None, rate: int) -> None:
        """Speak through the driver itself (macOS, Windows); pauses are slept."""
        with self.lock:
            engine = self._get()
            self._configure(voice, rate)
            for seg in segments:
                if isinstance(seg, Pause):
                    time.sleep(seg.seconds)
                else:
                    engine.say(seg.text)
                    _run_and_wait(engine)


_ENGINE = _SharedEngine()


class LocalVoice:
    """Render the skill's SSML as speech on this computer."""

    def __init__(self, voice: str | None = None, rate: int | None = None) -> None:
        self.voice = voice
        self.rate = rate

    def write_wav(
        self,
        segments_or_ssml: str | Sequence[Segment],
        path: str | os.PathLike[str],
        voice: str | None = None,
        rate: int | None = None,
    ) -> WavInfo:
        """Synthesise the utterances, join them with real silence for each pause, write one WAV."""
        segments = _as_segments(segments_or_ssml)
        engine_voice, engine_rate = self._settings(voice, rate)
        target = Path(path)
        params: tuple[int, int, int] | None = None
        chunks: list[bytes | Pause] = []
        # Hold the lock for the whole answer so another thread's voice/rate can't slip in.
        with _ENGINE.lock, tempfile.TemporaryDirectory(prefix="jak-tts-") as tmp:
            for i, seg in enumerate(segments):
                if isinstance(seg, Pause):
                    chunks.append(seg)
                    continue
                part = Path(tmp) / f"part{i}.wav"
                _ENGINE.save(seg.text, part, engine_voice, engine_rate)
                part_params, frames = _read_wav(part)
                if params is not None and part_params != params:
                    raise TtsError(f"engine changed audio format mid-answer: {part_params}")
                params = part_params
                chunks.append(frames)
        assert params is not None  # _as_segments guarantees one utterance
        channels, width, sample_rate = params
        silence = b"\x80" if width == 1 else b"\x00"  # 8-bit WAV is unsigned
        data = b"".join(
            silence * (round(c.seconds * sample_rate) * width * channels)
            if isinstance(c, Pause) else c
            for c in chunks
        )
        # Write beside the target and rename, so a reader never sees a half-written file.
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(sample_rate)
            out.writeframes(data)
        os.replace(partial, target)
        frames = len(data) // (width * channels)
        return WavInfo(target, frames / sample_rate, frames, sample_rate)

    def speak(self, ssml: str | Sequence[Segment], voice: str | None = None,
              rate: int | None = None) -> None:
        """Play the answer on the sound device; with no device, say so on stderr and return."""
        if not has_audio_device():
            print(NO_DEVICE_MESSAGE, file=sys.stderr)
            return
        segments = _as_segments(ssml)
        engine_voice, engine_rate = self._settings(voice, rate)
        if _ENGINE.driver != "espeak":
            _ENGINE.say(segments, engine_voice, engine_rate)
            return
        # espeak's say() writes to the last save_to_file path once a save has happened, and
        # plays with aplay only: render a WAV (with real pauses) and play that instead.
        with tempfile.TemporaryDirectory(prefix="jak-say-") as tmp:
            info = self.write_wav(segments, Path(tmp) / "answer.wav", voice, rate)
            _play_wav(info)

    def _settings(self, voice: str | None, rate: int | None) -> tuple[str | None, int]:
        chosen_rate = rate if rate is not None else self.rate or DEFAULT_RATE
        if chosen_rate <= 0:
            raise ValueError(f"rate must be positive words per minute, not {chosen_rate}")
        return _ENGINE.resolve_voice(voice or self.voice), int(chosen_rate)


def has_audio_device() -> bool:
    """True when a sound output seems available (Linux: ALSA card or Pulse/PipeWire socket)."""
    if not sys.platform.startswith("linux"):
        return True  # macOS and Windows machines have an output; their drivers play directly
    try:
        cards = Path("/proc/asound/cards").read_text()
        if cards.strip() and "no soundcards" not in cards:
            return True
    except OSError:
        pass  # no ALSA here (e.g. a container); a sound server may still be reachable
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    sockets = [Path(runtime, "pulse", "native"), Path(runtime, "pipewire-0")] if runtime else []
    return bool(os.environ.get("PULSE_SERVER")) or any(s.exists() for s in sockets)


def _play_wav(info: WavInfo) -> None:
    """Play a WAV with the first Linux player found; failures become one line on stderr."""
    player = next((p for p in _LINUX_PLAYERS if shutil.which(p[0])), None)
    try:
        if player is None:
            raise OSError("no player found: install pulseaudio-utils, alsa-utils or sox")
        subprocess.run([*player, str(info.path)], check=True, capture_output=True,
                       timeout=info.seconds + 10)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"jak-guide: could not play audio ({exc}); use --wav FILE instead.", file=sys.stderr)


def _as_segments(segments_or_ssml: str | Sequence[Segment]) -> list[Segment]:
    segments = (to_segments(segments_or_ssml) if isinstance(segments_or_ssml, str)
                else list(segments_or_ssml))
    if not any(isinstance(s, Utterance) and s.text.strip() for s in segments):
        raise ValueError("nothing to say: the answer has no words")
    return [s for s in segments if not (isinstance(s, Utterance) and not s.text.strip())]


def _run_and_wait(engine: Any) -> None:
    try:
        engine.runAndWait()
    except RuntimeError:
        # A loop left open by an earlier failure makes every later call raise; reset it once.
        engine._inLoop = False
        engine.runAndWait()


def _frame_count(path: Path) -> int:
    try:
        return len(_read_wav(path)[1])
    except (OSError, EOFError, wave.Error, TtsError):
        return 0


def _read_wav(path: Path) -> tuple[tuple[int, int, int], bytes]:
    """Return ((channels, sample width, rate), frames); macOS writes AIFF, so convert it first."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"FORM" and shutil.which("afconvert"):
        converted = path.with_suffix(".conv.wav")
        subprocess.run(["afconvert", "-f", "WAVE", "-d", "LEI16", str(path), str(converted)],
                       check=True, capture_output=True, timeout=60)
        path = converted
    with wave.open(str(path), "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        return params, w.readframes(w.getnframes())


class _DropSavedLines(io.TextIOBase):
    """A stdout filter that drops pyttsx3's "Audio saved to ..." lines and passes the rest."""

    def __init__(self, target: Any) -> None:
        self._target, self._dropping = target, False

    def write(self, s: str) -> int:
        # print() writes the message and its newline separately: drop both.
        dropped_last, self._dropping = self._dropping, s.startswith("Audio saved to ")
        if self._dropping or (dropped_last and s == "\n"):
            return len(s)
        return self._target.write(s)

    def flush(self) -> None:
        self._target.flush()


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    # The print happens on espeak's thread, so redirect globally but only filter, never swallow.
    original = sys.stdout
    sys.stdout = _DropSavedLines(original)
    try:
        yield
    finally:
        sys.stdout = original
