"""Does a store hold what its log says? The log projected again and compared, row by row.

Owns: `verify_data_dir` (`lingong project --verify`). For each projection (registry,
reporting): the position the live store recorded, the log projected again up to that
position into a throwaway store of the same kind (a temporary folder for SQLite and
DuckDB, a temporary schema for PostgreSQL), and every table compared as a multiset of
rows. A row the log gives and the store lacks (or holds changed) is `missing`, one the
store holds and the log does not give is `extra`; the first few are named by their key.

Why: a store is a projection, and the position check (`adapters.stores.projector`)
proves only that the store followed this log; a row edited, added or deleted in the
store itself (by hand, by another program, by a restore of the wrong backup) would
otherwise go into every report without a trace. The log is the authority.

Invariants: the live store is only read; the throwaway store is removed even when the
comparison fails. Only key columns are reported (the other columns may hold personal
data); keyless fact tables report counts.
Limits: one table of each store in memory at a time; `MAX_KEYS_SHOWN` keys per table and
direction.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapters.stores import REGISTRY_FILE, REPORTING_FILE, registry_store, reporting_store
from adapters.stores.backend import Backend
from adapters.stores.projector import REGISTRY, REPORTING, Projection, project
from adapters.stores.schema import Table

MAX_KEYS_SHOWN = 3


def _rows(backend: Backend, table: Table) -> Counter[tuple[Any, ...]]:
    cols = ", ".join(table.names)
    return Counter(
        tuple(row) for row in backend.query(f"SELECT {cols} FROM {backend.qual(table.name)}")
    )


def _keys(table: Table, rows: Counter[tuple[Any, ...]]) -> list[list[Any]]:
    if not table.key:
        return []
    return [list(table.key_of(row)) for row in sorted(rows, key=repr)[:MAX_KEYS_SHOWN]]


def compare(live: Backend, fresh: Backend, proj: Projection) -> dict[str, Any]:
    """Every table of `proj` in `live` against `fresh`: {"ok", "tables": {name: ...}}."""
    tables: dict[str, Any] = {}
    ok = True
    for table in proj.tables:
        have, want = _rows(live, table), _rows(fresh, table)
        missing, extra = want - have, have - want
        entry: dict[str, Any] = {"rows": sum(have.values()), "expected": sum(want.values())}
        if missing or extra:
            ok = False
            entry.update(
                missing=sum(missing.values()),
                extra=sum(extra.values()),
                missing_keys=_keys(table, missing),
                extra_keys=_keys(table, extra),
            )
        tables[table.name] = entry
    return {"ok": ok, "tables": tables}


@contextmanager
def _throwaway(name: str, pg_dsn: str | None) -> Iterator[Backend]:
    if pg_dsn:
        from adapters.stores.pg import REGISTRY_SCHEMA, REPORTING_SCHEMA, PostgresBackend

        base = REGISTRY_SCHEMA if name == "registry" else REPORTING_SCHEMA
        backend = PostgresBackend(pg_dsn, f"{base}_verify_{os.getpid()}")
        try:
            yield backend
        finally:
            backend.conn.rollback()
            backend.conn.execute(f"DROP SCHEMA IF EXISTS {backend.schema} CASCADE")  # type: ignore[arg-type]
            backend.conn.commit()
            backend.close()
        return
    with tempfile.TemporaryDirectory(prefix="lingong-verify-") as tmp:
        opener = registry_store if name == "registry" else reporting_store
        with opener(tmp) as backend:
            yield backend


def verify_data_dir(
    data_dir: Path | str,
    *,
    pg_dsn: str | None = None,
    which: tuple[str, ...] = ("registry", "reporting"),
    log: str | None = None,
    on_projection: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """{"ok": bool, name: {"position", "ok", "tables"}} for the stores of `data_dir`."""
    data = Path(data_dir)
    out: dict[str, Any] = {"ok": True}
    for name in which:
        proj = {"registry": REGISTRY, "reporting": REPORTING}[name]
        if (
            not pg_dsn
            and not (data / (REGISTRY_FILE if name == "registry" else REPORTING_FILE)).exists()
        ):
            raise FileNotFoundError(
                f"no {name} store in {data} to verify: bring it up first (lingong project --data {data})"
            )
        try:
            live_store = (
                registry_store(data, pg_dsn=pg_dsn)
                if name == "registry"
                else reporting_store(data, pg_dsn=pg_dsn, read_only=not pg_dsn)
            )
        except Exception as exc:  # noqa: BLE001 - e.g. DuckDB's lock while a projector writes
            raise ValueError(
                f"cannot open the {name} store to read it: {exc}; if a server or a projector "
                "is writing it, verify when it has stopped"
            ) from exc
        with live_store as live:
            position, _ = live.position(proj.name)
            if on_projection is not None:
                on_projection(name)
            with _throwaway(name, pg_dsn) as fresh:
                if position:
                    project(fresh, proj, log or (data / "log"), to_seq=position)
                else:
                    fresh.open(proj.tables)
                result = compare(live, fresh, proj)
        out[name] = {"position": position, **result}
        out["ok"] = out["ok"] and result["ok"]
    return out


def _show(keys: list[list[Any]]) -> str:
    return (
        f" ({', '.join('/'.join(map(str, k)) for k in keys)}{', ...' if len(keys) == MAX_KEYS_SHOWN else ''})"
        if keys
        else ""
    )


def format_verify(out: dict[str, Any], data_dir: str = "DIR") -> str:
    lines = []
    for name, res in out.items():
        if name == "ok":
            continue
        bad = {t: e for t, e in res["tables"].items() if "missing" in e}
        verdict = "matches the log" if res["ok"] else f"DIFFERS from the log in {len(bad)} table(s)"
        lines.append(f"{name} store at seq {res['position']}: {verdict}")
        for table, e in bad.items():
            lines.append(
                f"  {table}: {e['missing']} row(s) the log gives missing or changed"
                f"{_show(e['missing_keys'])}; {e['extra']} row(s) not from the log"
                f"{_show(e['extra_keys'])}"
            )
    if not out["ok"]:
        lines.append(
            f"rebuild the stores from the log: lingong project --rebuild --data {data_dir}"
        )
    return "\n".join(lines)
