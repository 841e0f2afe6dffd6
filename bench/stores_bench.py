"""Store benchmark: projection throughput (SQLite, DuckDB, PostgreSQL) and report build time.

Owns: `run(...)`, which generates one synthetic morning (default: province scale, 3
cities) through the real runtime into a data folder, projects the log into fresh stores
of every backend and times it, checks the answer (row counts equal counts taken from the
log itself), then builds every report for the month of that morning from the reporting
store and renders it as XLSX and HTML, timing each.

Figures: `rows_per_s` counts rows written (an insert, or an update of an older row; a
row inserted and updated within one batch is one row); `row_changes_per_s` counts the
logical changes before merging; `write_rows_per_s` is rows over the time spent inside the
stores' transactions only. Everything else (reading the log, checking its hash chain,
decoding, folding) is in the end-to-end figures. `rows_per_cpu_s` divides by this process's
CPU time, a fairer figure on a shared, busy machine for the in-process stores.

    python -m bench.stores_bench [--workers N] [--postings N] [--no-pg] [--pg-dsn DSN]

PostgreSQL: `--pg-dsn`, else `LINGONG_PG_DSN`, else a throwaway durable server from
`tests.pg` (fsync on). Logs are generated on tmpfs (/dev/shm) when available: the
runtime's key store fsyncs each new personal key even with fsync=False.

Limits: one morning per run (the synthetic generator's unit); the month's reports
therefore cover one day of a province.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.filelog import read_log_batches
from adapters.stores.backend import Backend, DuckDBBackend, SQLiteBackend
from adapters.stores.projector import REGISTRY, REPORTING, Projection, project
from adapters.stores.render import write_report
from adapters.stores.report_model import Period, Scope
from adapters.stores.reports import REPORTS, build
from engine.events import decode_record
from sim.demo import run_demo
from sim.morning import Sizes

DATE = "2026-11-23"


def _expected(log_dir: Path) -> dict[str, int]:
    """Row counts the stores must hold, straight from the log."""
    n: Counter = Counter()
    for batch in read_log_batches(log_dir):
        for _, payload in batch:
            n.update(type(ev).__name__ for ev in decode_record(payload).events)
    return {
        "workers": n["WorkerRegistered"],
        "jobs": n["JobSubmitted"],
        "offers": n["OfferMade"],
        "hires": n["HireConfirmed"],
        "f_checkin": n["WorkerCheckedIn"],
        "f_offer": n["OfferMade"],
        "f_wage": n["WagePaid"],
        "events": sum(n.values()),
    }


def _project(store: Backend, proj: Projection, log_dir: Path, expected: dict[str, int]) -> dict:
    cpu0 = time.process_time()
    stats = project(store, proj, log_dir)
    cpu_s = time.process_time() - cpu0
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
    # PostgreSQL server's own CPU is not in it, so compare the files backends on this)
    out["cpu_s"] = round(cpu_s, 3)
    out["rows_per_cpu_s"] = round(stats.rows / cpu_s, 1) if cpu_s else 0.0
    return out


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
) -> dict[str, Any]:
    work = _workdir()
    try:
        sizes = Sizes(workers=workers, postings=postings, employers=employers,
                      stations_per_city=stations_per_city, tick_ms=30_000)  # fmt: skip
        t0 = time.perf_counter()
        summary = run_demo(
            work / "data", date=DATE, seed=seed, scale=scale, sizes=sizes, fsync=False
        )
        log_dir = work / "data" / "log"
        expected = _expected(log_dir)
        result: dict[str, Any] = {
            "log": {
                "records": summary.records,
                "events": summary.events,
                "scale": scale,
                "workers": workers,
                "postings": postings,
                "generate_s": round(time.perf_counter() - t0, 2),
            },  # fmt: skip
        }
        with SQLiteBackend(work / "registry.sqlite") as reg:
            result["sqlite_registry"] = _project(reg, REGISTRY, log_dir, expected)
        with DuckDBBackend(work / "reporting.duckdb") as rep:
            result["duckdb_reporting"] = _project(rep, REPORTING, log_dir, expected)
            result["reports_duckdb"] = _reports(rep, work / "out", formats)
        if with_pg:
            result.update(_pg(log_dir, expected, pg_dsn, work, formats))
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
            out["reports_postgres"] = _reports(rep, work / "out", formats)
    finally:
        drop_database(admin, db)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=20_000)
    p.add_argument("--postings", type=int, default=4_000)
    p.add_argument("--employers", type=int, default=400)
    p.add_argument("--stations", type=int, default=8, help="stations per city")
    p.add_argument("--scale", default="province", choices=("city", "province", "nation"))
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--pg-dsn")
    args = p.parse_args()
    out = run(workers=args.workers, postings=args.postings, employers=args.employers,
              stations_per_city=args.stations, scale=args.scale, with_pg=not args.no_pg,
              pg_dsn=args.pg_dsn)  # fmt: skip
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
