"""The interaction model validator rejects each rule it checks, and passes a valid model."""

import copy

import pytest

from interaction_model.validate import validate_interaction_model, validate_manifest

BUILT_INS = [
    {"name": n, "samples": []}
    for n in (
        "AMAZON.CancelIntent",
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.NavigateHomeIntent",
        "AMAZON.FallbackIntent",
    )
]


def model(intents=None, invocation="jak guide", types=None):
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": invocation,
                "intents": BUILT_INS
                + (
                    intents
                    if intents is not None
                    else [
                        {
                            "name": "DosageIntent",
                            "samples": ["how do i take it", "what's the dose"],
                        },
                        {
                            "name": "QuestionIntent",
                            "slots": [{"name": "query", "type": "AMAZON.SearchQuery"}],
                            "samples": ["what about {query}"],
                        },
                    ]
                ),
                "types": types or [],
            }
        }
    }


def test_a_valid_model_has_no_problems():
    assert validate_interaction_model(model()) == []


@pytest.mark.parametrize(
    "invocation, problem",
    [
        ("jak", "needs two words or more"),
        ("Jak Guide", "only lower-case letters"),
        ("jak guide two", None),
        ("jak guide 2", "only lower-case letters"),
        ("jak guide skill", "must not contain 'skill'"),
        ("alexa jak guide", "must not contain 'alexa'"),
        ("j. a. k. guide", None),
        ("jak's guide", None),
    ],
)
def test_invocation_name_rules(invocation, problem):
    problems = validate_interaction_model(model(invocation=invocation))
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(
    "samples, problem",
    [
        (["take two pills"], None),
        (["take 2 pills"], "spell numbers out"),
        (["what's the dose?"], "characters Alexa does not allow"),
        (["dose, please"], "characters Alexa does not allow"),
        (["dose for {name}"], "slot {name} is not declared"),
        (["dose {"], "characters Alexa does not allow"),
        (["a dose", "a dose"], "twice in this intent"),
        (["   "], "empty utterance"),
        (["anti-inflammatory dose"], None),
    ],
)
def test_utterance_rules(samples, problem):
    problems = validate_interaction_model(model([{"name": "DosageIntent", "samples": samples}]))
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


def test_an_utterance_in_two_intents_is_rejected():
    problems = validate_interaction_model(
        model(
            [
                {"name": "DosageIntent", "samples": ["how do i take it"]},
                {"name": "MonitoringIntent", "samples": ["How do I  take it"]},
            ]
        )
    )
    assert problems == ["MonitoringIntent: utterance 'How do I  take it' is also in DosageIntent"]


SEARCH = {"name": "query", "type": "AMAZON.SearchQuery"}


@pytest.mark.parametrize(
    "samples, slots, problem",
    [
        (["{query}"], [SEARCH], "needs a carrier phrase"),
        (
            ["{query} and {topic}"],
            [SEARCH, {"name": "topic", "type": "AMAZON.Person"}],
            "must be the only slot",
        ),
        (["tell me about {query}"], [SEARCH], None),
        (["about {query}"], [{"name": "query", "type": "TopicType"}], "is not declared"),
    ],
)
def test_search_query_and_slot_type_rules(samples, slots, problem):
    problems = validate_interaction_model(
        model([{"name": "QuestionIntent", "slots": slots, "samples": samples}])
    )
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize("missing", [i["name"] for i in BUILT_INS])
def test_each_required_built_in_must_be_present(missing):
    broken = model()
    intents = broken["interactionModel"]["languageModel"]["intents"]
    broken["interactionModel"]["languageModel"]["intents"] = [
        i for i in intents if i["name"] != missing
    ]
    assert validate_interaction_model(broken) == [f"model: required built-in {missing} is missing"]


def test_a_model_without_intents_is_one_problem():
    assert validate_interaction_model({}) == [
        "model: missing interactionModel.languageModel.intents"
    ]


MANIFEST = {
    "manifest": {
        "publishingInformation": {
            "locales": {
                "en-US": {
                    "description": "General information only. It is not a substitute for "
                    "professional medical advice.",
                    "examplePhrases": [
                        "Alexa, open jak guide",
                        "Alexa, ask jak guide what's the dose",
                    ],
                }
            }
        },
        "privacyAndCompliance": {"usesHealthInfo": False, "usesPersonalInfo": False},
    }
}


def test_a_valid_manifest_has_no_problems():
    assert validate_manifest(MANIFEST, model()) == []


def _locale(manifest):
    return manifest["manifest"]["publishingInformation"]["locales"]["en-US"]


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda m: _locale(m).update(description="Facts about JAK."), "not a substitute"),
        (
            lambda m: m["manifest"]["privacyAndCompliance"].update(usesHealthInfo=True),
            "usesHealthInfo must be false",
        ),
        (
            lambda m: _locale(m).update(examplePhrases=["Alexa, ask jak guide about cats"]),
            "must open the skill or use a sample utterance",
        ),
        (lambda m: _locale(m).update(examplePhrases=[]), "one to three example phrases"),
    ],
)
def test_manifest_rules(change, problem):
    manifest = copy.deepcopy(MANIFEST)
    change(manifest)
    problems = validate_manifest(manifest, model())
    assert len(problems) == 1 and problem in problems[0], problems
