"""Checked-in workers by (H3 cell, skill, class) with a packed copy of what the score reads.

Owns: `WaitingIndex` (cell groups, class groups, their members, the cell-group hash table
and the per-skill directory) and the numba functions that maintain it. The exact
threshold top-k over it is `engine.matching.threshold.rank_waiting`.

Layout (all plain numpy arrays, so the kernels take them as they are):
- a cell group is (H3 cell at `RESOLUTION`, skill bit): the checked-in workers of that
  cell who have that skill; it is split into up to `N_CLASSES` class groups by
  `payload_of` (hardship, offers today, reliability, older, check-in half hour), so a
  station where thousands wait is bounded class by class. A worker with s skills is a
  member of s class groups. Cell groups are found through an open-addressing hash table
  `ht[slot] = (cell, skill, id)` and, for a ranking, through `directory()` (sorted by
  skill then cell, merged with the sorted disk); a cell group is never deleted (at most
  cells x 64: bounded by geography, not by history); class groups are freed when they
  empty and their rows reused.
- members live in blocks of `BLOCK` slots chained per class group; only the head block
  is partly filled, so a removal moves the group's last member into the hole (O(1) plus
  the moved worker's skill chain). Free blocks form a free list.
- a member's payload (`s_i`, `s_f`) copies the worker columns the score reads (position,
  travel mode, check-in time, birth year, priority, reliability, offers of the day) and
  what decides whether it can take a job now (pay minimum, available until, open
  offers, its held hire), so a ranking bounds a member's score and drops one who cannot
  take the job without touching the worker columns.
- per group (both levels), summaries kept lazily for the group bound: bounding box of
  the positions (and the smallest cos of their latitudes), earliest check-in and birth
  year, highest priority and reliability, fewest offers and the range of their days,
  the travel modes present, and for availability the latest "available until", the
  lowest pay minimum and the fewest open offers (a group none of whose members can take
  the job is skipped whole). "Lazily": a member leaving does not tighten them (they stay
  valid bounds); they reset when the group empties.

Invariants (the tests check them against the worker columns):
- a worker is a member of one class group per skill bit of its mask iff it is checked
  in; its payload equals its columns after every fold (`refresh` on offers made and
  closed, hires, completions and no-shows; `replace` on check-in, move, update; `remove` on check-out and erase);
- every summary bounds every current member (min/max in the right direction). Classes
  are hints: a member in a "wrong" class costs time, never a decision.

Limits: rows < 2**31; `MAX_GROUPS` groups of each level and `MAX_SLOTS` members
(ValueError beyond: the engine's live limits stop well before); arrays grow by doubling
and never shrink; the disk cache holds `DISK_CACHE_SIZE` origins (LRU; only saves time).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from h3.api import basic_int as h3i
from h3.api import numpy_int as h3n
from numba import njit

from engine.geo import DEG_TO_RAD
from engine.matching.index import disk_k

RESOLUTION = 7  # ~5.2 km2 cells: a 22 km reach is a disk of ~1,100 cells
BLOCK = 8  # class groups are small (a few members): little slack per group
WAIT_SLOT_MS = 30 * 60_000  # check-in half hours: members of a class group waited alike
N_WAIT_SLOTS = 6  # slots cycle every 3 hours (the default wait cap)
# hardship 2 x offers today 3 x reliability 2 x older 2 x check-in slot (see `payload_of`)
N_CLASSES = 24 * N_WAIT_SLOTS
MAX_GROUPS = 1 << 24
MAX_SLOTS = 1 << 28
DISK_CACHE_SIZE = 4096
OLDER_HINT_AGE = 50  # the default policy's 大龄 age: only sorts members into classes

# s_i columns
# s_i columns (int32)
S_ROW, S_MODE, S_BIRTH, S_PRIO, S_OFFERS, S_OFFERS_DAY, S_WNEXT, S_GROUP = range(8)
S_OPEN, S_BUSY_N = 8, 9  # open offers; held hires (busy slots in use)
N_SI = 10
# s_f columns (float64; ms times and fen are integers < 2**53: exact). The availability
# fields let a ranking drop a member who cannot take the job without reading its columns:
# pay minimum, available until, and its one held hire when it has exactly one
SF_LAT, SF_LNG, SF_REL, SF_CHECKIN, SF_MIN_PAY, SF_UNTIL, SF_BUSY_START, SF_BUSY_END = range(8)
N_SF = 8
# g_i columns (cell groups c_i and class groups g_i alike; G_HEAD, G_PARENT and G_CLASS
# are the class groups' own, G_CELL and G_SKILL the cell groups')
(
    G_HEAD,
    G_COUNT,
    G_MIN_CHECKIN,
    G_MIN_BIRTH,
    G_MAX_PRIO,
    G_MODES,
    G_CELL,
    G_SKILL,
    G_MIN_OFFERS,
    G_MIN_DAY,
    G_MAX_DAY,
    G_PARENT,
    G_CLASS,
    G_MAX_UNTIL,
    G_MIN_MIN_PAY,
    G_MIN_OPEN,
) = range(16)
N_GI = 16
# g_f columns
GF_MINLAT, GF_MAXLAT, GF_MINLNG, GF_MAXLNG, GF_MAX_REL, GF_COS_MIN = range(6)
N_GF = 6
# meta
M_FREE_BLOCK, M_BLOCKS_USED, M_CELLS, M_HT_USED, M_MEMBERS, M_FREE_GROUP, M_GROUPS_USED = range(7)
N_META = 7
# payload passed by the caller: pi = checkin_ms, mode, birth_year, priority,
# offers_today, offers_day, class; pf = lat, lng, reliability


@njit(cache=True)
def local_year_of_ms(ts_ms):
    """`engine.geo.local_year` (Asia/Shanghai) in numba: civil_from_days of the day."""
    z = (ts_ms + 8 * 3_600_000) // 86_400_000 + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0)


@njit(cache=True)
def payload_of(row, pi, pf, checkin_ms, mode, birth_year, priority, offers_today, offers_day,
               lat, lng, completions, no_shows, min_pay_fen, available_until_ms, open_offers,
               busy_start, busy_end):  # fmt: skip
    """Fill the payload (pi, pf) of `row` from the worker columns, its class included.

    The class is a hint that keeps similar scores together (every bound comes from the
    group's own summaries, so a stale class costs time, never a decision): hardship,
    offers of the check-in's day (0, 1, 2+), reliability >= 0.6, older than
    `OLDER_HINT_AGE` in the check-in's year, and the half hour of the check-in (modulo
    `N_WAIT_SLOTS`), so a class group's members waited about as long.
    """
    checkin = np.int64(checkin_ms[row])
    done = np.int64(completions[row])
    rel = float(done + 1) / float(done + np.int64(no_shows[row]) + 2)
    pi[0] = checkin
    pi[1] = mode[row]
    pi[2] = birth_year[row]
    pi[3] = priority[row]
    pi[4] = offers_today[row]
    pi[5] = offers_day[row]
    pf[0] = lat[row]
    pf[1] = lng[row]
    pf[2] = rel
    pi[7] = open_offers[row]
    n = 0
    for b in range(busy_start.shape[1]):
        if busy_start[row, b] < busy_end[row, b]:
            if n == 0:
                pf[5] = float(busy_start[row, b])
                pf[6] = float(busy_end[row, b])
            n += 1
    pi[8] = n
    pf[3] = float(min_pay_fen[row])
    pf[4] = float(available_until_ms[row])
    older = local_year_of_ms(checkin) - np.int64(birth_year[row]) >= OLDER_HINT_AGE
    # offers of a day before the check-in's count 0: today's exposure
    day = (checkin + 8 * 3_600_000) // 86_400_000
    level = np.int64(offers_today[row]) if np.int64(offers_day[row]) >= day else 0
    pi[6] = (
        (1 if priority[row] > 0 else 0)
        + 2 * min(max(level, 0), 2)
        + 6 * (1 if rel >= 0.6 else 0)
        + 12 * (1 if older else 0)
        + 24 * ((checkin // WAIT_SLOT_MS) % N_WAIT_SLOTS)
    )


@njit(cache=True)
def _hash(cell, skill, mask):
    h = np.uint64(cell) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(skill) * np.uint64(
        0xC2B2AE3D27D4EB4F
    )
    h ^= h >> np.uint64(29)
    return np.int64(h & np.uint64(mask))


@njit(cache=True)
def lookup(ht, cell, skill):
    """Cell group id of (cell, skill), or -1."""
    mask = ht.shape[0] - 1
    i = _hash(cell, skill, mask)
    while ht[i, 2] >= 0:
        if ht[i, 0] == cell and ht[i, 1] == skill:
            return ht[i, 2]
        i = (i + 1) & mask
    return -1


@njit(cache=True)
def _ht_put(ht, cell, skill, gid):
    mask = ht.shape[0] - 1
    i = _hash(cell, skill, mask)
    while ht[i, 2] >= 0:
        i = (i + 1) & mask
    ht[i, 0] = cell
    ht[i, 1] = skill
    ht[i, 2] = gid


@njit(cache=True)
def _reset(gi, gf, g):
    gi[g, G_HEAD] = -1
    gi[g, G_COUNT] = 0
    gi[g, G_MIN_CHECKIN] = np.iinfo(np.int64).max
    gi[g, G_MIN_BIRTH] = np.iinfo(np.int64).max
    gi[g, G_MAX_PRIO] = -1
    gi[g, G_MODES] = 0
    gi[g, G_MIN_OFFERS] = np.iinfo(np.int64).max
    gi[g, G_MIN_DAY] = np.iinfo(np.int64).max
    gi[g, G_MAX_DAY] = np.iinfo(np.int64).min
    gi[g, G_MAX_UNTIL] = np.iinfo(np.int64).min
    gi[g, G_MIN_MIN_PAY] = np.iinfo(np.int64).max
    gi[g, G_MIN_OPEN] = np.iinfo(np.int64).max
    gf[g, GF_MINLAT] = np.inf
    gf[g, GF_MAXLAT] = -np.inf
    gf[g, GF_MINLNG] = np.inf
    gf[g, GF_MAXLNG] = -np.inf
    gf[g, GF_MAX_REL] = -np.inf
    gf[g, GF_COS_MIN] = np.inf


@njit(cache=True)
def _widen(gi, gf, g, s_i, s_f, s):
    """Widen group g's summaries to cover member slot s."""
    checkin = np.int64(s_f[s, SF_CHECKIN])
    if checkin < gi[g, G_MIN_CHECKIN]:
        gi[g, G_MIN_CHECKIN] = checkin
    if s_i[s, S_BIRTH] < gi[g, G_MIN_BIRTH]:
        gi[g, G_MIN_BIRTH] = s_i[s, S_BIRTH]
    if s_i[s, S_PRIO] > gi[g, G_MAX_PRIO]:
        gi[g, G_MAX_PRIO] = s_i[s, S_PRIO]
    gi[g, G_MODES] |= np.int64(1) << s_i[s, S_MODE]
    until = np.int64(s_f[s, SF_UNTIL])
    if until > gi[g, G_MAX_UNTIL]:
        gi[g, G_MAX_UNTIL] = until
    min_pay = np.int64(s_f[s, SF_MIN_PAY])
    if min_pay < gi[g, G_MIN_MIN_PAY]:
        gi[g, G_MIN_MIN_PAY] = min_pay
    if s_i[s, S_OPEN] < gi[g, G_MIN_OPEN]:
        gi[g, G_MIN_OPEN] = s_i[s, S_OPEN]
    if s_i[s, S_OFFERS] < gi[g, G_MIN_OFFERS]:
        gi[g, G_MIN_OFFERS] = s_i[s, S_OFFERS]
    if s_i[s, S_OFFERS_DAY] < gi[g, G_MIN_DAY]:
        gi[g, G_MIN_DAY] = s_i[s, S_OFFERS_DAY]
    if s_i[s, S_OFFERS_DAY] > gi[g, G_MAX_DAY]:
        gi[g, G_MAX_DAY] = s_i[s, S_OFFERS_DAY]
    lat = s_f[s, SF_LAT]
    lng = s_f[s, SF_LNG]
    if lat < gf[g, GF_MINLAT]:
        gf[g, GF_MINLAT] = lat
    if lat > gf[g, GF_MAXLAT]:
        gf[g, GF_MAXLAT] = lat
    if lng < gf[g, GF_MINLNG]:
        gf[g, GF_MINLNG] = lng
    if lng > gf[g, GF_MAXLNG]:
        gf[g, GF_MAXLNG] = lng
    if s_f[s, SF_REL] > gf[g, GF_MAX_REL]:
        gf[g, GF_MAX_REL] = s_f[s, SF_REL]
    c = math.cos(lat * DEG_TO_RAD)
    if c < gf[g, GF_COS_MIN]:
        gf[g, GF_COS_MIN] = c


