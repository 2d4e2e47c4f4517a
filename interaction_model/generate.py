"""Generate the Alexa skill package (manifest and en-US interaction model) from the content.

Run `jak-guide build-model` (or `python -m interaction_model.generate`) after editing
skill/guide_topics.yaml or skill/prompts.yaml; a test fails while the committed files are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skill.dialog import Conversation
from skill.guide import Topic
from skill.handlers import (
    LIST_TOPICS_INTENT,
    PERSONAL_DOSE_INTENT,
    QUESTION_INTENT,
    QUESTION_SLOT,
    emergency_intent_name,
)

PACKAGE_DIR = Path(__file__).with_name("skill-package")
MODEL_FILE = PACKAGE_DIR / "interactionModels" / "custom" / "en-US.json"
MANIFEST_FILE = PACKAGE_DIR / "skill.json"

# The built-in intents the handlers serve; Alexa supplies their samples.
BUILT_IN_INTENTS = (
    "AMAZON.CancelIntent", "AMAZON.HelpIntent", "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent", "AMAZON.FallbackIntent", "AMAZON.RepeatIntent",
    "AMAZON.NextIntent", "AMAZON.PreviousIntent", "AMAZON.MoreIntent",
    "AMAZON.YesIntent", "AMAZON.NoIntent", "AMAZON.StartOverIntent",
)  # fmt: skip


def interaction_model(conversation: Conversation) -> dict[str, Any]:
    """The en-US interaction model: built-ins, one intent per topic, safety and free questions."""
    prompts = conversation.prompts
    intents: list[dict[str, Any]] = [{"name": name, "samples": []} for name in BUILT_IN_INTENTS]
    intents += [
        {"name": topic.intent_name, "samples": topic_samples(topic)}
        for topic in conversation.guide.topics
    ]
    intents += [
        {"name": emergency_intent_name(rule.id), "samples": list(rule.samples)}
        for rule in prompts.emergencies
    ]
    intents.append({"name": PERSONAL_DOSE_INTENT, "samples": list(prompts.personal_dose_samples)})
    intents.append({"name": LIST_TOPICS_INTENT, "samples": list(prompts.list_topics_samples)})
    intents.append(
        {
            "name": QUESTION_INTENT,
            "slots": [{"name": QUESTION_SLOT, "type": "AMAZON.SearchQuery"}],
            "samples": [
                c.replace("{query}", "{" + QUESTION_SLOT + "}") for c in prompts.question_carriers
            ],
        }
    )
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": prompts.invocation_name,
                "intents": intents,
                "types": [],
            }
        },
    }


def topic_samples(topic: Topic) -> list[str]:
    """A topic's sample questions, plus its short name, which answers "did you mean A or B"."""
    name = topic.short_name.lower()
    return list(topic.samples) if name in topic.samples else [*topic.samples, name]


def manifest(conversation: Conversation) -> dict[str, Any]:
    """The skill manifest: listing with the health disclaimer, and privacy answers."""
    prompts = conversation.prompts
    examples = [f"Alexa, open {prompts.invocation_name}"] + [
        f"Alexa, ask {prompts.invocation_name} {e.text.lower()}"
        for e in prompts.example_questions[:2]
    ]
    return {
        "manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {
                "locales": {
                    "en-US": {
                        "name": prompts.skill_name,
                        "summary": prompts.listing.summary,
                        "description": prompts.listing.description,
                        "examplePhrases": examples,
                        "keywords": list(prompts.listing.keywords),
                    }
                },
                "category": "HEALTH_AND_FITNESS",
                "distributionCountries": ["US"],
                "isAvailableWorldwide": False,
                "testingInstructions": prompts.listing.testing_instructions,
            },
            # The skill stores and sends nothing about the user; it reads a fixed guide.
            "privacyAndCompliance": {
                "allowsPurchases": False,
                "usesPersonalInfo": False,
                "usesHealthInfo": False,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": False,
            },
            # The endpoint is set per deployment: `jak-guide build-model --endpoint URL`.
            "apis": {"custom": {}},
        },
    }


def render_json(document: dict[str, Any]) -> str:
    """Stable JSON text, so regenerating unchanged content changes no byte."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated_files(conversation: Conversation, endpoint_url: str | None = None) -> dict[Path, str]:
    """Every generated file and its text."""
    skill_manifest = manifest(conversation)
    if endpoint_url:
        skill_manifest["manifest"]["apis"]["custom"]["endpoint"] = {
            "uri": endpoint_url,
            "sslCertificateType": "Trusted",
        }
    return {
        MODEL_FILE: render_json(interaction_model(conversation)),
        MANIFEST_FILE: render_json(skill_manifest),
    }


def write_skill_package(conversation: Conversation, endpoint_url: str | None = None) -> list[Path]:
    """Write the skill package files; return their paths."""
    files = generated_files(conversation, endpoint_url)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


if __name__ == "__main__":
    from skill.assembly import load_conversation

    for written in write_skill_package(load_conversation()):
        print(f"wrote {written}")
