"""The fold of complaint cases (投诉): filed, moved on, resolved, overdue.

Owns: the appliers of `ComplaintFiled`, `ComplaintStatusChanged`, `ComplaintResolved` and
`ComplaintOverdue` (`FOLDS`, merged into `engine.fold`'s table).

Invariants: as `engine.fold` (never refuses, never decides; same events, same state). A
case is answered by the hire's collecting station and due (限时办结) by the deadline of
its kind in the policy of the job's region; it counts as live until a step closes it,
then leaves the core `CLOSED_COMPLAINT_KEEP_MS` later (the fold of `Tick`).

Limits: `engine.state.MAX_LIVE_COMPLAINTS` live cases (filing beyond is refused).
"""

from __future__ import annotations

from typing import Any

from engine import events as e
from engine.state import (
    CLOSED_COMPLAINT_KEEP_MS,
    DUE_COMPLAINT,
    LEAVE_COMPLAINT,
    Complaint,
    State,
)

DAY_MS = 86_400_000


def _complaint(state: State, ev: e.ComplaintFiled) -> None:
    """Opens the case: answered by the hire's collecting station, due (限时办结) by the
    deadline of its kind in the policy of the job's region (the employer's if the job
    has left the core)."""
    hire = state.hires.get(ev.hire_id)
    job = None if hire is None else state.jobs.get(hire.job_id)
    # the case's region: the job's (its answering station's), else the employer's
    region = state.employers[ev.employer_id].region if job is None else job.region
    days = state.policy_for(region)[1].complaint_deadlines
    due_ms = ev.ts_ms + days.days_for(ev.kind) * DAY_MS
    state.complaints[ev.complaint_id] = Complaint(
        complaint_id=ev.complaint_id,
        kind=ev.kind,
        employer_id=ev.employer_id,
        worker_id=ev.worker_id,
        hire_id=ev.hire_id,
        station_id="" if job is None else job.station_id,
        region=region,
        filed_ms=ev.ts_ms,
        due_ms=due_ms,
        changed_ms=ev.ts_ms,
    )
    state.complaints_by_employer.setdefault(ev.employer_id, []).append(ev.complaint_id)
    state.live_complaints += 1
    state.schedule(due_ms, DUE_COMPLAINT, ev.complaint_id)


def _complaint_closes(state: State, comp: Complaint, status: str, ts_ms: int) -> None:
    was_live = comp.live
    comp.status = status
    comp.changed_ms = ts_ms
    if was_live and not comp.live:
        state.live_complaints -= 1
        state.overdue_complaints -= comp.overdue
        state.schedule_leave(ts_ms + CLOSED_COMPLAINT_KEEP_MS, LEAVE_COMPLAINT, comp.complaint_id)


def _resolved(state: State, ev: e.ComplaintResolved) -> None:
    comp = state.complaints[ev.complaint_id]
    _complaint_closes(state, comp, "upheld" if ev.upheld else "dismissed", ev.ts_ms)


def _complaint_step(state: State, ev: e.ComplaintStatusChanged) -> None:
    _complaint_closes(state, state.complaints[ev.complaint_id], ev.status, ev.ts_ms)


def _complaint_overdue(state: State, ev: e.ComplaintOverdue) -> None:
    comp = state.complaints[ev.complaint_id]
    if comp.live and not comp.overdue:
        state.overdue_complaints += 1
    comp.overdue = True


FOLDS: dict[type, Any] = {
    e.ComplaintFiled: _complaint,
    e.ComplaintResolved: _resolved,
    e.ComplaintStatusChanged: _complaint_step,
    e.ComplaintOverdue: _complaint_overdue,
}
