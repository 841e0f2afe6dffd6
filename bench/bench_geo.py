"""Micro-benchmarks of the mainland-China gate: `in_china` and `check_point` per call.

The pytest-benchmark tests time a fixed, seeded set of points and check their answers
(the grid against the plain polygon test). Run them with
    pytest bench/bench_geo.py --benchmark-only
or print microseconds per call directly (best of 5 passes over each set):
    python -m bench.bench_geo
"""

from __future__ import annotations

import random
import timeit
from collections.abc import Callable

import pytest

from engine import geo
from tests.china_places import ACCEPT

pytestmark = pytest.mark.benchmark(group="geo")

M = geo.MAINLAND


def boundary_points(n: int, seed: int = 1) -> list[tuple[float, float]]:
    """`n` points uniform in the grid's boundary cells (the slow path of `in_china`)."""
    rng = random.Random(seed)
    cells = [k for k, mark in enumerate(M.cells) if mark == "+"]
    out = []
    for _ in range(n):
        i, j = divmod(rng.choice(cells), M.cols)
        out.append(
            (
                M.lat0_deg + (i + rng.random()) * M.cell_lat_deg,
                M.lng0_deg + (j + rng.random()) * M.cell_lng_deg,
            )
        )
    return out


def box_points(n: int, seed: int = 2) -> list[tuple[float, float]]:
    """`n` points uniform in mainland China's bounding box (sea and neighbours too)."""
    rng = random.Random(seed)
    return [
        (rng.uniform(M.lat_min_deg, M.lat_max_deg), rng.uniform(M.lng_min_deg, M.lng_max_deg))
        for _ in range(n)
    ]


PLACES = list(ACCEPT.values())
BOUNDARY = boundary_points(2000)
BOX = box_points(2000)


def _all(fn: Callable[[float, float], object], pts: list[tuple[float, float]]) -> list[object]:
    return [fn(lat, lng) for lat, lng in pts]


def test_in_china_boundary_cells(benchmark) -> None:
    got = benchmark(_all, geo.in_china, BOUNDARY)
    assert got[:100] == _all(M.contains_plain, BOUNDARY[:100])


def test_in_china_bounding_box(benchmark) -> None:
    got = benchmark(_all, geo.in_china, BOX)
    assert got[:100] == _all(M.contains_plain, BOX[:100])


def test_check_point_wgs84_places(benchmark) -> None:
    got = benchmark(_all, geo.check_point, PLACES)
    assert got == PLACES


def test_check_point_gcj02_places(benchmark) -> None:
    gcj = [geo.wgs84_to_gcj02(lat, lng) for lat, lng in PLACES]
    got = benchmark(_all, lambda lat, lng: geo.check_point(lat, lng, "gcj02"), gcj)
    assert all(geo.haversine_m(*a, *b) < 0.02 for a, b in zip(got, PLACES, strict=True))


def per_call_us(fn: Callable[[float, float], object], pts: list[tuple[float, float]]) -> float:
    best = min(timeit.repeat(lambda: _all(fn, pts), number=1, repeat=5))
    return best / len(pts) * 1e6


def main() -> None:
    inside_boundary = [p for p in BOUNDARY if geo.in_china(*p)]
    gcj = [geo.wgs84_to_gcj02(lat, lng) for lat, lng in PLACES]
    rows = (
        ("in_china, uniform in boundary cells", geo.in_china, BOUNDARY),
        ("in_china, uniform in the bounding box", geo.in_china, BOX),
        ("check_point wgs84, accepted points in boundary cells", geo.check_point, inside_boundary),
        ("check_point wgs84, the accepted test places", geo.check_point, PLACES),
        (
            "check_point gcj02, the accepted test places",
            lambda a, b: geo.check_point(a, b, "gcj02"),
            gcj,
        ),
    )
    for label, fn, pts in rows:
        print(f"{per_call_us(fn, pts):6.2f} us/call  {label} ({len(pts)} points)")
    print(
        f"{per_call_us(M.contains_plain, BOUNDARY[:50]):6.0f} us/call  plain test, all {len(M.edges)} edges"
    )


if __name__ == "__main__":
    main()
