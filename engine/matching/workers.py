"""Columnar store of workers: one row per registered worker, one numpy array per field.

Owns: `WorkerArrays` (the per-worker facts the matching kernels read), the travel-mode
and priority codes, and `BUSY_SLOTS`. Re-exports `SkillCodes` (defined in `skills`).

Invariants:
- `row` is assigned in registration order (0, 1, 2, ...) and never reused; it IS the
  engine's worker number and the tie-breaker "worker id" of every ranking.
- `lat`/`lng` is the current position: the check-in location while checked in, else the
  home location. An erased worker has `active == 0`, `checked_in == 0` and zeroed
  location, skills and counters (the row stays, so later rows keep their numbers).
- A hire the worker holds occupies one busy slot [start_ms, end_ms); unused slots are
  0/0 (never overlap a real interval since real times are > 0).
- Per-day counters (`offers_today`, `pushes_today`) belong to the local day number in
  `offers_day` / `push_day`; a counter of another day reads as 0 (see `offers_on`).
- No Python object per worker. Arrays are reallocated when capacity doubles: never keep
  a column reference across `add` (read `workers.lat` again).

Limits: 169 bytes per row of capacity (doubling leaves at most half the rows unused; use
`reserve`/`shrink_to_fit` around snapshot restores); `BUSY_SLOTS` = 4 concurrent hires per
worker; counters are int32; at most 2**31 - 1 rows.
"""

from __future__ import annotations

import math

import numpy as np

from engine.matching.skills import MAX_SKILLS, SkillCodes

__all__ = [
    "BUSY_SLOTS",
    "COLUMN_NAMES",
    "MAX_SKILLS",
    "MODES",
    "PRIORITY_NONE",
    "PRIORITY_RECOGNISED",
    "SkillCodes",
    "WorkerArrays",
    "mode_code",
    "priority_code",
]

BUSY_SLOTS = 4
MODES: tuple[str, ...] = ("walk", "bike", "ebike", "bus", "car")  # index = `mode` code
PRIORITY_NONE = 0
PRIORITY_RECOGNISED = 1  # 就业困难人员 or another officially recognised group
UINT64_MAX = (1 << 64) - 1

# name, dtype, trailing shape
_COLUMNS: tuple[tuple[str, type, tuple[int, ...]], ...] = (
    ("lat", np.float64, ()),
    ("lng", np.float64, ()),
    ("home_lat", np.float64, ()),
    ("home_lng", np.float64, ()),
    ("skills", np.uint64, ()),
    ("min_pay_fen", np.int64, ()),
    ("birth_year", np.int32, ()),
    ("priority", np.int8, ()),
    ("mode", np.int8, ()),
    ("active", np.int8, ()),
    ("checked_in", np.int8, ()),
    ("checkin_ms", np.int64, ()),
    ("available_until_ms", np.int64, ()),
    ("busy_start", np.int64, (BUSY_SLOTS,)),
    ("busy_end", np.int64, (BUSY_SLOTS,)),
    ("open_offers", np.int32, ()),
    ("completions", np.int32, ()),
    ("no_shows", np.int32, ()),
    ("offers_today", np.int32, ()),
    ("offers_day", np.int32, ()),
    ("push_opt_in", np.int8, ()),
    ("quiet_start_min", np.int16, ()),
    ("quiet_end_min", np.int16, ()),
    ("pushes_today", np.int32, ()),
    ("push_day", np.int32, ()),
)
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _COLUMNS)
BYTES_PER_ROW = sum(np.dtype(dt).itemsize * math.prod(shape) for _, dt, shape in _COLUMNS)


def mode_code(mode: str) -> int:
    """Travel mode name ("walk", "bike", "ebike", "bus", "car") -> `mode` code."""
    try:
        return MODES.index(mode)
    except ValueError:
        raise ValueError(f"unknown travel mode {mode!r}; known: {', '.join(MODES)}") from None


