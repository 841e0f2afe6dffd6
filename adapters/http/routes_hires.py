"""Offer and hire reads, and the employer's contact for a hired worker.

Owns the routes
    GET /workers/{worker_id}/offers                    live offers     every reading role
    GET /workers/{worker_id}/jobs/{job_id}             a job as this worker sees it (card)
    GET /workers/{worker_id}/hires                     hires           every reading role
    GET /hires/{hire_id}                               a hire          every reading role
    GET /workers/{worker_id}/hires/{hire_id}/contact   the employer's contact, plain
                                                       front_end, station_staff (own station)
The offer, hire and complaint commands are routes of the gate's table
(`adapters.gate.routes`), served by `adapters.http.commands`.
Invariants:
- The contact is unsealed only for the worker who holds the hire (`hire.worker_row`),
  only while the employer's key exists, and is never logged; the response says
  `Cache-Control: no-store`. Station staff see it only for hires of their own station's
  jobs, checked on the writer thread (an unknown hire is 404, never let through).
- Region of a hire = its job's region (the contact route: the worker's region, so a
  worker's own app can reach a hire across a border).
Limits: lists are cut at `limit` (1..200).
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from litestar import Response, get
from litestar.params import FromPath, QueryParameter

from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.problems import ApiError
from adapters.http.scope import hire_region_in, worker_region_in
from adapters.http.views import (
    ContactView,
    HireView,
    OfferView,
    hire_view,
    offer_view,
    worker_card,
)
from engine.present import JobCard
from engine.state import State

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
_OTHER_STATION = object()


@get("/workers/{worker_id:str}/offers", tags=["offers"], summary="Live offers", **READ)
async def list_offers(request: Req, worker_id: FromPath[str], limit: Limit = 50) -> list[OfferView]:
    api = api_of(request)
    who = api.reader(request, worker=worker_id)

    def query(state: State) -> list[OfferView] | None:
        row = state.worker_rows.get(worker_id)
        if row is None:
            return None
        ids = state.live_offers_of(row)[:limit]
        return [offer_view(state, state.offers[oid]) for oid in ids if oid in state.offers]

    views = await api.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if views is None:
        raise not_found("worker_id", "worker")
    return views


@get(
    "/workers/{worker_id:str}/jobs/{job_id:str}",
    tags=["offers"],
    summary="A job as this worker sees it (岗位信息: pay in its unit, distance, navigation)",
    **READ,
)
async def worker_job(request: Req, worker_id: FromPath[str], job_id: FromPath[str]) -> JobCard:
    api = api_of(request)
    who = api.reader(request, worker=worker_id)

    def query(state: State) -> JobCard | None:
        row = state.worker_rows.get(worker_id)
        job = state.jobs.get(job_id)
        if row is None or job is None or job.status not in ("open", "filled"):
            return None
        return worker_card(state, job, row)

    card = await api.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if card is None:
        raise not_found("job_id", "open job")
    return card


@get("/workers/{worker_id:str}/hires", tags=["hires"], summary="A worker's hires", **READ)
async def list_hires(request: Req, worker_id: FromPath[str], limit: Limit = 50) -> list[HireView]:
    api = api_of(request)
    who = api.reader(request, worker=worker_id)

    def query(state: State) -> list[HireView] | None:
        row = state.worker_rows.get(worker_id)
        if row is None:
            return None
        ids = state.hires_by_worker.get(row, [])[-limit:]
        return [hire_view(state, state.hires[h]) for h in ids if h in state.hires]

    views = await api.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if views is None:
        raise not_found("worker_id", "worker")
    return views


@get("/hires/{hire_id:str}", tags=["hires"], summary="A hire", **READ)
async def get_hire(request: Req, hire_id: FromPath[str]) -> HireView:
    api = api_of(request)
    who = api.reader(request, hire=hire_id)
    view = await api.read_in_region(
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
    request: Req, worker_id: FromPath[str], hire_id: FromPath[str]
) -> Response[ContactView]:
    api = api_of(request)
    # the worker's region decides; staff also only for hires of their own station's jobs
    staff = api.caller(request).role == "station_staff"
    who = api.reader(request, "contact", worker=worker_id, hire=hire_id if staff else None)

    def query(state: State) -> tuple[str, str] | object | None:
        hire = state.hires.get(hire_id)
        if hire is None or state.worker_ids[hire.worker_row] != worker_id:
            return None
        job = state.jobs.get(hire.job_id)
        if staff and (job is None or job.station_id != who.station_id):
            return _OTHER_STATION
        emp = state.employers.get(hire.employer_id)
        return hire.employer_id, emp.display_name if emp is not None else ""

    found = await api.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if found is _OTHER_STATION:
        raise ApiError(403, "station", "not this token's station (hire_id)", "hire_id")
    if found is None:
        raise not_found("hire_id", "hire of this worker")
    employer_id, display = found  # type: ignore[misc]
    index = api.index
    if employer_id not in index.employer_blob:
        log = api.service.runtime.log  # read through the one read port (a LogReader)
        await to_thread.run_sync(index.scan_log, log, log.last_seq)
    blob = index.employer_blob.get(employer_id)
    plain = None
    if blob is not None:
        plain = await to_thread.run_sync(
            api.service.runtime.sealer.unseal, "employer:" + employer_id, blob
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


ROUTES = [list_offers, worker_job, list_hires, get_hire, hire_contact]
