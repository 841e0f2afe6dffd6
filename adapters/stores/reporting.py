"""The reporting projection: append-only fact tables the bureaus' reports are built from.

Owns: the mapping from events to fact rows (check-ins, postings, job outcomes, offers
and their outcomes, hires and what followed, wages, complaints, ratings, station status,
training sessions, sign-ups and completions, policy Q&A entries)
and the three small dimension tables reports join (stations, employers, workers). Stored
by any `Backend`: DuckDB by default in `DATA/reporting.duckdb`, PostgreSQL schema
`lingong_reporting`. The fold is columnar: `apply_batch` sorts a batch's events by kind
(`batch.bucket`) and builds each fact table's columns in a few C-level passes.

Invariants:
- Every fact row carries `(seq, idx)` (record seq, event index in the record), `ts_ms`
  and `day`, the Asia/Shanghai calendar day as YYYYMMDD (`engine.geo.local_date`); the
  rows of each table are added in log order.
- Facts are only ever inserted; dimension rows are inserted once and updated only by
  `WorkerUpdated` (skills) and `WorkerErased` (masked strings blanked, `erased` = 1).
- `f_hire.work_days` is the number of Asia/Shanghai days the work spans (>= 1); daily
  pay of a hire = wages paid for it / work_days.
- No personal data beyond the masked phone and ID of `WorkerRegistered`.
- Every event type is routed (`ROUTES`): to a fold, or explicitly skipped.

Limits: a fact's region, station and skill come from the posting it belongs to (joined
at report time); a worker's skills are the current ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.stores.batch import SKIP, Item, bucket, columns, days_of, split, work_days_of
from adapters.stores.changes import Changes
from adapters.stores.schema import REPORTING_TABLES
from engine import events as e
from engine.geo import local_date, local_day_number

NAME = "reporting"
TABLES = REPORTING_TABLES

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


_JOB_KINDS = {
    e.JobPublished: "published",
    e.JobHeldForReview: "held",
    e.JobReviewed: "reviewed",
    e.JobRejected: "rejected",
    e.JobCancelled: "cancelled",
    e.JobExpired: "expired",
    e.JobFilled: "filled",
}
_OFFER_OUTCOMES = {
    e.OfferAccepted: "accepted",
    e.OfferDeclined: "declined",
    e.OfferExpired: "expired",
    e.OfferWithdrawn: "withdrawn",
}
_HIRE_KINDS = {e.WorkerArrived: "arrived", e.NoShow: "no_show", e.WorkCompleted: "completed"}

ROUTES: dict[type, str] = {
    e.PolicySet: SKIP,
    e.StationRegistered: "station",
    e.StationStatusChanged: "station",
    e.EmployerRegistered: "employer",
    e.EmployerFlagged: SKIP,
    e.EmployerCleared: SKIP,
    e.WorkerRegistered: "worker",
    e.WorkerUpdated: "worker_update",
    e.WorkerErased: "worker_update",
    e.WorkerCheckedIn: "checkin",
    e.WorkerCheckedOut: SKIP,
    e.JobSubmitted: "posting",
    **dict.fromkeys(_JOB_KINDS, "job_event"),
    e.Tick: SKIP,
    e.BellRung: SKIP,
    e.BellClosed: SKIP,
    e.StationChecked: SKIP,
    e.PushSent: SKIP,
    # issue 14: the agreement and arrears cases are read from the engine (GET
    # /hires/{id}/agreement, /arrears); not projected yet
    e.AgreementRecorded: SKIP,
    e.ArrearsOpened: SKIP,
    e.ArrearsClosed: SKIP,
    e.OfferMade: "offer",
    **dict.fromkeys(_OFFER_OUTCOMES, "offer_outcome"),
    e.HireConfirmed: "hire",
    **dict.fromkeys(_HIRE_KINDS, "hire_event"),
    e.WagePaid: "wage",
    e.ComplaintFiled: "complaint",
    e.ComplaintResolved: "complaint_resolved",
    e.ComplaintStatusChanged: "complaint_step",
    e.ComplaintOverdue: "complaint_overdue",
    e.RatingGiven: "rating",
    e.TrainingPublished: "training",
    e.TrainingSignedUp: "training_signup",
    e.TrainingCompleted: "training_done",
    e.PolicyAnswerPublished: "policy_qa",
}


def _facts(
    ch: Changes,
    table: str,
    items: Sequence[Item],
    attrs: tuple[str, ...],
    derived: tuple[Callable[[Any], Any], ...] = (),
) -> None:
    """Fact rows (seq, idx, ts_ms, day, *attrs, *derived(event)) of `items`, as columns."""
    if not items:
        return
    seqs, idxs, evs = split(items)
    cols = columns(evs, "ts_ms", *attrs)
    more = [tuple(map(f, evs)) for f in derived]
    ch.add_facts(table, [seqs, idxs, cols[0], days_of(cols[0]), *cols[1:], *more])


def _stations(ch: Changes, items: Sequence[Item]) -> None:
    rows: list[tuple] = []
    for seq, idx, ev in items:
        day = day_of(ev.ts_ms)
        if isinstance(ev, e.StationRegistered):
            ch.insert(
                "d_station",
                [ev.station_id, ev.name, ev.kind, ev.market_type, ev.parent_id, ev.region,
                 ev.lat, ev.lng, ev.area_m2, ev.address, day],
            )  # fmt: skip
            rows.append((seq, idx, ev.ts_ms, day, ev.station_id, "applied", ""))
        else:
            rows.append((seq, idx, ev.ts_ms, day, ev.station_id, ev.status, ev.reason))
    if rows:
        ch.add_facts("f_station_status", list(zip(*rows, strict=True)))


def _dimensions(ch: Changes, b: dict[str, list[Item]]) -> None:
    if b["employer"]:
        evs = split(b["employer"])[2]
        ch.insert_many(
            "d_employer",
            [[ev.employer_id, ev.kind, ev.display_name, ev.uscc, ev.region, day]
             for ev, day in zip(evs, days_of([ev.ts_ms for ev in evs]), strict=True)],
        )  # fmt: skip
    if b["worker"]:
        evs = split(b["worker"])[2]
        ch.insert_many(
            "d_worker",
            [[ev.worker_id, ev.region, ",".join(ev.skills), ev.birth_year, ev.priority_group,
              ev.phone_masked, ev.id_masked, 0, day]
             for ev, day in zip(evs, days_of([ev.ts_ms for ev in evs]), strict=True)],
        )  # fmt: skip
    ch.set_values("d_worker", (_worker_update(ev) for _, _, ev in b["worker_update"]))


_UPDATED = ("skills", "priority_group")
_ERASED = ("phone_masked", "id_masked", "erased")


def _worker_update(ev: Any) -> tuple[tuple, tuple[str, ...], tuple]:
    if isinstance(ev, e.WorkerUpdated):
        return (ev.worker_id,), _UPDATED, (",".join(ev.skills), ev.priority_group)
    return (ev.worker_id,), _ERASED, ("", "", 1)


def _actor(ev: Any) -> str:
    return getattr(ev, "reviewed_by", "") or getattr(ev, "staff_id", "")


def fact_attrs(table: str, derived: int = 0) -> tuple[str, ...]:
    """The event fields a fact table stores: its columns after seq, idx, ts_ms and day,
    minus the last `derived` (computed) ones; the event's fields of the same names."""
    names = next(t for t in TABLES if t.name == table).names
    return names[4 : len(names) - derived]


