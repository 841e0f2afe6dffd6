"""Spatial index of rows (workers or jobs) by H3 cell, for radius queries.

Owns: `CellIndex` (rows bucketed by H3 cell at one resolution), `min_edge_m`,
`guaranteed_radius_m`, `disk_k`, `choose_resolution`, `query_plan`, `step_radii` (the
radii of a nearest-first search), and the process-wide disk and cell-circle caches
(`disk_geometry`, `cell_circles`).

Layout: a base of entries (cell id, row, tag) sorted by (cell id, row) (CSR-like: the
rows of one cell, or of all descendants of a coarser cell, are one contiguous slice), a
small sorted delta of recent inserts, and a dead mask over the base for removals. When
delta + dead entries pass `threshold` (max(256, 4 * sqrt(n))), both are merged into a new
base in O(n). `loc[row]` says where a row lives: -1 absent, >= 0 base position, <= -2
delta position -(pos + 2).

Tags: each entry carries a uint64 tag (default: all bits set). A query with
`tag_mask != 0` returns only rows whose tag shares a bit with the mask, filtered inside
the contiguous scan. Index workers with their skill mask and jobs with 1 << skill_bit,
then query with the job's skill bit (or the worker's mask): the kernels then see only
skill-matching candidates. The caller must `set_tag` when a row's skills change.

Query (lat, lng, radius_m): pick the query resolution qres = min(index res,
choose_resolution(radius_m)), take the grid disk of radius `disk_k(qres, radius_m)`
around the origin cell (`disk_geometry`: one LRU shared by every index, keyed by
(origin, k, index resolution)), drop the disk cells whose centre is farther than
radius_m + their circumradius (`cell_circle`, computed for many cells at once by
`cell_circles` with the same floats: h3 once per cell, the haversines in numba, kept
in a shared table; by the triangle inequality
they hold no point within radius_m; this cuts the scanned area ~3x), and gather every
indexed row whose cell descends from a kept cell (and whose tag matches) by setting its
bit in a scratch bitmap. Rows come out ascending: sorted for free, and the kernels then
read the columns in memory order (2-4x faster than cell order at 100k rows). The result
is a pure function of the indexed (row, cell, tag) triples and the query (the
base/delta split and the caches never show).

Coverage guarantee: a point within `radius_m` of the query point lies in a cell at grid
distance <= k of the origin cell. For a regular hexagonal grid of edge e, two points
whose cells are k + 1 steps apart are at least (1.5 (k + 1) - 2) e = (1.5 k - 0.5) e
apart. H3 cells are not regular: we use the smallest edge length found at that
resolution (cells around the 12 pentagons, where H3 is most distorted; `min_edge_m`,
about 0.70-0.75 of the average) and a safety factor of 0.9. The bound was checked
against exact cell geometry at resolutions 5-10 around every pentagon and at random
cells (worst case 0.98 of the regular bound, hence 0.9); the tests check it at
pentagons and check candidate sets against BallTree. At resolution 8 this gives k = 4
for 1.5 km (the average edge alone would say k = 3, which is not safe everywhere).

Limits: radius <= `MAX_RADIUS_M` (100 km); rows < 2**31; 21 bytes per entry plus about
4.1 per row number below the largest row (`loc` and the bitmap); the shared disk cache
holds `DISK_CACHE_SIZE` disks (LRU; ~1.5-3 KB each) and the circle table
`GEOMETRY_CACHE_SIZE` cells (24 B each, emptied when full); deterministic, they only
save time, and a lock guards them. One query at a time per index (the bitmap is the
index's scratch; the engine is a single writer).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
from h3.api import basic_int as h3i
from h3.api import numpy_int as h3n
from numba import njit

from engine.geo import DEG_TO_RAD, haversine_m
from engine.matching.kernels import haversine_cos_m
from engine.matching.kernels import haversine_m as nb_haversine_m

EDGE_SAFETY = 0.9
MAX_K = 4  # choose_resolution picks the finest resolution whose disk stays within this
MAX_RADIUS_M = 100_000.0
DISK_CACHE_SIZE = 4096  # disks (origin, k, index resolution), shared by every CellIndex
GEOMETRY_CACHE_SIZE = 1 << 17  # cell circles (24 bytes each), shared; emptied when full
MIN_DELTA = 256
ALL_TAGS = (1 << 64) - 1
_RES_MASK = 0xF << 52


@lru_cache(maxsize=16)
def min_edge_m(res: int) -> float:
    """Smallest edge length (m) of the cells within 2 steps of the 12 pentagons at `res`.

    The smallest H3 cells sit next to the pentagons (checked over every cell at
    resolutions 2-5: the global minimum is always at grid distance <= 1 of a pentagon);
    resolutions 0-2 are small enough to scan every cell.
    """
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be in [0, 15], got {res}")
    if res <= 2:  # few cells: look at all of them
        cells = [c for base in h3i.get_res0_cells() for c in h3i.cell_to_children(base, res)]
    else:
        cells = [c for p in h3i.get_pentagons(res) for c in h3i.grid_disk(p, 2)]
    return min(h3i.edge_length(e, "m") for c in cells for e in h3i.origin_to_directed_edges(c))


def guaranteed_radius_m(res: int, k: int) -> float:
    """Every point within this distance of a point in cell c lies in grid_disk(c, k)."""
    return EDGE_SAFETY * (1.5 * k - 0.5) * min_edge_m(res)


@lru_cache(maxsize=1024)
def disk_k(res: int, radius_m: float) -> int:
    """Smallest k >= 1 whose grid disk covers `radius_m` around any point (see header)."""
    if not 0.0 <= radius_m <= MAX_RADIUS_M:
        raise ValueError(f"radius_m must be in [0, {MAX_RADIUS_M}], got {radius_m}")
    e = EDGE_SAFETY * min_edge_m(res)
    k = max(1, math.ceil((radius_m / e + 0.5) / 1.5))
    while guaranteed_radius_m(res, k) < radius_m:  # float rounding only
        k += 1
    while k > 1 and guaranteed_radius_m(res, k - 1) >= radius_m:
        k -= 1
    return k


@lru_cache(maxsize=1024)
def choose_resolution(radius_m: float, max_k: int = MAX_K) -> int:
    """Finest resolution whose disk for `radius_m` has k <= max_k (1.5 km -> 8, k = 4)."""
    for res in range(15, -1, -1):
        if disk_k(res, radius_m) <= max_k:
            return res
    return 0


@lru_cache(maxsize=1024)
def query_plan(res: int, radius_m: float) -> tuple[int, int]:
    """(query resolution, disk k) of a query of `radius_m` on an index at `res`."""
    qres = min(res, choose_resolution(radius_m))
    return qres, disk_k(qres, radius_m)


@lru_cache(maxsize=1024)
def step_radii(res: int, radius_m: float) -> tuple[float, ...]:
    """Growing radii for a nearest-first search up to `radius_m` on an index at `res`:
    for each query plan (resolution, k) that a smaller query would use, the largest
    radius it covers, up to 3/4 of `radius_m` (a larger step would cost about as much
    as the full query), then `radius_m` itself (always last)."""
    qres, _ = query_plan(res, radius_m)
    out = set()
    for q in range(qres, res + 1):
        for j in range(1, MAX_K + 1):
            r = guaranteed_radius_m(q, j)
            if r <= 0.75 * radius_m and query_plan(res, r) == (q, j):
                out.add(r)
    return (*sorted(out), float(radius_m))


def child_range(cell: int, res: int) -> tuple[int, int]:
    """(lowest, highest) possible id of the descendants of `cell` at resolution `res`.

    H3 ids order by (resolution, base cell, digit 1, ..., digit 15), so all descendants of
    a cell at one resolution lie in this closed id range (unused digits are 7).
    """
    parent_res = h3i.get_resolution(cell)
    if res < parent_res:
        raise ValueError(f"child resolution {res} is coarser than the cell's {parent_res}")
    lo = (cell & ~_RES_MASK) | (res << 52)
    six = 0
    for r in range(parent_res + 1, res + 1):
        shift = (15 - r) * 3
        lo &= ~(7 << shift)
        six |= 6 << shift
    return lo, lo | six


@lru_cache(maxsize=256)
def _child_masks(parent_res: int, res: int) -> tuple[np.int64, np.int64, np.int64]:
    clear = 0
    six = 0
    for r in range(parent_res + 1, res + 1):
        clear |= 7 << ((15 - r) * 3)
        six |= 6 << ((15 - r) * 3)
    return np.int64(~(_RES_MASK | clear)), np.int64(res << 52), np.int64(six)


def child_ranges(cells: np.ndarray, parent_res: int, res: int) -> tuple[np.ndarray, np.ndarray]:
    """`child_range` of many cells of one resolution at once (int64 arrays)."""
    keep, res_bits, six = _child_masks(parent_res, res)
    lo = (cells & keep) | res_bits
    return lo, lo | six


@lru_cache(maxsize=65536)
def cell_circle(cell: int) -> tuple[float, float, float]:
    """(centre lat, centre lng, reach_m): every point of the cell is within reach_m of
    the centre. Cell edges are great-circle arcs (straight in H3's gnomonic faces), so
    the farthest point is a vertex; 1% + 1 m of margin covers rounding."""
    lat, lng = h3i.cell_to_latlng(cell)
    far = max(haversine_m(lat, lng, vlat, vlng) for vlat, vlng in h3i.cell_to_boundary(cell))
    return lat, lng, far * 1.01 + 1.0


# ------------------------------------------------------------------ numba helpers ----

# bit index of a power of two: table[(2**i * DEBRUIJN mod 2**64) >> 58] == i
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_BIT = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _DEBRUIJN_BIT[((1 << _i) * 0x03F79D71B4CB0A89 % 2**64) >> 58] = _i


@njit(cache=True)
def _gallop(cells, lo, hi, value, strict):
    """First position in [lo, hi) with cells[pos] >= value (> value if strict), by
    galloping from lo: successive ranges of one query are close together in the base, so
    this touches a few cache lines where a plain binary search would touch ~log2(n)."""
    step = 1
    prev = lo
    while lo < hi and (cells[lo] < value or (strict and cells[lo] == value)):
        prev = lo + 1
        lo = min(lo + step, hi)
        step *= 2
    # the answer lies in [prev, lo]
    hi = lo
    lo = prev
    while lo < hi:
        mid = (lo + hi) >> 1
        if cells[mid] < value or (strict and cells[mid] == value):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _mark(cells, rows, tags, dead, lo, hi, range_lo, range_hi, use, tag_mask, bitmap, summary):
    """Set the bit of every live, tag-matching row in the ranges (and of its bitmap word
    in `summary`); returns the count."""
    count = 0
    zero = np.uint64(0)
    pos = lo
    for i in range(range_lo.shape[0]):
        if not use[i]:
            continue
        start = _gallop(cells, pos, hi, range_lo[i], False)
        pos = _gallop(cells, start, hi, range_hi[i], True)
        if tag_mask == zero:
            for j in range(start, pos):
                if dead[j] == 0:
                    row = np.int64(rows[j])
                    bitmap[row >> 6] |= np.uint64(1) << np.uint64(row & 63)
                    summary[row >> 12] |= np.uint64(1) << np.uint64((row >> 6) & 63)
                    count += 1
        else:
            for j in range(start, pos):
                if dead[j] == 0 and (tags[j] & tag_mask) != zero:
                    row = np.int64(rows[j])
                    bitmap[row >> 6] |= np.uint64(1) << np.uint64(row & 63)
                    summary[row >> 12] |= np.uint64(1) << np.uint64((row >> 6) & 63)
                    count += 1
    return count


@njit(cache=True)
def _kept(lat, lng, radius_m, disk):
    """Which disk cells can hold a point within `radius_m` (see `_gather`)."""
    range_lo, _, centre_lat, centre_lng, reach_m = disk
    use = np.empty(range_lo.shape[0], dtype=np.bool_)
    cos0 = math.cos(lat * DEG_TO_RAD)
    for i in range(range_lo.shape[0]):
        d = haversine_cos_m(lat, lng, cos0, centre_lat[i], centre_lng[i])
        use[i] = d <= radius_m + reach_m[i]
    return use


@njit(cache=True)
def _gather(base, nb, delta, nd, lat, lng, radius_m, disk, tag_mask, bitmap, summary):
    """Rows ascending, indexed in a disk cell that can hold a point within `radius_m`.

    base/delta are (cells int64, rows int32, tags uint64, dead uint8) tuples; `disk` is
    (range_lo, range_hi, centre_lat, centre_lng, reach_m) of the disk cells in id order
    (child id ranges at the index resolution); a cell is skipped when its centre is
    farther than radius_m + reach_m (its circumradius with margin), which by the triangle
    inequality excludes only cells with no point within radius_m. `bitmap` is a zeroed
    scratch of one bit per row and `summary` one bit per bitmap word (a two-level
    bitmap: reading the rows back costs O(rows / 4096 + hits), not O(rows / 64)); both
    are left zeroed again on return."""
    range_lo, range_hi, _, _, _ = disk
    use = _kept(lat, lng, radius_m, disk)
    count = _mark(*base, 0, nb, range_lo, range_hi, use, tag_mask, bitmap, summary)
    count += _mark(*delta, 0, nd, range_lo, range_hi, use, tag_mask, bitmap, summary)
    out = np.empty(count, dtype=np.int64)
    n = 0
    sw = 0
    zero = np.uint64(0)
    while n < count:
        top = summary[sw]
        if top != zero:
            summary[sw] = zero
            while top != zero:
                low_w = top & (~top + np.uint64(1))
                w = sw * 64 + _DEBRUIJN_BIT[(low_w * _DEBRUIJN) >> np.uint64(58)]
                top ^= low_w
                word = bitmap[w]
                bitmap[w] = zero
                while word != zero:
                    low = word & (~word + np.uint64(1))  # lowest set bit
                    out[n] = w * 64 + _DEBRUIJN_BIT[(low * _DEBRUIJN) >> np.uint64(58)]
                    n += 1
                    word ^= low
        sw += 1
    return out


@njit(cache=True)
def _delta_insert(delta, nd, cell, row, tag, loc):
    dcells, drows, dtags, _ = delta
    lo = 0
    hi = nd
    while lo < hi:
        mid = (lo + hi) >> 1
        if dcells[mid] < cell or (dcells[mid] == cell and drows[mid] < row):
            lo = mid + 1
        else:
            hi = mid
    for j in range(nd, lo, -1):
        dcells[j] = dcells[j - 1]
        drows[j] = drows[j - 1]
        dtags[j] = dtags[j - 1]
        loc[drows[j]] = -(j + 2)
    dcells[lo] = cell
    drows[lo] = row
    dtags[lo] = tag
    loc[row] = -(lo + 2)
    return nd + 1


@njit(cache=True)
def _delta_delete(delta, nd, pos, loc):
    dcells, drows, dtags, _ = delta
    loc[drows[pos]] = -1
    for j in range(pos, nd - 1):
        dcells[j] = dcells[j + 1]
        drows[j] = drows[j + 1]
        dtags[j] = dtags[j + 1]
        loc[drows[j]] = -(j + 2)
    return nd - 1


@njit(cache=True)
def _merge(base, nb, delta, nd, out, loc):
    """Merge live base entries and the delta into `out`; returns the entry count."""
    bcells, brows, btags, bdead = base
    dcells, drows, dtags, _ = delta
    ocells, orows, otags, _ = out
    b = 0
    d = 0
    n = 0
    while b < nb or d < nd:
        if b < nb and bdead[b] != 0:
            b += 1
            continue
        if d >= nd or (
            b < nb and (bcells[b] < dcells[d] or (bcells[b] == dcells[d] and brows[b] < drows[d]))
        ):
            ocells[n], orows[n], otags[n] = bcells[b], brows[b], btags[b]
            b += 1
        else:
            ocells[n], orows[n], otags[n] = dcells[d], drows[d], dtags[d]
            d += 1
        loc[orows[n]] = n
        n += 1
    return n


def _entries(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cells, rows, tags, dead) arrays for `size` entries."""
    return (
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.int32),
        np.empty(size, dtype=np.uint64),
        np.zeros(size, dtype=np.uint8),
    )


