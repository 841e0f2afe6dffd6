"""Who may do what: the caller of a command, the permission table, and scope checks.

Owns: `Caller` (an authenticated actor: role, region prefix, station), `SYSTEM` (the
runtime's own ticks), `PERMISSIONS` (command type -> roles: the one table the transports
read), and `authorize(state, caller, cmd)`, which checks a command against the caller's
role, region and station using the REAL state.

The model:
- front_end: regional apps and kiosks; registers people and employers, checks in, posts,
  answers offers, follows hires, files complaints, in its region. Never erases.
- station_staff: the same at one station: check-ins at it, postings it collects, reviews
  of postings it collected (谁收集、谁发布、谁负责), its opening bell, hires of its
  postings, erasure of workers it registered; flags employers and files complaints in its
  region; takes the complaint cases of its station through their steps
  (`ChangeComplaintStatus`; the station answering a case is the hire's collecting one).
  Reads its whole region (reads are the transports' business).
- auditor: writes nothing.
- admin: stations, policies, complaints, erasure, and what front ends do; does not review
  postings (only the collecting station does). Only an admin may be nationwide, and only
  with `nationwide=True`.
- sms_gateway: only AcceptOffer / DeclineOffer, for the worker named (the rules check
  that the offer was made to that worker), in its region.
- system: only Advance (the runtime's ticks). It is the default caller of the engine,
  so a transport that forgets to pass its caller gets nothing done.
- Region: a caller for prefix P touches workers registered in P, stations in P, jobs
  collected by a station in P, employers registered in P, hires of jobs in P. A complaint
  needs both the hire's worker and its employer in P.

Invariants:
- Pure and deterministic; fails closed: a resource that does not exist is refused
  ("exists"), never let through; a staff caller's own station must exist in its region.
- Refusals: `Refusal(field, rule, message)` with rule "role", "region", "station",
  "exists" or "actor" (a `staff_id` or `by` that is not the caller's own actor id); a caller
  whose actor id is not 1-128 characters is refused "role", one that is a phone or ID
  number "no_personal_data" (the actor id is written into every record).
- Scope checks read only what never changes once recorded (regions, collecting stations,
  registering stations, hire parties) except where staff act on a worker present at their
  station (check-out, answering an offer), so a retry of an accepted command passes again.
  A worker checked in at a station is checked out only by its staff (or by non-staff
  callers of the region); one checked in by location, or not at all, by any staff of the
  region (the rules refuse the latter).

Limits: one dict lookup per resource named by the command; no iteration over the state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from engine import commands as c
from engine import training
from engine.bounds import MAX_COMMAND_ID, REGION_PREFIX_PATTERN
from engine.commands import Refusal
from engine.idnumbers import find_unmasked_pii
from engine.state import State

Role = Literal["front_end", "station_staff", "auditor", "admin", "sms_gateway", "system"]
ROLES: tuple[str, ...] = (
    "front_end",
    "station_staff",
    "auditor",
    "admin",
    "sms_gateway",
    "system",
)
_PREFIX_RE = re.compile(REGION_PREFIX_PATTERN)


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller. Transports build it from a verified credential only."""

    actor_id: str  # token id, staff account id, "sms-gateway", "cli:<user>", "system"
    role: Role
    region: str = ""  # GB/T 2260 prefix (2, 4 or 6 digits); "" only with nationwide=True
    station_id: str = ""  # station_staff only
    nationwide: bool = False  # admin (and the system) only, explicit
    named: bool = False  # a person's account (token issued with a name): actor_id is it

    def covers(self, region: str) -> bool:
        """True when a resource of `region` (a code or prefix) lies in this caller's scope."""
        if self.nationwide:
            return True
        return bool(self.region) and region.startswith(self.region)


SYSTEM = Caller(actor_id="system", role="system", nationwide=True)

