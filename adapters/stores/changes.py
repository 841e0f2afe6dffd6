"""The changes one projection batch makes, merged in memory before one write.

Owns: `Changes`, the unit a projection hands to a backend: new rows per table, column
updates by key, and integer increments by key. Merging happens here so every backend
writes each touched row once per batch (bulk insert / bulk update), whatever the dialect.

Invariants:
- Operations are applied in the order they were recorded, per row: an update or
  increment of a row inserted in the same batch is folded into that row before it is
  written; updates of older rows merge per column (the later value wins).
- A column is either updated (`set`) or incremented (`inc`), never both: increments are
  applied after updates by the backends, so mixing them on one column would reorder.
- `rows()` counts the rows a backend will write: inserted rows plus distinct updated keys;
  `ops` counts the logical row changes recorded (an insert and two later updates of the
  same row in one batch are 3 ops, 1 row).

Limits: a batch lives in memory; the projector bounds it by frames per batch.
"""

from __future__ import annotations

from typing import Any

from adapters.stores.schema import Table


class Changes:
    def __init__(self, tables: tuple[Table, ...]) -> None:
        self.tables = {t.name: t for t in tables}
        self.facts: dict[str, list[tuple]] = {}  # append-only tables
        self.inserts: dict[str, dict[tuple, list]] = {}  # keyed tables: key -> row
        self.sets: dict[str, dict[tuple, dict[str, Any]]] = {}
        self.incs: dict[str, dict[tuple, dict[str, int]]] = {}
        self.ops = 0  # logical row changes recorded (before merging)

    def fact(self, table: str, row: tuple) -> None:
        self.ops += 1
        rows = self.facts.get(table)
        if rows is None:
            rows = self.facts[table] = []
        rows.append(row)

    def insert(self, table: str, row: list) -> None:
        self.ops += 1
        t = self.tables[table]
        rows = self.inserts.setdefault(table, {})
        key = t.key_of(row)
        if key in rows:
            raise ValueError(f"{table}: row {key} inserted twice in one batch")
        rows[key] = row

    def set(self, table: str, key: tuple, **values: Any) -> None:
        self.ops += 1
        new = self.inserts.get(table, {}).get(key)
        if new is not None:
            index = self.tables[table].col_index
            for col, val in values.items():
                new[index[col]] = val
            return
        self.sets.setdefault(table, {}).setdefault(key, {}).update(values)

    def inc(self, table: str, key: tuple, column: str, delta: int) -> None:
        self.ops += 1
        new = self.inserts.get(table, {}).get(key)
        if new is not None:
            new[self.tables[table].col_index[column]] += delta
            return
        per_key = self.incs.setdefault(table, {}).setdefault(key, {})
        per_key[column] = per_key.get(column, 0) + delta

    def update_groups(self, table: str) -> list[tuple[tuple[str, ...], list[tuple]]]:
        """Updates of `table` grouped by column set: [(columns, [(*values, *key)])]."""
        groups: dict[tuple[str, ...], list[tuple]] = {}
        for key, values in self.sets.get(table, {}).items():
            cols = tuple(sorted(values))
            groups.setdefault(cols, []).append(tuple(values[c] for c in cols) + key)
        return list(groups.items())

    def inc_groups(self, table: str) -> list[tuple[tuple[str, ...], list[tuple]]]:
        groups: dict[tuple[str, ...], list[tuple]] = {}
        for key, deltas in self.incs.get(table, {}).items():
            cols = tuple(sorted(deltas))
            groups.setdefault(cols, []).append(tuple(deltas[c] for c in cols) + key)
        return list(groups.items())

    def rows(self) -> int:
        n = sum(len(r) for r in self.facts.values()) + sum(len(r) for r in self.inserts.values())
        touched: set[tuple[str, tuple]] = set()
        for kind in (self.sets, self.incs):
            for table, per_key in kind.items():
                touched.update((table, k) for k in per_key)
        return n + len(touched)

    def empty(self) -> bool:
        return not (self.facts or self.inserts or self.sets or self.incs)
