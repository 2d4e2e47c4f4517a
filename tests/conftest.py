"""Shared fixtures: the app, a Flask client, and Alexa request envelopes of the real shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from app import create_app
from skill.assembly import load_conversation
from skill.dialog import Conversation
from skill.envelopes import request_envelope
from skill.guide import Guide, load_guide

SKILL_ID = "amzn1.ask.skill.00000000-1111-2222-3333-444444444444"


@pytest.fixture(scope="session")
def guide() -> Guide:
    return load_guide()


@pytest.fixture(scope="session")
def conversation() -> Conversation:
    """The real content, loaded once."""
    return load_conversation()


@pytest.fixture
def changed_copy(tmp_path: Path) -> Callable[[Path, Callable[[Any], Any]], Path]:
    """A copy of a YAML content file, with `change` made to its data: for start-up errors."""

    def copy(source: Path, change: Callable[[Any], Any]) -> Path:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        change(data)
        path = tmp_path / source.name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return copy


@pytest.fixture
def client() -> FlaskClient:
    """A test client of a fresh app, with signature checks off (tested on their own)."""
    return create_app(
        {"TESTING": True, "VERIFY_REQUESTS": False, "SKILL_ID": SKILL_ID}
    ).test_client()


def make_envelope(request_type: str = "IntentRequest", **fields: Any) -> dict[str, Any]:
    """A request envelope as Alexa sends it, for this test skill id."""
    return request_envelope(request_type, skill_id=SKILL_ID, **fields)


@dataclass
class Turn:
    """One answered request: the HTTP status and the parts of Alexa's response."""

    status: int
    body: dict[str, Any]

    @property
    def response(self) -> dict[str, Any]:
        return self.body["response"]

    @property
    def ssml(self) -> str:
        return self.response["outputSpeech"]["ssml"]

    @property
    def reprompt(self) -> str | None:
        reprompt = self.response.get("reprompt")
        return reprompt["outputSpeech"]["ssml"] if reprompt else None

    @property
    def card(self) -> dict[str, Any] | None:
        return self.response.get("card")

    @property
    def ends_session(self) -> bool:
        return self.response.get("shouldEndSession") is True

    @property
    def attributes(self) -> dict[str, Any]:
        return self.body.get("sessionAttributes") or {}


@dataclass
class AlexaSession:
    """Plays Alexa's part over several turns: session attributes go back with each request."""

    client: FlaskClient
    attributes: dict[str, Any] = field(default_factory=dict)
    started: bool = False

    def send(self, envelope: dict[str, Any]) -> Turn:
        reply = self.client.post("/", json=envelope)
        turn = Turn(reply.status_code, reply.get_json())
        assert turn.status == 200, f"HTTP {turn.status}: {turn.body}"
        self.attributes = turn.attributes
        self.started = True
        return turn

    def launch(self) -> Turn:
        return self.send(make_envelope("LaunchRequest", new=True))

    def intent(self, name: str, **slots: str) -> Turn:
        return self.send(
            make_envelope(
                intent=name, slots=slots, attributes=self.attributes, new=not self.started
            )
        )

    def ask(self, question: str) -> Turn:
        return self.intent("QuestionIntent", query=question)


@pytest.fixture
def alexa(client: FlaskClient) -> AlexaSession:
    """A fresh Alexa conversation against the test client."""
    return AlexaSession(client)


@pytest.fixture
def make_request():
    """The envelope factory, for tests that send one request by hand."""
    return make_envelope
