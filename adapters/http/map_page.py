"""The public e-map (电子地图): stations and open jobs on a tile map; no login.

Owns the routes (public, rate limited per client address like the board)
    GET /map                 the page: Leaflet (served from /assets) over the configured
                             tile server, a layer of stations and one of open jobs
    GET /map/stations        approved stations (and those under 限期整改) as GeoJSON (name, kind, address, hotline,
                             hours, the board's URL)
    GET /map/jobs            open jobs with room as GeoJSON (title, pay, headcount left,
                             start, collecting station), optionally within a bbox
and `MapTiles` (the tile server: URL template, its datum, attribution; set by
`lingong serve --map-tiles` / `LINGONG_MAP_TILES`, never by the engine), `to_datum`.

Invariants:
- GeoJSON positions are [lng, lat] in the datum asked for (`datum`, default WGS-84 as RFC
  7946 says; `gcj02` for Amap/Tencent tiles, `bd09` for Baidu's), converted by the pure
  functions of `engine.geo`; every feature also says its datum in `properties.datum`.
- No personal data: what the board shows (titles scrubbed of phone and ID numbers), the
  station's public service information; no employer, worker or job address.
- Works offline except for the tiles: the page's script and style come from /assets; the
  points are drawn as vectors (SVG) over a plain grid when tiles fail or are switched off
  (`--map-tiles none`), and on a plain SVG of their own if Leaflet itself cannot run. The
  tile URL template is the only address outside the server a page of lingong names.

Limits: a layer holds at most `Limits.max_geojson` features (`limit`); a bbox is at most
`MAX_BBOX_DEG` on a side; the jobs layer walks the H3 index of open jobs when the bbox
fits its largest radius, otherwise the live jobs (at most `MAX_LIVE_JOBS`). The writer
thread only collects plain tuples (`job_points`); datum conversion and the GeoJSON are
built in a worker thread (`job_collection`), so a big map costs the writer little.
"""

from __future__ import annotations

import html
import math
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery, QueryParameter

from adapters.http.board import _hub
from adapters.http.board_page import KIND_ZH, start_text, station_contact
from adapters.http.context import Api
from adapters.http.problems import PUBLIC_PROBLEMS, ApiError, scrub
from engine.geo import haversine_m, wgs84_to_bd09, wgs84_to_gcj02
from engine.matching.index import MAX_RADIUS_M as INDEX_MAX_RADIUS_M
from engine.present import pay_text_of
from engine.state import State

GEOJSON = "application/geo+json"
MAX_BBOX_DEG = 10.0
DatumName = Literal["wgs84", "gcj02", "bd09"]
SHOWN_STATUSES = ("approved", "rectifying")  # open to the public (限期整改: still serving)


class MapTiles(msgspec.Struct, frozen=True, kw_only=True):
    """The tile server of /map: an XYZ URL template ({z} {x} {y}, optional {s}), the
    datum its tiles are drawn in, and the attribution it requires. `url` "" = no tiles."""

    url: str
    datum: DatumName = "gcj02"
    attribution: str = ""
    subdomains: str = ""
    max_zoom: int = 18


# Amap (高德) road tiles: GCJ-02, reachable from Chinese networks.
DEFAULT_TILES = MapTiles(
    url="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    datum="gcj02",
    attribution="© 高德地图",
    subdomains="1234",
)
NO_TILES = MapTiles(url="", datum="wgs84")


def map_tiles_from(spec: str | None, datum: str | None = None) -> MapTiles:
    """The tiles of `--map-tiles` / `LINGONG_MAP_TILES`: None or "" = the default (Amap),
    "none" = no tiles; else a URL template with {z}, {x} and {y} (datum default GCJ-02)."""
    if spec is None or spec == "":
        return DEFAULT_TILES
    if spec.strip().lower() == "none":
        return NO_TILES
    if not spec.startswith(("http://", "https://", "/")):
        raise ValueError("map tiles: an http(s) URL template or a path on this server")
    if not all(part in spec for part in ("{z}", "{x}", "{y}")):
        raise ValueError("map tiles: the URL template needs {z}, {x} and {y}")
    name = datum or "gcj02"
    if name not in ("wgs84", "gcj02", "bd09"):
        raise ValueError("map tiles datum: wgs84, gcj02 or bd09")
    subdomains = "abc" if "{s}" in spec else ""
    return MapTiles(url=spec, datum=name, subdomains=subdomains)  # type: ignore[arg-type]


