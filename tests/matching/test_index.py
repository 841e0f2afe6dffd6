"""CellIndex: candidate sets never miss a point (BallTree as the oracle), churn, order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from h3.api import basic_int as h3i
from sklearn.neighbors import BallTree

from engine.geo import EARTH_RADIUS_M
from engine.matching import index as I
from engine.matching.kernels import filter_within

from .util import CITIES, random_points

RADII_M = (300.0, 800.0, 1500.0, 3000.0, 10_000.0)


def destination(lat, lng, bearing_rad, distance_m):
    """Point reached from (lat, lng) along a great circle (spherical, R of geo)."""
    phi1, lam1 = np.radians(lat), np.radians(lng)
    delta = distance_m / EARTH_RADIUS_M
    phi2 = np.arcsin(
        np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(bearing_rad)
    )
    lam2 = lam1 + np.arctan2(
        np.sin(bearing_rad) * np.sin(delta) * np.cos(phi1),
        np.cos(delta) - np.sin(phi1) * np.sin(phi2),
    )
    return np.degrees(phi2), (np.degrees(lam2) + 540.0) % 360.0 - 180.0


def exact_rows(lat0, lng0, radius_m, lats, lngs, rows):
    """numpy haversine brute force (independent of the kernels)."""
    p1, p2 = math.radians(lat0), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lngs - lng0) / 2) ** 2
    )
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return set(rows[d <= radius_m * (1 - 1e-9)].tolist())


def test_disk_parameters():
    assert I.choose_resolution(1500) == 8
    assert I.disk_k(8, 1500) == 4
    assert I.choose_resolution(300) == 9
    assert I.choose_resolution(10_000) == 6
    for radius in (0.0, 50.0, 300.0, 1500.0, 5000.0, 10_000.0, 100_000.0):
        res = I.choose_resolution(radius)
        assert I.disk_k(res, radius) <= I.MAX_K
        assert I.guaranteed_radius_m(res, I.disk_k(res, radius)) >= radius
    ks = [I.disk_k(8, r) for r in range(0, 20_000, 250)]
    assert ks == sorted(ks)
    with pytest.raises(ValueError):
        I.disk_k(8, I.MAX_RADIUS_M + 1)


def test_min_edge_is_a_lower_bound():
    rng = np.random.default_rng(3)
    for res in (3, 6, 8, 9):
        bound = I.min_edge_m(res)
        avg = h3i.average_hexagon_edge_length(res, "m")
        assert 0.65 * avg < bound < 0.8 * avg
        lats = np.degrees(np.arcsin(rng.uniform(-1, 1, 3000)))
        lngs = rng.uniform(-180, 180, 3000)
        for lat, lng in zip(lats, lngs, strict=True):
            cell = h3i.latlng_to_cell(float(lat), float(lng), res)
            for edge in h3i.origin_to_directed_edges(cell):
                assert h3i.edge_length(edge, "m") >= bound
    cells = [c for b in h3i.get_res0_cells() for c in h3i.cell_to_children(b, 3)]
    assert min(
        h3i.edge_length(e, "m") for c in cells for e in h3i.origin_to_directed_edges(c)
    ) == pytest.approx(I.min_edge_m(3))


@pytest.mark.parametrize("res", [7, 8])
def test_guaranteed_radius_holds_around_pentagons(res):
    """Points exactly at the guaranteed radius from points next to each of the 12
    pentagons (where H3 is most distorted) fall inside the grid disk."""
    rng = np.random.default_rng(res)
    for pentagon in h3i.get_pentagons(res):
        plat, plng = h3i.cell_to_latlng(pentagon)
        for _ in range(8):
            qlat, qlng = destination(
                plat, plng, rng.uniform(0, 2 * np.pi), rng.uniform(0, 3 * I.min_edge_m(res))
            )
            origin = h3i.latlng_to_cell(float(qlat), float(qlng), res)
            for k in (1, 2, 4):
                disk = set(h3i.grid_disk(origin, k))
                radius = I.guaranteed_radius_m(res, k)
                bearings = rng.uniform(0, 2 * np.pi, 150)
                lats, lngs = destination(qlat, qlng, bearings, radius)
                for lat, lng in zip(lats, lngs, strict=True):
                    assert h3i.latlng_to_cell(float(lat), float(lng), res) in disk


def test_child_range_matches_h3():
    rng = np.random.default_rng(4)
    parents = [h3i.latlng_to_cell(*CITIES["harbin"], 5), h3i.get_pentagons(5)[7]]
    parents += [h3i.latlng_to_cell(float(rng.uniform(-60, 60)), float(rng.uniform(-180, 180)), 6)]
    for parent in parents:
        for res in range(h3i.get_resolution(parent), 10):
            children = h3i.cell_to_children(parent, res)
            lo, hi = I.child_range(parent, res)
            many = I.child_ranges(np.array([parent], np.int64), h3i.get_resolution(parent), res)
            assert (int(many[0][0]), int(many[1][0])) == (lo, hi)
            assert lo <= min(children) and max(children) <= hi
            if not h3i.is_pentagon(parent):
                assert (lo, hi) == (min(children), max(children))


def _check_queries(index, rows, lats, lngs, rng, centre, n_queries=12):
    tree = BallTree(np.radians(np.column_stack([lats, lngs])), metric="haversine")
    lat_col = np.zeros(int(rows.max()) + 1 if len(rows) else 1)
    lng_col = np.zeros_like(lat_col)
    lat_col[rows], lng_col[rows] = lats, lngs
    qlats, qlngs = random_points(rng, n_queries, centre, 6000.0)
    for radius in RADII_M:
        for qlat, qlng in zip(qlats, qlngs, strict=True):
            cand = index.query(float(qlat), float(qlng), radius)
            assert len(np.unique(cand)) == len(cand)
            assert exact_rows(qlat, qlng, radius, lats, lngs, rows) <= set(cand.tolist())
            within, _ = filter_within(cand, float(qlat), float(qlng), radius, lat_col, lng_col)
            hits = tree.query_radius(
                np.radians([[qlat, qlng]]), r=radius / EARTH_RADIUS_M, return_distance=False
            )[0]
            assert set(within.tolist()) == set(rows[hits].tolist())


@pytest.mark.parametrize("city", sorted(CITIES))
def test_query_matches_balltree_with_churn(city):
    seed = {"harbin": 5, "nanning": 6, "xiangyang": 7}[city]
    rng = np.random.default_rng(seed)
    centre = CITIES[city]
    n = 6000
    lats, lngs = random_points(rng, n, centre, 10_000.0)
    rows = np.arange(n, dtype=np.int64)
    index = I.CellIndex(8)
    for r in rows:  # incremental adds: exercises delta inserts and rebuilds
        index.add(int(r), float(lats[r]), float(lngs[r]))
    assert len(index) == n
    _check_queries(index, rows, lats, lngs, rng, centre)
    # churn: remove a quarter, move a third (half of them a few metres), add new rows
    alive = np.ones(n + 2000, dtype=bool)
    alive[n:] = False
    lats = np.concatenate([lats, np.zeros(2000)])
    lngs = np.concatenate([lngs, np.zeros(2000)])
    for r in rng.choice(n, size=n // 4, replace=False):
        index.remove(int(r))
        alive[r] = False
    movers = rng.choice(np.flatnonzero(alive), size=n // 3, replace=False)
    for i, r in enumerate(movers):
        if i % 2:
            lats[r] += rng.normal(0, 2e-5)
        else:
            lats[r], lngs[r] = (float(v[0]) for v in random_points(rng, 1, centre, 10_000.0))
        index.move(int(r), float(lats[r]), float(lngs[r]))
    for r in range(n, n + 2000):
        lat, lng = random_points(rng, 1, centre, 10_000.0)
        lats[r], lngs[r] = float(lat[0]), float(lng[0])
        index.add(r, lats[r], lngs[r])
        alive[r] = True
    live = np.flatnonzero(alive)
    assert len(index) == len(live)
    assert np.array_equal(index.rows(), live)
    _check_queries(index, live, lats[live], lngs[live], rng, centre)
    # the answer does not depend on the base/delta split: same as a fresh bulk build
    fresh = I.CellIndex.build(8, live, lats[live], lngs[live])
    for qlat, qlng in zip(*random_points(rng, 10, centre, 6000.0), strict=True):
        for radius in (500.0, 1500.0, 4000.0):
            assert np.array_equal(index.query(qlat, qlng, radius), fresh.query(qlat, qlng, radius))


def test_query_returns_rows_ascending_and_filters_tags():
    rng = np.random.default_rng(8)
    lats, lngs = random_points(rng, 3000, CITIES["nanning"], 2000.0)
    tags = rng.integers(1, 16, 3000).astype(np.uint64)
    index = I.CellIndex(9)
    for r in rng.permutation(3000):
        index.add(int(r), float(lats[r]), float(lngs[r]), int(tags[r]))
    cand = index.query(*CITIES["nanning"], 1500.0)
    assert len(cand) > 100 and np.all(np.diff(cand) > 0)
    for mask in (1, 2, 12):
        tagged = index.query(*CITIES["nanning"], 1500.0, tag_mask=mask)
        assert np.array_equal(tagged, cand[(tags[cand] & np.uint64(mask)) != 0])
    # tags survive moves and rebuilds, and set_tag changes them in place
    moved = rng.choice(3000, 500, replace=False)
    for r in moved:
        index.move(int(r), float(lats[r]) + 0.01, float(lngs[r]))
    assert all(index.tag_of(int(r)) == tags[r] for r in range(3000))
    index.set_tag(int(moved[0]), 0)
    assert index.tag_of(int(moved[0])) == 0
    everything = index.query(*CITIES["nanning"], 5000.0)
    assert int(moved[0]) in everything.tolist()
    assert int(moved[0]) not in index.query(*CITIES["nanning"], 5000.0, tag_mask=15).tolist()
    lats[moved] += 0.01
    tags[moved[0]] = 0
    fresh = I.CellIndex.build(9, np.arange(3000), lats, lngs, tags)
    for mask in (0, 1, 6):
        assert np.array_equal(
            fresh.query(*CITIES["nanning"], 2500.0, tag_mask=mask),
            index.query(*CITIES["nanning"], 2500.0, tag_mask=mask),
        )


def test_index_near_a_pentagon():
    """Queries across a pentagon's neighbourhood (H3's worst distortion) miss nothing."""
    rng = np.random.default_rng(9)
    plat, plng = h3i.cell_to_latlng(h3i.get_pentagons(8)[4])
    bearings = rng.uniform(0, 2 * np.pi, 4000)
    lats, lngs = destination(plat, plng, bearings, rng.uniform(0, 4000.0, 4000))
    rows = np.arange(4000, dtype=np.int64)
    index = I.CellIndex.build(8, rows, lats, lngs)
    for radius in (300.0, 1500.0, 3000.0):
        for q in range(30):
            qlat, qlng = destination(plat, plng, bearings[q], 40.0 * q)
            cand = set(index.query(float(qlat), float(qlng), radius).tolist())
            assert exact_rows(qlat, qlng, radius, lats, lngs, rows) <= cand


def test_index_errors_and_membership():
    index = I.CellIndex(8)
    index.add(5, *CITIES["harbin"])
    assert 5 in index and 4 not in index and len(index) == 1
    with pytest.raises(ValueError):
        index.add(5, *CITIES["harbin"])
    with pytest.raises(KeyError):
        index.remove(4)
    assert not index.discard(4)
    assert index.discard(5) and len(index) == 0
    assert index.query(*CITIES["harbin"], 1500.0).size == 0
    with pytest.raises(ValueError):
        I.CellIndex(16)
