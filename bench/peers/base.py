"""The candidate-index interface the peers implement, and the timing wrapper.

Owns: `PeerIndex`, the base of every peer's index of checked-in workers: it keeps which
rows are indexed (as `engine.matching.index.CellIndex` does: adding a present row or
removing an absent one is an error) and hands add / move / remove / query to the peer's
own store; `DenseSet`, a compact numpy point set with swap-remove (the brute-force scan
and the BallTree's delta); `haversine_np`; `TimedIndex`, which times every call of any
index (lingong's `CellIndex` is wrapped the same way, so both pay the same overhead);
`PeerUnavailable`.

Tags follow `CellIndex`: each row carries a uint64 tag (default all bits: the worker's
skill mask when the engine passes one) and `query(..., tag_mask)` with a non-zero mask
keeps only rows whose tag shares a bit with it. Peers filter by tag in their own store.

Invariants:
- `query(lat, lng, radius_m)` returns int64 rows: a superset of the indexed rows whose
  point lies within `radius_m` (lingong's haversine, R = 6371008.8 m) of (lat, lng).
  Order does not matter and rows outside the radius may appear: lingong's kernel filters
  every candidate again by the reach of the worker's travel mode and counts a row once.
- Rows come back sorted ascending (the peer pays for the sort), so lingong's kernel
  reads its columns in memory order for every system alike.
- `QUERY_SLACK_M` metres are added to every peer's radius so that rounding in another
  system (Redis' 52-bit geohash and R = 6372797.56 m, PostGIS' sphere) never drops a
  worker that lingong keeps.

Limits: rows < 2**31; a peer holds only the checked-in positions (lat, lng), never the
other worker attributes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from engine.geo import DEG_TO_RAD, EARTH_RADIUS_M

QUERY_SLACK_M = 5.0
ALL_TAGS = (1 << 64) - 1


class PeerUnavailable(RuntimeError):
    """A peer's server or package is missing; the message says exactly which."""


