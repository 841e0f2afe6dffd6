"""Reacting to facts: the decisions the engine derives after a fact is applied.

Owns: review verdicts (publish / hold / reject; the screen for discriminatory
requirements of `engine.screen` holds a posting, its findings first among the reasons), offer waves and top-ups, the worker-side
offer on check-in, hires on accept, withdrawals, expiries on `Tick`, 1.5 km pushes, the
opening bell, employer flags from complaints, and the consequences of a revoked station.

Invariants:
- `react(state, fact)` runs after `apply(state, fact)`; every decision it emits is
  applied at once (so the next decision sees it) and returned in order. Replay runs the
  same function on the same facts and must get the same list.
- Decisions only come from state and the fact: no clock, no randomness, deterministic
  iteration (insertion-ordered dicts, heaps keyed by (time, id)).
- A job never gets more hires than slots; a worker never holds overlapping hires.

Bell offers carry wave `BELL_WAVE` (0) and do not count against `max_waves`: after a
bell, declines and expiries still top the job up with ordinary waves.

Limits: `policy.max_waves` waves per job, `policy.max_pushes_per_job` pushes per job,
`policy.max_open_offers_per_worker` live offers per worker, `MAX_TICK_WORK` expiries
handled per tick (the rest on the next tick).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from engine import events as e
from engine import matcher
from engine.carry import carry
from engine.fold import apply
from engine.geo import haversine_m
from engine.policy import review, wave_size
from engine.screen import finding_code, screen_texts
from engine.state import (
    DUE_BELL,
    DUE_CHECKOUT,
    DUE_JOB,
    DUE_OFFER,
    MAX_LIVE_OFFERS,
    Job,
    State,
)

MAX_TICK_WORK = 100_000
DUPLICATE_RADIUS_M = 500.0
BELL_WAVE = 0  # the wave number of opening-bell offers: they use none of the job's waves

Emit = Callable[[e.Event], None]


def react(state: State, fact: e.Event) -> list[e.Event]:
    """Decisions following `fact` (already applied), each applied as it is made."""
    out: list[e.Event] = []

    def emit(ev: e.Event) -> None:
        apply(state, ev)
        out.append(ev)

    handler = _REACTORS.get(type(fact))
    if handler is not None:
        handler(state, fact, emit)
    return out


# ------------------------------------------------------------------ postings --------


def _duplicate_of(state: State, job: Job) -> str:
    for other_id in state.live_postings_like(job):
        other = state.jobs[other_id]
        if other is job or other.status not in ("open", "held"):
            continue
        if (
            other.start_ms < job.end_ms
            and job.start_ms < other.end_ms
            and haversine_m(other.lat, other.lng, job.lat, job.lng) <= DUPLICATE_RADIUS_M
        ):
            return other_id
    return ""


def _submitted(state: State, ev: e.JobSubmitted, emit: Emit) -> None:
    job = state.jobs[ev.job_id]
    _, policy = state.policy_for(job.region)
    verdict, reasons = review(
        job,
        policy=policy,
        employer_flags=state.employers[job.employer_id].flags,
        duplicate_of=_duplicate_of(state, job),
    )
    if verdict != "reject":  # 就业促进法: a discriminatory requirement is held for review
        found = screen_texts((ev.title, ev.description, ev.address))
        if found:
            verdict = "hold"
            reasons = tuple(finding_code(rule, phrase) for rule, phrase in found) + reasons
    if verdict == "reject":
        emit(e.JobRejected(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reasons=reasons))
    elif verdict == "hold":
        emit(
            e.JobHeldForReview(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reasons=reasons)
        )
    else:
        _publish(state, job, ev, "", emit)


def _publish(state: State, job: Job, ev: e.Event, reviewer: str, emit: Emit) -> None:
    emit(e.JobPublished(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reviewed_by=reviewer))
    if not state.in_bell(job.station_id):  # inside a bell window the bell assigns it
        _wave(state, job, ev, emit)
    _pushes(state, job, ev, emit)


def _reviewed(state: State, ev: e.JobReviewed, emit: Emit) -> None:
    job = state.jobs[ev.job_id]
    if ev.approve and job.end_ms > ev.ts_ms:
        _publish(state, job, ev, ev.staff_id, emit)
    else:
        reason = "review:" + (ev.note or "rejected") if ev.approve is False else "review:job_over"
        emit(
            e.JobRejected(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                job_id=job.job_id,
                reasons=(reason,),
                reviewed_by=ev.staff_id,
            )
        )


def _withdraw_job_offers(state: State, job: Job, ev: e.Event, reason: str, emit: Emit) -> None:
    for offer_id in list(job.live_offers):
        emit(e.OfferWithdrawn(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, offer_id=offer_id, reason=reason))


def _cancelled(state: State, ev: e.JobCancelled, emit: Emit) -> None:
    _withdraw_job_offers(state, state.jobs[ev.job_id], ev, "job_closed", emit)


# ------------------------------------------------------------------ offers ----------


def _offer_made(job: Job, wave: int, worker_id: str) -> str:
    return f"{job.job_id}/{wave}/{worker_id}"


def _wave(state: State, job: Job, ev: e.Event, emit: Emit) -> None:
    """Top the job's live offers up to its wave size with the best new candidates."""
    if job.status != "open" or ev.ts_ms >= job.expires_ms:
        return
    _, policy = state.policy_for(job.region)
    need = wave_size(job.open_slots, policy.overbook) - len(job.live_offers)
    if need <= 0 or job.wave >= policy.max_waves:
        return
    need = min(need, MAX_LIVE_OFFERS - len(state.offers))  # the live table's limit
    if need <= 0:
        return
    ranked = matcher.rank_for_job(state, job, ev.ts_ms, need)
    if not ranked:
        return
    wave = job.wave + 1
    for rank, cand in enumerate(ranked, start=1):
        worker_id = state.worker_ids[cand.row]
        emit(
            e.OfferMade(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                offer_id=_offer_made(job, wave, worker_id),
                job_id=job.job_id,
                worker_id=worker_id,
                score=cand.score,
                rank=rank,
                wave=wave,
                expires_ms=ev.ts_ms + policy.offer_ttl_ms,
                distance_m=cand.distance_m,
                travel_s=cand.travel_s,
                source="wave",
                features=cand.features,
            )
        )


