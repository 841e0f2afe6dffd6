"""The command-id memory: which command ids were executed, with their seq and digest.

Owns: `CommandMemory`, a fixed-layout table (numpy arrays, no Python object per entry):
a FIFO ring of (id hash, seq, command digest, ts) rows in one int64 array and an
open-addressing index over it (linear probing, backward-shift deletion). A look-up is
one numba call, a remember one more (the window's evictions and the insert inside it).

Invariants:
- An id is remembered from its record until it is evicted: FIFO, when the ring holds
  `MAX_REMEMBERED_COMMANDS` ids or the id is older than `WINDOW_MS` of log time (the
  ts of the newest remembered command). A retry after that is decided as new.
- Ids are keyed by their BLAKE2b-128 hash (a collision of two ids among 10**6 has
  probability ~10**-27); the digest is the record's 8-byte command digest (b"" for
  records written before digests existed).
- The ring doubles up to its maximum while it is full of ids inside the window, so a
  steady load reaches a fixed size after one window and stays there (nothing grows with
  history). Deterministic: a replay of the same records builds the same table, and the
  snapshot's columns (`to_arrays`) keep their names, types and values.

Limits: `MAX_REMEMBERED_COMMANDS` ids; 40 bytes per ring slot plus 8 per index slot
(the index has twice the ring's slots).
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
from numba import njit

MAX_REMEMBERED_COMMANDS = 1_000_000
WINDOW_MS = 24 * 3_600_000  # a retry is recognised for a day of log time
MIN_SLOTS = 1024
# ring columns (int64): the id's hash (two halves, the bits of the snapshot's uint64
# columns), seq * 2 + (1 if a digest is known), the digest's bits, ts
R_K1, R_K2, R_SEQ, R_DIGEST, R_TS = range(5)
N_RING = 5
_HALVES = struct.Struct("<qq")
_DIGEST = struct.Struct("<q")


@njit(cache=True)
def _find(index, ring, h1, h2):
    """Ring position of (h1, h2), or -1."""
    mask = index.shape[0] - 1
    i = h1 & mask
    while True:
        pos = index[i]
        if pos < 0:
            return -1
        if ring[pos, R_K1] == h1 and ring[pos, R_K2] == h2:
            return pos
        i = (i + 1) & mask


@njit(cache=True)
def _insert(index, h1, pos):
    mask = index.shape[0] - 1
    i = h1 & mask
    while index[i] >= 0:
        i = (i + 1) & mask
    index[i] = pos


@njit(cache=True)
def _delete(index, ring, h1, h2):
    """Remove (h1, h2) from the index (backward-shift deletion keeps probes intact)."""
    mask = index.shape[0] - 1
    i = h1 & mask
    while True:
        pos = index[i]
        if pos < 0:
            return
        if ring[pos, R_K1] == h1 and ring[pos, R_K2] == h2:
            break
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        pos = index[j]
        if pos < 0:
            break
        home = ring[pos, R_K1] & mask
        # move entry j back to hole i unless its home lies cyclically in (i, j]
        if (j > i and (home <= i or home > j)) or (j < i and home <= i and home > j):
            index[i] = pos
            i = j
    index[i] = -1


@njit(cache=True)
def _remember(index, ring, head, n, h1, h2, seq_has, digest, ts_ms, cutoff_ms, at_max):
    """Remember (h1, h2) -> (head, n, done). Known ids are left as they are; ids older
    than `cutoff_ms` leave first; a full ring loses its oldest id when `at_max`, else
    nothing is inserted (done 0: the caller grows the ring and calls again)."""
    if n and _find(index, ring, h1, h2) >= 0:
        return head, n, 1
    slots = ring.shape[0]
    while n and ring[head, R_TS] < cutoff_ms:
        _delete(index, ring, ring[head, R_K1], ring[head, R_K2])
        head = (head + 1) % slots
        n -= 1
    if n == slots:
        if not at_max:
            return head, n, 0
        _delete(index, ring, ring[head, R_K1], ring[head, R_K2])
        head = (head + 1) % slots
        n -= 1
    pos = (head + n) % slots
    ring[pos, R_K1] = h1
    ring[pos, R_K2] = h2
    ring[pos, R_SEQ] = seq_has
    ring[pos, R_DIGEST] = digest
    ring[pos, R_TS] = ts_ms
    _insert(index, h1, pos)
    return head, n + 1, 1


@njit(cache=True)
def _reindex(index, ring, n):
    for pos in range(n):
        _insert(index, ring[pos, R_K1], pos)


def _hash(cmd_id: str) -> tuple[int, int]:
    """The id's BLAKE2b-128 as two signed 64-bit halves (little-endian)."""
    return _HALVES.unpack(hashlib.blake2b(cmd_id.encode(), digest_size=16).digest())


