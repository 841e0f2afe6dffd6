"""Point-in-polygon on a fixed polygon, accelerated by a uniform grid of cells.

Owns `PolygonGrid`: an even-odd ("crossing number") test of a point against a set of
closed rings (lat, lng in degrees, a flat plane: no great circles, no antimeridian), and
the grid that makes it cheap: cells of `cell_lat_deg` x `cell_lng_deg`, each marked "."
outside, "#" inside or "+" boundary. A point in a "." or "#" cell is answered by one
string lookup; a point in a "+" cell counts crossings against a short list of edges.
Also `ring_edges`, `edge_cells`, `classify_cells` and the run-length form of the grid
(`encode_cells`, `decode_cells`), used by the generator of the grid
(tools/build_china_land.py) and by the tests, so both sides share one rule.

Invariants:
- The plain test `contains_plain` is the definition: a horizontal ray from the point
  towards +lng; an edge (see `Edge`) counts when lo <= lat < hi (half-open, so a vertex
  on the ray is counted once) and its crossing a.lng + (lat - a.lat) * slope is > lng.
  Odd count: inside.
- `contains` equals `contains_plain` bit for bit on every finite input, not "almost": a
  boundary cell's edge list is the union of the edges touching the run of boundary cells
  between the point's cell and the first clean cell along the row (east or west,
  whichever list is shorter); the clean cell's mark is the parity of the rest of the
  ray, and crossings use the same expression. The west ray counts crossings with
  x <= lng: every closed ring crosses a horizontal line an even number of times, so that
  parity equals the east ray's.
- An edge belongs to every cell its bounding box, widened by `EDGE_PAD_DEG`, touches
  (conservative: a clean cell has no edge within `EDGE_PAD_DEG` of it, far more than the
  rounding error of a cell index or of a crossing, ~1e-11 degrees).
- Pure float arithmetic, no randomness, no I/O: same inputs, same answers everywhere.

Limits:
- Planar in degrees: fine for a country-sized polygon away from the poles and the
  antimeridian. A point exactly on an edge gets whatever the half-open rule gives.
- The grid starts at least one cell south-west of every vertex and ends at least one
  cell beyond (checked); `contains` answers False outside the rings' bounding box
  without looking at the grid. Building the index costs ~50 ms for ~8,000 edges.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

EDGE_PAD_DEG = 1e-9
OUTSIDE, INSIDE, BOUNDARY = ".", "#", "+"

# An edge a -> b as (lo, hi, a.lat, a.lng, slope): lo/hi the smaller/larger latitude,
# slope = (b.lng - a.lng) / (b.lat - a.lat). It straddles a ray at lat when
# lo <= lat < hi (the half-open rule), crossing it at a.lng + (lat - a.lat) * slope.
Edge = tuple[float, float, float, float, float]


def encode_cells(cells: str) -> str:
    """Run-length form of a grid string: each run as its mark then its length (".412+1")."""
    return "".join(f"{m.group(1)}{len(m.group(0))}" for m in re.finditer(r"([.#+])\1*", cells))


def decode_cells(rle: str) -> str:
    """The grid string from `encode_cells`' form."""
    return "".join(m.group(1) * int(m.group(2)) for m in re.finditer(r"([.#+])(\d+)", rle))


def ring_edges(rings: Sequence[Sequence[float]]) -> list[tuple[Edge, float, float]]:
    """(edge, lng_min, lng_max) of closed rings given as flat (lat0, lng0, lat1, lng1, ...).

    Each ring closes from its last vertex back to its first. Horizontal edges never
    straddle a ray and are dropped.
    """
    out: list[tuple[Edge, float, float]] = []
    for ring in rings:
        lats, lngs = ring[0::2], ring[1::2]
        nxt_lats, nxt_lngs = lats[1:] + lats[:1], lngs[1:] + lngs[:1]
        for ay, ax, by, bx in zip(lats, lngs, nxt_lats, nxt_lngs, strict=True):
            if ay != by:
                edge = (min(ay, by), max(ay, by), ay, ax, (bx - ax) / (by - ay))
                out.append((edge, min(ax, bx), max(ax, bx)))
    return out


def contains_plain_edges(edges: Sequence[Edge], lat: float, lng: float) -> bool:
    """The definition (see the module invariants), over every edge."""
    n = 0
    for lo, hi, ay, ax, slope in edges:
        if lo <= lat < hi and ax + (lat - ay) * slope > lng:
            n += 1
    return n & 1 == 1


