"""Read-only queries for front ends: the job hall, keyword search, navigation, stations.

Owns the routes (all roles, results limited to the token's region)
    GET /hall                          open jobs near a point (skill, pay, keyword, sort)
    GET /search                        keyword search (关键字查找) near a point
    GET /jobs/{job_id}/navigation      one-tap navigation links (一键导航), Amap + Baidu
    GET /stations                      stations as a GeoJSON FeatureCollection (RFC 7946)
    GET /stations/{station_id}         one station as a GeoJSON Feature
Invariants: query points pass `engine.geo.check_point` (datum converted to WGS-84, inside
mainland China); GeoJSON positions are [lng, lat] WGS-84, media type `application/geo+json`.
Limits: radius 1..20,000 m; `limit` <= 200 jobs (the matcher's `MAX_HALL`); GeoJSON pages
of at most `Limits.max_geojson` features; keywords 1..32 characters. The hall asks the
matcher for `MAX_HALL` jobs and keeps the region's, so near a region border a page can
hold fewer than `limit` jobs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.http.auth import covers
from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.context import Api
from adapters.http.problems import ApiError
from adapters.http.scope import job_region_in, station_region_in
from adapters.http.views import (
    JobList,
    NavView,
    StationCollection,
    StationFeature,
    job_view,
    station_feature,
)
from engine.authz import Caller
from engine.commands import Refusal
from engine.geo import check_point
from engine.matcher import MAX_HALL, job_hall
from engine.matching.nav import nav_links
from engine.state import State

GEOJSON = "application/geo+json"
MAX_RADIUS_M = 20_000

Lat = Annotated[float, QueryParameter(ge=-90.0, le=90.0, description="latitude, degrees")]
Lng = Annotated[float, QueryParameter(ge=-180.0, le=180.0, description="longitude, degrees")]
Datum = Literal["wgs84", "gcj02", "bd09"]
Radius = Annotated[int, QueryParameter(ge=1, le=MAX_RADIUS_M, description="metres")]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_HALL, description="page size")]
Skill = Annotated[str, QueryParameter(max_length=32)]
Fen = Annotated[int, QueryParameter(ge=0, le=10_000_000)]
Sort = Literal["distance", "pay"]


def _point(lat: float, lng: float, datum: str, field: str) -> tuple[float, float]:
    try:
        return check_point(lat, lng, datum, field=field)
    except Refusal as ref:
        raise ApiError(400, ref.rule, ref.message, ref.field) from None


async def _hall(
    ctx: Api,
    who: Caller,
    lat: float,
    lng: float,
    datum: str,
    radius_m: int,
    skill: str,
    min_day_pay_fen: int,
    keyword: str,
    sort: str,
    limit: int,
) -> JobList:
    w_lat, w_lng = _point(lat, lng, datum, "lat")

    def query(state: State) -> JobList:
        hits = job_hall(
            state,
            w_lat,
            w_lng,
            float(radius_m),
            skill=skill,
            min_day_pay_fen=min_day_pay_fen,
            keyword=keyword,
            sort=sort,
            limit=MAX_HALL,
        )
        jobs = [job_view(state, job, d) for job, d in hits if covers(who, job.region)][:limit]
        return JobList(count=len(jobs), jobs=jobs)

    return await ctx.read(query)


@get("/hall", tags=["hall"], summary="Open jobs near a point (the job hall)", **READ)
async def hall(
    request: Req,
    lat: Lat,
    lng: Lng,
    datum: FromQuery[Datum] = "wgs84",
    radius_m: Radius = 1500,
    skill: Skill = "",
    min_day_pay_fen: Fen = 0,
    keyword: Annotated[str, QueryParameter(max_length=32)] = "",
    sort: FromQuery[Sort] = "distance",
    limit: Limit = 50,
) -> JobList:
    ctx = api_of(request)
    who = ctx.reader(request)
    return await _hall(
        ctx, who, lat, lng, datum, radius_m, skill, min_day_pay_fen, keyword, sort, limit
    )


@get("/search", tags=["hall"], summary="Keyword search over open jobs (关键字查找)", **READ)
async def search(
    request: Req,
    q: Annotated[str, QueryParameter(min_length=1, max_length=32, description="keywords")],
    lat: Lat,
    lng: Lng,
    datum: FromQuery[Datum] = "wgs84",
    radius_m: Radius = 5000,
    skill: Skill = "",
    min_day_pay_fen: Fen = 0,
    sort: FromQuery[Sort] = "distance",
    limit: Limit = 50,
) -> JobList:
    ctx = api_of(request)
    who = ctx.reader(request)
    if not q.strip():
        raise ApiError(400, "required", "give at least one keyword", "q")
    return await _hall(ctx, who, lat, lng, datum, radius_m, skill, min_day_pay_fen, q, sort, limit)


@get(
    "/jobs/{job_id:str}/navigation",
    tags=["hall"],
    summary="Navigation links to a job site (一键导航)",
    **READ,
)
async def navigation(
    request: Req,
    job_id: FromPath[str],
    from_lat: Annotated[float | None, QueryParameter(ge=-90.0, le=90.0)] = None,
    from_lng: Annotated[float | None, QueryParameter(ge=-180.0, le=180.0)] = None,
    datum: FromQuery[Datum] = "wgs84",
    mode: FromQuery[Literal["walk", "bike", "ebike", "bus", "car"]] = "walk",
) -> NavView:
    ctx = api_of(request)
    who = ctx.reader(request, job=job_id)
    if (from_lat is None) != (from_lng is None):
        raise ApiError(
            400, "both_or_neither", "give both from_lat and from_lng, or neither", "from_lat"
        )
    origin: tuple[float, float] | None = None
    if from_lat is not None and from_lng is not None:
        origin = _point(from_lat, from_lng, datum, "from_lat")

    def query(state: State) -> tuple[float, float, str] | None:
        job = state.jobs.get(job_id)
        return None if job is None else (job.lat, job.lng, job.title)

    found = await ctx.read_in_region(who, "job_id", lambda s: job_region_in(s, job_id), query)
    if found is None:
        raise not_found("job_id", "job")
    d_lat, d_lng, title = found
    links = nav_links(
        d_lat,
        d_lng,
        title,
        None if origin is None else origin[0],
        None if origin is None else origin[1],
        mode,
    )
    return NavView(
        job_id=job_id,
        amap=str(links["amap"]),
        baidu=str(links["baidu"]),
        mode=mode,
        distance_m=links["distance_m"],  # type: ignore[arg-type]
        travel_s=links["travel_s"],  # type: ignore[arg-type]
    )


@get(
    "/stations",
    tags=["stations"],
    summary="Stations as GeoJSON (RFC 7946, [lng, lat] WGS-84) for the e-map",
    media_type=GEOJSON,
    **READ,
)
async def stations(
    request: Req,
    status: FromQuery[
        Literal[
            "any",
            "applied",
            "reviewed",
            "returned",
            "approved",
            "rectifying",
            "suspended",
            "revoked",
        ]
    ] = "approved",  # fmt: skip
    kind: FromQuery[Literal["any", "hub", "branch", "post"]] = "any",
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 1000,
) -> StationCollection:
    ctx = api_of(request)
    who = ctx.reader(request)
    limit = min(limit, ctx.limits.max_geojson)

    def query(state: State) -> StationCollection:
        feats: list[StationFeature] = []
        skipped = 0
        for sid, st in state.stations.items():
            if not covers(who, st.region):
                continue
            if (status != "any" and st.status != status) or (kind != "any" and st.kind != kind):
                continue
            if skipped < offset:
                skipped += 1
                continue
            feat = station_feature(state, sid)
            if feat is not None:
                feats.append(feat)
            if len(feats) >= limit:
                break
        return StationCollection(features=feats)

    return await ctx.read(query)


@get(
    "/stations/{station_id:str}",
    tags=["stations"],
    summary="One station as a GeoJSON Feature",
    media_type=GEOJSON,
    **READ,
)
async def station(request: Req, station_id: FromPath[str]) -> StationFeature:
    ctx = api_of(request)
    who = ctx.reader(request, station=station_id)
    feat = await ctx.read_in_region(
        who,
        "station_id",
        lambda s: station_region_in(s, station_id),
        lambda s: station_feature(s, station_id),
    )
    if feat is None:
        raise not_found("station_id", "station")
    return feat


ROUTES = [hall, search, navigation, stations, station]
