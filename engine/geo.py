"""Coordinates, distances and local (Asia/Shanghai) calendar arithmetic.

Owns:
- the datum conversions between WGS-84 (GPS, what the log stores), GCJ-02 (Amap, Tencent:
  the state-mandated offset datum) and BD-09 (Baidu: a further rotation of GCJ-02);
- `check_point`, the one gate every inbound coordinate passes: finite, in range, a known
  datum, the declared point in China's bounding box, the WGS-84 point inside mainland
  China (`in_china`); returns WGS-84 rounded to 7 decimals (~1 cm);
- `in_china`, the mainland-China test: the vendored boundary `engine.reference.china_land`
  behind the grid index of `engine.landgrid` (`MAINLAND`);
- `haversine_m`, the great-circle distance used everywhere outside the numba kernels;
- local-time helpers for Asia/Shanghai (UTC+8 all year: China has had no DST since 1991).

Invariants:
- Every function is pure: plain float arithmetic with `math`, no clock, no tz database,
  no randomness. Same inputs, same bits out on any IEEE-754 machine with the same libm.
- All coordinate tuples are (lat, lng) in degrees, in and out.
- `haversine_m` evaluates exactly the operation sequence documented on it with
  `EARTH_RADIUS_M`; the matcher's numba kernel repeats that sequence so that the two agree
  bit for bit on the same libm (no fastmath there).
- The inverse conversions (`gcj02_to_wgs84`, `bd09_to_gcj02` and the composites) are
  iterated against the forward formulas until the residual is below `_INVERSE_TOL_DEG`
  (~0.1 mm), so a round trip is exact to well under 1 cm.

Limits:
- The GCJ-02 formulas are the public reverse-engineered ones (a = 6378245.0,
  ee = 0.00669342162296594323). The usual code makes GCJ-02 the identity outside China;
  here the formulas are applied everywhere and `check_point` refuses points outside China
  instead, so no stored point depends on that special case.
- `in_china` is mainland China's land boundary from Natural Earth 1:10m Admin 0 Countries
  v4.1.0 (public domain; via npm world-atlas@2.0.2, generated into
  engine/reference/china_land.py by tools/build_china_land.py), de facto boundaries,
  accurate to a few hundred metres: a town's edge within ~1 km of a land border may fall
  on the wrong side. Hong Kong, Macao and Taiwan are outside by policy (lingong serves
  mainland 零工市场 only). Sea within ~5 km of the mainland coast and nearer to it than to
  other land passes (piers, reclaimed land). The Paracels, the Spratlys and Scarborough
  Reef pass (as drawn by Natural Earth); Arunachal Pradesh follows the line of actual
  control. Cost: one string lookup, or at most ~80 edge tests in a boundary cell.
- Local-time helpers assume the proleptic Gregorian calendar and years 1..9999.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from engine import landgrid
from engine.commands import Refusal
from engine.reference import china_land

Datum = Literal["wgs84", "gcj02", "bd09"]
DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

EARTH_RADIUS_M = 6371008.8  # IUGG mean Earth radius R1 (m)
DEG_TO_RAD = math.pi / 180.0


def _decode_ring(text: str) -> tuple[float, ...]:
    """A ring's "lat lng lat lng ..." integers (1e-5 degrees) as floats."""
    return tuple(int(v) / china_land.COORD_SCALE for v in text.split())


# Mainland China (see Limits): the accepted area and its grid index.
MAINLAND = landgrid.PolygonGrid(
    tuple(_decode_ring(r) for r in china_land.RINGS),
    china_land.GRID_LAT0_DEG,
    china_land.GRID_LNG0_DEG,
    china_land.GRID_CELL_LAT_DEG,
    china_land.GRID_CELL_LNG_DEG,
    china_land.GRID_ROWS,
    china_land.GRID_COLS,
    landgrid.decode_cells(china_land.CELLS),
)
# Its bounding box (degrees): the Spratlys in the south to Mohe in the north, the Pamirs
# in the west to the Heilong/Wusuli confluence in the east.
CHINA_LAT_MIN_DEG = MAINLAND.lat_min_deg
CHINA_LAT_MAX_DEG = MAINLAND.lat_max_deg
CHINA_LNG_MIN_DEG = MAINLAND.lng_min_deg
CHINA_LNG_MAX_DEG = MAINLAND.lng_max_deg
# GCJ-02 and BD-09 points sit up to ~1.3 km from their WGS-84 place; the box test of a
# declared (not yet converted) point allows this much slack.
DATUM_SLACK_DEG = 0.02

STORED_DECIMALS = 7  # 1e-7 deg is ~1.1 cm of latitude

# GCJ-02 (Krasovsky 1940 ellipsoid) and BD-09 constants of the public formulas.
_GCJ_A_M = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

