"""Morning reads: a posting, and the review queue of held postings.

Owns the routes
    GET /jobs/{job_id}       a posting (with its hold reasons in plain Chinese and the
                             verdict's account, the person's name masked)   every reading role
    GET /jobs?status=held    the review queue: postings held for review, oldest first;
                             filters station, rule, since               station_staff, auditor, admin
The morning's commands (check-in/out, postings, review, cancel, the opening bell) are
routes of the gate's table (`adapters.gate.routes`), served by `adapters.http.commands`;
a review takes the reviewer's station and account from the token (谁收集、谁发布、谁负责).

Invariants: the region is checked on the writer thread; an unknown id is 404. The queue is
scoped by the caller: station staff see their own station's held postings only (another
`station` is 403 `station`), region callers (auditor, admin) the stations of their region;
front ends do not read the queue (403 `role`). Reviewers' names come from the token store,
masked; the log holds only account ids.

Limits: the queue reads `State.held` (postings held now, at most `MAX_LIVE_JOBS`) and
returns at most `MAX_QUEUE` per page (`offset` pages on).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.http.auth import covers
from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.problems import ApiError
from adapters.http.scope import job_region_in
from adapters.http.views import JobList, JobView, job_view
from engine.bounds import MAX_MS
from engine.screen import parse_finding
from engine.state import State

MAX_QUEUE = 200
# the kinds of hold reason the queue filters on: any finding of the discrimination
# screen, one of its rules, or a kind of the pay / employer / duplicate review
QueueRule = Literal[
    "discrimination",
    "sex",
    "age",
    "ethnicity",
    "hukou",
    "origin",
    "appearance",
    "marital",
    "pay_far_below_local",
    "pay_far_above_local",
    "employer_flagged",
    "duplicate_of",
]


def _has_rule(codes: tuple[str, ...], rule: str) -> bool:
    for code in codes:
        finding = parse_finding(code)
        if finding is not None:
            if rule in ("discrimination", finding[0]):
                return True
        elif code.partition(":")[0] == rule:
            return True
    return False


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
    if view.reviewed_by:
        view.reviewer_name = api.tokens.masked_names([view.reviewed_by]).get(view.reviewed_by, "")
    return view


@get(
    "/jobs",
    tags=["morning"],
    summary="The review queue: postings held for review (待审核), oldest first",
    description=(
        "Station staff see their station's held postings; auditors and admins those of "
        "their region. Each posting names why it is held in plain Chinese "
        "(`hold_reasons`: the discriminatory phrase and the rule it breaks, pay far from "
        "the local level, a flagged employer, a duplicate) beside the machine codes."
    ),
    **READ,
)
async def review_queue(
    request: Req,
    status: FromQuery[Literal["held"]],
    station: Annotated[str, QueryParameter(max_length=64, description="station id")] = "",
    rule: FromQuery[QueueRule | None] = None,
    since: Annotated[
        int, QueryParameter(ge=0, lt=MAX_MS, description="held at or after (epoch ms)")
    ] = 0,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_QUEUE)] = 50,
) -> JobList:
    api = api_of(request)
    who = api.reader(request, "review", station=station or None)
    if who.role == "station_staff":
        if station and station != who.station_id:
            raise ApiError(403, "station", "not this token's station (station)", "station")
        station = who.station_id

    def query(state: State) -> JobList:
        jobs: list[JobView] = []
        skipped = 0
        for job_id in state.held:
            job = state.jobs[job_id]
            if station and job.station_id != station:
                continue
            if not covers(who, job.region) or job.held_ms < since:
                continue
            if rule is not None and not _has_rule(job.hold_reasons, rule):
                continue
            if skipped < offset:
                skipped += 1
                continue
            jobs.append(job_view(state, job))
            if len(jobs) >= limit:
                break
        return JobList(count=len(jobs), jobs=jobs)

    return await api.read(query)


ROUTES = [get_job, review_queue]
