"""Micro-benchmarks of the file log at tiny size; each also checks its answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.log.filelog import FileLog
from adapters.log.ports import chain_of
from bench.log_bench import bench_payload, make_filler, run_log_bench

pytestmark = pytest.mark.benchmark(group="log")

EVENTS = 2_000
BATCH = 200
PAYLOAD_BYTES = 120


def test_bench_append_fsync(benchmark, tmp_path: Path) -> None:
    """Append 2,000 frames in fsynced batches of 200; read them back and compare."""
    filler = make_filler(PAYLOAD_BYTES)
    batches = [
        [bench_payload(s, filler) for s in range(start, start + BATCH)]
        for start in range(1, EVENTS + 1, BATCH)
    ]
    written = [p for batch in batches for p in batch]
    runs = iter(range(1_000_000))

    def append_all() -> Path:
        directory = tmp_path / f"run{next(runs)}"
        with FileLog(directory) as log:
            for batch in batches:
                log.append(batch)
        return directory

    directory = benchmark.pedantic(append_all, rounds=5, iterations=1)
    with FileLog(directory) as log:
        frames = list(log.read())
        assert [seq for seq, _ in frames] == list(range(1, EVENTS + 1))
        assert [payload for _, payload in frames] == written
        assert log.head_hash == chain_of(written)


def test_bench_read_batches(benchmark, tmp_path: Path) -> None:
    """Bulk-read 2,000 frames with crc and chain checks; compare with what was written."""
    filler = make_filler(PAYLOAD_BYTES)
    written = [bench_payload(s, filler) for s in range(1, EVENTS + 1)]
    with FileLog(tmp_path / "log", fsync=False) as log:
        for start in range(0, EVENTS, BATCH):
            log.append(written[start : start + BATCH])
        batches = benchmark(lambda: list(log.read_batches(verify_chain=True)))
    assert [payload for batch in batches for _, payload in batch] == written
    assert [seq for batch in batches for seq, _ in batch] == list(range(1, EVENTS + 1))


def test_run_log_bench_tiny(tmp_path: Path) -> None:
    """The CLI's benchmark function reports sane figures and a verified answer."""
    result = run_log_bench(tmp_path, 3_000, 500, PAYLOAD_BYTES, segment_bytes=64 * 1024)
    assert result["verified"] is True
    assert result["events"] == 3_000 and result["appends"] == 6 and result["segments"] > 1
    assert 0 < result["ack_p50_us"] <= result["ack_p99_us"] <= result["ack_max_us"]
    assert result["events_per_s"] > 0 and result["read_events_per_s"] > 0
    assert list(tmp_path.iterdir()) == []  # the temporary log was removed
