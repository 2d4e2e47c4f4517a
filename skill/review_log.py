"""Opt-in, local review log: questions the router was unsure about, for an editor to read.

Each line of the file is one JSON object: the time, the question text as heard, the band and
the three best topics with their scores. Nothing else: no user, session or device id. An
editor reads `review_report` (the `jak-guide review` command) and adds sample questions or
keywords to the guide data where listeners' words were not understood.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skill.guide import Guide
from skill.router import RouteDecision

# How many ranked topics each line keeps.
TOP_TOPICS = 3


def worth_reviewing(decision: RouteDecision) -> bool:
    """Whether a decision is one an editor should see: declined, or asked back."""
    return decision.band != "sure"


class ReviewLog:
    """Appends routing decisions to a JSON lines file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, question: str, decision: RouteDecision) -> None:
        """Append one line: time, question, band and the top three topics with scores."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "question": " ".join(question.split()),
            "band": decision.band,
            "top": [
                {"topic": scored.topic_id, "score": round(scored.score, 4)}
                for scored in decision.ranked[:TOP_TOPICS]
            ],
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)


@dataclass(frozen=True)
class _Entry:
    question: str
    band: str
    topic: str | None
    score: float


def _read_entries(path: Path) -> tuple[list[_Entry], int]:
    """The well-formed lines of the log, and how many lines could not be read."""
    entries: list[_Entry] = []
    bad = 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        try:
            data: Any = json.loads(raw)
            question = str(data["question"]).strip()
            band = str(data["band"])
            top = data.get("top") or []
            first = top[0] if top else None
            topic = str(first["topic"]) if first else None
            score = float(first["score"]) if first else 0.0
        except (ValueError, KeyError, TypeError, IndexError):
            bad += 1
            continue
        if question:
            entries.append(_Entry(question, band, topic, score))
    return entries, bad


def review_report(path: Path, guide: Guide) -> str:
    """The logged questions grouped by their nearest topic, in guide order, for an editor."""
    path = Path(path)
    if not path.exists():
        return f"No review log at {path}: nothing has been logged yet."
    entries, bad = _read_entries(path)
    if not entries:
        note = f" ({bad} unreadable lines)" if bad else ""
        return f"The review log {path} has no questions{note}."

    groups: dict[str | None, dict[str, list[_Entry]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        topic = entry.topic if entry.topic and guide.has_topic(entry.topic) else None
        groups[topic][entry.question.lower()].append(entry)

    bands = defaultdict(int)
    for entry in entries:
        bands[entry.band] += 1
    summary = ", ".join(f"{count} {band}" for band, count in sorted(bands.items()))
    lines = [f"Review log {path}: {len(entries)} questions ({summary})."]
    if bad:
        lines.append(f"{bad} lines could not be read and were skipped.")
    lines.append(
        "Each group is the topic the router found nearest; add sample questions or keywords "
        "to that topic in guide_topics.yaml where the question belongs there."
    )
    order: list[str | None] = [t.id for t in guide.topics if t.id in groups]
    if None in groups:
        order.append(None)
    for topic_id in order:
        questions = groups[topic_id]
        count = sum(len(v) for v in questions.values())
        if topic_id is None:
            lines.append(f"\nNo topic matched ({count})")
        else:
            topic = guide.topic(topic_id)
            lines.append(f"\n{topic.short_name} [{topic_id}] ({count})")
        # The least certain first: those most need an editor's eye.
        for same in sorted(
            questions.values(), key=lambda v: (min(e.score for e in v), v[0].question)
        ):
            first = same[0]
            times = f"  x{len(same)}" if len(same) > 1 else ""
            lines.append(f"  {first.score:4.2f} {first.band:<7} {first.question}{times}")
    return "\n".join(lines)
