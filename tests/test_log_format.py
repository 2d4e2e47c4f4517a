"""JSON log lines, and nothing in any log about who asked or what they asked."""

from __future__ import annotations

import io
import json
import logging
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

from app import create_app
from skill.log_format import JsonFormatter, configure, dict_config
from tests.conftest import SKILL_ID, make_envelope

ROOT = Path(__file__).resolve().parent.parent
USER_ID = "amzn1.ask.account.PRIVATE-USER-4242"
SESSION_ID = "amzn1.echo-api.session.PRIVATE-SESSION-4242"
DEVICE_ID = "amzn1.ask.device.PRIVATE-DEVICE-4242"
ACCESS_TOKEN = "private-access-token-4242"
QUESTION = "does my purple giraffe tablet zyxwv mix with grapefruit"
SECRETS = (USER_ID, SESSION_ID, DEVICE_ID, ACCESS_TOKEN, QUESTION, "zyxwv", "giraffe")


def record(msg: str = "hello %s", args: tuple = ("world",), **extra) -> logging.LogRecord:
    rec = logging.LogRecord("jak_guide.test", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_a_log_line_is_one_json_object_with_the_expected_keys():
    line = JsonFormatter().format(record(outcome="topic:dosage:0", request_type="IntentRequest"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "jak_guide.test"
    assert entry["message"] == "hello world"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert entry["outcome"] == "topic:dosage:0"
    assert entry["request_type"] == "IntentRequest"


def test_extra_fields_about_a_person_or_their_words_are_never_written():
    line = JsonFormatter().format(
        record(
            userId=USER_ID,
            user_id=USER_ID,
            session_id=SESSION_ID,
            deviceId=DEVICE_ID,
            apiAccessToken=ACCESS_TOKEN,
            question=QUESTION,
            query=QUESTION,
            remote_addr="203.0.113.9",
            intent="QuestionIntent",
        )
    )
    entry = json.loads(line)
    assert entry["intent"] == "QuestionIntent"
    assert not any(secret in line for secret in SECRETS)
    assert "203.0.113.9" not in line


def test_an_exception_is_logged_by_type_and_frames_without_its_message():
    try:
        try:
            raise KeyError(QUESTION)
        except KeyError as inner:
            raise RuntimeError(f"could not answer {USER_ID}") from inner
    except RuntimeError:
        rec = logging.LogRecord(
            "jak_guide.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(rec)
    entry = json.loads(line)
    assert entry["exception"] == "RuntimeError"
    assert "builtins.KeyError" in entry["traceback"]
    assert "builtins.RuntimeError" in entry["traceback"]
    assert "test_an_exception_is_logged" in entry["traceback"]  # the frames are there
    assert not any(secret in line for secret in SECRETS)


def test_text_that_is_not_ascii_or_not_even_unicode_stays_one_valid_line():
    line = JsonFormatter().format(record("said %s", ("\ud800 caf\u00e9 \n \u2028",)))
    assert line.isascii() and "\n" not in line
    assert json.loads(line)["message"] == "said \ud800 caf\u00e9 \n \u2028"


def gunicorn_access_record(query: str = "user=secret") -> logging.LogRecord:
    """An access record as gunicorn makes it: its format string and every atom as args."""
    atoms = {
        "h": "203.0.113.9",
        "r": f"POST /?{query} HTTP/1.1",
        "m": "POST",
        "U": "/",
        "q": query,
        "s": "200",
        "B": 1472,
        "D": 2345,
        "M": 2,
        "a": "curl/8.0",
        "{signature-256}i": "c2lnbmF0dXJl",
        "{x-user}i": USER_ID,
    }
    log_format = '%(h)s "%(r)s" %(s)s %(B)s'  # a format with the client and the query string
    rec = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, log_format, (), None)
    rec.args = atoms  # gunicorn passes the atoms mapping as the only argument
    return rec


def test_a_gunicorn_access_line_has_only_method_path_status_size_and_duration():
    line = JsonFormatter().format(gunicorn_access_record())
    entry = json.loads(line)
    assert entry["message"] == "POST / 200"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/", 200)
    assert entry["bytes"] == 1472 and entry["duration_ms"] == 2.345
    for private in ("203.0.113.9", "user=secret", "c2lnbmF0dXJl", USER_ID, "curl"):
        assert private not in line


def test_a_werkzeug_request_line_loses_the_client_address_and_query_string():
    rec = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '203.0.113.9 - - [24/Nov/2026 16:00:00] "%s" %s %s\n',
        (f"GET /health?user={USER_ID} HTTP/1.1", "200", "-"),
        None,
    )
    line = JsonFormatter().format(rec)
    entry = json.loads(line)
    assert entry["message"] == "GET /health 200"
    assert entry["path"] == "/health" and entry["bytes"] is None
    assert USER_ID not in line and "203.0.113.9" not in line


def test_configure_sends_every_record_as_json_lines():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure(logging.DEBUG, stream)
        logging.getLogger("jak_guide.test").debug("one")
        logging.getLogger("other.library").warning("two")
    finally:
        root.handlers[:], root.level = saved
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["logger"], e["message"]) for e in entries] == [
        ("jak_guide.test", "one"),
        ("other.library", "two"),
    ]


