"""`lingong replay rebuild`: the state at a point of the log, folded without deciding.

Owns: `fold` (records -> a fresh `Engine`, stopping at a seq or a time: a block at a
time with `replay.fastfold` for the file log, record by record with `Engine.apply_record`
otherwise) and `rebuild` (the report: counts from `State.summary()`, the state digest,
the fold rate).

Invariants:
- Recorded decisions are applied, never re-derived: a rebuild shows what the engine knew
  at that point, whatever the matcher would say today (`verify` is the check of that).
- `--until SEQ` keeps records 1..SEQ; `--until TIME` keeps the longest prefix of records
  whose fact happened at or before TIME (a state is always a prefix of the log).
- The hash chain is checked only when asked (`verify_chain=True`); crc and seq always.
- With `snapshots` (the runtime's `DATA/snapshots`), folding starts from the newest
  snapshot at or before the target that is signed by `snapshot_key` (the runtime's public
  key, `DATA/checkpoints/signing-key.pub` by default) and whose restored state matches its
  own digest; the report says so (`from_snapshot`) and counts the ones passed over. A
  snapshot is not covered by the hash chain, only by its signature: for an audit that
  trusts nothing but the log, rebuild without it (the default) or `verify` the log.

Limits: the whole state is in memory (as in the engine).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.checkpoints import verifies_with
from adapters.log.ports import LogReader
from adapters.log.snapshots import Snapshot, list_snapshots, scan_snapshots, signed_message
from engine.core import Engine
from engine.fold import InconsistentLog
from engine.snapshot import restore_state
from replay.fastfold import FastFold
from replay.source import (
    Progress,
    ReplayError,
    Until,
    bulk,
    local_time,
    open_reader,
    read_records,
    reads_log,
)


class Folded(msgspec.Struct, kw_only=True):
    """A fresh engine folded up to `seq` (the last record kept)."""

    engine: Engine
    seq: int
    ts_ms: int
    records: int
    elapsed_s: float
    from_snapshot: int = 0  # seq of the snapshot folding started from (0: none)
    events: int = 0  # events folded from the log (not counting the snapshot's)
    snapshots_passed_over: int = 0  # unsigned, not the key's, corrupt or not restoring


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
    from_snapshot: int = 0
    snapshots_passed_over: int = 0


@reads_log
def fold(
    log: LogReader | str,
    until: Until | None = None,
    *,
    verify_chain: bool = False,
    quiet: bool = True,
    engine: Engine | None = None,
    snapshots: Path | None = None,
    snapshot_key: str | None = None,
    plain: bool = False,
) -> Folded:
    """Fold the log into `engine` (a fresh one, or one restored from `snapshots`).

    A reader that hands over whole blocks (the file log) is folded by
    `replay.fastfold.FastFold`; others, or `plain=True`, record by record with
    `Engine.apply_record` (the reference the fast fold is tested against).
    """
    until = until or Until()
    reader = open_reader(log)
    started_from = passed_over = 0
    if engine is None and snapshots is not None:
        key = snapshot_key or _published_key(snapshots)
        engine, passed_over = _from_snapshot(snapshots, until, key)
        started_from = engine.state.last_seq if engine is not None else 0
    engine = engine if engine is not None else Engine()
    events_before = engine.state.events_applied
    if until.seq == 0:
        return Folded(engine=engine, seq=0, ts_ms=0, records=0, elapsed_s=0.0)
    seq = engine.state.last_seq
    started = time.perf_counter()
    with bulk(), Progress(reader.last_seq - seq, "rebuild", quiet=quiet) as bar:
        if hasattr(reader, "read_blocks") and not plain:
            engine, records, last_ts = _fold_blocks(engine, reader, until, verify_chain, bar)
        else:
            records, last_ts = _fold_records(engine, reader, until, verify_chain, bar)
    if until.seq is not None and engine.state.last_seq < until.seq:
        raise ReplayError(until.seq, f"the log ends at seq {engine.state.last_seq}")
    return Folded(
        engine=engine,
        seq=engine.state.last_seq,
        ts_ms=last_ts or engine.state.last_ts_ms,
        records=records,
        elapsed_s=time.perf_counter() - started,
        from_snapshot=started_from,
        events=engine.state.events_applied - events_before,
        snapshots_passed_over=passed_over,
    )


def _fold_blocks(
    engine: Engine, reader: Any, until: Until, verify_chain: bool, bar: Progress
) -> tuple[Engine, int, int]:
    """The bulk fold: a block at a time (`replay.fastfold`). Returns (the folded engine,
    records, last fact time)."""
    ff = FastFold(engine)
    start = engine.state.last_seq + 1
    records = last_ts = 0
    for block in reader.read_blocks(start, verify_chain=verify_chain):
        first, count = block.first_seq, block.count
        skip = max(0, engine.state.last_seq + 1 - first)
        end = count if until.seq is None else min(count, until.seq - first + 1)
        if skip >= end:
            if end < count:
                break
            continue
        recs = ff.records_of(block)[skip:end]
        done = ff.fold(first + skip, recs, until.ts_ms)
        records += done
        bar.update(done)
        if done:
            last_ts = recs[done - 1].events[0].ts_ms
        if done < len(recs) or end < count:
            break
    return ff.finish(), records, last_ts


def _fold_records(
    engine: Engine, reader: Any, until: Until, verify_chain: bool, bar: Progress
) -> tuple[int, int]:
    """The plain fold: record by record with `Engine.apply_record`."""
    apply_record = engine.apply_record
    limit_ms = until.ts_ms
    last_ts = records = 0
    for batch in read_records(
        reader,
        from_seq=engine.state.last_seq + 1,
        stop_seq=until.seq,
        verify_chain=verify_chain,
        progress=bar,
    ):
        if limit_ms is not None:
            cut = next((i for i, (_, r) in enumerate(batch) if r.events[0].ts_ms > limit_ms), -1)
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
    return records, last_ts


def _published_key(snapshots: Path) -> str:
    """The runtime's public key next to its snapshots (DATA/checkpoints/signing-key.pub)."""
    path = snapshots.parent / "checkpoints" / "signing-key.pub"
    if not path.is_file():
        raise FileNotFoundError(
            f"no public key at {path} to check the snapshots' signatures: give the "
            "runtime's key (--snapshot-key), or rebuild from the log alone (no --snapshots)"
        )
    return path.read_text(encoding="ascii").strip().lower()