_INVERSE_TOL_DEG = 1e-12  # stop iterating once the residual is below this (~0.1 um)
_INVERSE_MAX_ITER = 50

# Asia/Shanghai is UTC+8 with no DST (since 1991).
LOCAL_OFFSET_MS = 8 * 3600 * 1000
MS_PER_DAY = 86_400_000
MS_PER_MINUTE = 60_000


# ------------------------------------------------------------------ GCJ-02 ---------


def _gcj_dlat(x: float, y: float) -> float:
    """Latitude offset term of the GCJ-02 formulas; x = lng - 105, y = lat - 35."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _gcj_dlng(x: float, y: float) -> float:
    """Longitude offset term of the GCJ-02 formulas; x = lng - 105, y = lat - 35."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (the forward offset; applied everywhere, see Limits)."""
    dlat = _gcj_dlat(lng - 105.0, lat - 35.0)
    dlng = _gcj_dlng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1.0 - _GCJ_EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A_M * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_GCJ_A_M / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def _invert(
    forward: Callable[[float, float], tuple[float, float]],
    lat: float,
    lng: float,
    guess: tuple[float, float],
) -> tuple[float, float]:
    """Solve forward(p) == (lat, lng) by fixed-point iteration from `guess`.

    The forward maps are the identity plus a small, slowly varying offset, so the update
    p += target - forward(p) contracts quickly (a handful of steps to 1e-12 deg).
    """
    p_lat, p_lng = guess
    for _ in range(_INVERSE_MAX_ITER):
        f_lat, f_lng = forward(p_lat, p_lng)
        d_lat = lat - f_lat
        d_lng = lng - f_lng
        p_lat += d_lat
        p_lng += d_lng
        if abs(d_lat) < _INVERSE_TOL_DEG and abs(d_lng) < _INVERSE_TOL_DEG:
            break
    return p_lat, p_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 by iterating the forward offset (residual < 1e-12 deg)."""
    return _invert(wgs84_to_gcj02, lat, lng, (lat, lng))


# ------------------------------------------------------------------ BD-09 ----------


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09 (Baidu's rotation and shift of GCJ-02)."""
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _BD_X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_approx(lat: float, lng: float) -> tuple[float, float]:
    """The usual one-step BD-09 -> GCJ-02 formula (error up to ~1e-6 deg)."""
    x = lng - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """BD-09 -> GCJ-02: the usual formula refined against `gcj02_to_bd09` (exact inverse)."""
    return _invert(gcj02_to_bd09, lat, lng, _bd09_to_gcj02_approx(lat, lng))


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 -> BD-09 (via GCJ-02)."""
    g_lat, g_lng = wgs84_to_gcj02(lat, lng)
    return gcj02_to_bd09(g_lat, g_lng)


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """BD-09 -> WGS-84 (via GCJ-02)."""
    g_lat, g_lng = bd09_to_gcj02(lat, lng)
    return gcj02_to_wgs84(g_lat, g_lng)


def to_wgs84(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert (lat, lng) declared in `datum` to WGS-84; ValueError on an unknown datum."""
    if datum == "wgs84":
        return lat, lng
    if datum == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    if datum == "bd09":
        return bd09_to_wgs84(lat, lng)
    raise ValueError(f"unknown datum {datum!r}; expected one of {', '.join(DATUMS)}")


# ------------------------------------------------------------------ validation -----


def in_china_box(lat: float, lng: float, slack_deg: float = DATUM_SLACK_DEG) -> bool:
    """True when (lat, lng) lies in mainland China's bounding box grown by `slack_deg`."""
    return (
        CHINA_LAT_MIN_DEG - slack_deg <= lat <= CHINA_LAT_MAX_DEG + slack_deg
        and CHINA_LNG_MIN_DEG - slack_deg <= lng <= CHINA_LNG_MAX_DEG + slack_deg
    )


def in_china(lat: float, lng: float) -> bool:
    """True when WGS-84 (lat, lng) lies in mainland China (see Limits; HK, MO, TW: False)."""
    return MAINLAND.contains(lat, lng)


def in_hk_mo_tw(lat: float, lng: float) -> bool:
    """True when (lat, lng) is near Hong Kong, Macao or Taiwan's islands (boxes only).

    Only words a refusal of a point `in_china` already refused; near Shenzhen or Zhuhai
    the boxes also cover mainland land.
    """
    for lat_min, lat_max, lng_min, lng_max in china_land.HK_MO_TW_BOXES:
        if lat_min <= lat <= lat_max and lng_min <= lng <= lng_max:
            return True
    return False


