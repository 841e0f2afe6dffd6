"""Columnar store of published jobs: one row per job, one numpy array per field.

Owns: `JobArrays`, read by `kernels.rank_jobs` (worker side: a check-in looks for the best
open job nearby) and by the engine's wave logic.

Invariants:
- `row` is the lowest free row at publication (rows of jobs that left the core are
  reused, `release`); it is the tie-breaker "job id" of worker-side rankings. The free
  rows are a min-heap, so the row a job gets depends only on which rows are free.
- A job is matchable iff `status == JOB_OPEN and slots_open > 0`. Filling the last slot
  keeps the job open (a no-show may give the slot back); closing is explicit (`close`:
  filled for good, cancelled, expired).
- `policy` is the slot (`State.policy_slot`) of the policy of the job's region, kept
  current by the fold when a policy for a new region prefix arrives.
- `skill_bit` is the job's `SkillCodes` bit (0..63); `day_pay_fen` is the pay converted to
  a daily figure by the caller (hourly * hours_per_day, ...).
- Arrays are reallocated when capacity doubles: never keep a column reference across
  `add`.

Limits: 51 bytes per row of capacity; slots are int32; policy slots int16.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

JOB_CLOSED = 0
JOB_OPEN = 1

_COLUMNS: tuple[tuple[str, type], ...] = (
    ("lat", np.float64),
    ("lng", np.float64),
    ("skill_bit", np.int8),
    ("day_pay_fen", np.int64),
    ("start_ms", np.int64),
    ("end_ms", np.int64),
    ("slots_open", np.int32),
    ("status", np.int8),
    ("policy", np.int16),  # slot of the job's region policy (`State.policy_slot`)
)
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)


class JobArrays:
    """Columnar job store. Columns are attributes named as in `COLUMN_NAMES`."""

    lat: np.ndarray
    lng: np.ndarray
    skill_bit: np.ndarray
    day_pay_fen: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray
    slots_open: np.ndarray
    status: np.ndarray
    policy: np.ndarray

    def __init__(self, capacity: int = 256) -> None:
        self.n = 0
        self.free: list[int] = []  # released rows (min-heap)
        self.capacity = max(int(capacity), 1)
        for name, dtype in _COLUMNS:
            setattr(self, name, np.zeros(self.capacity, dtype=dtype))

    def __len__(self) -> int:
        return self.n

    def _resize(self, capacity: int) -> None:
        for name, dtype in _COLUMNS:
            new = np.zeros(capacity, dtype=dtype)
            new[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, new)
        self.capacity = capacity

    def add(
        self,
        *,
        lat: float,
        lng: float,
        skill_bit: int,
        day_pay_fen: int,
        start_ms: int,
        end_ms: int,
        slots: int,
        policy: int = 0,
    ) -> int:
        """Publish a job with `slots` open slots; returns its row."""
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90):
            raise ValueError(f"bad coordinates lat={lat!r} lng={lng!r}")
        if not -180 <= lng <= 180:
            raise ValueError(f"bad coordinates lat={lat!r} lng={lng!r}")
        if not 0 <= skill_bit < 64:
            raise ValueError(f"skill_bit must be in [0, 64), got {skill_bit}")
        if not 0 < start_ms < end_ms:
            raise ValueError(f"job times must satisfy 0 < start < end: {start_ms}, {end_ms}")
        if slots <= 0 or day_pay_fen < 0:
            raise ValueError(f"need slots > 0 and day_pay_fen >= 0: {slots}, {day_pay_fen}")
        if self.free:
            row = heapq.heappop(self.free)
        else:
            if self.n == self.capacity:
                self._resize(self.capacity * 2)
            row = self.n
            self.n += 1
        self.lat[row] = lat
        self.lng[row] = lng
        self.skill_bit[row] = skill_bit
        self.day_pay_fen[row] = day_pay_fen
        self.start_ms[row] = start_ms
        self.end_ms[row] = end_ms
        self.slots_open[row] = slots
        self.status[row] = JOB_OPEN
        self.policy[row] = policy
        return row

    def is_matchable(self, row: int) -> bool:
        return bool(self.status[row] == JOB_OPEN and self.slots_open[row] > 0)

    def fill_slot(self, row: int) -> int:
        """A hire took one slot; returns the slots still open."""
        self._check_row(row)
        if self.slots_open[row] <= 0:
            raise ValueError(f"job row {row} has no open slot")
        self.slots_open[row] -= 1
        return int(self.slots_open[row])

    def release_slot(self, row: int) -> int:
        """A hire fell through (no-show before start, ...): one slot opens again."""
        self._check_row(row)
        self.slots_open[row] += 1
        return int(self.slots_open[row])

    def close(self, row: int) -> None:
        """Filled for good, cancelled or expired: never matched again."""
        self._check_row(row)
        self.status[row] = JOB_CLOSED

    def release(self, row: int) -> None:
        """The job left the core: its row is closed and free for the next `add`."""
        self._check_row(row)
        self.status[row] = JOB_CLOSED
        heapq.heappush(self.free, row)

    def live_rows(self) -> int:
        return self.n - len(self.free)

    def rank_columns(self) -> tuple[np.ndarray, ...]:
        """The columns `kernels.rank_jobs` takes, in its argument order."""
        return (
            self.lat,
            self.lng,
            self.skill_bit,
            self.day_pay_fen,
            self.start_ms,
            self.end_ms,
            self.slots_open,
            self.status,
            self.policy,
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[: self.n] for name in COLUMN_NAMES}

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> JobArrays:
        n = len(columns["lat"])
        out = cls(capacity=max(n, 1))
        for name, dtype in _COLUMNS:
            col = np.asarray(columns[name])
            if col.shape != (n,):
                raise ValueError(f"column {name} has shape {col.shape}, want {(n,)}")
            getattr(out, name)[:n] = col.astype(dtype, copy=False)
        out.n = n
        return out

    def _check_row(self, row: int) -> None:
        if not 0 <= row < self.n:
            raise IndexError(f"job row {row} out of range (n={self.n})")
