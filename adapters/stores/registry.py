"""The registry projection: current state of stations, employers, workers, jobs, offers,
hires and complaints, for front ends and station staff.

Owns: the mapping from events to registry row changes (written once, stored by any
`Backend`: SQLite by default in `DATA/registry.sqlite`, PostgreSQL schema
`lingong_registry`), and a few read helpers staff screens use. The fold is columnar:
`apply_batch` sorts a batch's events by kind (`batch.bucket`), builds the new rows of each
table in one pass, then applies each table's updates in log order.

Invariants:
- Rows change only through events, applied in log order per row; the same log gives the
  same rows in every backend, whatever the batch size.
- Personal data only masked (`phone_masked`, `id_masked`, `contact_masked`); sealed blobs
  are never stored or unsealed. A worker's home is kept rounded to 3 decimals (~100 m);
  check-in coordinates are not kept (行踪轨迹), only the station. `WorkerErased` blanks the
  masked strings and the home.
- `jobs.hired` counts HireConfirmed; `hires.wage_paid_fen` sums WagePaid (partial
  payments add up).
- Every event type is routed (`ROUTES`): to a fold, or explicitly skipped.

Limits: no history (the log and the reporting store have it).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.batch import SKIP, Item, bucket, split
from adapters.stores.changes import Changes
from adapters.stores.schema import REGISTRY_TABLES
from engine import events as e

NAME = "registry"
TABLES = REGISTRY_TABLES
HOME_DECIMALS = 3

Update = tuple[tuple, tuple[str, ...], tuple]  # (key, columns, values)

_OFFER_STATUS = {
    e.OfferAccepted: "accepted",
    e.OfferDeclined: "declined",
    e.OfferExpired: "expired",
    e.OfferWithdrawn: "withdrawn",
}
_JOB_CLOSED = {e.JobCancelled: "cancelled", e.JobExpired: "expired", e.JobFilled: "filled"}

ROUTES: dict[type, str] = {
    e.PolicySet: "policy",
    e.StationRegistered: "station",
    e.StationStatusChanged: "station_update",
    e.EmployerRegistered: "employer",
    e.EmployerFlagged: "employer_update",
    e.EmployerCleared: "employer_update",
    e.WorkerRegistered: "worker",
    e.WorkerUpdated: "worker_update",
    e.WorkerErased: "worker_update",
    e.WorkerCheckedIn: "worker_update",
    e.WorkerCheckedOut: "worker_update",
    e.JobSubmitted: "job",
    e.JobPublished: "job_update",
    e.JobHeldForReview: "job_update",
    e.JobReviewed: "job_update",
    e.JobRejected: "job_update",
    **dict.fromkeys(_JOB_CLOSED, "job_update"),
    e.Tick: SKIP,
    e.BellRung: SKIP,
    e.BellClosed: SKIP,
    e.StationChecked: SKIP,
    e.PushSent: SKIP,
    e.TrainingPublished: SKIP,  # trainings are read from the engine and reported
    e.TrainingSignedUp: SKIP,
    e.TrainingCompleted: SKIP,
    e.PolicyAnswerPublished: SKIP,
    # issue 14: the agreement and arrears cases are read from the engine (GET
    # /hires/{id}/agreement, /arrears); not projected yet
    e.AgreementRecorded: SKIP,
    e.ArrearsOpened: SKIP,
    e.ArrearsClosed: SKIP,
    e.OfferMade: "offer",
    **dict.fromkeys(_OFFER_STATUS, "offer_update"),
    e.HireConfirmed: "hire",
    e.WorkerArrived: "hire_update",
    e.NoShow: "hire_update",
    e.WorkCompleted: "hire_update",
    e.WagePaid: "hire_update",
    e.RatingGiven: "hire_update",
    e.ComplaintFiled: "complaint",
    e.ComplaintResolved: "complaint_update",
    e.ComplaintStatusChanged: "complaint_update",
    e.ComplaintOverdue: SKIP,  # the reporting store counts it; the case row keeps its status
}


def _home(value: float) -> float:
    return round(value, HOME_DECIMALS)


# ---------------------------------------------------------------- new rows -----------

TS = object()  # a column that starts at the event's time


def rows_by_name(
    table: str, event: type, **fixed: Any
) -> Callable[[Sequence[Item]], list[list[Any]]]:
    """New rows of `table` from events of type `event`: the leading columns are the
    event's fields of the same names, the rest start at `fixed` (`TS`: the event's time).
    A new field of the event and a column of that name is then all a row needs."""
    names = next(t for t in TABLES if t.name == table).names
    lead = names[: len(names) - len(fixed)]
    if tuple(fixed) != names[len(lead) :] or not set(lead) <= set(event.__struct_fields__):
        raise AssertionError(f"{table}: columns {names} do not match {event.__name__} + {fixed}")
    get = operator.attrgetter(*lead)
    rest = tuple(fixed.values())
    stamped = [i for i, v in enumerate(rest) if v is TS]

    def rows(items: Sequence[Item]) -> list[list[Any]]:
        out = []
        for _, _, ev in items:
            tail = list(rest)
            for i in stamped:
                tail[i] = ev.ts_ms
            out.append([*get(ev), *tail])
        return out

    return rows


_JOB_ROWS = rows_by_name(
    "jobs", e.JobSubmitted, status="submitted", status_reasons="", reviewed_by="", hired=0,
    submitted_ts_ms=TS, published_ts_ms=0, closed_ts_ms=0, updated_ts_ms=TS,
)  # fmt: skip
_HIRE_ROWS = rows_by_name(
    "hires", e.HireConfirmed, status="confirmed", confirmed_ts_ms=TS, arrived_ts_ms=0,
    completed_ts_ms=0, no_show_ts_ms=0, wage_paid_fen=0, wage_payments=0, wage_method="",
    paid_ts_ms=0, worker_stars=0, employer_stars=0,
)  # fmt: skip


def _new_rows(ch: Changes, b: dict[str, list[Item]]) -> None:
    if b["policy"]:
        rows = [[seq, ev.region, ev.version, ev.note, ev.ts_ms] for seq, _, ev in b["policy"]]
        ch.insert_many("policies", rows)
    ch.insert_many(
        "stations",
        [[ev.station_id, ev.name, ev.kind, ev.market_type, ev.parent_id, ev.region, ev.lat,
          ev.lng, ev.area_m2, ev.address, "applied", "", ev.ts_ms, ev.ts_ms]
         for _, _, ev in b["station"]],
    )  # fmt: skip
    ch.insert_many(
        "employers",
        [[ev.employer_id, ev.kind, ev.display_name, ev.uscc, ev.region, ev.contact_masked, 0, 0,
          ev.ts_ms, ev.ts_ms] for _, _, ev in b["employer"]],
    )  # fmt: skip
    ch.insert_many(
        "workers",
        [[ev.worker_id, ev.region, ",".join(ev.skills), ev.min_pay_fen, ev.birth_year,
          ev.priority_group, round(ev.home_lat, HOME_DECIMALS),
          round(ev.home_lng, HOME_DECIMALS), ev.travel_mode, int(ev.push_opt_in),
          ev.quiet_start_min, ev.quiet_end_min, ev.phone_masked, ev.id_masked, 0, 0, "", 0, 0,
          "", ev.ts_ms, ev.ts_ms] for _, _, ev in b["worker"]],
    )  # fmt: skip
    ch.insert_many("jobs", _JOB_ROWS(b["job"]))
    ch.insert_many(
        "offers",
        [[ev.offer_id, ev.job_id, ev.worker_id, ev.score, ev.rank, ev.wave, ev.source,
          ev.distance_m, ev.travel_s, ev.ts_ms, ev.expires_ms, "live", "", 0]
         for _, _, ev in b["offer"]],
    )  # fmt: skip
    ch.insert_many("hires", _HIRE_ROWS(b["hire"]))
    ch.insert_many(
        "complaints",
        [[ev.complaint_id, ev.kind, ev.employer_id, ev.worker_id, ev.hire_id, ev.text, "open",
          "", ev.ts_ms, 0] for _, _, ev in b["complaint"]],
    )  # fmt: skip


# ---------------------------------------------------------------- updates ------------
# One function per updating event type: (key, columns, values) of the row it changes.

_CHECKED_IN = ("checked_in", "checkin_station_id", "checkin_ts_ms", "available_until_ms",
               "checkout_reason", "updated_ts_ms")  # fmt: skip
_CHECKED_OUT = ("checked_in", "checkout_reason", "updated_ts_ms")
_WORKER_UPDATED = ("skills", "min_pay_fen", "priority_group", "home_lat", "home_lng",
                   "travel_mode", "push_opt_in", "quiet_start_min", "quiet_end_min",
                   "updated_ts_ms")  # fmt: skip
_ERASED = ("erased", "phone_masked", "id_masked", "home_lat", "home_lng", "checked_in",
           "updated_ts_ms")  # fmt: skip
_OFFER_CLOSED = ("status", "reason", "closed_ts_ms")
_PUBLISHED = ("status", "published_ts_ms", "updated_ts_ms")
_STATION = ("status", "status_reason", "updated_ts_ms")


def _worker_updated(ev: e.WorkerUpdated) -> Update:
    vals = (",".join(ev.skills), ev.min_pay_fen, ev.priority_group, _home(ev.home_lat),
            _home(ev.home_lng), ev.travel_mode, int(ev.push_opt_in), ev.quiet_start_min,
            ev.quiet_end_min, ev.ts_ms)  # fmt: skip
    return (ev.worker_id,), _WORKER_UPDATED, vals


def _published(ev: e.JobPublished) -> Update:
    if ev.reviewed_by:
        cols = (*_PUBLISHED, "reviewed_by")
        return (ev.job_id,), cols, ("open", ev.ts_ms, ev.ts_ms, ev.reviewed_by)
    return (ev.job_id,), _PUBLISHED, ("open", ev.ts_ms, ev.ts_ms)


def _resolved(ev: e.ComplaintResolved) -> Update:
    status = "upheld" if ev.upheld else "dismissed"
    return (ev.complaint_id,), ("status", "note", "resolved_ts_ms"), (status, ev.note, ev.ts_ms)


def _complaint_step(ev: e.ComplaintStatusChanged) -> Update:
    if ev.status in ("resolved", "rejected"):
        return (
            (ev.complaint_id,),
            ("status", "note", "resolved_ts_ms"),
            (ev.status, ev.note, ev.ts_ms),
        )
    return (ev.complaint_id,), ("status", "note"), (ev.status, ev.note)


def _job(status: str, cols: tuple[str, ...] = ("status", "closed_ts_ms", "updated_ts_ms")) -> Any:
    return lambda ev: ((ev.job_id,), cols, (status, ev.ts_ms, ev.ts_ms))


def _hire(status: str, at: str) -> Any:
    return lambda ev: ((ev.hire_id,), ("status", at), (status, ev.ts_ms))


def _flag(value: int) -> Any:
    return lambda ev: ((ev.employer_id,), (f"flag_{ev.reason}", "updated_ts_ms"), (value, ev.ts_ms))


def _offer(status: str) -> Any:
    return lambda ev: ((ev.offer_id,), _OFFER_CLOSED, (status, getattr(ev, "reason", ""), ev.ts_ms))


UPDATES: dict[type, Callable[[Any], Update]] = {
    e.StationStatusChanged: lambda ev: (
        (ev.station_id,), _STATION, (ev.status, ev.reason, ev.ts_ms)),
    e.EmployerFlagged: _flag(1),
    e.EmployerCleared: _flag(0),
    e.WorkerUpdated: _worker_updated,
    e.WorkerErased: lambda ev: ((ev.worker_id,), _ERASED, (1, "", "", 0.0, 0.0, 0, ev.ts_ms)),
    e.WorkerCheckedIn: lambda ev: (
        (ev.worker_id,), _CHECKED_IN,
        (1, ev.station_id, ev.ts_ms, ev.available_until_ms, "", ev.ts_ms)),
    e.WorkerCheckedOut: lambda ev: (
        (ev.worker_id,), _CHECKED_OUT, (0, ev.reason or "left", ev.ts_ms)),
    e.JobPublished: _published,
    e.JobHeldForReview: lambda ev: (
        (ev.job_id,), ("status", "status_reasons", "updated_ts_ms"),
        ("held", ",".join(ev.reasons), ev.ts_ms)),
    e.JobReviewed: lambda ev: (
        (ev.job_id,), ("reviewed_by", "updated_ts_ms"), (ev.staff_id, ev.ts_ms)),
    e.JobRejected: lambda ev: (
        (ev.job_id,), ("status", "status_reasons", "closed_ts_ms", "updated_ts_ms"),
        ("rejected", ",".join(ev.reasons), ev.ts_ms, ev.ts_ms)),
    **{t: _job(status) for t, status in _JOB_CLOSED.items()},
    **{t: _offer(status) for t, status in _OFFER_STATUS.items()},
    e.WorkerArrived: _hire("arrived", "arrived_ts_ms"),
    e.NoShow: _hire("no_show", "no_show_ts_ms"),
    e.WorkCompleted: _hire("completed", "completed_ts_ms"),
    e.WagePaid: lambda ev: ((ev.hire_id,), ("wage_method", "paid_ts_ms"), (ev.method, ev.ts_ms)),
    e.RatingGiven: lambda ev: ((ev.hire_id,), (f"{ev.by}_stars",), (ev.stars,)),
    e.ComplaintResolved: _resolved,
    e.ComplaintStatusChanged: _complaint_step,
}  # fmt: skip

_UPDATE_STREAMS = (
    ("stations", "station_update"),
    ("employers", "employer_update"),
    ("workers", "worker_update"),
    ("jobs", "job_update"),
    ("offers", "offer_update"),
    ("hires", "hire_update"),
    ("complaints", "complaint_update"),
)


def _updates(items: Sequence[Item]) -> Any:
    updates = UPDATES
    return (updates[type(ev)](ev) for _, _, ev in items)


def apply_batch(ch: Changes, batch: Sequence[Sequence[Any]]) -> None:
    """Fold a batch of records (items `(seq, record, ...)` in log order) into `ch`."""
    b = bucket(batch, ROUTES)
    _new_rows(ch, b)
    for table, stream in _UPDATE_STREAMS:
        if b[stream]:
            ch.set_values(table, _updates(b[stream]))
    if b["hire"]:
        ch.inc_many("jobs", "hired", (((ev.job_id,), 1) for ev in split(b["hire"])[2]))
    wages = [ev for _, _, ev in b["hire_update"] if type(ev) is e.WagePaid]
    if wages:
        ch.inc_many("hires", "wage_paid_fen", (((ev.hire_id,), ev.amount_fen) for ev in wages))
        ch.inc_many("hires", "wage_payments", (((ev.hire_id,), 1) for ev in wages))


# ---------------------------------------------------------------- read helpers -------


def open_jobs(store: Backend, region_prefix: str = "", station_id: str = "") -> list[tuple]:
    """Open jobs (job board): id, title, skill, headcount, hired, pay_fen, station, region."""
    sql = (
        f"SELECT job_id, title, skill, headcount, hired, pay_fen, station_id, region "
        f"FROM {store.qual('jobs')} WHERE status = 'open' AND region LIKE ?"
    )
    params: list[Any] = [region_prefix + "%"]
    if station_id:
        sql += " AND station_id = ?"
        params.append(station_id)
    return store.query(sql + " ORDER BY published_ts_ms, job_id", params)


def worker(store: Backend, worker_id: str) -> dict[str, Any] | None:
    """One worker's current row as a dict (masked personal data only)."""
    table = next(t for t in TABLES if t.name == "workers")
    rows = store.query(f"SELECT * FROM {store.qual('workers')} WHERE worker_id = ?", [worker_id])
    return dict(zip(table.names, rows[0], strict=True)) if rows else None