# ------------------------------------------------------------------ shared caches ----
# Disks and cell circles depend only on their keys, so every CellIndex (and every State
# in the process) shares them. They only save time: a query's answer is the same on a
# hit or a miss. The lock keeps them consistent if two engines query from two threads.

_LOCK = threading.Lock()
_DISKS: OrderedDict[tuple[int, int, int], tuple[np.ndarray, ...]] = OrderedDict()
_GEO_SLOT: dict[int, int] = {}  # cell -> column of _GEO
_GEO = np.empty((3, 0), dtype=np.float64)  # rows: centre lat, centre lng, reach_m


@njit(cache=True)
def _reaches(centre_lat, centre_lng, vertex_lat, vertex_lng, starts):
    """`cell_circle`'s reach_m of each cell (its vertices are starts[i]:starts[i + 1]):
    the same haversine operations in the same order, so the same bits."""
    out = np.empty(centre_lat.shape[0], dtype=np.float64)
    for i in range(centre_lat.shape[0]):
        far = -1.0
        for j in range(starts[i], starts[i + 1]):
            d = nb_haversine_m(centre_lat[i], centre_lng[i], vertex_lat[j], vertex_lng[j])
            if d > far:
                far = d
        out[i] = far * 1.01 + 1.0
    return out


def _geometry(cells: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lng, reach_m) arrays: `cell_circle` of each cell; the lock is held."""
    global _GEO
    if len(_GEO_SLOT) + len(cells) > GEOMETRY_CACHE_SIZE:
        _GEO_SLOT.clear()
    get = _GEO_SLOT.get
    slots = [get(c, -1) for c in cells]
    if -1 in slots:
        missing = list(dict.fromkeys(c for c, s in zip(cells, slots, strict=True) if s < 0))
        n0 = len(_GEO_SLOT)
        need = n0 + len(missing)
        if need > _GEO.shape[1]:
            size = max(need, min(max(2 * _GEO.shape[1], 4096), GEOMETRY_CACHE_SIZE))
            grown = np.empty((3, size), dtype=np.float64)
            grown[:, :n0] = _GEO[:, :n0]
            _GEO = grown
        bounds = [h3i.cell_to_boundary(c) for c in missing]
        starts = np.zeros(len(missing) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in bounds], out=starts[1:])
        vertices = np.array([v for b in bounds for v in b], dtype=np.float64)
        centres = np.array([h3i.cell_to_latlng(c) for c in missing], dtype=np.float64)
        _GEO[0, n0:need] = centres[:, 0]
        _GEO[1, n0:need] = centres[:, 1]
        _GEO[2, n0:need] = _reaches(
            _GEO[0, n0:need], _GEO[1, n0:need], vertices[:, 0], vertices[:, 1], starts
        )
        for i, c in enumerate(missing):
            _GEO_SLOT[c] = n0 + i
        slots = [_GEO_SLOT[c] for c in cells]
    idx = np.array(slots, dtype=np.int64)
    return _GEO[0][idx], _GEO[1][idx], _GEO[2][idx]


def cell_circles(cells: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lng, reach_m) arrays: `cell_circle` of each cell, the same floats, through
    the shared cache (h3 is asked once per cell, the haversines run in numba)."""
    with _LOCK:
        return _geometry(list(cells))


