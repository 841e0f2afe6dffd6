"""Registry and reporting stores: projections of the event log, and the bureaus' reports.

Owns: where the default stores of a data folder live and how they are opened
(`registry_store`, `reporting_store`), and `project_data_dir`, which brings both up to
date (the demo calls it at its end; `lingong project` calls it too).

    DATA/log                the event log (the authority)
    DATA/registry.sqlite    registry store (current state), SQLite by default
    DATA/reporting.duckdb   reporting store (facts), DuckDB by default
    --pg-dsn DSN            both in PostgreSQL instead, schemas lingong_registry and
                            lingong_reporting

Invariants: stores are projections: deleting them loses nothing, `project` rebuilds
them from the log. Each stores the log seq it reached in the same transaction as its rows.
Limits: see `projector.py` (batching) and `backend.py` / `pg.py` (dialects).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.stores.backend import Backend

REGISTRY_FILE = "registry.sqlite"
REPORTING_FILE = "reporting.duckdb"


def registry_store(data_dir: str | Path, *, pg_dsn: str | None = None) -> Backend:
    """The registry store of a data folder (SQLite file, or PostgreSQL when `pg_dsn`)."""
    if pg_dsn:
        from adapters.stores.pg import REGISTRY_SCHEMA, PostgresBackend

        return PostgresBackend(pg_dsn, REGISTRY_SCHEMA)
    from adapters.stores.backend import SQLiteBackend

    return SQLiteBackend(Path(data_dir) / REGISTRY_FILE)


def reporting_store(
    data_dir: str | Path, *, pg_dsn: str | None = None, read_only: bool = False
) -> Backend:
    """The reporting store of a data folder (DuckDB file, or PostgreSQL when `pg_dsn`)."""
    if pg_dsn:
        from adapters.stores.pg import REPORTING_SCHEMA, PostgresBackend

        return PostgresBackend(pg_dsn, REPORTING_SCHEMA)
    from adapters.stores.backend import DuckDBBackend

    return DuckDBBackend(Path(data_dir) / REPORTING_FILE, read_only=read_only)


def project_data_dir(
    data_dir: Path | str,
    *,
    pg_dsn: str | None = None,
    rebuild: bool = False,
    which: tuple[str, ...] = ("registry", "reporting"),
    batch_frames: int | None = None,
    on_batch: Any = None,
    log: str | None = None,
) -> dict:
    """Bring the stores of `data_dir` up to date with `data_dir/log` (or the log URL `log`:
    a folder or nats://host:port/STREAM/PARTITION).

    Returns {"registry": stats, "reporting": stats} (plain dicts, see `ProjectStats`).
    """
    import msgspec

    from adapters.stores.projector import REGISTRY, REPORTING, project

    data = Path(data_dir)
    out: dict[str, Any] = {}
    for name in which:
        proj = {"registry": REGISTRY, "reporting": REPORTING}[name]
        opener = registry_store if name == "registry" else reporting_store
        with opener(data, pg_dsn=pg_dsn) as store:
            stats = project(
                store,
                proj,
                log or (data / "log"),
                rebuild=rebuild,
                batch_frames=batch_frames,
                on_batch=(lambda seq, rows, _n=name: on_batch(_n, seq, rows)) if on_batch else None,
            )
        out[name] = msgspec.structs.asdict(stats)
    return out