def _outside(field: str, lat: float, lng: float, when: str) -> Refusal:
    if in_hk_mo_tw(lat, lng):
        return Refusal(
            field,
            "china_mainland",
            f"point is in Hong Kong, Macao or Taiwan{when}: lingong serves mainland China"
            " only (港澳台坐标不受理)",
        )
    return Refusal(field, "china_mainland", f"point is outside mainland China{when} (境外坐标)")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_point(
    lat: float, lng: float, datum: str = "wgs84", field: str = "location"
) -> tuple[float, float]:
    """Validate an inbound coordinate and return it as WGS-84 rounded to 7 decimals.

    Refusal rules: "finite" (not a finite number), "range" (|lat| > 90 or |lng| > 180),
    "datum" (not wgs84/gcj02/bd09), "china_mainland" (outside mainland China: abroad, or
    in Hong Kong, Macao or Taiwan, which the message names). The declared point must lie
    in China's bounding box (with `DATUM_SLACK_DEG`: a cheap gate before the conversion);
    the converted, rounded WGS-84 point, the one stored, must pass `in_china`. Testing the
    declared GCJ-02/BD-09 point against the WGS-84 boundary would misplace it by up to
    ~1.3 km and refuse real places near a border.
    """
    for name, value in (("lat", lat), ("lng", lng)):
        if not _is_number(value) or not math.isfinite(value):
            raise Refusal(f"{field}.{name}", "finite", f"{name} must be a finite number")
    lat = float(lat)
    lng = float(lng)
    if not -90.0 <= lat <= 90.0:
        raise Refusal(f"{field}.lat", "range", "lat must be within -90..90 degrees")
    if not -180.0 <= lng <= 180.0:
        raise Refusal(f"{field}.lng", "range", "lng must be within -180..180 degrees")
    if datum not in DATUMS:
        raise Refusal(
            f"{field}.datum", "datum", f"datum must be one of {', '.join(DATUMS)} (坐标系)"
        )
    if not in_china_box(lat, lng):
        raise _outside(field, lat, lng, "")
    w_lat, w_lng = to_wgs84(lat, lng, datum)
    w_lat = round(w_lat, STORED_DECIMALS)
    w_lng = round(w_lng, STORED_DECIMALS)
    if not in_china(w_lat, w_lng):
        raise _outside(field, w_lat, w_lng, "" if datum == "wgs84" else " (as WGS-84)")
    return w_lat, w_lng


# ------------------------------------------------------------------ distance -------


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres on a sphere of radius `EARTH_RADIUS_M`.

    Operation order (the numba kernel repeats it exactly):
        phi1 = lat1 * DEG_TO_RAD;  phi2 = lat2 * DEG_TO_RAD
        s_lat = sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
        s_lng = sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
        h = s_lat * s_lat + cos(phi1) * cos(phi2) * (s_lng * s_lng)
        h = min(h, 1.0)
        d = 2.0 * EARTH_RADIUS_M * asin(sqrt(h))
    """
    phi1 = lat1 * DEG_TO_RAD
    phi2 = lat2 * DEG_TO_RAD
    s_lat = math.sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
    s_lng = math.sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
    h = s_lat * s_lat + math.cos(phi1) * math.cos(phi2) * (s_lng * s_lng)
    if h > 1.0:  # rounding can push antipodal points a hair past 1
        h = 1.0
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


# ------------------------------------------------------------------ local time -----


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the proleptic Gregorian date `days` after 1970-01-01.

    Howard Hinnant's `civil_from_days`, integer-only (floor division handles negatives).
    """
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097  # day of era, 0..146096
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365  # 0..399
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of year from 1 March, 0..365
    mp = (5 * doy + 2) // 153  # month from March, 0..11
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def local_date(ts_ms: int) -> tuple[int, int, int]:
    """(year, month, day) in Asia/Shanghai of the epoch-ms instant `ts_ms`."""
    return civil_from_days((ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY)


def local_day(ts_ms: int) -> str:
    """'YYYY-MM-DD' in Asia/Shanghai of the epoch-ms instant `ts_ms`."""
    year, month, day = local_date(ts_ms)
    return f"{year:04d}-{month:02d}-{day:02d}"


def local_year(ts_ms: int) -> int:
    """Calendar year in Asia/Shanghai of the epoch-ms instant `ts_ms`."""
    return local_date(ts_ms)[0]


def local_minute_of_day(ts_ms: int) -> int:
    """Minutes since local (Asia/Shanghai) midnight, 0..1439."""
    return ((ts_ms + LOCAL_OFFSET_MS) % MS_PER_DAY) // MS_PER_MINUTE


def local_midnight_ms(ts_ms: int) -> int:
    """Epoch ms of the Asia/Shanghai midnight that starts the local day of `ts_ms`."""
    return (ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY * MS_PER_DAY - LOCAL_OFFSET_MS


def local_day_number(ts_ms: int) -> int:
    """Days since 1970-01-01 of the Asia/Shanghai local day of `ts_ms` (daily counters)."""
    return (ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY
