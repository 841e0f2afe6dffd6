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

Limits: `batch_frames` records per transaction (default 16,384: larger batches fold more
updates into inserts and amortise DuckDB's per-statement cost); a batch's changes are held
in memory until written.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from adapters.log.ports import LogReader
from adapters.log.reader import open_log_reader
from adapters.stores import registry, reporting
from adapters.stores.backend import Backend
from adapters.stores.changes import Changes
from adapters.stores.schema import Table
from adapters.stores.source import payload_hash, read_records
from engine.events import Record

DEFAULT_BATCH_FRAMES = 16384


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
    rows: int  # rows written (inserted, or updated once per batch)
    row_changes: int  # logical row changes before merging within a batch
    batches: int
    rebuilt: bool
    elapsed_s: float
    rows_per_s: float
    records_per_s: float
    write_s: float  # time inside the store's transactions
    write_rows_per_s: float


def _check_position(backend: Backend, proj: Projection, log_dir: LogReader) -> int:
    pos, stored_hash = backend.position(proj.name)
    if pos == 0:
        return 0
    batch = next(read_records(log_dir, pos, 1), None)
    if not batch:
        raise StoreMismatch(
            f"{proj.name} store is at seq {pos} but the log at {log_dir.location} ends before it; "
            "was the log replaced? rebuild the store (lingong project --rebuild)"
        )
    if payload_hash(batch[0][2]) != stored_hash:
        raise StoreMismatch(
            f"{proj.name} store applied a different record at seq {pos} than the log at "
            f"{log_dir.location} holds; rebuild the store (lingong project --rebuild)"
        )
    return pos


def project(
    backend: Backend,
    proj: Projection,
    log_dir: str | Path | LogReader,
    *,
    rebuild: bool = False,
    batch_frames: int = DEFAULT_BATCH_FRAMES,
    to_seq: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> ProjectStats:
    """Catch `backend` up with the log at `log_dir` (up to `to_seq` when given).

    `on_batch(seq, rows)` is called after each committed batch (progress output).
    `log_dir` is a log URL (a folder or nats://host:port/STREAM/PARTITION) or a reader.
    """
    reader = open_log_reader(log_dir)  # the one read port
    try:
        return _project(backend, proj, reader, rebuild, batch_frames, to_seq, on_batch)
    finally:
        if reader is not log_dir:
            reader.close()


def _project(
    backend: Backend,
    proj: Projection,
    log_path: LogReader,
    rebuild: bool,
    batch_frames: int,
    to_seq: int | None,
    on_batch: Callable[[int, int], None] | None,
) -> ProjectStats:
    started = time.perf_counter()
    backend.open(proj.tables)
    if rebuild:
        backend.reset(proj.name)
    pos = _check_position(backend, proj, log_path)
    seq, rows, ops, records, batches, write_s = pos, 0, 0, 0, 0, 0.0
    prev = pos
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers: the cyclic GC would dominate
    try:
        for changes, seq, last_hash, n_records in _prepared(
            proj, log_path, pos + 1, batch_frames, to_seq
        ):
            n = changes.rows()
            t0 = time.perf_counter()
            backend.write(
                changes,
                proj.name,
                from_position=prev,
                position=seq,
                payload_hash=last_hash,
                now_ms=time.time_ns() // 10**6,
            )
            prev = seq
            write_s += time.perf_counter() - t0
            rows += n
            ops += changes.ops
            records += n_records
            batches += 1
            if on_batch is not None:
                on_batch(seq, n)
    finally:
        if gc_was_enabled:
            gc.enable()
    if records:
        backend.analyze()
    elapsed = time.perf_counter() - started
    return ProjectStats(
        projection=proj.name,
        backend=backend.dialect,
        from_seq=pos + 1,
        to_seq=seq,
        records=records,
        rows=rows,
        row_changes=ops,
        batches=batches,
        rebuilt=rebuild,
        elapsed_s=round(elapsed, 4),
        rows_per_s=round(rows / elapsed, 1) if elapsed > 0 else 0.0,
        records_per_s=round(records / elapsed, 1) if elapsed > 0 else 0.0,
        write_s=round(write_s, 4),
        write_rows_per_s=round(rows / write_s, 1) if write_s > 0 else 0.0,
    )


Prepared = tuple[Changes, int, str, int]  # changes, last seq, its payload hash, records


def _prepared(
    proj: Projection, log_path: LogReader, from_seq: int, batch_frames: int, to_seq: int | None
) -> Iterator[Prepared]:
    """Read, decode and fold the log into one `Changes` per batch of records."""
    apply = proj.apply_record
    for batch in read_records(log_path, from_seq, batch_frames):
        if to_seq is not None and batch[0][0] > to_seq:
            return
        if to_seq is not None and batch[-1][0] > to_seq:
            batch = batch[: to_seq - batch[0][0] + 1]
        changes = Changes(proj.tables)
        for seq, record, _ in batch:
            apply(changes, seq, record)
        yield changes, batch[-1][0], payload_hash(batch[-1][2]), len(batch)