class CommandMemory:
    """Remembered command ids (see the module header). `get(id)` -> (seq, digest)."""

    def __init__(self, max_entries: int = MAX_REMEMBERED_COMMANDS, window_ms: int = WINDOW_MS):
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.window_ms = window_ms
        self._alloc(min(MIN_SLOTS, max_entries))
        # the last id hashed: a command is looked up, then remembered (one hash, not two)
        self._last: tuple[str, tuple[int, int]] = ("", _hash(""))

    def _hashed(self, cmd_id: str) -> tuple[int, int]:
        if self._last[0] == cmd_id:
            return self._last[1]
        h = _hash(cmd_id)
        self._last = (cmd_id, h)
        return h

    def _alloc(self, slots: int) -> None:
        self.slots = slots
        self.ring = np.zeros((slots, N_RING), dtype=np.int64)
        size = 1
        while size < 2 * slots:
            size *= 2
        self.index = np.full(size, -1, dtype=np.int64)
        self.head = 0  # ring position of the oldest id
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def __contains__(self, cmd_id: str) -> bool:
        return self.get(cmd_id) is not None

    def __eq__(self, other: object) -> bool:
        """Same remembered entries in the same order (layout and capacity aside)."""
        if not isinstance(other, CommandMemory):
            return NotImplemented
        a, b = self.to_arrays(), other.to_arrays()
        return all(np.array_equal(a[name], b[name]) for name in _RING)

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, cmd_id: str) -> tuple[int, bytes]:
        hit = self.get(cmd_id)
        if hit is None:
            raise KeyError(cmd_id)
        return hit

    def nbytes(self) -> int:
        return self.ring.nbytes + self.index.nbytes

    def get(self, cmd_id: str) -> tuple[int, bytes] | None:
        if not cmd_id or self.n == 0:
            return None
        h1, h2 = self._hashed(cmd_id)
        pos = _find(self.index, self.ring, h1, h2)
        if pos < 0:
            return None
        seq_has = int(self.ring[pos, R_SEQ])
        dig = _DIGEST.pack(int(self.ring[pos, R_DIGEST])) if seq_has & 1 else b""
        return seq_has >> 1, dig

    def remember(self, cmd_id: str, seq: int, digest: bytes, ts_ms: int) -> None:
        """Remember `cmd_id` (no-op if known); evict what is out of the window or over
        the maximum first."""
        if not cmd_id:
            return
        h1, h2 = self._hashed(cmd_id)
        if len(digest) == 8:
            seq_has, dig = seq * 2 + 1, _DIGEST.unpack(digest)[0]
        else:
            seq_has, dig = seq * 2, 0
        cutoff_ms = ts_ms - self.window_ms
        while True:
            at_max = self.slots >= self.max_entries
            self.head, self.n, done = _remember(
                self.index,
                self.ring,
                self.head,
                self.n,
                h1,
                h2,
                seq_has,
                dig,
                ts_ms,
                cutoff_ms,
                at_max,
            )
            if done:
                return
            self._grow(min(self.slots * 2, self.max_entries))

    def _grow(self, slots: int) -> None:
        order = (self.head + np.arange(self.n)) % self.slots
        rows = self.ring[order]
        n = self.n
        self._alloc(slots)
        self.ring[:n] = rows
        self.n = n
        _reindex(self.index, self.ring, n)

    # ------------------------------------------------------------ snapshots -------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The remembered entries, oldest first (for snapshots): columns k1, k2 and
        digest (uint64), seq and ts (int64), has_digest (int8)."""
        rows = self.ring[(self.head + np.arange(self.n)) % self.slots]
        return {
            "k1": rows[:, R_K1].view(np.uint64).copy(),
            "k2": rows[:, R_K2].view(np.uint64).copy(),
            "seq": rows[:, R_SEQ] >> 1,
            "digest": rows[:, R_DIGEST].view(np.uint64).copy(),
            "has_digest": (rows[:, R_SEQ] & 1).astype(np.int8),
            "ts": rows[:, R_TS].copy(),
        }

    @classmethod
    def from_arrays(
        cls,
        arrays: dict[str, np.ndarray],
        max_entries: int = MAX_REMEMBERED_COMMANDS,
        window_ms: int = WINDOW_MS,
    ) -> CommandMemory:
        out = cls(max_entries, window_ms)
        n = len(arrays["seq"])
        slots = out.slots
        while slots < n:
            slots *= 2
        out._alloc(min(slots, max(max_entries, n)))
        ring = out.ring
        ring[:n, R_K1] = np.asarray(arrays["k1"], dtype=np.uint64).view(np.int64)
        ring[:n, R_K2] = np.asarray(arrays["k2"], dtype=np.uint64).view(np.int64)
        has = np.asarray(arrays["has_digest"], dtype=np.int64) != 0
        ring[:n, R_SEQ] = np.asarray(arrays["seq"], dtype=np.int64) * 2 + has
        ring[:n, R_DIGEST] = np.asarray(arrays["digest"], dtype=np.uint64).view(np.int64)
        ring[:n, R_TS] = arrays["ts"]
        out.n = n
        _reindex(out.index, ring, n)
        return out


_RING = ("k1", "k2", "seq", "digest", "has_digest", "ts")
