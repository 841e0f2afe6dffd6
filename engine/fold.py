"""Applying events: the fold of the log into `State`.

Owns: `apply(state, event)`, the only code that mutates a `State` (with the folds of
complaint cases, `engine.fold_cases`, and of trainings, `engine.training`).

Invariants:
- `apply` never refuses and never decides: events are already accepted history. An event
  that does not fit the state (a bug or a forged log) raises `InconsistentLog`.
- Same events in the same order give the same state on any machine (no sets, no clock).
- A job's slots never go negative; a worker's hires never overlap (checked on accept,
  asserted here).

- A hire with an open arrears case does not leave the core (its departure moves on by
  one settlement window) until it is paid in full; its closed case leaves with it.
- A live posting held for review (an arrears case) leaves matching at once: its row is
  released and it gets a new one if staff approve it or the case closes.
- Departures from the live working set (hires past their settlement window, closed
  jobs with nothing left, with their offers, the offers of closed jobs kept for their
  hires `CLOSED_OFFER_KEEP_MS` after the close, complaint cases closed
  `CLOSED_COMPLAINT_KEEP_MS` ago) happen in the fold of `Tick` only, so a
  replay that folds records leaves exactly the live set the deciding engine kept.

Limits: see `engine.state` (live tables, the command-id memory); a tick lets at most
`MAX_LEAVING_PER_TICK` things leave (the rest on the next tick).
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable

from engine import events as e
from engine import fold_cases, training
from engine.carry import carry
from engine.geo import local_day_number
from engine.policy import PRIORITY_GROUPS, TRAVEL_MODES, posting_day_pay_fen
from engine.state import (
    CLOSED_JOB,
    CLOSED_OFFER_KEEP_MS,
    DUE_BELL,
    DUE_CHECKOUT,
    DUE_JOB,
    DUE_OFFER,
    DUE_RECTIFY,
    DUE_WAGE,
    LEAVE_COMPLAINT,
    LEAVE_HIRE,
    LEAVE_JOB,
    LEAVE_OFFERS,
    LEAVE_TRAINING,
    NOTHING,
    ArrearsCase,
    Employer,
    Hire,
    Job,
    Offer,
    State,
    Station,
)

MAX_LEAVING_PER_TICK = 100_000
# hold reasons that an arrears case put on a posting (released when the case closes)
ARREARS_HOLD_REASONS = ("arrears_case", "employer_flagged:wage_arrears")


def arrears_case_id(hire_id: str) -> str:
    """The id of a hire's arrears case (at most one per hire: paid in full closes it)."""
    return hire_id + "/arrears"


class InconsistentLog(Exception):
    """An event contradicts the state it is applied to."""


def _station(state: State, ev: e.StationRegistered) -> None:
    state.stations[ev.station_id] = Station(
        station_id=ev.station_id,
        name=ev.name,
        kind=ev.kind,
        market_type=ev.market_type,
        parent_id=ev.parent_id,
        region=ev.region,
        lat=ev.lat,
        lng=ev.lng,
        registered_ms=ev.ts_ms,
        address=ev.address,
        area_m2=ev.area_m2,
        hotline=ev.hotline,
        open_min=ev.open_min,
        close_min=ev.close_min,
        services=tuple(ev.services),
        staff_count=ev.staff_count,
        accounts={"apply": ev.applicant} if ev.applicant else {},
    )
    parent = state.stations.get(ev.parent_id) if ev.parent_id else None
    if parent is not None:
        parent.children.append(ev.station_id)


def _station_status(state: State, ev: e.StationStatusChanged) -> None:
    st = state.stations[ev.station_id]
    st.status = ev.status
    if ev.step and ev.by:
        st.accounts[ev.step] = ev.by
    if ev.filing_no:
        st.filing_no = ev.filing_no
    if ev.status == "rectifying":
        st.rectify_due_ms = ev.due_ms
        state.schedule(ev.due_ms, DUE_RECTIFY, ev.station_id)
    else:
        st.rectify_due_ms = 0


def _policy(state: State, ev: e.PolicySet) -> None:
    state.set_policy(ev.region, ev.version, ev.policy)


def _employer(state: State, ev: e.EmployerRegistered) -> None:
    state.employers[ev.employer_id] = Employer(
        employer_id=ev.employer_id, kind=ev.kind, region=ev.region, display_name=ev.display_name
    )


