"""The command-id memory: which command ids were executed, with their seq and digest.

Owns: `CommandMemory`, a fixed-layout table (numpy arrays, no Python object per entry):
a FIFO ring of (id hash, seq, command digest, ts) and an open-addressing index over it
(linear probing, backward-shift deletion, numba).

Invariants:
- An id is remembered from its record until it is evicted: FIFO, when the ring holds
  `MAX_REMEMBERED_COMMANDS` ids or the id is older than `WINDOW_MS` of log time (the
  ts of the newest remembered command). A retry after that is decided as new.
- Ids are keyed by their BLAKE2b-128 hash (a collision of two ids among 10**6 has
  probability ~10**-27); the digest is the record's 8-byte command digest (b"" for
  records written before digests existed).
- The ring doubles up to its maximum while it is full of ids inside the window, so a
  steady load reaches a fixed size after one window and stays there (nothing grows with
  history). Deterministic: a replay of the same records builds the same table.

Limits: `MAX_REMEMBERED_COMMANDS` ids; 40 bytes per ring slot plus 8 per index slot
(the index has twice the ring's slots).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

MAX_REMEMBERED_COMMANDS = 1_000_000
WINDOW_MS = 24 * 3_600_000  # a retry is recognised for a day of log time
MIN_SLOTS = 1024
_NO_DIGEST = np.uint64(0)


@njit(cache=True)
def _find(index, k1, k2, h1, h2):
    """Ring position of (h1, h2), or -1."""
    mask = index.shape[0] - 1
    i = np.int64(h1 & np.uint64(mask))
    while True:
        pos = index[i]
        if pos < 0:
            return -1
        if k1[pos] == h1 and k2[pos] == h2:
            return pos
        i = (i + 1) & mask


@njit(cache=True)
def _insert(index, k1, h1, pos):
    mask = index.shape[0] - 1
    i = np.int64(h1 & np.uint64(mask))
    while index[i] >= 0:
        i = (i + 1) & mask
    index[i] = pos


@njit(cache=True)
def _delete(index, k1, k2, h1, h2):
    """Remove (h1, h2) from the index (backward-shift deletion keeps probes intact)."""
    mask = index.shape[0] - 1
    i = np.int64(h1 & np.uint64(mask))
    while True:
        pos = index[i]
        if pos < 0:
            return
        if k1[pos] == h1 and k2[pos] == h2:
            break
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        pos = index[j]
        if pos < 0:
            break
        home = np.int64(k1[pos] & np.uint64(mask))
        # move entry j back to hole i unless its home lies cyclically in (i, j]
        if (j > i and (home <= i or home > j)) or (j < i and home <= i and home > j):
            index[i] = pos
            i = j
    index[i] = -1


def _hash(cmd_id: str) -> tuple[np.uint64, np.uint64]:
    h = hashlib.blake2b(cmd_id.encode(), digest_size=16).digest()
    return np.uint64(int.from_bytes(h[:8], "little")), np.uint64(int.from_bytes(h[8:], "little"))


class CommandMemory:
    """Remembered command ids (see the module header). `get(id)` -> (seq, digest)."""

    def __init__(self, max_entries: int = MAX_REMEMBERED_COMMANDS, window_ms: int = WINDOW_MS):
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.window_ms = window_ms
        self._alloc(min(MIN_SLOTS, max_entries))
        # the last id hashed: a command is looked up, then remembered (one hash, not two)
        self._last: tuple[str, tuple[np.uint64, np.uint64]] = ("", _hash(""))

    def _hashed(self, cmd_id: str) -> tuple[np.uint64, np.uint64]:
        if self._last[0] == cmd_id:
            return self._last[1]
        h = _hash(cmd_id)
        self._last = (cmd_id, h)
        return h

    def _alloc(self, slots: int) -> None:
        self.slots = slots
        self.k1 = np.zeros(slots, dtype=np.uint64)
        self.k2 = np.zeros(slots, dtype=np.uint64)
        self.seq = np.zeros(slots, dtype=np.int64)
        self.digest = np.zeros(slots, dtype=np.uint64)
        self.has_digest = np.zeros(slots, dtype=np.int8)
        self.ts = np.zeros(slots, dtype=np.int64)
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
        return sum(
            a.nbytes
            for a in (self.k1, self.k2, self.seq, self.digest, self.has_digest, self.ts, self.index)
        )

    def get(self, cmd_id: str) -> tuple[int, bytes] | None:
        if not cmd_id or self.n == 0:
            return None
        h1, h2 = self._hashed(cmd_id)
        pos = _find(self.index, self.k1, self.k2, h1, h2)
        if pos < 0:
            return None
        dig = int(self.digest[pos]).to_bytes(8, "little") if self.has_digest[pos] else b""
        return int(self.seq[pos]), dig

    def remember(self, cmd_id: str, seq: int, digest: bytes, ts_ms: int) -> None:
        """Remember `cmd_id` (no-op if known); evict what is out of the window or over
        the maximum first."""
        if not cmd_id:
            return
        h1, h2 = self._hashed(cmd_id)
        if self.n and _find(self.index, self.k1, self.k2, h1, h2) >= 0:
            return
        self._evict_before(ts_ms - self.window_ms)
        if self.n == self.slots:
            if self.slots < self.max_entries:
                self._grow(min(self.slots * 2, self.max_entries))
            else:
                self._evict_oldest()
        pos = (self.head + self.n) % self.slots
        self.k1[pos], self.k2[pos], self.seq[pos], self.ts[pos] = h1, h2, seq, ts_ms
        if len(digest) == 8:
            self.digest[pos] = np.uint64(int.from_bytes(digest, "little"))
            self.has_digest[pos] = 1
        else:
            self.digest[pos] = _NO_DIGEST
            self.has_digest[pos] = 0
        _insert(self.index, self.k1, h1, pos)
        self.n += 1

    def _evict_before(self, cutoff_ms: int) -> None:
        while self.n and self.ts[self.head] < cutoff_ms:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        pos = self.head
        _delete(self.index, self.k1, self.k2, self.k1[pos], self.k2[pos])
        self.head = (self.head + 1) % self.slots
        self.n -= 1

    def _grow(self, slots: int) -> None:
        order = (self.head + np.arange(self.n)) % self.slots
        old = {name: getattr(self, name)[order] for name in _RING}
        n = self.n
        self._alloc(slots)
        for name, values in old.items():
            getattr(self, name)[:n] = values
        self.n = n
        for pos in range(n):
            _insert(self.index, self.k1, self.k1[pos], pos)

    # ------------------------------------------------------------ snapshots -------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The remembered entries, oldest first (for snapshots)."""
        order = (self.head + np.arange(self.n)) % self.slots
        return {name: getattr(self, name)[order].copy() for name in _RING}

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
        for name in _RING:
            getattr(out, name)[:n] = arrays[name]
        out.n = n
        for pos in range(n):
            _insert(out.index, out.k1, out.k1[pos], pos)
        return out


_RING = ("k1", "k2", "seq", "digest", "has_digest", "ts")