def to_datum(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """A WGS-84 point in `datum` (wgs84, gcj02, bd09), rounded to 7 decimals (~1 cm)."""
    if datum == "gcj02":
        lat, lng = wgs84_to_gcj02(lat, lng)
    elif datum == "bd09":
        lat, lng = wgs84_to_bd09(lat, lng)
    elif datum != "wgs84":
        raise ValueError(f"unknown datum {datum!r}")
    return round(lat, 7), round(lng, 7)


# ---------------------------------------------------------------- GeoJSON ----------


class Point(msgspec.Struct, kw_only=True):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]  # [lng, lat] in the datum asked for


class MapStation(msgspec.Struct, kw_only=True):
    name: str
    kind: str  # 零工总站 / 零工分站 / 零工驿站
    address: str
    hotline: str
    hours: str
    board: str  # the board's path
    datum: str


class MapStationFeature(msgspec.Struct, kw_only=True):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Point
    properties: MapStation


class MapJob(msgspec.Struct, kw_only=True):
    title: str
    pay: str  # in its own unit (engine.present): "300 元/天", "25 元/小时", "0.50 元/件"
    left: int
    start: str
    station_id: str
    station: str
    datum: str


class MapJobFeature(msgspec.Struct, kw_only=True):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Point
    properties: MapJob


class MapStations(msgspec.Struct, kw_only=True):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[MapStationFeature]
    truncated: bool = False


class MapJobs(msgspec.Struct, kw_only=True):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[MapJobFeature]
    truncated: bool = False


def station_features(state: State, datum: str, limit: int) -> MapStations:
    feats: list[MapStationFeature] = []
    for sid, st in state.stations.items():
        if st.status not in SHOWN_STATUSES:
            continue
        if len(feats) >= limit:
            return MapStations(features=feats, truncated=True)
        lat, lng = to_datum(st.lat, st.lng, datum)
        address, hotline, hours = station_contact(st)
        feats.append(
            MapStationFeature(
                id=sid,
                geometry=Point(coordinates=(lng, lat)),
                properties=MapStation(
                    name=st.name,
                    kind=KIND_ZH.get(st.kind, ""),
                    address=address,
                    hotline=hotline,
                    hours=hours,
                    board="/board/" + sid,
                    datum=datum,
                ),
            )
        )
    return MapStations(features=feats)


def _job_rows(state: State, bbox: tuple[float, float, float, float] | None) -> list[int]:
    """Rows of open jobs, in row order; within `bbox` (WGS-84) when given."""
    if bbox is None:
        return sorted(j.row for j in state.jobs.values() if j.status == "open")
    west, south, east, north = bbox
    c_lat, c_lng = (south + north) / 2, (west + east) / 2
    radius_m = haversine_m(c_lat, c_lng, north, east) + 1.0
    if radius_m <= INDEX_MAX_RADIUS_M:
        rows = state.open_jobs.query(c_lat, c_lng, radius_m).tolist()
    else:
        rows = [j.row for j in state.jobs.values() if j.status == "open"]
    return sorted(int(r) for r in rows)


# (job id, lat, lng, title, pay in its own unit, slots left, start ms, station id, name)
JobPoint = tuple[str, float, float, str, str, int, int, str, str]


def job_points(
    state: State, limit: int, bbox: tuple[float, float, float, float] | None
) -> tuple[list[JobPoint], bool]:
    """The open jobs with room (within `bbox`), as plain tuples: the part of the jobs
    layer that reads the state (on the writer thread); at most `limit`, and whether more
    were left out."""
    out: list[JobPoint] = []
    for r in _job_rows(state, bbox):
        job = state.jobs.get(state.job_ids[r])
        if job is None or job.status != "open" or job.open_slots <= 0:
            continue
        if bbox is not None and not (
            bbox[0] <= job.lng <= bbox[2] and bbox[1] <= job.lat <= bbox[3]
        ):
            continue
        if len(out) >= limit:
            return out, True
        via = state.stations.get(job.station_id)
        out.append(
            (
                job.job_id,
                job.lat,
                job.lng,
                job.title,
                pay_text_of(job),  # in its own unit ("25 元/小时"): never a day figure
                job.open_slots,
                job.start_ms,
                job.station_id,
                via.name if via is not None else "",
            )
        )
    return out, False


