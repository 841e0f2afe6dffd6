"""Reacting to facts: the decisions the engine derives after a fact is applied.

Owns: review verdicts (publish / hold / reject; the screen for discriminatory
requirements of `engine.screen` holds a posting, its findings first among the reasons), offer waves and top-ups, the worker-side
offer on check-in, hires on accept, withdrawals, expiries on `Tick`, 1.5 km pushes, the
opening bell, employer flags from complaints, complaint cases past their deadline
(`ComplaintOverdue`), the check of a station's application, and the consequences of a
revoked station (its stations below and their postings, as the policy says) or of a
missed rectification deadline (the engine revokes).

Invariants:
- `react(state, fact)` runs after `apply(state, fact)`; every decision it emits is
  applied at once (so the next decision sees it) and returned in order. Replay runs the
  same function on the same facts and must get the same list.
- Decisions only come from state and the fact: no clock, no randomness, deterministic
  iteration (insertion-ordered dicts, heaps keyed by (time, id)).
- A job never gets more hires than slots; a worker never holds overlapping hires.

Wages (issue 14): an accept of a posting with terms records the agreement
(`AgreementRecorded`, hashed); a payment below it, or a worked hire unpaid
`wage_due_ms` after its end, opens an arrears case that flags the employer and holds
their live postings; paying in full closes it and, with no other open case, clears the
flag and publishes again what the arrears held.

Bell offers carry wave `BELL_WAVE` (0) and do not count against `max_waves`: after a
bell, declines and expiries still top the job up with ordinary waves.

Limits: `policy.max_waves` waves per job, `policy.max_pushes_per_job` pushes per job,
`policy.max_open_offers_per_worker` live offers per worker, `MAX_TICK_WORK` expiries
handled per tick and none started after `MAX_TICK_EVENTS` decisions (the rest on the
next tick).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from engine import events as e
from engine import matcher
from engine.agreement import owed_fen, terms_of, terms_sha256
from engine.carry import carry
from engine.fold import apply, arrears_case_id
from engine.geo import haversine_m
from engine.policy import review, wave_size
from engine.screen import finding_code, screen_texts
from engine.state import (
    DUE_BELL,
    DUE_CHECKOUT,
    DUE_COMPLAINT,
    DUE_JOB,
    DUE_OFFER,
    DUE_RECTIFY,
    DUE_WAGE,
    MAX_LIVE_OFFERS,
    Hire,
    Job,
    State,
)
from engine.station_life import station_conditions

MAX_TICK_WORK = 100_000
# decisions of one Tick before it takes no more due items: a decision encodes to at most
# ~350 bytes (an OfferMade with ids of the longest length), so a Tick's record stays well
# below the log's 16 MiB frame (a Tick refused for its size would be refused again and
# again: time would stop; found by `lingong sim`)
MAX_TICK_EVENTS = 20_000
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
    emit(
        e.JobPublished(
            ts_ms=ev.ts_ms,
            cmd_id=ev.cmd_id,
            job_id=job.job_id,
            reviewed_by=reviewer,
            again=job.published_ms > 0,
        )
    )
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
    if job.terms_v >= 1:  # the agreement (签订协议): its terms and their hash
        terms = terms_of(job, f"{job.job_id}/{worker_id}", worker_id)
        emit(
            e.AgreementRecorded(
                ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, terms=terms, sha256=terms_sha256(terms)
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


def _tick(state: State, ev: e.Tick, emit_one: Emit) -> None:
    """Everything due by now, in (due ms, kind, key) order from the one expiry heap;
    then new waves for jobs whose offers expired. At most `MAX_TICK_WORK` items, and no
    new item once `MAX_TICK_EVENTS` decisions are made: the record stays within the log's
    frame limit, and what is left is still due for the next tick."""
    now = ev.ts_ms
    work = 0
    emitted = 0

    def emit(decision: e.Event) -> None:
        nonlocal emitted
        emitted += 1
        emit_one(decision)

    touched: dict[str, None] = {}
    heap = state.due
    while heap and heap[0][0] <= now and work < MAX_TICK_WORK and emitted < MAX_TICK_EVENTS:
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
            if due != (job.expires_ms if job.status == "open" else job.end_ms):  # stale
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
        elif kind == DUE_COMPLAINT:
            comp = state.complaints.get(key)  # type: ignore[arg-type]
            if comp is None or not comp.live or comp.overdue or comp.due_ms != due:
                continue
            work += 1
            emit(
                e.ComplaintOverdue(
                    ts_ms=now,
                    cmd_id=ev.cmd_id,
                    complaint_id=comp.complaint_id,
                    due_ms=due,
                    worker_id=comp.worker_id,
                    station_id=comp.station_id,
                )
            )
        elif kind == DUE_WAGE:
            hire = state.hires.get(key)  # type: ignore[arg-type]
            if (
                hire is None
                or hire.arrears_case
                or hire.status not in ("arrived", "completed")
                or hire.paid_fen >= owed_fen(hire.agreed_fen)
                or (hire.wage_due_ms and due != hire.wage_due_ms)
            ):
                continue
            work += 1
            _open_arrears(state, hire, "unpaid", ev, emit)
        elif kind == DUE_RECTIFY:  # 限期整改 missed: the engine revokes
            sid = str(key)
            st = state.stations.get(sid)
            if st is None or st.status != "rectifying" or st.rectify_due_ms != due:
                continue
            work += 1
            emit(
                e.StationStatusChanged(
                    ts_ms=now,
                    cmd_id=ev.cmd_id,
                    station_id=sid,
                    status="revoked",
                    reason="逾期未完成整改",
                    step="deadline_missed",
                )
            )
            _revoked(state, sid, ev, emit)
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
    ttl_ms: dict[str, int] = {}  # offer TTL by job region (thousands of offers, few regions)
    for row, job_row, cand in matcher.bell_pairs(state, scope, ev.ts_ms):
        if len(state.offers) >= MAX_LIVE_OFFERS:
            break
        job = state.jobs[state.job_ids[job_row]]
        if job.region not in ttl_ms:
            ttl_ms[job.region] = state.policy_for(job.region)[1].offer_ttl_ms
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
                expires_ms=ev.ts_ms + ttl_ms[job.region],
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


def _station_applied(state: State, ev: e.StationRegistered, emit: Emit) -> None:
    if not ev.applicant:  # registered by an admin directly: no application to check
        return
    version, _ = state.policy_for(ev.region)
    failures = station_conditions(state, state.stations[ev.station_id])
    emit(
        e.StationChecked(
            ts_ms=ev.ts_ms,
            cmd_id=ev.cmd_id,
            station_id=ev.station_id,
            failures=failures,
            policy_version=version,
        )
    )


def _station_status(state: State, ev: e.StationStatusChanged, emit: Emit) -> None:
    if ev.status == "revoked":
        _revoked(state, ev.station_id, ev, emit)
    elif ev.status == "suspended":
        _take_down(state, ev.station_id, "suspended", "cancelled", ev, emit)


def _revoked(state: State, station_id: str, ev: e.Event, emit: Emit) -> None:
    """A revoked station and everything below it (分站, their 驿站), as the policy of the
    revoked station's region says: children revoked or suspended, one event each, and the
    open postings of every station taken down held or cancelled, one event each."""
    _, policy = state.policy_for(state.stations[station_id].region)
    _take_down(state, station_id, "revoked", policy.revoked_postings, ev, emit)
    outcome = policy.revoked_children
    queue = list(state.stations[station_id].children)
    while queue:  # breadth first, in registration order; each station once (a tree)
        child = state.stations[queue.pop(0)]
        queue.extend(child.children)
        if child.status in ("revoked", "returned", outcome):
            continue
        emit(
            e.StationStatusChanged(
                ts_ms=ev.ts_ms,
                cmd_id=ev.cmd_id,
                station_id=child.station_id,
                status=outcome,
                reason=f"上级站点{station_id}已撤销",
                step="parent_revoked",
            )
        )
        _take_down(state, child.station_id, outcome, policy.revoked_postings, ev, emit)


def _take_down(
    state: State, station_id: str, status: str, postings: str, ev: e.Event, emit: Emit
) -> None:
    """Check out the workers waiting at the station; hold or cancel its postings."""
    reason = f"station_{status}"
    for row in sorted(state.checked_in_at.get(station_id, ())):
        if state.workers.checked_in[row]:
            wid = state.worker_ids[row]
            emit(e.WorkerCheckedOut(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, worker_id=wid, reason=reason))
            _withdraw_worker_offers(state, row, ev, "worker_left", emit, None)
    for job_id in list(state.jobs_by_station.get(station_id, ())):
        job = state.jobs[job_id]
        if postings == "held" and job.status == "open":
            _withdraw_job_offers(state, job, ev, "job_closed", emit)
            emit(
                e.JobHeldForReview(
                    ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reasons=(reason,)
                )
            )
        elif postings == "cancelled" and job.status in ("open", "held"):
            _withdraw_job_offers(state, job, ev, "job_closed", emit)
            emit(e.JobCancelled(ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job.job_id, reason=reason))


def _complaint(state: State, ev: e.ComplaintFiled, emit: Emit) -> None:
    """Flag the employer (wage arrears, fraud); a wage-arrears complaint about a worked
    hire that is not paid in full also opens that hire's arrears case, which holds the
    employer's live postings and tells the collecting station (closed by full payment)."""
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
    hire = state.hires.get(ev.hire_id) if ev.kind == "wage_arrears" and ev.hire_id else None
    if (
        hire is not None
        and not hire.arrears_case
        and hire.agreed_fen > 0  # postings of older logs recorded no agreement
        and hire.status in ("arrived", "completed")
        and hire.paid_fen < owed_fen(hire.agreed_fen)
    ):
        _open_arrears(state, hire, "complaint", ev, emit)