def _flag(state: State, ev: e.EmployerFlagged) -> None:
    flags = state.employers[ev.employer_id].flags
    if ev.reason not in flags:
        flags.append(ev.reason)


def _clear(state: State, ev: e.EmployerCleared) -> None:
    flags = state.employers[ev.employer_id].flags
    if ev.reason in flags:
        flags.remove(ev.reason)


def _worker(state: State, ev: e.WorkerRegistered) -> None:
    if ev.worker_id in state.worker_rows:
        raise InconsistentLog(f"worker {ev.worker_id} registered twice")
    row = state.workers.add(
        home_lat=ev.home_lat,
        home_lng=ev.home_lng,
        skills=state.skills.mask(ev.skills),
        min_pay_fen=ev.min_pay_fen,
        birth_year=ev.birth_year,
        priority=PRIORITY_GROUPS.index(ev.priority_group),
        mode=TRAVEL_MODES.index(ev.travel_mode),
        push_opt_in=ev.push_opt_in,
        quiet_start_min=ev.quiet_start_min,
        quiet_end_min=ev.quiet_end_min,
    )
    state.worker_rows[ev.worker_id] = row
    if ev.priority_group:
        state.priority_groups[row] = ev.priority_group
    state.worker_ids.append(ev.worker_id)
    state.worker_region.append(sys.intern(ev.region))  # a few codes, many workers
    state.worker_station.append("")
    state.worker_registered_at.append(ev.station_id)
    if ev.station_id and not ev.phone_masked:  # registered at the counter without a mobile
        state.contact_station[row] = ev.station_id
    if ev.push_opt_in:
        state.push_index.add(row, ev.home_lat, ev.home_lng, tag=int(state.workers.skills[row]))


def _worker_update(state: State, ev: e.WorkerUpdated) -> None:
    row = state.worker_rows[ev.worker_id]
    w = state.workers
    was_opted = bool(w.push_opt_in[row])
    w.update(
        row,
        home_lat=ev.home_lat,
        home_lng=ev.home_lng,
        skills=state.skills.mask(ev.skills),
        min_pay_fen=ev.min_pay_fen,
        priority=PRIORITY_GROUPS.index(ev.priority_group),
        mode=TRAVEL_MODES.index(ev.travel_mode),
        push_opt_in=ev.push_opt_in,
        quiet_start_min=ev.quiet_start_min,
        quiet_end_min=ev.quiet_end_min,
    )
    if ev.priority_group:
        state.priority_groups[row] = ev.priority_group
    else:
        state.priority_groups.pop(row, None)
    skills = int(w.skills[row])
    if was_opted:
        state.push_index.remove(row)
    if ev.push_opt_in:
        state.push_index.add(row, ev.home_lat, ev.home_lng, tag=skills)
    if row in state.checked_in:
        state.checked_in.set_tag(row, skills)
        state.waiting.replace(row, w)
    state.sync_push_checked_in(row)


def _erase(state: State, ev: e.WorkerErased) -> None:
    row = state.worker_rows[ev.worker_id]
    w = state.workers
    if w.checked_in[row]:
        state.checked_in.remove(row)
        state.waiting.remove(row)
    if w.push_opt_in[row]:
        state.push_index.remove(row)
    w.erase(row)
    state.sync_push_checked_in(row)
    _leave_station(state, row)
    state.priority_groups.pop(row, None)
    state.contact_station.pop(row, None)


def _check_in(state: State, ev: e.WorkerCheckedIn) -> None:
    row = state.worker_rows[ev.worker_id]
    w = state.workers
    if w.checked_in[row]:
        state.checked_in.move(row, ev.lat, ev.lng)
    else:
        state.checked_in.add(row, ev.lat, ev.lng, tag=int(w.skills[row]))
    w.check_in(row, ev.lat, ev.lng, ev.ts_ms, ev.available_until_ms)
    state.waiting.replace(row, w)
    state.sync_push_checked_in(row)
    _leave_station(state, row)
    state.worker_station[row] = sys.intern(ev.station_id)
    if ev.station_id:
        state.checked_in_at.setdefault(ev.station_id, {})[row] = None
    state.schedule(ev.available_until_ms, DUE_CHECKOUT, row)


def _leave_station(state: State, row: int) -> None:
    sid = state.worker_station[row]
    if sid:
        rows = state.checked_in_at[sid]
        del rows[row]
        if not rows:
            del state.checked_in_at[sid]
    state.worker_station[row] = ""


