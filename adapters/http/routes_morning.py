"""Morning reads: a posting.

Owns the route
    GET /jobs/{job_id}    a posting    every reading role
The morning's commands (check-in/out, postings, review, cancel, the opening bell) are
routes of the gate's table (`adapters.gate.routes`), served by `adapters.http.commands`;
a review takes the reviewer's station and staff id from the token (谁收集、谁发布、谁负责).
Invariants: the region is checked on the writer thread; an unknown id is 404.
Limits: none.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import FromPath

from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.scope import job_region_in
from adapters.http.views import JobView, job_view


@get("/jobs/{job_id:str}", tags=["morning"], summary="A posting", **READ)
async def get_job(request: Req, job_id: FromPath[str]) -> JobView:
    api = api_of(request)
    who = api.reader(request, job=job_id)

    def query(state: Any) -> JobView | None:
        job = state.jobs.get(job_id)
        return None if job is None else job_view(state, job)

    view = await api.read_in_region(who, "job_id", lambda s: job_region_in(s, job_id), query)
    if view is None:
        raise not_found("job_id", "job")
    return view


ROUTES = [get_job]