def edge_cells(
    edges: Sequence[tuple[Edge, float, float]],
    lat0_deg: float,
    lng0_deg: float,
    cell_lat_deg: float,
    cell_lng_deg: float,
) -> dict[tuple[int, int], list[int]]:
    """(row, col) -> indices of the edges whose padded bounding box touches that cell.

    The grid's origin must lie at least one cell south-west of every vertex (then all
    the offsets below are positive and int() is floor()).
    """
    inv_lat, inv_lng = 1.0 / cell_lat_deg, 1.0 / cell_lng_deg
    out: dict[tuple[int, int], list[int]] = {}
    for idx, ((lo, hi, _ay, _ax, _slope), x_min, x_max) in enumerate(edges):
        i0 = int((lo - EDGE_PAD_DEG - lat0_deg) * inv_lat)
        i1 = int((hi + EDGE_PAD_DEG - lat0_deg) * inv_lat)
        j0 = int((x_min - EDGE_PAD_DEG - lng0_deg) * inv_lng)
        j1 = int((x_max + EDGE_PAD_DEG - lng0_deg) * inv_lng)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                cell = out.get((i, j))
                if cell is None:
                    out[(i, j)] = [idx]
                else:
                    cell.append(idx)
    return out


def classify_cells(
    rings: Sequence[Sequence[float]],
    lat0_deg: float,
    lng0_deg: float,
    cell_lat_deg: float,
    cell_lng_deg: float,
    rows: int,
    cols: int,
) -> str:
    """The grid string, row-major from the south-west cell: ".", "#" or "+" per cell.

    A clean cell's mark is `contains_plain_edges` at its centre, computed row by row with
    the same crossing expression (sorted crossings and a bisection, not a loop per cell).
    """
    edges = ring_edges(rings)
    touched = edge_cells(edges, lat0_deg, lng0_deg, cell_lat_deg, cell_lng_deg)
    by_row: dict[int, set[int]] = {}
    for (i, _j), ids in touched.items():
        by_row.setdefault(i, set()).update(ids)
    marks: list[str] = []
    for i in range(rows):
        lat = lat0_deg + (i + 0.5) * cell_lat_deg
        # Every edge straddling this latitude touches row i (its bounding box does).
        near = [edges[e][0] for e in sorted(by_row.get(i, ()))]
        xs = sorted(ax + (lat - ay) * slope for lo, hi, ay, ax, slope in near if lo <= lat < hi)
        for j in range(cols):
            if (i, j) in touched:
                marks.append(BOUNDARY)
                continue
            lng = lng0_deg + (j + 0.5) * cell_lng_deg
            east = len(xs) - bisect.bisect_right(xs, lng)  # crossings with x > lng
            marks.append(INSIDE if east & 1 else OUTSIDE)
    return "".join(marks)


