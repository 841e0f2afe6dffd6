"""`lingong replay rebuild`: the state at a point of the log, folded without deciding.

Owns: `fold` (records -> a fresh `Engine` with `Engine.apply_record`, stopping at a seq or
a time) and `rebuild` (the report: counts from `State.summary()`, the state digest, the
fold rate).

Invariants:
- Recorded decisions are applied, never re-derived: a rebuild shows what the engine knew
  at that point, whatever the matcher would say today (`verify` is the check of that).
- `--until SEQ` keeps records 1..SEQ; `--until TIME` keeps the longest prefix of records
  whose fact happened at or before TIME (a state is always a prefix of the log).
- The hash chain is checked only when asked (`verify_chain=True`); crc and seq always.

Limits: the whole state is in memory (as in the engine).
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from engine.core import Engine
from engine.fold import InconsistentLog
from replay.source import Progress, ReplayError, Until, bulk, local_time, log_bytes, read_records


class Folded(msgspec.Struct, kw_only=True):
    """A fresh engine folded up to `seq` (the last record kept)."""

    engine: Engine
    seq: int
    ts_ms: int
    records: int
    elapsed_s: float


class RebuildReport(msgspec.Struct, kw_only=True):
    log: str
    until: str
    seq: int
    time: str
    records: int
    events: int
    summary: dict[str, int]
    digest: str
    verify_chain: bool
    elapsed_s: float
    events_per_s: float


def fold(
    directory: Path,
    until: Until | None = None,
    *,
    verify_chain: bool = False,
    quiet: bool = True,
    engine: Engine | None = None,
) -> Folded:
    """Fold the log into `engine` (a fresh one by default) up to `until`."""
    until = until or Until()
    engine = engine if engine is not None else Engine()
    if until.seq == 0:
        return Folded(engine=engine, seq=0, ts_ms=0, records=0, elapsed_s=0.0)
    apply_record = engine.apply_record
    limit_ms = until.ts_ms
    seq = engine.state.last_seq
    last_ts = 0
    records = 0
    started = time.perf_counter()
    with bulk(), Progress(log_bytes(directory), "rebuild", quiet=quiet) as bar:
        for batch in read_records(
            directory,
            from_seq=seq + 1,
            stop_seq=until.seq,
            verify_chain=verify_chain,
            progress=bar,
        ):
            if limit_ms is not None:
                cut = next(
                    (i for i, (_, r) in enumerate(batch) if r.events[0].ts_ms > limit_ms), -1
                )
                if cut >= 0:
                    batch = batch[:cut]
                    limit_ms = -1  # stop after this batch
            for seq, rec in batch:
                try:
                    apply_record(seq, rec)
                except (InconsistentLog, ValueError, KeyError) as exc:
                    raise ReplayError(seq, f"does not fold: {exc}") from exc
            if batch:
                last_ts = batch[-1][1].events[0].ts_ms
                records += len(batch)
            if limit_ms == -1:
                break
    if until.seq is not None and engine.state.last_seq < until.seq:
        raise ReplayError(until.seq, f"the log ends at seq {engine.state.last_seq}")
    return Folded(
        engine=engine,
        seq=engine.state.last_seq,
        ts_ms=last_ts,
        records=records,
        elapsed_s=time.perf_counter() - started,
    )


def rebuild(
    directory: Path, until: Until | None = None, *, verify_chain: bool = False, quiet: bool = True
) -> RebuildReport:
    """The state after the records kept by `until`: counts, digest and the fold rate."""
    until = until or Until()
    folded = fold(directory, until, verify_chain=verify_chain, quiet=quiet)
    state = folded.engine.state
    events = state.events_applied
    return RebuildReport(
        log=str(directory),
        until=until.describe(),
        seq=folded.seq,
        time=local_time(folded.ts_ms) if folded.ts_ms else "",
        records=folded.records,
        events=events,
        summary=state.summary(),
        digest=state.digest(),
        verify_chain=verify_chain,
        elapsed_s=round(folded.elapsed_s, 3),
        events_per_s=round(events / folded.elapsed_s, 1) if folded.elapsed_s > 0 else 0.0,
    )


def format_rebuild(r: RebuildReport) -> str:
    lines = [
        f"state of {r.log} at {r.until}: seq {r.seq}" + (f", {r.time} (+08:00)" if r.time else ""),
        f"  folded {r.records} records, {r.events} events in {r.elapsed_s:.2f} s "
        f"({r.events_per_s:,.0f} events/s; hash chain {'checked' if r.verify_chain else 'not checked'})",
    ]
    for key, value in r.summary.items():
        lines.append(f"  {key:<12} {value}")
    lines.append(f"  digest       {r.digest}")
    return "\n".join(lines)
