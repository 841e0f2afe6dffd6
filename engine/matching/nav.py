"""One-tap navigation (一键导航): deep links into Amap and Baidu Maps for a job site.

Owns: `nav_links`, building an Amap URI (GCJ-02 coordinates) and a Baidu URI (BD-09)
from a WGS-84 destination, plus the great-circle distance and the estimated travel time
by travel mode when the origin is known.

Invariants:
- Stored coordinates are WGS-84; the datum conversion is `engine.geo`'s (one copy).
- Coordinates are written with 6 decimals (~0.1 m) in each map's own datum and order:
  Amap `lng,lat`, Baidu `lat,lng`. Place names are percent-encoded UTF-8.
- Travel time uses the kernels' model: distance * DETOUR / SPEEDS_MPS[mode].

Limits: names are cut to `MAX_NAME_CHARS`; travel modes map to the closest the apps
offer (bike and e-bike -> ride/riding, bus -> bus/transit).
"""

from __future__ import annotations

from urllib.parse import quote

from engine.geo import haversine_m, wgs84_to_bd09, wgs84_to_gcj02
from engine.matching.params import DETOUR, SPEEDS_MPS
from engine.matching.workers import MODES

MAX_NAME_CHARS = 64
AMAP_MODES = {"walk": "walk", "bike": "ride", "ebike": "ride", "bus": "bus", "car": "car"}
BAIDU_MODES = {
    "walk": "walking",
    "bike": "riding",
    "ebike": "riding",
    "bus": "transit",
    "car": "driving",
}
ORIGIN_NAME = "我的位置"


def _name(name: str) -> str:
    return quote(name[:MAX_NAME_CHARS] or "目的地", safe="")


def nav_links(
    dest_lat: float,
    dest_lng: float,
    name: str,
    from_lat: float | None = None,
    from_lng: float | None = None,
    mode: str = "walk",
) -> dict[str, object]:
    """Links for navigating to (dest_lat, dest_lng) (WGS-84) with travel `mode`.

    Returns {"amap": str, "baidu": str, "mode": mode, "distance_m": int | None,
    "travel_s": int | None}; distance and time need the origin (from_lat, from_lng),
    which is then also written into both links (else the apps start from the phone's
    own location).
    """
    if mode not in MODES:
        raise ValueError(f"unknown travel mode {mode!r}; known: {', '.join(MODES)}")
    if (from_lat is None) != (from_lng is None):
        raise ValueError("give both from_lat and from_lng, or neither")
    g_lat, g_lng = wgs84_to_gcj02(dest_lat, dest_lng)
    b_lat, b_lng = wgs84_to_bd09(dest_lat, dest_lng)
    label = _name(name)
    amap_from = baidu_from = ""
    distance_m = travel_s = None
    if from_lat is not None and from_lng is not None:
        fg_lat, fg_lng = wgs84_to_gcj02(from_lat, from_lng)
        fb_lat, fb_lng = wgs84_to_bd09(from_lat, from_lng)
        origin = quote(ORIGIN_NAME, safe="")
        amap_from = f"from={fg_lng:.6f},{fg_lat:.6f},{origin}&"
        baidu_from = f"origin=latlng:{fb_lat:.6f},{fb_lng:.6f}|name:{origin}&"
        d = haversine_m(from_lat, from_lng, dest_lat, dest_lng)
        distance_m = round(d)
        travel_s = round(d * DETOUR / float(SPEEDS_MPS[MODES.index(mode)]))
    amap = (
        f"https://uri.amap.com/navigation?{amap_from}to={g_lng:.6f},{g_lat:.6f},{label}"
        f"&mode={AMAP_MODES[mode]}&coordinate=gaode&callnative=1"
    )
    baidu = (
        f"https://api.map.baidu.com/direction?{baidu_from}"
        f"destination=latlng:{b_lat:.6f},{b_lng:.6f}|name:{label}"
        f"&mode={BAIDU_MODES[mode]}&coord_type=bd09ll&output=html&src=lingong"
    )
    return {
        "amap": amap,
        "baidu": baidu,
        "mode": mode,
        "distance_m": distance_m,
        "travel_s": travel_s,
    }