def disk_geometry(origin: int, k: int, res: int) -> tuple[np.ndarray, ...]:
    """(range_lo, range_hi, centre_lat, centre_lng, reach_m) of grid_disk(origin, k): the
    disk cells in id order, with their descendants' id ranges at resolution `res` (an
    index's) and `cell_circle` of each; from the shared LRU of `DISK_CACHE_SIZE`."""
    key = (origin, k, res)
    with _LOCK:
        hit = _DISKS.get(key)
        if hit is not None:
            _DISKS.move_to_end(key)
            return hit
        cells = np.sort(h3n.grid_disk(origin, k).astype(np.int64))
        lo, hi = child_ranges(cells, h3i.get_resolution(origin), res)
        lat, lng, reach = _geometry(cells.tolist())
        hit = (lo, hi, lat, lng, reach)
        _DISKS[key] = hit
        if len(_DISKS) > DISK_CACHE_SIZE:
            _DISKS.popitem(last=False)
        return hit


# ------------------------------------------------------------------ the index --------


class CellIndex:
    """Rows bucketed by H3 cell at `resolution`, with optional tags; see the header."""

    def __init__(self, resolution: int = 8) -> None:
        if not 0 <= resolution <= 15:
            raise ValueError(f"H3 resolution must be in [0, 15], got {resolution}")
        self.res = resolution
        self._n = 0
        self._base = _entries(0)
        self._ndead = 0
        self._threshold = MIN_DELTA
        self._delta = _entries(self._threshold + 1)
        self._nd = 0
        self._loc = np.full(1024, -1, dtype=np.int32)
        self._bitmap = np.zeros(1024 // 64, dtype=np.uint64)  # query scratch, kept zeroed
        self._summary = np.zeros(1, dtype=np.uint64)  # one bit per bitmap word

    @classmethod
    def build(
        cls,
        resolution: int,
        rows: np.ndarray,
        lats: np.ndarray,
        lngs: np.ndarray,
        tags: np.ndarray | None = None,
    ) -> CellIndex:
        """Index many rows at once (snapshot restore, benchmarks): one sort, no delta."""
        out = cls(resolution)
        rows = np.asarray(rows, dtype=np.int64)
        if len(np.unique(rows)) != len(rows) or (len(rows) and rows.min() < 0):
            raise ValueError("rows must be distinct and >= 0")
        cells = np.fromiter(
            (
                h3i.latlng_to_cell(float(a), float(b), resolution)
                for a, b in zip(lats, lngs, strict=True)
            ),
            dtype=np.int64,
            count=len(rows),
        )
        tags = np.full(len(rows), ALL_TAGS, np.uint64) if tags is None else np.asarray(tags)
        order = np.lexsort((rows, cells))
        out._base = (
            cells[order],
            rows[order].astype(np.int32),
            tags[order].astype(np.uint64),
            np.zeros(len(rows), dtype=np.uint8),
        )
        out._n = len(rows)
        if len(rows):
            out._grow_loc(int(rows.max()))
            out._loc[out._base[1]] = np.arange(len(rows), dtype=np.int32)
        out._set_threshold()
        return out

    def __len__(self) -> int:
        return self._n

    def __contains__(self, row: int) -> bool:
        return 0 <= row < len(self._loc) and self._loc[row] != -1

    def cell(self, lat: float, lng: float) -> int:
        return h3i.latlng_to_cell(lat, lng, self.res)

    def cell_of(self, row: int) -> int:
        """Cell id the row is indexed under (KeyError if absent)."""
        entries, pos = self._entry(row)
        return int(entries[0][pos])

    def tag_of(self, row: int) -> int:
        entries, pos = self._entry(row)
        return int(entries[2][pos])

    def add(self, row: int, lat: float, lng: float, tag: int = ALL_TAGS) -> None:
        if row < 0 or row >= 2**31 - 1:
            raise ValueError(f"row out of range: {row}")
        if row in self:
            raise ValueError(f"row {row} is already indexed")
        self._insert(row, self.cell(lat, lng), tag)

    def remove(self, row: int) -> None:
        pos = self._pos(row)
        if pos >= 0:
            self._base[3][pos] = 1
            self._ndead += 1
            self._loc[row] = -1
        else:
            self._nd = _delta_delete(self._delta, self._nd, -pos - 2, self._loc)
        self._n -= 1
        self._maybe_rebuild()

    def discard(self, row: int) -> bool:
        """Remove if present; returns whether it was."""
        if row in self:
            self.remove(row)
            return True
        return False

    def move(self, row: int, lat: float, lng: float) -> None:
        """Re-index `row` at a new position (no work when the cell does not change)."""
        cell = self.cell(lat, lng)
        if self.cell_of(row) == cell:
            return
        tag = self.tag_of(row)
        self.remove(row)
        self._insert(row, cell, tag)

    def set_tag(self, row: int, tag: int) -> None:
        """Change a row's tag in place (e.g. the worker's skills changed)."""
        entries, pos = self._entry(row)
        entries[2][pos] = np.uint64(tag)

    def query(self, lat: float, lng: float, radius_m: float, tag_mask: int = 0) -> np.ndarray:
        """Candidate rows (int64, ascending): a superset of the rows whose indexed point
        is within `radius_m` of (lat, lng); with `tag_mask` != 0 only rows whose tag
        shares a bit with it."""
        qres, k = query_plan(self.res, radius_m)
        disk = disk_geometry(h3i.latlng_to_cell(lat, lng, qres), k, self.res)
        return _gather(
            self._base,
            len(self._base[0]),
            self._delta,
            self._nd,
            float(lat),
            float(lng),
            float(radius_m),
            disk,
            np.uint64(tag_mask),
            self._bitmap,
            self._summary,
        )

    def cell_count(self, lat: float, lng: float, res: int) -> tuple[int, float]:
        """(entries, area m2) of the cell of resolution `res` (<= the index's) holding
        (lat, lng): entries indexed inside it, removed ones included. Two binary
        searches per part: a cheap density probe."""
        cell = h3i.latlng_to_cell(lat, lng, res)
        lo, hi = child_range(cell, self.res)
        n = 0
        for cells in (self._base[0], self._delta[0][: self._nd]):
            n += int(np.searchsorted(cells, hi, "right") - np.searchsorted(cells, lo, "left"))
        return n, h3i.cell_area(cell, "m^2")

    def rows(self) -> np.ndarray:
        """Every indexed row, ascending."""
        return np.flatnonzero(self._loc != -1).astype(np.int64)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self._base, *self._delta, self._loc))

    # ------------------------------------------------------------ internals -------

    def _pos(self, row: int) -> int:
        if row not in self:
            raise KeyError(f"row {row} is not indexed")
        return int(self._loc[row])

    def _entry(self, row: int) -> tuple[tuple[np.ndarray, ...], int]:
        pos = self._pos(row)
        return (self._base, pos) if pos >= 0 else (self._delta, -pos - 2)

    def _grow_loc(self, row: int) -> None:
        if row >= len(self._loc):
            size = len(self._loc)
            while size <= row:
                size *= 2
            loc = np.full(size, -1, dtype=np.int32)
            loc[: len(self._loc)] = self._loc
            self._loc = loc
            self._bitmap = np.zeros(size // 64, dtype=np.uint64)
            self._summary = np.zeros(size // 4096 + 1, dtype=np.uint64)

    def _insert(self, row: int, cell: int, tag: int) -> None:
        self._grow_loc(row)
        self._nd = _delta_insert(
            self._delta, self._nd, np.int64(cell), np.int32(row), np.uint64(tag), self._loc
        )
        self._n += 1
        self._maybe_rebuild()

    def _set_threshold(self) -> None:
        self._threshold = max(MIN_DELTA, 4 * math.isqrt(self._n))
        if len(self._delta[0]) < self._threshold + 1:
            self._delta = _entries(self._threshold + 1)

    def _maybe_rebuild(self) -> None:
        if self._nd + self._ndead < self._threshold:
            return
        out = _entries(self._n)
        count = _merge(self._base, len(self._base[0]), self._delta, self._nd, out, self._loc)
        assert count == self._n
        self._base = out
        self._ndead = 0
        self._nd = 0
        self._set_threshold()
