"""Snapshots of the state: encode a `State` to bytes and back.

Owns: `snapshot_state(state) -> bytes` and `restore_state(bytes) -> State`. The runtime
writes the bytes to disk (adapters.log.snapshots); this module never touches files.

Invariants: `restore_state(snapshot_state(s)).digest() == s.digest()`, and folding the
log after the snapshot's seq gives the same digest as a full replay. Derived structures
(spatial indexes, keyword index, the per-owner id lists of the live tables whose order
is the tables' own, the job row -> id list) are rebuilt from what is stored, not stored.
The record tables (jobs, offers, hires, complaints, arrears cases) are stored as rows in
field order (`_rows`): the field names once per table, not once per record.
Snapshots of another version are refused with `SnapshotVersionError` (the runtime then
replays the log from the start: a snapshot is only a cache).
Limits: the snapshot holds everything in memory once (about the size of the state).
"""

from __future__ import annotations

import sys
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
# 5: complaint cases (station, deadline, steps), counter contacts
# 6: record tables as rows, derived id lists rebuilt
SNAPSHOT_VERSION = 8  # 8: trainings' departures (7: a hire's wage due time; older: replayed)


class SnapshotVersionError(ValueError):
    """The snapshot was written by another version of the engine."""


class _Array(msgspec.Struct, array_like=True):
    dtype: str
    shape: list[int]
    data: bytes


def _row_type(cls: type) -> type:
    """An array-like twin of a record struct: the same fields, encoded as a list."""
    fields = [(f.name, f.type) for f in msgspec.structs.fields(cls)]
    return msgspec.defstruct("_" + cls.__name__ + "Row", fields, array_like=True)


_JobRow = _row_type(Job)
_OfferRow = _row_type(Offer)


class _HireRow(msgspec.Struct, array_like=True):
    """A hire as stored: what its job and worker already say is not repeated (`flags`)."""

    flags: int  # _OWN_ID: hire_id stored; _OWN_EMPLOYER: employer_id stored; _HEX: sha text
    hire_id: str  # "" unless _OWN_ID (else its job id + "/" + its worker's id)
    job_id: str
    worker_row: int
    employer_id: str  # "" unless _OWN_EMPLOYER (else its job's)
    start_ms: int  # minus its job's
    end_ms: int  # minus its job's
    pay_fen: int
    status: str
    paid_fen: int
    confirmed_ms: int  # minus its start
    agreed_fen: int
    sha256: bytes  # the agreement's sha256, 32 bytes (unless _HEX)
    sha256_text: str  # only with _HEX (not 64 lower-case hex digits; "" is stored as b"")
    arrears_case: str
    wage_due: int = 0  # with _WAGE_DUE: its wage_due_ms minus its end (older snapshots: none)


_OWN_ID, _OWN_EMPLOYER, _HEX, _WAGE_DUE = 1, 2, 4, 8
# the `Hire` fields `_hire_rows` stores, in order (a new field must be added there too)
HIRE_FIELDS_STORED = (
    "hire_id job_id worker_row employer_id start_ms end_ms pay_fen status paid_fen "
    "confirmed_ms agreed_fen agreement_sha256 arrears_case wage_due_ms"
).split()
_ComplaintRow = _row_type(Complaint)
_ArrearsRow = _row_type(ArrearsCase)


def _rows(table: dict[str, Any]) -> dict[str, tuple]:
    """A record table as {key: the record's fields in order} (decoded as its twin)."""
    return {key: msgspec.structs.astuple(rec) for key, rec in table.items()}


def _hire_rows(state: State) -> dict[str, _HireRow]:
    out = {}
    for key, h in state.hires.items():
        job = state.jobs.get(h.job_id)
        derived = h.job_id + "/" + state.worker_ids[h.worker_row]
        flags = 0 if h.hire_id == derived else _OWN_ID
        if job is None or h.employer_id != job.employer_id:
            flags |= _OWN_EMPLOYER
        sha = h.agreement_sha256
        raw = b""
        if len(sha) == 64:
            try:
                raw = bytes.fromhex(sha)
            except ValueError:
                raw = b""
        if raw.hex() != sha:  # only an exact round trip is stored as bytes
            flags |= _HEX
        if h.wage_due_ms:
            flags |= _WAGE_DUE
        base_start, base_end = (0, 0) if job is None else (job.start_ms, job.end_ms)
        out[key] = _HireRow(
            flags=flags,
            hire_id=h.hire_id if flags & _OWN_ID else "",
            job_id=h.job_id,
            worker_row=h.worker_row,
            employer_id=h.employer_id if flags & _OWN_EMPLOYER else "",
            start_ms=h.start_ms - base_start,
            end_ms=h.end_ms - base_end,
            pay_fen=h.pay_fen,
            status=h.status,
            paid_fen=h.paid_fen,
            confirmed_ms=h.confirmed_ms - h.start_ms,
            agreed_fen=h.agreed_fen,
            sha256=b"" if flags & _HEX else raw,
            sha256_text=sha if flags & _HEX else "",
            arrears_case=h.arrears_case,
            wage_due=h.wage_due_ms - h.end_ms if h.wage_due_ms else 0,
        )
    return out


