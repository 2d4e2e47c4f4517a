"""Health safety checks that run before any question is routed to a topic."""

from __future__ import annotations

from dataclasses import dataclass

from skill.prompts import EmergencyRule, Prompts
from skill.text import normalise


@dataclass(frozen=True)
class SafetyFinding:
    """What the safety check found: an emergency rule, or a personal-dose request."""

    emergency: EmergencyRule | None = None
    personal_dose_topic: str | None = None


def check_question(question: str, prompts: Prompts) -> SafetyFinding | None:
    """Emergency first, then a personal-dose request; None when the question is neither."""
    text = normalise(question)
    if not text:
        return None
    for rule in prompts.emergencies:
        if rule.signals.match(text):
            return SafetyFinding(emergency=rule)
    if prompts.personal_dose_signals.match(text):
        return SafetyFinding(personal_dose_topic=prompts.personal_dose_topic)
    return None
