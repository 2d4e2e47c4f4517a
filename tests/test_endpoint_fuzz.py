"""Bad input never breaks the endpoint: generated envelopes and bytes, methods, types, limits.

Every reply must be a 4xx with a short JSON error, or a 200 with an Alexa response envelope
whose SSML is well-formed XML. A 500, a non-JSON reply or an escaped exception fails.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import IntentRequest, RequestEnvelope, Session
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app import create_app
from skill.endpoint import MAX_NESTING, MAX_SLOT_VALUE, EnvelopeSerializer
from tests.conftest import SKILL_ID, make_envelope

LIMIT = 128 * 1024  # create_app's MAX_CONTENT_LENGTH

# Request types Alexa sends that this skill does nothing with. The last three are unknown to
# ask-sdk-model, as a type Alexa adds after the SDK was released would be.
SILENT_REQUEST_TYPES = (
    "AudioPlayer.PlaybackStarted",
    "AudioPlayer.PlaybackFinished",
    "AudioPlayer.PlaybackStopped",
    "AudioPlayer.PlaybackNearlyFinished",
    "AudioPlayer.PlaybackFailed",
    "PlaybackController.PlayCommandIssued",
    "Display.ElementSelected",
    "CanFulfillIntentRequest",
    "Messaging.MessageReceived",
    "AlexaSkillEvent.SkillEnabled",
    "AlexaSkillEvent.SkillDisabled",
    "AlexaSkillEvent.SkillPermissionAccepted",
    "AlexaSkillEvent.SkillAccountLinked",
    "Connections.Response",
    "System.ExceptionEncountered",
    "Alexa.Presentation.APL.UserEvent",
    "SessionResumedRequest",
    "AudioPlayer.PlaybackSkipped",
    "Display.SomethingNew",
    "Alexa.Future.Event",
)
# Fields those requests carry beyond the common ones (a sample of the real shapes).
SILENT_REQUEST_FIELDS: dict[str, dict[str, Any]] = {
    "AudioPlayer.PlaybackFailed": {
        "token": "t",
        "error": {"type": "MEDIA_ERROR_UNKNOWN", "message": "m"},
        "currentPlaybackState": {"token": "t", "offsetInMilliseconds": 0},
    },
    "AudioPlayer.PlaybackStarted": {"token": "t", "offsetInMilliseconds": 0},
    "Display.ElementSelected": {"token": "item-1"},
    "CanFulfillIntentRequest": {
        "intent": {"name": "QuestionIntent", "slots": {"query": {"name": "query", "value": "x"}}}
    },
    "Messaging.MessageReceived": {"message": {"any": ["thing"]}},
    "AlexaSkillEvent.SkillEnabled": {"eventCreationTime": "2024-01-01T00:00:00Z"},
    "Connections.Response": {
        "name": "Buy",
        "status": {"code": "200", "message": "OK"},
        "payload": {"purchaseResult": "ACCEPTED"},
        "token": "t",
    },
    "System.ExceptionEncountered": {
        "error": {"type": "INVALID_RESPONSE", "message": "bad"},
        "cause": {"requestId": "amzn1.echo-api.request.1"},
    },
    "Alexa.Presentation.APL.UserEvent": {"token": "t", "arguments": [1, "a", {"b": [None]}]},
}
INTENT_NAMES = (
    "QuestionIntent",
    "DosageIntent",
    "ListTopicsIntent",
    "PersonalDoseIntent",
    "MedicalEmergencyIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.RepeatIntent",
    "AMAZON.NextIntent",
    "AMAZON.PreviousIntent",
    "AMAZON.MoreIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
    "AMAZON.StartOverIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
    "NoSuchIntent",
)
ODD_STRINGS = (
    "",
    " ",
    "\x00",
    "\x01\x08\x0b\x1f",
    "\ud800",  # a lone surrogate: valid in JSON text, not in UTF-8 or XML
    "\ufffe\uffff",
    "<speak>&amp; ]]> <audio src='x'/>",
    "\u202e\u200b\u200d",
    "JAK \U0001f600 dose 10 mg",
    "chest pain",
    "how much should I take",
    "x" * 2_000,
    "side effects " * 8_000,  # ~100 KB: under the body limit, over the slot limit
    "\u00e9" * 30_000,  # 180 KB as escaped JSON: over the body limit
)


@pytest.fixture(scope="module")
def fuzz_client() -> FlaskClient:
    """One app for all generated requests (hypothesis reruns a test body many times)."""
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "SKILL_ID": SKILL_ID})
    return app.test_client()


@pytest.fixture(scope="module")
def topic_ids(fuzz_client: FlaskClient) -> list[str]:
    conversation = fuzz_client.application.extensions["jak_guide"]["conversation"]
    return [topic.id for topic in conversation.guide.topics]


# --- what every reply must be -----------------------------------------------------------------


def _strict_json(data: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def check_reply(reply: Any) -> dict[str, Any]:
    """A 4xx with {"error": short text}, or a 200 with a valid Alexa response envelope."""
    assert reply.status_code < 500, reply.data[:300]
    assert reply.mimetype == "application/json", (reply.status_code, reply.data[:300])
    body = _strict_json(reply.data)
    assert isinstance(body, dict)
    if reply.status_code != 200:
        assert 400 <= reply.status_code < 500, reply.status_code
        assert list(body) == ["error"] and isinstance(body["error"], str)
        assert 0 < len(body["error"]) <= 200
        assert "Traceback" not in body["error"]
        return body
    check_response_envelope(body)
    return body


def check_response_envelope(body: dict[str, Any]) -> None:
    assert body.get("version") == "1.0"
    response = body["response"]
    assert isinstance(response, dict)
    speeches = [response.get("outputSpeech"), (response.get("reprompt") or {}).get("outputSpeech")]
    for speech in speeches:
        if speech is not None:
            assert speech["type"] == "SSML"
            root = ET.fromstring(speech["ssml"])  # well-formed, or ParseError fails the test
            assert root.tag == "speak"
    if "card" in response:
        card = response["card"]
        assert card["type"] == "Simple"
        assert isinstance(card["title"], str) and isinstance(card["content"], str)
    if "shouldEndSession" in response:
        assert isinstance(response["shouldEndSession"], bool)
    assert isinstance(body.get("sessionAttributes", {}), dict)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def post_and_check(client: FlaskClient, body: bytes) -> dict[str, Any]:
    """Post a body; check the reply, and that no exception got past the skill to the
    endpoint's last-resort apology (the skill's own handler may apologise; that is logged)."""
    handler = _Records()
    endpoint_log = logging.getLogger("jak_guide.endpoint")
    endpoint_log.addHandler(handler)
    try:
        reply = client.post("/", data=body, content_type="application/json")
    finally:
        endpoint_log.removeHandler(handler)
    escaped = [r.getMessage() for r in handler.records if r.exc_info]
    assert not escaped, escaped
    body = check_reply(reply)
    if reply.status_code == 200:
        conversation = client.application.extensions["jak_guide"]["conversation"]
        ssml = (body["response"].get("outputSpeech") or {}).get("ssml", "")
        apology = conversation.prompts.say("error") in ssml
        event("HTTP 200: apology" if apology else "HTTP 200: answered")
    else:
        event(f"HTTP {reply.status_code}: {body['error'][:40]}")
    return body


# --- strategies ---------------------------------------------------------------------------------

odd_text = st.one_of(st.text(max_size=40), st.sampled_from(ODD_STRINGS))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**4000]),
    st.floats(),  # NaN and infinities too: the endpoint must refuse them, not echo them
    odd_text,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
slot_objects = st.one_of(
    st.fixed_dictionaries(
        {"name": odd_text, "value": odd_text},
        optional={
            "confirmationStatus": st.sampled_from(["NONE", "CONFIRMED", "x"]) | json_values,
            "resolutions": json_values,
            "slotValue": json_values,
            "slot_value": json_values,  # a Python attribute name of the SDK's Slot model
        },
    ),
    st.dictionaries(st.text(max_size=12), json_values, max_size=4),
)
slot_maps = st.one_of(
    st.none(),
    json_values,
    st.dictionaries(st.sampled_from(["query"]) | st.text(max_size=8), slot_objects, max_size=3),
)


@st.composite
def session_attributes(draw: st.DrawFn, topic_ids: list[str]) -> Any:
    """Realistic dialog state with odd values, or any junk at all."""
    topic = st.sampled_from(topic_ids) | odd_text
    realistic = st.fixed_dictionaries(
        {},
        optional={
            "topic": topic | json_values,
            "part": st.integers(-3, 12) | json_values,
            "offer": st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(["more", "related", "clarify", "faq_list"])
                    | json_values,
                    "topics": st.lists(topic, max_size=3) | json_values,
                }
            )
            | json_values,
            "fallbacks": st.integers(-2, 12) | json_values,
            "last_speech": st.lists(odd_text, max_size=3) | json_values,
            "last_reprompt": st.lists(odd_text, max_size=3) | json_values,
        },
    )
    return draw(realistic | json_values)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path to every value inside a JSON document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list):
            yield from _paths(child, (*prefix, key))


@st.composite
def envelopes(draw: st.DrawFn, topic_ids: list[str]) -> dict[str, Any]:
    """A real envelope, then zero to three fields anywhere deleted or replaced by junk."""
    # Mostly intents (the skill's real work), some other types, now and then any text at all.
    request_type = draw(
        st.sampled_from(["IntentRequest"] * 5 + ["LaunchRequest", "SessionEndedRequest"])
        | st.sampled_from(SILENT_REQUEST_TYPES)
    )
    if draw(st.sampled_from([False] * 19 + [True])):
        request_type = draw(odd_text)
    envelope = make_envelope(
        request_type,
        intent=draw(st.sampled_from(INTENT_NAMES) | odd_text),
        new=draw(st.booleans()),
    )
    envelope["request"].update(copy.deepcopy(SILENT_REQUEST_FIELDS.get(request_type, {})))
    envelope["session"]["attributes"] = draw(session_attributes(topic_ids))
    if "intent" in envelope["request"]:
        envelope["request"]["intent"]["slots"] = draw(slot_maps)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        paths = list(_paths(envelope))
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = envelope
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(json_values)
    return envelope


@st.composite
def corrupted_bodies(draw: st.DrawFn) -> bytes:
    """A real envelope's bytes, cut, overwritten or spliced with random bytes."""
    body = json.dumps(make_envelope(intent="QuestionIntent", slots={"query": "dose"})).encode()
    start = draw(st.integers(0, len(body)))
    end = draw(st.integers(start, min(len(body), start + 40)))
    return body[:start] + draw(st.binary(max_size=20)) + body[end:]


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- generated input ------------------------------------------------------------------------