class PolygonGrid:
    """Even-odd test against fixed rings, with a precomputed grid (see the module doc)."""

    __slots__ = (
        "cells",
        "cols",
        "edges",
        "lat0_deg",
        "lng0_deg",
        "cell_lat_deg",
        "cell_lng_deg",
        "lat_min_deg",
        "lat_max_deg",
        "lng_min_deg",
        "lng_max_deg",
        "_inv_lat",
        "_inv_lng",
        "_east",
        "_west",
    )

    def __init__(
        self,
        rings: Sequence[Sequence[float]],
        lat0_deg: float,
        lng0_deg: float,
        cell_lat_deg: float,
        cell_lng_deg: float,
        rows: int,
        cols: int,
        cells: str,
    ) -> None:
        if len(cells) != rows * cols:
            raise ValueError(f"grid has {len(cells)} cells, expected {rows} x {cols}")
        edges = ring_edges(rings)
        self.edges: tuple[Edge, ...] = tuple(e for e, _, _ in edges)
        self.lat_min_deg = min(min(r[0::2]) for r in rings)
        self.lat_max_deg = max(max(r[0::2]) for r in rings)
        self.lng_min_deg = min(min(r[1::2]) for r in rings)
        self.lng_max_deg = max(max(r[1::2]) for r in rings)
        if self.lat_min_deg - lat0_deg < cell_lat_deg or self.lng_min_deg - lng0_deg < cell_lng_deg:
            raise ValueError("the grid must start a cell south-west of every vertex")
        self.lat0_deg, self.lng0_deg = lat0_deg, lng0_deg
        self.cell_lat_deg, self.cell_lng_deg = cell_lat_deg, cell_lng_deg
        self._inv_lat, self._inv_lng = 1.0 / cell_lat_deg, 1.0 / cell_lng_deg
        if (
            int((self.lat_max_deg - lat0_deg) * self._inv_lat) >= rows - 1
            or int((self.lng_max_deg - lng0_deg) * self._inv_lng) >= cols - 1
        ):
            raise ValueError("the grid must end a cell north-east of every vertex")
        self.cols, self.cells = cols, cells  # the grid, row-major (see classify_cells)
        # Boundary cell -> (clean cell's mark, edges sorted by lo) for the east or west ray.
        self._east: dict[int, tuple[bool, tuple[Edge, ...]]] = {}
        self._west: dict[int, tuple[bool, tuple[Edge, ...]]] = {}
        touched = edge_cells(edges, lat0_deg, lng0_deg, cell_lat_deg, cell_lng_deg)
        for i in range(rows):
            row = i * cols
            j = 0
            while j < cols:
                if cells[row + j] != BOUNDARY:
                    j += 1
                    continue
                start = j
                while j < cols and cells[row + j] == BOUNDARY:
                    j += 1
                if start == 0 or j == cols:
                    raise ValueError(f"row {i} has boundary cells at the grid's edge")
                self._runs(i, start, j, touched, row)

    def _runs(
        self, i: int, start: int, stop: int, touched: dict[tuple[int, int], list[int]], row: int
    ) -> None:
        """Edge lists of the boundary cells start..stop-1 of row i (clean on both sides)."""
        east_ref = self.cells[row + stop] == INSIDE
        west_ref = self.cells[row + start - 1] == INSIDE
        own = [touched.get((i, j), ()) for j in range(start, stop)]
        east: list[frozenset[int]] = []  # east[t]: edges of cells start+t .. stop-1
        acc: frozenset[int] = frozenset()
        for ids in reversed(own):
            acc = acc.union(ids)
            east.append(acc)
        east.reverse()
        acc = frozenset()
        for t, ids in enumerate(own):
            acc = acc.union(ids)  # edges of cells start .. start+t
            if len(east[t]) <= len(acc):
                self._east[row + start + t] = (east_ref, self._pick(east[t]))
            else:
                self._west[row + start + t] = (west_ref, self._pick(acc))

    def _pick(self, ids: frozenset[int]) -> tuple[Edge, ...]:
        return tuple(sorted((self.edges[e] for e in ids), key=lambda e: (e[0], e[1], e[2], e[3])))

    def contains_plain(self, lat: float, lng: float) -> bool:
        """The definition: the crossing count over every edge (slow; tests and tools)."""
        return contains_plain_edges(self.edges, lat, lng)

    def contains(self, lat: float, lng: float) -> bool:
        """Same answer as `contains_plain`, from the grid (a few microseconds at most)."""
        if not (
            self.lat_min_deg <= lat <= self.lat_max_deg
            and self.lng_min_deg <= lng <= self.lng_max_deg
        ):
            return False
        k = int((lat - self.lat0_deg) * self._inv_lat) * self.cols + int(
            (lng - self.lng0_deg) * self._inv_lng
        )
        mark = self.cells[k]
        if mark != BOUNDARY:
            return mark == INSIDE
        n = 0
        run = self._east.get(k)
        if run is not None:
            ref, edges = run
            for lo, hi, ay, ax, slope in edges:
                if lo > lat:
                    break  # sorted by lo: no later edge straddles lat
                if lat < hi and ax + (lat - ay) * slope > lng:
                    n += 1
        else:
            ref, edges = self._west[k]
            for lo, hi, ay, ax, slope in edges:
                if lo > lat:
                    break
                if lat < hi and ax + (lat - ay) * slope <= lng:
                    n += 1
        return ref != (n & 1 == 1)

    def boundary_edge_counts(self) -> list[int]:
        """Length of every boundary cell's edge list (for the generator's statistics)."""
        return [len(v[1]) for v in self._east.values()] + [len(v[1]) for v in self._west.values()]