def _check_out(state: State, ev: e.WorkerCheckedOut) -> None:
    row = state.worker_rows[ev.worker_id]
    if state.workers.checked_in[row]:
        state.checked_in.remove(row)
        state.waiting.remove(row)
        state.workers.check_out(row)
        state.sync_push_checked_in(row)
    _leave_station(state, row)


def _job(state: State, ev: e.JobSubmitted) -> None:
    _, policy = state.policy_for(ev.region)
    # codes many jobs share are kept once (interned): a kept job costs its own text only
    codes = {
        k: sys.intern(getattr(ev, k)) for k in ("station_id", "employer_id", "region", "skill")
    }
    day = posting_day_pay_fen(ev, policy)
    state.jobs[ev.job_id] = carry(ev, Job, row=-1, day_pay_fen=day, submitted_ms=ev.ts_ms, **codes)
    state.jobs_by_employer.setdefault(ev.employer_id, []).append(ev.job_id)
    state.jobs_by_station.setdefault(ev.station_id, {})[ev.job_id] = None
    state.posting_opened(state.jobs[ev.job_id])


def _published(state: State, ev: e.JobPublished) -> None:
    job = state.jobs[ev.job_id]
    _, policy = state.policy_for(job.region)
    job.status = "open"
    job.arrears_hold = False
    state.held.pop(job.job_id, None)  # published again when an arrears case closed
    job.published_ms = ev.ts_ms
    job.expires_ms = min(job.end_ms, ev.ts_ms + policy.job_ttl_ms)
    if job.open_slots <= 0:
        raise InconsistentLog(f"job {job.job_id} published without open slots")
    job.row = state.job_arrays.add(
        lat=job.lat,
        lng=job.lng,
        skill_bit=state.skills.register(job.skill),
        day_pay_fen=job.day_pay_fen,
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        slots=job.open_slots,
        policy=state.policy_slot_for(job.region),
    )
    if job.row == len(state.job_ids):
        state.job_ids.append(job.job_id)
    else:  # a row freed by a job that left the core
        state.job_ids[job.row] = job.job_id
    state.open_jobs.add(job.row, job.lat, job.lng, tag=1 << state.skills.register(job.skill))
    state.keywords.add(job.row, job.title + " " + job.skill)
    state.schedule(job.expires_ms, DUE_JOB, job.job_id)


def _held(state: State, ev: e.JobHeldForReview) -> None:
    job = state.jobs[ev.job_id]
    if job.status == "open":  # a live posting held (arrears case): out of matching
        if job.live_offers:
            raise InconsistentLog(f"job {job.job_id} held with live offers")
        state.job_arrays.release(job.row)
        state.open_jobs.remove(job.row)
        state.keywords.remove(job.row)
        state.job_ids[job.row] = ""
        job.row = -1
    job.status = "held"
    job.arrears_hold = all(r in ARREARS_HOLD_REASONS for r in ev.reasons)
    job.held_ms = ev.ts_ms
    job.hold_reasons = tuple(ev.reasons)
    state.held[job.job_id] = None
    state.schedule(job.end_ms, DUE_JOB, job.job_id)  # a posting never reviewed expires


def _reviewed(state: State, ev: e.JobReviewed) -> None:
    job = state.jobs[ev.job_id]
    job.status = "reviewed"
    job.reviewed_by = ev.staff_id
    state.held.pop(job.job_id, None)


def _close_job(state: State, job: Job, status: str, ts_ms: int) -> None:
    was_open = job.status == "open"
    state.held.pop(job.job_id, None)
    job.status = status
    state.posting_closed(job)
    by_station = state.jobs_by_station.get(job.station_id)
    if by_station is not None and job.job_id in by_station:
        del by_station[job.job_id]
        if not by_station:
            del state.jobs_by_station[job.station_id]
    if was_open:
        state.job_arrays.close(job.row)
        state.open_jobs.remove(job.row)
        state.keywords.remove(job.row)
    state.schedule_leave(ts_ms, LEAVE_JOB, job.job_id)
    state.schedule_leave(ts_ms + CLOSED_OFFER_KEEP_MS, LEAVE_OFFERS, job.job_id)


def _rejected(state: State, ev: e.JobRejected) -> None:
    _close_job(state, state.jobs[ev.job_id], "rejected", ev.ts_ms)