@settings(FUZZ, max_examples=160)
@given(data=st.data())
def test_generated_envelopes_get_a_4xx_or_a_valid_response(fuzz_client, topic_ids, data):
    envelope = data.draw(envelopes(topic_ids))
    post_and_check(fuzz_client, json.dumps(envelope).encode())  # NaN, lone surrogates too


@settings(FUZZ, max_examples=60)
@given(body=st.binary(max_size=300) | corrupted_bodies())
def test_raw_bytes_get_a_4xx_or_a_valid_response(fuzz_client, body):
    post_and_check(fuzz_client, body)


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@settings(FUZZ, max_examples=30)
@given(
    body=st.binary(max_size=200) | corrupted_bodies(),
    signature=header_text | st.just("dGVzdA=="),
    cert_url=header_text | st.just("https://s3.amazonaws.com/echo.api/echo-api-cert.pem"),
)
def test_with_verification_on_bad_requests_are_refused_without_detail(
    verified_client, body, signature, cert_url
):
    headers = {"SignatureCertChainUrl": cert_url, "Signature-256": signature}
    reply = verified_client.post("/", data=body, content_type="application/json", headers=headers)
    assert check_reply(reply) == {"error": "request refused"}


@pytest.fixture(scope="module")
def verified_client() -> FlaskClient:
    """Verification on, and never on the network: the certificate fetch always fails."""
    app = create_app({"TESTING": True, "SKILL_ID": SKILL_ID})

    def offline(url: str) -> bytes:
        raise OSError("no network in tests")

    app.extensions["jak_guide"]["verifier"].fetch_certificate_chain = offline
    return app.test_client()


