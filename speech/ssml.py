"""Build the SSML the skill speaks: escaped, with pauses between ideas and a lexicon."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

# Alexa's limit on outputSpeech.
MAX_SSML_CHARS = 8000
# A pause between ideas: long enough to hear a new thought, short enough to keep attention.
PAUSE_BETWEEN_IDEAS = '<break time="400ms"/>'
# Characters XML 1.0 cannot carry at all, even escaped (they can arrive in session attributes).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class SsmlError(ValueError):
    """The SSML would be rejected by Alexa (too long or not well-formed)."""


def build_ssml(paragraphs: Sequence[str], pronunciations: Mapping[str, str]) -> str:
    """Escape each paragraph, apply the lexicon, join with pauses and wrap in <speak>."""
    lexicon = tuple(pronunciations.items())
    pieces = [piece for piece in (_spoken_piece(p, lexicon) for p in paragraphs) if piece]
    ssml = "<speak>" + PAUSE_BETWEEN_IDEAS.join(pieces) + "</speak>"
    check_ssml(ssml)
    return ssml


# The skill says the same few hundred paragraphs again and again: build each once.
@lru_cache(maxsize=4096)
def _spoken_piece(paragraph: str, lexicon: tuple[tuple[str, str], ...]) -> str:
    """One paragraph escaped, with the lexicon applied ('' when nothing is left to say)."""
    text = _XML_FORBIDDEN.sub("", paragraph).strip()
    return _apply_lexicon(escape(text), dict(lexicon)) if text else ""


def check_ssml(ssml: str) -> None:
    """Raise SsmlError unless the SSML is well-formed, rooted in <speak> and short enough."""
    problem = _ssml_problem(ssml)
    if problem:
        raise SsmlError(problem)


# The skill says the same few hundred things again and again: check each once.
@lru_cache(maxsize=1024)
def _ssml_problem(ssml: str) -> str | None:
    if len(ssml) > MAX_SSML_CHARS:
        return f"SSML is {len(ssml)} characters; Alexa accepts {MAX_SSML_CHARS}"
    try:
        root = ET.fromstring(ssml)
    except ET.ParseError as exc:
        return f"SSML is not well-formed XML: {exc}"
    if root.tag != "speak":
        return "SSML must be wrapped in <speak>"
    return None


def _apply_lexicon(escaped_text: str, pronunciations: Mapping[str, str]) -> str:
    if not pronunciations:
        return escaped_text
    return _lexicon_pattern(tuple(pronunciations)).sub(
        lambda m: f"<sub alias={quoteattr(pronunciations[m.group(1)])}>{m.group(1)}</sub>",
        escaped_text,
    )


@lru_cache(maxsize=16)
def _lexicon_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # Case-sensitive whole words: "AS" is the disease, "as" is an ordinary word.
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")
