"""The projector: brings a store up to date with the log, exactly once.

Owns: `project()`, the one catch-up loop shared by both projections and every backend:
read the store's position, check that the record there is still the one applied (same
payload hash), then read the log from the next seq in batches, fold each batch into one
`Changes` (the projection's columnar `apply_batch`) and write it with the new position in
one transaction. `--rebuild` drops the projection's tables first and starts from seq 1.
For the stores whose writes release the GIL for long stretches (DuckDB, PostgreSQL:
`Backend.overlap_reads`), reading, decoding and folding run in a worker thread, up to
`PIPELINE_DEPTH` batches ahead of the writes, so the log side and the store side overlap.

Invariants:
- Rows and position commit together, so a kill at any instant (even mid-batch) leaves
  the store at a batch boundary: re-running continues from there, no row lost or doubled.
- The store never runs ahead of the log: a position beyond the log's end, or a different
  record at the position, raises `StoreMismatch` (rebuild to recover).
- The log is read through the read-only reader; a running writer is never disturbed.
- Only the calling thread touches the store; the worker only reads the log and folds. An
  error on either side stops both and is raised in the caller (the worker's first).

Limits: `batch_frames` records per transaction (default `Backend.batch_frames`: 16,384,
65,536 for DuckDB; larger batches fold more updates into inserts and amortise each
statement's cost); at most `PIPELINE_DEPTH` + 2 batches' changes are held in memory at
once (~160 MB peak for the registry of a 86k-record morning at 16,384).
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.ports import LogReader
from adapters.log.reader import open_log_reader
from adapters.stores import registry, reporting
from adapters.stores.backend import Backend
from adapters.stores.changes import Changes
from adapters.stores.schema import Table
from adapters.stores.source import payload_hash, read_records

PIPELINE_DEPTH = 2


@dataclass(frozen=True)
class Projection:
    name: str
    tables: tuple[Table, ...]
    apply_batch: Callable[[Changes, Sequence[Sequence[Any]]], None]


REGISTRY = Projection(registry.NAME, registry.TABLES, registry.apply_batch)
REPORTING = Projection(reporting.NAME, reporting.TABLES, reporting.apply_batch)


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
    # CPU seconds of the thread doing each part (this process only; a PostgreSQL server's
    # own work is not in them): reading + decoding the log, folding, writing
    read_cpu_s: float = 0.0
    fold_cpu_s: float = 0.0
    write_cpu_s: float = 0.0


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
    batch_frames: int | None = None,
    to_seq: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    pipeline: bool | None = None,
) -> ProjectStats:
    """Catch `backend` up with the log at `log_dir` (up to `to_seq` when given): a log URL
    (a folder or nats://host:port/STREAM/PARTITION) or a reader (the one read port).

    `on_batch(seq, rows)` is called after each committed batch (progress output);
    `pipeline` folds ahead in a worker thread (default: `backend.overlap_reads`); False
    reads and folds in the calling thread (profiling, comparisons).
    """
    reader = open_log_reader(log_dir)
    try:
        return _project(backend, proj, reader, rebuild, batch_frames, to_seq, on_batch, pipeline)
    finally:
        if reader is not log_dir:
            reader.close()


def _project(
    backend: Backend,
    proj: Projection,
    log_path: LogReader,
    rebuild: bool,
    batch_frames: int | None,
    to_seq: int | None,
    on_batch: Callable[[int, int], None] | None,
    pipeline: bool | None,
) -> ProjectStats:
    started = time.perf_counter()
    backend.open(proj.tables)
    if rebuild:
        backend.reset(proj.name)
    pos = _check_position(backend, proj, log_path)
    seq, rows, ops, records, batches, write_s, write_cpu = pos, 0, 0, 0, 0, 0.0, 0.0
    prev = pos
    cpu = [0.0, 0.0]  # read, fold (the worker adds to them)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers: the cyclic GC would dominate
    frames = batch_frames or backend.batch_frames
    prepared = _prepared(proj, log_path, pos + 1, frames, to_seq, cpu)
    ahead = backend.overlap_reads if pipeline is None else pipeline
    batches_in = _ahead(prepared) if ahead else prepared
    try:
        for changes, seq, last_hash, n_records in batches_in:
            n = changes.rows()
            t0, c0 = time.perf_counter(), time.thread_time()
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
            write_cpu += time.thread_time() - c0
            rows += n
            ops += changes.ops
            records += n_records
            batches += 1
            if on_batch is not None:
                on_batch(seq, n)
    finally:
        batches_in.close()  # stops and joins the worker when a write failed
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
        read_cpu_s=round(cpu[0], 4),
        fold_cpu_s=round(cpu[1], 4),
        write_cpu_s=round(write_cpu, 4),
    )


Prepared = tuple[Changes, int, str, int]  # changes, last seq, its payload hash, records


def _prepared(
    proj: Projection,
    log_path: LogReader,
    from_seq: int,
    batch_frames: int,
    to_seq: int | None,
    cpu: list[float],
) -> Iterator[Prepared]:
    """Read, decode and fold the log into one `Changes` per batch of records; add the
    thread CPU time spent reading to cpu[0], folding to cpu[1]."""
    batches = read_records(log_path, from_seq, batch_frames)
    try:
        while True:
            c0 = time.thread_time()
            batch = next(batches, None)
            c1 = time.thread_time()
            cpu[0] += c1 - c0
            if batch is None or (to_seq is not None and batch[0][0] > to_seq):
                return
            if to_seq is not None and batch[-1][0] > to_seq:
                batch = batch[: to_seq - batch[0][0] + 1]
            changes = Changes(proj.tables)
            proj.apply_batch(changes, batch)
            last_hash = payload_hash(batch[-1][2])
            cpu[1] += time.thread_time() - c1
            yield changes, batch[-1][0], last_hash, len(batch)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:  # a generator: release the log reader now
            close()


_DONE = object()


def _ahead(items: Iterator[Prepared], depth: int = PIPELINE_DEPTH) -> Iterator[Prepared]:
    """Yield `items`, produced by a worker thread up to `depth` items ahead."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            while not stop.is_set():  # checked before reading and folding each batch
                item = next(items, _DONE)
                box.put(item)
                if item is _DONE:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(exc)
        finally:
            items.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=produce, name="lingong-project-read", daemon=True)
    worker.start()
    try:
        while True:
            got = box.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                box.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()
