"""The pyttsx3 wrapper writes whole WAVs, with real pauses, every time (needs espeak-ng)."""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

import pytest

from speech import tts
from speech.local_voice import Pause, Utterance
from speech.tts import LocalVoice, TtsError, TtsUnavailableError, WavInfo

RATE = 22050
SENTENCE = "JAK inhibitors are tablets that calm the immune signals behind ankylosing spondylitis."


def _read(path: Path) -> tuple[wave._wave_params, bytes]:
    with wave.open(str(path), "rb") as w:
        return w.getparams(), w.readframes(w.getnframes())


def _longest_silence(frames: bytes) -> int:
    longest = run = 0
    for i in range(0, len(frames), 2):
        run = run + 1 if frames[i : i + 2] == b"\x00\x00" else 0
        longest = max(longest, run)
    return longest


@pytest.fixture(scope="module")
def voice() -> LocalVoice:
    return LocalVoice()


def test_writes_whole_wav_with_plausible_duration(voice: LocalVoice, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    info = voice.write_wav(f"<speak>{SENTENCE}</speak>", tmp_path / "a.wav")
    params, frames = _read(tmp_path / "a.wav")
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, RATE)
    assert info == WavInfo(tmp_path / "a.wav", params.nframes / RATE, params.nframes, RATE)
    assert len(frames) == 2 * params.nframes > 0
    # 12 words at 175 words a minute is about 4 s; a broken file is far off either way.
    expected = len(SENTENCE.split()) / tts.DEFAULT_RATE * 60
    assert 0.5 * expected < info.seconds < 2.0 * expected
    assert max(abs(int.from_bytes(frames[i : i + 2], "little", signed=True))
               for i in range(0, len(frames), 2)) > 1000  # speech, not silence
    # pyttsx3's "Audio saved to ..." line is suppressed.
    assert capsys.readouterr().out == ""


def test_faster_rate_gives_shorter_audio(voice: LocalVoice, tmp_path: Path) -> None:
    slow = voice.write_wav([Utterance(SENTENCE)], tmp_path / "slow.wav", rate=120)
    fast = voice.write_wav([Utterance(SENTENCE)], tmp_path / "fast.wav", rate=260)
    assert fast.seconds < 0.75 * slow.seconds


