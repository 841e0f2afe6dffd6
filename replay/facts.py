"""Recorded facts back into the commands that produced them.

Owns: `command_for(fact, cmd_id)`, the inverse of `engine.rules.decide` for every fact
that carries no sealed personal data, and `readmit(state, fact, cmd_id)`, which asks the
production rules whether that fact would be accepted in a given state.

Used twice: `verify` checks that every recorded fact is exactly what the rules produce
from its command in the replayed state (a fact the rules would have refused, or would
have produced differently, was not written by this engine); `whatif` re-submits people's
facts to an engine running another policy, so that they pass the same rules there.

Invariants:
- For a fact the engine recorded, `decide(state_before, command_for(fact))` returns that
  fact again (coordinates are stored rounded, and rounding is idempotent).
- `None` means "not reconstructible": only `WorkerRegistered` and `EmployerRegistered`,
  whose commands need personal data in plain text (ID number, mobile) that the log keeps
  only masked and sealed. Every other fact type has a builder here.
- Offer replies name only the offer id; the command's worker is the offer's addressee in
  the given state (an unknown offer gives worker "" and the rules refuse it).

Limits: none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.rules import decide
from engine.state import State

_Builder = Callable[[Any, str], c.Command]


def _point(lat: float, lng: float) -> c.Point:
    return c.Point(lat=lat, lng=lng)


_BUILDERS: dict[type, _Builder] = {
    e.PolicySet: lambda f, i: c.SetPolicy(
        command_id=i, ts_ms=f.ts_ms, region=f.region, policy=f.policy, note=f.note
    ),
    e.StationRegistered: lambda f, i: c.RegisterStation(
        command_id=i,
        ts_ms=f.ts_ms,
        station_id=f.station_id,
        name=f.name,
        kind=f.kind,
        market_type=f.market_type,
        parent_id=f.parent_id,
        region=f.region,
        location=_point(f.lat, f.lng),
        area_m2=f.area_m2,
        address=f.address,
    ),
    e.StationStatusChanged: lambda f, i: c.ChangeStationStatus(
        command_id=i, ts_ms=f.ts_ms, station_id=f.station_id, status=f.status, reason=f.reason
    ),
    e.EmployerFlagged: lambda f, i: c.FlagEmployer(
        command_id=i, ts_ms=f.ts_ms, employer_id=f.employer_id, reason=f.reason
    ),
    e.WorkerUpdated: lambda f, i: c.UpdateWorker(
        command_id=i,
        ts_ms=f.ts_ms,
        worker_id=f.worker_id,
        skills=f.skills,
        min_pay_fen=f.min_pay_fen,
        priority_group=f.priority_group,
        home=_point(f.home_lat, f.home_lng),
        travel_mode=f.travel_mode,
        push_opt_in=f.push_opt_in,
        quiet_start_min=f.quiet_start_min,
        quiet_end_min=f.quiet_end_min,
    ),
    e.WorkerErased: lambda f, i: c.EraseWorker(
        command_id=i, ts_ms=f.ts_ms, worker_id=f.worker_id, reason=f.reason or "(not recorded)"
    ),
    e.WorkerCheckedIn: lambda f, i: c.CheckIn(
        command_id=i,
        ts_ms=f.ts_ms,
        worker_id=f.worker_id,
        station_id=f.station_id,
        location=_point(f.lat, f.lng),
        available_until_ms=f.available_until_ms,
    ),
    e.WorkerCheckedOut: lambda f, i: c.CheckOut(command_id=i, ts_ms=f.ts_ms, worker_id=f.worker_id),
    e.JobSubmitted: lambda f, i: c.SubmitJob(
        command_id=i,
        ts_ms=f.ts_ms,
        job_id=f.job_id,
        employer_id=f.employer_id,
        station_id=f.station_id,
        title=f.title,
        description=f.description,
        skill=f.skill,
        headcount=f.headcount,
        pay_fen=f.pay_fen,
        pay_unit=f.pay_unit,
        start_ms=f.start_ms,
        end_ms=f.end_ms,
        location=_point(f.lat, f.lng),
        address=f.address,
    ),
    e.JobReviewed: lambda f, i: c.ReviewJob(
        command_id=i,
        ts_ms=f.ts_ms,
        job_id=f.job_id,
        staff_id=f.staff_id,
        station_id=f.station_id,
        approve=f.approve,
        note=f.note,
    ),
    e.JobCancelled: lambda f, i: c.CancelJob(
        command_id=i, ts_ms=f.ts_ms, job_id=f.job_id, reason=f.reason
    ),
    e.Tick: lambda f, i: c.Advance(command_id=i, ts_ms=f.ts_ms),
    e.BellRung: lambda f, i: c.RingBell(
        command_id=i,
        ts_ms=f.ts_ms,
        station_id="" if f.scope.startswith("region:") else f.scope,
        region=f.scope[len("region:") :] if f.scope.startswith("region:") else "",
        staff_id=f.staff_id,
    ),
    e.WorkerArrived: lambda f, i: c.ConfirmArrival(command_id=i, ts_ms=f.ts_ms, hire_id=f.hire_id),
    e.NoShow: lambda f, i: c.ReportNoShow(command_id=i, ts_ms=f.ts_ms, hire_id=f.hire_id),
    e.WorkCompleted: lambda f, i: c.CompleteWork(command_id=i, ts_ms=f.ts_ms, hire_id=f.hire_id),
    e.WagePaid: lambda f, i: c.PayWage(
        command_id=i, ts_ms=f.ts_ms, hire_id=f.hire_id, amount_fen=f.amount_fen, method=f.method
    ),
    e.ComplaintFiled: lambda f, i: c.FileComplaint(
        command_id=i,
        ts_ms=f.ts_ms,
        complaint_id=f.complaint_id,
        kind=f.kind,
        employer_id=f.employer_id,
        worker_id=f.worker_id,
        hire_id=f.hire_id,
        text=f.text,
    ),
    e.ComplaintResolved: lambda f, i: c.ResolveComplaint(
        command_id=i, ts_ms=f.ts_ms, complaint_id=f.complaint_id, upheld=f.upheld, note=f.note
    ),
    e.RatingGiven: lambda f, i: c.Rate(
        command_id=i, ts_ms=f.ts_ms, hire_id=f.hire_id, by=f.by, stars=f.stars
    ),
    e.TrainingPublished: lambda f, i: c.PublishTraining(
        command_id=i,
        ts_ms=f.ts_ms,
        training_id=f.training_id,
        station_id=f.station_id,
        title=f.title,
        description=f.description,
        skill=f.skill,
        start_ms=f.start_ms,
        end_ms=f.end_ms,
        capacity=f.capacity,
        address=f.address,
        staff_id=f.staff_id,
    ),  # fmt: skip
    e.TrainingSignedUp: lambda f, i: c.SignUpTraining(
        command_id=i,
        ts_ms=f.ts_ms,
        training_id=f.training_id,
        worker_id=f.worker_id,
        channel=f.channel,
    ),  # fmt: skip
    e.TrainingCompleted: lambda f, i: c.CompleteTraining(
        command_id=i,
        ts_ms=f.ts_ms,
        training_id=f.training_id,
        worker_id=f.worker_id,
        staff_id=f.staff_id,
    ),  # fmt: skip
    e.PolicyAnswerPublished: lambda f, i: c.PublishPolicyAnswer(
        command_id=i,
        ts_ms=f.ts_ms,
        entry_id=f.entry_id,
        station_id=f.station_id,
        topic=f.topic,
        question=f.question,
        answer=f.answer,
        staff_id=f.staff_id,
    ),  # fmt: skip
}

NOT_RECONSTRUCTIBLE = frozenset({e.WorkerRegistered, e.EmployerRegistered})


def _offer_reply(state: State, fact: e.OfferAccepted | e.OfferDeclined, cmd_id: str) -> c.Command:
    offer = state.offers.get(fact.offer_id)
    worker_id = state.worker_ids[offer.worker_row] if offer is not None else ""
    if isinstance(fact, e.OfferAccepted):
        return c.AcceptOffer(
            command_id=cmd_id, ts_ms=fact.ts_ms, offer_id=fact.offer_id, worker_id=worker_id
        )
    return c.DeclineOffer(
        command_id=cmd_id,
        ts_ms=fact.ts_ms,
        offer_id=fact.offer_id,
        worker_id=worker_id,
        reason=fact.reason,
    )


def command_for(state: State, fact: e.Event, cmd_id: str) -> c.Command | None:
    """The command that produced `fact` in `state` (None when it cannot be rebuilt).

    Offer replies name only the offer; the worker is its addressee in `state`.
    """
    if isinstance(fact, e.OfferAccepted | e.OfferDeclined):
        return _offer_reply(state, fact, cmd_id)
    build = _BUILDERS.get(type(fact))
    return build(fact, cmd_id) if build is not None else None


def readmit(state: State, fact: e.Event, cmd_id: str) -> tuple[e.Event | None, Refusal | None]:
    """The fact the rules produce for `fact`'s command in `state`, or their refusal.

    Returns (None, None) for a registration (not reconstructible), and a refusal for a
    fact type no command produces (it can only have been written by something else).
    """
    cmd = command_for(state, fact, cmd_id)
    if cmd is None:
        if type(fact) in NOT_RECONSTRUCTIBLE:
            return None, None
        name = type(fact).__name__
        return None, Refusal("type", "no_command", f"no command produces {name} as a fact")
    try:
        decided = decide(state, cmd)
    except Refusal as ref:
        return None, ref
    again = decided.facts[0]
    if isinstance(again, e.ComplaintFiled) and isinstance(fact, e.ComplaintFiled):
        again = msgspec.structs.replace(again, sealed=fact.sealed)  # sealed by the shell
    if isinstance(again, e.WorkerErased) and isinstance(fact, e.WorkerErased) and not fact.reason:
        again = msgspec.structs.replace(again, reason="")  # recorded before reasons were
    return again, None
