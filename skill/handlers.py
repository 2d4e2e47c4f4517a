"""ask-sdk-core request handlers: one per thing a listener can do, each deciding nothing itself.

Handlers read the request, call one Conversation method and render its Reply. The dialog state
is loaded by a request interceptor and saved by `render`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ask_sdk_core.dispatch_components import (
    AbstractExceptionHandler,
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.response_helper import ResponseFactory
from ask_sdk_core.utils import get_intent_name, get_request_type, get_slot, is_request_type
from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill.dialog import Conversation, DialogState, Reply
from speech.ssml import build_ssml

log = logging.getLogger("jak_guide.skill")

QUESTION_INTENT = "QuestionIntent"
QUESTION_SLOT = "query"
LIST_TOPICS_INTENT = "ListTopicsIntent"
PERSONAL_DOSE_INTENT = "PersonalDoseIntent"
EMERGENCY_INTENT_SUFFIX = "EmergencyIntent"

Action = Callable[[DialogState], Reply]


def emergency_intent_name(rule_id: str) -> str:
    """The intent that catches one kind of emergency, e.g. `MedicalEmergencyIntent`."""
    return "".join(w.capitalize() for w in rule_id.split("_")) + EMERGENCY_INTENT_SUFFIX


def dialog_state(handler_input: HandlerInput) -> DialogState:
    """The state the request interceptor loaded for this request."""
    return handler_input.attributes_manager.request_attributes["dialog_state"]


def build_response(reply: Reply, pronunciations: dict[str, str]) -> Response:
    """Alexa's response for a Reply: SSML speech, reprompt, card and session flag."""
    builder = ResponseFactory()
    builder.speak(build_ssml(reply.speech, pronunciations))
    if reply.reprompt and not reply.end_session:
        builder.ask(build_ssml(reply.reprompt, pronunciations))
    if reply.card:
        builder.set_card(SimpleCard(title=reply.card.title, content=reply.card.text))
    builder.set_should_end_session(reply.end_session)
    return builder.response


def render(handler_input: HandlerInput, reply: Reply, pronunciations: dict[str, str]) -> Response:
    """The response for a Reply, keeping the new dialog state in the session."""
    if handler_input.request_envelope.session is not None:
        handler_input.attributes_manager.session_attributes = reply.state.to_attributes()
    handler_input.attributes_manager.request_attributes["outcome"] = reply.outcome
    return build_response(reply, pronunciations)


class ConversationHandler(AbstractRequestHandler):
    """Base: holds the conversation and renders replies."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def reply(self, handler_input: HandlerInput, reply: Reply) -> Response:
        """Render a reply with the skill's pronunciations."""
        return render(handler_input, reply, self.conversation.prompts.pronunciations)


class LaunchRequestHandler(ConversationHandler):
    """'Alexa, open jak guide': welcome, disclaimer, example questions."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.reply(handler_input, self.conversation.launch(dialog_state(handler_input)))


class TopicIntentHandler(ConversationHandler):
    """A per-topic intent, e.g. DosageIntent: that topic's answer."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return (
            is_request_type("IntentRequest")(handler_input)
            and self.conversation.guide.topic_for_intent(get_intent_name(handler_input)) is not None
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        topic = self.conversation.guide.topic_for_intent(get_intent_name(handler_input))
        assert topic is not None  # can_handle checked it
        state = dialog_state(handler_input)
        return self.reply(handler_input, self.conversation.ask_topic(state, topic.id))