def priority_code(priority_group: str) -> int:
    """ "" -> PRIORITY_NONE; any recognised group name ("hardship", ...) -> 1."""
    return PRIORITY_RECOGNISED if priority_group else PRIORITY_NONE


def _check_point(lat: float, lng: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90.0 <= lat <= 90.0):
        raise ValueError(f"bad coordinates lat={lat!r} lng={lng!r}")
    if not -180.0 <= lng <= 180.0:
        raise ValueError(f"bad coordinates lat={lat!r} lng={lng!r}")


def _check_quiet(start_min: int, end_min: int) -> None:
    if not (0 <= start_min < 1440 and 0 <= end_min < 1440):
        raise ValueError(f"quiet hours must be minutes in [0, 1440), got {start_min}-{end_min}")


class WorkerArrays:
    """Columnar worker store. Columns are attributes named as in `COLUMN_NAMES`."""

    lat: np.ndarray
    lng: np.ndarray
    home_lat: np.ndarray
    home_lng: np.ndarray
    skills: np.ndarray
    min_pay_fen: np.ndarray
    birth_year: np.ndarray
    priority: np.ndarray
    mode: np.ndarray
    active: np.ndarray
    checked_in: np.ndarray
    checkin_ms: np.ndarray
    available_until_ms: np.ndarray
    busy_start: np.ndarray
    busy_end: np.ndarray
    open_offers: np.ndarray
    completions: np.ndarray
    no_shows: np.ndarray
    offers_today: np.ndarray
    offers_day: np.ndarray
    push_opt_in: np.ndarray
    quiet_start_min: np.ndarray
    quiet_end_min: np.ndarray
    pushes_today: np.ndarray
    push_day: np.ndarray

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.capacity = max(int(capacity), 1)
        for name, dtype, shape in _COLUMNS:
            setattr(self, name, np.zeros((self.capacity, *shape), dtype=dtype))

    def __len__(self) -> int:
        return self.n

    # ------------------------------------------------------------ capacity --------

    def _resize(self, capacity: int) -> None:
        for name, dtype, shape in _COLUMNS:
            new = np.zeros((capacity, *shape), dtype=dtype)
            new[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, new)
        self.capacity = capacity

    def reserve(self, capacity: int) -> None:
        """Grow to at least `capacity` rows now (avoids repeated doubling on restore)."""
        if capacity > self.capacity:
            self._resize(int(capacity))

    def shrink_to_fit(self) -> None:
        self._resize(max(self.n, 1))

    def nbytes(self) -> int:
        """Bytes held by the columns (capacity included)."""
        return sum(getattr(self, name).nbytes for name in COLUMN_NAMES)

    # ------------------------------------------------------------ registration ----

    def add(
        self,
        *,
        home_lat: float,
        home_lng: float,
        skills: int,
        min_pay_fen: int,
        birth_year: int,
        priority: int = PRIORITY_NONE,
        mode: int = 0,
        push_opt_in: bool = False,
        quiet_start_min: int = 22 * 60,
        quiet_end_min: int = 7 * 60,
    ) -> int:
        """Register a worker; returns its row. Position starts at home, not checked in."""
        if self.n >= 2**31 - 1:
            raise ValueError("worker store full (2**31 - 1 rows)")
        if self.n == self.capacity:
            self._resize(self.capacity * 2)
        row = self.n
        self.n += 1
        self.active[row] = 1
        self.birth_year[row] = birth_year
        self.update(
            row,
            home_lat=home_lat,
            home_lng=home_lng,
            skills=skills,
            min_pay_fen=min_pay_fen,
            priority=priority,
            mode=mode,
            push_opt_in=push_opt_in,
            quiet_start_min=quiet_start_min,
            quiet_end_min=quiet_end_min,
        )
        return row

    def update(
        self,
        row: int,
        *,
        home_lat: float,
        home_lng: float,
        skills: int,
        min_pay_fen: int,
        priority: int,
        mode: int,
        push_opt_in: bool,
        quiet_start_min: int,
        quiet_end_min: int,
    ) -> None:
        """Replace the changeable fields (WorkerUpdated). Moves the position home unless
        the worker is checked in."""
        self._check_row(row)
        _check_point(home_lat, home_lng)
        _check_quiet(quiet_start_min, quiet_end_min)
        if not 0 <= skills <= UINT64_MAX:
            raise ValueError(f"skills mask out of range: {skills}")
        if not 0 <= mode < len(MODES):
            raise ValueError(f"travel mode code out of range: {mode}")
        if min_pay_fen < 0:
            raise ValueError(f"min_pay_fen must be >= 0, got {min_pay_fen}")
        self.home_lat[row] = home_lat
        self.home_lng[row] = home_lng
        self.skills[row] = np.uint64(skills)
        self.min_pay_fen[row] = min_pay_fen
        self.priority[row] = PRIORITY_RECOGNISED if priority > 0 else PRIORITY_NONE
        self.mode[row] = mode
        self.push_opt_in[row] = 1 if push_opt_in else 0
        self.quiet_start_min[row] = quiet_start_min
        self.quiet_end_min[row] = quiet_end_min
        if not self.checked_in[row]:
            self.lat[row] = home_lat
            self.lng[row] = home_lng

    def erase(self, row: int) -> None:
        """WorkerErased: deactivate and zero every field that describes the person."""
        self._check_row(row)
        for name, _, _ in _COLUMNS:
            getattr(self, name)[row] = 0

    # ------------------------------------------------------------ the morning -----

    def check_in(
        self, row: int, lat: float, lng: float, checkin_ms: int, available_until_ms: int
    ) -> None:
        self._check_row(row)
        _check_point(lat, lng)
        self.checked_in[row] = 1
        self.lat[row] = lat
        self.lng[row] = lng
        self.checkin_ms[row] = checkin_ms
        self.available_until_ms[row] = available_until_ms

    def check_out(self, row: int) -> None:
        """Not checked in any more; the position returns home."""
        self._check_row(row)
        self.checked_in[row] = 0
        self.available_until_ms[row] = 0
        self.lat[row] = self.home_lat[row]
        self.lng[row] = self.home_lng[row]

    def set_position(self, row: int, lat: float, lng: float) -> None:
        self._check_row(row)
        _check_point(lat, lng)
        self.lat[row] = lat
        self.lng[row] = lng

    # ------------------------------------------------------------ hires held ------

    def add_busy(self, row: int, start_ms: int, end_ms: int) -> bool:
        """Hold [start_ms, end_ms) in a free slot; False when all `BUSY_SLOTS` are used."""
        self._check_row(row)
        if not 0 < start_ms < end_ms:
            raise ValueError(f"busy interval must satisfy 0 < start < end: {start_ms}, {end_ms}")
        for slot in range(BUSY_SLOTS):
            if self.busy_end[row, slot] == 0:
                self.busy_start[row, slot] = start_ms
                self.busy_end[row, slot] = end_ms
                return True
        return False

    def remove_busy(self, row: int, start_ms: int, end_ms: int) -> bool:
        """Free the slot holding exactly [start_ms, end_ms); False if none does."""
        self._check_row(row)
        for slot in range(BUSY_SLOTS):
            if self.busy_start[row, slot] == start_ms and self.busy_end[row, slot] == end_ms:
                self.busy_start[row, slot] = 0
                self.busy_end[row, slot] = 0
                return True
        return False

    def prune_busy(self, row: int, now_ms: int) -> int:
        """Free the slots whose interval ended at or before `now_ms`; returns how many."""
        self._check_row(row)
        freed = 0
        for slot in range(BUSY_SLOTS):
            end = self.busy_end[row, slot]
            if end != 0 and end <= now_ms:
                self.busy_start[row, slot] = 0
                self.busy_end[row, slot] = 0
                freed += 1
        return freed

    def overlaps_busy(self, row: int, start_ms: int, end_ms: int) -> bool:
        """True if a held hire overlaps [start_ms, end_ms) (same test as the kernels)."""
        starts, ends = self.busy_start[row], self.busy_end[row]
        return bool(np.any((starts < end_ms) & (start_ms < ends)))

    def busy_count(self, row: int) -> int:
        return int(np.count_nonzero(self.busy_end[row]))

    # ------------------------------------------------------------ counters --------

    def offer_made(self, row: int, today: int) -> None:
        """An offer went out: one more open offer and one more offer today."""
        self._check_row(row)
        self.open_offers[row] += 1
        if self.offers_day[row] != today:
            self.offers_day[row] = today
            self.offers_today[row] = 0
        self.offers_today[row] += 1

    def offer_closed(self, row: int) -> None:
        """An offer was accepted, declined, expired or withdrawn."""
        self._check_row(row)
        if self.open_offers[row] <= 0:
            raise ValueError(f"worker row {row} has no open offer to close")
        self.open_offers[row] -= 1

    def offers_on(self, row: int, today: int) -> int:
        return int(self.offers_today[row]) if self.offers_day[row] == today else 0

    def record_completion(self, row: int) -> None:
        self._check_row(row)
        self.completions[row] += 1

    def record_no_show(self, row: int) -> None:
        self._check_row(row)
        self.no_shows[row] += 1

    def record_push(self, row: int, today: int) -> None:
        self._check_row(row)
        if self.push_day[row] != today:
            self.push_day[row] = today
            self.pushes_today[row] = 0
        self.pushes_today[row] += 1

    def pushes_on(self, row: int, today: int) -> int:
        return int(self.pushes_today[row]) if self.push_day[row] == today else 0

    # ------------------------------------------------------------ bulk access -----

    def rank_columns(self) -> tuple[np.ndarray, ...]:
        """The columns `kernels.rank_workers` takes, in its argument order."""
        return (
            self.lat,
            self.lng,
            self.skills,
            self.min_pay_fen,
            self.birth_year,
            self.priority,
            self.mode,
            self.active,
            self.checked_in,
            self.checkin_ms,
            self.available_until_ms,
            self.busy_start,
            self.busy_end,
            self.open_offers,
            self.completions,
            self.no_shows,
            self.offers_today,
            self.offers_day,
        )

    def push_columns(self) -> tuple[np.ndarray, ...]:
        """The columns `kernels.push_candidates` takes, in its argument order."""
        return (
            self.lat,
            self.lng,
            self.home_lat,
            self.home_lng,
            self.skills,
            self.min_pay_fen,
            self.active,
            self.push_opt_in,
            self.quiet_start_min,
            self.quiet_end_min,
            self.pushes_today,
            self.push_day,
            self.busy_start,
            self.busy_end,
        )

    def columns(self) -> dict[str, np.ndarray]:
        """Views of every column trimmed to the registered rows (for snapshots/digests)."""
        return {name: getattr(self, name)[: self.n] for name in COLUMN_NAMES}

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> WorkerArrays:
        """Inverse of `columns()` (copies)."""
        missing = set(COLUMN_NAMES) - set(columns)
        if missing:
            raise ValueError(f"missing worker columns: {sorted(missing)}")
        n = len(columns["lat"])
        out = cls(capacity=max(n, 1))
        for name, dtype, shape in _COLUMNS:
            col = np.asarray(columns[name])
            if col.shape != (n, *shape):
                raise ValueError(f"column {name} has shape {col.shape}, want {(n, *shape)}")
            getattr(out, name)[:n] = col.astype(dtype, copy=False)
        out.n = n
        return out

    def _check_row(self, row: int) -> None:
        if not 0 <= row < self.n:
            raise IndexError(f"worker row {row} out of range (n={self.n})")
