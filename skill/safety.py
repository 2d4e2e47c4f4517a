"""Health safety checks that run before any question is routed to a topic."""

from __future__ import annotations

from dataclasses import dataclass

from skill.prompts import EmergencyRule, Prompts
from skill.router import ANOTHER_SUBJECT_ALONE, Reading, RouteDecision
from skill.safety_classifier import DOSE, EMERGENCY_PREFIX
from skill.text import normalise


@dataclass(frozen=True)
class SafetyFinding:
    """What the safety check found: an emergency rule, or a personal-dose request."""

    emergency: EmergencyRule | None = None
    personal_dose_topic: str | None = None
    # Only likely (the classifier's finding, or an emergency asked about rather than happening
    # now): the guidance comes first, then the usual answer.
    likely: bool = False


def check_question(question: str, prompts: Prompts) -> SafetyFinding | None:
    """Emergency first, then a personal-dose request, by the patterns; then whatever the
    classifier finds likely. None when the question is neither."""
    text = normalise(question)
    if not text:
        return None
    found = _pattern_finding(text, prompts)
    if found:
        return found
    label = prompts.safety_classifier.likely_label(text)
    if label == DOSE:
        return SafetyFinding(personal_dose_topic=prompts.personal_dose_topic, likely=True)
    for rule in prompts.emergencies:
        if label == EMERGENCY_PREFIX + rule.id:
            return SafetyFinding(emergency=rule, likely=True)
    return None


def pattern_finding(question: str, prompts: Prompts) -> SafetyFinding | None:
    """What the patterns alone find: an emergency (only likely when it is asked about rather
    than happening), then a personal-dose request."""
    return _pattern_finding(normalise(question), prompts)


def _pattern_finding(text: str, prompts: Prompts) -> SafetyFinding | None:
    for rule in prompts.emergencies:
        if rule.signals.match(text):
            if _only_history(text, rule, prompts):
                if rule.id in prompts.past_history_still_likely:
                    return SafetyFinding(emergency=rule, likely=True)
                continue
            asked_about = rule.id in prompts.asked_about_rules and _asked_about(text, prompts)
            return SafetyFinding(emergency=rule, likely=asked_about)
    if prompts.personal_dose_signals.match(text):
        return SafetyFinding(personal_dose_topic=prompts.personal_dose_topic)
    return None


def _only_history(text: str, rule: EmergencyRule, prompts: Prompts) -> bool:
    """Whether all the question says of this emergency is history, told with when it
    happened ("my dad had a stroke last year, can he take them"), and nothing happens now."""
    rest = prompts.past_history.sub(" ", text)
    if rest == text or prompts.happening_now_signals.match(text):
        return False
    return not rule.signals.match(" ".join(rest.split()))


def _asked_about(text: str, prompts: Prompts) -> bool:
    """A question about the past or about what the tablets can do, not about something
    happening now."""
    if not prompts.asked_about_signals.match(text):
        return False
    return not prompts.happening_now_signals.match(text)


def answered_by_safety_check(question: str, prompts: Prompts) -> bool:
    """Whether the safety check's reply takes the place of any answer (a pattern found it);
    a likely finding comes before the usual answer instead."""
    finding = check_question(question, prompts)
    return finding is not None and not finding.likely


def asks_of_another_medicine(reading: Reading) -> bool:
    """Whether a question names another medicine without the treatment ("how many paracetamol
    can i take"): a personal-dose request about it is not answered by the guide's dosage. An
    ailment named alone ("can i skip my dose while i've got a cold") is not such a question:
    the medicine is read as "other medications", the ailment is not."""
    return ANOTHER_SUBJECT_ALONE in reading.out_of_domain and "medications" in reading.spelled


def personal_dose_topic(decision: RouteDecision, prompts: Prompts) -> str:
    """The topic that follows the personal-dose prompt: the dosage topic, unless the router is
    sure of one of the prompts' `or_when_sure` topics ("should i stop if i get side effects")."""
    top = decision.top
    if decision.band == "sure" and top and top.topic_id in prompts.personal_dose_or_when_sure:
        return top.topic_id
    return prompts.personal_dose_topic
