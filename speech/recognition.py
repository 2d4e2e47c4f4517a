"""Recognise spoken questions offline: pocketsphinx with an LM built from the skill's samples."""

from __future__ import annotations

import array
import hashlib
import io
import logging
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Back-off mass for unseen word sequences. Measured on synthesised questions: 0.5 (the default)
# gave 10.5% WER on the skill's sentences, 0.2 gave 6.6%; new phrasings scored ~26% either way.
DISCOUNT_MASS = 0.2
# A noise floor this far below the speech level (dB) is mixed in before decoding. Clean digital
# audio (synthesised speech, a trimmed or noise-gated recording) has stretches of exact zeros,
# whose log energies sit far outside anything the acoustic model was trained on and skew its
# cepstral mean normalisation (pocketsphinx's own dither, +-1 LSB, is too faint to help).
# Measured with benchmarks/voice_roundtrip.py (espeak-ng en-us, 150 wpm): no floor gave 51%
# exact transcripts of 51 sample questions and 47% WER on 146 unseen paraphrases; 30 dB down
# gave 94% and 23% (20 or 40 dB: 88-94% and 26-27%); the British voice went from 28% exact
# and 68% WER to 57% and 45%. A microphone's own noise is usually louder than this floor, so
# real recordings hardly change.
NOISE_FLOOR_DB = 30.0
# Bump when the LM or dictionary format changes so stale caches are not reused.
_CACHE_VERSION = "3"
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

# Words the bundled CMU dictionary lacks or says otherwise than patients do; CMU phones.
LEXICON: dict[str, tuple[str, ...]] = {
    "jak": ("JH AE K", "JH EY EY K EY"),  # "jack", or spelled out as people also say it
    "ankylosing": ("AE NG K IH L OW S IH NG", "AE NG K AH L OW Z IH NG"),
    "spondylitis": ("S P AA N D IH L AY T IH S", "S P AA N D AH L AY T AH S"),
    "janus": ("JH AE N AH S", "JH EY N AH S"),
    "kinase": ("K AY N EY S", "K IH N EY S", "K AY N EY Z"),
    "kinases": ("K AY N EY S IH Z", "K AY N EY Z IH Z"),
    "sacroiliac": ("S AE K R OW IH L IY AE K", "S EY K R OW IH L IY AE K"),
    "tofacitinib": ("T OW F AH S IH T IH N IH B", "T AA F AH S IH T IH N IH B"),
    "upadacitinib": ("Y UW P AH D AE S IH T IH N IH B", "Y UW P AE D AH S IH T IH N IH B"),
    "filgotinib": ("F IH L G OW T IH N IH B", "F IH L G AH T IH N IH B"),
    "baricitinib": ("B EH R IH S IH T IH N IH B",),
    "acupuncture": ("AE K Y UW P AH NG K CH ER",),
    "xeljanz": ("Z EH L JH AE N Z",),
    "rinvoq": ("R IH N V OW K",),
    "nsaids": ("EH N S EY D Z",),
    "as": ("EY EH S",),  # the disease said as its initials, "A S"; CMU adds the word "as"
}

# Endings whose sound can be added to a known stem: "biologics" from "biologic" ("-s" = plural).
_SUFFIXES = (
    ("'s", "-s"),
    ("es", "-s"),
    ("s", "-s"),
    ("ed", "D"),
    ("ing", "IH NG"),
    ("ly", "L IY"),
    ("er", "ER"),
)
_VOICELESS = {"P", "T", "K", "F", "TH"}
_SIBILANT = {"S", "Z", "SH", "ZH", "CH", "JH"}
# Last resort, spelling rules: good enough for one unknown word in a sentence-sized LM.
_DIGRAPHS = {
    "ch": "CH",
    "sh": "SH",
    "th": "TH",
    "ph": "F",
    "ng": "NG",
    "ck": "K",
    "qu": "K W",
    "ee": "IY",
    "ea": "IY",
    "oo": "UW",
    "ai": "EY",
    "ay": "EY",
    "ou": "AW",
    "ow": "OW",
    "oi": "OY",
    "oy": "OY",
    "au": "AO",
    "aw": "AO",
    "wh": "W",
    "gh": "G",
    "kn": "N",
}
_LETTERS = {
    "a": "AE",
    "b": "B",
    "c": "K",
    "d": "D",
    "e": "EH",
    "f": "F",
    "g": "G",
    "h": "HH",
    "i": "IH",
    "j": "JH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "o": "AA",
    "p": "P",
    "q": "K",
    "r": "R",
    "s": "S",
    "t": "T",
    "u": "AH",
    "v": "V",
    "w": "W",
    "x": "K S",
    "y": "IY",
    "z": "Z",
}


def normalise(sentence: str) -> list[str]:
    """Lower-case words as the LM sees them: 'What's JAK?' -> ["what's", 'jak']."""
    return _WORD.findall(sentence.lower().replace("\u2019", "'"))


