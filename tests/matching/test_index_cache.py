"""The shared disk and cell-circle caches give the same floats as the exact circles."""

from __future__ import annotations

import numpy as np
import pytest
from h3.api import basic_int as h3i

from engine.geo import haversine_m
from engine.matching import index as I

from .util import CITIES, random_points


def exact_circle(cell: int) -> tuple[float, float, float]:
    """`cell_circle` written out: the farthest vertex from the centre, + 1% + 1 m."""
    lat, lng = h3i.cell_to_latlng(cell)
    far = max(haversine_m(lat, lng, a, b) for a, b in h3i.cell_to_boundary(cell))
    return lat, lng, far * 1.01 + 1.0


def some_cells(res: int) -> list[int]:
    rng = np.random.default_rng(res)
    cells = [c for p in h3i.get_pentagons(res) for c in h3i.grid_disk(p, 1)]
    for centre in CITIES.values():
        lats, lngs = random_points(rng, 40, centre, 20_000.0)
        cells += [
            h3i.latlng_to_cell(float(a), float(b), res) for a, b in zip(lats, lngs, strict=True)
        ]
    lats, lngs = rng.uniform(-85, 85, 60), rng.uniform(-180, 180, 60)
    cells += [h3i.latlng_to_cell(float(a), float(b), res) for a, b in zip(lats, lngs, strict=True)]
    return cells


@pytest.mark.parametrize("res", [0, 3, 6, 7, 8, 9, 10])
def test_cell_circles_equal_exact_circles(res):
    cells = some_cells(res)
    got = np.vstack(I.cell_circles(cells))
    want = np.array([exact_circle(c) for c in cells]).T
    assert np.array_equal(got, want)  # bit for bit: never smaller than the exact reach
    assert np.array_equal(want, np.array([I.cell_circle(c) for c in cells]).T)
    # and every vertex lies within the reach
    for c, reach in zip(cells, got[2], strict=True):
        lat, lng = h3i.cell_to_latlng(c)
        assert all(haversine_m(lat, lng, a, b) <= reach for a, b in h3i.cell_to_boundary(c))


def test_disk_geometry_is_the_sorted_disk_with_exact_circles(monkeypatch):
    monkeypatch.setattr(I, "GEOMETRY_CACHE_SIZE", 200)  # forces the cache to empty
    monkeypatch.setattr(I, "DISK_CACHE_SIZE", 3)
    I._DISKS.clear()
    I._GEO_SLOT.clear()
    origins = [h3i.latlng_to_cell(lat, lng, 8) for lat, lng in CITIES.values()]
    origins += [h3i.get_pentagons(8)[0], h3i.get_pentagons(7)[3]]
    for _ in range(2):
        for origin in origins:
            for k in (1, 2, 4):
                for res in (8, 9):
                    lo, hi, lat, lng, reach = I.disk_geometry(origin, k, res)
                    cells = sorted(h3i.grid_disk(origin, k))
                    want_lo, want_hi = I.child_ranges(
                        np.array(cells, dtype=np.int64), h3i.get_resolution(origin), res
                    )
                    assert np.array_equal(lo, want_lo) and np.array_equal(hi, want_hi)
                    want = np.array([exact_circle(c) for c in cells]).T
                    assert np.array_equal(np.vstack([lat, lng, reach]), want)
                    assert all(a.flags.c_contiguous for a in (lo, hi, lat, lng, reach))
    assert len(I._DISKS) <= 3
    I._DISKS.clear()
    I._GEO_SLOT.clear()


def test_step_radii_grow_to_the_radius():
    for radius in (0.0, 100.0, 900.0, 1500.0, 5000.0, 100_000.0):
        radii = I.step_radii(8, radius)
        assert radii[-1] == radius
        assert list(radii) == sorted(set(radii))
        assert all(r <= 0.75 * radius for r in radii[:-1])
    assert len(I.step_radii(8, 1500.0)) == 3


@pytest.mark.parametrize("res", [7, 8, 9])
def test_cell_count_counts_the_rows_of_a_cell(res):
    rng = np.random.default_rng(res)
    lats, lngs = random_points(rng, 3000, CITIES["harbin"], 3000.0)
    index = I.CellIndex.build(res, np.arange(2000), lats[:2000], lngs[:2000])
    for row in range(2000, 3000):  # churn: a delta and dead entries
        index.add(row, float(lats[row]), float(lngs[row]))
        if row % 3 == 0:
            index.discard(int(rng.integers(0, row)))
    live = index.rows()
    for lat, lng in zip(lats[:40], lngs[:40], strict=True):
        for coarse in range(res - 2, res + 1):
            cell = h3i.latlng_to_cell(float(lat), float(lng), coarse)
            inside = [
                r for r in live.tolist() if h3i.cell_to_parent(index.cell_of(r), coarse) == cell
            ]
            n, area = index.cell_count(float(lat), float(lng), coarse)
            assert len(inside) <= n <= len(lats)
            assert area == h3i.cell_area(cell, "m^2")
