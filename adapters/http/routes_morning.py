"""The morning: check-in/out, postings and their review, the opening bell.

Owns the routes
    POST /workers/{worker_id}/check-in     CheckIn      front_end, staff, admin
    POST /workers/{worker_id}/check-out    CheckOut     front_end, staff, admin
    POST /jobs                             SubmitJob    front_end, staff (own station), admin
    GET  /jobs/{job_id}                    a posting    all roles
    POST /jobs/{job_id}/review             ReviewJob    staff of the collecting station
    POST /jobs/{job_id}/cancel             CancelJob    front_end, staff (own station), admin
    POST /stations/{station_id}/bell       RingBell     staff (own station), admin
Invariants: a check-in at a station needs the station in the token's region (and, for
staff, to be their station); a review takes the reviewer's station and staff id from the
token, never from the body (谁收集、谁发布、谁负责).
Limits: bodies are bounded by `adapters.http.bodies`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import CheckInIn, JobIn, ReasonIn, ReviewIn
from adapters.http.common import COMMAND, READ, Ctx, IdempotencyKey, Who, check_new_id, not_found
from adapters.http.scope import job_region_in
from adapters.http.views import CommandAccepted, JobView, Subject, job_view
from engine import commands as c

Req = Request[Any, Any, Any]


@post(
    "/workers/{worker_id:str}/check-in",
    tags=["morning"],
    summary="Check a worker in at a station or a location",
    **COMMAND,
)
async def check_in(
    request: Req,
    worker_id: FromPath[str],
    data: JSONBody[CheckInIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "check_in", worker=worker_id, station=data.station_id or None)
    return await ctx.run(
        request,
        lambda cid, ts: c.CheckIn(
            command_id=cid,
            ts_ms=ts,
            worker_id=worker_id,
            station_id=data.station_id,
            location=None if data.location is None else data.location.point(),
            available_until_ms=data.available_until_ms,
        ),
        who,
        idempotency_key,
        Subject(worker=worker_id),
    )


@post("/workers/{worker_id:str}/check-out", tags=["morning"], summary="Check out", **COMMAND)
async def check_out(
    request: Req,
    worker_id: FromPath[str],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "check_out", worker=worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.CheckOut(command_id=cid, ts_ms=ts, worker_id=worker_id),
        who,
        idempotency_key,
        Subject(worker=worker_id),
    )


@post("/jobs", tags=["morning"], summary="Post a job (collected by a station)", **COMMAND)
async def submit_job(
    request: Req, data: JSONBody[JobIn], ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "submit_job", station=data.station_id)
    check_new_id("job_id", data.job_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.SubmitJob(
            command_id=cid,
            ts_ms=ts,
            job_id=data.job_id,
            employer_id=data.employer_id,
            station_id=data.station_id,
            title=data.title,
            description=data.description,
            skill=data.skill,
            headcount=data.headcount,
            pay_fen=data.pay_fen,
            pay_unit=data.pay_unit,
            start_ms=data.start_ms,
            end_ms=data.end_ms,
            location=data.location.point(),
            address=data.address,
        ),
        who,
        idempotency_key,
        Subject(jobs={data.job_id}),
    )


@get("/jobs/{job_id:str}", tags=["morning"], summary="A posting", **READ)
async def get_job(job_id: FromPath[str], ctx: Ctx, who: Who) -> JobView:
    ctx.gate.allow(who, "read", job=job_id)

    def query(state: Any) -> JobView | None:
        job = state.jobs.get(job_id)
        return None if job is None else job_view(state, job)

    view = await ctx.read_in_region(who, "job_id", lambda s: job_region_in(s, job_id), query)
    if view is None:
        raise not_found("job_id", "job")
    return view


@post(
    "/jobs/{job_id:str}/review",
    tags=["morning"],
    summary="Approve or reject a held posting (collecting station only)",
    **COMMAND,
)
async def review_job(
    request: Req,
    job_id: FromPath[str],
    data: JSONBody[ReviewIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "review_job", job=job_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.ReviewJob(
            command_id=cid,
            ts_ms=ts,
            job_id=job_id,
            staff_id=who.token_id,
            station_id=who.station_id,
            approve=data.approve,
            note=data.note,
        ),
        who,
        idempotency_key,
        Subject(jobs={job_id}),
    )


@post("/jobs/{job_id:str}/cancel", tags=["morning"], summary="Cancel a posting", **COMMAND)
async def cancel_job(
    request: Req,
    job_id: FromPath[str],
    data: JSONBody[ReasonIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "cancel_job", job=job_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.CancelJob(command_id=cid, ts_ms=ts, job_id=job_id, reason=data.reason),
        who,
        idempotency_key,
        Subject(jobs={job_id}),
    )


@post(
    "/stations/{station_id:str}/bell",
    tags=["morning"],
    summary="Ring the opening bell: batch-match the station's waiting workers and jobs",
    **COMMAND,
)
async def ring_bell(
    request: Req,
    station_id: FromPath[str],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "ring_bell", station=station_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.RingBell(
            command_id=cid, ts_ms=ts, station_id=station_id, staff_id=who.token_id
        ),
        who,
        idempotency_key,
    )


ROUTES = [check_in, check_out, submit_job, get_job, review_job, cancel_job, ring_bell]
