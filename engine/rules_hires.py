"""Deciding offers, hires, complaints and ratings.

Owns: the deciders of `AcceptOffer`, `DeclineOffer`, `ConfirmArrival`, `ReportNoShow`,
`CompleteWork`, `PayWage`, `FileComplaint`, `ResolveComplaint` and `Rate`.

Invariants:
- Deciders never mutate the state; a refusal raises before any event exists.
- Only the addressee of a live offer answers it; a worker never holds overlapping hires.
- A complaint names its hire; the complainant is the hire's worker. Its text may hold
  contact details: the event keeps it with phone and ID numbers masked, the full text
  leaves in `Decided.personal` to be sealed under the worker's key, so that erasing the
  worker makes it unreadable.
- Work is completed only after the hire's start; a payment that leaves the paid total
  below the agreement's (`engine.agreement`) is recorded as `partial`.
- Bounds are already checked (`engine.commands.check`).

Limits: see `engine.bounds`.
"""

from __future__ import annotations

from engine import commands as c
from engine import events as e
from engine.agreement import owed_fen
from engine.commands import Refusal
from engine.idnumbers import mask_pii_in_text
from engine.rules_common import Decided, hire, worker_row
from engine.rules_complaints import check_room
from engine.state import MAX_LIVE_HIRES, Offer, State


def _offer(state: State, offer_id: str, worker_id: str) -> tuple[Offer, int]:
    offer = state.offers.get(offer_id)
    if offer is None:
        raise Refusal("offer_id", "exists", f"no offer {c.clip(offer_id)!r}")
    row = worker_row(state, worker_id)
    if offer.worker_row != row:
        raise Refusal("worker_id", "offer_addressee", "the offer was made to another worker")
    if offer.status != "live":
        raise Refusal("offer_id", "offer_live", f"offer is {offer.status}")
    return offer, row


def accept(state: State, cmd: c.AcceptOffer, ts: int) -> Decided:
    offer, row = _offer(state, cmd.offer_id, cmd.worker_id)
    if ts >= offer.expires_ms:
        raise Refusal("offer_id", "offer_live", "offer has expired")
    job = state.jobs[offer.job_id]
    if job.status != "open" or job.open_slots <= 0:
        raise Refusal("offer_id", "job_open", f"job is {job.status}")
    if state.workers.overlaps_busy(row, job.start_ms, job.end_ms):
        raise Refusal("offer_id", "no_double_hire", "worker is hired for an overlapping time")
    if len(state.hires) >= MAX_LIVE_HIRES:
        raise Refusal("offer_id", "max_live_hires", f"{MAX_LIVE_HIRES} live hires: try later")
    ends = state.workers.busy_end[row]
    if not any(end == 0 or end <= ts for end in ends):
        raise Refusal("worker_id", "hire_limit", "worker holds the maximum number of hires")
    return Decided(facts=[e.OfferAccepted(ts_ms=ts, offer_id=cmd.offer_id)])


def decline(state: State, cmd: c.DeclineOffer, ts: int) -> Decided:
    _offer(state, cmd.offer_id, cmd.worker_id)
    return Decided(facts=[e.OfferDeclined(ts_ms=ts, offer_id=cmd.offer_id, reason=cmd.reason)])


def arrive(state: State, cmd: c.ConfirmArrival, ts: int) -> Decided:
    hire(state, cmd.hire_id, ("confirmed",))
    return Decided(facts=[e.WorkerArrived(ts_ms=ts, hire_id=cmd.hire_id)])


def no_show(state: State, cmd: c.ReportNoShow, ts: int) -> Decided:
    found = hire(state, cmd.hire_id, ("confirmed",))
    if ts < found.start_ms:
        raise Refusal("hire_id", "after_start", "a no-show is reported after the start time")
    return Decided(facts=[e.NoShow(ts_ms=ts, hire_id=cmd.hire_id)])


def complete(state: State, cmd: c.CompleteWork, ts: int) -> Decided:
    found = hire(state, cmd.hire_id, ("confirmed", "arrived"))
    if ts < found.start_ms:
        raise Refusal("hire_id", "after_start", "work is completed only after its start time")
    return Decided(facts=[e.WorkCompleted(ts_ms=ts, hire_id=cmd.hire_id)])


def pay(state: State, cmd: c.PayWage, ts: int) -> Decided:
    found = hire(state, cmd.hire_id, ("arrived", "completed"))
    # below the agreed total: recorded as partial (the reaction opens an arrears case)
    partial = found.agreed_fen >= 0 and found.paid_fen + cmd.amount_fen < owed_fen(found.agreed_fen)
    ev = e.WagePaid(
        ts_ms=ts,
        hire_id=cmd.hire_id,
        amount_fen=cmd.amount_fen,
        method=cmd.method,
        partial=partial,
    )
    return Decided(facts=[ev])


def complain(state: State, cmd: c.FileComplaint, ts: int) -> Decided:
    if cmd.complaint_id in state.complaints:
        raise Refusal("complaint_id", "unique", "complaint already filed")
    found = state.hires.get(cmd.hire_id)
    if found is None:
        raise Refusal("hire_id", "exists", f"no hire {c.clip(cmd.hire_id)!r}")
    if cmd.employer_id not in state.employers:
        raise Refusal("employer_id", "exists", f"no employer {c.clip(cmd.employer_id)!r}")
    if found.employer_id != cmd.employer_id:
        raise Refusal("employer_id", "same_employer", "the hire belongs to another employer")
    worker_id = state.worker_ids[found.worker_row]
    if cmd.worker_id and cmd.worker_id != worker_id:
        raise Refusal("worker_id", "hire_worker", "the hire is another worker's")
    worker_row(state, worker_id)  # an erased worker files nothing (their key is gone)
    check_room(state)
    ev = e.ComplaintFiled(
        ts_ms=ts,
        complaint_id=cmd.complaint_id,
        kind=cmd.kind,
        employer_id=cmd.employer_id,
        worker_id=worker_id,
        hire_id=cmd.hire_id,
        text=mask_pii_in_text(cmd.text),
    )
    personal = {worker_id: {"complaint_text": cmd.text}} if cmd.text else {}
    return Decided(facts=[ev], personal=personal)


def resolve(state: State, cmd: c.ResolveComplaint, ts: int) -> Decided:
    comp = state.complaints.get(cmd.complaint_id)
    if comp is None:
        raise Refusal("complaint_id", "exists", f"no complaint {c.clip(cmd.complaint_id)!r}")
    if not comp.live:
        raise Refusal("complaint_id", "open", f"complaint is {comp.status}")
    ev = e.ComplaintResolved(
        ts_ms=ts, complaint_id=cmd.complaint_id, upheld=cmd.upheld, note=cmd.note
    )
    return Decided(facts=[ev])


def rate(state: State, cmd: c.Rate, ts: int) -> Decided:
    hire(state, cmd.hire_id, ("completed",))
    ev = e.RatingGiven(ts_ms=ts, hire_id=cmd.hire_id, by=cmd.by, stars=cmd.stars)
    return Decided(facts=[ev])
