"""`lingong demo --nats URL`: the synthetic morning through the JetStream log and publisher.

Owns: `run_demo_nats`, which runs `sim.demo.run_demo` (the same morning, the same
summary) with the partition's `JetStreamLog` as the runtime's log and an `EventPublisher`
publishing every event of the morning to `LINGONG_EVT`, then waits until all of them are
acknowledged by the stream.

Invariants:
- Every event of the log is published (the publisher follows the log itself; the runtime
  subscription only makes it faster), and the summary says how many were acknowledged.
- The partition defaults to one per data folder (`demo-<region>-<hash of the folder>`):
  running the demo again into the same folder continues that log, as the file-log demo
  does; a new folder starts a new log.

Limits: while `sim.demo.run_demo` has no `log` parameter, the runtime is injected by
swapping `sim.demo.Runtime` for the duration of the call (under a lock; the demo is
not meant to run twice at once in one process).
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from pathlib import Path
from typing import Any

import msgspec

from adapters.nats.jslog import JetStreamLog
from adapters.nats.publisher import EventPublisher, PublisherStats
from adapters.shell.runtime import Runtime
from sim import demo as demo_module
from sim.demo import DemoSummary
from sim.morning import CITIES

_swap_lock = threading.Lock()


class NatsDemoSummary(DemoSummary, kw_only=True):
    nats_url: str
    partition: str
    published_events: int  # events acknowledged by LINGONG_EVT (position reached)
    publisher: PublisherStats


class _KeepOpen:
    """The log, with `close` deferred until the publisher has read everything."""

    def __init__(self, log: JetStreamLog) -> None:
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)

    def close(self) -> None:  # the demo's runtime closing: the publisher still reads
        pass


def default_partition(data_dir: str | Path, scale: str) -> str:
    region = (
        CITIES[0][1][:4] if scale == "city" else CITIES[0][1][:2] if scale == "province" else "cn"
    )
    digest = hashlib.blake2b(str(Path(data_dir).resolve()).encode(), digest_size=4).hexdigest()
    return f"demo-{region}-{digest}"


def run_demo_nats(
    url: str,
    data_dir: str | Path,
    *,
    partition: str | None = None,
    publish_timeout_s: float = 120.0,
    **kwargs: Any,
) -> NatsDemoSummary:
    """`sim.demo.run_demo(data_dir, **kwargs)` on the JetStream log, all events published."""
    scale = kwargs.get("scale", "city")
    partition = partition or default_partition(data_dir, scale)
    region = CITIES[0][1] if scale == "city" else ""
    log = JetStreamLog(url, partition, wait_lease_s=30)
    publisher = EventPublisher(url, log, partition=partition, default_region=region)
    try:
        publisher.start()
        kept = _KeepOpen(log)
        if "log" in inspect.signature(demo_module.run_demo).parameters:
            summary = demo_module.run_demo(data_dir, log=kept, **kwargs)
        else:

            def runtime(data_dir: str | Path, **kw: Any) -> Runtime:
                rt = Runtime(data_dir, log=kept, **kw)  # type: ignore[arg-type]
                publisher.attach(rt.subscribers)
                return rt

            with _swap_lock:
                original = demo_module.Runtime
                demo_module.Runtime = runtime  # type: ignore[assignment,misc]
                try:
                    summary = demo_module.run_demo(data_dir, **kwargs)
                finally:
                    demo_module.Runtime = original  # type: ignore[misc]
        if not publisher.wait_idle(publish_timeout_s):
            raise TimeoutError(f"events not all published within {publish_timeout_s}s")
    finally:
        stats = publisher.close()
        log.close()
    fields = msgspec.structs.asdict(summary)
    fields["log"] = f"{url} {log.stream}/{log.subject}"
    return NatsDemoSummary(
        **fields,
        nats_url=url,
        partition=partition,
        published_events=stats.messages,
        publisher=stats,
    )


def format_nats_summary(s: NatsDemoSummary) -> str:
    p = s.publisher
    return demo_module.format_summary(s) + (
        f"\n  NATS               partition {s.partition}: {s.published_events} events "
        f"acknowledged by LINGONG_EVT (position {p.position}, {p.duplicates} duplicates "
        f"dropped, {p.pushes} push messages)"
    )
