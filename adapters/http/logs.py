"""Structured logs: one JSON object per line, never personal data.

Owns: `JsonFormatter`, `make_logger` (the `lingong.http` logger writing to a stream) and
`request_record`, the fields logged for one request.

Invariants: a request line holds the route template (never the path: ids in paths are
chosen by front ends and could be anything), the method, status, duration, token id
(never the token), command type, refusal rule and, for a 500, the exception type only
(exception messages can echo input). Free-form messages pass `scrub`.

Limits: none; the stream is the operator's (stderr by default).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from adapters.http.problems import scrub

LOGGER_NAME = "lingong.http"
_FIELDS = ("lingong_token", "lingong_command", "lingong_rule", "lingong_error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def make_logger(stream: IO[str] | None = None, name: str = LOGGER_NAME) -> logging.Logger:
    """A logger writing JSON lines to `stream` (stderr by default); replaces handlers."""
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def request_record(
    scope: dict[str, Any], route: str, status: int, duration_s: float
) -> dict[str, Any]:
    state = scope.get("state") or {}
    out: dict[str, Any] = {
        "event": "request",
        "method": scope.get("method", ""),
        "route": route,
        "status": status,
        "ms": round(duration_s * 1000, 3),
    }
    for key in _FIELDS:
        value = state.get(key)
        if value:
            out[key.removeprefix("lingong_")] = str(value)
    return out
