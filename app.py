"""JAK Guide's web app: `flask --app app run`, or `jak-guide serve`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from skill import endpoint
from skill.assembly import build_skill_builder, load_conversation
from skill.guide import GUIDE_TOPICS_FILE
from skill.prompts import PROMPTS_FILE


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then JAK_GUIDE_* environment settings, then `config`."""
    app = Flask(__name__)
    app.config.from_mapping(
        TOPICS_FILE=str(GUIDE_TOPICS_FILE),
        PROMPTS_FILE=str(PROMPTS_FILE),
        SKILL_ID=None,
        # Opt-in, local: a JSON lines file of declined and low-confidence questions.
        REVIEW_LOG=None,
        VERIFY_REQUESTS=True,
        # Alexa's requests are a few KB; anything far larger is refused with 413.
        MAX_CONTENT_LENGTH=128 * 1024,
    )
    app.config.from_prefixed_env("JAK_GUIDE")
    if config:
        app.config.from_mapping(config)
    conversation = load_conversation(
        app.config["TOPICS_FILE"], app.config["PROMPTS_FILE"], app.config["REVIEW_LOG"]
    )
    endpoint.init_app(app, conversation)
    return app


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point: the same skill, without Flask (set JAK_GUIDE_SKILL_ID)."""
    return _lambda_skill_handler()(event, context)


@functools.cache
def _lambda_skill_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    # Built on the first call and kept while the Lambda container is warm.
    skill_id = os.environ.get("JAK_GUIDE_SKILL_ID") or None
    return build_skill_builder(load_conversation(), skill_id).lambda_handler()


def __getattr__(name: str) -> Flask:
    # `app` is built on first use (flask --app app, gunicorn app:app, `from app import app`),
    # so importing create_app or lambda_handler builds nothing.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
