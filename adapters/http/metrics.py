"""Prometheus metrics of the HTTP API (prefix `lingong_`), one registry per app.

Owns: `Metrics`: requests by route template, method and status; request and command
latency histograms; refusals by command and rule; rate-limited requests; board clients;
the engine's queue depth, log position, batch count, internal errors and readiness, and
the log's recovery (bytes cut from a torn tail and moved to quarantine), complaint cases
open and overdue (限时办结), read when scraped.

Off the request path: a request, a command's latency and a refusal are appended to a
queue (`deque.append`, thread-safe, no lock taken by the handler) and folded into the
Prometheus objects by `drain`, which runs every `DRAIN_S` on the event loop, before every
scrape and whenever `MAX_PENDING` observations wait.

Invariants: label values are only route templates (`/workers/{worker_id}`, never the
path itself), HTTP methods, status codes, command type names and refusal rule words,
so no id, phone or ID number can become a label; the label sets are bounded.

Limits: a private `CollectorRegistry` per app, so several apps (tests) can coexist; at
most `MAX_PENDING` observations wait for a drain.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from adapters.shell.service import EngineService

LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
UNMATCHED_ROUTE = "<unmatched>"
DRAIN_S = 0.5
MAX_PENDING = 4096


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "lingong_http_requests",
            "HTTP requests by route template, method and status",
            ("route", "method", "status"),
            registry=r,
        )
        self.request_seconds = Histogram(
            "lingong_http_request_seconds",
            "HTTP request latency by route template",
            ("route", "method"),
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.command_seconds = Histogram(
            "lingong_command_seconds",
            "Time from submitting a command to its durable result (group commit, fsync)",
            ("command",),
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.refusals = Counter(
            "lingong_refusals",
            "Commands refused (by the gate or the engine), by command type and rule",
            ("command", "rule"),
            registry=r,
        )
        self.rate_limited = Counter(
            "lingong_http_rate_limited", "Requests refused by the per-token rate limit", registry=r
        )
        self.board_clients = Gauge(
            "lingong_board_clients", "Open station-board event streams", registry=r
        )
        self.queue_depth = Gauge(
            "lingong_queue_depth", "Commands and queries waiting for the writer", registry=r
        )
        self.log_seq = Gauge("lingong_log_last_seq", "Seq of the last durable record", registry=r)
        self.batches = Gauge(
            "lingong_writer_batches", "Group-commit batches run by the writer", registry=r
        )
        self.internal_errors = Gauge(
            "lingong_internal_errors",
            "Commands refused because the core raised (each has an internal error id)",
            registry=r,
        )
        self.snapshots_rejected = Gauge(
            "lingong_snapshots_rejected",
            "Snapshots recovery passed over (unsigned, another key's, edited, not restoring "
            "to their digest): the log was folded instead",
            registry=r,
        )
        self.ready = Gauge(
            "lingong_ready", "1 while the engine can accept commands (see /readyz)", registry=r
        )
        self.log_cut_bytes = Gauge(
            "lingong_log_recovery_cut_bytes",
            "Bytes of a torn log tail cut on open (copied to quarantine first)",
            registry=r,
        )
        self.complaints_live = Gauge(
            "lingong_complaints_live", "Complaint cases not yet closed", registry=r
        )
        self.complaints_overdue = Gauge(
            "lingong_complaints_overdue",
            "Complaint cases still open past their 限时办结 deadline (decided by a Tick)",
            registry=r,
        )
        self._pending: deque[tuple[Any, ...]] = deque()

    def bind(self, service: EngineService, ready: Callable[[], bool] | None = None) -> None:
        """Read the engine's gauges when scraped."""
        runtime = service.runtime
        self.queue_depth.set_function(lambda: float(service.queue_depth))
        self.log_seq.set_function(lambda: float(runtime.log.last_seq))
        self.batches.set_function(lambda: float(service.batches))
        self.internal_errors.set_function(lambda: float(runtime.internal_errors))
        self.snapshots_rejected.set_function(lambda: float(runtime.snapshots_rejected))
        self.ready.set_function(lambda: float(ready() if ready else service.ready))
        self.log_cut_bytes.set_function(lambda: float(_cut_bytes(runtime.log)))
        # two ints kept by the fold: reading them from the scrape thread is safe
        self.complaints_live.set_function(lambda: float(runtime.engine.state.live_complaints))
        self.complaints_overdue.set_function(lambda: float(runtime.engine.state.overdue_complaints))

    # ------------------------------------------------------------ observations ------

    def request(self, route: str, method: str, status: int, duration_s: float) -> None:
        self._add(("r", route, method, status, duration_s))

    def command_done(self, command: str, duration_s: float) -> None:
        self._add(("c", command, duration_s))

    def refused(self, command: str, rule: str) -> None:
        self._add(("x", command, rule))

    def _add(self, item: tuple[Any, ...]) -> None:
        self._pending.append(item)
        if len(self._pending) >= MAX_PENDING:
            self.drain()

    def drain(self) -> int:
        """Fold every waiting observation into the Prometheus objects."""
        pending = self._pending
        counts: dict[tuple[Any, ...], int] = {}
        n = 0
        while True:
            try:
                item = pending.popleft()
            except IndexError:
                break
            n += 1
            kind = item[0]
            if kind == "r":
                _, route, method, status, duration_s = item
                counts[("r", route, method, status)] = (
                    counts.get(("r", route, method, status), 0) + 1
                )
                self.request_seconds.labels(route, method).observe(duration_s)
            elif kind == "c":
                self.command_seconds.labels(item[1]).observe(item[2])
            else:
                counts[item] = counts.get(item, 0) + 1
        for key, k in counts.items():
            if key[0] == "r":
                self.requests.labels(key[1], key[2], str(key[3])).inc(k)
            else:
                self.refusals.labels(key[1], key[2]).inc(k)
        return n

    def render(self) -> bytes:
        self.drain()
        return generate_latest(self.registry)


def _cut_bytes(log: object) -> int:
    recovery = getattr(log, "recovery", None)  # the file log's torn-tail report (WP-B)
    if isinstance(recovery, dict):
        return int(recovery.get("cut_bytes", 0) or 0)
    return int(getattr(recovery, "cut_bytes", 0) or 0)