def test_the_gunicorn_config_uses_only_known_settings_and_json_logging():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    known = {setting.name for setting in KNOWN_SETTINGS}
    ours = {
        name
        for name, value in config.items()
        if not name.startswith("_") and not callable(value) and not isinstance(value, type(sys))
    } - {"annotations"}
    assert ours <= known, ours - known  # gunicorn silently ignores a misspelt setting
    assert config["logconfig_dict"] == dict_config(level=config["loglevel"].upper())
    assert config["preload_app"] and config["timeout"] <= 30 and config["keepalive"] <= 10
    assert "%(r)s" not in config["access_log_format"]  # the request line holds the query
    assert "%(q)s" not in config["access_log_format"]


def test_the_gunicorn_logging_config_writes_json_lines():
    code = (
        "import logging, logging.config, runpy\n"
        "config = runpy.run_path('gunicorn.conf.py')\n"
        "logging.config.dictConfig(config['logconfig_dict'])\n"
        "logging.getLogger('jak_guide.skill').info('outcome %s', 'x', extra={'userId': 'u-1'})\n"
        "logging.getLogger('gunicorn.error').warning('worker %s', 7)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["logger"], e["message"]) for e in entries] == [
        ("jak_guide.skill", "outcome x"),
        ("gunicorn.error", "worker 7"),
    ]
    assert "u-1" not in done.stderr


def private_envelope(request_type: str = "IntentRequest", **fields) -> dict:
    envelope = make_envelope(request_type, **fields)
    envelope["session"]["sessionId"] = SESSION_ID
    for holder in (envelope["session"], envelope["context"]["System"]):
        holder["user"] = {"userId": USER_ID, "accessToken": ACCESS_TOKEN}
    envelope["context"]["System"]["device"]["deviceId"] = DEVICE_ID
    envelope["context"]["System"]["apiAccessToken"] = ACCESS_TOKEN
    return envelope


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture):
    """Every record of every logger, at DEBUG, and the JSON line each would be written as."""
    caplog.set_level(logging.DEBUG)
    formatter = JsonFormatter()

    def lines() -> list[str]:
        # A record's exc_info holds the exception itself, message and all: only the JSON
        # line shows what is written of it.
        hidden = {"exc_info", "exc_text", "msg", "args"}
        return [
            " ".join(
                (
                    r.getMessage(),
                    repr({k: v for k, v in vars(r).items() if k not in hidden}),
                    formatter.format(r),
                )
            )
            for r in caplog.records
        ]

    return lines


def test_no_log_record_holds_the_user_session_device_or_question(everything_logged, monkeypatch):
    app = create_app({"TESTING": True, "VERIFY_REQUESTS": False, "SKILL_ID": SKILL_ID})
    client = app.test_client()
    conversation = app.extensions["jak_guide"]["conversation"]
    question = {"intent": "QuestionIntent", "slots": {"query": QUESTION}}

    # A decline, an answer, an emergency, other request types, a refused envelope.
    assert client.post("/", json=private_envelope(**question)).status_code == 200
    answered = {"intent": "QuestionIntent", "slots": {"query": "what are the side effects zyxwv"}}
    assert client.post("/", json=private_envelope(**answered)).status_code == 200
    emergency = {"intent": "QuestionIntent", "slots": {"query": f"chest pain {QUESTION}"}}
    assert client.post("/", json=private_envelope(**emergency)).status_code == 200
    for request_type in ("LaunchRequest", "SessionEndedRequest", "AudioPlayer.PlaybackStarted"):
        assert client.post("/", json=private_envelope(request_type)).status_code == 200
    bad = private_envelope(**question)
    bad["request"]["intent"]["slots"]["query"]["value"] = {"text": QUESTION}
    assert client.post("/", json=bad).status_code == 400

    # A failing handler whose exception quotes the question.
    def broken(state, text):
        raise RuntimeError(f"cannot route {text} for {USER_ID}")

    monkeypatch.setattr(conversation, "ask_question", broken)
    assert client.post("/", json=private_envelope(**question)).status_code == 200

    logged = everything_logged()
    assert any("outcome=" in line for line in logged)  # the outcome lines were captured
    assert any("handler failed" in line for line in logged)
    leaks = [line for line in logged if any(secret in line for secret in SECRETS)]
    assert not leaks, leaks[0][:500]


def test_a_refused_unverified_request_logs_no_user_or_question(everything_logged):
    client = create_app({"TESTING": True, "SKILL_ID": SKILL_ID}).test_client()
    reply = client.post("/", json=private_envelope(intent="QuestionIntent"))
    assert reply.status_code == 400
    logged = everything_logged()
    assert any("refused" in line for line in logged)
    assert not [line for line in logged if any(secret in line for secret in SECRETS)]


def test_at_info_a_question_logs_nothing_about_what_was_asked(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    client = create_app({"TESTING": True, "VERIFY_REQUESTS": False}).test_client()
    caplog.clear()
    for query in ("what is the dosage", "i have chest pain"):
        envelope = private_envelope(intent="QuestionIntent", slots={"query": query})
        assert client.post("/", json=envelope).status_code == 200
    skill_lines = [r.getMessage() for r in caplog.records if r.name.startswith("jak_guide")]
    assert skill_lines == []
    caplog.set_level(logging.DEBUG)
    assert client.post("/", json=private_envelope(intent="QuestionIntent")).status_code == 200
    assert [r.levelno for r in caplog.records if "outcome=" in r.getMessage()] == [logging.DEBUG]
