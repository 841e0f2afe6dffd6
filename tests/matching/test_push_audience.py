"""The push audience nearest first (early stop) equals the full query and the twin."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine import matcher
from engine.matching.kernels import py_push_candidates
from engine.matching.params import push_params
from engine.matching.rowsets import (
    merge_rows,
    py_merge_rows,
    py_sorted_unique_rows,
    sorted_unique_rows,
)
from engine.state import State

from .util import CITIES, NOW_MS, offsets_to_latlng, random_workers

CENTRE = CITIES["nanning"]


def random_state(rng: np.random.Generator, n: int, spread_m: float) -> State:
    """A State whose worker columns and indexes keep the engine's invariant: an active
    opted-in worker is in push_index at home; the position is home unless checked in,
    and a checked-in worker is in checked_in at its position (in push_checked_in too
    when active and opted in)."""
    state = State()
    w = random_workers(rng, n, centre=CENTRE, spread_m=spread_m) if n else state.workers
    home = (w.checked_in[:n] == 0) | (rng.random(n) < 0.1)  # some check in at home
    w.lat[:n] = np.where(home, w.home_lat[:n], w.lat[:n])
    w.lng[:n] = np.where(home, w.home_lng[:n], w.lng[:n])
    state.workers = w
    for row in range(n):
        tag = int(w.skills[row])
        if w.checked_in[row]:
            state.checked_in.add(row, float(w.lat[row]), float(w.lng[row]), tag=tag)
        if w.active[row] and w.push_opt_in[row]:
            state.push_index.add(row, float(w.home_lat[row]), float(w.home_lng[row]), tag=tag)
            if w.checked_in[row]:
                state.push_checked_in.add(row, float(w.lat[row]), float(w.lng[row]), tag=tag)
    return state


def random_push(rng: np.random.Generator, cap: int, radius_m: int, now_ms: int) -> np.ndarray:
    policy = SimpleNamespace(
        push_radius_m=radius_m,
        push_daily_cap=int(rng.choice([1, 3, 5])),
        max_pushes_per_job=cap,
    )
    lat, lng = offsets_to_latlng(CENTRE, rng.normal(0, 800), rng.normal(0, 800))
    start = now_ms + int(rng.choice([0, 2, 4])) * 3600_000
    return push_params(
        policy,
        lat=float(lat),
        lng=float(lng),
        skill_bit=int(rng.integers(0, 6)),
        day_pay_fen=int(rng.choice([10000, 20000, 30000])),
        start_ms=start,
        end_ms=start + 4 * 3600_000,
        now_ms=now_ms,
    )


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    assert a[0].dtype == b[0].dtype == np.int64
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])  # bit for bit


@pytest.mark.parametrize("seed", range(6))
def test_nearest_first_equals_full_query_and_twin(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 40, 3000, 6000]))
    state = random_state(rng, n, spread_m=float(rng.choice([1200.0, 4000.0])))
    calls = []
    real = matcher._push_within

    def counted(st, push, radius_m, excluded):
        calls.append(radius_m)
        return real(st, push, radius_m, excluded)

    monkeypatch.setattr(matcher, "_push_within", counted)
    early = 0
    every_row = np.arange(n, dtype=np.int64)
    cols = state.workers.push_columns()
    for _ in range(30):
        cap = int(rng.choice([0, 1, 3, 10, 50, 1000]))
        radius_m = int(rng.choice([0, 200, 900, 1500, 3000]))
        # 03:00, 07:00, 12:00 and 22:30 local: inside and outside the quiet windows
        now_ms = NOW_MS + int(rng.choice([-4 * 60, 0, 5 * 60, 15 * 60 + 30])) * 60_000
        push = random_push(rng, cap, radius_m, now_ms)
        excluded = np.unique(rng.choice(max(n, 1), size=int(rng.integers(0, 20)))) if n else None
        excluded = matcher._sorted_rows([] if excluded is None else excluded.tolist())
        calls.clear()
        got = matcher.push_audience(state, push, excluded)
        stopped_early = bool(calls) and calls[-1] < radius_m
        full = matcher.push_audience(state, push, excluded, nearest_first=False)
        _same(got, full)
        # the twin over every row: the indexes miss no eligible worker
        _same(got, py_push_candidates(every_row, push, excluded, *cols))
        assert np.all(np.diff(got[1]) >= 0)
        early += stopped_early
    if n >= 3000:
        assert early > 0  # the early stop was exercised


def test_ties_at_equal_distance_break_on_row():
    rng = np.random.default_rng(11)
    state = State()
    w = random_workers(rng, 400, centre=CENTRE, spread_m=300.0)
    w.active[:400] = 1
    w.push_opt_in[:400] = 1
    w.checked_in[:400] = 0
    w.skills[:400] = np.uint64(0b111111)
    w.min_pay_fen[:400] = 0
    w.busy_end[:400] = 0
    w.busy_start[:400] = 0
    w.pushes_today[:400] = 0
    w.quiet_start_min[:400] = 0
    w.quiet_end_min[:400] = 0
    # a quarter of the workers share four homes: many equal distances
    w.home_lat[:100] = np.repeat(w.home_lat[:4], 25)
    w.home_lng[:100] = np.repeat(w.home_lng[:4], 25)
    w.lat[:400], w.lng[:400] = w.home_lat[:400], w.home_lng[:400]
    state.workers = w
    for row in range(400):
        state.push_index.add(row, float(w.home_lat[row]), float(w.home_lng[row]))
    empty = matcher._sorted_rows([])
    for cap in (1, 10, 20, 30, 60):
        policy = SimpleNamespace(push_radius_m=1500, push_daily_cap=5, max_pushes_per_job=cap)
        lat, lng = float(w.home_lat[1]), float(w.home_lng[1])
        push = push_params(
            policy,
            lat=lat + 0.001,
            lng=lng,
            skill_bit=2,
            day_pay_fen=20000,
            start_ms=NOW_MS + 3600_000,
            end_ms=NOW_MS + 5 * 3600_000,
            now_ms=NOW_MS,
        )
        got = matcher.push_audience(state, push, empty)
        _same(got, matcher.push_audience(state, push, empty, nearest_first=False))
        assert len(got[0]) == cap


@pytest.mark.parametrize("seed", range(4))
def test_merge_rows_equals_twin_and_union1d(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        a = np.unique(rng.integers(0, 300, int(rng.integers(0, 60))))
        b = np.unique(rng.integers(0, 300, int(rng.integers(0, 60))))
        if rng.random() < 0.1:  # not ascending: the fallback
            a = rng.permutation(np.concatenate([a, a]))
        got = merge_rows(a.astype(np.int64), b.astype(np.int64))
        assert got.dtype == np.int64
        assert np.array_equal(got, py_merge_rows(a, b))
        assert np.array_equal(got, np.union1d(a, b))
        rows = rng.integers(0, 500, int(rng.choice([0, 5, 64, 65, 300]))).tolist()
        got = sorted_unique_rows(rows)
        assert got.dtype == np.int64
        assert np.array_equal(got, py_sorted_unique_rows(rows))
        assert np.array_equal(got, np.unique(np.asarray(rows, dtype=np.int64)))
