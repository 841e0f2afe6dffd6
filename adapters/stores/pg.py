"""PostgreSQL backend of both stores (registry and reporting, each in its own schema).

Owns: the PostgreSQL side of `adapters.stores.backend.Backend` with psycopg 3: new rows go
in with binary `COPY ... FROM STDIN (FORMAT BINARY)` (`cursor.copy`, typed with
`set_types`, `write_row`); updates and increments of many rows go through a temporary
table filled by binary COPY and one `UPDATE ... FROM` per group of keys that change the
same columns (sets and increments of a key in one statement: one new row version).

Invariants:
- One `write()` is one transaction (psycopg `autocommit=False`; temporary tables are
  `ON COMMIT DROP`), so rows and the projection position commit together.
- Every object lives in `schema` (default `lingong_registry` / `lingong_reporting`); the
  schema is created when missing and dropped with CASCADE on reset, so one schema holds
  one projection. Statistics are refreshed (ANALYZE) after each catch-up that wrote rows.
- `?` placeholders of the shared SQL are translated to psycopg's `%s`.
- The session commits with `synchronous_commit = off` (this connection only): a commit
  returns before its WAL is flushed, so a server crash may lose the last few commits but
  never splits one (the projector redoes them from the stored position), the same
  promise as SQLite's `synchronous=NORMAL` in `adapters.stores.backend`.

Limits: a DSN the process can reach; schema names are plain identifiers (checked).
Updates of fewer than `SMALL_UPDATE` rows use `executemany` (cheaper than a temp table).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.schema import Table

REGISTRY_SCHEMA = "lingong_registry"
REPORTING_SCHEMA = "lingong_reporting"
SMALL_UPDATE = 64
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_TYPES = {"I": "BIGINT", "T": "TEXT", "R": "DOUBLE PRECISION"}
_COPY_TYPES = {"I": "int8", "T": "text", "R": "float8"}


class PostgresBackend(Backend):
    dialect = "postgres"

    def __init__(self, dsn: str, schema: str) -> None:
        import psycopg

        super().__init__()
        if not _IDENT.match(schema):
            raise ValueError(f"schema must be a lower-case identifier, got {schema!r}")
        self.schema = schema
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=False)
        self.conn.execute(f"SET search_path TO {schema}")  # type: ignore[arg-type]
        self.conn.execute("SET synchronous_commit TO off")
        self.conn.commit()
        self._n = 0

    def _create_sql(self) -> list[str]:
        return [f"CREATE SCHEMA IF NOT EXISTS {self.schema}", *super()._create_sql()]

    def _begin(self) -> None:  # psycopg opens the transaction on the first statement
        return None

    def _commit(self) -> None:
        self.conn.commit()

    def _rollback(self) -> None:
        self.conn.rollback()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]

    def _exec_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params)).rowcount  # type: ignore[arg-type]

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        rows = self.conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()  # type: ignore[arg-type]
        if self.conn.info.transaction_status != 0:  # end the read-only transaction
            self.conn.rollback()
        return rows

    def reset(self, projection: str) -> None:
        try:
            self.conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            for sql in self._create_sql():
                self.conn.execute(sql)  # type: ignore[arg-type]
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def analyze(self) -> None:
        """ANALYZE the projection's tables: right after a bulk load the planner has no
        statistics and picks nested loops (a month's supply-demand took 30 s, not 0.3 s)."""
        for table in self.tables:
            self.conn.execute(f"ANALYZE {self.qual(table.name)}")  # type: ignore[arg-type]
        self.conn.commit()

    def _copy(
        self, target: str, names: Sequence[str], codes: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        sql = f"COPY {target} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        with self.conn.cursor() as cur:
            with cur.copy(sql) as copy:  # type: ignore[arg-type]
                copy.set_types([_COPY_TYPES[c] for c in codes])
                write = copy.write_row
                for row in rows:
                    write(row)

    def _insert_rows(self, table: Table, rows: Sequence[Sequence[Any]]) -> None:
        self._copy(self.qual(table.name), table.names, [c for _, c in table.columns], rows)

    def _update_many(
        self, table: Table, sets: tuple[str, ...], incs: tuple[str, ...], rows: list[tuple]
    ) -> None:
        qual = self.qual(table.name)
        cols = sets + incs
        if len(rows) < SMALL_UPDATE:
            assign = ", ".join([*(f"{c} = %s" for c in sets), *(f"{c} = {c} + %s" for c in incs)])
            where = " AND ".join(f"{k} = %s" for k in table.key)
            with self.conn.cursor() as cur:
                cur.executemany(f"UPDATE {qual} SET {assign} WHERE {where}", rows)  # type: ignore[arg-type]
            return
        self._n += 1
        tmp = f"_lingong_upd_{self._n}"
        names = (*cols, *(f"k_{k}" for k in table.key))
        codes = [table.type_of(c) for c in (*cols, *table.key)]
        col_defs = ", ".join(f"{n} {_PG_TYPES[c]}" for n, c in zip(names, codes, strict=True))
        self.conn.execute(f"CREATE TEMP TABLE {tmp} ({col_defs}) ON COMMIT DROP")  # type: ignore[arg-type]
        self._copy(tmp, names, codes, rows)
        assign = ", ".join(
            [*(f"{c} = u.{c}" for c in sets), *(f"{c} = t.{c} + u.{c}" for c in incs)]
        )
        where = " AND ".join(f"t.{k} = u.k_{k}" for k in table.key)
        self.conn.execute(f"UPDATE {qual} AS t SET {assign} FROM {tmp} AS u WHERE {where}")  # type: ignore[arg-type]

    def close(self) -> None:
        self.conn.close()
