"""engine.geo: datum conversions, China gate, haversine, Asia/Shanghai calendar."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import geo
from engine.commands import Refusal

china_lat = st.floats(min_value=geo.CHINA_LAT_MIN_DEG, max_value=geo.CHINA_LAT_MAX_DEG)
china_lng = st.floats(min_value=geo.CHINA_LNG_MIN_DEG, max_value=geo.CHINA_LNG_MAX_DEG)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# Reference outputs of the widely used coordtransform library (wandergis) for the point
# (lat 39.915, lng 116.404): same constants and formulas.
REF_POINT = (39.915, 116.404)
REF_WGS_TO_GCJ = (39.91640428150164, 116.41024449916938)
REF_GCJ_TO_BD = (39.92133699351021, 116.41036949371029)
REF_BD_TO_GCJ_ONE_STEP = (39.90865673957631, 116.39762729119315)


def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geo.haversine_m(a[0], a[1], b[0], b[1])


# ------------------------------------------------------------------ conversions ----


def test_forward_reference_values_bit_for_bit() -> None:
    assert geo.wgs84_to_gcj02(*REF_POINT) == REF_WGS_TO_GCJ
    assert geo.gcj02_to_bd09(*REF_POINT) == REF_GCJ_TO_BD


def test_bd_inverse_refines_the_one_step_formula() -> None:
    gcj = geo.bd09_to_gcj02(*REF_POINT)
    # The common one-step formula is off by a few cm here; ours inverts exactly.
    assert dist(gcj, REF_BD_TO_GCJ_ONE_STEP) < 0.5
    assert dist(geo.gcj02_to_bd09(*gcj), REF_POINT) < 1e-4


def test_gcj_offset_is_hundreds_of_metres_in_beijing() -> None:
    offset_m = dist(REF_POINT, REF_WGS_TO_GCJ)
    assert 300.0 < offset_m < 700.0


@given(china_lat, china_lng)
def test_round_trip_wgs_gcj_wgs(lat: float, lng: float) -> None:
    back = geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lat, lng))
    assert dist(back, (lat, lng)) < 0.01


@given(china_lat, china_lng)
def test_round_trip_wgs_bd_wgs(lat: float, lng: float) -> None:
    back = geo.bd09_to_wgs84(*geo.wgs84_to_bd09(lat, lng))
    assert dist(back, (lat, lng)) < 0.01


@given(china_lat, china_lng)
def test_round_trip_gcj_wgs_gcj(lat: float, lng: float) -> None:
    # Inverse direction too: a GCJ-02 input converted for storage maps back to itself.
    assert dist(geo.wgs84_to_gcj02(*geo.gcj02_to_wgs84(lat, lng)), (lat, lng)) < 0.01
    assert dist(geo.wgs84_to_bd09(*geo.bd09_to_wgs84(lat, lng)), (lat, lng)) < 0.01


@given(china_lat, china_lng)
def test_to_wgs84_dispatch(lat: float, lng: float) -> None:
    assert geo.to_wgs84(lat, lng, "wgs84") == (lat, lng)
    assert geo.to_wgs84(lat, lng, "gcj02") == geo.gcj02_to_wgs84(lat, lng)
    assert geo.to_wgs84(lat, lng, "bd09") == geo.bd09_to_wgs84(lat, lng)


def test_to_wgs84_unknown_datum() -> None:
    with pytest.raises(ValueError):
        geo.to_wgs84(39.9, 116.4, "cgcs2000")


# ------------------------------------------------------------------ check_point ----


def test_check_point_converts_and_rounds() -> None:
    lat, lng = geo.check_point(*REF_WGS_TO_GCJ, "gcj02", "location")
    assert (lat, lng) == (round(lat, 7), round(lng, 7))
    assert dist((lat, lng), REF_POINT) < 0.02  # back to the WGS-84 point, to ~1 cm
    assert geo.check_point(39.9087, 116.3975, "wgs84", "home") == (39.9087, 116.3975)


@pytest.mark.parametrize(
    ("lat", "lng", "datum", "field", "rule"),
    [
        (math.nan, 116.4, "wgs84", "location.lat", "finite"),
        (39.9, math.inf, "wgs84", "location.lng", "finite"),
        (39.9, -math.inf, "gcj02", "location.lng", "finite"),
        ("39.9", 116.4, "wgs84", "location.lat", "finite"),
        (True, 116.4, "wgs84", "location.lat", "finite"),
        (None, 116.4, "wgs84", "location.lat", "finite"),
        (91.0, 116.4, "wgs84", "location.lat", "range"),
        (39.9, 181.0, "wgs84", "location.lng", "range"),
        (39.9, 116.4, "WGS84", "location.datum", "datum"),
        (39.9, 116.4, "cgcs2000", "location.datum", "datum"),
        (48.8566, 2.3522, "wgs84", "location", "china_mainland"),  # Paris
        (40.7128, -74.006, "bd09", "location", "china_mainland"),  # New York
        (-33.87, 151.21, "gcj02", "location", "china_mainland"),  # Sydney
        (0.0, 0.0, "wgs84", "location", "china_mainland"),  # null island
        (3.85, 110.0, "wgs84", "location", "china_mainland"),
        (53.57, 122.0, "wgs84", "location", "china_mainland"),
        (37.57, 126.98, "wgs84", "location", "china_mainland"),  # Seoul
        (22.28, 114.16, "gcj02", "location", "china_mainland"),  # Hong Kong
        (47.92, 106.92, "bd09", "location", "china_mainland"),  # Ulaanbaatar
    ],
)
def test_check_point_refusals(lat, lng, datum, field, rule) -> None:
    with pytest.raises(Refusal) as info:
        geo.check_point(lat, lng, datum, "location")
    assert (info.value.field, info.value.rule) == (field, rule)


def test_in_china() -> None:
    assert geo.in_china(39.9, 116.4)  # Beijing
    assert geo.in_china(22.8, 108.3)  # Nanning
    assert geo.in_china(43.8, 87.6)  # Urumqi
    assert not geo.in_china(35.68, 139.69)  # Tokyo
    assert not geo.in_china(1.35, 103.82)  # Singapore
    assert not geo.in_china(37.57, 126.98)  # Seoul: inside the bounding box
    assert geo.in_china_box(37.57, 126.98)


@given(china_lat, china_lng, st.sampled_from(geo.DATUMS))
def test_check_point_inside_box_returns_rounded_wgs(lat: float, lng: float, datum: str) -> None:
    w = geo.to_wgs84(lat, lng, datum)
    w = (round(w[0], 7), round(w[1], 7))
    try:
        out = geo.check_point(lat, lng, datum, "p")
    except Refusal as exc:  # the box holds sea and neighbours: refused by the WGS-84 point
        assert (exc.field, exc.rule) == ("p", "china_mainland")
        assert not geo.in_china(*w)
        return
    assert out == w
    assert geo.in_china(*out)
    assert out == (round(out[0], 7), round(out[1], 7))
    assert dist(out, geo.to_wgs84(lat, lng, datum)) < 0.02


# ------------------------------------------------------------------ haversine ------


def _chord_distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Independent check: chord between unit vectors, then the central angle."""

    def vec(lat: float, lng: float) -> tuple[float, float, float]:
        phi, lam = math.radians(lat), math.radians(lng)
        return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))

    a, b = vec(lat1, lng1), vec(lat2, lng2)
    chord = math.dist(a, b)
    return 2.0 * geo.EARTH_RADIUS_M * math.asin(chord / 2.0)