class QuestionRecogniser:
    """Transcribe spoken questions, expecting words and phrasing like the given sentences."""

    def __init__(
        self, sentences: Sequence[str], cache_dir: str | os.PathLike[str] | None = None
    ) -> None:
        from pocketsphinx import Decoder, get_model_path

        corpus = sorted({" ".join(words) for s in sentences if (words := normalise(s))})
        if not corpus:
            raise ValueError("QuestionRecogniser needs at least one sentence with words")
        self.guessed: dict[str, str] = {}
        # Anything that changes the model files is in the key, so a stale cache is never reused.
        recipe = [_CACHE_VERSION, str(DISCOUNT_MASS), repr(sorted(LEXICON.items())), *corpus]
        key = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
        folder = _cache_folder(cache_dir)
        lm_path, dict_path = folder / f"{key}.lm", folder / f"{key}.dict"
        guessed_path = folder / f"{key}.guessed"
        if lm_path.exists() and dict_path.exists() and guessed_path.exists():
            for line in guessed_path.read_text(encoding="utf-8").splitlines():
                word, _, phones = line.partition(" ")
                self.guessed[word] = phones
        else:
            cmudict = Path(get_model_path("en-us/cmudict-en-us.dict"))
            # The LM is written last: its presence means the set is complete.
            _atomic_write(dict_path, self._dictionary(corpus, cmudict))
            _atomic_write(guessed_path, "".join(f"{w} {p}\n" for w, p in self.guessed.items()))
            _atomic_write(lm_path, _arpa(corpus))
        self._decoder = Decoder(
            hmm=get_model_path("en-us/en-us"),
            lm=str(lm_path),
            dict=str(dict_path),
            samprate=SAMPLE_RATE,
            loglevel="FATAL",
        )
        self._lock = threading.Lock()

    def transcribe(self, wav_path: str | os.PathLike[str]) -> str:
        """Return the words heard in a WAV file (any rate/channels), lower case, '' for silence."""
        audio = with_noise_floor(to_16k_mono(wav_path))
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(audio, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def _dictionary(self, corpus: Sequence[str], cmudict: Path) -> str:
        """Pronunciations for exactly the LM's words: a small dict loads faster than 134k words."""
        vocab = {w for line in corpus for w in line.split()}
        known: dict[str, list[str]] = {}
        with open(cmudict, encoding="utf-8") as fh:
            for line in fh:
                head, _, phones = line.partition(" ")
                word = head.split("(")[0]
                known.setdefault(word, []).append(phones.strip())
        for word, prons in LEXICON.items():
            known.setdefault(word, list(prons))
        lines = []
        for word in sorted(vocab):
            prons = list(LEXICON.get(word, ()))
            prons += [p for p in known.get(word, []) if p not in prons]
            if not prons:
                prons = [self._guess(word, known)]
            for i, phones in enumerate(prons):
                lines.append(f"{word}{f'({i + 1})' if i else ''} {phones}")
        if self.guessed:
            log.warning(
                "guessed pronunciations for words not in the dictionary: %s",
                ", ".join(f"{w} = {p}" for w, p in sorted(self.guessed.items())),
            )
        return "\n".join(lines) + "\n"

    def _guess(self, word: str, known: dict[str, list[str]]) -> str:
        phones = _derive(word, known) or _spell_phones(word)
        self.guessed[word] = phones
        return phones


def _derive(word: str, known: dict[str, list[str]]) -> str | None:
    """Build a pronunciation from known words: a stem plus an ending, or two joined words."""
    for ending, sound in _SUFFIXES:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3:
            for base in (stem, stem + "e"):
                if base in known:
                    return f"{known[base][0]} {_plural(known[base][0]) if sound == '-s' else sound}"
    for cut in range(len(word) - 3, 2, -1):
        head, tail = word[:cut], word[cut:]
        if head in known and tail in known:
            return f"{known[head][0]} {known[tail][0]}"
    return None


def _plural(phones: str) -> str:
    """The sound of a plural ending after these phones: cats S, dogs Z, horses IH Z."""
    last = phones.split()[-1]
    return "IH Z" if last in _SIBILANT else "S" if last in _VOICELESS else "Z"


def _spell_phones(word: str) -> str:
    """Crude letter-to-phone rules for a word nothing else explains."""
    word = word.replace("'", "")
    if len(word) > 3 and word.endswith("e") and word[-2] not in "aeiouy":
        word = word[:-1]  # silent final e
    phones: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in _DIGRAPHS:
            phones.append(_DIGRAPHS[pair])
            i += 2
            continue
        ch = word[i]
        if i and ch == word[i - 1] and ch not in "aeiou":
            i += 1  # doubled consonant is one sound
            continue
        if ch == "c" and word[i + 1 : i + 2] in ("e", "i", "y"):
            phones.append("S")
        elif ch == "y":
            phones.append("Y" if i == 0 else "IY")
        elif ch in _LETTERS:
            phones.append(_LETTERS[ch])
        i += 1
    return " ".join(phones)


def _arpa(corpus: Sequence[str]) -> str:
    from pocketsphinx.lm import ArpaBoLM

    model = ArpaBoLM(text="\n".join(corpus), add_start=True, discount_mass=DISCOUNT_MASS)
    model.compute()
    out = io.StringIO()
    model.write(out)
    return out.getvalue()


def with_noise_floor(audio: bytes, below_db: float | None = None) -> bytes:
    """16-bit samples with faint Gaussian noise mixed in, `below_db` under their RMS level.

    The noise is the same for the same audio (fixed seed), so transcripts are repeatable;
    silence (all zeros) is returned unchanged.
    """
    below_db = NOISE_FLOOR_DB if below_db is None else below_db
    try:
        import numpy as np
    except ImportError:
        return _with_noise_floor_python(audio, below_db)
    samples = np.frombuffer(audio, dtype="<i2").astype(np.float64)
    sigma = math.sqrt(float(np.mean(samples**2))) / 10 ** (below_db / 20) if len(samples) else 0
    if sigma < 0.5:
        return audio
    mixed = samples + np.random.default_rng(0).normal(0.0, sigma, len(samples))
    return np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes()


def _with_noise_floor_python(audio: bytes, below_db: float) -> bytes:
    samples = array.array("h", audio)
    if sys.byteorder == "big":
        samples.byteswap()
    sigma = (
        math.sqrt(sum(x * x for x in samples) / len(samples)) / 10 ** (below_db / 20)
        if samples
        else 0
    )
    if sigma < 0.5:
        return audio
    rng = random.Random(0)
    noisy = array.array(
        "h", (max(-32768, min(32767, round(x + rng.gauss(0, sigma)))) for x in samples)
    )
    if sys.byteorder == "big":
        noisy.byteswap()
    return noisy.tobytes()


def to_16k_mono(wav_path: str | os.PathLike[str]) -> bytes:
    """Raw 16 kHz mono 16-bit little-endian samples; sox if present, else scipy's resample_poly."""
    path = Path(wav_path)
    if not path.is_file():
        raise FileNotFoundError(f"no such audio file: {path}")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except wave.Error as exc:
        # The wave module reads integer PCM only; sox also reads float and compressed WAVs.
        if not shutil.which("sox"):
            raise ValueError(f"{path.name}: cannot read this WAV without sox ({exc})") from exc
        channels = width = rate = 0
        frames = b""
    if (channels, width, rate) == (1, 2, SAMPLE_RATE):
        return frames
    if shutil.which("sox"):
        # Band-limited resampling: naive decimation tripled the word error rate.
        cmd = [
            "sox",
            str(path),
            "-t",
            "raw",
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-L",
            "-",
        ]
        return subprocess.run(cmd, check=True, capture_output=True, timeout=120).stdout
    return _resample_with_scipy(frames, channels, width, rate)


def _resample_with_scipy(frames: bytes, channels: int, width: int, rate: int) -> bytes:
    try:
        import numpy as np
        from scipy.signal import resample_poly
    except ImportError as exc:
        raise RuntimeError(
            f"converting {rate} Hz audio to 16 kHz needs the sox command (apt-get install sox) "
            "or scipy (pip install scipy)"
        ) from exc
    if width not in (1, 2, 4):
        raise ValueError(f"unsupported WAV sample width: {width} bytes")
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    samples = np.frombuffer(frames, dtype=dtype).astype(np.float64)
    if width == 1:
        samples = (samples - 128) * 256  # 8-bit WAV is unsigned
    elif width == 4:
        samples /= 65536
    mono = samples.reshape(-1, channels).mean(axis=1)
    divisor = np.gcd(SAMPLE_RATE, rate)
    out = resample_poly(mono, SAMPLE_RATE // divisor, rate // divisor)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def _cache_folder(cache_dir: str | os.PathLike[str] | None) -> Path:
    """The given folder, else ~/.cache/jak-guide/asr, else a temp folder if home is read-only."""
    if cache_dir is not None:
        candidates = [Path(cache_dir)]
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        candidates = [
            Path(base) / "jak-guide" / "asr",
            Path(tempfile.gettempdir()) / f"jak-guide-asr-{getattr(os, 'getuid', int)()}",
        ]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise RuntimeError(f"no writable cache folder for the speech model among {candidates}")


def _atomic_write(path: Path, text: str) -> None:
    # Two processes building the same model must never see each other's half-written file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level edit distance between two word lists (the numerator of word error rate)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        diag, row[0] = row[0], i
        for j, hyp_word in enumerate(hypothesis, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (ref_word != hyp_word))
    return row[len(hypothesis)]