def _cancelled(state: State, ev: e.JobCancelled) -> None:
    _close_job(state, state.jobs[ev.job_id], "cancelled", ev.ts_ms)


def _expired(state: State, ev: e.JobExpired) -> None:
    _close_job(state, state.jobs[ev.job_id], "expired", ev.ts_ms)


def _filled(state: State, ev: e.JobFilled) -> None:
    job = state.jobs[ev.job_id]
    _close_job(state, job, "filled", ev.ts_ms)
    job.filled_ms = ev.ts_ms


def _offer_made(state: State, ev: e.OfferMade) -> None:
    job = state.jobs[ev.job_id]
    row = state.worker_rows[ev.worker_id]
    state.offers[ev.offer_id] = Offer(
        offer_id=ev.offer_id, job_id=ev.job_id, worker_row=row, expires_ms=ev.expires_ms
    )
    job.live_offers.append(ev.offer_id)
    job.offered_rows.append(row)
    job.wave = max(job.wave, ev.wave)
    state.workers.offer_made(row, local_day_number(ev.ts_ms))
    state.waiting.refresh(row, state.workers)
    state.live_by_worker.setdefault(row, []).append(ev.offer_id)
    state.offers_by_job.setdefault(ev.job_id, []).append(ev.offer_id)
    state.schedule(ev.expires_ms, DUE_OFFER, ev.offer_id)


def _end_offer(state: State, offer_id: str, status: str) -> Offer:
    offer = state.offers[offer_id]
    if offer.status != "live":
        raise InconsistentLog(f"offer {offer_id} is {offer.status}, cannot become {status}")
    offer.status = status
    state.jobs[offer.job_id].live_offers.remove(offer_id)
    if state.workers.active[offer.worker_row]:  # an erased worker's counters are zeroed
        state.workers.offer_closed(offer.worker_row)
        state.waiting.refresh(offer.worker_row, state.workers)
    live = state.live_by_worker[offer.worker_row]
    live.remove(offer_id)
    if not live:
        del state.live_by_worker[offer.worker_row]
    return offer


def _accepted(state: State, ev: e.OfferAccepted) -> None:
    _end_offer(state, ev.offer_id, "accepted")


def _declined(state: State, ev: e.OfferDeclined) -> None:
    _end_offer(state, ev.offer_id, "declined")


def _offer_expired(state: State, ev: e.OfferExpired) -> None:
    _end_offer(state, ev.offer_id, "expired")


def _withdrawn(state: State, ev: e.OfferWithdrawn) -> None:
    _end_offer(state, ev.offer_id, "withdrawn")


def _hired(state: State, ev: e.HireConfirmed) -> None:
    job = state.jobs[ev.job_id]
    row = state.worker_rows[ev.worker_id]
    if job.hired >= job.headcount:
        raise InconsistentLog(f"job {ev.job_id} has no open slot for {ev.hire_id}")
    state.workers.prune_busy(row, ev.ts_ms)
    if not state.workers.add_busy(row, ev.start_ms, ev.end_ms):
        raise InconsistentLog(f"worker {ev.worker_id} cannot take hire {ev.hire_id}")
    state.waiting.refresh(row, state.workers)
    job.hired += 1
    if job.first_hire_ms == 0:
        job.first_hire_ms = ev.ts_ms
    state.job_arrays.fill_slot(job.row)
    state.hires[ev.hire_id] = Hire(
        hire_id=ev.hire_id,
        job_id=ev.job_id,
        worker_row=row,
        employer_id=job.employer_id,
        start_ms=ev.start_ms,
        end_ms=ev.end_ms,
        pay_fen=ev.pay_fen,
        confirmed_ms=ev.ts_ms,
    )
    state.hires_by_worker.setdefault(row, []).append(ev.hire_id)
    state.hires_by_job[ev.job_id] = state.hires_by_job.get(ev.job_id, 0) + 1
    window_ms = state.policy_for(job.region)[1].settlement_window_ms
    state.schedule_leave(ev.end_ms + window_ms, LEAVE_HIRE, ev.hire_id)


def _arrived(state: State, ev: e.WorkerArrived) -> None:
    hire = state.hires[ev.hire_id]
    hire.status = "arrived"
    _rearm_wage_due(state, hire, ev.ts_ms)


