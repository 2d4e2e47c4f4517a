"""Plain-text clean-up shared by the safety check and the router."""

from __future__ import annotations

import re
import string

_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# The same clean-up for ASCII text as one table lookup per character, several times faster:
# start-up normalises every sample and safety example.
_KEPT = set(string.ascii_lowercase + string.digits)
_ASCII_TABLE = {
    code: None if chr(code) in "'`" else " " for code in range(128) if chr(code) not in _KEPT
}


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes ("can't" -> "cant") and turn everything else into spaces."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The words of the normalised text."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered.translate(_ASCII_TABLE).split()
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", lowered)).split()