@njit(cache=True)
def _fill(s_i, s_f, s, row, pi, pf):
    s_i[s, S_ROW] = row
    s_f[s, SF_CHECKIN] = float(pi[0])
    s_i[s, S_MODE] = pi[1]
    s_i[s, S_BIRTH] = pi[2]
    s_i[s, S_PRIO] = pi[3]
    s_i[s, S_OFFERS] = pi[4]
    s_i[s, S_OFFERS_DAY] = pi[5]
    s_f[s, SF_LAT] = pf[0]
    s_f[s, SF_LNG] = pf[1]
    s_f[s, SF_REL] = pf[2]
    s_i[s, S_OPEN] = pi[7]
    s_i[s, S_BUSY_N] = pi[8]
    s_f[s, SF_MIN_PAY] = pf[3]
    s_f[s, SF_UNTIL] = pf[4]
    s_f[s, SF_BUSY_START] = pf[5]
    s_f[s, SF_BUSY_END] = pf[6]


@njit(cache=True)
def add_member(ht, c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, row, cell, skills,
               pi, pf):  # fmt: skip
    """Make `row` a member of (cell, s, its class) for every bit s of `skills` (capacity
    is the caller's: free blocks, group rows and hash slots to spare)."""
    block = s_i.shape[0] // b_i.shape[0]
    cls = pi[6]
    first = np.int64(-1)
    for bit in range(64):
        if (skills >> np.uint64(bit)) & np.uint64(1) == np.uint64(0):
            continue
        cg = lookup(ht, cell, bit)
        if cg < 0:
            cg = meta[M_CELLS]
            meta[M_CELLS] += 1
            _reset(c_i, c_f, cg)
            c_i[cg, G_CELL] = cell
            c_i[cg, G_SKILL] = bit
            for c in range(c_sub.shape[1]):
                c_sub[cg, c] = -1
            _ht_put(ht, cell, bit, cg)
            meta[M_HT_USED] += 1
        g = c_sub[cg, cls]
        if g < 0:
            g = meta[M_FREE_GROUP]
            if g >= 0:
                meta[M_FREE_GROUP] = g_i[g, G_HEAD]
            else:
                g = meta[M_GROUPS_USED]
                meta[M_GROUPS_USED] += 1
            _reset(g_i, g_f, g)
            g_i[g, G_PARENT] = cg
            g_i[g, G_CLASS] = cls
            c_sub[cg, cls] = g
        head = g_i[g, G_HEAD]
        if head < 0 or b_i[head, 1] == block:
            nb = meta[M_FREE_BLOCK]
            if nb >= 0:
                meta[M_FREE_BLOCK] = b_i[nb, 0]
            else:
                nb = meta[M_BLOCKS_USED]
                meta[M_BLOCKS_USED] += 1
            b_i[nb, 0] = head
            b_i[nb, 1] = 0
            g_i[g, G_HEAD] = nb
            head = nb
        s = head * block + b_i[head, 1]
        b_i[head, 1] += 1
        g_i[g, G_COUNT] += 1
        c_i[cg, G_COUNT] += 1
        _fill(s_i, s_f, s, row, pi, pf)
        s_i[s, S_GROUP] = g
        s_i[s, S_WNEXT] = first
        first = s
        _widen(g_i, g_f, g, s_i, s_f, s)
        _widen(c_i, c_f, cg, s_i, s_f, s)
        meta[M_MEMBERS] += 1
    r_first[row] = first


