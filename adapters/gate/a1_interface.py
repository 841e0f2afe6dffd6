"""A1-INTERFACE: what the gate needs from the engine side (WP-A1), until that work lands.

Owns nothing for good. Every name here stands in for one that gate-overview.md gives the
engine; when the engine has it (an import or signature probe at import time), the
engine's own is used and the stand-in below is dead code for the lead to delete:

    Caller, SYSTEM, PERMISSIONS, authorize   -> engine.authz
    execute_as(runtime, cmd, caller)         -> Runtime.execute(cmd, caller)
    aexecute_as(service, cmd, caller)        -> EngineService.aexecute(cmd, caller)
    runtime_ready(runtime)                   -> runtime.ready
    internal_errors(runtime)                 -> runtime.internal_errors
    decode_record                            -> engine.record.decode_record
    SHIM_BOUNDS                              -> msgspec.Meta on the command fields

Invariants of the stand-ins: `authorize` checks against the real state and fails
closed (an unknown resource is refused `exists`, never let through); it carries over the
HTTP layer's rules (role, region, station) plus the issue-11 rules that need no new
engine field (staff check in at their own station only; a complaint is filed inside
both the employer's and the hire's region). Rules that need A1's new fields (erasure by
the worker's registering station with a reason, FileComplaint.hire_id required, the
idempotency digest) are the engine's: their tests are marked `xfail` until `A1_LANDED`.

Limits: before A1, a command travels as a writer-thread query that authorises and
executes it in one step (so pipelined commands see each other, as the engine will), and
the service's `on_result` listeners are called by the caller's thread once it is durable.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from adapters.shell.runtime import Result, Runtime
from adapters.shell.service import EngineService
from engine.commands import Command, Refusal
from engine.state import State

A1_LANDED = importlib.util.find_spec("engine.authz") is not None

Role = Literal["front_end", "station_staff", "auditor", "admin", "sms_gateway", "system"]
ROLES: tuple[str, ...] = ("front_end", "station_staff", "auditor", "admin", "sms_gateway", "system")

if A1_LANDED:  # pragma: no cover - taken once A1 is merged
    from engine.authz import PERMISSIONS, SYSTEM, Caller, authorize  # type: ignore[import-not-found]
else:

    class Caller(msgspec.Struct, frozen=True, kw_only=True):  # A1-INTERFACE
        actor_id: str
        role: Role
        region: str = ""
        station_id: str = ""
        nationwide: bool = False

    SYSTEM = Caller(actor_id="system", role="system", nationwide=True)  # A1-INTERFACE

    _W = frozenset({"front_end", "station_staff", "admin", "system"})
    PERMISSIONS: dict[str, frozenset[str]] = {  # A1-INTERFACE
        "SetPolicy": frozenset({"admin", "system"}),
        "RegisterStation": frozenset({"admin", "system"}),
        "ChangeStationStatus": frozenset({"admin", "system"}),
        "RegisterEmployer": _W,
        "FlagEmployer": frozenset({"station_staff", "admin", "system"}),
        "RegisterWorker": _W,
        "UpdateWorker": _W,
        "EraseWorker": frozenset({"station_staff", "admin", "system"}),
        "CheckIn": _W,
        "CheckOut": _W,
        "SubmitJob": _W,
        "ReviewJob": frozenset({"station_staff", "system"}),
        "CancelJob": _W,
        "Advance": frozenset({"system"}),
        "AcceptOffer": _W | {"sms_gateway"},
        "DeclineOffer": _W | {"sms_gateway"},
        "RingBell": frozenset({"station_staff", "admin", "system"}),
        "ConfirmArrival": _W,
        "ReportNoShow": _W,
        "CompleteWork": _W,
        "PayWage": _W,
        "FileComplaint": _W,
        "ResolveComplaint": frozenset({"admin", "system"}),
        "Rate": _W,
    }

    def authorize(state: State, caller: Caller, cmd: Command) -> None:  # A1-INTERFACE
        name = type(cmd).__name__
        if caller.role not in PERMISSIONS.get(name, ()):
            raise Refusal("type", "role", f"role {caller.role} may not {name}")
        if caller.role == "system":
            return
        for field, region, station in _scope(state, caller, cmd):
            if region is None:
                raise Refusal(field, "exists", f"no such {field.removesuffix('_id')}")
            if not (caller.nationwide or (caller.region and region.startswith(caller.region))):
                raise Refusal(field, "region", f"outside this caller's region ({field})")
            if caller.role == "station_staff" and station is not None:
                if station != caller.station_id:
                    raise Refusal(field, "station", f"not this caller's station ({field})")

    def _scope(state: State, caller: Caller, cmd: Any) -> list[tuple[str, str | None, Any]]:
        """(field, region of the resource or None if unknown, station or None) to check."""
        st, jobs, hires = state.stations, state.jobs, state.hires

        def worker(wid: str) -> str | None:
            row = state.worker_rows.get(wid)
            return None if row is None else state.worker_region[row]

        def station(sid: str) -> str | None:
            return st[sid].region if sid in st else None

        def employer(eid: str) -> str | None:
            emp = state.employers.get(eid)
            return None if emp is None else emp.region

        def job(field: str, jid: str) -> tuple[str, str | None, Any]:
            j = jobs.get(jid)
            return (field, None, None) if j is None else (field, j.region, j.station_id)

        def hire(hid: str) -> tuple[str, str | None, Any]:
            h = hires.get(hid)
            return ("hire_id", None, None) if h is None else job("hire_id", h.job_id)

        name = type(cmd).__name__
        if name in ("SetPolicy", "RegisterStation", "RegisterEmployer", "RegisterWorker"):
            out = [("region", cmd.region, None)]
            if name == "RegisterStation" and cmd.parent_id:
                out.append(("parent_id", station(cmd.parent_id), None))
            return out
        if name == "ChangeStationStatus":
            return [("station_id", station(cmd.station_id), None)]
        if name == "FlagEmployer":
            return [("employer_id", employer(cmd.employer_id), None)]
        if name in ("UpdateWorker", "EraseWorker", "CheckOut", "AcceptOffer", "DeclineOffer"):
            return [("worker_id", worker(cmd.worker_id), None)]
        if name == "CheckIn":
            out = [("worker_id", worker(cmd.worker_id), None)]
            if cmd.station_id:
                out.append(("station_id", station(cmd.station_id), cmd.station_id))
            elif caller.role == "station_staff":  # staff check in at their own station only
                out.append(("station_id", out[0][1], ""))
            return out
        if name == "SubmitJob":
            return [("station_id", station(cmd.station_id), cmd.station_id)]
        if name in ("ReviewJob", "CancelJob"):
            return [job("job_id", cmd.job_id)]
        if name == "RingBell":
            if cmd.station_id:
                return [("station_id", station(cmd.station_id), cmd.station_id)]
            return [("region", cmd.region, "" if caller.role == "station_staff" else None)]
        if name in ("ConfirmArrival", "ReportNoShow", "CompleteWork", "PayWage", "Rate"):
            return [hire(cmd.hire_id)]
        if name == "FileComplaint":  # inside the employer's region and the hire's
            out = [("employer_id", employer(cmd.employer_id), None)]
            if cmd.hire_id:
                out.append(hire(cmd.hire_id))
            if cmd.worker_id:
                out.append(("worker_id", worker(cmd.worker_id), None))
            return out
        if name == "ResolveComplaint":
            comp = state.complaints.get(cmd.complaint_id)
            return [("complaint_id", None if comp is None else employer(comp.employer_id), None)]
        return [("type", None, None)]  # a command this table does not know: fail closed


_SERVICE_TAKES_CALLER = "caller" in inspect.signature(EngineService.submit).parameters
_RUNTIME_TAKES_CALLER = "caller" in inspect.signature(Runtime.execute).parameters


async def aexecute_as(service: EngineService, cmd: Command, caller: Caller) -> Result:
    """`service.aexecute(cmd, caller)`: authorised and executed in one step of the writer."""
    if _SERVICE_TAKES_CALLER:  # pragma: no cover - A1 landed
        return await service.aexecute(cmd, caller)  # type: ignore[call-arg]
    runtime = service.runtime

    def step(state: State) -> Result:  # A1-INTERFACE: on the writer thread, as one step
        try:
            authorize(state, caller, cmd)
        except Refusal as ref:
            return Result(ok=False, refusal=ref.as_dict())
        return runtime.execute(cmd)  # durable before the batch's callers are answered

    result = await service.aread(step)
    for listener in list(getattr(service, "_listeners", ())):  # on_result hooks, once durable
        try:
            listener(cmd, result)
        except Exception:  # noqa: BLE001 - a listener never fails a command
            pass
    return result


def execute_as(runtime: Runtime, cmd: Command, caller: Caller) -> Result:
    """`runtime.submit(cmd, caller)` (one command, flushed)."""
    if _RUNTIME_TAKES_CALLER:  # pragma: no cover - A1 landed
        return runtime.submit(cmd, caller)  # type: ignore[call-arg]
    try:  # A1-INTERFACE
        authorize(runtime.engine.state, caller, cmd)
    except Refusal as ref:
        return Result(ok=False, refusal=ref.as_dict())
    return runtime.submit(cmd)


def runtime_ready(runtime: Runtime) -> bool:
    ready = getattr(runtime, "ready", None)  # A1: Runtime.ready
    return bool(ready) if ready is not None else runtime.stopped is None


def internal_errors(runtime: Runtime) -> int:
    return int(getattr(runtime, "internal_errors", 0))  # A1: Runtime.internal_errors


try:
    from engine.record import decode_record  # type: ignore[import-not-found]  # noqa: F401
except ImportError:  # A1-INTERFACE: Record lives in engine.events until A1 moves it
    from engine.events import decode_record  # noqa: F401


# A1-INTERFACE: the bounds of the old adapters/http/bodies.py, applied by the body
# derivation (adapters.gate.bodies) only to command fields that carry no msgspec.Meta.
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=_ID)]
OptId = Annotated[str, Meta(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9_.:/-]*)?$")]
Fen = Annotated[int, Meta(ge=0, le=10_000_000)]
Ms = Annotated[int, Meta(ge=0, le=4_102_444_800_000)]  # before 2100-01-01
Minute = Annotated[int, Meta(ge=0, le=1439)]
Short = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=2000)]
Title = Annotated[str, Meta(max_length=100)]
SHIM_BOUNDS: dict[str, Any] = {
    "region": Annotated[str, Meta(pattern=r"^[1-9][0-9]{5}$")],
    "SetPolicy.region": Annotated[str, Meta(pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})?$")],
    "RingBell.region": Annotated[str, Meta(pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})?$")],
    "parent_id": OptId,
    "worker_id": Id,
    "employer_id": Id,
    "station_id": Id,
    "job_id": Id,
    "offer_id": Id,
    "hire_id": Id,
    "complaint_id": Id,
    "CheckIn.station_id": OptId,
    "FileComplaint.worker_id": OptId,
    "FileComplaint.hire_id": OptId,
    "name": Title,
    "title": Title,
    "uscc": Annotated[str, Meta(max_length=18)],
    "Personal.name": Annotated[str, Meta(max_length=50)],
    "mobile": Annotated[str, Meta(max_length=20)],
    "id_number": Annotated[str, Meta(max_length=20)],
    "description": Text,
    "text": Text,
    "note": Text,
    "reason": Short,
    "address": Short,
    "priority_group": Annotated[str, Meta(max_length=32)],
    "skill": Annotated[str, Meta(min_length=1, max_length=32)],
    "skills.item": Annotated[str, Meta(min_length=1, max_length=32)],
    "skills": Meta(min_length=1, max_length=16),
    "min_pay_fen": Fen,
    "pay_fen": Fen,
    "amount_fen": Annotated[int, Meta(ge=1, le=10_000_000)],
    "headcount": Annotated[int, Meta(ge=1, le=500)],
    "stars": Annotated[int, Meta(ge=1, le=5)],
    "birth_year": Annotated[int, Meta(ge=0, le=2100)],
    "area_m2": Annotated[int, Meta(ge=0, le=10_000_000)],
    "start_ms": Ms,
    "end_ms": Ms,
    "available_until_ms": Ms,
    "quiet_start_min": Minute,
    "quiet_end_min": Minute,
    "lat": Annotated[float, Meta(ge=-90.0, le=90.0)],
    "lng": Annotated[float, Meta(ge=-180.0, le=180.0)],
}
