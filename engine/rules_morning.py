"""Deciding the morning: check-ins, postings, reviews, cancellations, ticks and bells.

Owns: the deciders of `CheckIn`, `CheckOut`, `SubmitJob`, `ReviewJob`, `CancelJob`,
`Advance` and `RingBell`.

Invariants:
- Deciders never mutate the state; a refusal raises before any event exists.
- A posting's station must be approved; its times must make sense (start < end, at most
  `MAX_JOB_SPAN_MS`, not over); its daily pay figure stays within `MAX_PAY_FEN`.
- Time only goes forward through `Advance` (the runtime stamps it from its clock).
- Bounds are already checked (`engine.commands.check`).

Limits: `MAX_JOB_SPAN_MS` per posting, `MAX_CHECKIN_SPAN_MS` per check-in,
`MAX_STATION_DISTANCE_M` between a posting and its collecting station.
"""

from __future__ import annotations

from engine import commands as c
from engine import events as e
from engine.bounds import MAX_PAY_FEN
from engine.carry import carry
from engine.commands import Refusal
from engine.geo import haversine_m, local_midnight_ms
from engine.policy import posting_day_pay_fen
from engine.rules_common import Decided, known_skills, point, required_text, station_usable
from engine.rules_common import worker_row as _worker_row
from engine.state import MAX_LIVE_JOBS, State

MAX_JOB_SPAN_MS = 7 * 24 * 3600 * 1000
MAX_CHECKIN_SPAN_MS = 24 * 3600 * 1000
MAX_STATION_DISTANCE_M = 200_000


def check_in(state: State, cmd: c.CheckIn, ts: int) -> Decided:
    _worker_row(state, cmd.worker_id)
    if cmd.station_id:
        station_usable(state, cmd.station_id)
        st = state.stations[cmd.station_id]
        lat, lng = (st.lat, st.lng)
    elif cmd.location is None:
        raise Refusal("location", "required", "give a station_id or a location")
    if cmd.location is not None:
        lat, lng = point(cmd.location, "location")
    until = cmd.available_until_ms or local_midnight_ms(ts) + 24 * 3600 * 1000 - 1
    if until <= ts:
        raise Refusal("available_until_ms", "after_now", "must be later than ts_ms")
    if until - ts > MAX_CHECKIN_SPAN_MS:
        raise Refusal("available_until_ms", "max_span", "a check-in lasts at most 24 h")
    ev = e.WorkerCheckedIn(
        ts_ms=ts,
        worker_id=cmd.worker_id,
        station_id=cmd.station_id,
        lat=lat,
        lng=lng,
        available_until_ms=until,
    )
    return Decided(facts=[ev])


def check_out(state: State, cmd: c.CheckOut, ts: int) -> Decided:
    row = _worker_row(state, cmd.worker_id)
    if not state.workers.checked_in[row]:
        raise Refusal("worker_id", "checked_in", "worker is not checked in")
    return Decided(facts=[e.WorkerCheckedOut(ts_ms=ts, worker_id=cmd.worker_id)])


def submit_job(state: State, cmd: c.SubmitJob, ts: int) -> Decided:
    if cmd.job_id in state.jobs:
        raise Refusal("job_id", "unique", "job already submitted")
    if len(state.jobs) >= MAX_LIVE_JOBS:
        raise Refusal("job_id", "max_live_jobs", f"{MAX_LIVE_JOBS} live postings: try later")
    if cmd.employer_id not in state.employers:
        raise Refusal("employer_id", "exists", f"no employer {c.clip(cmd.employer_id)!r}")
    station_usable(state, cmd.station_id)
    station = state.stations[cmd.station_id]
    required_text(cmd.title, "title")
    known_skills(state, (cmd.skill,), "skill")
    if cmd.end_ms <= cmd.start_ms:
        raise Refusal("end_ms", "after_start", "must be later than start_ms")
    if cmd.end_ms - cmd.start_ms > MAX_JOB_SPAN_MS:
        raise Refusal("end_ms", "max_span", "a posting spans at most 7 days")
    if cmd.end_ms <= ts:
        raise Refusal("end_ms", "in_future", "the job is already over")
    lat, lng = point(cmd.location, "location")
    _, policy = state.policy_for(station.region)
    if haversine_m(lat, lng, station.lat, station.lng) > MAX_STATION_DISTANCE_M:
        raise Refusal("location", "near_station", "more than 200 km from the collecting station")
    if posting_day_pay_fen(cmd, policy) > MAX_PAY_FEN:
        raise Refusal("pay_fen", "fen_range", "daily figure too large")
    # terms_v 1: hires of this posting record an agreement and are wage-checked (issue 14)
    ev = carry(cmd, e.JobSubmitted, ts_ms=ts, region=station.region, lat=lat, lng=lng, terms_v=1)
    return Decided(facts=[ev])


def review_job(state: State, cmd: c.ReviewJob, ts: int) -> Decided:
    job = state.jobs.get(cmd.job_id)
    if job is None:
        raise Refusal("job_id", "exists", f"no job {c.clip(cmd.job_id)!r}")
    if job.status != "held":
        raise Refusal("job_id", "held_for_review", f"job is {job.status}, not held")
    if cmd.station_id != job.station_id:
        raise Refusal("station_id", "collecting_station", "only the collecting station reviews")
    station_usable(state, cmd.station_id)
    ev = e.JobReviewed(
        ts_ms=ts,
        job_id=cmd.job_id,
        staff_id=cmd.staff_id,
        station_id=cmd.station_id,
        approve=cmd.approve,
        note=cmd.note,
    )
    return Decided(facts=[ev])


def cancel_job(state: State, cmd: c.CancelJob, ts: int) -> Decided:
    job = state.jobs.get(cmd.job_id)
    if job is None:
        raise Refusal("job_id", "exists", f"no job {c.clip(cmd.job_id)!r}")
    if job.status not in ("open", "held", "filled"):
        raise Refusal("job_id", "cancellable", f"job is {job.status}")
    return Decided(facts=[e.JobCancelled(ts_ms=ts, job_id=cmd.job_id, reason=cmd.reason)])


def advance(state: State, cmd: c.Advance, ts: int) -> Decided:
    if ts < state.last_ts_ms:
        raise Refusal("ts_ms", "monotonic", f"time cannot go back before {state.last_ts_ms}")
    return Decided(facts=[e.Tick(ts_ms=ts)])


def ring_bell(state: State, cmd: c.RingBell, ts: int) -> Decided:
    if bool(cmd.station_id) == bool(cmd.region):
        raise Refusal("station_id", "one_scope", "give exactly one of station_id or region")
    if cmd.station_id:
        station_usable(state, cmd.station_id)
        scope = cmd.station_id
        region = state.stations[cmd.station_id].region
    else:
        scope = "region:" + cmd.region
        region = cmd.region
    window = state.policy_for(region)[1].bell_window_ms
    if scope in state.bells:
        field = "station_id" if cmd.station_id else "region"
        raise Refusal(field, "bell_open", "a bell is already open")
    ev = e.BellRung(ts_ms=ts, scope=scope, staff_id=cmd.staff_id, window_ms=window)
    return Decided(facts=[ev])