@njit(cache=True)
def _remove_slot(c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, s):
    block = s_i.shape[0] // b_i.shape[0]
    g = s_i[s, S_GROUP]
    head = g_i[g, G_HEAD]
    last = head * block + b_i[head, 1] - 1
    if last != s:
        for c in range(s_i.shape[1]):
            s_i[s, c] = s_i[last, c]
        for c in range(s_f.shape[1]):
            s_f[s, c] = s_f[last, c]
        moved = s_i[s, S_ROW]
        p = r_first[moved]
        if p == last:
            r_first[moved] = s
        else:
            while s_i[p, S_WNEXT] != last:
                p = s_i[p, S_WNEXT]
            s_i[p, S_WNEXT] = s
    b_i[head, 1] -= 1
    if b_i[head, 1] == 0:
        g_i[g, G_HEAD] = b_i[head, 0]
        b_i[head, 0] = meta[M_FREE_BLOCK]
        meta[M_FREE_BLOCK] = head
    g_i[g, G_COUNT] -= 1
    cg = g_i[g, G_PARENT]
    if g_i[g, G_COUNT] == 0:  # the class group leaves; its row is reused
        c_sub[cg, g_i[g, G_CLASS]] = -1
        _reset(g_i, g_f, g)
        g_i[g, G_HEAD] = meta[M_FREE_GROUP]
        meta[M_FREE_GROUP] = g
    c_i[cg, G_COUNT] -= 1
    if c_i[cg, G_COUNT] == 0:
        cell = c_i[cg, G_CELL]
        skill = c_i[cg, G_SKILL]
        _reset(c_i, c_f, cg)
        c_i[cg, G_CELL] = cell
        c_i[cg, G_SKILL] = skill
    meta[M_MEMBERS] -= 1