_WRITERS = frozenset({"front_end", "station_staff", "admin"})
_ANSWER = _WRITERS | {"sms_gateway"}
_STAFF_ADMIN = frozenset({"station_staff", "admin"})
_ADMIN = frozenset({"admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "SetPolicy": _ADMIN,
    "RegisterStation": _ADMIN,
    "ChangeStationStatus": _ADMIN,
    "RegisterEmployer": _WRITERS,
    "FlagEmployer": _STAFF_ADMIN,
    "RegisterWorker": _WRITERS,
    "UpdateWorker": _WRITERS,
    "EraseWorker": _STAFF_ADMIN,
    "CheckIn": _WRITERS,
    "CheckOut": _WRITERS,
    "SubmitJob": _WRITERS,
    "ReviewJob": frozenset({"station_staff"}),
    "CancelJob": _WRITERS,
    "Advance": frozenset({"system"}),
    "AcceptOffer": _ANSWER,
    "DeclineOffer": _ANSWER,
    "RingBell": _STAFF_ADMIN,
    "ConfirmArrival": _WRITERS,
    "ReportNoShow": _WRITERS,
    "CompleteWork": _WRITERS,
    "PayWage": _WRITERS,
    "FileComplaint": _WRITERS,
    "ResolveComplaint": _ADMIN,
    "ChangeComplaintStatus": _STAFF_ADMIN,
    "Rate": _WRITERS,
    "PublishTraining": _STAFF_ADMIN,
    "SignUpTraining": _ANSWER,  # counter (staff), app (front end), SMS reply (gateway)
    "CompleteTraining": _STAFF_ADMIN,
    "PublishPolicyAnswer": _STAFF_ADMIN,
    # a station's life: applications come in at a front end (政务 app, counter) or from an
    # admin; each later step is an admin account's (distinct accounts: station_life)
    "ApplyStation": frozenset({"front_end", "admin"}),
    "ReviewStation": _ADMIN,
    "ApproveStation": _ADMIN,
    "FileStation": _ADMIN,
    "OrderRectification": _ADMIN,
    "ConfirmRectification": _ADMIN,
    "RevokeStation": _ADMIN,
}


def authorize(state: State, caller: Caller, cmd: c.Command) -> None:
    """Refuse `cmd` unless `caller` may send it in `state` (role, then scope)."""
    check_role(caller, cmd)
    check_scope(state, caller, cmd)


# ------------------------------------------------------------------ the caller -----


def check_role(caller: Caller, cmd: c.Command) -> None:
    """The static part: a well-formed caller whose role may send this command type."""
    if not isinstance(caller, Caller):
        raise Refusal("caller", "role", "no authenticated caller")
    if not 0 < len(caller.actor_id) <= MAX_COMMAND_ID:
        raise Refusal("caller", "role", f"an actor id has 1 to {MAX_COMMAND_ID} characters")
    if find_unmasked_pii(caller.actor_id):  # it is written into every record it sends
        raise Refusal("caller", "no_personal_data", "an actor id must not be a phone or ID number")
    if caller.nationwide:
        if caller.role not in ("admin", "system"):
            raise Refusal("caller", "region", "only admin callers may be nationwide")
    elif not caller.region or not _PREFIX_RE.match(caller.region):
        raise Refusal("caller", "region", "a caller needs a region prefix (or nationwide)")
    if (caller.role == "station_staff") != bool(caller.station_id):
        raise Refusal("caller", "station", "station staff, and only they, act for a station")
    name = type(cmd).__name__
    if caller.role not in PERMISSIONS.get(name, ()):
        raise Refusal("caller", "role", f"role {caller.role} may not send {c.clip(name)}")


# ------------------------------------------------------------------ scope helpers --


def _in_region(caller: Caller, region: str | None, field: str, what: str, ident: str = "") -> None:
    if region is None:
        raise Refusal(field, "exists", f"no {what} {c.clip(ident)!r}")
    if not caller.covers(region):
        raise Refusal(field, "region", f"the {what} is outside the caller's region ({field})")


def _prefix(caller: Caller, prefix: str, field: str) -> None:
    """A region prefix the command writes for (policy, bell): inside the caller's."""
    if not caller.nationwide and not (prefix.startswith(caller.region)):
        raise Refusal(field, "region", "outside the caller's region")


def _at_station(caller: Caller, station_id: str, field: str) -> None:
    if caller.role == "station_staff" and station_id != caller.station_id:
        raise Refusal(field, "station", "station staff act only at their own station")


def _actor(caller: Caller, staff_id: str) -> None:
    if staff_id and staff_id != caller.actor_id:
        raise Refusal("staff_id", "actor", "staff_id must be the caller's own id")


def _station_region(state: State, station_id: str) -> str | None:
    st = state.stations.get(station_id)
    return None if st is None else st.region


def _worker_row(state: State, worker_id: str) -> int | None:
    return state.worker_rows.get(worker_id)  # erased workers keep their row


def _worker(state: State, caller: Caller, worker_id: str, field: str = "worker_id") -> int:
    row = _worker_row(state, worker_id)
    region = None if row is None else state.worker_region[row]
    _in_region(caller, region, field, "registered worker", worker_id)
    assert row is not None
    return row


def _station(state: State, caller: Caller, station_id: str, field: str = "station_id") -> None:
    _in_region(caller, _station_region(state, station_id), field, "station", station_id)


def _job(state: State, caller: Caller, job_id: str, field: str = "job_id") -> Any:
    job = state.jobs.get(job_id)
    _in_region(caller, None if job is None else job.region, field, "job", job_id)
    return job


def _hire_job(state: State, caller: Caller, hire_id: str) -> Any:
    hire = state.hires.get(hire_id)
    if hire is None:
        raise Refusal("hire_id", "exists", f"no hire {c.clip(hire_id)!r}")
    job = _job(state, caller, hire.job_id, "hire_id")
    _at_station(caller, job.station_id, "hire_id")
    return hire


def _own_station(state: State, caller: Caller) -> None:
    """A staff caller's station exists and lies in the caller's region (fail closed)."""
    region = _station_region(state, caller.station_id)
    if region is None or not caller.covers(region):
        raise Refusal("caller", "station", "the caller's station is unknown or elsewhere")


# ------------------------------------------------------------------ per command ----


def _set_policy(state: State, caller: Caller, cmd: c.SetPolicy) -> None:
    _prefix(caller, cmd.region, "region")


def _register_station(state: State, caller: Caller, cmd: c.RegisterStation) -> None:
    _in_region(caller, cmd.region, "region", "region", cmd.region)
    if cmd.parent_id and cmd.parent_id in state.stations:
        _station(state, caller, cmd.parent_id, "parent_id")


def _change_station(state: State, caller: Caller, cmd: c.ChangeStationStatus) -> None:
    _station(state, caller, cmd.station_id)


def _by(caller: Caller, by: str) -> None:
    if by != caller.actor_id:
        raise Refusal("by", "actor", "by must be the caller's own account id")


def _apply_station(state: State, caller: Caller, cmd: c.ApplyStation) -> None:
    _in_region(caller, cmd.region, "region", "region", cmd.region)
    if cmd.parent_id and cmd.parent_id in state.stations:
        _station(state, caller, cmd.parent_id, "parent_id")
    _by(caller, cmd.by)


def _station_step(state: State, caller: Caller, cmd: Any) -> None:
    _station(state, caller, cmd.station_id)
    _by(caller, cmd.by)


def _register_employer(state: State, caller: Caller, cmd: c.RegisterEmployer) -> None:
    _in_region(caller, cmd.region, "region", "region", cmd.region)


def _flag_employer(state: State, caller: Caller, cmd: c.FlagEmployer) -> None:
    emp = state.employers.get(cmd.employer_id)
    region = None if emp is None else emp.region
    _in_region(caller, region, "employer_id", "employer", cmd.employer_id)
    _actor(caller, cmd.staff_id)


def _register_worker(state: State, caller: Caller, cmd: c.RegisterWorker) -> None:
    _in_region(caller, cmd.region, "region", "region", cmd.region)
    if cmd.station_id:
        _station(state, caller, cmd.station_id)
    _at_station(caller, cmd.station_id, "station_id")


def _update_worker(state: State, caller: Caller, cmd: c.UpdateWorker) -> None:
    _worker(state, caller, cmd.worker_id)


def _erase_worker(state: State, caller: Caller, cmd: c.EraseWorker) -> None:
    row = _worker(state, caller, cmd.worker_id)
    _at_station(caller, state.worker_registered_at[row], "worker_id")


def _check_in(state: State, caller: Caller, cmd: c.CheckIn) -> None:
    _worker(state, caller, cmd.worker_id)
    if cmd.station_id:
        _station(state, caller, cmd.station_id)
    _at_station(caller, cmd.station_id, "station_id")  # staff: never by location only


def _check_out(state: State, caller: Caller, cmd: c.CheckOut) -> None:
    row = _worker(state, caller, cmd.worker_id)
    if state.worker_station[row]:  # checked in at a station: only its staff (or others)
        _at_station(caller, state.worker_station[row], "worker_id")


def _submit_job(state: State, caller: Caller, cmd: c.SubmitJob) -> None:
    _station(state, caller, cmd.station_id)
    _at_station(caller, cmd.station_id, "station_id")


def _review_job(state: State, caller: Caller, cmd: c.ReviewJob) -> None:
    job = _job(state, caller, cmd.job_id)
    _at_station(caller, job.station_id, "job_id")
    _at_station(caller, cmd.station_id, "station_id")
    _actor(caller, cmd.staff_id)


def _cancel_job(state: State, caller: Caller, cmd: c.CancelJob) -> None:
    job = _job(state, caller, cmd.job_id)
    _at_station(caller, job.station_id, "job_id")


def _answer(state: State, caller: Caller, cmd: c.AcceptOffer | c.DeclineOffer) -> None:
    row = _worker(state, caller, cmd.worker_id)
    if caller.role != "station_staff" or state.worker_station[row] == caller.station_id:
        return
    offer = state.offers.get(cmd.offer_id)
    job = None if offer is None else state.jobs.get(offer.job_id)
    _at_station(caller, "" if job is None else job.station_id, "offer_id")


def _ring_bell(state: State, caller: Caller, cmd: c.RingBell) -> None:
    if cmd.station_id:
        _station(state, caller, cmd.station_id)
    else:
        _prefix(caller, cmd.region, "region")
    _at_station(caller, cmd.station_id, "station_id")
    _actor(caller, cmd.staff_id)


def _hire_cmd(state: State, caller: Caller, cmd: Any) -> None:
    _hire_job(state, caller, cmd.hire_id)


def _file_complaint(state: State, caller: Caller, cmd: c.FileComplaint) -> None:
    hire = state.hires.get(cmd.hire_id)
    if hire is None:
        raise Refusal("hire_id", "exists", f"no hire {c.clip(cmd.hire_id)!r}")
    _in_region(caller, state.worker_region[hire.worker_row], "hire_id", "worker of the hire")
    emp = state.employers.get(hire.employer_id)
    region = None if emp is None else emp.region
    _in_region(caller, region, "hire_id", "employer of the hire", hire.employer_id)


def _resolve_complaint(state: State, caller: Caller, cmd: c.ResolveComplaint) -> None:
    comp = state.complaints.get(cmd.complaint_id)
    emp = None if comp is None else state.employers.get(comp.employer_id)
    region = None if emp is None else emp.region
    _in_region(caller, region, "complaint_id", "complaint", cmd.complaint_id)


def _complaint_step(state: State, caller: Caller, cmd: c.ChangeComplaintStatus) -> None:
    comp = state.complaints.get(cmd.complaint_id)
    if comp is None:
        raise Refusal("complaint_id", "exists", f"no complaint {c.clip(cmd.complaint_id)!r}")
    _in_region(caller, comp.region, "complaint_id", "complaint", cmd.complaint_id)
    _at_station(caller, comp.station_id, "complaint_id")  # staff: cases of their station
    _actor(caller, cmd.staff_id)


def _nothing(state: State, caller: Caller, cmd: c.Command) -> None:
    return None


_SCOPES: dict[type, Callable[[State, Caller, Any], None]] = {
    c.SetPolicy: _set_policy,
    c.RegisterStation: _register_station,
    c.ChangeStationStatus: _change_station,
    c.RegisterEmployer: _register_employer,
    c.FlagEmployer: _flag_employer,
    c.RegisterWorker: _register_worker,
    c.UpdateWorker: _update_worker,
    c.EraseWorker: _erase_worker,
    c.CheckIn: _check_in,
    c.CheckOut: _check_out,
    c.SubmitJob: _submit_job,
    c.ReviewJob: _review_job,
    c.CancelJob: _cancel_job,
    c.Advance: _nothing,
    c.AcceptOffer: _answer,
    c.DeclineOffer: _answer,
    c.RingBell: _ring_bell,
    c.ConfirmArrival: _hire_cmd,
    c.ReportNoShow: _hire_cmd,
    c.CompleteWork: _hire_cmd,
    c.PayWage: _hire_cmd,
    c.FileComplaint: _file_complaint,
    c.ResolveComplaint: _resolve_complaint,
    c.ChangeComplaintStatus: _complaint_step,
    c.Rate: _hire_cmd,
    c.PublishTraining: training.scope_publish,
    c.SignUpTraining: training.scope_sign_up,
    c.CompleteTraining: training.scope_complete,
    c.PublishPolicyAnswer: training.scope_publish,
    c.ApplyStation: _apply_station,
    c.ReviewStation: _station_step,
    c.ApproveStation: _station_step,
    c.FileStation: _station_step,
    c.OrderRectification: _station_step,
    c.ConfirmRectification: _station_step,
    c.RevokeStation: _station_step,
}


def check_scope(state: State, caller: Caller, cmd: c.Command) -> None:
    """The state part: every resource the command names exists and is the caller's."""
    if caller.role == "station_staff":
        _own_station(state, caller)
    scope = _SCOPES.get(type(cmd))
    if scope is None:
        raise Refusal("type", "known_command", f"unknown command {c.clip(type(cmd).__name__)}")
    scope(state, caller, cmd)
