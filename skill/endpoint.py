"""The Alexa HTTPS endpoint: a thin Flask blueprint around the ask-sdk skill."""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import datetime
from enum import Enum
from typing import Any

from ask_sdk_core.exceptions import AskSdkException, SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import Request, RequestEnvelope
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from skill.assembly import build_skill
from skill.dialog import Conversation, DialogState
from skill.handlers import build_response
from skill.verification import RequestVerifier, VerificationError

log = logging.getLogger("jak_guide.endpoint")
blueprint = Blueprint("alexa", __name__)


class EnvelopeSerializer(DefaultSerializer):
    """The SDK's serializer with its slowest steps made fast, for the same objects.

    ask-sdk-core imports each nested model class by name for every object it builds, parses
    each type name ("list[...]") with a regular expression, parses timestamps with dateutil,
    and works out each model's field names again for every object it builds or writes out:
    together over a third of this view's CPU time. The overrides are the SDK's private
    (name-mangled) steps and `serialize`, so the version is pinned (< 2) and
    tests/test_endpoint_fuzz.py checks that the results match the SDK's own.
    """

    # Caches shared by all instances: class by name; per model class, the attributes (and
    # their types) that each JSON name fills.
    _classes: dict[str, Any] = {}  # noqa: RUF012
    _fields: dict[type, dict[str, tuple[tuple[str, Any], ...]]] = {}  # noqa: RUF012
    # Per type name: ("list", item type names), ("dict", value type name) or ("type", class).
    _plans: dict[str, tuple[str, Any]] = {}  # noqa: RUF012
    # Per model class written out: (attribute, JSON name) pairs in the SDK's order.
    _keys: dict[type, tuple[tuple[str, str], ...]] = {}  # noqa: RUF012

    def deserialize_data(self, data: Any, obj_type: Any) -> Any:
        """`deserialize` for data already parsed from JSON (no second parse)."""
        return self._DefaultSerializer__deserialize(data, obj_type)

    def serialize(self, obj: Any) -> Any:
        """The SDK's `serialize`, with each model class's keys worked out once."""
        if obj is None:
            return None
        kind = type(obj)
        if kind is str or kind is bool or kind is int or kind is float:
            return obj
        if kind is list:
            return [self.serialize(item) for item in obj]
        if kind is dict:
            return {key: self.serialize(value) for key, value in obj.items()}
        if not hasattr(obj, "deserialized_types") or isinstance(obj, Enum):
            return super().serialize(obj)
        keys = self._keys.get(kind)
        if keys is None:
            names = dict(getattr(obj, "attribute_map", {}))
            keys = tuple((a, names.get(a, a)) for a in obj.deserialized_types)
            self._keys[kind] = keys
        return {
            key: self.serialize(value)
            for attr, key in keys
            if (value := getattr(obj, attr)) is not None
        }

    def _DefaultSerializer__deserialize(self, payload: Any, obj_type: Any) -> Any:
        # The SDK's steps, with each type name parsed and resolved once.
        if payload is None:
            return None
        if isinstance(obj_type, str):
            plan = self._plans.get(obj_type)
            if plan is None:
                plan = self._plans[obj_type] = self._plan(obj_type)
            kind, target = plan
            build = self._DefaultSerializer__deserialize
            if kind == "list":
                if not target:  # a type name the SDK cannot parse: empty, as in the SDK
                    return []
                if len(target) > 1:  # a list of mixed types, in order (zip stops early)
                    return [build(p, t) for p, t in zip(payload, target, strict=False)]
                return [build(p, target[0]) for p in payload]
            if kind == "dict":
                return {} if target is None else {k: build(v, target) for k, v in payload.items()}
            obj_type = target
        if obj_type is str and type(payload) is str:
            return payload  # what str(payload) gives
        return super()._DefaultSerializer__deserialize(payload, obj_type)  # type: ignore[misc]

    def _plan(self, type_name: str) -> tuple[str, Any]:
        if type_name.startswith("list["):
            items = re.match(r"list\[(.*)\]", type_name)
            if items is None:
                return ("list", ())
            return ("list", tuple(t.strip() for t in items.group(1).split(",")))
        if type_name.startswith("dict("):
            parts = re.match(r"dict\(([^,]*), (.*)\)", type_name)
            return ("dict", parts.group(2) if parts else None)
        if type_name in self.NATIVE_TYPES_MAPPING:
            return ("type", self.NATIVE_TYPES_MAPPING[type_name])
        return ("type", self._DefaultSerializer__load_class_from_name(type_name))

    def _DefaultSerializer__load_class_from_name(self, class_name: str) -> Any:
        found = self._classes.get(class_name)
        if found is None:
            found = super()._DefaultSerializer__load_class_from_name(class_name)  # type: ignore[misc]
            self._classes[class_name] = found
        return found

    def _DefaultSerializer__deserialize_model(self, payload: Any, obj_type: Any) -> Any:
        # The SDK's steps in the SDK's order; only the field names are worked out once.
        try:
            if issubclass(obj_type, Enum):
                return obj_type(payload)
            if not hasattr(obj_type, "deserialized_types"):
                return payload
            if hasattr(obj_type, "get_real_child_model"):
                obj_type = self._DefaultSerializer__get_obj_by_discriminator(payload, obj_type)  # type: ignore[attr-defined]
            fields = self._fields.get(obj_type)
            if fields is None:
                fields = self._fields[obj_type] = self._model_fields(obj_type)
            model = obj_type()
            deserialize = self._DefaultSerializer__deserialize
            if isinstance(payload, dict):
                # A payload names a few of a model's many fields: walk it, not the fields.
                for json_name, value in payload.items():
                    for name, field_type in fields.get(json_name, ()):
                        setattr(model, name, deserialize(value, field_type))
            else:  # the SDK takes a list or text where it wants an object: its own steps
                for json_name, attributes in fields.items():
                    if json_name in payload:
                        for name, field_type in attributes:
                            setattr(model, name, deserialize(payload[json_name], field_type))
            for extra in payload:  # the names the SDK has no field for, after the fields
                # ... a field's own name as it is ("slot_value" for "slotValue") too, as is,
                # as the SDK does; but never one that would replace the model's own workings
                # ("__dict__", "to_dict", "deserialized_types"): the SDK would set those too,
                # and then fail.
                if (
                    extra not in fields
                    and not extra.startswith("_")
                    and (extra in obj_type.deserialized_types or not hasattr(model, extra))
                ):
                    setattr(model, extra, payload[extra])
            return model
        except Exception as exc:
            raise SerializationException(str(exc)) from exc

    @staticmethod
    def _model_fields(obj_type: Any) -> dict[str, tuple[tuple[str, Any], ...]]:
        """Per JSON name, the attributes it fills and their types."""
        types = obj_type.deserialized_types
        names = dict(getattr(obj_type, "attribute_map", {}))
        names.update({k: k for k in types if k not in names})
        fields: dict[str, tuple[tuple[str, Any], ...]] = {}
        for name, json_name in names.items():
            # A name the SDK has no type for fails as in the SDK: only when the payload has it.
            fields[json_name] = (*fields.get(json_name, ()), (name, types.get(name, name)))
        return fields

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        if obj_type is datetime and isinstance(payload, str):
            try:
                return datetime.fromisoformat(payload)  # Alexa's ISO 8601, in C
            except ValueError:
                pass  # other spellings dateutil accepts
        return super()._DefaultSerializer__deserialize_datetime(payload, obj_type)  # type: ignore[misc]