def haversine_np(lat0: float, lng0: float, lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Distances (m) from one point to many, lingong's formula vectorised."""
    s1 = np.sin((lat - lat0) * (DEG_TO_RAD * 0.5))
    s2 = np.sin((lng - lng0) * (DEG_TO_RAD * 0.5))
    a = s1 * s1 + np.cos(lat0 * DEG_TO_RAD) * np.cos(lat * DEG_TO_RAD) * (s2 * s2)
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


class DenseSet:
    """Rows with a position in contiguous numpy arrays; delete swaps the last row in."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.rows = np.empty(capacity, dtype=np.int64)
        self.lat = np.empty(capacity, dtype=np.float64)
        self.lng = np.empty(capacity, dtype=np.float64)
        self.tags = np.empty(capacity, dtype=np.uint64)
        self.pos: dict[int, int] = {}

    def __len__(self) -> int:
        return self.n

    def put(self, row: int, lat: float, lng: float, tag: int) -> None:
        i = self.pos.get(row)
        if i is None:
            if self.n == len(self.rows):
                for name in ("rows", "lat", "lng", "tags"):
                    old = getattr(self, name)
                    new = np.empty(2 * len(old), dtype=old.dtype)
                    new[: self.n] = old[: self.n]
                    setattr(self, name, new)
            i = self.n
            self.n += 1
            self.rows[i] = row
            self.pos[row] = i
        self.lat[i] = lat
        self.lng[i] = lng
        self.tags[i] = tag

    def delete(self, row: int) -> bool:
        i = self.pos.pop(row, None)
        if i is None:
            return False
        last = self.n - 1
        if i != last:
            moved = int(self.rows[last])
            self.rows[i], self.lat[i], self.lng[i] = moved, self.lat[last], self.lng[last]
            self.tags[i] = self.tags[last]
            self.pos[moved] = i
        self.n = last
        return True

    def clear(self) -> None:
        self.n = 0
        self.pos.clear()

    def within(self, lat0: float, lng0: float, radius_m: float, tag_mask: int) -> np.ndarray:
        n = self.n
        if n == 0:
            return np.empty(0, dtype=np.int64)
        keep = haversine_np(lat0, lng0, self.lat[:n], self.lng[:n]) <= radius_m
        if tag_mask:
            keep &= (self.tags[:n] & np.uint64(tag_mask)) != 0
        return self.rows[:n][keep]


class PeerIndex(ABC):
    """Base of the peers' indexes: membership here, storage and search in the peer."""

    name = "peer"
    description = ""
    # the engine ranks a wave's candidates from this index's query (the full scan path of
    # `engine.matcher.rank_for_job`) instead of its own waiting index
    peer = True

    def __init__(self) -> None:
        self._tags: dict[int, int] = {}  # indexed row -> tag

    # -- the CellIndex interface the engine calls --------------------------------------

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, row: int) -> bool:
        return row in self._tags

    def add(self, row: int, lat: float, lng: float, tag: int = ALL_TAGS) -> None:
        if row in self._tags:
            raise ValueError(f"row {row} is already indexed")
        self._tags[row] = tag
        self._put(row, lat, lng, tag, True)

    def move(self, row: int, lat: float, lng: float) -> None:
        self._put(row, lat, lng, self.tag_of(row), False)

    def tag_of(self, row: int) -> int:
        tag = self._tags.get(row)
        if tag is None:
            raise KeyError(f"row {row} is not indexed")
        return tag

    def set_tag(self, row: int, tag: int) -> None:
        old = self.tag_of(row)
        self._tags[row] = tag
        self._retag(row, old, tag)

    def remove(self, row: int) -> None:
        tag = self.tag_of(row)
        del self._tags[row]
        self._delete(row, tag)

    def discard(self, row: int) -> bool:
        if row in self._present:
            self.remove(row)
            return True
        return False

    def query(self, lat: float, lng: float, radius_m: float, tag_mask: int = 0) -> np.ndarray:
        return np.sort(self._search(lat, lng, radius_m + QUERY_SLACK_M, tag_mask))

    def rows(self) -> np.ndarray:
        return np.array(sorted(self._tags), dtype=np.int64)

    # -- what a peer implements --------------------------------------------------------

    @abstractmethod
    def _put(self, row: int, lat: float, lng: float, tag: int, new: bool) -> None:
        """Store the row's position and tag (`new`: it was not indexed before)."""

    @abstractmethod
    def _retag(self, row: int, old: int, tag: int) -> None:
        """The row's tag changed from `old` to `tag` (position unchanged)."""

    @abstractmethod
    def _delete(self, row: int, tag: int) -> None:
        """Forget the row (it had `tag`)."""

    @abstractmethod
    def _search(self, lat: float, lng: float, radius_m: float, tag_mask: int) -> np.ndarray:
        """Rows within `radius_m` (a superset is fine) whose tag meets a non-zero mask."""

    @abstractmethod
    def close(self) -> None:
        """Release what the peer holds (server-side tables and keys, memory)."""


class TimedIndex:
    """Wraps an index; records the duration (ns) of every update and every query."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.update_ns: list[int] = []
        self.query_ns: list[int] = []
        self.candidates = 0

    def __len__(self) -> int:
        return len(self.inner)

    def __contains__(self, row: int) -> bool:
        return row in self.inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _timed(self, fn: Any, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter_ns()
        out = fn(*args, **kw)
        self.update_ns.append(time.perf_counter_ns() - t0)
        return out

    def add(self, row: int, lat: float, lng: float, *args: Any, **kw: Any) -> None:
        self._timed(self.inner.add, row, lat, lng, *args, **kw)

    def set_tag(self, row: int, tag: int) -> None:
        self._timed(self.inner.set_tag, row, tag)

    def move(self, row: int, lat: float, lng: float) -> None:
        self._timed(self.inner.move, row, lat, lng)

    def remove(self, row: int) -> None:
        self._timed(self.inner.remove, row)

    def discard(self, row: int) -> bool:
        return bool(self._timed(self.inner.discard, row))

    def query(self, lat: float, lng: float, radius_m: float, *args: Any, **kw: Any) -> np.ndarray:
        t0 = time.perf_counter_ns()
        rows = self.inner.query(lat, lng, radius_m, *args, **kw)
        self.query_ns.append(time.perf_counter_ns() - t0)
        self.candidates += len(rows)
        return rows