_POSTING_ATTRS = fact_attrs("f_posting")  # the JobSubmitted fields, by the columns' names
_HIRE_ATTRS = fact_attrs("f_hire", derived=1)  # HireConfirmed's, then work_days


def _hires(ch: Changes, items: Sequence[Item]) -> None:
    if not items:
        return
    seqs, idxs, evs = split(items)
    attrs = ("ts_ms", *_HIRE_ATTRS)
    cols = columns(evs, *attrs)
    start, end = cols[attrs.index("start_ms")], cols[attrs.index("end_ms")]
    ch.add_facts(
        "f_hire", [seqs, idxs, cols[0], days_of(cols[0]), *cols[1:], work_days_of(start, end)]
    )


def apply_batch(ch: Changes, batch: Sequence[Sequence[Any]]) -> None:
    """Fold a batch of records (items `(seq, record, ...)` in log order) into `ch`."""
    b = bucket(batch, ROUTES)
    _stations(ch, b["station"])
    _dimensions(ch, b)
    _facts(ch, "f_checkin", b["checkin"], ("worker_id", "station_id"))
    _facts(ch, "f_posting", b["posting"], _POSTING_ATTRS)
    _facts(ch, "f_job_event", b["job_event"], ("job_id",), (_job_kind, _actor))
    _facts(
        ch, "f_offer", b["offer"],
        ("offer_id", "job_id", "worker_id", "source", "wave", "rank", "distance_m", "travel_s"),
    )  # fmt: skip
    _facts(ch, "f_offer_outcome", b["offer_outcome"], ("offer_id",), (_outcome, _reason))
    _hires(ch, b["hire"])
    _facts(ch, "f_hire_event", b["hire_event"], ("hire_id",), (_hire_kind,))
    _facts(ch, "f_wage", b["wage"], ("hire_id", "amount_fen", "method"))
    _facts(
        ch, "f_complaint", b["complaint"],
        ("complaint_id", "kind", "employer_id", "worker_id", "hire_id"),
    )  # fmt: skip
    _facts(ch, "f_complaint_resolved", b["complaint_resolved"], ("complaint_id",), (_upheld,))
    _facts(ch, "f_complaint_step", b["complaint_step"], ("complaint_id", "status", "staff_id"))
    _facts(
        ch, "f_complaint_overdue", b["complaint_overdue"], ("complaint_id", "due_ms", "station_id")
    )
    _facts(ch, "f_rating", b["rating"], ("hire_id", "by", "stars"))
    _facts(
        ch, "f_training", b["training"],
        ("training_id", "station_id", "region", "title", "skill", "start_ms", "end_ms",
         "capacity"),
    )  # fmt: skip
    _facts(ch, "f_training_signup", b["training_signup"], ("training_id", "worker_id", "channel"))
    _facts(ch, "f_training_done", b["training_done"], ("training_id", "worker_id"))
    _facts(ch, "f_policy_qa", b["policy_qa"], ("entry_id", "station_id", "region", "topic"))


def _job_kind(ev: Any) -> str:
    if type(ev) is e.JobPublished and ev.again:
        return "republished"  # after an arrears hold: not a new posting's slots
    if type(ev) is e.JobHeldForReview and tuple(ev.reasons) == ("arrears_case",):
        return "arrears_held"
    return _JOB_KINDS[type(ev)]


def _outcome(ev: Any) -> str:
    return _OFFER_OUTCOMES[type(ev)]


def _reason(ev: Any) -> str:
    return getattr(ev, "reason", "")


def _hire_kind(ev: Any) -> str:
    return _HIRE_KINDS[type(ev)]


def _upheld(ev: Any) -> int:
    return int(ev.upheld)