@njit(cache=True)
def remove_member(c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, row):
    """Take `row` out of every group it is in (no-op when absent)."""
    s = r_first[row]
    r_first[row] = -1
    while s >= 0:
        nxt = s_i[s, S_WNEXT]
        _remove_slot(c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, s)
        s = nxt


@njit(cache=True)
def refresh_member(c_i, c_f, g_i, g_f, s_i, s_f, r_first, row, pi, pf):
    """Copy `row`'s columns again into each of its slots; False (nothing changed) when
    its class changed (the caller moves it: remove + add)."""
    s = r_first[row]
    if s >= 0 and g_i[s_i[s, S_GROUP], G_CLASS] != pi[6]:
        return False
    while s >= 0:
        g = s_i[s, S_GROUP]
        _fill(s_i, s_f, s, row, pi, pf)
        _widen(g_i, g_f, g, s_i, s_f, s)
        _widen(c_i, c_f, g_i[g, G_PARENT], s_i, s_f, s)
        s = s_i[s, S_WNEXT]
    return True


@njit(cache=True)
def refresh_or_move(ht, c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, row, skills,
                    pi, pf, checkin_ms, mode, birth_year, priority, offers_today, offers_day,
                    lat, lng, completions, no_shows, min_pay_fen, available_until_ms,
                    open_offers, busy_start, busy_end):  # fmt: skip
    """`payload_of` then `refresh_member`, and when the class changed, `remove_member` then
    `add_member` in the member's own cell (a refresh never moves a worker: its cell is
    its groups'), in one call. Returns whether the class was unchanged (capacity as
    `add_member`)."""
    payload_of(row, pi, pf, checkin_ms, mode, birth_year, priority, offers_today, offers_day,
               lat, lng, completions, no_shows, min_pay_fen, available_until_ms, open_offers,
               busy_start, busy_end)  # fmt: skip
    if refresh_member(c_i, c_f, g_i, g_f, s_i, s_f, r_first, row, pi, pf):
        return True
    cell = c_i[g_i[s_i[r_first[row], S_GROUP], G_PARENT], G_CELL]
    remove_member(c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, row)
    add_member(ht, c_i, c_f, c_sub, g_i, g_f, b_i, s_i, s_f, r_first, meta, row, cell, skills,
               pi, pf)  # fmt: skip
    return False


