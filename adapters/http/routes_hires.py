"""Offers, hires, the employer's contact, complaints.

Owns the routes
    GET  /workers/{worker_id}/offers                       live offers    all roles
    POST /workers/{worker_id}/offers/{offer_id}/accept     AcceptOffer    front_end, staff, admin
    POST /workers/{worker_id}/offers/{offer_id}/decline    DeclineOffer   front_end, staff, admin
    GET  /workers/{worker_id}/hires                        hires          all roles
    GET  /workers/{worker_id}/hires/{hire_id}/contact      the employer's contact, plain
                                                           front_end, staff (own station)
    GET  /hires/{hire_id}                                  a hire         all roles
    POST /hires/{hire_id}/arrival | no-show | completion   ConfirmArrival, ReportNoShow,
    POST /hires/{hire_id}/wage | rating                    CompleteWork, PayWage, Rate
                                                           front_end, staff (own station), admin
    POST /complaints                                       FileComplaint  front_end, staff, admin
    POST /complaints/{complaint_id}/resolution             ResolveComplaint admin
Invariants:
- The contact is unsealed only for the worker who holds the hire (`hire.worker_row`),
  only while the employer's key exists, and is never logged; the response says
  `Cache-Control: no-store`.
- Region of a hire = its job's region (the contact route: the worker's region, so a
  worker's own app can reach a hire across a border); of a complaint = its hire's job, else its worker,
  else its employer.
Limits: lists are cut at `limit` (1..200).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from anyio import to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.bodies import ComplaintIn, RatingIn, ReasonIn, ResolutionIn, WageIn
from adapters.http.common import COMMAND, READ, Ctx, IdempotencyKey, Who, check_new_id, not_found
from adapters.http.problems import ApiError
from adapters.http.scope import hire_region_in, worker_region_in
from adapters.http.views import (
    CommandAccepted,
    ContactView,
    HireView,
    OfferView,
    Subject,
    hire_view,
    offer_view,
)
from engine import commands as c
from engine.state import State

Req = Request[Any, Any, Any]
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]


@get("/workers/{worker_id:str}/offers", tags=["offers"], summary="Live offers", **READ)
async def list_offers(
    worker_id: FromPath[str], ctx: Ctx, who: Who, limit: Limit = 50
) -> list[OfferView]:
    ctx.gate.allow(who, "read", worker=worker_id)

    def query(state: State) -> list[OfferView] | None:
        row = state.worker_rows.get(worker_id)
        if row is None:
            return None
        ids = state.live_offers_of(row)[:limit]
        return [offer_view(state, state.offers[oid]) for oid in ids if oid in state.offers]

    views = await ctx.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if views is None:
        raise not_found("worker_id", "worker")
    return views


@post(
    "/workers/{worker_id:str}/offers/{offer_id:str}/accept",
    tags=["offers"],
    summary="Accept an offer",
    **COMMAND,
)
async def accept_offer(
    request: Req,
    worker_id: FromPath[str],
    offer_id: FromPath[str],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "answer_offer", worker=worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.AcceptOffer(
            command_id=cid, ts_ms=ts, offer_id=offer_id, worker_id=worker_id
        ),
        who,
        idempotency_key,
        Subject(worker=worker_id, offers={offer_id}),
    )


@post(
    "/workers/{worker_id:str}/offers/{offer_id:str}/decline",
    tags=["offers"],
    summary="Decline an offer",
    **COMMAND,
)
async def decline_offer(
    request: Req,
    worker_id: FromPath[str],
    offer_id: FromPath[str],
    data: JSONBody[ReasonIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "answer_offer", worker=worker_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.DeclineOffer(
            command_id=cid, ts_ms=ts, offer_id=offer_id, worker_id=worker_id, reason=data.reason
        ),
        who,
        idempotency_key,
        Subject(worker=worker_id, offers={offer_id}),
    )


@get("/workers/{worker_id:str}/hires", tags=["hires"], summary="A worker's hires", **READ)
async def list_hires(
    worker_id: FromPath[str], ctx: Ctx, who: Who, limit: Limit = 50
) -> list[HireView]:
    ctx.gate.allow(who, "read", worker=worker_id)

    def query(state: State) -> list[HireView] | None:
        row = state.worker_rows.get(worker_id)
        if row is None:
            return None
        ids = state.hires_by_worker.get(row, [])[-limit:]
        return [hire_view(state, state.hires[h]) for h in ids if h in state.hires]

    views = await ctx.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if views is None:
        raise not_found("worker_id", "worker")
    return views


@get("/hires/{hire_id:str}", tags=["hires"], summary="A hire", **READ)
async def get_hire(hire_id: FromPath[str], ctx: Ctx, who: Who) -> HireView:
    ctx.gate.allow(who, "read", hire=hire_id)
    view = await ctx.read_in_region(
        who,
        "hire_id",
        lambda s: hire_region_in(s, hire_id),
        lambda s: hire_view(s, s.hires[hire_id]) if hire_id in s.hires else None,
    )
    if view is None:
        raise not_found("hire_id", "hire")
    return view


@get(
    "/workers/{worker_id:str}/hires/{hire_id:str}/contact",
    tags=["hires"],
    summary="The employer's contact, for the worker of a confirmed hire",
    **READ,
)
async def hire_contact(
    worker_id: FromPath[str], hire_id: FromPath[str], ctx: Ctx, who: Who
) -> Response[ContactView]:
    # the worker's region decides; staff also only for hires of their own station's jobs
    staff = who.role == "station_staff"
    ctx.gate.allow(who, "contact", worker=worker_id, hire=hire_id if staff else None)

    def query(state: State) -> tuple[str, str] | None:
        hire = state.hires.get(hire_id)
        if hire is None or state.worker_ids[hire.worker_row] != worker_id:
            return None
        emp = state.employers.get(hire.employer_id)
        return hire.employer_id, emp.display_name if emp is not None else ""

    found = await ctx.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if found is None:
        raise not_found("hire_id", "hire of this worker")
    employer_id, display = found
    index = ctx.index
    if employer_id not in index.employer_blob:
        log = ctx.service.runtime.log
        await to_thread.run_sync(index.scan_log, log, log.last_seq)
    blob = index.employer_blob.get(employer_id)
    plain = None
    if blob is not None:
        plain = await to_thread.run_sync(
            ctx.service.runtime.sealer.unseal, "employer:" + employer_id, blob
        )
    if plain is None:
        raise ApiError(404, "contact_erased", "the employer left no readable contact", "hire_id")
    view = ContactView(
        hire_id=hire_id,
        employer_id=employer_id,
        employer_name=plain.get("name", display),
        contact_name=plain.get("contact_name", ""),
        contact_mobile=plain.get("contact_mobile", ""),
    )
    return Response(view, headers={"Cache-Control": "no-store"})


async def _hire_command(
    request: Req,
    hire_id: FromPath[str],
    ctx: Ctx,
    who: Who,
    key: str | None,
    make: Callable[[str, int], c.Command],
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "hire_update", hire=hire_id)
    return await ctx.run(request, make, who, key)


HIRE = {"tags": ["hires"], **COMMAND}


@post("/hires/{hire_id:str}/arrival", summary="Confirm the worker arrived (到岗)", **HIRE)
async def hire_arrival(
    request: Req, hire_id: FromPath[str], ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None
) -> Response[CommandAccepted]:
    def make(cid: str, ts: int) -> c.Command:
        return c.ConfirmArrival(command_id=cid, ts_ms=ts, hire_id=hire_id)

    return await _hire_command(request, hire_id, ctx, who, idempotency_key, make)


@post("/hires/{hire_id:str}/no-show", summary="Report a no-show", **HIRE)
async def hire_no_show(
    request: Req, hire_id: FromPath[str], ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None
) -> Response[CommandAccepted]:
    def make(cid: str, ts: int) -> c.Command:
        return c.ReportNoShow(command_id=cid, ts_ms=ts, hire_id=hire_id)

    return await _hire_command(request, hire_id, ctx, who, idempotency_key, make)


@post("/hires/{hire_id:str}/completion", summary="Confirm the work was completed", **HIRE)
async def hire_completion(
    request: Req, hire_id: FromPath[str], ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None
) -> Response[CommandAccepted]:
    def make(cid: str, ts: int) -> c.Command:
        return c.CompleteWork(command_id=cid, ts_ms=ts, hire_id=hire_id)

    return await _hire_command(request, hire_id, ctx, who, idempotency_key, make)


@post("/hires/{hire_id:str}/wage", summary="Record a wage payment", **HIRE)
async def hire_wage(
    request: Req,
    hire_id: FromPath[str],
    data: JSONBody[WageIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    def make(cid: str, ts: int) -> c.Command:
        return c.PayWage(
            command_id=cid,
            ts_ms=ts,
            hire_id=hire_id,
            amount_fen=data.amount_fen,
            method=data.method,
        )

    return await _hire_command(request, hire_id, ctx, who, idempotency_key, make)


@post("/hires/{hire_id:str}/rating", summary="Rate the other side of a hire", **HIRE)
async def hire_rating(
    request: Req,
    hire_id: FromPath[str],
    data: JSONBody[RatingIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    def make(cid: str, ts: int) -> c.Command:
        return c.Rate(command_id=cid, ts_ms=ts, hire_id=hire_id, by=data.by, stars=data.stars)

    return await _hire_command(request, hire_id, ctx, who, idempotency_key, make)


@post("/complaints", tags=["complaints"], summary="File a complaint", **COMMAND)
async def file_complaint(
    request: Req,
    data: JSONBody[ComplaintIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    check_new_id("complaint_id", data.complaint_id)
    if data.hire_id or data.worker_id:
        ctx.gate.allow(
            who, "file_complaint", hire=data.hire_id or None, worker=data.worker_id or None
        )
    else:
        ctx.gate.allow(who, "file_complaint", employer=data.employer_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.FileComplaint(
            command_id=cid,
            ts_ms=ts,
            complaint_id=data.complaint_id,
            kind=data.kind,
            employer_id=data.employer_id,
            worker_id=data.worker_id,
            hire_id=data.hire_id,
            text=data.text,
        ),
        who,
        idempotency_key,
    )


@post(
    "/complaints/{complaint_id:str}/resolution",
    tags=["complaints"],
    summary="Resolve a complaint",
    **COMMAND,
)
async def resolve_complaint(
    request: Req,
    complaint_id: FromPath[str],
    data: JSONBody[ResolutionIn],
    ctx: Ctx,
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[CommandAccepted]:
    ctx.gate.allow(who, "resolve_complaint", complaint=complaint_id)
    return await ctx.run(
        request,
        lambda cid, ts: c.ResolveComplaint(
            command_id=cid, ts_ms=ts, complaint_id=complaint_id, upheld=data.upheld, note=data.note
        ),
        who,
        idempotency_key,
    )


ROUTES = [
    list_offers,
    accept_offer,
    decline_offer,
    list_hires,
    get_hire,
    hire_contact,
    hire_arrival,
    hire_no_show,
    hire_completion,
    hire_wage,
    hire_rating,
    file_complaint,
    resolve_complaint,
]
