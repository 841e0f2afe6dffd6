"""Reference reporting fold for the tests: the per-event projection as it was before the
columnar fold (`adapters.stores.reporting.apply_batch`), one handler per event type.

Owns: `apply_record(ch, seq, record)`, the plain twin the columnar fold is compared with
(`tests/stores/test_fold.py`): same log batch, same `Changes` contents.
Invariants: kept deliberately simple (one event, one call); change it only together with
the production fold when the reporting store's meaning changes.
Limits: slow (about 2 us per event); tests only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.stores.changes import Changes
from engine import events as e
from engine.geo import local_date, local_day_number

_day_cache: dict[int, int] = {}


def day_of(ts_ms: int) -> int:
    """Asia/Shanghai calendar day of `ts_ms` as YYYYMMDD."""
    number = local_day_number(ts_ms)
    day = _day_cache.get(number)
    if day is None:
        y, m, d = local_date(ts_ms)
        day = _day_cache[number] = y * 10000 + m * 100 + d
    return day


def work_days(start_ms: int, end_ms: int) -> int:
    return max(1, local_day_number(max(start_ms, end_ms - 1)) - local_day_number(start_ms) + 1)


Handler = Callable[[Changes, int, int, Any], None]


def _station(ch: Changes, seq: int, idx: int, ev: e.StationRegistered) -> None:
    ch.insert(
        "d_station",
        [ev.station_id, ev.name, ev.kind, ev.market_type, ev.parent_id, ev.region, ev.lat,
         ev.lng, ev.area_m2, ev.address, day_of(ev.ts_ms)],
    )  # fmt: skip
    ch.fact(
        "f_station_status", (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.station_id, "applied", "")
    )


def _station_status(ch: Changes, seq: int, idx: int, ev: e.StationStatusChanged) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.station_id, ev.status, ev.reason)
    ch.fact("f_station_status", row)


def _employer(ch: Changes, seq: int, idx: int, ev: e.EmployerRegistered) -> None:
    ch.insert(
        "d_employer",
        [ev.employer_id, ev.kind, ev.display_name, ev.uscc, ev.region, day_of(ev.ts_ms)],
    )


def _worker(ch: Changes, seq: int, idx: int, ev: e.WorkerRegistered) -> None:
    ch.insert(
        "d_worker",
        [ev.worker_id, ev.region, ",".join(ev.skills), ev.birth_year, ev.priority_group,
         ev.phone_masked, ev.id_masked, 0, day_of(ev.ts_ms)],
    )  # fmt: skip


def _worker_updated(ch: Changes, seq: int, idx: int, ev: e.WorkerUpdated) -> None:
    ch.set(
        "d_worker", (ev.worker_id,), skills=",".join(ev.skills), priority_group=ev.priority_group
    )


def _erased(ch: Changes, seq: int, idx: int, ev: e.WorkerErased) -> None:
    ch.set("d_worker", (ev.worker_id,), phone_masked="", id_masked="", erased=1)


def _checkin(ch: Changes, seq: int, idx: int, ev: e.WorkerCheckedIn) -> None:
    ch.fact("f_checkin", (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.worker_id, ev.station_id))


def _posting(ch: Changes, seq: int, idx: int, ev: e.JobSubmitted) -> None:
    ch.fact(
        "f_posting",
        (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.job_id, ev.employer_id, ev.station_id,
         ev.region, ev.skill, ev.title, ev.headcount, ev.pay_fen, ev.pay_unit, ev.start_ms,
         ev.end_ms),
    )  # fmt: skip


_JOB_KINDS = {
    e.JobPublished: "published",
    e.JobHeldForReview: "held",
    e.JobReviewed: "reviewed",
    e.JobRejected: "rejected",
    e.JobCancelled: "cancelled",
    e.JobExpired: "expired",
    e.JobFilled: "filled",
}


def _job_event(ch: Changes, seq: int, idx: int, ev: Any) -> None:
    actor = getattr(ev, "reviewed_by", "") or getattr(ev, "staff_id", "")
    kind = _JOB_KINDS[type(ev)]
    if isinstance(ev, e.JobPublished) and ev.again:
        kind = "republished"  # published again after an arrears hold
    elif isinstance(ev, e.JobHeldForReview) and tuple(ev.reasons) == ("arrears_case",):
        kind = "arrears_held"
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.job_id, kind, actor)
    ch.fact("f_job_event", row)


def _offer(ch: Changes, seq: int, idx: int, ev: e.OfferMade) -> None:
    ch.fact(
        "f_offer",
        (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.offer_id, ev.job_id, ev.worker_id, ev.source,
         ev.wave, ev.rank, ev.distance_m, ev.travel_s),
    )  # fmt: skip


_OFFER_OUTCOMES = {
    e.OfferAccepted: "accepted",
    e.OfferDeclined: "declined",
    e.OfferExpired: "expired",
    e.OfferWithdrawn: "withdrawn",
}


def _offer_outcome(ch: Changes, seq: int, idx: int, ev: Any) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.offer_id, _OFFER_OUTCOMES[type(ev)],
           getattr(ev, "reason", ""))  # fmt: skip
    ch.fact("f_offer_outcome", row)


def _hire(ch: Changes, seq: int, idx: int, ev: e.HireConfirmed) -> None:
    ch.fact(
        "f_hire",
        (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.hire_id, ev.job_id, ev.worker_id, ev.offer_id,
         ev.start_ms, ev.end_ms, ev.pay_fen, ev.pay_unit, work_days(ev.start_ms, ev.end_ms)),
    )  # fmt: skip


_HIRE_KINDS = {e.WorkerArrived: "arrived", e.NoShow: "no_show", e.WorkCompleted: "completed"}


def _hire_event(ch: Changes, seq: int, idx: int, ev: Any) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.hire_id, _HIRE_KINDS[type(ev)])
    ch.fact("f_hire_event", row)


def _wage(ch: Changes, seq: int, idx: int, ev: e.WagePaid) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.hire_id, ev.amount_fen, ev.method)
    ch.fact("f_wage", row)


def _complaint(ch: Changes, seq: int, idx: int, ev: e.ComplaintFiled) -> None:
    ch.fact(
        "f_complaint",
        (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.complaint_id, ev.kind, ev.employer_id,
         ev.worker_id, ev.hire_id),
    )  # fmt: skip


def _resolved(ch: Changes, seq: int, idx: int, ev: e.ComplaintResolved) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.complaint_id, int(ev.upheld))
    ch.fact("f_complaint_resolved", row)


def _step(ch: Changes, seq: int, idx: int, ev: e.ComplaintStatusChanged) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.complaint_id, ev.status, ev.staff_id)
    ch.fact("f_complaint_step", row)


def _overdue(ch: Changes, seq: int, idx: int, ev: e.ComplaintOverdue) -> None:
    row = (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.complaint_id, ev.due_ms, ev.station_id)
    ch.fact("f_complaint_overdue", row)


def _rating(ch: Changes, seq: int, idx: int, ev: e.RatingGiven) -> None:
    ch.fact("f_rating", (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.hire_id, ev.by, ev.stars))


def _training(ch: Changes, seq: int, idx: int, ev: e.TrainingPublished) -> None:
    ch.fact("f_training", (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.training_id, ev.station_id,
                           ev.region, ev.title, ev.skill, ev.start_ms, ev.end_ms, ev.capacity))  # fmt: skip


def _signup(ch: Changes, seq: int, idx: int, ev: e.TrainingSignedUp) -> None:
    ch.fact("f_training_signup",
            (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.training_id, ev.worker_id, ev.channel))  # fmt: skip


def _done(ch: Changes, seq: int, idx: int, ev: e.TrainingCompleted) -> None:
    ch.fact("f_training_done", (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.training_id, ev.worker_id))


def _qa(ch: Changes, seq: int, idx: int, ev: e.PolicyAnswerPublished) -> None:
    ch.fact("f_policy_qa",
            (seq, idx, ev.ts_ms, day_of(ev.ts_ms), ev.entry_id, ev.station_id, ev.region, ev.topic))  # fmt: skip


def _skip(ch: Changes, seq: int, idx: int, ev: Any) -> None:
    return None


HANDLERS: dict[type, Handler] = {
    e.PolicySet: _skip,
    e.StationRegistered: _station,
    e.StationStatusChanged: _station_status,
    e.EmployerRegistered: _employer,
    e.EmployerFlagged: _skip,
    e.EmployerCleared: _skip,
    e.WorkerRegistered: _worker,
    e.WorkerUpdated: _worker_updated,
    e.WorkerErased: _erased,
    e.WorkerCheckedIn: _checkin,
    e.WorkerCheckedOut: _skip,
    e.JobSubmitted: _posting,
    **dict.fromkeys(_JOB_KINDS, _job_event),
    e.Tick: _skip,
    e.BellRung: _skip,
    e.BellClosed: _skip,
    e.StationChecked: _skip,
    e.PushSent: _skip,
    e.OfferMade: _offer,
    **dict.fromkeys(_OFFER_OUTCOMES, _offer_outcome),
    e.HireConfirmed: _hire,
    **dict.fromkeys(_HIRE_KINDS, _hire_event),
    e.WagePaid: _wage,
    e.ComplaintFiled: _complaint,
    e.ComplaintResolved: _resolved,
    e.ComplaintStatusChanged: _step,
    e.ComplaintOverdue: _overdue,
    e.RatingGiven: _rating,
    e.TrainingPublished: _training,
    e.TrainingSignedUp: _signup,
    e.TrainingCompleted: _done,
    e.PolicyAnswerPublished: _qa,
}


def apply_record(ch: Changes, seq: int, record: e.Record) -> None:
    for idx, ev in enumerate(record.events):
        HANDLERS.get(type(ev), _skip)(ch, seq, idx, ev)
