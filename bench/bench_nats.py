"""NATS micro-benchmarks at tiny size (real loopback nats-server); each checks its answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.log.ports import chain_of
from adapters.nats.jslog import JetStreamLog
from bench.nats_bench import morning_payloads, run_fanout_bench, run_micro_bench
from sim.morning import Sizes
from tests.nats.servers import NatsServer, start_server

pytestmark = pytest.mark.benchmark(group="nats")
TINY = Sizes(stations_per_city=4, workers=60, employers=10, postings=24, tick_ms=60_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    s = start_server(tmp_path_factory.mktemp("nats-bench"))
    try:
        yield s
    finally:
        s.kill()


def test_bench_append_batched(benchmark, server: NatsServer) -> None:
    """Append a morning's records (1,000 per append) to the JetStream log; read them back."""
    payloads, _ = morning_payloads(TINY)
    written = (payloads * (3000 // len(payloads) + 1))[:3000]
    runs = iter(range(1_000_000))

    def append_all() -> str:
        partition = f"bench-{next(runs)}"
        with JetStreamLog(server.url, partition) as log:
            for i in range(0, len(written), 1000):
                log.append(written[i : i + 1000])
        return partition

    partition = benchmark.pedantic(append_all, rounds=3, iterations=1)
    with JetStreamLog(server.url, partition, read_only=True) as log:
        assert [p for _, p in log.read()] == written
        assert log.head_hash == chain_of(written)


def test_micro_service_bench_tiny(server: NatsServer, tmp_path: Path) -> None:
    """Commands through the micro service: all answered, digest equals a replay."""
    out = run_micro_bench(server.url, tmp_path, concurrency=16, sizes=TINY)
    assert out["verified"] is True
    # 80 timeline commands and the replies to offers (the 481 ticks are not sent: time
    # passes by the server's clock, a NATS caller cannot send it)
    assert out["commands"] > 80 and out["commands_per_s"] > 0, out
    assert 0 < out["latency_p50_ms"] <= out["latency_p99_ms"] <= out["latency_max_ms"]


def test_fanout_bench_tiny(server: NatsServer, tmp_path: Path) -> None:
    """Every subscriber receives every published event exactly once."""
    out = run_fanout_bench(server.url, tmp_path, subscribers=2, sizes=TINY)
    assert out["verified"] is True
    assert out["events"] > 500 and out["deliveries_per_s"] > 0
