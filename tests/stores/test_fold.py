"""The columnar folds (`registry.apply_batch`, `reporting.apply_batch`) against their plain
twins (`reference_registry`, `reference_reporting`: one handler call per event): the same
batches must give the same `Changes` — fact rows, new rows, updates and increments — on
the session's demo log at several batch sizes, and on random event sequences (Hypothesis)
cut into random records and batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.stores import registry, reporting
from adapters.stores.batch import days_of, work_days_of
from adapters.stores.changes import Changes
from adapters.stores.reporting import day_of, work_days
from adapters.stores.source import read_records
from engine import events as e
from tests.stores import reference_registry, reference_reporting

Fold = Callable[[Changes, Sequence[Sequence[Any]]], None]
PAIRS = {
    "registry": (registry.TABLES, registry.apply_batch, reference_registry.apply_record),
    "reporting": (reporting.TABLES, reporting.apply_batch, reference_reporting.apply_record),
}


def updates(ch: Changes, table: str) -> dict[tuple, dict[str, tuple[str, Any]]]:
    """key -> {column: ("set" | "add", value)} of the updates a backend writes."""
    out: dict[tuple, dict[str, tuple[str, Any]]] = {}
    for sets, incs, rows in ch.update_groups(table):
        cols = [*(("set", c) for c in sets), *(("add", c) for c in incs)]
        for row in rows:
            change = {c: (how, v) for (how, c), v in zip(cols, row, strict=False)}
            out[tuple(row[len(cols) :])] = change
    return out


def state(ch: Changes) -> dict[str, Any]:
    """Everything a backend writes from `ch`."""
    return {
        "facts": {t: ch.fact_rows(t) for t in ch.facts},
        "inserts": {t: rows for t, rows in ch.inserts.items() if rows},
        "updates": {t: updates(ch, t) for t in ch.tables if ch.update_groups(t)},
        "rows": ch.rows(),
    }


def both(name: str, batch: Sequence[tuple[int, Any]]) -> tuple[dict, dict]:
    tables, columnar, plain = PAIRS[name]
    fast, slow = Changes(tables), Changes(tables)
    columnar(fast, batch)
    for seq, rec in batch:
        plain(slow, seq, rec)
    return state(fast), state(slow)


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("frames", [37, 1000, 100_000])
def test_columnar_fold_equals_the_plain_fold_on_the_demo_log(
    name: str, frames: int, demo_dir: Path
):
    batches = 0
    for batch in read_records(demo_dir / "log", 1, frames):
        fast, slow = both(name, [(seq, rec) for seq, rec, _ in batch])
        assert fast == slow, (name, batch[0][0])
        batches += 1
    assert batches >= 1 and fast["rows"] > 0


def test_day_columns_equal_the_scalar_functions():
    ts = [1_764_000_000_000 + k * 3_599_999 for k in range(-500, 500)]
    assert days_of(ts) == [day_of(t) for t in ts]
    assert days_of(ts[:3]) == [day_of(t) for t in ts[:3]]  # one-day fast path
    ends = [t + (k % 7) * 11_000_000 - 5_000_000 for k, t in enumerate(ts)]
    assert work_days_of(ts, ends) == [work_days(s, x) for s, x in zip(ts, ends, strict=True)]
    assert days_of([]) == [] and work_days_of([], []) == []


# ---------------------------------------------------------------- random sequences -----

T0 = 1_795_000_000_000  # 2026-11-17 (the day boundary falls inside the generated span)


class _Rec:
    """A record as the folds see it: only `events` is read."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events


def _insert(family: str, key: str, ts: int, n: int, job: str = "") -> Any:
    if family == "worker":
        return e.WorkerRegistered(ts_ms=ts, worker_id=key, region="350100", skills=("a", "b")[: n % 3],
                                  min_pay_fen=n, birth_year=1970 + n, home_lat=24.123456,
                                  home_lng=118.654321, phone_masked="138****0000",
                                  id_masked="3501**")  # fmt: skip
    if family == "job":
        return e.JobSubmitted(ts_ms=ts, job_id=key, employer_id="E0", station_id="S0",
                              region="350100", title="t", skill="a", headcount=1 + n % 3,
                              pay_fen=20000, start_ms=ts + n * 3_600_000,
                              end_ms=ts + (n + 9) * 3_600_000, lat=24.0, lng=118.0)  # fmt: skip
    if family == "offer":
        return e.OfferMade(ts_ms=ts, offer_id=key, job_id="J0", worker_id="W0", score=0.5,
                           rank=n, wave=1, expires_ms=ts + 120_000, distance_m=n * 10,
                           travel_s=n)  # fmt: skip
    if family == "hire":
        return e.HireConfirmed(ts_ms=ts, hire_id=key, job_id=job, worker_id="W0",
                               offer_id="O0", start_ms=ts, end_ms=ts + n * 9_000_000,
                               pay_fen=20000)  # fmt: skip
    if family == "station":
        return e.StationRegistered(ts_ms=ts, station_id=key, name="s", kind="post",
                                   region="350100", lat=24.0, lng=118.0)  # fmt: skip
    if family == "employer":
        return e.EmployerRegistered(ts_ms=ts, employer_id=key, kind="organisation",
                                    display_name="d", region="350100")  # fmt: skip
    return e.ComplaintFiled(ts_ms=ts, complaint_id=key, kind="safety", employer_id="E0")


