"""Plain-text clean-up shared by the safety check and the router."""

from __future__ import annotations

import re

_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes ("can't" -> "cant") and turn everything else into spaces."""
    lowered = _APOSTROPHES.sub("", text.lower())
    return " ".join(_NOT_WORD.sub(" ", lowered).split())
