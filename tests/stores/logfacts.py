"""Expected store contents and report figures, computed straight from the log.

Deliberately independent of `adapters.stores`: records are read with the file log's
reader and decoded with `engine.events.decode_record`, and every figure is computed here
with plain Python, so a projection or report bug cannot cancel itself out.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from adapters.log.filelog import read_log_batches
from engine import events as e

CST = dt.timezone(dt.timedelta(hours=8))


def local_date(ts_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ms / 1000, CST).date()


def read_all(log_dir: Path) -> list[tuple[int, e.Record]]:
    return [(seq, e.decode_record(p)) for b in read_log_batches(log_dir) for seq, p in b]


def events(records: list[tuple[int, e.Record]]) -> list[e.Event]:
    return [ev for _, rec in records for ev in rec.events]


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy default, percentile_cont)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class World:
    """What the log says, indexed for tests."""

    stations: dict[str, e.StationRegistered] = field(default_factory=dict)
    station_status: dict[str, str] = field(default_factory=dict)
    workers: dict[str, e.WorkerRegistered] = field(default_factory=dict)
    employers: dict[str, e.EmployerRegistered] = field(default_factory=dict)
    jobs: dict[str, e.JobSubmitted] = field(default_factory=dict)
    job_status: dict[str, str] = field(default_factory=dict)
    published_ms: dict[str, int] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)
    hires: dict[str, e.HireConfirmed] = field(default_factory=dict)
    hire_status: dict[str, str] = field(default_factory=dict)
    paid_fen: Counter = field(default_factory=Counter)
    checkins: list[e.WorkerCheckedIn] = field(default_factory=list)
    checked_in: dict[str, int] = field(default_factory=dict)
    wages: list[e.WagePaid] = field(default_factory=list)
    filled: list[e.JobFilled] = field(default_factory=list)
    complaints: dict[str, str] = field(default_factory=dict)
    complaint_filed: dict[str, e.ComplaintFiled] = field(default_factory=dict)
    complaint_overdue: list[e.ComplaintOverdue] = field(default_factory=list)
    type_counts: Counter = field(default_factory=Counter)


def world(records: list[tuple[int, e.Record]]) -> World:
    w = World()
    for ev in events(records):
        w.type_counts[type(ev).__name__] += 1
        match ev:
            case e.StationRegistered():
                w.stations[ev.station_id] = ev
                w.station_status[ev.station_id] = "applied"
            case e.StationStatusChanged():
                w.station_status[ev.station_id] = ev.status
            case e.WorkerRegistered():
                w.workers[ev.worker_id] = ev
                w.checked_in[ev.worker_id] = 0
            case e.EmployerRegistered():
                w.employers[ev.employer_id] = ev
            case e.WorkerCheckedIn():
                w.checkins.append(ev)
                w.checked_in[ev.worker_id] = 1
            case e.WorkerCheckedOut():
                w.checked_in[ev.worker_id] = 0
            case e.JobSubmitted():
                w.jobs[ev.job_id] = ev
                w.job_status[ev.job_id] = "submitted"
            case e.JobPublished():
                w.job_status[ev.job_id] = "open"
                w.published_ms.setdefault(ev.job_id, ev.ts_ms)
            case e.JobHeldForReview():
                w.job_status[ev.job_id] = "held"
            case e.JobRejected() | e.JobCancelled() | e.JobExpired() | e.JobFilled():
                w.job_status[ev.job_id] = {
                    e.JobRejected: "rejected", e.JobCancelled: "cancelled",
                    e.JobExpired: "expired", e.JobFilled: "filled",
                }[type(ev)]  # fmt: skip
                if isinstance(ev, e.JobFilled):
                    w.filled.append(ev)
            case e.OfferMade():
                w.offers[ev.offer_id] = "live"
            case e.OfferAccepted() | e.OfferDeclined() | e.OfferExpired() | e.OfferWithdrawn():
                w.offers[ev.offer_id] = type(ev).__name__[len("Offer") :].lower()
            case e.HireConfirmed():
                w.hires[ev.hire_id] = ev
                w.hire_status[ev.hire_id] = "confirmed"
            case e.WorkerArrived() | e.NoShow() | e.WorkCompleted():
                w.hire_status[ev.hire_id] = {
                    e.WorkerArrived: "arrived", e.NoShow: "no_show", e.WorkCompleted: "completed",
                }[type(ev)]  # fmt: skip
            case e.WagePaid():
                w.wages.append(ev)
                w.paid_fen[ev.hire_id] += ev.amount_fen
            case e.ComplaintFiled():
                w.complaints[ev.complaint_id] = "open"
                w.complaint_filed[ev.complaint_id] = ev
            case e.ComplaintResolved():
                w.complaints[ev.complaint_id] = "upheld" if ev.upheld else "dismissed"
            case e.ComplaintStatusChanged():
                w.complaints[ev.complaint_id] = ev.status
            case e.ComplaintOverdue():
                w.complaint_overdue.append(ev)
    return w


def fact_counts(w: World) -> dict[str, int]:
    """Expected row count of every reporting table."""
    n = w.type_counts
    return {
        "d_station": n["StationRegistered"],
        "d_employer": n["EmployerRegistered"],
        "d_worker": n["WorkerRegistered"],
        "f_station_status": n["StationRegistered"] + n["StationStatusChanged"],
        "f_checkin": n["WorkerCheckedIn"],
        "f_posting": n["JobSubmitted"],
        "f_job_event": sum(
            n[t]
            for t in (
                "JobPublished",
                "JobHeldForReview",
                "JobReviewed",
                "JobRejected",
                "JobCancelled",
                "JobExpired",
                "JobFilled",
            )
        ),  # fmt: skip
        "f_offer": n["OfferMade"],
        "f_offer_outcome": sum(
            n[t] for t in ("OfferAccepted", "OfferDeclined", "OfferExpired", "OfferWithdrawn")
        ),
        "f_hire": n["HireConfirmed"],
        "f_hire_event": n["WorkerArrived"] + n["NoShow"] + n["WorkCompleted"],
        "f_wage": n["WagePaid"],
        "f_complaint": n["ComplaintFiled"],
        "f_complaint_resolved": n["ComplaintResolved"],
        "f_complaint_step": n["ComplaintStatusChanged"],
        "f_complaint_overdue": n["ComplaintOverdue"],
        "f_rating": n["RatingGiven"],
        "f_training": n["TrainingPublished"],
        "f_training_signup": n["TrainingSignedUp"],
        "f_training_done": n["TrainingCompleted"],
        "f_policy_qa": n["PolicyAnswerPublished"],
    }


def registry_counts(w: World) -> dict[str, int]:
    n = w.type_counts
    return {
        "stations": n["StationRegistered"],
        "employers": n["EmployerRegistered"],
        "workers": n["WorkerRegistered"],
        "jobs": n["JobSubmitted"],
        "offers": n["OfferMade"],
        "hires": n["HireConfirmed"],
        "complaints": n["ComplaintFiled"],
        "policies": n["PolicySet"],
    }


def checkin_region(w: World, ev: e.WorkerCheckedIn) -> str:
    if ev.station_id:
        return w.stations[ev.station_id].region
    return w.workers[ev.worker_id].region


def daily_pay_by_skill(w: World) -> dict[str, list[float]]:
    """Per hire paid: total paid / local days spanned, grouped by the job's skill."""
    out: dict[str, list[float]] = {}
    for hire_id, fen in w.paid_fen.items():
        h = w.hires[hire_id]
        days = (local_date(max(h.start_ms, h.end_ms - 1)) - local_date(h.start_ms)).days + 1
        out.setdefault(w.jobs[h.job_id].skill, []).append(fen / days)
    return out
