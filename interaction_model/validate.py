"""Check an interaction model and manifest against Alexa's build rules, before Alexa does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REQUIRED_BUILT_INS = (
    "AMAZON.CancelIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
)
FORBIDDEN_INVOCATION_WORDS = frozenset({"alexa", "amazon", "echo", "skill", "app"})
# Lower-case letters and spaces, possessive apostrophes, and periods in spelled abbreviations.
INVOCATION_PATTERN = re.compile(r"^[a-z]+(?:['.]?[a-z]*\.?)*(?: [a-z]+(?:['.]?[a-z]*\.?)*)*$")
# Letters (any script), spaces, periods, underscores, apostrophes, hyphens and {slot} braces.
UTTERANCE_CHARS = re.compile(r"^[^\W\d_]?[\w\s.'{}-]*$")
SLOT_REFERENCE = re.compile(r"\{([^{}]*)\}")
MEDICAL_DISCLAIMER = "not a substitute for professional medical advice"


def validate_interaction_model(model: dict[str, Any]) -> list[str]:
    """Every rule the model breaks, as readable problems; an empty list means it is valid."""
    try:
        language_model = model["interactionModel"]["languageModel"]
        intents = language_model["intents"]
    except (KeyError, TypeError):
        return ["model: missing interactionModel.languageModel.intents"]
    problems = list(_invocation_problems(language_model.get("invocationName")))
    declared_types = {t.get("name") for t in language_model.get("types", [])}
    owners: dict[str, str] = {}
    names = []
    for intent in intents:
        name = intent.get("name", "?")
        names.append(name)
        slots = {s.get("name"): s.get("type") for s in intent.get("slots", [])}
        for slot_type in slots.values():
            if not (str(slot_type).startswith("AMAZON.") or slot_type in declared_types):
                problems.append(f"{name}: slot type {slot_type!r} is not declared")
        for utterance in intent.get("samples", []):
            problems += _utterance_problems(name, utterance, slots)
            key = " ".join(str(utterance).lower().split())
            owner = owners.get(key)
            if owner is None:
                owners[key] = name
            else:
                where = "twice in this intent" if owner == name else f"also in {owner}"
                problems.append(f"{name}: utterance {utterance!r} is {where}")
    if len(set(names)) != len(names):
        problems.append("model: an intent name is declared twice")
    problems += [
        f"model: required built-in {b} is missing" for b in REQUIRED_BUILT_INS if b not in names
    ]
    return problems


def validate_manifest(manifest: dict[str, Any], model: dict[str, Any]) -> list[str]:
    """Problems in the manifest: health disclaimer, privacy answers, example phrases."""
    problems = []
    try:
        locale = manifest["manifest"]["publishingInformation"]["locales"]["en-US"]
        privacy = manifest["manifest"]["privacyAndCompliance"]
        language_model = model["interactionModel"]["languageModel"]
    except (KeyError, TypeError):
        return ["manifest: missing publishingInformation, privacyAndCompliance or model"]
    if MEDICAL_DISCLAIMER not in " ".join(str(locale.get("description", "")).split()):
        problems.append(f"manifest: description must say the skill is {MEDICAL_DISCLAIMER}")
    for field in ("usesHealthInfo", "usesPersonalInfo"):
        if privacy.get(field) is not False:
            problems.append(f"manifest: privacyAndCompliance.{field} must be false")
    invocation = language_model.get("invocationName", "")
    utterances = {
        " ".join(u.split()) for i in language_model.get("intents", []) for u in i.get("samples", [])
    }
    for phrase in locale.get("examplePhrases", []):
        problems += _example_phrase_problems(phrase, invocation, utterances)
    if not 1 <= len(locale.get("examplePhrases", [])) <= 3:
        problems.append("manifest: give one to three example phrases")
    return problems


def _invocation_problems(name: Any) -> Iterable[str]:
    if not isinstance(name, str) or not INVOCATION_PATTERN.match(name):
        yield f"invocation name {name!r}: only lower-case letters, spaces, apostrophes, periods"
        return
    words = name.split()
    if len(words) < 2:
        yield f"invocation name {name!r}: needs two words or more"
    for word in words:
        if word.strip(".'") in FORBIDDEN_INVOCATION_WORDS:
            yield f"invocation name {name!r}: must not contain {word!r}"


def _utterance_problems(intent: str, utterance: str, slots: dict[str, Any]) -> list[str]:
    where = f"{intent}: utterance {utterance!r}"
    if not isinstance(utterance, str) or not utterance.strip():
        return [f"{intent}: empty utterance"]
    problems = []
    if any(ch.isdigit() for ch in utterance):
        problems.append(f"{where}: spell numbers out")
    if not UTTERANCE_CHARS.match(utterance) or utterance.count("{") != utterance.count("}"):
        problems.append(f"{where}: has characters Alexa does not allow")
    used = SLOT_REFERENCE.findall(utterance)
    for slot in used:
        if slot not in slots:
            problems.append(f"{where}: slot {{{slot}}} is not declared in the intent")
    search_slots = [s for s in used if slots.get(s) == "AMAZON.SearchQuery"]
    if search_slots:
        if len(used) > 1:
            problems.append(f"{where}: a SearchQuery slot must be the only slot")
        if not SLOT_REFERENCE.sub("", utterance).strip():
            problems.append(f"{where}: a SearchQuery slot needs a carrier phrase")
    return problems


def _example_phrase_problems(phrase: str, invocation: str, utterances: set[str]) -> list[str]:
    text = " ".join(phrase.rstrip(".?!").split())
    for opener in (f"Alexa, open {invocation}", f"Alexa, launch {invocation}"):
        if text == opener:
            return []
    prefix = f"Alexa, ask {invocation} "
    if text.startswith(prefix) and text[len(prefix) :] in utterances:
        return []
    return [f"manifest: example phrase {phrase!r} must open the skill or use a sample utterance"]
