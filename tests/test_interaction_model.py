"""The generated skill package: up to date with the content, and valid by Alexa's rules."""

import json

from interaction_model.generate import generated_files, interaction_model, manifest
from interaction_model.validate import validate_interaction_model, validate_manifest
from skill.handlers import intent_actions


def test_committed_skill_package_matches_the_content(conversation):
    for path, text in generated_files(conversation).items():
        assert path.exists(), f"{path} is missing: run `jak-guide build-model`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `jak-guide build-model`"
        )


def test_generated_model_and_manifest_pass_the_validator(conversation):
    model = interaction_model(conversation)
    assert validate_interaction_model(model) == []
    assert validate_manifest(manifest(conversation), model) == []


def test_every_intent_in_the_model_has_a_handler_and_back(conversation):
    model_intents = {
        i["name"]
        for i in interaction_model(conversation)["interactionModel"]["languageModel"]["intents"]
    }
    handled = {name for h in intent_actions(conversation) for name in h.intent_names}
    handled |= {t.intent_name for t in conversation.guide.topics}
    handled |= {"QuestionIntent", "MedicalEmergencyIntent", "SuicideEmergencyIntent"}
    assert model_intents == handled


def test_every_topic_intent_carries_its_sample_questions_and_short_name(conversation):
    intents = {
        i["name"]: i
        for i in interaction_model(conversation)["interactionModel"]["languageModel"]["intents"]
    }
    for topic in conversation.guide.topics:
        assert intents[topic.intent_name]["samples"][: len(topic.samples)] == list(topic.samples)
        assert topic.short_name.lower() in intents[topic.intent_name]["samples"]


def test_manifest_carries_the_full_disclaimer_and_privacy_answers(conversation):
    info = manifest(conversation)["manifest"]
    assert (
        "not a substitute for professional medical advice"
        in info["publishingInformation"]["locales"]["en-US"]["description"]
    )
    assert info["privacyAndCompliance"]["usesHealthInfo"] is False
    assert info["privacyAndCompliance"]["usesPersonalInfo"] is False


def test_endpoint_url_goes_into_the_manifest_only_when_given(conversation):
    files = generated_files(conversation, "https://skill.example.org/")
    text = next(t for p, t in files.items() if p.name == "skill.json")
    assert json.loads(text)["manifest"]["apis"]["custom"]["endpoint"] == {
        "uri": "https://skill.example.org/",
        "sslCertificateType": "Trusted",
    }