def _resolved(state: State, ev: e.ComplaintResolved | e.ComplaintStatusChanged, emit: Emit) -> None:
    """A complaint dismissed (or a case rejected) clears its flag when no other live or
    upheld complaint of that kind is left against the employer."""
    comp = state.complaints[ev.complaint_id]
    if comp.status not in ("dismissed", "rejected") or comp.kind not in ("wage_arrears", "fraud"):
        return
    still_open = any(
        (c.live or c.status in ("upheld", "resolved")) and c.kind == comp.kind
        for c in (state.complaints[cid] for cid in state.complaints_by_employer[comp.employer_id])
    )
    if comp.kind == "wage_arrears" and state.arrears_open.get(comp.employer_id):
        still_open = True  # an open arrears case keeps the flag
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


# ------------------------------------------------------------------ wages -----------


def _paid(state: State, ev: e.WagePaid, emit: Emit) -> None:
    hire = state.hires[ev.hire_id]
    if hire.agreed_fen < 0:
        return  # a hire of an old posting: no agreement to check against
    settled = hire.paid_fen >= owed_fen(hire.agreed_fen)
    if not settled and not hire.arrears_case:
        _open_arrears(state, hire, "partial", ev, emit)
    elif settled and hire.arrears_case:
        _close_arrears(state, hire, ev, emit)