def _rearm_wage_due(state: State, hire: Hire, ts_ms: int) -> None:
    """Arrival or completion recorded after the wage fell due: the check the tick skipped
    (no arrival then) is due again, as the same entry (a replay that kept it in the heap
    pops the same decisions in the same order; see `engine.state`, Time)."""
    if 0 < hire.wage_due_ms <= ts_ms:
        state.schedule(hire.wage_due_ms, DUE_WAGE, hire.hire_id)


def _no_show(state: State, ev: e.NoShow) -> None:
    hire = state.hires[ev.hire_id]
    hire.status = "no_show"
    state.workers.remove_busy(hire.worker_row, hire.start_ms, hire.end_ms)
    state.workers.record_no_show(hire.worker_row)
    state.waiting.refresh(hire.worker_row, state.workers)


def _completed(state: State, ev: e.WorkCompleted) -> None:
    hire = state.hires[ev.hire_id]
    hire.status = "completed"
    _rearm_wage_due(state, hire, ev.ts_ms)
    state.workers.record_completion(hire.worker_row)
    state.waiting.refresh(hire.worker_row, state.workers)


def _paid(state: State, ev: e.WagePaid) -> None:
    hire = state.hires[ev.hire_id]
    hire.paid_fen += ev.amount_fen
    if hire.arrears_case:
        state.arrears[hire.arrears_case].paid_fen = hire.paid_fen


def _agreement(state: State, ev: e.AgreementRecorded) -> None:
    terms = ev.terms
    hire = state.hires[terms.hire_id]
    hire.agreed_fen = terms.agreed_total_fen
    hire.agreement_sha256 = ev.sha256
    hire.wage_due_ms = terms.end_ms + state.policy_for(terms.region)[1].wage_due_ms
    state.schedule(hire.wage_due_ms, DUE_WAGE, terms.hire_id)


def _arrears_opened(state: State, ev: e.ArrearsOpened) -> None:
    hire = state.hires[ev.hire_id]
    if hire.arrears_case:
        raise InconsistentLog(f"hire {ev.hire_id} has an open arrears case already")
    state.arrears[ev.case_id] = ArrearsCase(
        case_id=ev.case_id,
        hire_id=ev.hire_id,
        job_id=ev.job_id,
        employer_id=ev.employer_id,
        station_id=ev.station_id,
        reason=ev.reason,
        agreed_fen=ev.agreed_fen,
        paid_fen=ev.paid_fen,
        opened_ms=ev.ts_ms,
    )
    hire.arrears_case = ev.case_id
    state.arrears_open.setdefault(ev.employer_id, []).append(ev.case_id)


def _arrears_closed(state: State, ev: e.ArrearsClosed) -> None:
    case = state.arrears[ev.case_id]
    case.status = "closed"
    case.closed_ms = ev.ts_ms
    case.paid_fen = ev.paid_fen
    state.hires[ev.hire_id].arrears_case = ""
    _drop(state.arrears_open, ev.employer_id, ev.case_id)


def _push(state: State, ev: e.PushSent) -> None:
    state.workers.record_push(state.worker_rows[ev.worker_id], local_day_number(ev.ts_ms))


def _bell_rung(state: State, ev: e.BellRung) -> None:
    state.bells[ev.scope] = ev.ts_ms + ev.window_ms
    state.schedule(ev.ts_ms + ev.window_ms, DUE_BELL, ev.scope)


def _tick(state: State, ev: e.Tick) -> None:
    """Let what can no longer change a decision leave the core (see `engine.state`)."""
    heap = state.leaving
    n = 0
    while heap and heap[0][0] <= ev.ts_ms and n < MAX_LEAVING_PER_TICK:
        _, kind, key = heapq.heappop(heap)
        n += 1
        if kind == LEAVE_COMPLAINT:
            comp = state.complaints.get(key)
            if comp is None or comp.live:
                continue
            del state.complaints[key]
            _drop(state.complaints_by_employer, comp.employer_id, key)
        elif kind == LEAVE_HIRE:
            hire = state.hires.get(key)
            if hire is None:
                continue
            if hire.arrears_case:  # stays until paid (still within MAX_LIVE_HIRES)
                policy = state.policy_for(state.jobs[hire.job_id].region)[1]
                heapq.heappush(heap, (ev.ts_ms + policy.settlement_window_ms, kind, key))
                continue
            del state.hires[key]
            state.arrears.pop(arrears_case_id(key), None)
            _drop(state.hires_by_worker, hire.worker_row, key)
            if left := state.hires_by_job.pop(hire.job_id) - 1:
                state.hires_by_job[hire.job_id] = left
            _job_leaves(state, hire.job_id)
        elif kind == LEAVE_OFFERS:
            _offers_leave(state, key)
        elif kind == LEAVE_TRAINING:
            training.leave(state, key, ev.ts_ms)
        else:
            _job_leaves(state, key)