# --- request types ----------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", SILENT_REQUEST_TYPES)
@pytest.mark.parametrize("with_session", [True, False])
def test_every_other_request_type_gets_200_without_speech(fuzz_client, request_type, with_session):
    envelope = make_envelope(request_type)
    envelope["request"].update(copy.deepcopy(SILENT_REQUEST_FIELDS.get(request_type, {})))
    if not with_session:  # player and skill events come without a session
        del envelope["session"]
    reply = fuzz_client.post("/", json=envelope)
    assert reply.status_code == 200, reply.get_json()
    body = check_reply(reply)
    assert "outputSpeech" not in body["response"]
    assert "reprompt" not in body["response"]


def test_a_request_type_that_is_no_alexa_name_gets_400(fuzz_client):
    for request_type in ("", "Audio Player!", "x" * 300, "A..B", "\u00e9vent"):
        reply = fuzz_client.post("/", json=make_envelope(request_type))
        assert reply.status_code == 400, request_type
        assert check_reply(reply) == {"error": "field 'request.type' is not a request type"}


# --- methods, content types, sizes, shapes ------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_methods_get_405_as_json(fuzz_client, method):
    reply = fuzz_client.open("/", method=method, json=make_envelope("LaunchRequest"))
    assert reply.status_code == 405
    assert "error" in check_reply(reply)
    assert "POST" in reply.headers["Allow"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        "",
    ],
)
def test_wrong_content_types_get_415(fuzz_client, content_type):
    body = json.dumps(make_envelope("LaunchRequest"))
    reply = fuzz_client.post("/", data=body, headers={"Content-Type": content_type})
    assert reply.status_code == 415
    assert check_reply(reply) == {"error": "content type must be application/json"}


