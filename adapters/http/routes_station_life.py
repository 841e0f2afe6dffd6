"""What a reviewer sees of a station's application and life (engine.station_life).

Owns the route (every reading role, limited to the token's region)
    GET /stations/{station_id}/application   the materials (the 负责人 masked), the status
                                             in Chinese, the account of each step taken,
                                             the 备案号, the rectification deadline, and
                                             the conditions of the region's current policy
                                             the materials do not meet (in Chinese)
Invariants: read on the writer thread after the region check (another region's station is
403 `region`, an unknown one 404 `exists`); no plain personal data: the 负责人's name is
the masked one of the application's event, held nowhere else in the state.
Limits: one station per request; at most 16 services and 7 step accounts per station.
"""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.params import FromPath

from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.scope import station_region_in
from engine.state import State
from engine.station_life import SERVICE_CN, STATUS_CN, STEP_CN, station_conditions


class StepTaken(msgspec.Struct, kw_only=True):
    step: str
    step_cn: str
    account: str  # the caller's account (token id) that took it


class StationApplication(msgspec.Struct, kw_only=True):
    station_id: str
    name: str
    kind: str
    parent_id: str
    region: str
    status: str
    status_cn: str
    area_m2: int
    hotline: str
    hours: str  # "07:00-18:00", "" when not declared
    services: list[str]  # in Chinese
    staff_count: int
    steps: list[StepTaken]
    filing_no: str
    rectify_due_ms: int  # 0 unless rectifying
    unmet_conditions: list[str]  # in Chinese, under the region's current policy
    children: list[str]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def application_view(state: State, station_id: str) -> StationApplication | None:
    st = state.stations.get(station_id)
    if st is None:
        return None
    declared = st.open_min != st.close_min
    return StationApplication(
        station_id=st.station_id,
        name=st.name,
        kind=st.kind,
        parent_id=st.parent_id,
        region=st.region,
        status=st.status,
        status_cn=STATUS_CN.get(st.status, st.status),
        area_m2=st.area_m2,
        hotline=st.hotline,
        hours=f"{_hhmm(st.open_min)}-{_hhmm(st.close_min)}" if declared else "",
        services=[SERVICE_CN.get(s, s) for s in st.services],
        staff_count=st.staff_count,
        steps=[
            StepTaken(step=step, step_cn=STEP_CN.get(step, step), account=account)
            for step, account in st.accounts.items()
        ],
        filing_no=st.filing_no,
        rectify_due_ms=st.rectify_due_ms,
        unmet_conditions=list(station_conditions(state, st)),
        children=list(st.children),
    )


@get(
    "/stations/{station_id:str}/application",
    tags=["stations"],
    summary="A station's application and life: materials, steps and accounts, conditions",
    **READ,
)
async def station_application(request: Req, station_id: FromPath[str]) -> StationApplication:
    ctx = api_of(request)
    who = ctx.reader(request, station=station_id)
    view = await ctx.read_in_region(
        who,
        "station_id",
        lambda s: station_region_in(s, station_id),
        lambda s: application_view(s, station_id),
    )
    if view is None:
        raise not_found("station_id", "station")
    return view


ROUTES = [station_application]