class WaitingIndex:
    """Checked-in workers by (res-7 cell, skill, class) with packed score inputs (see
    the header)."""

    def __init__(self, resolution: int = RESOLUTION) -> None:
        self.res = resolution
        self.ht = np.full((1024, 3), -1, dtype=np.int64)
        self.c_i = np.zeros((256, N_GI), dtype=np.int64)
        self.c_f = np.zeros((256, N_GF), dtype=np.float64)
        self.c_sub = np.full((256, N_CLASSES), -1, dtype=np.int32)
        self.g_i = np.zeros((256, N_GI), dtype=np.int64)
        self.g_f = np.zeros((256, N_GF), dtype=np.float64)
        self.b_i = np.zeros((256, 2), dtype=np.int64)
        self.s_i = np.zeros((256 * BLOCK, N_SI), dtype=np.int32)
        self.s_f = np.zeros((256 * BLOCK, N_SF), dtype=np.float64)
        self.r_first = np.full(1024, -1, dtype=np.int32)
        self.meta = np.zeros(N_META, dtype=np.int64)
        self.meta[M_FREE_BLOCK] = -1
        self.meta[M_FREE_GROUP] = -1
        self._pi = np.zeros(9, dtype=np.int64)
        self._pf = np.zeros(7, dtype=np.float64)
        self._dir: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._dir_cells = -1

    def __len__(self) -> int:
        """Memberships (a worker with s skills counts s times)."""
        return int(self.meta[M_MEMBERS])

    def __contains__(self, row: int) -> bool:
        return 0 <= row < len(self.r_first) and self.r_first[row] >= 0

    def nbytes(self) -> int:
        arrays = (self.ht, self.c_i, self.c_f, self.c_sub, self.g_i, self.g_f, self.b_i,
                  self.s_i, self.s_f, self.r_first)  # fmt: skip
        return sum(a.nbytes for a in arrays)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """What `threshold.rank_waiting` takes after the disk and the job's arguments."""
        return (*self.directory(), self.c_i, self.c_f, self.c_sub, self.g_i, self.g_f,
                self.b_i, self.s_i, self.s_f)  # fmt: skip

    def _payload(self, workers, row: int) -> None:  # noqa: ANN001
        w = workers
        payload_of(
            row, self._pi, self._pf, w.checkin_ms, w.mode, w.birth_year, w.priority,
            w.offers_today, w.offers_day, w.lat, w.lng, w.completions, w.no_shows,
            w.min_pay_fen, w.available_until_ms, w.open_offers, w.busy_start, w.busy_end,
        )  # fmt: skip

    def _reserve(self, row: int, skills: int) -> None:
        n = bin(skills).count("1")
        if row >= len(self.r_first):
            size = max(row + 1, 2 * len(self.r_first))
            self.r_first = np.concatenate(
                [self.r_first, np.full(size - len(self.r_first), -1, dtype=np.int32)]
            )
        if len(self.b_i) - int(self.meta[M_BLOCKS_USED]) < n:
            size = 2 * len(self.b_i)
            if size * BLOCK > MAX_SLOTS:
                raise ValueError(f"waiting index full ({MAX_SLOTS} members)")
            self.b_i = _grown(self.b_i, size)
            self.s_i = _grown(self.s_i, size * BLOCK)
            self.s_f = _grown(self.s_f, size * BLOCK)
        if int(self.meta[M_GROUPS_USED]) + n > len(self.g_i):
            size = 2 * len(self.g_i)
            if size > MAX_GROUPS:
                raise ValueError(f"waiting index full ({MAX_GROUPS} groups)")
            self.g_i = _grown(self.g_i, size)
            self.g_f = _grown(self.g_f, size)
        if int(self.meta[M_CELLS]) + n > len(self.c_i):
            size = 2 * len(self.c_i)
            if size > MAX_GROUPS:
                raise ValueError(f"waiting index full ({MAX_GROUPS} cell groups)")
            self.c_i = _grown(self.c_i, size)
            self.c_f = _grown(self.c_f, size)
            self.c_sub = _grown(self.c_sub, size, fill=-1)
        if 2 * (int(self.meta[M_HT_USED]) + n) > len(self.ht):
            old = self.ht
            self.ht = np.full((2 * len(old), 3), -1, dtype=np.int64)
            _rehash(old, self.ht)

    def add(self, row: int, workers, skills: int | None = None) -> None:  # noqa: ANN001
        """Index a checked-in worker from its columns (position = `workers.lat/lng`)."""
        if row in self:
            raise ValueError(f"row {row} is already in the waiting index")
        mask = int(workers.skills[row]) if skills is None else int(skills)
        self._reserve(row, mask)
        self._payload(workers, row)
        cell = h3i.latlng_to_cell(float(workers.lat[row]), float(workers.lng[row]), self.res)
        add_member(
            self.ht, self.c_i, self.c_f, self.c_sub, self.g_i, self.g_f, self.b_i, self.s_i,
            self.s_f, self.r_first, self.meta, row, cell, np.uint64(mask), self._pi, self._pf,
        )  # fmt: skip

    def remove(self, row: int) -> None:
        if row in self:
            remove_member(self.c_i, self.c_f, self.c_sub, self.g_i, self.g_f, self.b_i,
                          self.s_i, self.s_f, self.r_first, self.meta, row)  # fmt: skip

    def replace(self, row: int, workers) -> None:  # noqa: ANN001
        """Index `row` again from its columns (moved, new skills or mode, re-check-in)."""
        self.remove(row)
        self.add(row, workers)

    def refresh(self, row: int, workers) -> None:  # noqa: ANN001
        """Copy the columns that change in place (offers, reliability); a member whose
        class changed moves to its new class group."""
        if row not in self:
            return
        mask = int(workers.skills[row])
        self._reserve(row, mask)
        w = workers
        refresh_or_move(
            self.ht, self.c_i, self.c_f, self.c_sub, self.g_i, self.g_f, self.b_i, self.s_i,
            self.s_f, self.r_first, self.meta, row, np.uint64(mask), self._pi, self._pf,
            w.checkin_ms, w.mode, w.birth_year, w.priority, w.offers_today, w.offers_day,
            w.lat, w.lng, w.completions, w.no_shows, w.min_pay_fen, w.available_until_ms,
            w.open_offers, w.busy_start, w.busy_end,
        )  # fmt: skip

    def directory(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start[skill], cell, cell group): every cell group sorted by (skill, cell); the
        groups of skill b are positions start[b]:start[b + 1]. Cell groups created since
        the last call are inserted in place (a few a morning once the map has filled; a
        full sort when many are new)."""
        n = int(self.meta[M_CELLS])
        if self._dir is not None and self._dir_cells == n:
            return self._dir
        if self._dir is None or n - self._dir_cells > 64:
            skill = self.c_i[:n, G_SKILL]
            cell = self.c_i[:n, G_CELL]
            order = np.lexsort((cell, skill))
            start = np.searchsorted(skill[order], np.arange(65), side="left")
            self._dir = (
                np.ascontiguousarray(start, dtype=np.int64),
                np.ascontiguousarray(cell[order]),
                np.ascontiguousarray(order, dtype=np.int64),
            )
        else:
            start, cells, gids = self._dir
            start = start.copy()
            for cg in range(self._dir_cells, n):
                skill = int(self.c_i[cg, G_SKILL])
                cell = int(self.c_i[cg, G_CELL])
                lo, hi = int(start[skill]), int(start[skill + 1])
                pos = lo + int(np.searchsorted(cells[lo:hi], cell))
                cells = np.insert(cells, pos, cell)
                gids = np.insert(gids, pos, cg)
                start[skill + 1 :] += 1
            self._dir = (start, cells, gids)
        self._dir_cells = n
        return self._dir

    def members_of(self, row: int) -> list[tuple[int, int, int]]:
        """(cell, skill bit, class) of each group `row` is in (tests and audits)."""
        out = []
        s = int(self.r_first[row]) if row < len(self.r_first) else -1
        while s >= 0:
            g = int(self.s_i[s, S_GROUP])
            cg = int(self.g_i[g, G_PARENT])
            out.append(
                (int(self.c_i[cg, G_CELL]), int(self.c_i[cg, G_SKILL]), int(self.g_i[g, G_CLASS]))
            )
            s = int(self.s_i[s, S_WNEXT])
        return out


def _grown(a: np.ndarray, rows: int, fill: int = 0) -> np.ndarray:
    out = np.full((rows, *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


@njit(cache=True)
def _rehash(old, new):
    for i in range(old.shape[0]):
        if old[i, 2] >= 0:
            _ht_put(new, old[i, 0], old[i, 1], old[i, 2])


_DISKS: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()


def disk_cells(lat: float, lng: float, radius_m: float, res: int = RESOLUTION) -> np.ndarray:
    """Cells (int64, ascending) of the grid disk around (lat, lng) that covers `radius_m` (shared,
    bounded LRU cache: it only saves time)."""
    origin = h3i.latlng_to_cell(lat, lng, res)
    key = (origin, disk_k(res, radius_m))
    hit = _DISKS.get(key)
    if hit is not None:
        _DISKS.move_to_end(key)
        return hit
    hit = np.sort(np.asarray(h3n.grid_disk(origin, key[1]), dtype=np.int64))
    _DISKS[key] = hit
    if len(_DISKS) > DISK_CACHE_SIZE:
        _DISKS.popitem(last=False)
    return hit
