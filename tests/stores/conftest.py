"""Fixtures of the store tests: one realistic log per session, stores of every backend.

- `demo_dir`: a province-scale synthetic morning (3 cities) run through the real runtime
  once per session; tests read its log and never write into it (they make their stores
  elsewhere, or link the log into their own data folder with `data_dir`).
- `pg_admin` / `pg_dsn`: PostgreSQL from `tests.pg` (LINGONG_PG_DSN, else a throwaway
  embedded server); `pg_dsn` is a fresh database per test. The backend factories use one
  session database with fresh schemas per test (dropped afterwards), which is much
  cheaper than CREATE DATABASE. If PostgreSQL cannot start, the tests that need it fail;
  none is skipped.
- `registry_factory` / `reporting_factory`: parametrized over the backends of each store;
  calling the factory with a name opens (or reopens) that store. `store_case` gives
  (factory, projection) for every projection x backend pair.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.stores.backend import Backend, DuckDBBackend, SQLiteBackend
from adapters.stores.pg import PostgresBackend
from sim.demo import run_demo
from sim.morning import Sizes
from tests.pg import admin_dsn, drop_database, fresh_database

DEMO_SIZES = Sizes(workers=600, postings=120, employers=30, stations_per_city=4, tick_ms=30_000)
DEMO_DATE = "2026-11-23"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # The runtime's key store fsyncs every new key even with fsync=False; on tmpfs that
    # costs nothing, so the log is generated there when /dev/shm is available.
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        base = Path(tempfile.mkdtemp(prefix="lingong-stores-", dir=shm))
    else:
        base = tmp_path_factory.mktemp("stores")
    data = base / "demo"
    run_demo(data, date=DEMO_DATE, scale="province", sizes=DEMO_SIZES, fsync=False)
    yield data
    if base.parent == shm:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def data_dir(tmp_path: Path, demo_dir: Path) -> Path:
    """A fresh data folder whose log is the session's demo log (linked, read only)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "log").symlink_to(demo_dir / "log", target_is_directory=True)
    return data


@pytest.fixture(scope="session")
def pg_admin() -> str:
    return admin_dsn()  # raises PostgresUnavailable: the test errors, it is not skipped


@pytest.fixture
def pg_dsn(pg_admin: str) -> Iterator[str]:
    """A fresh database (for code that uses the default schema names)."""
    dsn = fresh_database(pg_admin)
    yield dsn
    drop_database(pg_admin, dsn)


@pytest.fixture(scope="session")
def pg_shared(pg_admin: str) -> Iterator[str]:
    """One database for the session; each test works in fresh schemas of its own."""
    dsn = fresh_database(pg_admin)
    yield dsn
    drop_database(pg_admin, dsn)


Factory = Callable[[str], Backend]


def _factory(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    opened: list[Backend] = []
    dsn = request.getfixturevalue("pg_shared") if kind == "postgres" else ""
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def make(name: str = "a") -> Backend:
        if kind == "sqlite":
            backend: Backend = SQLiteBackend(tmp_path / f"{name}.sqlite")
        elif kind == "duckdb":
            backend = DuckDBBackend(tmp_path / f"{name}.duckdb")
        else:
            backend = PostgresBackend(dsn, f"{prefix}_{name}")
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
    if dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
            ).fetchall():
                conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def registry_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    yield from _factory(request.param, request, tmp_path)


@pytest.fixture(params=["duckdb", "postgres"])
def reporting_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    yield from _factory(request.param, request, tmp_path)


CASES = [("registry", "sqlite"), ("registry", "postgres"), ("reporting", "duckdb"),
         ("reporting", "postgres")]  # fmt: skip


@pytest.fixture(params=CASES, ids=[f"{p}-{b}" for p, b in CASES])
def store_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Factory, object]]:
    """(factory, projection) for every projection on every backend it supports."""
    from adapters.stores.projector import REGISTRY, REPORTING

    name, kind = request.param
    for factory in _factory(kind, request, tmp_path):
        yield factory, REGISTRY if name == "registry" else REPORTING
