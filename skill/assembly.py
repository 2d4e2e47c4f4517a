"""Put the skill together: load the content, build the router and register the handlers."""

from __future__ import annotations

from pathlib import Path

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder

from skill import handlers as h
from skill.dialog import Conversation
from skill.guide import GUIDE_TOPICS_FILE, load_guide
from skill.prompts import PROMPTS_FILE, load_prompts
from skill.review_log import ReviewLog
from skill.router import Router


def load_conversation(
    topics_file: Path | str = GUIDE_TOPICS_FILE,
    prompts_file: Path | str = PROMPTS_FILE,
    review_log_file: Path | str | None = None,
) -> Conversation:
    """Load and check the content files, and build the router over them (GuideError if bad)."""
    guide = load_guide(topics_file)
    prompts = load_prompts(guide, prompts_file)
    review_log = ReviewLog(Path(review_log_file)) if review_log_file else None
    return Conversation(guide, prompts, Router(guide), review_log)


def build_skill_builder(conversation: Conversation, skill_id: str | None = None) -> SkillBuilder:
    """The ask-sdk skill builder with every handler, in dispatch order."""
    sb = SkillBuilder()
    sb.skill_id = skill_id
    sb.add_global_request_interceptor(h.DialogStateInterceptor(conversation))
    sb.add_global_response_interceptor(h.OutcomeLogInterceptor())
    sb.add_request_handler(h.LaunchRequestHandler(conversation))
    sb.add_request_handler(h.EmergencyIntentHandler(conversation))
    sb.add_request_handler(h.TopicIntentHandler(conversation))
    sb.add_request_handler(h.QuestionIntentHandler(conversation))
    for handler in h.intent_actions(conversation):
        sb.add_request_handler(handler)
    sb.add_request_handler(h.UnknownIntentHandler(conversation))
    sb.add_request_handler(h.SessionEndedRequestHandler())
    sb.add_request_handler(h.OtherRequestHandler())
    sb.add_exception_handler(h.CatchAllExceptionHandler(conversation))
    return sb


def build_skill(conversation: Conversation, skill_id: str | None = None) -> CustomSkill:
    """A ready-to-invoke skill object."""
    return build_skill_builder(conversation, skill_id).create()
