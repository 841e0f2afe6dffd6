"""Prometheus metrics of the HTTP API (prefix `lingong_`), one registry per app.

Owns: `Metrics`: requests by route template, method and status; request and command
latency histograms; refusals by command and rule; rate-limited requests; board clients;
the engine's queue depth, log position and batch count (read when scraped).

Invariants: label values are only route templates (`/workers/{worker_id}`, never the
path itself), HTTP methods, status codes, command type names and refusal rule words,
so no id, phone or ID number can become a label; the label sets are bounded.

Limits: a private `CollectorRegistry` per app, so several apps (tests) can coexist.
"""

from __future__ import annotations

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
            "Commands refused by the engine, by command type and rule",
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

    def bind(self, service: EngineService) -> None:
        """Read the engine's gauges when scraped."""
        queue = getattr(service, "_queue", None)  # EngineService has no public depth yet
        if queue is not None:
            self.queue_depth.set_function(lambda: float(queue.qsize()))
        self.log_seq.set_function(lambda: float(service.runtime.log.last_seq))
        self.batches.set_function(lambda: float(service.batches))

    def render(self) -> bytes:
        return generate_latest(self.registry)
