"""Registry reads: a worker (masked) and an employer.

Owns the routes
    GET /workers/{worker_id}        a worker (no personal data)   every reading role
    GET /employers/{employer_id}    an employer                    every reading role
The registry's commands (POST /workers, PATCH /workers/{id}, POST /workers/{id}/erasure
with {reason}, POST /employers, /employers/{id}/flags, /stations, /stations/{id}/status,
/policies) are routes of the
gate's table (`adapters.gate.routes`), served by `adapters.http.commands`.
Invariants: the region is checked on the writer thread (`Api.read_in_region`); an
unknown id is 404, never data of another region.
Limits: none.
"""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath

from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.scope import employer_region_in, worker_region_in
from adapters.http.views import EmployerView, WorkerView, employer_view, worker_view


@get("/workers/{worker_id:str}", tags=["registry"], summary="A worker (masked)", **READ)
async def get_worker(request: Req, worker_id: FromPath[str]) -> WorkerView:
    api = api_of(request)
    who = api.reader(request, worker=worker_id)
    view = await api.read_in_region(
        who,
        "worker_id",
        lambda s: worker_region_in(s, worker_id),
        lambda s: worker_view(s, worker_id),
    )
    if view is None:
        raise not_found("worker_id", "worker")
    return view


@get("/employers/{employer_id:str}", tags=["registry"], summary="An employer", **READ)
async def get_employer(request: Req, employer_id: FromPath[str]) -> EmployerView:
    api = api_of(request)
    who = api.reader(request, employer=employer_id)
    view = await api.read_in_region(
        who,
        "employer_id",
        lambda s: employer_region_in(s, employer_id),
        lambda s: employer_view(s, employer_id),
    )
    if view is None:
        raise not_found("employer_id", "employer")
    return view


ROUTES = [get_worker, get_employer]
