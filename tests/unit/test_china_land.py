"""Mainland China's boundary: places on both sides, the grid equals the plain test, data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import geo, landgrid
from engine.commands import Refusal
from engine.reference import china_land
from tests.china_places import ACCEPT, HK_MO_TW, REFUSE

ROOT = Path(__file__).resolve().parents[2]
M = geo.MAINLAND
CELLS = landgrid.decode_cells(china_land.CELLS)
DIMS = (
    china_land.GRID_LAT0_DEG,
    china_land.GRID_LNG0_DEG,
    china_land.GRID_CELL_LAT_DEG,
    china_land.GRID_CELL_LNG_DEG,
    china_land.GRID_ROWS,
    china_land.GRID_COLS,
)


# ------------------------------------------------------------------ places ---------


@pytest.mark.parametrize("name", sorted(ACCEPT))
def test_mainland_places_accepted_in_every_datum(name: str) -> None:
    lat, lng = ACCEPT[name]
    assert geo.in_china(lat, lng)
    assert geo.check_point(lat, lng, "wgs84", "location") == (lat, lng)
    # The same place sent from Amap (GCJ-02) or Baidu (BD-09) lands on the same point.
    for datum, forward in (("gcj02", geo.wgs84_to_gcj02), ("bd09", geo.wgs84_to_bd09)):
        out = geo.check_point(*forward(lat, lng), datum, "location")
        assert geo.haversine_m(out[0], out[1], lat, lng) < 0.02


@pytest.mark.parametrize("name", sorted(REFUSE))
def test_places_outside_the_mainland_refused(name: str) -> None:
    lat, lng = REFUSE[name]
    assert not geo.in_china(lat, lng)
    for datum, forward in (
        ("wgs84", lambda a, b: (a, b)),
        ("gcj02", geo.wgs84_to_gcj02),
        ("bd09", geo.wgs84_to_bd09),
    ):
        with pytest.raises(Refusal) as info:
            geo.check_point(*forward(lat, lng), datum, "job.location")
        assert (info.value.field, info.value.rule) == ("job.location", "china_mainland")
        if name in HK_MO_TW:
            assert "港澳台" in info.value.message
            assert "Hong Kong, Macao or Taiwan" in info.value.message
        else:
            assert "境外" in info.value.message
            assert "港澳台" not in info.value.message


def test_refusal_after_conversion_says_so() -> None:
    with pytest.raises(Refusal) as info:
        geo.check_point(*geo.wgs84_to_gcj02(*REFUSE["Seoul"]), "gcj02", "home")
    assert "(as WGS-84)" in info.value.message


def test_every_listed_place_is_on_a_side_and_places_are_distinct() -> None:
    assert not set(ACCEPT) & set(REFUSE)
    assert set(HK_MO_TW) <= set(REFUSE)
    assert len(set(ACCEPT.values()) | set(REFUSE.values())) == len(ACCEPT) + len(REFUSE)


# ------------------------------------------------------------------ grid == plain --


def _random_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """Uniform in the bounding box, uniform in boundary cells, and near random edges."""
    lat0, lng0, cell_lat, cell_lng, _rows, cols = DIMS
    boundary = [k for k, mark in enumerate(CELLS) if mark == landgrid.BOUNDARY]
    pts = []
    for _ in range(n):
        pts.append(
            (
                rng.uniform(geo.CHINA_LAT_MIN_DEG, geo.CHINA_LAT_MAX_DEG),
                rng.uniform(geo.CHINA_LNG_MIN_DEG, geo.CHINA_LNG_MAX_DEG),
            )
        )
        i, j = divmod(rng.choice(boundary), cols)
        pts.append((lat0 + (i + rng.random()) * cell_lat, lng0 + (j + rng.random()) * cell_lng))
        lo, hi, ay, ax, slope = rng.choice(M.edges)
        lat = rng.uniform(lo, hi)
        off = rng.choice((0.0, 1e-12, 1e-9, 1e-6, 1e-3)) * rng.choice((-1.0, 1.0))
        pts.append((lat, ax + (lat - ay) * slope + off))
    return pts


def test_grid_equals_plain_test_on_seeded_random_points() -> None:
    pts = _random_points(random.Random(20251129), 400)
    inside = [M.contains(lat, lng) for lat, lng in pts]
    assert inside == [M.contains_plain(lat, lng) for lat, lng in pts]
    assert 0 < sum(inside) < len(pts)  # both answers occur


edge_index = st.integers(min_value=0, max_value=len(M.edges) - 1)
offsets = st.sampled_from((0.0, 5e-324, 1e-15, 1e-12, 1e-9, 1e-7, 1e-5, 1e-3, 0.05))


@settings(max_examples=300, deadline=None)
@given(edge_index, st.floats(0.0, 1.0), offsets, offsets, st.booleans(), st.booleans())
def test_grid_equals_plain_test_near_the_boundary(
    e: int, t: float, d_lat: float, d_lng: float, neg_lat: bool, neg_lng: bool
) -> None:
    lo, hi, ay, ax, slope = M.edges[e]
    lat = lo + (hi - lo) * t
    lng = ax + (lat - ay) * slope  # on the edge
    lat += -d_lat if neg_lat else d_lat
    lng += -d_lng if neg_lng else d_lng
    assert M.contains(lat, lng) == M.contains_plain(lat, lng)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, china_land.GRID_ROWS), st.integers(0, china_land.GRID_COLS), offsets)
@example(0, 0, 0.0)
def test_grid_equals_plain_test_on_cell_borders(i: int, j: int, d: float) -> None:
    lat0, lng0, cell_lat, cell_lng, _rows, _cols = DIMS
    lat, lng = lat0 + i * cell_lat, lng0 + j * cell_lng
    for p in ((lat, lng), (lat - d, lng), (lat, lng - d), (lat + d, lng + d)):
        assert M.contains(*p) == M.contains_plain(*p)


def test_grid_equals_plain_test_on_every_vertex() -> None:
    for ring in china_land.RINGS[:3]:
        flat = geo._decode_ring(ring)
        for k in range(0, len(flat), 2):
            assert M.contains(flat[k], flat[k + 1]) == M.contains_plain(flat[k], flat[k + 1])


# ------------------------------------------------------------------ the data -------


def test_generated_grid_matches_its_rings() -> None:
    rings = [geo._decode_ring(r) for r in china_land.RINGS]
    assert landgrid.classify_cells(rings, *DIMS) == CELLS
    assert landgrid.encode_cells(CELLS) == "".join(china_land.CELLS)
    assert M.cells == CELLS


def test_generated_module_names_its_source_and_stays_small() -> None:
    path = ROOT / "engine" / "reference" / "china_land.py"
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= 300_000
    assert "world-atlas@2.0.2" in text and "Natural Earth" in text
    assert "public domain" in text and "ISC" in text
    tool = (ROOT / "tools" / "build_china_land.py").read_text(encoding="utf-8")
    assert f'SOURCE_SHA256 = "{china_land.SOURCE_SHA256}"' in tool


def test_bounding_box_is_the_area_and_the_grid_has_a_clean_rim() -> None:
    assert (geo.CHINA_LAT_MIN_DEG, geo.CHINA_LAT_MAX_DEG) == (M.lat_min_deg, M.lat_max_deg)
    assert 9.0 < geo.CHINA_LAT_MIN_DEG < 10.0  # the Spratlys as Natural Earth draws them
    assert 53.5 < geo.CHINA_LAT_MAX_DEG < 53.6  # Mohe
    assert 73.4 < geo.CHINA_LNG_MIN_DEG < 73.7 and 134.7 < geo.CHINA_LNG_MAX_DEG < 134.9
    rows, cols = china_land.GRID_ROWS, china_land.GRID_COLS
    rim = (
        CELLS[:cols]
        + CELLS[-cols:]
        + "".join(CELLS[r * cols] + CELLS[r * cols - 1] for r in range(1, rows))
    )
    assert set(rim) == {landgrid.OUTSIDE}


# ------------------------------------------------------------------ landgrid -------

# A square with a square hole and a triangle whose vertices sit on cell corners, cell
# borders and the 1/16 lattice, so that points exactly on edges and vertices occur.
SQUARE = (1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 1.0)
HOLE = (1.5, 1.5, 2.5, 1.5, 2.5, 2.5, 1.5, 2.5)
TRIANGLE = (3.25, 1.0, 3.75, 2.0625, 3.25, 3.125)
TOY_DIMS = (0.5, 0.5, 0.25, 0.25, 15, 12)


def _toy() -> landgrid.PolygonGrid:
    rings = (SQUARE, HOLE, TRIANGLE)
    return landgrid.PolygonGrid(rings, *TOY_DIMS, landgrid.classify_cells(rings, *TOY_DIMS))


TOY = _toy()
lattice = st.integers(8, 16 * 4).map(lambda v: v / 16)


@given(lattice, lattice)
def test_toy_grid_equals_plain_on_lattice_points(lat: float, lng: float) -> None:
    assert TOY.contains(lat, lng) == TOY.contains_plain(lat, lng)


def test_toy_known_answers() -> None:
    assert TOY.contains(1.2, 1.2) and TOY.contains(2.9, 2.0)
    assert not TOY.contains(2.0, 2.0)  # in the hole
    assert TOY.contains(3.5, 2.0) and not TOY.contains(3.5, 3.0)  # the triangle
    assert not TOY.contains(0.9, 2.0) and not TOY.contains(4.0, 2.0)


def test_toy_uses_both_ray_directions_and_rejects_bad_grids() -> None:
    assert TOY._east and TOY._west
    with pytest.raises(ValueError, match="expected"):
        landgrid.PolygonGrid((SQUARE,), *TOY_DIMS, ".")
    with pytest.raises(ValueError, match="south-west"):
        landgrid.PolygonGrid((SQUARE,), 0.9, 0.5, 0.25, 0.25, 15, 12, "." * 180)
    with pytest.raises(ValueError, match="north-east"):
        landgrid.PolygonGrid((SQUARE,), 0.5, 0.5, 0.25, 0.25, 9, 12, "." * 108)
    with pytest.raises(ValueError, match="grid's edge"):
        landgrid.PolygonGrid((SQUARE,), 0.5, 0.5, 0.25, 0.25, 15, 12, "+" * 180)