def test_pauses_add_exact_silent_frames(voice: LocalVoice, tmp_path: Path) -> None:
    a, b = Utterance("First point."), Utterance("Second point.")
    one_a = voice.write_wav([a], tmp_path / "a.wav").frames
    one_b = voice.write_wav([b], tmp_path / "b.wav").frames
    short = voice.write_wav([a, Pause(0.5), b], tmp_path / "short.wav")
    long = voice.write_wav([a, Pause(1.5), b], tmp_path / "long.wav")
    # espeak's length varies by a few samples run to run, and by ~40 ms with what it said last.
    assert abs(short.frames - (one_a + one_b + RATE // 2)) <= 0.05 * RATE
    assert abs(long.frames - short.frames - RATE) <= 200
    assert _longest_silence(_read(tmp_path / "long.wav")[1]) >= int(1.5 * RATE)


def test_ssml_pauses_become_silence(voice: LocalVoice, tmp_path: Path) -> None:
    plain = voice.write_wav("<speak>One. Two.</speak>", tmp_path / "plain.wav")
    paused = voice.write_wav('<speak>One.<break time="1s"/>Two.</speak>', tmp_path / "p.wav")
    assert paused.frames - plain.frames > 0.8 * RATE
    assert _longest_silence(_read(tmp_path / "p.wav")[1]) >= RATE


def test_fifty_writes_in_a_row_are_all_whole(voice: LocalVoice, tmp_path: Path) -> None:
    for i in range(50):
        path = tmp_path / f"answer{i}.wav"
        info = voice.write_wav(f"<speak>Answer number {i}. Ask your doctor.</speak>", path)
        params, frames = _read(path)
        assert params.nframes == info.frames and len(frames) == 2 * info.frames
        assert 1.0 < info.seconds < 6.0, (i, info)


def test_concurrent_writes_are_serialised(voice: LocalVoice, tmp_path: Path) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                path = tmp_path / f"{n}-{i}.wav"
                info = voice.write_wav([Utterance(f"Thread {n} item {i}")], path)
                results.append(info.frames)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 20 and min(results) > RATE // 2


def test_default_voice_is_us_english(voice: LocalVoice) -> None:
    assert tts._ENGINE.resolve_voice(None) == "gmw/en-us"
    assert tts._ENGINE.resolve_voice("en-us") == "gmw/en-us"
    with pytest.raises(ValueError, match="unknown voice"):
        voice.write_wav("<speak>x</speak>", "unused.wav", voice="klingon-xx")


def test_nothing_to_say_is_an_error(voice: LocalVoice, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to say"):
        voice.write_wav('<speak><break time="1s"/></speak>', tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_speak_without_sound_device_prints_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tts, "has_audio_device", lambda: False)
    assert LocalVoice().speak("<speak>Hello.</speak>") is None
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "no sound device" in err and "--wav FILE" in err


def test_speak_with_device_plays_a_whole_wav(monkeypatch: pytest.MonkeyPatch) -> None:
    played: list[tuple[WavInfo, int]] = []
    monkeypatch.setattr(tts, "has_audio_device", lambda: True)
    monkeypatch.setattr(tts, "_play_wav",
                        lambda info: played.append((info, _read(info.path)[0].nframes)))
    LocalVoice().speak("<speak><p>Hello.</p><p>Goodbye.</p></speak>")
    assert len(played) == 1 and played[0][1] == played[0][0].frames > RATE // 2


def test_has_audio_device_returns_a_bool() -> None:
    assert isinstance(tts.has_audio_device(), bool)


def test_missing_espeak_library_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyttsx3

    def broken_init(*_: Any, **__: Any) -> None:
        raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")

    monkeypatch.setattr(pyttsx3, "init", broken_init)
    with pytest.raises(TtsUnavailableError, match="install the espeak-ng package"):
        tts._SharedEngine().resolve_voice(None)


class _FlakyEngine:
    """Stands in for pyttsx3: writes `empty` zero-frame files before a good one."""

    driver_name = "espeak"

    def __init__(self, empty: int) -> None:
        self.empty, self.calls, self.callbacks = empty, 0, {}
        self.job: tuple[str, str] = ("", "")

    def getProperty(self, name: str) -> list[Any]:
        return []

    def connect(self, topic: str, cb: Any) -> None:
        self.callbacks[topic] = cb

    def setProperty(self, name: str, value: Any) -> None:
        pass

    def save_to_file(self, text: str, path: str) -> None:
        self.job = (text, path)

    def runAndWait(self) -> None:
        self.calls += 1
        with wave.open(self.job[1], "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(b"" if self.calls <= self.empty else b"\x01\x00" * 100)
        print(f"Audio saved to {self.job[1]}")
        self.callbacks["finished-utterance"](completed=True)


def test_pause_frames_are_exact_with_a_deterministic_engine(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    import pyttsx3

    monkeypatch.setattr(pyttsx3, "init", lambda *a, **k: _FlakyEngine(0))
    monkeypatch.setattr(tts, "_ENGINE", tts._SharedEngine())
    info = LocalVoice().write_wav([Utterance("a"), Pause(0.5), Utterance("b"), Pause(0.25),
                                   Utterance("c")], tmp_path / "x.wav")
    params, frames = _read(tmp_path / "x.wav")
    assert info.frames == params.nframes == 3 * 100 + 11025 + 5512
    assert frames == (b"\x01\x00" * 100 + b"\x00" * 2 * 11025 + b"\x01\x00" * 100
                      + b"\x00" * 2 * 5512 + b"\x01\x00" * 100)


@pytest.mark.parametrize(("empty", "ok"), [(1, True), (2, False)])
def test_empty_file_is_retried_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], empty: int,
                                    ok: bool) -> None:
    import pyttsx3

    fake = _FlakyEngine(empty)
    monkeypatch.setattr(pyttsx3, "init", lambda *a, **k: fake)
    engine = tts._SharedEngine()
    if ok:
        engine.save("hello", tmp_path / "x.wav", None, 175)
        assert _read(tmp_path / "x.wav")[0].nframes == 100
    else:
        with pytest.raises(TtsError, match=r"no audio .* after 2 attempts"):
            engine.save("hello", tmp_path / "x.wav", None, 175)
    assert fake.calls == 2
    assert capsys.readouterr().out == ""


def test_stdout_filter_passes_other_output(capsys: pytest.CaptureFixture[str]) -> None:
    with tts._quiet_stdout():
        print("Audio saved to /tmp/x.wav")
        print("keep me")
    assert capsys.readouterr().out == "keep me\n"
