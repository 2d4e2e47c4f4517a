"""Alexa request envelopes of the shape Alexa sends, for the local voice mode and the tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

LOCAL_SKILL_ID = "amzn1.ask.skill.local-jak-guide"
LOCAL_USER_ID = "amzn1.ask.account.LOCAL"


def request_envelope(
    request_type: str = "IntentRequest",
    intent: str | None = None,
    slots: dict[str, str] | None = None,
    attributes: dict[str, Any] | None = None,
    new: bool = False,
    session_id: str = "amzn1.echo-api.session.local",
    skill_id: str = LOCAL_SKILL_ID,
) -> dict[str, Any]:
    """A request envelope: version, session, context.System and request."""
    application = {"applicationId": skill_id}
    request: dict[str, Any] = {
        "type": request_type,
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locale": "en-US",
    }
    if request_type == "IntentRequest":
        request["dialogState"] = "STARTED"
        request["intent"] = {
            "name": intent,
            "confirmationStatus": "NONE",
            "slots": {
                name: {"name": name, "value": value, "confirmationStatus": "NONE"}
                for name, value in (slots or {}).items()
            },
        }
    if request_type == "SessionEndedRequest":
        request["reason"] = "USER_INITIATED"
    return {
        "version": "1.0",
        "session": {
            "new": new,
            "sessionId": session_id,
            "application": application,
            "attributes": attributes or {},
            "user": {"userId": LOCAL_USER_ID},
        },
        "context": {
            "System": {
                "application": application,
                "user": {"userId": LOCAL_USER_ID},
                "device": {"deviceId": "amzn1.ask.device.LOCAL", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "local-token",
            }
        },
        "request": request,
    }
