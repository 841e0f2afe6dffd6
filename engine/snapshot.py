"""Snapshots of the state: encode a `State` to bytes and back.

Owns: `snapshot_state(state) -> bytes` and `restore_state(bytes) -> State`. The runtime
writes the bytes to disk (adapters.log.snapshots); this module never touches files.

Invariants: `restore_state(snapshot_state(s)).digest() == s.digest()`, and folding the
log after the snapshot's seq gives the same digest as a full replay. Derived structures
(spatial indexes, keyword index) are rebuilt from the stored columns, not stored.
Snapshots of another version are refused with `SnapshotVersionError` (the runtime then
replays the log from the start: a snapshot is only a cache).
Limits: the snapshot holds everything in memory once (about the size of the state).
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from engine.events import Policy
from engine.idempotency import CommandMemory
from engine.matching.jobs import JobArrays
from engine.matching.skills import SkillCodes
from engine.matching.workers import WorkerArrays
from engine.state import ArrearsCase, Complaint, Employer, Hire, Job, Offer, State, Station
from engine.training import TrainingBook

# 3: jobs carry their policy slot, one expiry heap, the live set's indexes, the
# command-id memory as arrays; 2: command digests, registering station
SNAPSHOT_VERSION = 5  # 5: complaint cases (station, deadline, steps), counter contacts


class SnapshotVersionError(ValueError):
    """The snapshot was written by another version of the engine."""


class _Array(msgspec.Struct, array_like=True):
    dtype: str
    shape: list[int]
    data: bytes


class _Version(msgspec.Struct):
    version: int


class _Snapshot(msgspec.Struct, kw_only=True):
    version: int
    policies: dict[str, tuple[int, Policy]]
    stations: dict[str, Station]
    employers: dict[str, Employer]
    worker_ids: list[str]
    worker_region: list[str]
    worker_station: list[str]
    worker_registered_at: list[str]
    priority_groups: dict[int, str]
    skills: list[str]
    workers: dict[str, _Array]
    jobs: dict[str, Job]
    job_ids: list[str]
    job_arrays: dict[str, _Array]
    offers: dict[str, Offer]
    hires: dict[str, Hire]
    hires_by_worker: dict[int, list[str]]
    complaints: dict[str, Complaint]
    training: TrainingBook = msgspec.field(default_factory=TrainingBook)  # (none before)
    jobs_by_employer: dict[str, list[str]]
    live_by_worker: dict[int, list[str]]
    jobs_by_station: dict[str, list[str]]
    offers_by_job: dict[str, list[str]]
    hires_by_job: dict[str, list[str]]
    complaints_by_employer: dict[str, list[str]]
    due: list[tuple[int, int, str | int]]
    leaving: list[tuple[int, int, str]]
    commands: dict[str, _Array]
    bells: dict[str, int]
    arrears: dict[str, ArrearsCase] = {}
    arrears_open: dict[str, list[str]] = {}
    last_seq: int
    last_ts_ms: int
    events_applied: int
    counts: dict[str, int]
    contact_station: dict[int, str] = {}


def _pack(columns: dict[str, np.ndarray]) -> dict[str, _Array]:
    return {
        name: _Array(col.dtype.str, list(col.shape), np.ascontiguousarray(col).tobytes())
        for name, col in columns.items()
    }


def _unpack(arrays: dict[str, _Array]) -> dict[str, np.ndarray]:
    return {
        name: np.frombuffer(a.data, dtype=np.dtype(a.dtype)).reshape(a.shape).copy()
        for name, a in arrays.items()
    }


def snapshot_state(state: State) -> bytes:
    snap = _Snapshot(
        version=SNAPSHOT_VERSION,
        policies=state.policies,
        stations=state.stations,
        employers=state.employers,
        worker_ids=state.worker_ids,
        worker_region=state.worker_region,
        worker_station=state.worker_station,
        worker_registered_at=state.worker_registered_at,
        priority_groups=state.priority_groups,
        contact_station=state.contact_station,
        skills=state.skills.to_list(),
        workers=_pack(state.workers.columns()),
        jobs=state.jobs,
        job_ids=state.job_ids,
        job_arrays=_pack(state.job_arrays.columns()),
        offers=state.offers,
        hires=state.hires,
        hires_by_worker=state.hires_by_worker,
        complaints=state.complaints,
        training=state.training,
        jobs_by_employer=state.jobs_by_employer,
        live_by_worker=state.live_by_worker,
        jobs_by_station={sid: list(ids) for sid, ids in state.jobs_by_station.items()},
        offers_by_job=state.offers_by_job,
        hires_by_job=state.hires_by_job,
        complaints_by_employer=state.complaints_by_employer,
        due=state.due,
        leaving=state.leaving,
        commands=_pack(state.commands.to_arrays()),
        bells=state.bells,
        arrears=state.arrears,
        arrears_open=state.arrears_open,
        last_seq=state.last_seq,
        last_ts_ms=state.last_ts_ms,
        events_applied=state.events_applied,
        counts=state.counts,
    )
    return msgspec.msgpack.encode(snap)


def restore_state(body: bytes) -> State:
    version = msgspec.msgpack.decode(body, type=_Version).version
    if version != SNAPSHOT_VERSION:
        raise SnapshotVersionError(
            f"snapshot version {version}, this engine reads {SNAPSHOT_VERSION}"
        )
    snap = msgspec.msgpack.decode(body, type=_Snapshot)
    s = State()
    plain: dict[str, Any] = {
        name: getattr(snap, name)
        for name in (
            "policies stations employers worker_ids worker_region worker_station "
            "worker_registered_at "
            "priority_groups jobs job_ids offers hires hires_by_worker complaints "
            "jobs_by_employer live_by_worker offers_by_job hires_by_job "
            "complaints_by_employer bells arrears arrears_open last_seq last_ts_ms events_applied "
            "counts training contact_station"
        ).split()
    }
    for name, value in plain.items():
        setattr(s, name, value)
    s.live_complaints = sum(1 for comp in s.complaints.values() if comp.live)
    s.overdue_complaints = sum(1 for comp in s.complaints.values() if comp.live and comp.overdue)
    s.due = [tuple(x) for x in snap.due]  # type: ignore[misc]
    s.leaving = [tuple(x) for x in snap.leaving]  # type: ignore[misc]
    s.jobs_by_station = {sid: dict.fromkeys(ids) for sid, ids in snap.jobs_by_station.items()}
    s.commands = CommandMemory.from_arrays(_unpack(snap.commands))
    for row, sid in enumerate(snap.worker_station):
        if sid:
            s.checked_in_at.setdefault(sid, {})[row] = None
    s.worker_rows = {wid: row for row, wid in enumerate(snap.worker_ids)}
    s.policy_slot = {prefix: slot for slot, prefix in enumerate(snap.policies)}
    s.skills = SkillCodes(snap.skills)
    s.workers = WorkerArrays.from_columns(_unpack(snap.workers))
    s.job_arrays = JobArrays.from_columns(_unpack(snap.job_arrays))
    s.job_arrays.free = [row for row, jid in enumerate(snap.job_ids) if not jid]  # sorted
    w = s.workers
    for row in range(len(snap.worker_ids)):
        skills = int(w.skills[row])
        if w.checked_in[row]:
            s.checked_in.add(row, float(w.lat[row]), float(w.lng[row]), tag=skills)
            s.waiting.add(row, w)
        if w.active[row] and w.push_opt_in[row]:
            s.push_index.add(row, float(w.home_lat[row]), float(w.home_lng[row]), tag=skills)
    for job in s.jobs.values():
        if job.status in ("submitted", "held", "reviewed", "open"):
            s.posting_opened(job)
        if job.status == "held":  # held at submission: the jobs' order is the order held
            s.held[job.job_id] = None
        if job.status == "open":
            s.open_jobs.add(job.row, job.lat, job.lng, tag=1 << s.skills.register(job.skill))
            s.keywords.add(job.row, job.title + " " + job.skill)
    return s