def _from_snapshot(directory: Path, until: Until, key_hex: str) -> tuple[Engine | None, int]:
    """An engine restored from the newest usable snapshot for `until` signed by `key_hex`
    (None: none), and how many newer ones were passed over."""

    def accept(snap: Snapshot, signature: bytes) -> str | None:
        if signature and verifies_with(key_hex, signed_message(*snap), signature):
            return None
        return "not signed by the runtime's key"

    passed_over = 0
    for seq, _ in list_snapshots(directory):
        if until.seq is not None and seq > until.seq:
            continue
        snap = scan_snapshots(directory, max_seq=seq, accept=accept).latest
        if snap is None or snap.seq != seq:
            passed_over += 1  # corrupt or refused: the next older one is tried
            continue
        state = restore_state(snap.state)
        if state.digest() != snap.digest or state.last_seq != snap.seq:
            passed_over += 1
            continue
        if until.ts_ms is not None and state.last_ts_ms > until.ts_ms:
            continue
        return Engine(state), passed_over
    return None, passed_over


@reads_log
def rebuild(
    log: LogReader | str,
    until: Until | None = None,
    *,
    verify_chain: bool = False,
    quiet: bool = True,
    snapshots: Path | None = None,
    snapshot_key: str | None = None,
) -> RebuildReport:
    """The state after the records kept by `until`: counts, digest and the fold rate."""
    until = until or Until()
    reader = open_reader(log)
    folded = fold(
        reader,
        until,
        verify_chain=verify_chain,
        quiet=quiet,
        snapshots=snapshots,
        snapshot_key=snapshot_key,
    )
    state = folded.engine.state
    events = folded.events
    return RebuildReport(
        log=reader.location,
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
        from_snapshot=folded.from_snapshot,
        snapshots_passed_over=folded.snapshots_passed_over,
    )


def format_rebuild(r: RebuildReport) -> str:
    lines = [
        f"state of {r.log} at {r.until}: seq {r.seq}" + (f", {r.time} (+08:00)" if r.time else ""),
        f"  folded {r.records} records, {r.events} events in {r.elapsed_s:.2f} s "
        f"({r.events_per_s:,.0f} events/s; hash chain {'checked' if r.verify_chain else 'not checked'})",
    ]
    if r.from_snapshot:
        lines.append(
            f"  started from the snapshot at seq {r.from_snapshot} (signed by the runtime's "
            "key; not hash-chained)"
        )
    if r.snapshots_passed_over:
        lines.append(
            f"  passed over {r.snapshots_passed_over} snapshot(s): unsigned, not signed by "
            "the runtime's key, corrupt or not restoring to their digest"
        )
    for key, value in r.summary.items():
        lines.append(f"  {key:<12} {value}")
    lines.append(f"  digest       {r.digest}")
    return "\n".join(lines)
