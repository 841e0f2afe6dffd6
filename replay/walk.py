"""Folding a log while stopping at the moments the matcher was asked.

Owns: `decision_points(record)` (where inside a record the engine ranked candidates) and
`walk(...)` (fold a log with `Engine.apply_record`, except that a record holding a point
of interest is applied event by event so a probe sees the state exactly as the matcher
saw it).

Where the matcher runs, from `engine.react`:
- a wave (`source="wave"`) ranks right before its first `OfferMade`; its offers are the
  contiguous `OfferMade` events with the same job and wave;
- a published job's first wave runs right after its `JobPublished` (also when it finds
  nobody, then the point has no offers);
- a check-in (`source="checkin"`) ranks jobs for the worker right before its offer;
- an opening bell (`source="bell"`) assigns right after its `BellClosed`; its offers are
  the contiguous bell `OfferMade` events.

Invariants: a walked record ends in the same state as `Engine.apply_record` (same events
applied in order, then `last_seq` and the command id remembered, as `apply_record` does).

Limits: a probe must not mutate the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from adapters.log.ports import LogReader
from engine import events as e
from engine.core import Engine
from engine.fold import InconsistentLog, apply
from engine.state import State
from replay.source import Progress, ReplayError, bulk, open_reader, read_records, reads_log


class DecisionPoint(NamedTuple):
    index: int  # events[index] is the first event applied after the probe
    kind: str  # "wave", "publish" (a first wave that found nobody), "checkin", "bell"
    job_ids: tuple[str, ...]
    offers: tuple[e.OfferMade, ...]
    scope: str = ""  # bell scope


def decision_points(record: e.Record) -> list[DecisionPoint]:
    """Every point inside `record` where the engine asked the matcher."""
    events = record.events
    out: list[DecisionPoint] = []
    n = len(events)
    i = 0
    scope = ""
    while i < n:
        ev = events[i]
        if isinstance(ev, e.BellClosed):
            scope = ev.scope
        if isinstance(ev, e.OfferMade):
            j = i + 1
            if ev.source == "wave":
                while j < n and _same_wave(events[j], ev):
                    j += 1
            elif ev.source == "bell":
                while j < n and isinstance(events[j], e.OfferMade) and events[j].source == "bell":
                    j += 1
            block = tuple(events[i:j])  # type: ignore[arg-type]
            jobs = tuple(dict.fromkeys(o.job_id for o in block))
            out.append(
                DecisionPoint(i, ev.source, jobs, block, scope if ev.source == "bell" else "")
            )
            i = j
            continue
        if isinstance(ev, e.JobPublished):
            nxt = events[i + 1] if i + 1 < n else None
            if not (
                isinstance(nxt, e.OfferMade) and nxt.job_id == ev.job_id and nxt.source == "wave"
            ):
                out.append(DecisionPoint(i + 1, "publish", (ev.job_id,), ()))
        i += 1
    return out


def _same_wave(ev: e.Event, first: e.OfferMade) -> bool:
    return (
        isinstance(ev, e.OfferMade)
        and ev.source == "wave"
        and ev.job_id == first.job_id
        and ev.wave == first.wave
    )


Probe = Callable[[State, int, e.Record, DecisionPoint], bool]


@reads_log
def walk(
    log: LogReader | str,
    interesting: Callable[[e.Record], bool],
    probe: Probe,
    *,
    engine: Engine | None = None,
    quiet: bool = True,
    desc: str = "replay",
    after_record: Callable[[State, int, e.Record], None] | None = None,
) -> Engine:
    """Fold the whole log; call `probe` at every decision point of interesting records.

    `probe(state, seq, record, point)` returns True to stop the walk after that record.
    """
    reader = open_reader(log)
    engine = engine if engine is not None else Engine()
    state = engine.state
    stop = False
    with bulk(), Progress(reader.last_seq - state.last_seq, desc, quiet=quiet) as bar:
        for batch in read_records(reader, from_seq=state.last_seq + 1, progress=bar):
            for seq, rec in batch:
                try:
                    if interesting(rec):
                        stop = _walk_record(state, seq, rec, probe)
                    else:
                        engine.apply_record(seq, rec)
                except (InconsistentLog, KeyError, ValueError) as exc:
                    raise ReplayError(seq, f"does not fold: {exc}") from exc
                if after_record is not None:
                    after_record(state, seq, rec)
                if stop:
                    return engine
    return engine


def _walk_record(state: State, seq: int, rec: e.Record, probe: Probe) -> bool:
    if seq != state.last_seq + 1:
        raise ValueError(f"record seq {seq} does not follow {state.last_seq}")
    points = {p.index: p for p in decision_points(rec)}
    stop = False
    for i, ev in enumerate(rec.events):
        point = points.get(i)
        if point is not None:
            stop = probe(state, seq, rec, point) or stop
        apply(state, ev)
    point = points.get(len(rec.events))
    if point is not None:
        stop = probe(state, seq, rec, point) or stop
    state.last_seq = seq
    state.remember_command(rec.cmd_id, seq)
    return stop