def _update(family: str, key: str, ts: int, n: int) -> Any:
    m = n // 7  # varies independently of the choice (n % len(choices), at most 7)
    options: dict[str, list[Callable[[], Any]]] = {
        "worker": [
            lambda: e.WorkerUpdated(
                ts_ms=ts,
                worker_id=key,
                skills=("c",),
                min_pay_fen=n,
                priority_group="veteran",
                home_lat=25.55555,
                home_lng=119.0,
                travel_mode="bike",
                push_opt_in=True,
                quiet_start_min=0,
                quiet_end_min=n,
            ),  # fmt: skip
            lambda: e.WorkerErased(ts_ms=ts, worker_id=key),
            lambda: e.WorkerCheckedIn(
                ts_ms=ts,
                worker_id=key,
                station_id=f"S{n}",
                lat=1.0,
                lng=2.0,
                available_until_ms=ts + n,
            ),  # fmt: skip
            lambda: e.WorkerCheckedOut(ts_ms=ts, worker_id=key, reason=("", "hired")[m % 2]),
        ],
        "job": [
            lambda: e.JobPublished(ts_ms=ts, job_id=key, reviewed_by=("", "staff1")[m % 2]),
            lambda: e.JobHeldForReview(ts_ms=ts, job_id=key, reasons=("x", "y")[: 1 + m % 2]),
            lambda: e.JobReviewed(
                ts_ms=ts, job_id=key, staff_id="st", station_id="S0", approve=True
            ),  # fmt: skip
            lambda: e.JobRejected(ts_ms=ts, job_id=key, reasons=("z",)),
            lambda: e.JobCancelled(ts_ms=ts, job_id=key),
            lambda: e.JobExpired(ts_ms=ts, job_id=key),
            lambda: e.JobFilled(ts_ms=ts, job_id=key),
        ],
        "offer": [
            lambda: e.OfferAccepted(ts_ms=ts, offer_id=key),
            lambda: e.OfferDeclined(ts_ms=ts, offer_id=key, reason="busy"),
            lambda: e.OfferExpired(ts_ms=ts, offer_id=key),
            lambda: e.OfferWithdrawn(ts_ms=ts, offer_id=key, reason="job_filled"),
        ],
        "hire": [
            lambda: e.WorkerArrived(ts_ms=ts, hire_id=key),
            lambda: e.NoShow(ts_ms=ts, hire_id=key),
            lambda: e.WorkCompleted(ts_ms=ts, hire_id=key),
            lambda: e.WagePaid(ts_ms=ts, hire_id=key, amount_fen=100 * n, method="bank"),
            lambda: e.RatingGiven(
                ts_ms=ts, hire_id=key, by=("worker", "employer")[m % 2], stars=1 + n % 5
            ),  # fmt: skip
        ],
        "station": [lambda: e.StationStatusChanged(ts_ms=ts, station_id=key, status="approved")],
        "employer": [
            lambda: e.EmployerFlagged(ts_ms=ts, employer_id=key, reason="fraud"),
            lambda: e.EmployerCleared(ts_ms=ts, employer_id=key, reason="wage_arrears"),
        ],
        "complaint": [
            lambda: e.ComplaintResolved(ts_ms=ts, complaint_id=key, upheld=bool(m % 2), note="n")
        ],
    }
    choices = options[family]
    return choices[n % len(choices)]()


FAMILIES = ("worker", "job", "offer", "hire", "station", "employer", "complaint")
OP = st.tuples(
    st.sampled_from(FAMILIES),
    st.sampled_from(("insert", "update", "update", "skip")),
    st.integers(0, 3),  # key
    st.integers(0, 40),  # variant / small number
)


def events_of(ops: list[tuple[str, str, int, int]]) -> list[Any]:
    """Events from ops; a key is inserted at most once and updated only after its insert
    (updates of keys never inserted here stand for rows written by earlier batches)."""
    made: set[tuple[str, int]] = set()
    out: list[Any] = []
    for i, (family, kind, k, n) in enumerate(ops):
        ts = T0 + i * 1_800_000
        if kind == "skip":
            out.append(e.Tick(ts_ms=ts) if n % 2 else e.PushSent(ts_ms=ts, job_id="J", worker_id="W", distance_m=n))  # fmt: skip
        elif kind == "insert" and (family, k) not in made:
            made.add((family, k))
            job = f"job{n % 4}" if ("job", n % 4) in made else f"old-job{n % 4}"
            out.append(_insert(family, f"{family}{k}", ts, n, job))
        elif kind == "update":
            key = f"{family}{k}" if (family, k) in made else f"old-{family}{k}"
            out.append(_update(family, key, ts, n))
    return out


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(OP, max_size=60),
    record_sizes=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    batch_sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
)
def test_columnar_fold_equals_the_plain_fold_on_random_events(
    ops: list, record_sizes: list[int], batch_sizes: list[int]
):
    evs = events_of(ops)
    records: list[tuple[int, _Rec]] = []
    i = 0
    while i < len(evs):
        size = record_sizes[len(records) % len(record_sizes)]
        records.append((len(records) + 1, _Rec(evs[i : i + size])))
        i += size
    start = 0
    while start < len(records):
        size = batch_sizes[start % len(batch_sizes)]
        batch = records[start : start + size]
        for name in PAIRS:
            fast, slow = both(name, batch)
            assert fast == slow, name
        start += size