def _checked_in(state: State, ev: e.WorkerCheckedIn, emit: Emit) -> None:
    if state.in_bell(ev.station_id) or len(state.offers) >= MAX_LIVE_OFFERS:
        return  # waits for the bell's batch assignment (or the live offers are full)
    row = state.worker_rows[ev.worker_id]
    for job_row, cand in matcher.best_jobs_for_worker(state, row, ev.ts_ms):
        job = state.jobs[state.job_ids[job_row]]
        _, policy = state.policy_for(job.region)
        if len(job.live_offers) >= wave_size(job.open_slots, policy.overbook):
            continue
        if state.bells and state.in_bell(job.station_id):
            continue  # a posting inside a bell window waits for the bell's assignment
        wave = max(job.wave, 1)
        emit(
            e.OfferMade(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                offer_id=_offer_made(job, wave, ev.worker_id),
                job_id=job.job_id,
                worker_id=ev.worker_id,
                score=cand.score,
                rank=len(job.live_offers) + 1,
                wave=wave,
                expires_ms=ev.ts_ms + policy.offer_ttl_ms,
                distance_m=cand.distance_m,
                travel_s=cand.travel_s,
                source="checkin",
            )
        )
        return


def _withdraw_worker_offers(
    state: State, row: int, ev: e.Event, reason: str, emit: Emit, overlap: tuple[int, int] | None
) -> None:
    for offer_id in list(state.live_offers_of(row)):
        offer = state.offers[offer_id]
        job = state.jobs[offer.job_id]
        if overlap is not None and not (job.start_ms < overlap[1] and overlap[0] < job.end_ms):
            continue
        emit(e.OfferWithdrawn(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, offer_id=offer_id, reason=reason))
        _wave(state, job, ev, emit)