def test_json_with_a_charset_is_accepted(fuzz_client):
    body = json.dumps(make_envelope("LaunchRequest"))
    reply = fuzz_client.post("/", data=body, content_type="application/json; charset=utf-8")
    assert reply.status_code == 200 and "outputSpeech" in check_reply(reply)["response"]


def test_an_empty_body_gets_400(fuzz_client):
    reply = fuzz_client.post("/", data=b"", content_type="application/json")
    assert reply.status_code == 400
    assert check_reply(reply) == {"error": "body is not JSON"}


def test_an_oversized_body_gets_413(fuzz_client):
    envelope = make_envelope("LaunchRequest")
    envelope["session"]["attributes"] = {"padding": "x" * LIMIT}
    reply = fuzz_client.post("/", json=envelope)
    assert reply.status_code == 413
    assert "error" in check_reply(reply)


def _chunked_post(client: FlaskClient, body: bytes) -> Any:
    # No Content-Length; like gunicorn after de-chunking, the server marks the stream
    # terminated, so the limit must be enforced while reading.
    return client.post(
        "/",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_an_oversized_chunked_body_without_content_length_gets_413(fuzz_client):
    reply = _chunked_post(fuzz_client, b'{"x": "' + b"y" * (2 * LIMIT) + b'"}')
    assert reply.status_code == 413
    assert "error" in check_reply(reply)


def test_a_chunked_body_within_the_limit_is_answered(fuzz_client):
    reply = _chunked_post(fuzz_client, json.dumps(make_envelope("LaunchRequest")).encode())
    assert reply.status_code == 200 and "outputSpeech" in check_reply(reply)["response"]


def test_a_body_shorter_than_its_content_length_gets_400(fuzz_client):
    body = json.dumps(make_envelope("LaunchRequest")).encode()
    reply = fuzz_client.post(
        "/",
        input_stream=io.BytesIO(body[:100]),
        content_type="application/json",
        headers={"Content-Length": str(len(body))},
    )
    assert reply.status_code == 400
    check_reply(reply)


@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_a_deeply_nested_body_gets_400_not_a_recursion_error(opening, closing):
    levels = 100_000
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "MAX_CONTENT_LENGTH": 8 * levels})
    body = opening * levels + b"1" + closing * levels
    reply = app.test_client().post("/", data=body, content_type="application/json")
    assert reply.status_code == 400
    assert check_reply(reply) == {"error": "body is nested too deeply"}


