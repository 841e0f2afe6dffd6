"""Complaint cases for the people who answer them: list, filter and read (issue 14).

Owns the routes (station_staff, auditor, admin; results limited to the token's region)
    GET /complaints                    cases, filtered by status, kind, station, overdue
    GET /complaints/{complaint_id}     one case
and `ComplaintView`. Filing and the steps of a case are commands of the gate's route
table (`POST /complaints`, `POST /complaints/{id}/status`), served by
`adapters.http.commands`.
Invariants:
- A case is shown only to callers whose region covers the case's region (its job's, the
  answering station's; the employer's when the job had left the core); staff see
  their whole region (reads are region-wide) and filter by station (`station=mine` is
  the token's own station).
- `overdue` is the engine's decision (a `Tick` past the 限时办结 deadline), never this
  server's clock; `due_ms` is shown so people see how long is left.
- No free text: complaint text and notes stay sealed (the complainant's key) and are not
  shown here; names of kinds and steps are Chinese (`engine.reference.complaints`).
Limits: `limit` 1..200 cases per page, oldest deadline first; one pass over the core's
complaint table (at most `MAX_LIVE_COMPLAINTS` live cases plus those closed in the last
`CLOSED_COMPLAINT_KEEP_MS`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.http.auth import covers
from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.problems import ApiError
from engine.reference.complaints import kind_name, status_name
from engine.state import Complaint, State

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
StatusFilter = Literal[
    "any", "live", "closed", "open", "accepted", "investigating", "resolved", "rejected",
    "upheld", "dismissed",
]  # fmt: skip
KindFilter = Literal["any", "wage_arrears", "safety", "fraud", "discrimination"]
StationFilter = Annotated[str, QueryParameter(max_length=64, description="station id or 'mine'")]


class ComplaintView(msgspec.Struct, kw_only=True):
    complaint_id: str
    kind: str
    kind_name: str  # 拖欠工资 ...
    status: str
    status_name: str  # 待受理, 已受理, 调查处理中, 已办结, 不予受理 ...
    live: bool
    overdue: bool  # still open at its deadline (decided by a Tick)
    station_id: str  # the station answering the case
    region: str  # the job's region (the answering station's)
    employer_id: str
    worker_id: str  # the complainant
    hire_id: str
    filed_ms: int
    due_ms: int  # 限时办结 deadline
    changed_ms: int


def complaint_view(comp: Complaint) -> ComplaintView:
    return ComplaintView(
        complaint_id=comp.complaint_id,
        kind=comp.kind,
        kind_name=kind_name(comp.kind),
        status=comp.status,
        status_name=status_name(comp.status),
        live=comp.live,
        overdue=comp.overdue,
        station_id=comp.station_id,
        region=comp.region,
        employer_id=comp.employer_id,
        worker_id=comp.worker_id,
        hire_id=comp.hire_id,
        filed_ms=comp.filed_ms,
        due_ms=comp.due_ms,
        changed_ms=comp.changed_ms,
    )


def _status_ok(comp: Complaint, status: str) -> bool:
    if status == "any":
        return True
    if status == "live":
        return comp.live
    if status == "closed":
        return not comp.live
    return comp.status == status


@get("/complaints", tags=["complaints"], summary="Complaint cases (投诉) to answer", **READ)
async def list_complaints(
    request: Req,
    status: FromQuery[StatusFilter] = "any",
    kind: FromQuery[KindFilter] = "any",
    station: StationFilter = "",
    overdue: FromQuery[bool | None] = None,
    limit: Limit = 50,
) -> list[ComplaintView]:
    api = api_of(request)
    who = api.reader(request, "complaints")
    if station == "mine":
        if not who.station_id:
            raise ApiError(400, "station", "station=mine needs a station staff token", "station")
        station = who.station_id

    def query(state: State) -> list[ComplaintView]:
        found = [
            comp
            for comp in state.complaints.values()
            if covers(who, comp.region)
            and _status_ok(comp, status)
            and (kind == "any" or comp.kind == kind)
            and (not station or comp.station_id == station)
            and (overdue is None or comp.overdue == overdue)
        ]
        found.sort(key=lambda comp: (comp.due_ms, comp.complaint_id))
        return [complaint_view(comp) for comp in found[:limit]]

    return await api.read(query)


@get("/complaints/{complaint_id:str}", tags=["complaints"], summary="One complaint case", **READ)
async def get_complaint(request: Req, complaint_id: FromPath[str]) -> ComplaintView:
    api = api_of(request)
    who = api.reader(request, "complaints")

    def region_of(state: State) -> str | None:
        comp = state.complaints.get(complaint_id)
        return None if comp is None else comp.region

    def one(state: State) -> ComplaintView | None:
        comp = state.complaints.get(complaint_id)
        return None if comp is None else complaint_view(comp)

    view = await api.read_in_region(who, "complaint_id", region_of, one)
    if view is None:
        raise not_found("complaint_id", "complaint")
    return view


ROUTES = [list_complaints, get_complaint]