def job_collection(points: list[JobPoint], truncated: bool, datum: str, now_ms: int) -> MapJobs:
    """The jobs layer from `job_points` (pure: run off the writer thread)."""
    feats: list[MapJobFeature] = []
    for job_id, lat0, lng0, title, pay, left, start_ms, station_id, station in points:
        lat, lng = to_datum(lat0, lng0, datum)
        feats.append(
            MapJobFeature(
                id=job_id,
                geometry=Point(coordinates=(lng, lat)),
                properties=MapJob(
                    title=scrub(title),
                    pay=pay,
                    left=left,
                    start=start_text(start_ms, now_ms),
                    station_id=station_id,
                    station=station,
                    datum=datum,
                ),
            )
        )
    return MapJobs(features=feats, truncated=truncated)


def job_features(
    state: State,
    datum: str,
    limit: int,
    bbox: tuple[float, float, float, float] | None,
    now_ms: int,
) -> MapJobs:
    """The jobs layer in one call (tests, tools)."""
    points, truncated = job_points(state, limit, bbox)
    return job_collection(points, truncated, datum, now_ms)


def parse_bbox(text: str) -> tuple[float, float, float, float] | None:
    """ "west,south,east,north" in WGS-84 degrees ("" = none); 400 on anything else."""
    if not text:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ApiError(400, "bbox", "bbox is west,south,east,north in degrees", "bbox")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ApiError(400, "bbox", "bbox needs west < east and south < north", "bbox")
    if east - west > MAX_BBOX_DEG or north - south > MAX_BBOX_DEG:
        raise ApiError(400, "bbox", f"bbox at most {MAX_BBOX_DEG:g} degrees a side", "bbox")
    return west, south, east, north


# ---------------------------------------------------------------- routes -----------

PUBLIC = {"tags": ["stations"], "responses": PUBLIC_PROBLEMS}
Limit = Annotated[int, QueryParameter(ge=1, le=5000, description="features at most")]


def _api(request: Request[Any, Any, Any]) -> Api:
    _hub(request)  # the board's per-address rate limit
    api: Api = request.app.state["api"]
    return api


@get(
    "/map/stations",
    summary="Approved stations as GeoJSON for the public e-map",
    media_type=GEOJSON,
    **PUBLIC,
)
async def map_stations(
    request: Request[Any, Any, Any],
    datum: FromQuery[DatumName] = "wgs84",
    limit: Limit = 5000,
) -> MapStations:
    api = _api(request)
    cap = min(limit, api.limits.max_geojson)
    body: MapStations = await api.read(lambda s: station_features(s, datum, cap))
    return body


@get(
    "/map/jobs",
    summary="Open jobs as GeoJSON for the public e-map",
    media_type=GEOJSON,
    **PUBLIC,
)
async def map_jobs(
    request: Request[Any, Any, Any],
    datum: FromQuery[DatumName] = "wgs84",
    bbox: Annotated[
        str, QueryParameter(max_length=100, description="west,south,east,north (WGS-84)")
    ] = "",
    limit: Limit = 2000,
) -> MapJobs:
    api = _api(request)
    box = parse_bbox(bbox)
    cap = min(limit, api.limits.max_geojson)
    now_ms = api.now_ms()
    points, truncated = await api.read(lambda s: job_points(s, cap, box))
    return await anyio.to_thread.run_sync(job_collection, points, truncated, datum, now_ms)


