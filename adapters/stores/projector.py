"""The projector: brings a store up to date with the log, exactly once.

Owns: `project()`, the one catch-up loop shared by both projections and every backend:
read the store's position, check that the record there is still the one applied (same
payload hash), then read the log from the next seq in batches, fold each batch into one
`Changes` and write it with the new position in one transaction. `--rebuild` drops the
projection's tables first and starts from seq 1.

Invariants:
- Rows and position commit together, so a kill at any instant (even mid-batch) leaves
  the store at a batch boundary: re-running continues from there, no row lost or doubled.
- The store never runs ahead of the log: a position beyond the log's end, or a different
  record at the position, raises `StoreMismatch` (rebuild to recover).
- The log is read through the read-only reader; a running writer is never disturbed.

Limits: `batch_frames` records per transaction (default 4,096); a batch's changes are
held in memory until written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from adapters.stores import registry, reporting
from adapters.stores.backend import Backend
from adapters.stores.changes import Changes
from adapters.stores.schema import Table
from adapters.stores.source import payload_hash, read_records
from engine.events import Record

DEFAULT_BATCH_FRAMES = 4096


@dataclass(frozen=True)
class Projection:
    name: str
    tables: tuple[Table, ...]
    apply_record: Callable[[Changes, int, Record], None]


REGISTRY = Projection(registry.NAME, registry.TABLES, registry.apply_record)
REPORTING = Projection(reporting.NAME, reporting.TABLES, reporting.apply_record)


class StoreMismatch(RuntimeError):
    """The store's position does not match the log (a different or shorter log)."""


class ProjectStats(msgspec.Struct, kw_only=True):
    projection: str
    backend: str
    from_seq: int
    to_seq: int
    records: int
    rows: int
    batches: int
    rebuilt: bool
    elapsed_s: float
    rows_per_s: float
    records_per_s: float


def _check_position(backend: Backend, proj: Projection, log_dir: Path) -> int:
    pos, stored_hash = backend.position(proj.name)
    if pos == 0:
        return 0
    batch = next(read_records(log_dir, pos, 1), None)
    if not batch:
        raise StoreMismatch(
            f"{proj.name} store is at seq {pos} but the log at {log_dir} ends before it; "
            "was the log replaced? rebuild the store (lingong project --rebuild)"
        )
    if payload_hash(batch[0][2]) != stored_hash:
        raise StoreMismatch(
            f"{proj.name} store applied a different record at seq {pos} than the log at "
            f"{log_dir} holds; rebuild the store (lingong project --rebuild)"
        )
    return pos


def project(
    backend: Backend,
    proj: Projection,
    log_dir: str | Path,
    *,
    rebuild: bool = False,
    batch_frames: int = DEFAULT_BATCH_FRAMES,
    on_batch: Callable[[int, int], None] | None = None,
) -> ProjectStats:
    """Catch `backend` up with the log at `log_dir`; returns what was done.

    `on_batch(seq, rows)` is called after each committed batch (progress output).
    """
    log_path = Path(log_dir)
    started = time.perf_counter()
    backend.open(proj.tables)
    if rebuild:
        backend.reset(proj.name)
    pos = _check_position(backend, proj, log_path)
    seq, rows, records, batches = pos, 0, 0, 0
    for batch in read_records(log_path, pos + 1, batch_frames):
        changes = Changes(proj.tables)
        apply = proj.apply_record
        for seq, record, _ in batch:
            apply(changes, seq, record)
        n = changes.rows()
        backend.write(changes, proj.name, seq, payload_hash(batch[-1][2]), time.time_ns() // 10**6)
        rows += n
        records += len(batch)
        batches += 1
        if on_batch is not None:
            on_batch(seq, n)
    elapsed = time.perf_counter() - started
    return ProjectStats(
        projection=proj.name,
        backend=backend.dialect,
        from_seq=pos + 1,
        to_seq=seq,
        records=records,
        rows=rows,
        batches=batches,
        rebuilt=rebuild,
        elapsed_s=round(elapsed, 4),
        rows_per_s=round(rows / elapsed, 1) if elapsed > 0 else 0.0,
        records_per_s=round(records / elapsed, 1) if elapsed > 0 else 0.0,
    )
