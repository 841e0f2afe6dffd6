"""Replay micro-benchmarks at a tiny size; each checks its answer against the writer's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.replay_bench import run_replay_bench
from replay.rebuild import rebuild
from replay.verify import verify
from sim.demo import run_demo
from sim.morning import Sizes

pytestmark = pytest.mark.benchmark(group="replay")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("replay-bench")
    s = run_demo(data, sizes=Sizes(workers=300, postings=60, employers=15), fsync=False)
    return data / "log", s.state_digest


def test_bench_rebuild(benchmark, tiny) -> None:
    log, digest = tiny
    report = benchmark(rebuild, log)
    assert report.digest == digest and report.events > 1000


def test_bench_verify(benchmark, tiny) -> None:
    log, digest = tiny
    report = benchmark.pedantic(verify, args=(log,), rounds=2, iterations=1)
    assert report.ok and report.digest == digest


def test_run_replay_bench_tiny(tiny) -> None:
    out = run_replay_bench(tiny[0].parent)
    assert out["verify_ok"] and out["digests_agree"] and out["events"] > 1000
