"""The Alexa HTTPS endpoint: a thin Flask blueprint around the ask-sdk skill."""

from __future__ import annotations

import json
import logging
from typing import Any

from ask_sdk_core.exceptions import AskSdkException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from skill.assembly import build_skill
from skill.dialog import Conversation, DialogState
from skill.handlers import build_response
from skill.verification import RequestVerifier, VerificationError

log = logging.getLogger("jak_guide.endpoint")
blueprint = Blueprint("alexa", __name__)
_serializer = DefaultSerializer()


class BadEnvelope(ValueError):
    """The body is not an Alexa request envelope; the message is safe to return."""


def init_app(app: Flask, conversation: Conversation) -> None:
    """Attach the skill to the app and register the routes."""
    skill_id = app.config.get("SKILL_ID") or None
    verifier = None
    if app.config.get("VERIFY_REQUESTS", True):
        verifier = RequestVerifier(application_id=skill_id)
        if skill_id is None:
            log.warning("SKILL_ID is not set: requests for any skill id will be accepted")
    else:
        log.warning(
            "REQUEST VERIFICATION IS OFF: any client can call this endpoint (local use only)"
        )
    app.extensions["jak_guide"] = {
        "conversation": conversation,
        "skill": build_skill(conversation, skill_id),
        "verifier": verifier,
    }
    app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, _http_error)


@blueprint.get("/health")
def health() -> Response:
    """Liveness: the content loaded and the skill was built."""
    return jsonify(status="ok")


@blueprint.post("/")
def alexa() -> tuple[Response, int] | Response:
    """Take one Alexa request envelope and answer with a response envelope."""
    if request.mimetype != "application/json":
        return _error("content type must be application/json", 415)
    raw = request.get_data(cache=False)
    verifier: RequestVerifier | None = current_app.extensions["jak_guide"]["verifier"]
    if verifier is not None:
        try:
            verifier.verify(request.headers, raw)
        except VerificationError as exc:
            log.warning("refused unverified request: %s", exc)
            return _error("request refused", 400)
    try:
        envelope = parse_envelope(raw)
    except BadEnvelope as exc:
        log.info("refused request: %s", exc)
        return _error(str(exc), 400)
    skill: CustomSkill = current_app.extensions["jak_guide"]["skill"]
    try:
        response = skill.invoke(request_envelope=envelope, context=None)
    except AskSdkException as exc:
        log.warning("refused request: %s", type(exc).__name__)
        return _error("request refused", 400)
    except Exception as exc:  # never a 500: answer with an apology the listener can hear
        log.error("skill failed: %s", type(exc).__name__, exc_info=exc)
        return jsonify(_apology_envelope())
    return jsonify(_serializer.serialize(response))


def parse_envelope(raw: bytes) -> RequestEnvelope:
    """Check the body is a request envelope of the shape Alexa sends, and deserialise it."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEnvelope("body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadEnvelope("body must be a JSON object")
    _require(data, "version", str)
    req = _require(data, "request", dict)
    _require(req, "type", str, "request.")
    _require(req, "requestId", str, "request.")
    context = _require(data, "context", dict)
    system = _require(context, "System", dict, "context.")
    _require(system, "application", dict, "context.System.")
    for name in ("session",):
        if name in data and not isinstance(data[name], dict):
            raise BadEnvelope(f"field '{name}' must be an object")
    if req["type"] == "IntentRequest":
        intent = _require(req, "intent", dict, "request.")
        _require(intent, "name", str, "request.intent.")
        slots = intent.get("slots")
        if slots is not None and not (
            isinstance(slots, dict) and all(isinstance(s, dict) for s in slots.values())
        ):
            raise BadEnvelope("field 'request.intent.slots' must map names to objects")
    try:
        return _serializer.deserialize(json.dumps(data), RequestEnvelope)
    except Exception as exc:  # the SDK raises several types for wrong-typed fields
        raise BadEnvelope("body is not a valid request envelope") from exc


def _require(mapping: dict[str, Any], field: str, kind: type, prefix: str = "") -> Any:
    value = mapping.get(field)
    if not isinstance(value, kind):
        raise BadEnvelope(f"field '{prefix}{field}' is missing or has the wrong type")
    return value


def _apology_envelope() -> dict[str, Any]:
    conversation: Conversation = current_app.extensions["jak_guide"]["conversation"]
    reply = conversation.error(DialogState())
    response = build_response(reply, conversation.prompts.pronunciations)
    return {"version": "1.0", "response": _serializer.serialize(response)}


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return _error(exc.description or exc.name, exc.code or 400)