def test_haversine_known_distances() -> None:
    assert geo.EARTH_RADIUS_M == 6371008.8
    # One degree along a meridian is R * pi / 180.
    assert geo.haversine_m(30.0, 114.0, 31.0, 114.0) == pytest.approx(111195.0802, abs=1e-3)
    # A quarter of the equator.
    assert geo.haversine_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(math.pi / 2 * 6371008.8, rel=1e-12)
    # Antipodes: half the circumference, no domain error.
    assert geo.haversine_m(10.0, 20.0, -10.0, -160.0) == pytest.approx(math.pi * 6371008.8)
    # Beijing Tiananmen -> Shanghai People's Square, about 1067 km on the sphere.
    d = geo.haversine_m(39.9087, 116.3975, 31.2304, 121.4737)
    assert 1_060_000 < d < 1_075_000
    assert d == pytest.approx(_chord_distance_m(39.9087, 116.3975, 31.2304, 121.4737), rel=1e-9)
    assert geo.haversine_m(22.8, 108.3, 22.8, 108.3) == 0.0


@given(china_lat, china_lng, china_lat, china_lng)
def test_haversine_properties(lat1: float, lng1: float, lat2: float, lng2: float) -> None:
    d = geo.haversine_m(lat1, lng1, lat2, lng2)
    assert d >= 0.0
    assert d == geo.haversine_m(lat2, lng2, lat1, lng1) or math.isclose(
        d, geo.haversine_m(lat2, lng2, lat1, lng1), rel_tol=1e-12, abs_tol=1e-6
    )
    assert d == pytest.approx(_chord_distance_m(lat1, lng1, lat2, lng2), rel=1e-6, abs=1e-3)


# ------------------------------------------------------------------ local time -----


def test_local_time_known_values() -> None:
    # 2025-11-20 16:00:00 UTC is 2025-11-21 00:00 in Shanghai.
    ts = int(dt.datetime(2025, 11, 20, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)
    assert geo.local_day(ts) == "2025-11-21"
    assert geo.local_day(ts - 1) == "2025-11-20"
    assert geo.local_minute_of_day(ts) == 0
    assert geo.local_minute_of_day(ts - 1) == 1439
    assert geo.local_midnight_ms(ts + 5 * 3_600_000) == ts
    # New Year in Shanghai comes 8 hours before UTC's.
    ny = int(dt.datetime(2024, 12, 31, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)
    assert (geo.local_year(ny - 1), geo.local_year(ny)) == (2024, 2025)
    assert geo.local_day(0) == "1970-01-01"
    assert geo.local_minute_of_day(0) == 8 * 60
    assert geo.local_day(-8 * 3_600_000 - 1) == "1969-12-31"
    assert geo.local_day(int(dt.datetime(2024, 2, 29, 12, tzinfo=SHANGHAI).timestamp() * 1000)) == (
        "2024-02-29"
    )


@given(st.integers(min_value=-2_208_988_800_000, max_value=4_102_444_800_000))
def test_local_time_matches_datetime(ts_ms: int) -> None:
    local = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ts_ms)
    local = local.astimezone(SHANGHAI)
    assert geo.local_day(ts_ms) == local.strftime("%Y-%m-%d")
    assert geo.local_date(ts_ms) == (local.year, local.month, local.day)
    assert geo.local_year(ts_ms) == local.year
    assert geo.local_minute_of_day(ts_ms) == local.hour * 60 + local.minute
    midnight = geo.local_midnight_ms(ts_ms)
    assert midnight <= ts_ms < midnight + geo.MS_PER_DAY
    assert geo.local_minute_of_day(midnight) == 0


@given(st.integers(min_value=-719_162, max_value=2_932_896))  # 0001-01-01..9999-12-31
def test_civil_from_days_matches_ordinals(days: int) -> None:
    d = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + days)
    assert geo.civil_from_days(days) == (d.year, d.month, d.day)
