"""A batch of log records as per-kind event lists: the shape the projections fold columnar.

Owns: `bucket(batch, routes)`, one pass over a batch's events that sorts them into named
lists by event type (keeping log order inside each list), and the column helpers the
folds share: `columns(events, *attrs)` (attributes of many events as columns, transposed
in C), `days_of` (Asia/Shanghai calendar days as YYYYMMDD for a column of instants) and
`work_days_of` (the local days a hire spans).

Invariants:
- Every list holds `(seq, idx, event)` in log order: seq ascending, then the event's
  index inside its record. Several types may share one list (their relative order is
  kept); a type routed to `SKIP` (or not routed at all) is dropped.
- The column helpers return sequences of plain Python values (ints, strs): every
  backend can bind them, and a column's length equals the events'.

Limits: a batch is held in memory (the projector bounds its size); instants must fit a
signed 64-bit integer (the stores' BIGINT).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from engine.geo import LOCAL_OFFSET_MS, MS_PER_DAY, civil_from_days

SKIP = ""
Item = tuple[int, int, Any]  # (seq, index of the event in its record, event)

_yyyymmdd: dict[int, int] = {}


def bucket(batch: Sequence[Sequence[Any]], routes: dict[type, str]) -> dict[str, list[Item]]:
    """Sort the events of `batch` (items `(seq, record, ...)`) into lists named by `routes`."""
    out: dict[str, list[Item]] = {name: [] for name in routes.values() if name}
    add = {t: out[name].append for t, name in routes.items() if name}
    get = add.get
    for item in batch:
        seq = item[0]
        events = item[1].events
        if len(events) == 1:  # most records (measured ~12% faster than enumerate alone)
            ev = events[0]
            put = get(type(ev))
            if put is not None:
                put((seq, 0, ev))
            continue
        idx = 0
        for ev in events:
            put = get(type(ev))
            if put is not None:
                put((seq, idx, ev))
            idx += 1
    return out


def split(items: Sequence[Item]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...]]:
    """(seqs, idxs, events) of a non-empty list of items."""
    seqs, idxs, events = zip(*items, strict=True)
    return seqs, idxs, events


def columns(events: Sequence[Any], *attrs: str) -> list[tuple]:
    """The named attributes of `events` as columns (one tuple per attribute)."""
    if len(attrs) == 1:
        return [tuple(map(attrgetter(attrs[0]), events))]
    return list(zip(*map(attrgetter(*attrs), events), strict=True))


def _day(number: int) -> int:
    day = _yyyymmdd.get(number)
    if day is None:
        y, m, d = civil_from_days(number)
        day = _yyyymmdd[number] = y * 10000 + m * 100 + d
    return day


def days_of(ts_ms: Sequence[int]) -> list[int]:
    """Asia/Shanghai calendar day (YYYYMMDD) of each instant in `ts_ms`."""
    if not len(ts_ms):
        return []
    numbers = (np.asarray(ts_ms, dtype=np.int64) + LOCAL_OFFSET_MS) // MS_PER_DAY
    first, last = int(numbers.min()), int(numbers.max())
    if first == last:  # the usual batch: one day
        return [_day(first)] * len(ts_ms)
    uniq, inverse = np.unique(numbers, return_inverse=True)
    table = np.array([_day(int(n)) for n in uniq], dtype=np.int64)
    return table[inverse].tolist()


def work_days_of(start_ms: Sequence[int], end_ms: Sequence[int]) -> list[int]:
    """Local days each [start, end) spans, at least 1 (`reporting.work_days` per row)."""
    if not len(start_ms):
        return []
    start = np.asarray(start_ms, dtype=np.int64)
    last = np.maximum(start, np.asarray(end_ms, dtype=np.int64) - 1)
    span = (last + LOCAL_OFFSET_MS) // MS_PER_DAY - (start + LOCAL_OFFSET_MS) // MS_PER_DAY + 1
    return np.maximum(span, 1).tolist()
