"""Store benchmark (`lingong bench stores`): projection throughput into SQLite, DuckDB and
PostgreSQL, and report build time.

Owns: `run(...)`, which generates one synthetic morning (default: province scale, 3
cities) through the real runtime into a data folder (or takes an existing log), projects
the log into fresh stores of every backend and times it, checks the answer (row counts
equal counts taken from the log itself), then builds every report for the month of that
morning from the reporting store and renders it as XLSX and HTML, timing each; and
`headline(out)`, the figures issue 13 aims at: `sqlite_rows_per_s` (registry on SQLite),
`duckdb_rows_per_s` (reporting on DuckDB), `pg_rows_per_s` (both projections on
PostgreSQL: their rows over their summed time), each with its CPU time.

Figures: `rows_per_s` counts rows written (an insert, or an update of an older row; a
row inserted and updated within one batch is one row) over the whole catch-up: reading
the log, checking its hash chain, decoding, folding and writing (`project`'s elapsed
time). `row_changes_per_s` counts the logical changes before merging; `write_rows_per_s`
is rows over the time spent inside the stores' transactions only. `cpu_s` is this
process's CPU time (`rows_per_cpu_s`: the fairer figure on a shared, busy machine), split
by thread into `read_cpu_s` (log read + decode), `fold_cpu_s` and `write_cpu_s`;
`server_cpu_s` is the PostgreSQL backend process's CPU time when the server runs on this
machine (read from /proc), else null.

    lingong bench stores [--workers N] [--postings N] [--log DIR] [--no-pg] [--pg-dsn DSN]
                         [--no-reports] [--json] [--json-out FILE]
                         (or python -m bench.stores_bench ...)

PostgreSQL: `--pg-dsn`, else `LINGONG_PG_DSN`, else a throwaway durable server from
`tests.pg` (fsync on). Logs are generated on tmpfs (/dev/shm) when available: the
runtime's key store fsyncs each new personal key even with fsync=False.

Limits: one morning per run (the synthetic generator's unit); the month's reports
therefore cover one day of a province.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from adapters.stores.backend import Backend, DuckDBBackend, SQLiteBackend
from adapters.stores.projector import REGISTRY, REPORTING, Projection, project
from adapters.stores.render import write_report
from adapters.stores.report_model import Period, Scope
from adapters.stores.reports import REPORTS, build
from adapters.stores.source import read_records
from sim.demo import run_demo
from sim.morning import Sizes

DATE = "2026-11-23"
AIMS = {"sqlite_rows_per_s": 150_000, "pg_rows_per_s": 100_000, "duckdb_rows_per_s": 300_000}


def _expected(log_dir: Path) -> dict[str, int]:
    """Row counts the stores must hold, straight from the log."""
    n: Counter = Counter()
    records = 0
    for batch in read_records(log_dir, 1, 16384):
        records += len(batch)
        for _, record, _ in batch:
            n.update(type(ev).__name__ for ev in record.events)
    return {
        "records": records,
        "workers": n["WorkerRegistered"],
        "jobs": n["JobSubmitted"],
        "offers": n["OfferMade"],
        "hires": n["HireConfirmed"],
        "f_checkin": n["WorkerCheckedIn"],
        "f_offer": n["OfferMade"],
        "f_wage": n["WagePaid"],
        "events": sum(n.values()),
    }


def _server_cpu_s(store: Backend) -> float | None:
    """CPU seconds of the PostgreSQL backend process serving `store`, when it is local."""
    pid = getattr(getattr(getattr(store, "conn", None), "info", None), "backend_pid", None)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _project(store: Backend, proj: Projection, log_dir: Path, expected: dict[str, int]) -> dict:
    server0 = _server_cpu_s(store) if store.dialect == "postgres" else None
    cpu0 = time.process_time()
    stats = project(store, proj, log_dir)
    cpu_s = time.process_time() - cpu0
    server1 = _server_cpu_s(store) if server0 is not None else None
    for table in (t.name for t in proj.tables):
        if table in expected and store.count(table) != expected[table]:
            raise AssertionError(
                f"{store.dialect} {table}: {store.count(table)} rows, log says {expected[table]}"
            )
    out = msgspec.structs.asdict(stats)
    out["row_changes_per_s"] = (
        round(stats.row_changes / stats.elapsed_s, 1) if stats.elapsed_s else 0.0
    )
    out["events_per_s"] = round(expected["events"] / stats.elapsed_s, 1) if stats.elapsed_s else 0.0
    # this process's CPU time: on a busy machine wall time overstates the cost (the
    # PostgreSQL server's own CPU is not in it: see server_cpu_s)
    out["cpu_s"] = round(cpu_s, 3)
    out["rows_per_cpu_s"] = round(stats.rows / cpu_s, 1) if cpu_s else 0.0
    out["server_cpu_s"] = None if server1 is None else round(server1 - (server0 or 0.0), 2)
    return out


def headline(out: dict[str, Any]) -> dict[str, Any]:
    """The figures issue 13 aims at, from `run`'s result (None for a backend not run)."""
    head: dict[str, Any] = {}
    parts = {
        "sqlite": [out.get("sqlite_registry")],
        "duckdb": [out.get("duckdb_reporting")],
        "pg": [out.get("postgres_registry"), out.get("postgres_reporting")],
    }
    for name, runs in parts.items():
        if not all(runs):
            head.update({f"{name}_rows_per_s": None, f"{name}_cpu_s": None})
            continue
        rows = sum(r["rows"] for r in runs)
        elapsed = sum(r["elapsed_s"] for r in runs)
        cpu = sum(r["cpu_s"] for r in runs)
        head[f"{name}_rows_per_s"] = round(rows / elapsed, 1) if elapsed else 0.0
        head[f"{name}_cpu_s"] = round(cpu, 3)
        head[f"{name}_rows_per_cpu_s"] = round(rows / cpu, 1) if cpu else 0.0
        if name == "pg":
            server = [r["server_cpu_s"] for r in runs]
            head["pg_server_cpu_s"] = None if None in server else round(sum(server), 2)
    head["aims"] = AIMS
    return head


