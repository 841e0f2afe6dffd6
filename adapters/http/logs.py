"""Structured logs: one JSON object per line, never personal data.

Owns: `JsonFormatter`, `make_logger` (the `lingong.http` logger writing to a stream),
`request_record` (the fields logged for one request) and `AccessLog`, which keeps request
lines off the request path: a handler appends the fields to a queue; `drain` (every
`metrics.DRAIN_S` on the event loop, on shutdown, and when `MAX_PENDING` lines wait)
formats them and writes them to the logger's stream in one write.

Invariants: a request line holds the route template (never the path: ids in paths are
chosen by front ends and could be anything), the method, status, duration, token id
(never the token), command type, refusal rule and, for a 500, the exception type only
(exception messages can echo input). Free-form messages pass `scrub`.

Limits: at most `MAX_PENDING` request lines wait for a drain; the stream is the
operator's (stderr by default).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections import deque
from pathlib import Path
from typing import IO, Any

from adapters.http.problems import scrub

LOGGER_NAME = "lingong.http"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
_FIELDS = ("lingong_token", "lingong_command", "lingong_rule", "lingong_error")
MAX_PENDING = 4096


def _head(created_s: float, level: str, logger: str, msg: str) -> dict[str, Any]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created_s))
    ms = int((created_s % 1) * 1000)
    return {"ts": f"{ts}.{ms:03d}Z", "level": level, "logger": logger, "msg": scrub(msg)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = _head(record.created, record.levelname.lower(), record.name, record.getMessage())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # the type and where, never the message (it can echo input)
            out["exception"] = record.exc_info[0].__name__
            frames = traceback.extract_tb(record.exc_info[2])[-8:]
            out["frames"] = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def make_logger(stream: IO[str] | None = None, name: str = LOGGER_NAME) -> logging.Logger:
    """A new logger writing JSON lines to `stream` (stderr by default).

    uvicorn's own loggers (`lingong serve` passes `log_config=None`) get the same handler,
    so the server's start/stop lines are JSON too (those are process-wide: the last app
    made wins).
    """
    logger = logging.Logger(name)  # one per app, not in the global registry
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for other in UVICORN_LOGGERS:
        ulog = logging.getLogger(other)
        for old in list(ulog.handlers):
            ulog.removeHandler(old)
        ulog.addHandler(handler)
        ulog.setLevel(logging.INFO)
        ulog.propagate = False
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


class AccessLog:
    """Request lines of one app, written in batches (see the module docstring)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._pending: deque[tuple[float, int, dict[str, Any]]] = deque()

    def add(self, level: int, fields: dict[str, Any]) -> None:
        self._pending.append((time.time(), level, fields))
        if len(self._pending) >= MAX_PENDING:
            self.drain()

    def drain(self) -> int:
        lines: list[str] = []
        pending = self._pending
        while True:
            try:
                created, level, fields = pending.popleft()
            except IndexError:
                break
            if not self.logger.isEnabledFor(level):
                continue
            out = _head(created, logging.getLevelName(level).lower(), self.logger.name, "request")
            out.update(fields)
            lines.append(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
        if lines:
            for handler in self.logger.handlers:
                stream = getattr(handler, "stream", None)
                if stream is not None:
                    stream.write("".join(lines))
                    stream.flush()
        return len(lines)
