"""The exact threshold top-k (waiting index + `rank_waiting`) against its twin, the full
scan of every checked-in worker of the skill within the query radius (`rank_workers`):
same rows, scores, distances, travel times and features, on whole mornings and on seeded
random crowds with random weights (negative ones and an acceptance model included)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from h3.api import basic_int as h3

from bench.fold_bench import execute_morning
from engine import matcher
from engine.matching import params as P
from engine.matching.index import CellIndex
from engine.matching.kernels import rank_workers_from
from engine.matching.threshold import box_distance_lb_m, rank_waiting
from engine.matching.waiting import (
    G_CELL,
    G_SKILL,
    M_CELLS,
    S_BIRTH,
    S_BUSY_N,
    S_MODE,
    S_OFFERS,
    S_OFFERS_DAY,
    S_OPEN,
    S_PRIO,
    S_WNEXT,
    SF_BUSY_END,
    SF_BUSY_START,
    SF_CHECKIN,
    SF_LAT,
    SF_LNG,
    SF_MIN_PAY,
    SF_REL,
    SF_UNTIL,
    WaitingIndex,
    add_member,
    disk_cells,
    refresh_member,
    remove_member,
)
from engine.matching.workers import WorkerArrays
from sim.morning import Morning, Sizes

SIZES = Sizes(workers=500, postings=120, employers=20, stations_per_city=4, tick_ms=30_000)


def check_index(state) -> None:  # noqa: ANN001
    """Every checked-in worker is in one group per skill with its columns copied."""
    w, wi = state.workers, state.waiting
    members = 0
    for row in range(w.n):
        if not w.checked_in[row]:
            assert row not in wi
            continue
        skills = int(w.skills[row])
        got = wi.members_of(row)
        assert sorted(s for _, s, _ in got) == [b for b in range(64) if skills >> b & 1]
        cell = h3.latlng_to_cell(float(w.lat[row]), float(w.lng[row]), wi.res)
        assert {c for c, _, _ in got} == {cell}  # its groups are its position's cell
        members += len(got)
        s = int(wi.r_first[row])
        done, ns = int(w.completions[row]), int(w.no_shows[row])
        while s >= 0:
            assert wi.s_f[s, SF_CHECKIN] == w.checkin_ms[row]
            assert wi.s_i[s, S_MODE] == w.mode[row]
            assert wi.s_i[s, S_BIRTH] == w.birth_year[row]
            assert wi.s_i[s, S_PRIO] == w.priority[row]
            assert wi.s_i[s, S_OFFERS] == w.offers_today[row]
            assert wi.s_i[s, S_OFFERS_DAY] == w.offers_day[row]
            assert wi.s_f[s, SF_LAT] == w.lat[row] and wi.s_f[s, SF_LNG] == w.lng[row]
            assert wi.s_f[s, SF_REL] == float(done + 1) / float(done + ns + 2)
            assert wi.s_i[s, S_OPEN] == w.open_offers[row]
            assert wi.s_f[s, SF_MIN_PAY] == w.min_pay_fen[row]
            assert wi.s_f[s, SF_UNTIL] == w.available_until_ms[row]
            held = [
                (a, b) for a, b in zip(w.busy_start[row], w.busy_end[row], strict=True) if a < b
            ]
            assert wi.s_i[s, S_BUSY_N] == len(held)
            if len(held) == 1:
                assert (wi.s_f[s, SF_BUSY_START], wi.s_f[s, SF_BUSY_END]) == held[0]
            s = int(wi.s_i[s, S_WNEXT])
    assert members == len(wi)


@pytest.mark.parametrize("seed", [3, 8])
def test_every_wave_of_a_morning_ranks_as_the_full_scan(monkeypatch, seed: int) -> None:
    rank = matcher.rank_for_job
    compared = []

    def both(state, job, now_ms, k, rows=None):  # noqa: ANN001, ANN202
        got = rank(state, job, now_ms, k, rows)
        if rows is None:
            for kk in sorted({k, 1, 4, 30}):
                fast = rank(state, job, now_ms, kk)
                assert fast == matcher.full_scan_for_job(state, job, now_ms, kk)
            compared.append(len(got))
        return got

    monkeypatch.setattr(matcher, "rank_for_job", both)
    engine, _ = execute_morning(Morning(seed=seed, sizes=SIZES))
    assert len(compared) > 100 and sum(compared) > 100
    check_index(engine.state)


def _random_crowd(rng: np.random.Generator, n: int):  # noqa: ANN202
    w = WorkerArrays()
    ci = CellIndex(8)
    wi = WaitingIndex()
    lat0, lng0 = 31.2 + rng.uniform(-1, 1), 121.4 + rng.uniform(-1, 1)
    for _ in range(n):
        row = w.add(
            home_lat=lat0,
            home_lng=lng0,
            skills=int(rng.integers(1, 8)),
            min_pay_fen=int(rng.integers(10_000, 40_000)),
            birth_year=int(rng.integers(1950, 2006)),
            priority=int(rng.random() < 0.2),
            mode=int(rng.integers(0, P.N_MODES)),
        )
        w.completions[row] = int(rng.integers(0, 6))
        w.no_shows[row] = int(rng.integers(0, 3))
        w.offers_day[row] = 20_000 + int(rng.integers(0, 2))
        w.offers_today[row] = int(rng.integers(0, 5))
        w.open_offers[row] = int(rng.integers(0, 4))
        if rng.random() < 0.85:
            # clusters (stations) and spread, some far outside any reach
            spread = 0.002 if rng.random() < 0.4 else 0.25
            lat, lng = lat0 + rng.normal(0, spread), lng0 + rng.normal(0, spread)
            w.check_in(row, lat, lng, int(rng.integers(0, 4 * 3_600_000)), 10**13)
            ci.add(row, lat, lng, tag=int(w.skills[row]))
            wi.add(row, w)
    # churn: some leave, some move (remove + add)
    for row in rng.choice(n, size=n // 5, replace=False).tolist():
        if w.checked_in[row] and rng.random() < 0.5:
            ci.remove(row)
            wi.remove(row)
            w.check_out(row)
        elif w.checked_in[row]:
            lat = lat0 + rng.normal(0, 0.05)
            lng = lng0 + rng.normal(0, 0.05)
            w.check_in(row, lat, lng, int(rng.integers(0, 4 * 3_600_000)), 10**13)
            ci.move(row, lat, lng)
            wi.replace(row, w)
    return w, ci, wi, lat0, lng0


@pytest.mark.parametrize("seed", range(12))
def test_random_crowds_and_weights_rank_as_the_full_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, ci, wi, lat0, lng0 = _random_crowd(rng, int(rng.integers(50, 1500)))
    for _ in range(20):
        weights = np.round(rng.uniform(-0.5, 1.5, size=P.N_WEIGHTS), 2)
        if rng.random() < 0.5:
            weights[P.W_ACCEPTANCE] = 0.0
        coef = () if rng.random() < 0.5 else tuple(rng.uniform(-2, 2, size=P.N_FEATURES + 1))
        coef_arr = np.asarray(coef, dtype=np.float64)
        pol = np.array(
            [1500.0, float(rng.integers(600, 7200)), 22_000.0, 3 * 3_600_000.0, 50.0,
             3.0, 3.0, 20_001.0, 3_600_000.0, *P.SPEEDS_MPS],
        )  # fmt: skip
        bit = int(rng.integers(0, 3))
        job = P.job_params(
            lat=lat0 + rng.normal(0, 0.05),
            lng=lng0 + rng.normal(0, 0.05),
            skill_bit=bit,
            day_pay_fen=int(rng.integers(15_000, 50_000)),
            start_ms=5 * 3_600_000,
            end_ms=13 * 3_600_000,
            now_ms=int(rng.integers(2, 5) * 3_600_000),
        )
        job[P.J_YEAR] = 2026
        radius = P.query_radius_m(pol)
        excluded = np.unique(rng.integers(0, w.n, size=int(rng.integers(0, 20))))
        for k in (1, 3, 17, 200):
            fast = rank_waiting(
                disk_cells(job[P.J_LAT], job[P.J_LNG], radius),
                bit, job, pol, weights, coef_arr, excluded, k,
                *wi.arrays(), *w.rank_columns(),
            )  # fmt: skip
            rows = ci.query(job[P.J_LAT], job[P.J_LNG], radius, tag_mask=1 << bit)
            full = rank_workers_from(w, rows, job, pol, weights, coef_arr, k, excluded)
            for a, b in zip(fast[:5], full, strict=True):
                assert np.array_equal(a, b)


def test_box_distance_is_a_lower_bound() -> None:
    from engine.matching.kernels import haversine_cos_m

    rng = np.random.default_rng(5)
    for _ in range(3000):
        lat0, lng0 = rng.uniform(-80, 80), rng.uniform(-179, 179)
        c = np.cos(lat0 * np.pi / 180.0)
        lats = np.sort(rng.uniform(lat0 - 0.5, lat0 + 0.5, size=2))
        lngs = np.sort(rng.uniform(lng0 - 9, lng0 + 9, size=2))
        cos_min = min(np.cos(lats * np.pi / 180.0))
        lb = box_distance_lb_m(lat0, lng0, c, lats[0], lats[1], lngs[0], lngs[1], cos_min)
        for _ in range(5):
            lat, lng = rng.uniform(*lats), rng.uniform(*lngs)
            assert lb <= haversine_cos_m(lat0, lng0, c, lat, lng)
        for lat in lats:
            for lng in lngs:
                assert lb <= haversine_cos_m(lat0, lng0, c, lat, lng)


def test_the_directory_lists_every_cell_group_in_order() -> None:
    rng = np.random.default_rng(2)
    w, _, wi, lat0, lng0 = _random_crowd(rng, 300)
    for i in range(400):  # new cell groups a few at a time, between rankings
        row = w.add(home_lat=lat0, home_lng=lng0, skills=int(rng.integers(1, 1 << 20)),
                    min_pay_fen=100, birth_year=1980)  # fmt: skip
        w.check_in(row, lat0 + rng.normal(0, 0.5), lng0 + rng.normal(0, 0.5), 0, 10**13)
        wi.add(row, w)
        if i % 7 == 0:
            start, cells, gids = wi.directory()
            n = int(wi.meta[M_CELLS])
            assert len(cells) == n == len(gids)
            for b in range(64):
                seg = slice(start[b], start[b + 1])
                assert np.all(wi.c_i[gids[seg], G_SKILL] == b)
                assert np.all(np.diff(cells[seg]) > 0)
                assert np.array_equal(wi.c_i[gids[seg], G_CELL], cells[seg])


def test_local_year_in_numba_is_the_engines() -> None:
    from engine.geo import local_year
    from engine.matching.waiting import local_year_of_ms

    rng = np.random.default_rng(4)
    edges = [0, -1, 1_704_038_400_000 - 8 * 3_600_000, 1_704_038_400_000 - 8 * 3_600_000 - 1]
    for ts in [*edges, *rng.integers(-(10**12), 4 * 10**12, size=3000).tolist()]:
        assert local_year_of_ms(ts) == local_year(ts)


def _old_refresh(wi: WaitingIndex, row: int, w: WorkerArrays) -> None:
    """`WaitingIndex.refresh` as it was: refresh in place, else remove + add."""
    if row not in wi:
        return
    wi._payload(w, row)
    if not refresh_member(wi.c_i, wi.c_f, wi.g_i, wi.g_f, wi.s_i, wi.s_f, wi.r_first, row,
                          wi._pi, wi._pf):  # fmt: skip
        remove_member(wi.c_i, wi.c_f, wi.c_sub, wi.g_i, wi.g_f, wi.b_i, wi.s_i, wi.s_f,
                      wi.r_first, wi.meta, row)  # fmt: skip
        mask = int(w.skills[row])
        wi._reserve(row, mask)
        wi._payload(w, row)
        cell = h3.latlng_to_cell(float(w.lat[row]), float(w.lng[row]), wi.res)
        add_member(wi.ht, wi.c_i, wi.c_f, wi.c_sub, wi.g_i, wi.g_f, wi.b_i, wi.s_i, wi.s_f,
                   wi.r_first, wi.meta, row, cell, np.uint64(mask), wi._pi, wi._pf)  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_refresh_in_one_call_equals_refresh_then_remove_and_add(seed: int) -> None:
    """`refresh` (one numba call: in place, or moved to its new class in its cell) leaves
    the index exactly as refresh + remove + add did: same arrays, bit for bit."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 600))
    w, _, wi, _, _ = _random_crowd(np.random.default_rng(100 + seed), n)
    _, _, twin, _, _ = _random_crowd(np.random.default_rng(100 + seed), n)  # the same
    names = ("ht", "c_i", "c_f", "c_sub", "g_i", "g_f", "b_i", "s_i", "s_f", "r_first", "meta")
    for _ in range(3 * n):
        row = int(rng.integers(0, n))
        pick = rng.random()
        if pick < 0.4:
            w.offer_made(row, 20_000 + int(rng.integers(0, 2)))
        elif pick < 0.6 and w.open_offers[row] > 0:
            w.offer_closed(row)
        elif pick < 0.8:
            w.completions[row] += 1
        else:
            w.no_shows[row] += 1
        wi.refresh(row, w)
        _old_refresh(twin, row, w)
    for name in names:
        a, b = getattr(wi, name), getattr(twin, name)
        m = min(len(a), len(b))  # capacity may grow at another moment: the content counts
        assert np.array_equal(a[:m], b[:m]), name
    check_index(SimpleNamespace(workers=w, waiting=wi))