class QuestionIntentHandler(ConversationHandler):
    """A free question ("what about {query}"): safety check, then the router."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input) and (
            get_intent_name(handler_input) == QUESTION_INTENT
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        slot = get_slot(handler_input, QUESTION_SLOT)
        question = (slot.value if slot is not None else None) or ""
        state = dialog_state(handler_input)
        if not question.strip():
            return self.reply(handler_input, self.conversation.fallback(state))
        return self.reply(handler_input, self.conversation.ask_question(state, question))


class EmergencyIntentHandler(ConversationHandler):
    """An emergency Alexa recognised itself: emergency guidance only."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input) and bool(
            self._rule_id(handler_input)
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        rule_id = self._rule_id(handler_input)
        reply = self.conversation.emergency_by_id(dialog_state(handler_input), rule_id)
        return self.reply(handler_input, reply)

    def _rule_id(self, handler_input: HandlerInput) -> str:
        name = get_intent_name(handler_input)
        for rule in self.conversation.prompts.emergencies:
            if emergency_intent_name(rule.id) == name:
                return rule.id
        return ""


class IntentActionHandler(ConversationHandler):
    """An intent that maps straight to one Conversation action (help, next, yes, ...)."""

    def __init__(self, conversation: Conversation, intent_names: tuple[str, ...], action: Action):
        super().__init__(conversation)
        self.intent_names = intent_names
        self.action = action

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input) and (
            get_intent_name(handler_input) in self.intent_names
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.reply(handler_input, self.action(dialog_state(handler_input)))


def intent_actions(conversation: Conversation) -> list[IntentActionHandler]:
    """The routing table for intents that need no slot: intent names -> action."""
    c = conversation
    table: list[tuple[tuple[str, ...], Action]] = [
        ((PERSONAL_DOSE_INTENT,), c.personal_dose),
        ((LIST_TOPICS_INTENT,), c.list_topics),
        (("AMAZON.HelpIntent",), c.help),
        (("AMAZON.StopIntent", "AMAZON.CancelIntent"), c.stop),
        (("AMAZON.NavigateHomeIntent",), c.launch),
        (("AMAZON.RepeatIntent",), c.repeat),
        (("AMAZON.NextIntent",), c.next),
        (("AMAZON.PreviousIntent",), c.previous),
        (("AMAZON.MoreIntent",), c.more),
        (("AMAZON.YesIntent",), c.yes),
        (("AMAZON.NoIntent",), c.no),
        (("AMAZON.StartOverIntent",), c.start_over),
        (("AMAZON.FallbackIntent",), c.fallback),
    ]
    return [IntentActionHandler(c, names, action) for names, action in table]


class UnknownIntentHandler(ConversationHandler):
    """An intent this skill does not define (a model newer than the code): treat as fallback."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.reply(handler_input, self.conversation.fallback(dialog_state(handler_input)))


class SessionEndedRequestHandler(AbstractRequestHandler):
    """The session closed (user left, silence or error): answer with no speech."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


class OtherRequestHandler(AbstractRequestHandler):
    """Any other request type (player, display or system events): acknowledge, say nothing."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Anything that went wrong: log its type, apologise, keep listening."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.error("handler failed: %s", type(exception).__name__, exc_info=exception)
        state = handler_input.attributes_manager.request_attributes.get("dialog_state")
        reply = self.conversation.error(state or DialogState())
        return render(handler_input, reply, self.conversation.prompts.pronunciations)


class DialogStateInterceptor(AbstractRequestInterceptor):
    """Load the dialog state from the session attributes, keeping only what is valid."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def process(self, handler_input: HandlerInput) -> None:
        session = handler_input.request_envelope.session
        attributes = session.attributes if session is not None else None
        state = DialogState.from_attributes(attributes, self.conversation.guide)
        handler_input.attributes_manager.request_attributes["dialog_state"] = state


class OutcomeLogInterceptor(AbstractResponseInterceptor):
    """Log what kind of request came and what was answered, at DEBUG: never user ids or
    question text. Which topic someone asked about (or that it was an emergency) is health
    content, so it stays out of production logs (INFO), which keep only the access line; set
    JAK_GUIDE_LOG_LEVEL=DEBUG on a machine of your own to see it."""

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        request_type = get_request_type(handler_input)
        intent = get_intent_name(handler_input) if request_type == "IntentRequest" else "-"
        outcome = handler_input.attributes_manager.request_attributes.get("outcome", "-")
        log.debug("request=%s intent=%s outcome=%s", request_type, intent, outcome)
