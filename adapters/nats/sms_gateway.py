"""SMS gateways of the pusher: where a text for a worker goes.

Owns: the `Gateway` protocol, `FileGateway` (one JSON line per SMS: demo, tests, an audit
trail), `ConsoleGateway`, and `gateway_from_spec` ("file:PATH" | "console").

Invariants: a gateway is addressed by worker id, never by phone number: events carry only
masked phones. A real gateway (an operator's SMS API) implements `send` by resolving the
number through an authorised look-up of the registry (the worker's sealed contact,
unsealed under the worker's key by a service allowed to), and must not log the number.
Limits: `FileGateway` appends under a process-local lock (one writer process per file).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Protocol


class Gateway(Protocol):
    def send(self, worker_id: str, text: str, *, event_id: str) -> None: ...


class FileGateway:
    """Appends one JSON line per SMS to a file (demo, tests, audit of what was sent)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def send(self, worker_id: str, text: str, *, event_id: str) -> None:
        line = json.dumps(
            {
                "ts_ms": time.time_ns() // 1_000_000,
                "worker_id": worker_id,
                "text": text,
                "event_id": event_id,
            },
            ensure_ascii=False,
        )
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class ConsoleGateway:
    def send(self, worker_id: str, text: str, *, event_id: str) -> None:
        print(f"[SMS -> {worker_id}] {text}", file=sys.stdout, flush=True)


def gateway_from_spec(spec: str) -> Gateway:
    """`file:PATH` or `console`."""
    if spec == "console":
        return ConsoleGateway()
    if spec.startswith("file:") and len(spec) > 5:
        return FileGateway(spec[5:])
    raise ValueError(f"unknown gateway {spec!r}: use file:PATH or console")
