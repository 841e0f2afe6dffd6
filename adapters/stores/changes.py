"""The changes one projection batch makes, merged in memory before one write.

Owns: `Changes`, the unit a projection hands to a backend: fact rows (append-only tables,
held as columns), new keyed rows, column updates by key and integer increments by key.
Merging happens here so every backend writes each touched row once per batch (bulk
insert, then one bulk update per group of keys that change the same columns), whatever
the dialect.

Invariants:
- Operations are applied in the order they were recorded, per row: an update or
  increment of a row inserted in the same batch is folded into that row before it is
  written; updates of older rows merge per column (the later value wins).
- A column is either updated (`set`) or incremented (`inc`), never both: a key's sets and
  increments are written by one statement, so mixing them on one column would reorder.
- Fact columns of one table always have equal lengths; rows keep the order they were
  added in (the projections add them in log order, `(seq, idx)`).
- `rows()` counts the rows a backend will write: fact rows, inserted rows and distinct
  updated keys; `ops` counts the logical row changes recorded (an insert and two later
  updates of the same row in one batch are 3 ops, 1 row).

Limits: a batch lives in memory; the projector bounds it by frames per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from adapters.stores.schema import Table

UpdateGroup = tuple[tuple[str, ...], tuple[str, ...], list[tuple]]


class Changes:
    def __init__(self, tables: tuple[Table, ...] | dict[str, Table]) -> None:
        self.tables = tables if isinstance(tables, dict) else {t.name: t for t in tables}
        self.facts: dict[str, list[list]] = {}  # append-only tables: one list per column
        self.inserts: dict[str, dict[tuple, list]] = {}  # keyed tables: key -> row
        self.sets: dict[str, dict[tuple, dict[str, Any]]] = {}
        self.incs: dict[str, dict[tuple, dict[str, int]]] = {}
        self.ops = 0  # logical row changes recorded (before merging)

    # -- facts -----------------------------------------------------------------------
    def add_facts(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        """Append rows given as columns (one sequence per column of `table`, in order)."""
        width = len(self.tables[table].columns)
        if len(columns) != width:
            raise ValueError(f"{table}: {len(columns)} columns given, the table has {width}")
        n = len(columns[0])
        if any(len(c) != n for c in columns):
            raise ValueError(f"{table}: fact columns of unequal length")
        if not n:
            return
        self.ops += n
        have = self.facts.get(table)
        if have is None:
            self.facts[table] = [list(c) for c in columns]
            return
        for col, values in zip(have, columns, strict=True):
            col.extend(values)

    def fact(self, table: str, row: Sequence[Any]) -> None:
        """Append one fact row (the rare paths; hot paths use `add_facts`)."""
        self.add_facts(table, [[v] for v in row])

    def fact_columns(self, table: str) -> list[list]:
        return self.facts.get(table, [])

    def fact_rows(self, table: str) -> list[tuple]:
        return list(zip(*self.facts[table], strict=True)) if table in self.facts else []

    # -- keyed rows ------------------------------------------------------------------
    def insert(self, table: str, row: list) -> None:
        self.insert_many(table, [row])

    def insert_many(self, table: str, rows: list[list]) -> None:
        """New rows of a keyed table (mutable lists: later updates fold into them)."""
        if not rows:
            return
        t = self.tables[table]
        self.ops += len(rows)
        have = self.inserts.setdefault(table, {})
        before = len(have)
        if len(t.key) == 1:
            i = t.col_index[t.key[0]]
            have.update(((r[i],), r) for r in rows)
        else:
            have.update((t.key_of(r), r) for r in rows)
        if len(have) != before + len(rows):
            raise ValueError(f"{table}: a row inserted twice in one batch")

    def set(self, table: str, key: tuple, **values: Any) -> None:
        self.set_values(table, [(key, tuple(values), tuple(values.values()))])

    def set_values(self, table: str, items: Iterable[tuple[tuple, tuple[str, ...], tuple]]) -> None:
        """Apply (key, columns, values) updates in order: folded into rows inserted in this
        batch, merged per column (later wins) for older rows."""
        index = self.tables[table].col_index
        new = self.inserts.get(table, {})
        old = self.sets.setdefault(table, {})
        n = 0
        for key, cols, vals in items:
            n += 1
            row = new.get(key)
            if row is not None:
                for col, val in zip(cols, vals, strict=True):
                    row[index[col]] = val
                continue
            have = old.get(key)
            if have is None:
                old[key] = dict(zip(cols, vals, strict=True))
            else:
                have.update(zip(cols, vals, strict=True))
        self.ops += n

    def inc(self, table: str, key: tuple, column: str, delta: int) -> None:
        self.inc_many(table, column, [(key, delta)])

    def inc_many(self, table: str, column: str, deltas: Iterable[tuple[tuple, int]]) -> None:
        """Add each (key, delta) to `column` of that key's row."""
        i = self.tables[table].col_index[column]
        new = self.inserts.get(table, {})
        old = self.incs.setdefault(table, {})
        n = 0
        for key, delta in deltas:
            n += 1
            row = new.get(key)
            if row is not None:
                row[i] += delta
                continue
            have = old.get(key)
            if have is None:
                old[key] = {column: delta}
            else:
                have[column] = have.get(column, 0) + delta
        self.ops += n

    def update_groups(self, table: str, *, by_key: bool = False) -> list[UpdateGroup]:
        """Updates of older rows of `table`, one group per (set columns, increment columns):
        [(set_cols, inc_cols, [(*set_values, *inc_deltas, *key)])], rows in log order of
        their first change, or sorted by key with `by_key` (SQLite then finds neighbouring
        keys on the same pages)."""
        sets = self.sets.get(table) or {}
        incs = self.incs.get(table) or {}
        if not (sets or incs):
            return []
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple]] = {}
        if not incs:  # the usual case: a signature is the columns in the order first set
            for key, s in sets.items():
                sig = (tuple(s), ())
                rows = groups.get(sig)
                if rows is None:
                    rows = groups[sig] = []
                rows.append((*s.values(), *key))
        else:
            no: dict[str, Any] = {}
            for key in [*sets, *(k for k in incs if k not in sets)]:
                s, d = sets.get(key, no), incs.get(key, no)
                groups.setdefault((tuple(s), tuple(d)), []).append((*s.values(), *d.values(), *key))
        if by_key:
            width = len(self.tables[table].key)
            key_of = itemgetter(-1) if width == 1 else itemgetter(*range(-width, 0))
            for rows in groups.values():
                rows.sort(key=key_of)
        return [(sc, ic, rows) for (sc, ic), rows in groups.items()]

    def rows(self) -> int:
        n = sum(len(c[0]) for c in self.facts.values())
        n += sum(len(r) for r in self.inserts.values())
        for table in self.tables:
            n += len(self.sets.get(table, {}).keys() | self.incs.get(table, {}).keys())
        return n

    def empty(self) -> bool:
        return not (
            self.facts
            or any(self.inserts.values())
            or any(self.sets.values())
            or any(self.incs.values())
        )
