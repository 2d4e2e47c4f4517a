"""The HTTP endpoint: health, bad bodies, limits, and the same skill on Lambda."""

import json

import pytest

from app import create_app, lambda_handler


def test_health_answers_ok(client):
    reply = client.get("/health")
    assert reply.status_code == 200 and reply.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"{}", "field 'version' is missing or has the wrong type"),
        (b'{"version": "1.0"}', "field 'request' is missing or has the wrong type"),
        (
            b'{"version": "1.0", "request": {}}',
            "field 'request.type' is missing or has the wrong type",
        ),
        (
            b'{"version": "1.0", "request": {"type": 5}}',
            "field 'request.type' is missing or has the wrong type",
        ),
        (
            b'{"version": "1.0", "request": {"type": "LaunchRequest", "requestId": "r"}}',
            "field 'context' is missing or has the wrong type",
        ),
    ],
)
def test_a_body_that_is_not_a_request_envelope_gets_400(client, body, message):
    reply = client.post("/", data=body, content_type="application/json")
    assert reply.status_code == 400
    assert reply.get_json() == {"error": message}


def test_wrong_typed_fields_inside_a_real_envelope_get_400(client, make_request):
    envelope = make_request(intent="DosageIntent")
    envelope["request"]["intent"]["slots"] = {"query": "not an object"}
    reply = client.post("/", json=envelope)
    assert reply.status_code == 400
    envelope = make_request(intent="DosageIntent")
    envelope["session"] = "not an object"
    assert client.post("/", json=envelope).status_code == 400
    envelope = make_request(intent="DosageIntent")
    envelope["request"]["intent"] = None
    assert client.post("/", json=envelope).status_code == 400


def test_a_request_for_another_skill_gets_400(client, make_request):
    envelope = make_request("LaunchRequest")
    envelope["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.other"
    reply = client.post("/", json=envelope)
    assert reply.status_code == 400 and reply.get_json() == {"error": "request refused"}


def test_other_request_types_are_acknowledged_without_speech(client, make_request):
    for request_type in (
        "CanFulfillIntentRequest",
        "AudioPlayer.PlaybackStarted",
        "System.ExceptionEncountered",
    ):
        reply = client.post("/", json=make_request(request_type))
        assert reply.status_code == 200, request_type
        assert "outputSpeech" not in reply.get_json()["response"]


def test_wrong_content_type_gets_415(client, make_request):
    reply = client.post(
        "/", data=json.dumps(make_request("LaunchRequest")), content_type="text/plain"
    )
    assert reply.status_code == 415


def test_an_oversized_body_gets_413(client):
    reply = client.post(
        "/", data=b"{" + b" " * (200 * 1024) + b"}", content_type="application/json"
    )
    assert reply.status_code == 413
    assert "error" in reply.get_json()


def test_wrong_method_gets_405_as_json(client):
    reply = client.get("/")
    assert reply.status_code == 405 and "error" in reply.get_json()


def test_lambda_gives_the_same_answer_as_the_web_endpoint(client, make_request):
    envelope = make_request(intent="DosageIntent", attributes={})
    over_http = client.post("/", json=envelope).get_json()
    over_lambda = lambda_handler(envelope, None)
    assert over_lambda["response"] == over_http["response"]
    assert over_lambda["sessionAttributes"] == over_http["sessionAttributes"]


def test_handler_failure_is_answered_with_an_apology_not_a_500(make_request, monkeypatch):
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False})
    conversation = app.extensions["jak_guide"]["conversation"]

    def broken(state, topic_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(conversation, "ask_topic", broken)
    reply = app.test_client().post("/", json=make_request(intent="DosageIntent"))
    assert reply.status_code == 200
    body = reply.get_json()
    assert conversation.prompts.say("error") in body["response"]["outputSpeech"]["ssml"]
    assert body["response"]["shouldEndSession"] is False


def test_verification_is_on_by_default_and_refuses_unsigned_requests(make_request):
    app = create_app({"TESTING": True})
    assert app.extensions["jak_guide"]["verifier"] is not None
    reply = app.test_client().post("/", json=make_request("LaunchRequest"))
    assert reply.status_code == 400 and reply.get_json() == {"error": "request refused"}


def test_switching_verification_off_is_logged_loudly(caplog):
    with caplog.at_level("WARNING"):
        create_app({"TESTING": True, "VERIFY_REQUESTS": False})
    assert "REQUEST VERIFICATION IS OFF" in caplog.text
