"""The kernels' bounded heap: k best by (key desc, row asc), whatever the offer order."""

from __future__ import annotations

import numpy as np

from engine.matching.topk import heap_drain, heap_offer, unique_rows


def test_heap_keeps_the_k_best_in_order():
    rng = np.random.default_rng(81)
    for _ in range(300):
        n = int(rng.integers(0, 60))
        keys_in = rng.choice([0.0, 0.5, 1.0, -0.0, 2.5, -1.0], n) + rng.choice([0.0, 1e-9], n)
        rows_in = rng.permutation(n).astype(np.int64)
        cap = int(rng.integers(0, 12))
        keys = np.empty(cap)
        rows = np.empty(cap, np.int64)
        slots = np.empty(cap, np.int64)
        payload = np.full(max(cap, 1), -1, np.int64)
        size = 0
        for key, row in zip(keys_in, rows_in, strict=True):
            size, slot = heap_offer(keys, rows, slots, size, cap, key, row)
            if slot >= 0:
                payload[slot] = row  # the slot belongs to this row until evicted
        out_rows, out_keys, out_slots = heap_drain(keys, rows, slots, size)
        want = sorted(zip((-keys_in).tolist(), rows_in.tolist(), strict=True))[:cap]
        assert list(zip((-out_keys).tolist(), out_rows.tolist(), strict=True)) == want
        assert payload[out_slots].tolist() == out_rows.tolist()


def test_unique_rows():
    ascending = np.array([1, 4, 9], np.int64)
    assert np.shares_memory(unique_rows(ascending), ascending)
    assert unique_rows(np.array([4, 1, 4, 9], np.int64)).tolist() == [1, 4, 9]
    assert unique_rows(np.empty(0, np.int64)).tolist() == []
