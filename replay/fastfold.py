"""The rebuild's bulk fold: whole blocks of records, frequent column decisions in numba.

Owns: `FastFold` (folds decoded records into an engine's state a block at a time) and
`apply_pushes` / `py_apply_pushes` (the numba kernel of `PushSent`, and its plain-Python
twin).

How it differs from `Engine.apply_record` per record, and why the result is the same:
- A v2 block's records are decoded by one msgspec call into the codec's wire structs and
  folded as they are (the appliers of `engine.fold` only read fields, and the wire structs
  have the engine's field names): no conversion to engine structs. v1 segments and mixed
  blocks fall back to the engine structs.
- `PushSent` (the most frequent event of a morning) only bumps two worker columns
  (`push_day`, `pushes_today`, exactly as `Workers.record_push`); its (row, day) pairs are
  gathered and applied in order by `apply_pushes` before any event that could read or
  reset those columns (`WorkerRegistered`, `WorkerErased`) and at the end of each block.
  No applier reads them, so deferring them within that window changes nothing.
- What `engine.fold.apply` does around each applier (the per-type counts,
  `events_applied`, `last_ts_ms`) is added up per block; `last_seq` and the remembered
  command ids (with their digests) per record, as `apply_record` does.
A test folds the same logs both ways and compares the state digests (the twin of the whole
fold); another compares `apply_pushes` with `py_apply_pushes` on seeded random inputs.

Invariants: records are folded in seq order, contiguous; a record that does not fit the
state raises `ReplayError` naming its seq (the state is then left half-folded: discard it).
Limits: the whole state is in memory (as in the engine).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from adapters.log.records import RecordError, decode_block, events_codec
from engine import events as e
from engine import fold as engine_fold
from engine.core import Engine
from engine.fold import InconsistentLog
from engine.geo import LOCAL_OFFSET_MS, MS_PER_DAY

_ERRORS = (InconsistentLog, KeyError, ValueError, IndexError)
_codec = events_codec()  # the fold reads events only: recorded commands are skipped


@njit(cache=True)
def apply_pushes(
    rows: np.ndarray, days: np.ndarray, push_day: np.ndarray, pushes_today: np.ndarray
) -> None:
    """`Workers.record_push(rows[i], days[i])` for every i, in order."""
    for i in range(rows.shape[0]):
        r = rows[i]
        d = days[i]
        if push_day[r] != d:
            push_day[r] = d
            pushes_today[r] = 0
        pushes_today[r] += 1


def py_apply_pushes(
    rows: np.ndarray, days: np.ndarray, push_day: np.ndarray, pushes_today: np.ndarray
) -> None:
    """The plain-Python twin of `apply_pushes`."""
    for i in range(rows.shape[0]):
        r = int(rows[i])
        d = days[i]
        if push_day[r] != d:
            push_day[r] = d
            pushes_today[r] = 0
        pushes_today[r] += 1


class FastFold:
    """Folds blocks of records into `engine`'s state (see the module docstring).

    Call `finish()` at the end: it applies what is still gathered.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = engine.state
        wire_of = _codec.wire_of
        base = engine_fold.appliers()
        self._appliers: dict[type, Any] = {**base, **{wire_of[c]: f for c, f in base.items()}}
        self._names = {c: c.__name__ for c in base} | {wire_of[c]: c.__name__ for c in base}
        self._push = (e.PushSent, wire_of[e.PushSent])
        self._flush_before = frozenset(
            t for c in (e.WorkerRegistered, e.WorkerErased) for t in (c, wire_of[c])
        )
        self._rows: list[int] = []
        self._days: list[int] = []

    def records_of(self, block: Any) -> list[Any]:
        """The records of a block: wire structs when it decodes as schema 2 in one call."""
        if hasattr(block, "array_start"):
            data = block.data[block.array_start : block.offsets[-1]]
            try:
                recs = _codec.decode_array_wire(data)
            except Exception:  # v1 records in a v2 block, damage: the careful path names it
                return decode_block(block, commands=False)
            if all(r.v == e.SCHEMA_VERSION for r in recs):
                return recs
        return decode_block(block, commands=False)

    def fold(self, first_seq: int, records: list[Any], limit_ms: int | None = None) -> int:
        """Fold `records` (seqs first_seq, first_seq+1, ...) up to the first whose fact
        happened after `limit_ms`; returns how many were folded."""
        state = self.state
        appliers, push, flush_before = self._appliers, self._push, self._flush_before
        rows, days, worker_rows = self._rows, self._days, state.worker_rows
        counts: dict[type, int] = {}
        last_ts = state.last_ts_ms
        seq = first_seq
        done = 0
        try:
            for rec in records:
                events = rec.events
                if limit_ms is not None and events[0].ts_ms > limit_ms:
                    break
                if seq != state.last_seq + 1:
                    raise ValueError(f"record seq {seq} does not follow {state.last_seq}")
                for ev in events:
                    cls = type(ev)
                    if cls in push:
                        rows.append(worker_rows[ev.worker_id])
                        days.append((ev.ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY)
                    else:
                        if cls in flush_before and rows:
                            self.flush()
                        appliers[cls](state, ev)
                    counts[cls] = counts.get(cls, 0) + 1
                    if ev.ts_ms > last_ts:
                        last_ts = ev.ts_ms
                state.last_seq = seq
                state.commands.remember(rec.cmd_id, seq, rec.digest, last_ts)
                seq += 1
                done += 1
            self.flush()
        except _ERRORS as exc:
            raise RecordError(seq, f"does not fold: {exc!r}") from exc
        finally:
            state.last_ts_ms = last_ts
            names = self._names
            for cls, n in counts.items():
                state.events_applied += n
                name = names[cls]
                state.counts[name] = state.counts.get(name, 0) + n
        return done

    def finish(self) -> Engine:
        """The folded engine, with everything gathered applied."""
        self.flush()
        return self.engine

    def flush(self) -> None:
        """Apply the gathered `PushSent`s to the worker columns."""
        if not self._rows:
            return
        w = self.state.workers
        rows = np.asarray(self._rows, dtype=np.int64)
        if rows.min() < 0 or rows.max() >= w.n:
            raise IndexError(f"worker row out of range (n={w.n})")
        apply_pushes(
            rows, np.asarray(self._days, dtype=w.push_day.dtype), w.push_day, w.pushes_today
        )
        self._rows.clear()
        self._days.clear()
