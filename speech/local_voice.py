"""Turn the skill's Alexa SSML into what a local speech engine says: text segments and pauses."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

# Pauses implied by the end of a paragraph or sentence (Alexa's x-strong and strong breaks).
PARAGRAPH_PAUSE = 0.5
SENTENCE_PAUSE = 0.25
# Alexa: weak and medium are a comma's pause; strong is <s>; x-strong is <p>; no attribute = medium.
BREAK_STRENGTHS = {
    "none": 0.0,
    "x-weak": 0.0,
    "weak": 0.2,
    "medium": 0.2,
    "strong": SENTENCE_PAUSE,
    "x-strong": PARAGRAPH_PAUSE,
}
# Alexa caps a break at 10 seconds.
MAX_BREAK_SECONDS = 10.0

# Alexa accepts these prefixes undeclared; declaring them lets a namespace-aware parser read them.
_PREFIXES = ("amazon", "alexa")
_WRAP_OPEN = "<ssml-root " + " ".join(f'xmlns:{p}="urn:{p}"' for p in _PREFIXES) + ">"
_WRAP_CLOSE = "</ssml-root>"
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_WORDY = re.compile(r"\w")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


@dataclass(frozen=True)
class Utterance:
    """Text for the engine to speak in one go."""

    text: str


@dataclass(frozen=True)
class Pause:
    """Silence between utterances, in seconds."""

    seconds: float


Segment = Utterance | Pause


def to_segments(ssml: str) -> list[Segment]:
    """Parse Alexa SSML into utterances and pauses; raise ValueError if it is malformed."""
    root = _parse(ssml)
    merged: list[Segment] = []
    pending = ""
    for piece in _walk(root):
        if isinstance(piece, str):
            pending += piece
            continue
        _flush(pending, merged)
        pending = ""
        if merged and isinstance(merged[-1], Pause):
            # A break next to a sentence end is one pause, not two: keep the longer.
            merged[-1] = Pause(max(merged[-1].seconds, piece.seconds))
        elif merged:
            merged.append(piece)
        # A pause before any speech is dropped: silence at the edges only delays the answer.
    _flush(pending, merged)
    while merged and isinstance(merged[-1], Pause):
        merged.pop()
    return [s for s in merged if not (isinstance(s, Pause) and s.seconds <= 0)]


def plain_text(ssml: str) -> str:
    """Return the words Alexa would speak: tags removed, aliases applied, whitespace normalised."""
    return " ".join(s.text for s in to_segments(ssml) if isinstance(s, Utterance))


def _flush(text: str, out: list[Segment]) -> None:
    text = _SPACE.sub(" ", text).strip()
    # A spelled initialism before a full stop ("A.S." + ".") would otherwise end in "..".
    text = _DOUBLE_STOP.sub(".", text)
    # Bare punctuation ("." after a break) is not spoken and would give the engine nothing to say.
    if _WORDY.search(text):
        out.append(Utterance(text))


def _parse(ssml: str) -> ET.Element:
    if not isinstance(ssml, str):
        raise ValueError(f"SSML must be a string, not {type(ssml).__name__}")
    # Blank out an XML declaration (it may not follow the wrapper) but keep every offset.
    body = _XML_DECL.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), ssml, count=1)
    try:
        wrapper = ET.fromstring(_WRAP_OPEN + body + _WRAP_CLOSE)
    except ET.ParseError as exc:
        line, column = exc.position
        if line == 1:
            column -= len(_WRAP_OPEN)
        reason = str(exc).split(":")[0]
        raise ValueError(
            f"Malformed SSML (not well-formed XML): {reason} at line {line}, column {column + 1}"
        ) from exc
    children = list(wrapper)
    stray = (wrapper.text or "") + "".join(c.tail or "" for c in children)
    if len(children) != 1 or _local(children[0].tag) != "speak" or stray.strip():
        raise ValueError("Malformed SSML: it must be a single <speak>...</speak> element")
    return children[0]


def _local(tag: str) -> str:
    """Tag name without its namespace: '{urn:amazon}effect' -> 'effect'."""
    return tag.rsplit("}", 1)[-1]


def _walk(elem: ET.Element) -> Iterator[str | Pause]:
    """Yield the text and pauses of an element in document order (tails belong to the parent)."""
    tag = _local(elem.tag)
    if tag == "break":
        yield Pause(_break_seconds(elem))
        return
    if tag == "sub":
        yield elem.get("alias", "")
        return
    if tag == "say-as" and elem.get("interpret-as", "").lower() in {"characters", "spell-out"}:
        yield _spell("".join(elem.itertext()))
        return
    if tag == "say-as" and elem.get("interpret-as", "").lower() == "digits":
        yield _spell_digits("".join(elem.itertext()))
        return
    if elem.text:
        yield elem.text
    for child in elem:
        yield from _walk(child)
        if child.tail:
            yield child.tail
    if tag == "p":
        yield Pause(PARAGRAPH_PAUSE)
    elif tag == "s":
        yield Pause(SENTENCE_PAUSE)


def _break_seconds(elem: ET.Element) -> float:
    time_attr = elem.get("time")
    if time_attr is not None:
        match = _TIME.match(time_attr)
        if not match:
            raise ValueError(
                f'Malformed SSML: break time="{time_attr}" is not like "400ms" or "1s"'
            )
        value = float(match.group(1))
        seconds = value / 1000 if match.group(2).lower() == "ms" else value
        return min(seconds, MAX_BREAK_SECONDS)
    strength = elem.get("strength", "medium").lower()
    if strength not in BREAK_STRENGTHS:
        raise ValueError(f'Malformed SSML: break strength="{strength}" is not one of '
                         + ", ".join(BREAK_STRENGTHS))
    return BREAK_STRENGTHS[strength]


def _spell(text: str) -> str:
    """'JAK' -> 'J.A.K.', digits one by one: espeak says 'J.A.K.' as letters, 'A' alone as 'uh'."""
    groups: list[str] = []
    letters = ""
    for ch in text:
        if ch.isalpha():
            letters += ch.upper() + "."
            continue
        if letters:
            groups.append(letters)
            letters = ""
        if ch.isdigit():
            groups.append(ch)
    if letters:
        groups.append(letters)
    return " ".join(groups)


def _spell_digits(text: str) -> str:
    """'123' -> '1 2 3'; anything else is kept as it is."""
    return " ".join(ch for ch in text if not ch.isspace())
