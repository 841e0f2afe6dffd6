"""Opening bell at a tiny size (CI runs it once): checks the answer, not the time."""

from __future__ import annotations

from bench.bell_bench import run_bell_bench


def test_bell_tiny(benchmark) -> None:  # noqa: ANN001
    out = benchmark.pedantic(
        run_bell_bench, kwargs={"workers": 60, "jobs": 15}, rounds=1, iterations=1
    )
    assert out["assigned"] > 0
    assert out["total_score"] >= out["greedy_total_score"] - 1e-9