_serializer = EnvelopeSerializer()
# Alexa's envelopes nest about ten levels (APL events a few more). A far deeper body is junk,
# and would overflow the stack in the SDK's recursive deserialiser and deepcopy: refuse it.
MAX_NESTING = 64
# A spoken question is a sentence; routing 100 KB of "words" takes a worker 0.3 s.
MAX_SLOT_VALUE = 1000
# A request type the SDK has no model for must still look like one of Alexa's names.
_REQUEST_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}(\.[A-Za-z][A-Za-z0-9]{0,63}){0,7}")


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
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A body without Content-Length (chunked) is read only up to the limit, and Werkzeug
        # returns it cut there without a word: one that reaches the limit is too large.
        raise RequestEntityTooLarge()
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
        data = json.loads(raw, parse_constant=_not_finite, parse_float=_finite_float)
    except BadEnvelope:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an int of > 4300 digits
        raise BadEnvelope("body is not JSON") from exc
    except RecursionError as exc:  # json's C parser gives up past the recursion limit
        raise BadEnvelope("body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise BadEnvelope("body must be a JSON object")
    # Nesting deeper than MAX_NESTING needs more brackets than that: only then walk the body.
    if raw.count(b"{") + raw.count(b"[") > MAX_NESTING:
        _check_nesting(data)
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
        for slot in (slots or {}).values():
            value = slot.get("value")
            if value is not None and not isinstance(value, str):
                raise BadEnvelope("field 'request.intent.slots' has a value that is not text")
            if value is not None and len(value) > MAX_SLOT_VALUE:
                raise BadEnvelope(f"a slot value is longer than {MAX_SLOT_VALUE} characters")
    known_type = req["type"] in Request.discriminator_value_class_map
    if not known_type:
        if not _REQUEST_TYPE.fullmatch(req["type"]):
            raise BadEnvelope("field 'request.type' is not a request type")
        data = {key: value for key, value in data.items() if key != "request"}
    try:
        envelope = _serializer.deserialize_data(data, RequestEnvelope)
    except Exception as exc:  # the SDK raises several types for wrong-typed fields
        raise BadEnvelope("body is not a valid request envelope") from exc
    if not known_type:
        # A type newer than the SDK's model (it would refuse it): a plain Request, which
        # OtherRequestHandler acknowledges, as Alexa expects of a skill that ignores an event.
        locale = req.get("locale")
        envelope.request = Request(
            object_type=req["type"],
            request_id=req["requestId"],
            locale=locale if isinstance(locale, str) else None,
        )
    return envelope


def _not_finite(constant: str) -> float:
    """json's hook for NaN and Infinity: JSON cannot carry them back, so refuse the body."""
    raise BadEnvelope("body has a number that is not finite")


def _finite_float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _not_finite(text)  # 1e999


def _check_nesting(data: dict[str, Any]) -> None:
    """Refuse nesting past MAX_NESTING."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise BadEnvelope("body is nested too deeply")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


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
    response, status = _error(exc.description or exc.name, exc.code or 400)
    # Keep the exception's own headers but its HTML content type (405 must name Allow).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status