def test_nesting_within_the_size_limit_gets_400(fuzz_client):
    levels = LIMIT // 2 - 10
    reply = fuzz_client.post(
        "/", data=b"[" * levels + b"]" * levels, content_type="application/json"
    )
    assert check_reply(reply) == {"error": "body is nested too deeply"}


def test_session_attributes_nested_past_the_limit_get_400(fuzz_client):
    def nested(levels: int) -> Any:
        value: Any = "leaf"
        for _ in range(levels):
            value = {"a": [value]}
        return value

    envelope = make_envelope("LaunchRequest")
    envelope["session"]["attributes"] = nested(10)
    assert fuzz_client.post("/", json=envelope).status_code == 200
    envelope["session"]["attributes"] = nested(MAX_NESTING)  # 2 levels each
    reply = fuzz_client.post("/", json=envelope)
    assert check_reply(reply) == {"error": "body is nested too deeply"}


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"1" * 5000])
def test_numbers_json_cannot_carry_back_get_400(fuzz_client, number):
    envelope = json.dumps(make_envelope("LaunchRequest", attributes={"n": 0}))
    body = envelope.replace('"n": 0', '"n": ' + number.decode()).encode()
    reply = fuzz_client.post("/", data=body, content_type="application/json")
    assert reply.status_code == 400
    check_reply(reply)


def test_slot_values_must_be_short_text(fuzz_client):
    envelope = make_envelope(intent="QuestionIntent", slots={"query": "q" * MAX_SLOT_VALUE})
    assert fuzz_client.post("/", json=envelope).status_code == 200
    envelope = make_envelope(intent="QuestionIntent", slots={"query": "q" * (MAX_SLOT_VALUE + 1)})
    reply = fuzz_client.post("/", json=envelope)
    assert reply.status_code == 400 and "longer than" in check_reply(reply)["error"]
    envelope["request"]["intent"]["slots"]["query"]["value"] = {"not": "text"}
    reply = fuzz_client.post("/", json=envelope)
    assert reply.status_code == 400 and "not text" in check_reply(reply)["error"]


# --- the endpoint's faster deserialiser ----------------------------------------------------


def _shadows_a_model_attribute(envelope: Any) -> bool:
    """Whether some key would replace a model's workings ("__dict__", "to_dict"): the SDK
    sets it and breaks its own model, where the endpoint's deserialiser leaves it out."""
    if isinstance(envelope, list):
        return any(_shadows_a_model_attribute(item) for item in envelope)
    if not isinstance(envelope, dict):
        return False
    return any(
        key.startswith("_") or key in MODEL_ATTRIBUTES or _shadows_a_model_attribute(value)
        for key, value in envelope.items()
    )


MODEL_ATTRIBUTES = {
    name for model in (RequestEnvelope, Session, IntentRequest) for name in dir(model)
}


def _sdk_result(serializer: Any, envelope: dict[str, Any]) -> str:
    """What a serializer makes of an envelope, as comparable text ("refused" if it raises)."""
    try:
        if isinstance(serializer, EnvelopeSerializer):
            built = serializer.deserialize_data(copy.deepcopy(envelope), RequestEnvelope)
        else:
            built = serializer.deserialize(json.dumps(envelope), RequestEnvelope)
    except Exception:
        return "refused"
    return json.dumps(DefaultSerializer().serialize(built), sort_keys=True, default=repr)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_the_fast_deserialiser_builds_what_the_sdk_builds(topic_ids, data):
    envelope = data.draw(envelopes(topic_ids))
    if isinstance(envelope.get("request"), dict):
        envelope["request"]["timestamp"] = data.draw(
            st.sampled_from(
                [
                    "2026-11-24T16:00:00Z",
                    "2026-11-24T16:00:00.123+05:30",
                    "2026-11-24",
                    "Tue, 24 Nov 2026 16:00:00 GMT",  # not ISO: dateutil's own parse
                    "not a time",
                    "",
                ]
            )
            | json_values
        )
    if _shadows_a_model_attribute(envelope):
        event("a key that would replace a model's workings")
        return
    assert _sdk_result(EnvelopeSerializer(), envelope) == _sdk_result(DefaultSerializer(), envelope)