def _checked_out(state: State, ev: e.WorkerCheckedOut, emit: Emit) -> None:
    _withdraw_worker_offers(state, state.worker_rows[ev.worker_id], ev, "worker_left", emit, None)


def _erased(state: State, ev: e.WorkerErased, emit: Emit) -> None:
    _withdraw_worker_offers(state, state.worker_rows[ev.worker_id], ev, "worker_left", emit, None)


def _accepted(state: State, ev: e.OfferAccepted, emit: Emit) -> None:
    offer = state.offers[ev.offer_id]
    job = state.jobs[offer.job_id]
    worker_id = state.worker_ids[offer.worker_row]
    emit(
        carry(  # the job's terms (times, pay) travel with the hire
            job,
            e.HireConfirmed,
            ts_ms=ev.ts_ms,
            cmd_id=ev.cmd_id,
            hire_id=f"{job.job_id}/{worker_id}",
            worker_id=worker_id,
            offer_id=offer.offer_id,
        )
    )
    window = (job.start_ms, job.end_ms)
    _withdraw_worker_offers(state, offer.worker_row, ev, "worker_hired", emit, window)
    if job.open_slots <= 0:
        emit(e.JobFilled(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id))
        _withdraw_job_offers(state, job, ev, "job_filled", emit)


def _declined(state: State, ev: e.OfferDeclined, emit: Emit) -> None:
    _wave(state, state.jobs[state.offers[ev.offer_id].job_id], ev, emit)


def _no_show(state: State, ev: e.NoShow, emit: Emit) -> None:
    del state, ev, emit  # the slot is not refilled: the employer reposts if needed


# ------------------------------------------------------------------ time ------------


def _tick(state: State, ev: e.Tick, emit: Emit) -> None:
    """Everything due by now, in (due ms, kind, key) order from the one expiry heap;
    then new waves for jobs whose offers expired."""
    now = ev.ts_ms
    work = 0
    touched: dict[str, None] = {}
    heap = state.due
    while heap and heap[0][0] <= now and work < MAX_TICK_WORK:
        due, kind, key = heapq.heappop(heap)
        if kind == DUE_OFFER:
            offer = state.offers.get(key)  # type: ignore[arg-type]
            if offer is None or offer.status != "live":
                continue
            work += 1
            emit(e.OfferExpired(ts_ms=now, cmd_id=ev.cmd_id, offer_id=offer.offer_id))
            touched[offer.job_id] = None
        elif kind == DUE_JOB:
            job = state.jobs.get(key)  # type: ignore[arg-type]
            if job is None or job.status not in ("open", "held"):
                continue
            if job.status == "held" and job.end_ms > now:
                continue
            work += 1
            _withdraw_job_offers(state, job, ev, "job_closed", emit)
            emit(e.JobExpired(ts_ms=now, cmd_id=ev.cmd_id, job_id=job.job_id))
        elif kind == DUE_CHECKOUT:
            row = int(key)
            w = state.workers
            if not w.checked_in[row] or int(w.available_until_ms[row]) != due:
                continue
            work += 1
            emit(
                e.WorkerCheckedOut(
                    ts_ms=now, cmd_id=ev.cmd_id, worker_id=state.worker_ids[row], reason="expired"
                )
            )
            _withdraw_worker_offers(state, row, ev, "worker_left", emit, None)
        elif kind == DUE_BELL:
            scope = str(key)
            if state.bells.get(scope) != due:
                continue
            work += 1
            _close_bell(state, scope, ev, emit)
    for job_id in touched:
        job = state.jobs.get(job_id)
        if job is not None:
            _wave(state, job, ev, emit)


# ------------------------------------------------------------------ pushes ----------


def _pushes(state: State, job: Job, ev: e.Event, emit: Emit) -> None:
    for row, distance_m in matcher.push_rows(state, job, ev.ts_ms):
        emit(
            e.PushSent(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                job_id=job.job_id,
                worker_id=state.worker_ids[row],
                distance_m=distance_m,
            )
        )


