"""The `jak-guide` command: each sub-command wraps one library function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, TextIO

from skill.guide import GuideError

if TYPE_CHECKING:
    from skill.dialog import Conversation


class ExitStatus(IntEnum):
    """Exit codes of `jak-guide`."""

    OK = 0
    FAILED = 1
    BAD_CONTENT = 2


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one sub-command and return its exit status."""
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args, out))
    except GuideError as exc:
        print(f"jak-guide: content error: {exc}", file=sys.stderr)
        return ExitStatus.BAD_CONTENT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jak-guide", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the Alexa endpoint on this machine")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument(
        "--no-verify",
        action="store_true",
        help="accept requests without Alexa's signature (local testing only)",
    )
    serve.set_defaults(run=_serve)

    build = commands.add_parser("build-model", help="regenerate the Alexa skill package")
    build.add_argument("--endpoint", help="https URL of the deployed endpoint, for skill.json")
    build.set_defaults(run=_build_model)

    check = commands.add_parser("check", help="load the content and validate the skill package")
    check.set_defaults(run=_check)
    return parser


def _serve(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from app import create_app

    app = create_app({"VERIFY_REQUESTS": not args.no_verify})
    print(f"JAK Guide endpoint on http://{args.host}:{args.port}/", file=out)
    app.run(host=args.host, port=args.port)
    return ExitStatus.OK


def load_content() -> Conversation:
    """The content as the app loads it (JAK_GUIDE_TOPICS_FILE and _PROMPTS_FILE apply)."""
    from app import create_app

    return create_app({"VERIFY_REQUESTS": False}).extensions["jak_guide"]["conversation"]


def _build_model(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from interaction_model.generate import write_skill_package

    for path in write_skill_package(load_content(), args.endpoint):
        print(f"wrote {path}", file=out)
    return ExitStatus.OK


def _check(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from interaction_model.generate import interaction_model, manifest
    from interaction_model.validate import validate_interaction_model, validate_manifest

    conversation = load_content()
    model = interaction_model(conversation)
    problems = validate_interaction_model(model) + validate_manifest(manifest(conversation), model)
    for problem in problems:
        print(problem, file=out)
    topics = len(conversation.guide.topics)
    print(f"{topics} topics; {len(problems)} problem(s) in the skill package", file=out)
    return ExitStatus.FAILED if problems else ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