@get("/map", media_type="text/html", include_in_schema=False)
async def map_html(
    request: Request[Any, Any, Any],
    station: Annotated[str, QueryParameter(max_length=64, description="centre on it")] = "",
) -> Response[str]:
    api = _api(request)
    tiles: MapTiles = request.app.state.get("map_tiles", DEFAULT_TILES)
    datum = tiles.datum if tiles.url else "wgs84"
    center: tuple[float, float] | None = None
    if station:

        def where(state: State) -> tuple[float, float] | None:
            st = state.stations.get(station)
            return None if st is None else (st.lat, st.lng)

        site = await api.read(where)
        if site is None:
            raise ApiError(404, "exists", "no such station", "station")
        center = to_datum(site[0], site[1], datum)
    return Response(
        render_map(tiles, center),
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [map_html, map_stations, map_jobs]


# ---------------------------------------------------------------- the page ---------

_STYLE = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;font-family:"Noto Sans CJK SC","Noto Sans SC",
"Microsoft YaHei","PingFang SC",sans-serif}
header{height:48px;display:flex;align-items:center;gap:1em;padding:0 12px;
background:#0b1f3a;color:#fff}
header h1{font-size:20px;margin:0}
#status{font-size:14px;color:#ffd27d}
#map{position:absolute;top:48px;bottom:0;left:0;right:0;background-color:#eef2f6;
background-image:linear-gradient(#dde3ea 1px,transparent 1px),
linear-gradient(90deg,#dde3ea 1px,transparent 1px);background-size:40px 40px}
#map svg.plain{width:100%;height:100%}
.legend{background:#fff;padding:6px 8px;font-size:13px;line-height:1.6}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px}
"""

_SCRIPT = r"""
(function(){
  var cfg = JSON.parse(document.getElementById('map-config').textContent);
  var status = document.getElementById('status');
  function say(t){ status.textContent = t; }
  function getJSON(url){ return fetch(url).then(function(r){
    if(!r.ok) throw new Error(url + ' ' + r.status); return r.json(); }); }
  function popup(lines){ var d=document.createElement('div');
    lines.forEach(function(t,i){ var p=document.createElement(i?'div':'b');
      p.textContent=t; d.appendChild(p); }); return d; }
  function stationLines(p){ return [p.name, p.kind, '地址：'+(p.address||'—'),
    '服务热线：'+(p.hotline||'—'), '服务时间：'+(p.hours||'—')]; }
  function jobLines(p){ return [p.title, p.pay+' · 还需 '+p.left+' 人',
    p.start, '发布站点：'+p.station]; }
  var datum = cfg.datum;
  if (typeof L === 'undefined') { plain(); return; }
  var map = L.map('map', {preferCanvas:false}).setView([cfg.lat, cfg.lng], cfg.zoom);
  document.body.dataset.engine = 'leaflet';
  if (cfg.tiles) {
    var errors = 0;
    var layer = L.tileLayer(cfg.tiles, {subdomains: cfg.subdomains || 'abc',
      maxZoom: cfg.max_zoom, attribution: cfg.attribution});
    layer.on('tileerror', function(){ errors += 1; if (errors === 1) {
      document.body.dataset.tiles = 'failed';
      say('底图无法加载（可能未连互联网），仅显示站点和岗位位置'); } });
    layer.on('tileload', function(){ document.body.dataset.tiles = 'ok'; });
    layer.addTo(map);
  } else { document.body.dataset.tiles = 'off'; say('未配置底图，仅显示站点和岗位位置'); }
  var stations = L.featureGroup().addTo(map), jobs = L.featureGroup().addTo(map);
  L.control.layers(null, {'零工站点': stations, '在招岗位': jobs}).addTo(map);
  var legend = L.control({position:'bottomleft'});
  legend.onAdd = function(){ var d=L.DomUtil.create('div','legend');
    d.innerHTML = '<span class="dot" style="background:#1f6fd1"></span>零工站点<br>' +
      '<span class="dot" style="background:#e8590c"></span>在招岗位'; return d; };
  legend.addTo(map);
  function ll(f){ return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }
  getJSON('/map/stations?datum=' + datum).then(function(fc){
    fc.features.forEach(function(f){
      L.circleMarker(ll(f), {radius:9, color:'#0b3d91', fillColor:'#1f6fd1',
        fillOpacity:0.9, weight:2}).bindPopup(popup(stationLines(f.properties)))
        .addTo(stations); });
    document.body.dataset.stations = fc.features.length;
    if (!cfg.centered && fc.features.length) {
      map.fitBounds(stations.getBounds(), {maxZoom: 14, padding: [30, 30]}); }
    loadJobs();
  }).catch(function(e){ say('站点加载失败：' + e.message); });
  function loadJobs(){
    var b = map.getBounds(), pad = 0.02;
    var box = [Math.max(-180, b.getWest()-pad), Math.max(-90, b.getSouth()-pad),
      Math.min(180, b.getEast()+pad), Math.min(90, b.getNorth()+pad)];
    var q = (box[2]-box[0] <= 10 && box[3]-box[1] <= 10) ?
      '&bbox=' + box.map(function(v){return v.toFixed(5);}).join(',') : '';
    getJSON('/map/jobs?datum=' + datum + q).then(function(fc){
      jobs.clearLayers();
      fc.features.forEach(function(f){
        L.circleMarker(ll(f), {radius:6, color:'#a93f00', fillColor:'#e8590c',
          fillOpacity:0.85, weight:1}).bindPopup(popup(jobLines(f.properties)))
          .addTo(jobs); });
      document.body.dataset.jobs = fc.features.length;
      if (fc.truncated) { say('岗位较多，仅显示 ' + fc.features.length + ' 个，请放大地图'); }
    }).catch(function(e){ say('岗位加载失败：' + e.message); });
  }
  map.on('moveend', loadJobs);
  function plain(){
    document.body.dataset.engine = 'svg';
    say('地图组件无法加载，以简图显示');
    Promise.all([getJSON('/map/stations?datum=wgs84'), getJSON('/map/jobs?datum=wgs84')])
    .then(function(r){
      var all = r[0].features.concat(r[1].features);
      if (!all.length) return;
      var xs = all.map(function(f){return f.geometry.coordinates[0];});
      var ys = all.map(function(f){return f.geometry.coordinates[1];});
      var x0=Math.min.apply(null,xs), x1=Math.max.apply(null,xs)+1e-6;
      var y0=Math.min.apply(null,ys), y1=Math.max.apply(null,ys)+1e-6;
      var ns='http://www.w3.org/2000/svg', svg=document.createElementNS(ns,'svg');
      svg.setAttribute('class','plain'); svg.setAttribute('viewBox','-5 -5 110 110');
      function dot(f, r, color, lines){ var c=document.createElementNS(ns,'circle');
        c.setAttribute('cx', 100*(f.geometry.coordinates[0]-x0)/(x1-x0));
        c.setAttribute('cy', 100*(y1-f.geometry.coordinates[1])/(y1-y0));
        c.setAttribute('r', r); c.setAttribute('fill', color);
        var t=document.createElementNS(ns,'title'); t.textContent=lines.join(' · ');
        c.appendChild(t); svg.appendChild(c); }
      r[1].features.forEach(function(f){dot(f,0.8,'#e8590c',jobLines(f.properties));});
      r[0].features.forEach(function(f){dot(f,1.4,'#1f6fd1',stationLines(f.properties));});
      document.getElementById('map').appendChild(svg);
      document.body.dataset.stations = r[0].features.length;
      document.body.dataset.jobs = r[1].features.length;
    }).catch(function(e){ say('加载失败：' + e.message); });
  }
})();
"""


def render_map(tiles: MapTiles, center: tuple[float, float] | None = None) -> str:
    """The /map page (Leaflet and its style from /assets; the tile URL in the config).
    `center`: a point in the tiles' datum to open on (else the stations' extent)."""
    from adapters.http.assets import FAVICON_LINK, asset_url

    config = msgspec.json.encode(
        {
            "tiles": tiles.url,
            "datum": tiles.datum if tiles.url else "wgs84",
            "attribution": tiles.attribution,
            "subdomains": tiles.subdomains,
            "max_zoom": tiles.max_zoom,
            "lat": 35.0 if center is None else center[0],
            "lng": 105.0 if center is None else center[1],
            "zoom": 4 if center is None else 15,
            "centered": center is not None,
        }
    ).decode()
    config = config.replace("</", "<\\/")
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>零工市场电子地图</title>{FAVICON_LINK}"
        f'<link rel="stylesheet" href="{asset_url("leaflet/leaflet.css")}">'
        f"<style>{_STYLE}</style></head><body>"
        '<header><h1>零工市场电子地图</h1><span id="status"></span></header>'
        '<div id="map"></div>'
        f'<script type="application/json" id="map-config">{config}</script>'
        f'<script src="{asset_url("leaflet/leaflet.js")}"></script>'
        f"<script>{_SCRIPT}</script>"
        f"<noscript>{html.escape('请启用 JavaScript 查看地图')}</noscript></body></html>"
    )
