"""Bounded top-k selection for the numba kernels: a binary heap over parallel arrays.

Owns: `TopK` helpers (`heap_offer`, `heap_drain`) and `unique_rows`, used by
`engine.matching.kernels`.

Order: an entry is (key float64, row int64); higher key is better, and on equal keys the
lower row is better (the "worker id" tie-break). The heap keeps the k best with the worst
at the root, so a candidate is admitted iff it beats the root; `heap_drain` returns the
entries best first. This is a total order, so the result does not depend on the order in
which candidates are offered.

Payload: each heap entry owns a `slot` in caller-side payload arrays (distance, features
...); `heap_offer` returns the slot to write (-1 when the candidate is not admitted); an
evicted entry's slot is reused.

Limits: O(log k) per admitted candidate; capacity fixed at creation.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _worse(keys, rows, a, b):
    """Is heap entry a worse than entry b?"""
    return keys[a] < keys[b] or (keys[a] == keys[b] and rows[a] > rows[b])


@njit(cache=True)
def _swap(keys, rows, slots, a, b):
    keys[a], keys[b] = keys[b], keys[a]
    rows[a], rows[b] = rows[b], rows[a]
    slots[a], slots[b] = slots[b], slots[a]


@njit(cache=True)
def _sift_down(keys, rows, slots, size, i):
    while True:
        worst = i
        left = 2 * i + 1
        right = left + 1
        if left < size and _worse(keys, rows, left, worst):
            worst = left
        if right < size and _worse(keys, rows, right, worst):
            worst = right
        if worst == i:
            return
        _swap(keys, rows, slots, i, worst)
        i = worst


@njit(cache=True)
def beats_root(keys, rows, size, cap, key, row):
    """Would (key, row) be admitted? True while the heap is not full."""
    if size < cap:
        return True
    return key > keys[0] or (key == keys[0] and row < rows[0])


@njit(cache=True)
def heap_offer(keys, rows, slots, size, cap, key, row):
    """Offer (key, row) -> (new size, payload slot or -1 if not admitted)."""
    if cap == 0 or not beats_root(keys, rows, size, cap, key, row):
        return size, -1
    if size < cap:
        i = size
        keys[i], rows[i], slots[i] = key, row, size
        while i > 0:
            parent = (i - 1) // 2
            if not _worse(keys, rows, i, parent):
                break
            _swap(keys, rows, slots, i, parent)
            i = parent
        return size + 1, size
    slot = slots[0]
    keys[0], rows[0] = key, row
    _sift_down(keys, rows, slots, size, 0)
    return size, slot


@njit(cache=True)
def heap_drain(keys, rows, slots, size):
    """Empty the heap -> (rows, keys, slots) best first. The heap arrays are consumed."""
    out_rows = np.empty(size, dtype=np.int64)
    out_keys = np.empty(size, dtype=np.float64)
    out_slots = np.empty(size, dtype=np.int64)
    n = size
    while n > 0:
        out_rows[n - 1], out_keys[n - 1], out_slots[n - 1] = rows[0], keys[0], slots[0]
        n -= 1
        _swap(keys, rows, slots, 0, n)
        _sift_down(keys, rows, slots, n, 0)
    return out_rows, out_keys, out_slots


@njit(cache=True)
def unique_rows(rows):
    """`rows` itself when strictly increasing (index output), else sorted unique copy."""
    for i in range(1, rows.shape[0]):
        if rows[i] <= rows[i - 1]:
            return np.unique(rows)
    return rows