# ------------------------------------------------------------------ opening bell ----


def _bell(state: State, ev: e.BellRung, emit: Emit) -> None:
    if ev.window_ms == 0:
        _close_bell(state, ev.scope, ev, emit)


def _close_bell(state: State, scope: str, ev: e.Event, emit: Emit) -> None:
    """Assign the scope's waiting workers to its open slots at once, then resume waves."""
    emit(e.BellClosed(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, scope=scope))
    for row, job_row, cand in matcher.bell_pairs(state, scope, ev.ts_ms):
        if len(state.offers) >= MAX_LIVE_OFFERS:
            break
        job = state.jobs[state.job_ids[job_row]]
        _, policy = state.policy_for(job.region)
        wave = BELL_WAVE  # bell offers are not one of the job's waves (max_waves)
        worker_id = state.worker_ids[row]
        emit(
            e.OfferMade(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                offer_id=_offer_made(job, wave, worker_id),
                job_id=job.job_id,
                worker_id=worker_id,
                score=cand.score,
                rank=len(job.live_offers) + 1,
                wave=wave,
                expires_ms=ev.ts_ms + policy.offer_ttl_ms,
                distance_m=cand.distance_m,
                travel_s=cand.travel_s,
                source="bell",
                features=cand.features,
            )
        )
    for job_id in matcher.scope_job_ids(state, scope):
        job = state.jobs[job_id]
        if job.status == "open":
            _wave(state, job, ev, emit)


# ------------------------------------------------------------------ registry --------


def _station_status(state: State, ev: e.StationStatusChanged, emit: Emit) -> None:
    if ev.status not in ("suspended", "revoked"):
        return
    reason = f"station_{ev.status}"
    for row in sorted(state.checked_in_at.get(ev.station_id, ())):
        if state.workers.checked_in[row]:
            wid = state.worker_ids[row]
            emit(e.WorkerCheckedOut(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, worker_id=wid, reason=reason))
            _withdraw_worker_offers(state, row, ev, "worker_left", emit, None)
    for job_id in list(state.jobs_by_station.get(ev.station_id, ())):
        job = state.jobs[job_id]
        if job.status in ("open", "held"):
            _withdraw_job_offers(state, job, ev, "job_closed", emit)
            emit(e.JobCancelled(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reason=reason))


def _complaint(state: State, ev: e.ComplaintFiled, emit: Emit) -> None:
    if (
        ev.kind in ("wage_arrears", "fraud")
        and ev.kind not in state.employers[ev.employer_id].flags
    ):
        emit(
            e.EmployerFlagged(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                employer_id=ev.employer_id,
                reason=ev.kind,
                complaint_id=ev.complaint_id,
            )
        )


def _resolved(state: State, ev: e.ComplaintResolved, emit: Emit) -> None:
    comp = state.complaints[ev.complaint_id]
    if ev.upheld or comp.kind not in ("wage_arrears", "fraud"):
        return
    still_open = any(
        c.status in ("open", "upheld") and c.kind == comp.kind
        for c in (state.complaints[cid] for cid in state.complaints_by_employer[comp.employer_id])
    )
    if not still_open and comp.kind in state.employers[comp.employer_id].flags:
        emit(
            e.EmployerCleared(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                employer_id=comp.employer_id,
                reason=comp.kind,  # type: ignore[arg-type]
                complaint_id=comp.complaint_id,
            )
        )


_REACTORS: dict[type, Callable[[State, e.Event, Emit], None]] = {
    e.JobSubmitted: _submitted,
    e.JobReviewed: _reviewed,
    e.JobCancelled: _cancelled,
    e.WorkerCheckedIn: _checked_in,
    e.WorkerCheckedOut: _checked_out,
    e.WorkerErased: _erased,
    e.OfferAccepted: _accepted,
    e.OfferDeclined: _declined,
    e.NoShow: _no_show,
    e.Tick: _tick,
    e.BellRung: _bell,
    e.StationStatusChanged: _station_status,
    e.ComplaintFiled: _complaint,
    e.ComplaintResolved: _resolved,
}
