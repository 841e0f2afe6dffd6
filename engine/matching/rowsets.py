"""Sets of rows as ascending int64 arrays: union of two index answers, small row lists.

Owns: `merge_rows` (numba: the union of two strictly ascending int64 arrays, strictly
ascending), `sorted_unique_rows` (a list of rows -> ascending unique int64 array), and
their plain-Python twins `py_merge_rows`, `py_sorted_unique_rows`.

Invariants: `merge_rows` equals `np.union1d` on every input (the tests compare with the
twin and with numpy on seeded random inputs); when both inputs are strictly ascending
(what `CellIndex.query` returns) it is one linear merge, otherwise it falls back to a
sort of the concatenation. `sorted_unique_rows` equals `np.unique` of the list.

Limits: O(len(a) + len(b)) time and one output allocation for ascending inputs;
O(n log n) for the fallbacks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SMALL_LIST = 64  # up to this length a row list is sorted in Python (no numpy round trip)


@njit(cache=True)
def _ascending(a):
    for i in range(1, a.shape[0]):
        if a[i] <= a[i - 1]:
            return False
    return True


@njit(cache=True)
def merge_rows(a, b):
    """Union of int64 arrays `a` and `b`, strictly ascending (== np.union1d(a, b))."""
    if not (_ascending(a) and _ascending(b)):
        return np.unique(np.concatenate((a, b)))
    na = a.shape[0]
    nb = b.shape[0]
    out = np.empty(na + nb, dtype=np.int64)
    i = 0
    j = 0
    n = 0
    while i < na and j < nb:
        x = a[i]
        y = b[j]
        if x < y:
            out[n] = x
            i += 1
        elif y < x:
            out[n] = y
            j += 1
        else:
            out[n] = x
            i += 1
            j += 1
        n += 1
    while i < na:
        out[n] = a[i]
        i += 1
        n += 1
    while j < nb:
        out[n] = b[j]
        j += 1
        n += 1
    return out[:n]


def sorted_unique_rows(rows: list[int]) -> np.ndarray:
    """Ascending unique int64 array of a row list (== np.unique(np.asarray(rows)))."""
    if len(rows) <= SMALL_LIST:
        return np.array(sorted(set(rows)), dtype=np.int64)
    return np.unique(np.asarray(rows, dtype=np.int64))


# ------------------------------------------------------------------ twins ------------


def py_merge_rows(a, b) -> np.ndarray:  # noqa: ANN001
    """Twin of `merge_rows`."""
    return np.array(sorted({int(x) for x in a} | {int(x) for x in b}), dtype=np.int64)


def py_sorted_unique_rows(rows) -> np.ndarray:  # noqa: ANN001
    """Twin of `sorted_unique_rows`."""
    return np.array(sorted({int(x) for x in rows}), dtype=np.int64)
