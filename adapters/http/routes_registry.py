"""Registry endpoints: workers, employers, stations and policies.

Owns the routes
    POST   /workers                           RegisterWorker      front_end, staff, admin
    GET    /workers/{worker_id}               a worker (no PII)   all roles
    PATCH  /workers/{worker_id}               UpdateWorker        front_end, staff, admin
    DELETE /workers/{worker_id}               EraseWorker         front_end, staff, admin
    POST   /employers                         RegisterEmployer    front_end, staff, admin
    GET    /employers/{employer_id}           an employer         all roles
    POST   /employers/{employer_id}/flags     FlagEmployer        staff, admin
    POST   /stations                          RegisterStation     admin
    POST   /stations/{station_id}/status      ChangeStationStatus admin
    POST   /policies                          SetPolicy           admin
Invariants: each handler checks the action with the `Gate` before building the command;
region of a new worker/employer/station/policy = the body's region.
Limits: bodies are bounded by `adapters.http.bodies`.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.bodies import (
    EmployerIn,
    FlagIn,
    PolicyIn,
    StationIn,
    StationStatusIn,
    WorkerIn,
    WorkerPatch,
)
from adapters.http.common import COMMAND, READ, Ctx, IdempotencyKey, Who, check_new_id, not_found
from adapters.http.scope import employer_region_in, worker_region_in
from adapters.http.views import (
    CommandAccepted,
    EmployerView,
    Subject,
    WorkerView,
    employer_view,
    worker_view,
)
from engine import commands as c

Req = Request[Any, Any, Any]


@post("/workers", tags=["registry"], summary="Register a worker", **COMMAND)
async def register_worker(
    request: Req,
    data: JSONBody[WorkerIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "register_worker", region=data.region)
    check_new_id("worker_id", data.worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.RegisterWorker(
            command_id=cid,
            ts_ms=ts,
            worker_id=data.worker_id,
            region=data.region,
            personal=data.personal.personal(),
            skills=tuple(data.skills),
            min_pay_fen=data.min_pay_fen,
            birth_year=data.birth_year,
            priority_group=data.priority_group,
            home=data.home.point(),
            travel_mode=data.travel_mode,
            push_opt_in=data.push_opt_in,
            quiet_start_min=data.quiet_start_min,
            quiet_end_min=data.quiet_end_min,
            station_id=who.station_id,  # staff register at their own station
        ),
        who,
        idempotency_key,
        Subject(worker=data.worker_id),
    )


@get("/workers/{worker_id:str}", tags=["registry"], summary="A worker (masked)", **READ)
async def get_worker(worker_id: FromPath[str], ctx: Ctx, who: Who) -> WorkerView:
    ctx.gate.allow(who, "read", worker=worker_id)
    view = await ctx.read_in_region(
        who,
        "worker_id",
        lambda s: worker_region_in(s, worker_id),
        lambda s: worker_view(s, worker_id),
    )
    if view is None:
        raise not_found("worker_id", "worker")
    return view


@patch("/workers/{worker_id:str}", tags=["registry"], summary="Update a worker", **COMMAND)
async def update_worker(
    request: Req,
    worker_id: FromPath[str],
    data: JSONBody[WorkerPatch],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "update_worker", worker=worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.UpdateWorker(
            command_id=cid,
            ts_ms=ts,
            worker_id=worker_id,
            skills=None if data.skills is None else tuple(data.skills),
            min_pay_fen=data.min_pay_fen,
            priority_group=data.priority_group,
            home=None if data.home is None else data.home.point(),
            travel_mode=data.travel_mode,
            push_opt_in=data.push_opt_in,
            quiet_start_min=data.quiet_start_min,
            quiet_end_min=data.quiet_end_min,
        ),
        who,
        idempotency_key,
        Subject(worker=worker_id),
        status_new=200,
    )


@delete(
    "/workers/{worker_id:str}",
    tags=["registry"],
    summary="Erase a worker (crypto-shredding of the personal data)",
    **{**COMMAND, "status_code": 200},
)
async def erase_worker(
    request: Req,
    worker_id: FromPath[str],
    ctx: Ctx,
    who: Who,
    reason: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    """`reason` (PIPL art. 47: why) is recorded with the erasure."""
    ctx.gate.allow(who, "erase_worker", worker=worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.EraseWorker(command_id=cid, ts_ms=ts, worker_id=worker_id, reason=reason),
        who,
        idempotency_key,
        Subject(worker=worker_id),
        status_new=200,
    )


@post("/employers", tags=["registry"], summary="Register an employer", **COMMAND)
async def register_employer(
    request: Req,
    data: JSONBody[EmployerIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "register_employer", region=data.region)
    check_new_id("employer_id", data.employer_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.RegisterEmployer(
            command_id=cid,
            ts_ms=ts,
            employer_id=data.employer_id,
            kind=data.kind,
            name=data.name,
            uscc=data.uscc,
            region=data.region,
            contact=data.contact.personal(),
        ),
        who,
        idempotency_key,
    )


@get("/employers/{employer_id:str}", tags=["registry"], summary="An employer", **READ)
async def get_employer(employer_id: FromPath[str], ctx: Ctx, who: Who) -> EmployerView:
    ctx.gate.allow(who, "read", employer=employer_id)
    view = await ctx.read_in_region(
        who,
        "employer_id",
        lambda s: employer_region_in(s, employer_id),
        lambda s: employer_view(s, employer_id),
    )
    if view is None:
        raise not_found("employer_id", "employer")
    return view


@post(
    "/employers/{employer_id:str}/flags", tags=["registry"], summary="Flag an employer", **COMMAND
)
async def flag_employer(
    request: Req,
    employer_id: FromPath[str],
    data: JSONBody[FlagIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "flag_employer", employer=employer_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.FlagEmployer(
            command_id=cid,
            ts_ms=ts,
            employer_id=employer_id,
            reason=data.reason,
            staff_id=who.token_id,
        ),
        who,
        idempotency_key,
    )


@post("/stations", tags=["stations"], summary="Register a station", **COMMAND)
async def register_station(
    request: Req,
    data: JSONBody[StationIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "register_station", region=data.region)
    check_new_id("station_id", data.station_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.RegisterStation(
            command_id=cid,
            ts_ms=ts,
            station_id=data.station_id,
            name=data.name,
            kind=data.kind,
            market_type=data.market_type,
            parent_id=data.parent_id,
            region=data.region,
            location=data.location.point(),
            area_m2=data.area_m2,
            address=data.address,
        ),
        who,
        idempotency_key,
    )


@post(
    "/stations/{station_id:str}/status",
    tags=["stations"],
    summary="Approve, suspend or revoke a station",
    **COMMAND,
)
async def change_station_status(
    request: Req,
    station_id: FromPath[str],
    data: JSONBody[StationStatusIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "change_station_status", station=station_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.ChangeStationStatus(
            command_id=cid, ts_ms=ts, station_id=station_id, status=data.status, reason=data.reason
        ),
        who,
        idempotency_key,
    )


@post("/policies", tags=["registry"], summary="Set the policy of a region prefix", **COMMAND)
async def set_policy(
    request: Req,
    data: JSONBody[PolicyIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "set_policy", region=data.region)
    return await ctx.run(
        request,
        lambda cid, ts: c.SetPolicy(
            command_id=cid, ts_ms=ts, region=data.region, policy=data.policy, note=data.note
        ),
        who,
        idempotency_key,
    )


ROUTES = [
    register_worker,
    get_worker,
    update_worker,
    erase_worker,
    register_employer,
    get_employer,
    flag_employer,
    register_station,
    change_station_status,
    set_policy,
]
