"""The HTTP benchmark at a tiny size: it runs end to end and its answers check out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.http_bench import run_http_bench

pytestmark = pytest.mark.benchmark(group="http")


def test_bench_http_tiny(benchmark, tmp_path: Path) -> None:
    """60 check-ins and 20 postings over loopback, fsync on; every answer verified."""
    result = benchmark.pedantic(
        lambda: run_http_bench(60, 20, 8, fsync=True, directory=tmp_path), rounds=1, iterations=1
    )
    assert result["verified"] is True, result
    assert result["statuses"] == {"checkin": {201: 60}, "posting": {201: 20}}
    assert result["records"] == 80
    for phase in ("checkin", "posting"):
        assert result[f"{phase}_rps"] > 0
        assert 0 < result[f"{phase}_p50_ms"] <= result[f"{phase}_p99_ms"] < 60_000
    assert list(tmp_path.iterdir()) == []  # the data folder was removed
