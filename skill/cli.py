"""The `jak-guide` command: each sub-command wraps one library function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
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
    # The server logs each request's outcome; the local commands print answers, not logs.
    level = logging.INFO if args.command == "serve" else logging.WARNING
    if args.command == "serve":
        from skill.log_format import configure

        configure(level)  # JSON lines: no user ids, question text or query strings
    else:
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
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

    review = commands.add_parser("review", help="list logged questions by nearest topic")
    review.add_argument(
        "--log", type=Path, help="the review log (default: the JAK_GUIDE_REVIEW_LOG setting)"
    )
    review.set_defaults(run=_review)

    def voice_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--voice", help="the local engine's voice id or name (default: en-us)")
        command.add_argument("--rate", type=int, help="speaking rate in words per minute")

    ask = commands.add_parser("ask", help="ask one question offline; print and speak the answer")
    ask.add_argument("question")
    ask.add_argument("--wav", type=Path, help="write the speech to this WAV file instead")
    ask.add_argument("--json", action="store_true", help="print the full response envelope")
    voice_options(ask)
    ask.set_defaults(run=_ask)

    chat = commands.add_parser("chat", help="a spoken conversation at the terminal")
    chat.add_argument("--wav-dir", type=Path, help="save each turn's speech here instead")
    voice_options(chat)
    chat.set_defaults(run=_chat)

    listen = commands.add_parser("listen", help="recognise a spoken question (WAV) and answer it")
    listen.add_argument("question_wav", type=Path)
    listen.add_argument("--wav", type=Path, help="write the answer's speech to this WAV file")
    voice_options(listen)
    listen.set_defaults(run=_listen)

    render = commands.add_parser("render", help="write every topic's spoken answer to WAV")
    render.add_argument("--out", type=Path, required=True, help="folder for the WAV files")
    voice_options(render)
    render.set_defaults(run=_render)
    return parser


def _serve(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from app import create_app

    app = create_app({"VERIFY_REQUESTS": not args.no_verify})
    print(f"JAK Guide endpoint on http://{args.host}:{args.port}/", file=out)
    app.run(host=args.host, port=args.port)
    return ExitStatus.OK


def load_content() -> Conversation:
    """The content as the app loads it (JAK_GUIDE_TOPICS_FILE and _PROMPTS_FILE apply)."""
    from skill.local_alexa import local_app

    return local_app().extensions["jak_guide"]["conversation"]


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


def _review(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from skill.review_log import review_report

    conversation = load_content()
    path = args.log or (conversation.review_log and conversation.review_log.path)
    if not path:
        print("jak-guide: no review log: set JAK_GUIDE_REVIEW_LOG or pass --log", file=sys.stderr)
        return ExitStatus.FAILED
    print(review_report(Path(path), conversation.guide), file=out)
    return ExitStatus.OK


def _ask(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from skill import offline
    from skill.local_alexa import LocalAlexa, local_app
    from speech.tts import LocalVoice

    alexa = LocalAlexa(local_app())
    voice = LocalVoice(args.voice, args.rate)
    offline.ask(alexa, args.question, voice, out, wav=args.wav, as_json=args.json)
    return ExitStatus.OK


def _chat(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from skill import offline
    from skill.local_alexa import LocalAlexa, local_app
    from speech.tts import LocalVoice

    def prompt() -> None:
        print("you> ", end="", file=out, flush=True)

    alexa = LocalAlexa(local_app())
    voice = LocalVoice(args.voice, args.rate)
    offline.chat(alexa, sys.stdin, voice, out, wav_dir=args.wav_dir, prompt=prompt)
    return ExitStatus.OK


def _listen(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from skill import offline
    from skill.local_alexa import LocalAlexa, local_app
    from speech.recognition import QuestionRecogniser
    from speech.tts import LocalVoice

    if not args.question_wav.is_file():
        print(f"jak-guide: no such file: {args.question_wav}", file=sys.stderr)
        return ExitStatus.FAILED
    alexa = LocalAlexa(local_app())
    recogniser = QuestionRecogniser(offline.recognition_sentences(alexa))
    voice = LocalVoice(args.voice, args.rate)
    offline.listen(alexa, args.question_wav, recogniser, voice, out, wav=args.wav)
    return ExitStatus.OK


def _render(args: argparse.Namespace, out: TextIO) -> ExitStatus:
    from skill import offline
    from skill.local_alexa import LocalAlexa, local_app
    from speech.tts import LocalVoice

    alexa = LocalAlexa(local_app())
    voice = LocalVoice(args.voice, args.rate)
    rendered = offline.render_all(alexa, args.out, voice, progress=sys.stderr)
    print(offline.duration_table(rendered), file=out)
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
