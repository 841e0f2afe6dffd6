"""`lingong demo --nats`: the morning through the JetStream log, every event published."""

from __future__ import annotations

from pathlib import Path

from adapters.nats.jslog import JetStreamLog
from sim.demo import run_demo
from sim.demo_nats import format_nats_summary, run_demo_nats
from tests.nats.helpers import SMALL, replay_digest
from tests.nats.servers import NatsServer


def test_demo_through_nats_equals_the_file_log_demo(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    nats = run_demo_nats(nats_server.url, tmp_path / "nats", sizes=SMALL, seed=3)
    plain = run_demo(tmp_path / "file", sizes=SMALL, seed=3, fsync=False)
    assert nats.state_digest == plain.state_digest  # same morning, same decisions
    assert (nats.records, nats.events, nats.hires) == (plain.records, plain.events, plain.hires)
    assert nats.published_events == nats.events > 0  # every event acknowledged by the stream
    assert nats.publisher.position == nats.records and nats.publisher.duplicates == 0
    assert "NATS" in format_nats_summary(nats)
    reader = JetStreamLog(nats_server.url, nats.partition, read_only=True)
    try:
        payloads = [p for _, p in reader.read()]
    finally:
        reader.close()
    assert len(payloads) == nats.records
    assert replay_digest(payloads) == nats.state_digest
