"""Store projection and reports at a tiny size (CI runs it once): checks the answer (row
counts equal the log's, inside `run`; every report built), not the time."""

from __future__ import annotations

from bench.stores_bench import run


def test_stores_tiny(benchmark) -> None:  # noqa: ANN001
    out = benchmark.pedantic(
        run,
        kwargs={"workers": 300, "postings": 60, "employers": 20, "stations_per_city": 4},
        rounds=1,
        iterations=1,
    )
    assert out["log"]["records"] > 1000
    for key in ("sqlite_registry", "duckdb_reporting", "postgres_registry", "postgres_reporting"):
        assert out[key]["to_seq"] == out["log"]["records"] and out[key]["rows"] > 0, key
    head = out["headline"]
    for name in ("sqlite", "duckdb", "pg"):
        assert head[f"{name}_rows_per_s"] > 0 and head[f"{name}_cpu_s"] > 0, name
    for key in ("reports_duckdb", "reports_postgres"):
        assert out[key]["roster"]["rows"] > 0 and out[key]["supply-demand"]["rows"] > 0
