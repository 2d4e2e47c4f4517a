"""Structured logs: one JSON object per line, with nothing in it about who asked or what.

`JsonFormatter` writes time, level, logger and message, then any `extra=` fields. It never
writes a field whose name speaks of a person or their words (user, session, device, token,
question, query, ...), never an exception's message (it may quote the request), and of HTTP
access lines only method, path without the query string, status, size and duration.

Used by gunicorn through `dict_config()` (see gunicorn.conf.py) and by `configure()` for any
other process, e.g. `jak-guide serve`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

# What every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# `extra=` fields never written: ids of a person or a device, and what was said.
_PRIVATE_FIELD = re.compile(
    r"user|session|device|person|account|token|secret|question|query|utterance|slot|speech"
    r"|text|body|address|email|phone|ip\b|remote",
    re.IGNORECASE,
)
# Werkzeug's development server logs `<client ip> - - [<date>] "<request line>" <status> <size>`.
_WERKZEUG_REQUEST = '"%s" %s %s\n'

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then safe extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        http = _http_fields(record)
        if http is not None:
            entry["message"] = f"{http['method']} {http['path']} {http['status']}"
            entry.update(http)
        else:
            entry["message"] = record.getMessage()
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_") or key in entry:
                continue
            if not _PRIVATE_FIELD.search(key):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            entry["traceback"] = _traceback_without_messages(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        # ASCII: a lone surrogate from a request can't break the stream's encoding.
        return json.dumps(entry, default=_as_text, ensure_ascii=True)


def _http_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """An access line's safe fields, from gunicorn's atoms or Werkzeug's request line."""
    args = record.args
    if record.name == "gunicorn.access" and isinstance(args, Mapping):
        micros = args.get("D")
        return {
            "method": str(args.get("m") or "-"),
            "path": str(args.get("U") or "-"),  # PATH_INFO: no query string
            "status": _int_or_text(args.get("s")),
            "bytes": _int_or_text(args.get("B")),
            "duration_ms": round(micros / 1000, 3) if isinstance(micros, int) else None,
        }
    if (
        record.name == "werkzeug"
        and isinstance(args, tuple)
        and len(args) == 3
        and isinstance(record.msg, str)
        and record.msg.endswith(_WERKZEUG_REQUEST)
    ):
        method, _, rest = str(args[0]).partition(" ")
        return {
            "method": method,
            "path": rest.rsplit(" ", 1)[0].split("?", 1)[0],
            "status": _int_or_text(args[1]),
            "bytes": _int_or_text(args[2]),
        }
    return None


def _int_or_text(value: Any) -> int | str | None:
    if value is None or value == "-":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _traceback_without_messages(exc_info: ExcInfo) -> str:
    """The frames and exception types of a chain, without the messages (they may quote input)."""
    parts: list[str] = []
    exc: BaseException | None = exc_info[1]
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = "".join(traceback.format_tb(exc.__traceback__))
        parts.append(f"{frames}{type(exc).__module__}.{type(exc).__qualname__}")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\nwhile handling:\n".join(reversed(parts))


def _as_text(value: Any) -> str:
    return str(value)


def dict_config(
    level: str = "INFO", stream: str = "ext://sys.stderr", access_stream: str = "ext://sys.stdout"
) -> dict[str, Any]:
    """A `logging.config.dictConfig` for JSON lines (gunicorn's `logconfig_dict` takes it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": stream},
            "json_access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": access_stream,
            },
        },
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json_access"], "propagate": False},
        },
    }


def configure(level: int | str = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every log record of this process, as JSON lines, to `stream` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
