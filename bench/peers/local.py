"""In-process peers: scikit-learn's BallTree and a numpy brute-force scan.

Owns: `BallTreeIndex` and `NumpyScanIndex`, two `PeerIndex` implementations a team could
write in an afternoon instead of lingong's H3 cell index.

- `NumpyScanIndex` keeps the checked-in positions in one `DenseSet` and computes the
  haversine distance to every one of them on each query (vectorised numpy).
- `BallTreeIndex` is static, like scikit-learn's `BallTree` (haversine metric, radians):
  a tree over a base set, plus a `DenseSet` delta of rows added or moved since it was
  built and a dead mask for rows removed or moved. A query asks the tree, drops dead
  rows and scans the delta. The tree is rebuilt when delta + dead entries pass
  max(`REBUILD_MIN`, sqrt(1000 * n)): rebuilds cost about n microseconds, a delta scan
  about 10 ns per entry, and check-ins come a few times per posting, so this keeps
  both costs of the same order.

Invariants: answers are supersets as `PeerIndex` requires (the tree's radius is scaled
up by 1e-9 and the slack of `QUERY_SLACK_M` applies).
Limits: rebuild time grows as n log n; rows < 2**31.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.neighbors import BallTree

from bench.peers.base import DenseSet, PeerIndex
from engine.geo import EARTH_RADIUS_M

REBUILD_MIN = 1024
LEAF_SIZE = 40


class NumpyScanIndex(PeerIndex):
    name = "numpy-scan"
    description = "numpy brute-force haversine over every checked-in worker"

    def __init__(self) -> None:
        super().__init__()
        self._set = DenseSet()

    def _put(self, row: int, lat: float, lng: float, tag: int, new: bool) -> None:
        self._set.put(row, lat, lng, tag)

    def _retag(self, row: int, old: int, tag: int) -> None:
        i = self._set.pos[row]
        self._set.tags[i] = tag

    def _delete(self, row: int, tag: int) -> None:
        self._set.delete(row)

    def _search(self, lat: float, lng: float, radius_m: float, tag_mask: int) -> np.ndarray:
        return self._set.within(lat, lng, radius_m, tag_mask)

    def close(self) -> None:
        self._set.clear()


class BallTreeIndex(PeerIndex):
    name = "sklearn-balltree"
    description = "scikit-learn BallTree (haversine), rebuilt as it goes, plus a scanned delta"

    def __init__(self) -> None:
        super().__init__()
        self._tree: BallTree | None = None
        self._base_rows = np.empty(0, dtype=np.int64)
        self._base_tags = np.empty(0, dtype=np.uint64)
        self._base_dead = np.empty(0, dtype=bool)
        self._base_pos: dict[int, int] = {}
        self._n_dead = 0
        self._delta = DenseSet()
        self.rebuilds = 0

    def _kill_base(self, row: int) -> None:
        i = self._base_pos.pop(row, None)
        if i is not None:
            self._base_dead[i] = True
            self._n_dead += 1

    def _put(self, row: int, lat: float, lng: float, tag: int, new: bool) -> None:
        self._kill_base(row)
        self._delta.put(row, lat, lng, tag)
        self._maybe_rebuild()

    def _retag(self, row: int, old: int, tag: int) -> None:
        i = self._base_pos.get(row)
        if i is not None:
            self._base_tags[i] = tag
        else:
            self._delta.tags[self._delta.pos[row]] = tag

    def _delete(self, row: int, tag: int) -> None:
        self._kill_base(row)
        self._delta.delete(row)
        self._maybe_rebuild()

    def _maybe_rebuild(self) -> None:
        live = len(self._base_pos) + len(self._delta)
        if len(self._delta) + self._n_dead < max(REBUILD_MIN, math.isqrt(1000 * live)):
            return
        keep = ~self._base_dead
        d = self._delta
        rows = np.concatenate([self._base_rows[keep], d.rows[: d.n]])
        tags = np.concatenate([self._base_tags[keep], d.tags[: d.n]])
        if self._tree is not None and keep.any():
            old = np.asarray(self._tree.data)[keep]
        else:
            old = np.empty((0, 2))
        new = np.radians(np.column_stack([d.lat[: d.n], d.lng[: d.n]]))
        points = np.concatenate([old, new])
        self._tree = (
            BallTree(points, leaf_size=LEAF_SIZE, metric="haversine") if len(rows) else None
        )
        self._base_rows = rows
        self._base_tags = tags
        self._base_dead = np.zeros(len(rows), dtype=bool)
        self._base_pos = {int(r): i for i, r in enumerate(rows)}
        self._n_dead = 0
        self._delta.clear()
        self.rebuilds += 1

    def _search(self, lat: float, lng: float, radius_m: float, tag_mask: int) -> np.ndarray:
        parts = [self._delta.within(lat, lng, radius_m, tag_mask)]
        if self._tree is not None:
            q = np.radians(np.array([[lat, lng]]))
            ind = self._tree.query_radius(q, r=radius_m / EARTH_RADIUS_M * (1 + 1e-9))[0]
            keep = ~self._base_dead[ind]
            if tag_mask:
                keep &= (self._base_tags[ind] & np.uint64(tag_mask)) != 0
            parts.append(self._base_rows[ind[keep]])
        return np.concatenate(parts)

    def close(self) -> None:
        self._tree = None
        self._delta.clear()
