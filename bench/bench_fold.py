"""Fold rate at a tiny size (CI runs it once): the folded digest must equal the executed one."""

from __future__ import annotations

from bench.fold_bench import run_fold_bench


def test_fold_tiny(benchmark) -> None:  # noqa: ANN001
    out = benchmark.pedantic(
        run_fold_bench, kwargs={"workers": 300, "postings": 60}, rounds=1, iterations=1
    )
    assert out["digest_ok"] and out["events"] > 500
