"""Play Alexa's part on a laptop: typed or recognised text becomes the request envelope Alexa
would send, posted to the real endpoint, session attributes carried from turn to turn."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from interaction_model.generate import interaction_model
from skill.dialog import Conversation
from skill.envelopes import LOCAL_SKILL_ID, request_envelope
from skill.handlers import QUESTION_INTENT, QUESTION_SLOT
from skill.text import normalise

# What Alexa's built-in intents are trained on, enough for a local conversation.
BUILT_IN_PHRASES = {
    "AMAZON.NextIntent": ("next", "skip", "go on", "continue", "next one"),
    "AMAZON.PreviousIntent": ("go back", "back", "previous", "last one"),
    "AMAZON.RepeatIntent": ("repeat", "say that again", "again", "repeat that", "pardon"),
    "AMAZON.YesIntent": ("yes", "yeah", "yep", "sure", "yes please", "ok", "okay"),
    "AMAZON.NoIntent": ("no", "nope", "no thanks", "no thank you"),
    "AMAZON.MoreIntent": ("more", "tell me more", "go on please"),
    "AMAZON.StopIntent": ("stop", "quit", "exit", "goodbye", "bye"),
    "AMAZON.CancelIntent": ("cancel", "never mind"),
    "AMAZON.HelpIntent": ("help", "what can you do", "help me"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again"),
    "AMAZON.NavigateHomeIntent": ("go home", "home", "main menu"),
}


@dataclass(frozen=True)
class LocalTurn:
    """One answered request: the intent sent and the response envelope received."""

    intent: str
    envelope: dict[str, Any]

    @property
    def ssml(self) -> str:
        """The speech, or an empty string for a response without any."""
        speech = self.envelope.get("response", {}).get("outputSpeech") or {}
        return speech.get("ssml", "")

    @property
    def ends_session(self) -> bool:
        """Whether the skill closed the session."""
        return self.envelope.get("response", {}).get("shouldEndSession") is True


@dataclass
class LocalAlexa:
    """A local stand-in for the Alexa service, driving the real Flask endpoint."""

    app: Flask
    attributes: dict[str, Any] = field(default_factory=dict)
    in_session: bool = False

    def __post_init__(self) -> None:
        conversation: Conversation = self.app.extensions["jak_guide"]["conversation"]
        self._client = self.app.test_client()
        self.conversation = conversation
        self._sentences = _model_samples(conversation)
        self._samples = {normalise(text): intent for text, intent in self._sentences.items()}
        self._built_ins = {
            normalise(p): intent for intent, phrases in BUILT_IN_PHRASES.items() for p in phrases
        }
        self._carriers = [
            re.compile("^" + re.escape(c).replace(re.escape("{query}"), "(?P<query>.+)") + "$")
            for c in conversation.prompts.question_carriers
        ]

    def launch(self) -> LocalTurn:
        """'Alexa, open jak guide'."""
        self.attributes, self.in_session = {}, False
        return self._send(
            "LaunchRequest", request_envelope("LaunchRequest", new=True, **self._ids())
        )

    def say(self, text: str) -> LocalTurn:
        """One spoken line, resolved to an intent the way Alexa's model would."""
        intent, slots = self.resolve(text)
        return self.intent(intent, slots)

    def intent(self, intent: str, slots: dict[str, str] | None = None) -> LocalTurn:
        """An IntentRequest for a named intent, in the current session."""
        envelope = request_envelope(
            intent=intent,
            slots=slots,
            attributes=self.attributes,
            new=not self.in_session,
            **self._ids(),
        )
        return self._send(intent, envelope)

    def resolve(self, text: str) -> tuple[str, dict[str, str]]:
        """The intent (and slots) for a line: a built-in, a sample utterance, or a question."""
        spoken = " ".join(text.lower().replace("?", " ").replace(",", " ").split())
        key = normalise(spoken)
        if key in self._built_ins:
            return self._built_ins[key], {}
        if key in self._samples:
            return self._samples[key], {}
        for carrier in self._carriers:
            match = carrier.match(spoken)
            if match:
                return QUESTION_INTENT, {QUESTION_SLOT: match.group("query")}
        return QUESTION_INTENT, {QUESTION_SLOT: spoken}

    def known_sentences(self) -> list[str]:
        """Every sample utterance of the skill's model (not the free-question carriers)."""
        return sorted(self._sentences)

    def _ids(self) -> dict[str, str]:
        return {"skill_id": self.app.config.get("SKILL_ID") or LOCAL_SKILL_ID}

    def _send(self, intent: str, envelope: dict[str, Any]) -> LocalTurn:
        reply = self._client.post("/", json=envelope)
        body = reply.get_json(silent=True) or {}
        if reply.status_code != 200:
            raise RuntimeError(f"the endpoint answered HTTP {reply.status_code}: {body}")
        turn = LocalTurn(intent=intent, envelope=body)
        self.attributes = body.get("sessionAttributes") or {}
        self.in_session = not turn.ends_session
        return turn


def local_app() -> Flask:
    """The real app, for local use only: no signatures to check, and no warning about it."""
    from app import create_app

    # Nothing reaches this app from a network, so the "verification is off" warning is noise.
    endpoint_log = logging.getLogger("jak_guide.endpoint")
    level = endpoint_log.level
    endpoint_log.setLevel(logging.ERROR)
    try:
        return create_app({"VERIFY_REQUESTS": False, "SKILL_ID": None})
    finally:
        endpoint_log.setLevel(level)


def _model_samples(conversation: Conversation) -> dict[str, str]:
    model = interaction_model(conversation)["interactionModel"]["languageModel"]
    return {
        sample: intent["name"]
        for intent in model["intents"]
        if not intent.get("slots")
        for sample in intent["samples"]
    }