def _drop(index: dict, owner, key: str) -> None:  # noqa: ANN001
    keys = index[owner]
    keys.remove(key)
    if not keys:
        del index[owner]


def _offers_leave(state: State, job_id: str) -> None:
    """A closed job kept for its hires lets its offers go (none live) and forgets the
    rows it offered (only matching an open job reads them)."""
    job = state.jobs.get(job_id)
    if job is None or job.status not in CLOSED_JOB or job.live_offers:
        return
    for offer_id in state.offers_by_job.pop(job_id, ()):
        del state.offers[offer_id]
    # a closed job never offers again: its lists become the one shared empty tuple
    job.offered_rows = job.live_offers = NOTHING  # type: ignore[assignment]


def _job_leaves(state: State, job_id: str) -> None:
    """A closed job with no live offer and no hire left leaves, with its offers."""
    job = state.jobs.get(job_id)
    if job is None or job.status not in CLOSED_JOB or job.live_offers:
        return
    if job_id in state.hires_by_job:
        return
    for offer_id in state.offers_by_job.pop(job_id, ()):
        del state.offers[offer_id]
    del state.jobs[job_id]
    _drop(state.jobs_by_employer, job.employer_id, job_id)
    if job.row >= 0:
        state.job_ids[job.row] = ""
        state.job_arrays.release(job.row)


def _bell_closed(state: State, ev: e.BellClosed) -> None:
    del state.bells[ev.scope]


def _noop(state: State, ev: e.Event) -> None:
    return None


_APPLIERS: dict[type, Callable[[State, e.Event], None]] = {
    e.PolicySet: _policy,
    e.StationRegistered: _station,
    e.StationStatusChanged: _station_status,
    e.EmployerRegistered: _employer,
    e.EmployerFlagged: _flag,
    e.EmployerCleared: _clear,
    e.WorkerRegistered: _worker,
    e.WorkerUpdated: _worker_update,
    e.WorkerErased: _erase,
    e.WorkerCheckedIn: _check_in,
    e.WorkerCheckedOut: _check_out,
    e.JobSubmitted: _job,
    e.JobPublished: _published,
    e.JobHeldForReview: _held,
    e.JobReviewed: _reviewed,
    e.JobRejected: _rejected,
    e.JobCancelled: _cancelled,
    e.JobExpired: _expired,
    e.JobFilled: _filled,
    e.Tick: _tick,
    e.OfferMade: _offer_made,
    e.OfferAccepted: _accepted,
    e.OfferDeclined: _declined,
    e.OfferExpired: _offer_expired,
    e.OfferWithdrawn: _withdrawn,
    e.HireConfirmed: _hired,
    e.PushSent: _push,
    e.BellRung: _bell_rung,
    e.BellClosed: _bell_closed,
    e.WorkerArrived: _arrived,
    e.NoShow: _no_show,
    e.WorkCompleted: _completed,
    e.WagePaid: _paid,
    **fold_cases.FOLDS,
    e.RatingGiven: _noop,
    **training.FOLDS,
    e.AgreementRecorded: _agreement,
    e.ArrearsOpened: _arrears_opened,
    e.ArrearsClosed: _arrears_closed,
    e.StationChecked: _noop,
}


def appliers() -> dict[type, Callable[[State, e.Event], None]]:
    """The applier of each event type, for a bulk fold that dispatches by itself (replay's
    rebuild); it must also do what `apply` does around the call (counts, last time)."""
    return dict(_APPLIERS)


def apply(state: State, event: e.Event) -> None:
    """Fold one event into `state`."""
    cls = type(event)
    try:
        _APPLIERS[cls](state, event)
    except (KeyError, ValueError, IndexError) as exc:
        raise InconsistentLog(f"{cls.__name__} does not fit the state: {exc!r}") from exc
    if event.ts_ms > state.last_ts_ms:
        state.last_ts_ms = event.ts_ms
    state.events_applied += 1
    counts = state.counts
    name = _NAMES[cls]
    counts[name] = counts.get(name, 0) + 1


_NAMES = {cls: cls.__name__ for cls in _APPLIERS}