@pytest.mark.parametrize("resolutions", [[], ["x"], "abc", "name", 5, {"extra": 1}])
def test_the_fast_deserialiser_takes_a_non_object_where_the_sdk_wants_one_as_the_sdk_does(
    resolutions,
):
    # The SDK builds an empty model from a list, and refuses text whose letters name fields.
    envelope = make_envelope(intent="QuestionIntent", slots={"query": "dose"})
    envelope["request"]["intent"]["slots"]["query"]["resolutions"] = resolutions
    assert _sdk_result(EnvelopeSerializer(), envelope) == _sdk_result(DefaultSerializer(), envelope)


@pytest.mark.parametrize(
    "key, value", [("slot_value", []), ("slot_value", "x"), ("confirmation_status", "NONE")]
)
def test_the_fast_deserialiser_takes_a_fields_own_name_as_the_sdk_does(key, value):
    # A field's attribute name where Alexa writes its JSON name ("slot_value" for
    # "slotValue"): the SDK sets the value as it is, after the fields. Found by the fuzz test.
    envelope = make_envelope(intent="QuestionIntent", slots={"query": "dose"})
    envelope["request"]["intent"]["slots"]["query"][key] = value
    assert _sdk_result(EnvelopeSerializer(), envelope) == _sdk_result(DefaultSerializer(), envelope)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_the_fast_serializer_writes_what_the_sdk_writes(topic_ids, data):
    envelope = data.draw(envelopes(topic_ids))
    if _shadows_a_model_attribute(envelope):
        event("a key that would replace a model's workings")
        return
    try:
        built = DefaultSerializer().deserialize(json.dumps(envelope), RequestEnvelope)
    except Exception:
        event("refused by the SDK")
        return
    event("built")
    fast = json.dumps(EnvelopeSerializer().serialize(built), sort_keys=True, default=repr)
    assert fast == json.dumps(DefaultSerializer().serialize(built), sort_keys=True, default=repr)


@pytest.mark.parametrize(
    "request_type,intent,slots",
    [
        ("LaunchRequest", None, None),
        ("IntentRequest", "QuestionIntent", {"query": "what are the side effects"}),
        ("IntentRequest", "QuestionIntent", {"query": "what is the weather"}),
        ("IntentRequest", "AMAZON.HelpIntent", None),
        ("IntentRequest", "AMAZON.StopIntent", None),
    ],
)
def test_the_skill_replies_as_the_sdk_serializer_would_write_them(
    fuzz_client, request_type, intent, slots
):
    envelope = make_envelope(request_type, intent=intent, slots=slots)
    skill = fuzz_client.application.extensions["jak_guide"]["skill"]
    built = EnvelopeSerializer().deserialize_data(copy.deepcopy(envelope), RequestEnvelope)
    response = skill.invoke(request_envelope=built, context=None)
    fast = EnvelopeSerializer().serialize(response)
    assert fast == DefaultSerializer().serialize(response)
    assert fast["response"]["outputSpeech"]["type"] == "SSML"


def test_keys_that_would_replace_a_models_workings_are_left_out(fuzz_client, caplog):
    # The SDK sets every key it has no field for on the model, "__dict__" too, and then fails.
    envelope = make_envelope(intent="QuestionIntent", slots={"query": "what are the side effects"})
    envelope["session"]["__dict__"] = {}
    envelope["request"]["to_dict"] = 1
    envelope["request"]["deserialized_types"] = {}
    with caplog.at_level(logging.ERROR):
        reply = fuzz_client.post("/", json=envelope)
    assert reply.status_code == 200
    assert "side effects" in reply.get_json()["response"]["outputSpeech"]["ssml"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