def _reports(store: Backend, out_dir: Path, formats: tuple[str, ...]) -> dict[str, Any]:
    scope = Scope(period=Period.month(DATE[:7]))
    timings: dict[str, Any] = {}
    for name in REPORTS:
        t0 = time.perf_counter()
        rep = build(name, store, scope)
        built = time.perf_counter() - t0
        rendered = {}
        for fmt in formats:
            t1 = time.perf_counter()
            write_report(rep, fmt, out_dir / f"{store.dialect}-{name}.{fmt}")
            rendered[fmt] = round(time.perf_counter() - t1, 4)
        rows = sum(len(s.rows) for s in rep.sections)
        timings[name] = {"build_s": round(built, 4), "render_s": rendered, "rows": rows}
    return timings


def _workdir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="lingong-storebench-", dir=base))


def run(
    *,
    workers: int = 20_000,
    postings: int = 4_000,
    employers: int = 400,
    stations_per_city: int = 8,
    scale: str = "province",
    seed: int = 7,
    with_pg: bool = True,
    pg_dsn: str | None = None,
    formats: tuple[str, ...] = ("xlsx", "html"),
    keep: bool = False,
    log_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate a morning (or take the log at `log_dir`), project it into every backend
    and build the reports (`formats=()`: skip them). Raises AssertionError when a store's
    row counts differ from the log's."""
    say = progress or (lambda _msg: None)
    work = _workdir()
    try:
        t0 = time.perf_counter()
        if log_dir is None:
            say(f"generating a {scale} morning ({workers} workers) ...")
            sizes = Sizes(workers=workers, postings=postings, employers=employers,
                          stations_per_city=stations_per_city, tick_ms=30_000)  # fmt: skip
            summary = run_demo(
                work / "data", date=DATE, seed=seed, scale=scale, sizes=sizes, fsync=False
            )
            log_dir = work / "data" / "log"
            log = {"records": summary.records, "events": summary.events, "scale": scale,
                   "workers": workers, "postings": postings}  # fmt: skip
        else:
            log_dir = Path(log_dir)
            log = {"path": str(log_dir)}
        expected = _expected(log_dir)
        if "records" not in log:
            log.update(records=expected["records"], events=expected["events"])
        log["generate_s"] = round(time.perf_counter() - t0, 2)
        result: dict[str, Any] = {"log": log}
        say("projecting the registry into SQLite ...")
        with SQLiteBackend(work / "registry.sqlite") as reg:
            result["sqlite_registry"] = _project(reg, REGISTRY, log_dir, expected)
        say("projecting the reporting store into DuckDB ...")
        with DuckDBBackend(work / "reporting.duckdb") as rep:
            result["duckdb_reporting"] = _project(rep, REPORTING, log_dir, expected)
            if formats:
                result["reports_duckdb"] = _reports(rep, work / "out", formats)
        if with_pg:
            say("projecting both into PostgreSQL ...")
            result.update(_pg(log_dir, expected, pg_dsn, work, formats))
        result["headline"] = headline(result)
        return result
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _pg(
    log_dir: Path, expected: dict[str, int], dsn: str | None, work: Path, formats: tuple[str, ...]
) -> dict[str, Any]:
    from adapters.stores.pg import PostgresBackend
    from tests.pg import admin_dsn, drop_database, fresh_database

    admin = dsn or admin_dsn(durable=True)
    db = fresh_database(admin, prefix="lingong_bench")
    out: dict[str, Any] = {}
    try:
        with PostgresBackend(db, "lingong_registry") as reg:
            out["postgres_registry"] = _project(reg, REGISTRY, log_dir, expected)
        with PostgresBackend(db, "lingong_reporting") as rep:
            out["postgres_reporting"] = _project(rep, REPORTING, log_dir, expected)
            if formats:
                out["reports_postgres"] = _reports(rep, work / "out", formats)
    finally:
        drop_database(admin, db)
    return out


def format_text(out: dict[str, Any]) -> str:
    """The human summary `lingong bench stores` prints."""
    head = out["headline"]
    lines = [f"log: {out['log']['records']:,} records, {out['log']['events']:,} events"]
    for key in ("sqlite_registry", "duckdb_reporting", "postgres_registry", "postgres_reporting"):
        r = out.get(key)
        if r:
            server = "" if r["server_cpu_s"] is None else f", server cpu {r['server_cpu_s']:.2f} s"
            lines.append(
                f"{key:19s} {r['rows']:>9,} rows in {r['elapsed_s']:6.2f} s = "
                f"{r['rows_per_s']:>9,.0f} rows/s | cpu {r['cpu_s']:.2f} s (read "
                f"{r['read_cpu_s']:.2f}, fold {r['fold_cpu_s']:.2f}, write "
                f"{r['write_cpu_s']:.2f}){server}"
            )
    for name in ("sqlite", "pg", "duckdb"):
        got, aim = head.get(f"{name}_rows_per_s"), AIMS[f"{name}_rows_per_s"]
        if got is not None:
            lines.append(
                f"{name}_rows_per_s = {got:,.0f} (aim {aim:,}), cpu {head[f'{name}_cpu_s']} s"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.stores_bench ...`: the same as `lingong bench stores ...`."""
    import sys

    from bench.cli import add_parsers

    parser = argparse.ArgumentParser(prog="python -m bench.stores_bench")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "stores", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