def _hires(s: State, rows: dict[str, _HireRow]) -> dict[str, Hire]:
    """The hires of `_hire_rows` (needs the jobs and the worker ids restored)."""
    out = {}
    for key, r in rows.items():
        job = s.jobs.get(r.job_id)
        base_start, base_end = (0, 0) if job is None else (job.start_ms, job.end_ms)
        start_ms = r.start_ms + base_start
        out[key] = Hire(
            hire_id=r.hire_id if r.flags & _OWN_ID else r.job_id + "/" + s.worker_ids[r.worker_row],
            job_id=r.job_id,
            worker_row=r.worker_row,
            employer_id=r.employer_id if r.flags & _OWN_EMPLOYER else job.employer_id,  # type: ignore[union-attr]
            start_ms=start_ms,
            end_ms=r.end_ms + base_end,
            pay_fen=r.pay_fen,
            status=r.status,
            paid_fen=r.paid_fen,
            confirmed_ms=r.confirmed_ms + start_ms,
            agreed_fen=r.agreed_fen,
            agreement_sha256=r.sha256_text if r.flags & _HEX else r.sha256.hex(),
            arrears_case=r.arrears_case,
            wage_due_ms=r.wage_due + r.end_ms + base_end if r.flags & _WAGE_DUE else 0,
        )
    return out


def _records(cls: type, rows: dict[str, Any]) -> dict[str, Any]:
    """The records of a table decoded as twins (`_row_type`), in the same order."""
    names = tuple(f.name for f in msgspec.structs.fields(cls))
    return {
        key: cls(**dict(zip(names, msgspec.structs.astuple(row), strict=True)))
        for key, row in rows.items()
    }


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
    jobs: dict[str, _JobRow]  # the record tables as `_rows`
    job_arrays: dict[str, _Array]
    offers: dict[str, _OfferRow]
    hires: dict[str, _HireRow]
    complaints: dict[str, _ComplaintRow]
    training: TrainingBook = msgspec.field(default_factory=TrainingBook)  # (none before)
    live_by_worker: dict[int, list[str]]
    jobs_by_station: dict[str, list[str]]
    due: list[tuple[int, int, str | int]]
    leaving: list[tuple[int, int, str]]
    commands: dict[str, _Array]
    bells: dict[str, int]
    arrears: dict[str, _ArrearsRow]
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
        jobs=_rows(state.jobs),
        job_arrays=_pack(state.job_arrays.columns()),
        offers=_rows(state.offers),
        hires=_hire_rows(state),
        complaints=_rows(state.complaints),
        training=state.training,
        live_by_worker=state.live_by_worker,
        jobs_by_station={sid: list(ids) for sid, ids in state.jobs_by_station.items()},
        due=state.due,
        leaving=state.leaving,
        commands=_pack(state.commands.to_arrays()),
        bells=state.bells,
        arrears=_rows(state.arrears),
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
            "priority_groups live_by_worker bells arrears_open last_seq last_ts_ms "
            "events_applied counts training contact_station"
        ).split()
    }
    for name, value in plain.items():
        setattr(s, name, value)
    # a few codes shared by many workers: one string each, as the fold keeps them
    s.worker_region = [sys.intern(r) for r in s.worker_region]
    s.worker_station = [sys.intern(r) for r in s.worker_station]
    s.jobs = _records(Job, snap.jobs)
    s.offers = _records(Offer, snap.offers)
    s.hires = _hires(s, snap.hires)
    s.complaints = _records(Complaint, snap.complaints)
    s.arrears = _records(ArrearsCase, snap.arrears)
    _rebuild_id_lists(s)
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
    s.job_ids = [""] * s.job_arrays.n
    for job in s.jobs.values():
        if job.row >= 0:
            s.job_ids[job.row] = job.job_id
    s.job_arrays.free = [row for row, jid in enumerate(s.job_ids) if not jid]  # sorted
    w = s.workers
    for row in range(len(snap.worker_ids)):
        skills = int(w.skills[row])
        if w.checked_in[row]:
            s.checked_in.add(row, float(w.lat[row]), float(w.lng[row]), tag=skills)
            s.waiting.add(row, w)
        if w.active[row] and w.push_opt_in[row]:
            s.push_index.add(row, float(w.home_lat[row]), float(w.home_lng[row]), tag=skills)
            if w.checked_in[row]:
                s.push_checked_in.add(row, float(w.lat[row]), float(w.lng[row]), tag=skills)
    for job in s.jobs.values():
        if job.status in ("submitted", "held", "reviewed", "open"):
            s.posting_opened(job)
        if job.status == "held":  # held at submission: the jobs' order is the order held
            s.held[job.job_id] = None
        if job.status == "open":
            s.open_jobs.add(job.row, job.lat, job.lng, tag=1 << s.skills.register(job.skill))
            s.keywords.add(job.row, job.title + " " + job.skill)
    return s


def _rebuild_id_lists(s: State) -> None:
    """The per-owner id lists: each in its table's order, as the fold appends to both and
    removes from both at once (`engine.fold`)."""
    for job in s.jobs.values():
        s.jobs_by_employer.setdefault(job.employer_id, []).append(job.job_id)
    for offer in s.offers.values():
        s.offers_by_job.setdefault(offer.job_id, []).append(offer.offer_id)
    for hire in s.hires.values():
        s.hires_by_worker.setdefault(hire.worker_row, []).append(hire.hire_id)
        s.hires_by_job[hire.job_id] = s.hires_by_job.get(hire.job_id, 0) + 1
    for comp in s.complaints.values():
        s.complaints_by_employer.setdefault(comp.employer_id, []).append(comp.complaint_id)