def _open_arrears(state: State, hire: Hire, reason: str, ev: e.Event, emit: Emit) -> None:
    """Open the hire's case, flag the employer (new postings are held), hold the
    employer's live postings for review. The event tells the collecting station."""
    job = state.jobs[hire.job_id]
    emit(
        e.ArrearsOpened(
            ts_ms=ev.ts_ms,
            cmd_id=ev.cmd_id,
            case_id=arrears_case_id(hire.hire_id),
            hire_id=hire.hire_id,
            job_id=hire.job_id,
            employer_id=hire.employer_id,
            station_id=job.station_id,
            reason=reason,  # type: ignore[arg-type]
            agreed_fen=hire.agreed_fen,
            paid_fen=hire.paid_fen,
        )
    )
    emp = state.employers[hire.employer_id]
    if "wage_arrears" not in emp.flags:
        emit(
            e.EmployerFlagged(
                ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, employer_id=emp.employer_id, reason="wage_arrears"
            )
        )
    for job_id in list(state.live_jobs_of(hire.employer_id)):
        live = state.jobs[job_id]
        if live.status != "open":
            continue
        _withdraw_job_offers(state, live, ev, "job_held", emit)
        emit(
            e.JobHeldForReview(
                ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, job_id=job_id, reasons=("arrears_case",)
            )
        )


def _close_arrears(state: State, hire: Hire, ev: e.Event, emit: Emit) -> None:
    """Close the case; with no other open case (and no open wage-arrears complaint) the
    flag is cleared and the postings the arrears held are published again."""
    emit(
        e.ArrearsClosed(
            ts_ms=ev.ts_ms,
            cmd_id=ev.cmd_id,
            case_id=hire.arrears_case,
            hire_id=hire.hire_id,
            job_id=hire.job_id,
            employer_id=hire.employer_id,
            paid_fen=hire.paid_fen,
        )
    )
    employer_id = hire.employer_id
    if state.arrears_open.get(employer_id):
        return
    complaint_open = any(
        state.complaints[cid].kind == "wage_arrears"
        and state.complaints[cid].status in ("open", "upheld")
        for cid in state.complaints_by_employer.get(employer_id, ())
    )
    emp = state.employers[employer_id]
    if complaint_open or "wage_arrears" not in emp.flags:
        return
    emit(
        e.EmployerCleared(
            ts_ms=ev.ts_ms, cmd_id=ev.cmd_id, employer_id=employer_id, reason="wage_arrears"
        )
    )
    if emp.flags:
        return  # another flag (fraud) keeps the holds for staff
    for job_id in list(state.live_jobs_of(employer_id)):
        job = state.jobs[job_id]
        if job.status == "held" and job.arrears_hold and job.end_ms > ev.ts_ms:
            _publish(state, job, ev, "", emit)


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
    e.StationRegistered: _station_applied,
    e.ComplaintFiled: _complaint,
    e.ComplaintResolved: _resolved,
    e.ComplaintStatusChanged: _resolved,
    e.WagePaid: _paid,
}
