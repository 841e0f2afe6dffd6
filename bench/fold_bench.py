"""Fold-rate benchmark: how fast the core applies recorded events (no deciding, no I/O).

Owns: `run_fold_bench`, which runs a synthetic morning through an in-memory engine once
to get its records, then times folding those records into a fresh engine, and checks the
answer (the fresh engine's state digest equals the original's).

Limits: the morning is bounded by the sizes given; one timed pass plus one warm-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from engine import events as e
from engine.commands import Command, Refusal
from engine.core import Engine
from sim.callers import caller_for
from sim.morning import Morning, Sizes


def play_timeline(morning: Morning, run: Callable[[Command], None]) -> None:
    """The morning's commands and the people's replies due before each, in time order,
    then the replies left (`run` executes one and lets the morning respond)."""
    for ts, cmd in morning.timeline():
        for due in morning.pop_due(ts):
            run(due)
        run(cmd)
    for due in morning.drain():
        run(due)


def execute_morning(
    morning: Morning, transform: Callable[[Command], Command] | None = None
) -> tuple[Engine, list[e.Record]]:
    """Run `morning` through an in-memory engine; people answer what it decides.

    `transform` may rewrite each command before it runs (property tests use it).
    Returns the engine and the record of every accepted command, in seq order.
    """
    engine = Engine()
    records: list[e.Record] = []

    def run(cmd: Command) -> None:
        if transform is not None:
            cmd = transform(cmd)
        try:
            out = engine.execute(cmd, caller_for(engine.state, cmd))
        except Refusal:
            return
        if not out.duplicate:
            records.append(out.record())
            morning.respond(out.events)

    for cmd in morning.setup():
        run(cmd)
    play_timeline(morning, run)
    return engine, records


def morning_records(*, workers: int, postings: int, seed: int = 7) -> tuple[list[e.Record], str]:
    """Records of one morning executed in memory, and the final state digest."""
    morning = Morning(
        seed=seed, sizes=Sizes(workers=workers, postings=postings, employers=max(10, postings // 4))
    )
    engine, records = execute_morning(morning)
    return records, engine.digest()


def fold(records: list[e.Record]) -> Engine:
    engine = Engine()
    for seq, rec in enumerate(records, start=1):
        engine.apply_record(seq, rec)
    return engine


def run_fold_bench(*, workers: int = 20_000, postings: int = 4_000, seed: int = 7) -> dict:
    records, digest = morning_records(workers=workers, postings=postings, seed=seed)
    n_events = sum(len(r.events) for r in records)
    fold(records[: min(len(records), 5000)])  # warm-up (imports, numba)
    started = time.perf_counter()
    engine = fold(records)
    elapsed = time.perf_counter() - started
    if engine.digest() != digest:
        raise AssertionError("fold digest differs from the executed morning's digest")
    payloads = [e.encode_record(r) for r in records]
    started = time.perf_counter()
    decoded = [e.decode_record(p) for p in payloads]
    decode_s = time.perf_counter() - started
    assert len(decoded) == len(records)
    return {
        "records": len(records),
        "events": n_events,
        "fold_s": round(elapsed, 4),
        "fold_events_per_s": round(n_events / elapsed),
        "decode_events_per_s": round(n_events / decode_s),
        "digest_ok": True,
    }
