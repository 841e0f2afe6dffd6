"""Reference registry fold for the tests: the per-event projection as it was before the
columnar fold (`adapters.stores.registry.apply_batch`), one handler per event type
writing through the `Changes` API one row change at a time.

Owns: `apply_record(ch, seq, record)`, the plain twin the columnar fold is compared with
(`tests/stores/test_fold.py`): same log batch, same `Changes` contents.
Invariants: kept deliberately simple (one event, one call); change it only together with
the production fold when the registry's meaning changes.
Limits: slow (about 3 us per event); tests only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.stores.changes import Changes
from engine import events as e

HOME_DECIMALS = 3


def _station(ch: Changes, seq: int, ev: e.StationRegistered) -> None:
    ch.insert(
        "stations",
        [ev.station_id, ev.name, ev.kind, ev.market_type, ev.parent_id, ev.region, ev.lat,
         ev.lng, ev.area_m2, ev.address, "applied", "", ev.ts_ms, ev.ts_ms],
    )  # fmt: skip


def _station_status(ch: Changes, seq: int, ev: e.StationStatusChanged) -> None:
    ch.set(
        "stations", (ev.station_id,), status=ev.status, status_reason=ev.reason,
        updated_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _employer(ch: Changes, seq: int, ev: e.EmployerRegistered) -> None:
    ch.insert(
        "employers",
        [ev.employer_id, ev.kind, ev.display_name, ev.uscc, ev.region, ev.contact_masked, 0, 0,
         ev.ts_ms, ev.ts_ms],
    )  # fmt: skip


def _flag(ch: Changes, seq: int, ev: e.EmployerFlagged | e.EmployerCleared) -> None:
    value = 1 if isinstance(ev, e.EmployerFlagged) else 0
    ch.set(
        "employers", (ev.employer_id,), **{f"flag_{ev.reason}": value, "updated_ts_ms": ev.ts_ms}
    )


def _home(value: float) -> float:
    return round(value, HOME_DECIMALS)


def _worker(ch: Changes, seq: int, ev: e.WorkerRegistered) -> None:
    ch.insert(
        "workers",
        [ev.worker_id, ev.region, ",".join(ev.skills), ev.min_pay_fen, ev.birth_year,
         ev.priority_group, _home(ev.home_lat), _home(ev.home_lng), ev.travel_mode,
         int(ev.push_opt_in), ev.quiet_start_min, ev.quiet_end_min, ev.phone_masked,
         ev.id_masked, 0, 0, "", 0, 0, "", ev.ts_ms, ev.ts_ms],
    )  # fmt: skip


def _worker_updated(ch: Changes, seq: int, ev: e.WorkerUpdated) -> None:
    ch.set(
        "workers", (ev.worker_id,), skills=",".join(ev.skills), min_pay_fen=ev.min_pay_fen,
        priority_group=ev.priority_group, home_lat=_home(ev.home_lat),
        home_lng=_home(ev.home_lng), travel_mode=ev.travel_mode,
        push_opt_in=int(ev.push_opt_in), quiet_start_min=ev.quiet_start_min,
        quiet_end_min=ev.quiet_end_min, updated_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _erased(ch: Changes, seq: int, ev: e.WorkerErased) -> None:
    ch.set(
        "workers", (ev.worker_id,), erased=1, phone_masked="", id_masked="", home_lat=0.0,
        home_lng=0.0, checked_in=0, updated_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _checkin(ch: Changes, seq: int, ev: e.WorkerCheckedIn) -> None:
    ch.set(
        "workers", (ev.worker_id,), checked_in=1, checkin_station_id=ev.station_id,
        checkin_ts_ms=ev.ts_ms, available_until_ms=ev.available_until_ms, checkout_reason="",
        updated_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _checkout(ch: Changes, seq: int, ev: e.WorkerCheckedOut) -> None:
    ch.set(
        "workers", (ev.worker_id,), checked_in=0, checkout_reason=ev.reason or "left",
        updated_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _job(ch: Changes, seq: int, ev: e.JobSubmitted) -> None:
    ch.insert(
        "jobs",
        [ev.job_id, ev.employer_id, ev.station_id, ev.region, ev.title, ev.skill, ev.headcount,
         ev.pay_fen, ev.pay_unit, ev.start_ms, ev.end_ms, ev.lat, ev.lng, ev.address,
         "submitted", "", "", 0, ev.ts_ms, 0, 0, ev.ts_ms],
    )  # fmt: skip


def _job_event(ch: Changes, seq: int, ev: Any) -> None:
    key = (ev.job_id,)
    if isinstance(ev, e.JobPublished):
        ch.set("jobs", key, status="open", published_ts_ms=ev.ts_ms, updated_ts_ms=ev.ts_ms)
        if ev.reviewed_by:
            ch.set("jobs", key, reviewed_by=ev.reviewed_by)
    elif isinstance(ev, e.JobHeldForReview):
        ch.set(
            "jobs", key, status="held", status_reasons=",".join(ev.reasons), updated_ts_ms=ev.ts_ms
        )
    elif isinstance(ev, e.JobReviewed):
        ch.set("jobs", key, reviewed_by=ev.staff_id, updated_ts_ms=ev.ts_ms)
    elif isinstance(ev, e.JobRejected):
        ch.set(
            "jobs", key, status="rejected", status_reasons=",".join(ev.reasons),
            closed_ts_ms=ev.ts_ms, updated_ts_ms=ev.ts_ms,
        )  # fmt: skip
    else:
        status = {e.JobCancelled: "cancelled", e.JobExpired: "expired", e.JobFilled: "filled"}
        ch.set("jobs", key, status=status[type(ev)], closed_ts_ms=ev.ts_ms, updated_ts_ms=ev.ts_ms)


def _offer(ch: Changes, seq: int, ev: e.OfferMade) -> None:
    ch.insert(
        "offers",
        [ev.offer_id, ev.job_id, ev.worker_id, ev.score, ev.rank, ev.wave, ev.source,
         ev.distance_m, ev.travel_s, ev.ts_ms, ev.expires_ms, "live", "", 0],
    )  # fmt: skip


_OFFER_STATUS = {
    e.OfferAccepted: "accepted",
    e.OfferDeclined: "declined",
    e.OfferExpired: "expired",
    e.OfferWithdrawn: "withdrawn",
}


def _offer_closed(ch: Changes, seq: int, ev: Any) -> None:
    ch.set(
        "offers", (ev.offer_id,), status=_OFFER_STATUS[type(ev)],
        reason=getattr(ev, "reason", ""), closed_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _hire(ch: Changes, seq: int, ev: e.HireConfirmed) -> None:
    ch.insert(
        "hires",
        [ev.hire_id, ev.job_id, ev.worker_id, ev.offer_id, ev.start_ms, ev.end_ms, ev.pay_fen,
         ev.pay_unit, "confirmed", ev.ts_ms, 0, 0, 0, 0, 0, "", 0, 0, 0],
    )  # fmt: skip
    ch.inc("jobs", (ev.job_id,), "hired", 1)


def _hire_event(ch: Changes, seq: int, ev: Any) -> None:
    key = (ev.hire_id,)
    if isinstance(ev, e.WorkerArrived):
        ch.set("hires", key, status="arrived", arrived_ts_ms=ev.ts_ms)
    elif isinstance(ev, e.NoShow):
        ch.set("hires", key, status="no_show", no_show_ts_ms=ev.ts_ms)
    elif isinstance(ev, e.WorkCompleted):
        ch.set("hires", key, status="completed", completed_ts_ms=ev.ts_ms)
    elif isinstance(ev, e.WagePaid):
        ch.set("hires", key, wage_method=ev.method, paid_ts_ms=ev.ts_ms)
        ch.inc("hires", key, "wage_paid_fen", ev.amount_fen)
        ch.inc("hires", key, "wage_payments", 1)
    elif isinstance(ev, e.RatingGiven):
        ch.set("hires", key, **{f"{ev.by}_stars": ev.stars})


def _complaint(ch: Changes, seq: int, ev: e.ComplaintFiled) -> None:
    ch.insert(
        "complaints",
        [ev.complaint_id, ev.kind, ev.employer_id, ev.worker_id, ev.hire_id, ev.text, "open",
         "", ev.ts_ms, 0],
    )  # fmt: skip


def _resolved(ch: Changes, seq: int, ev: e.ComplaintResolved) -> None:
    ch.set(
        "complaints", (ev.complaint_id,), status="upheld" if ev.upheld else "dismissed",
        note=ev.note, resolved_ts_ms=ev.ts_ms,
    )  # fmt: skip


def _step(ch: Changes, seq: int, ev: e.ComplaintStatusChanged) -> None:
    if ev.status in ("resolved", "rejected"):
        ch.set("complaints", (ev.complaint_id,), status=ev.status, note=ev.note,
               resolved_ts_ms=ev.ts_ms)  # fmt: skip
    else:
        ch.set("complaints", (ev.complaint_id,), status=ev.status, note=ev.note)


def _policy(ch: Changes, seq: int, ev: e.PolicySet) -> None:
    ch.insert("policies", [seq, ev.region, ev.version, ev.note, ev.ts_ms])


def _skip(ch: Changes, seq: int, ev: Any) -> None:
    return None


HANDLERS: dict[type, Callable[[Changes, int, Any], None]] = {
    e.PolicySet: _policy,
    e.StationRegistered: _station,
    e.StationStatusChanged: _station_status,
    e.EmployerRegistered: _employer,
    e.EmployerFlagged: _flag,
    e.EmployerCleared: _flag,
    e.WorkerRegistered: _worker,
    e.WorkerUpdated: _worker_updated,
    e.WorkerErased: _erased,
    e.WorkerCheckedIn: _checkin,
    e.WorkerCheckedOut: _checkout,
    e.JobSubmitted: _job,
    e.JobPublished: _job_event,
    e.JobHeldForReview: _job_event,
    e.JobReviewed: _job_event,
    e.JobRejected: _job_event,
    e.JobCancelled: _job_event,
    e.JobExpired: _job_event,
    e.JobFilled: _job_event,
    e.Tick: _skip,
    e.BellRung: _skip,
    e.BellClosed: _skip,
    e.StationChecked: _skip,
    e.PushSent: _skip,
    e.OfferMade: _offer,
    e.OfferAccepted: _offer_closed,
    e.OfferDeclined: _offer_closed,
    e.OfferExpired: _offer_closed,
    e.OfferWithdrawn: _offer_closed,
    e.HireConfirmed: _hire,
    e.WorkerArrived: _hire_event,
    e.NoShow: _hire_event,
    e.WorkCompleted: _hire_event,
    e.WagePaid: _hire_event,
    e.RatingGiven: _hire_event,
    e.ComplaintFiled: _complaint,
    e.ComplaintResolved: _resolved,
    e.ComplaintStatusChanged: _step,
}


def apply_record(ch: Changes, seq: int, record: e.Record) -> None:
    for ev in record.events:
        HANDLERS.get(type(ev), _skip)(ch, seq, ev)
