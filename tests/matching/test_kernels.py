"""Numba kernels against their plain-Python twins (exact equality), and explain()."""

from __future__ import annotations

import numpy as np
import pytest

from engine.events import Policy, Weights
from engine.geo import haversine_m
from engine.matching import kernels as K
from engine.matching import params as P
from engine.matching.explain import reasons
from engine.matching.twins import py_haversine_m

from .util import CITIES, NOW_MS, random_job_vec, random_jobs, random_policy, random_workers


def _vectors(policy: Policy, now_ms: int = NOW_MS):
    return (
        P.policy_params(policy, now_ms),
        P.weights_array(policy.weights),
        P.accept_coef_array(policy),
    )


def _candidates(rng, n_rows: int, size: int) -> np.ndarray:
    cand = rng.choice(n_rows, size=size, replace=True)  # duplicates on purpose
    return cand.astype(np.int64)


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        assert x.shape == y.shape
        assert np.array_equal(x, y), (x, y)


def test_haversine_is_bit_identical_to_geo_and_twin():
    rng = np.random.default_rng(1)
    for _ in range(3000):
        lat1, lat2 = rng.uniform(-89, 89, 2)
        lng1, lng2 = rng.uniform(-180, 180, 2)
        if rng.random() < 0.5:  # short distances, the usual case
            lat2, lng2 = lat1 + rng.normal(0, 0.05), lng1 + rng.normal(0, 0.05)
        d = K.haversine_m(lat1, lng1, lat2, lng2)
        assert d == haversine_m(lat1, lng1, lat2, lng2) == py_haversine_m(lat1, lng1, lat2, lng2)
    assert K.haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(np.pi * 6371008.8)


@pytest.mark.parametrize("city", sorted(CITIES))
def test_rank_workers_equals_twin(city):
    rng = np.random.default_rng({"xiangyang": 11, "nanning": 12, "harbin": 13}[city])
    cases = 0
    for _pool in range(4):
        workers = random_workers(rng, 300, centre=CITIES[city])
        cols = workers.rank_columns()
        for _ in range(250):
            policy = random_policy(rng)
            pol, weights, coef = _vectors(policy)
            job = random_job_vec(rng, centre=CITIES[city])
            cand = _candidates(rng, workers.n, int(rng.integers(0, 120)))
            excluded = np.unique(rng.choice(workers.n, size=int(rng.integers(0, 30))))
            k = int(rng.choice([0, 1, 3, 10, 50]))
            args = (cand, job, pol, weights, coef, excluded.astype(np.int64), k)
            got = K.rank_workers(*args, *cols)
            _assert_same(got, K.py_rank_workers(*args, *cols))
            assert not set(got[0].tolist()) & set(excluded.tolist())
            cases += 1
    assert cases == 1000


def test_rank_workers_equals_twin_with_signed_weights():
    """Negative weights flip the pruning bounds (feature minima instead of maxima)."""
    rng = np.random.default_rng(14)
    workers = random_workers(rng, 400)
    cols = workers.rank_columns()
    for _ in range(300):
        weights = rng.uniform(-1.0, 1.0, P.N_WEIGHTS) * (rng.random(P.N_WEIGHTS) < 0.8)
        coef = rng.normal(0, 2, P.N_FEATURES + 1) if rng.random() < 0.5 else np.empty(0)
        pol, _, _ = _vectors(random_policy(rng))
        job = random_job_vec(rng)
        cand = _candidates(rng, workers.n, int(rng.integers(0, 400)))
        k = int(rng.choice([1, 2, 5, 20]))
        args = (cand, job, pol, weights, coef, np.empty(0, np.int64), k)
        _assert_same(K.rank_workers(*args, *cols), K.py_rank_workers(*args, *cols))


def test_rank_workers_whole_pool_ties_and_order():
    rng = np.random.default_rng(21)
    workers = random_workers(rng, 3000)
    cols = workers.rank_columns()
    ties = 0
    for _ in range(6):
        pol, weights, coef = _vectors(random_policy(rng))
        pol[P.P_MAX_OPEN_OFFERS] = 5
        job = random_job_vec(rng)
        cand = np.arange(workers.n, dtype=np.int64)[::-1].copy()
        excluded = np.empty(0, np.int64)
        args = (cand, job, pol, weights, coef, excluded, 10_000)
        got = K.rank_workers(*args, *cols)
        _assert_same(got, K.py_rank_workers(*args, *cols))
        rows, scores = got[0], got[1]
        assert len(rows) > 10
        keys = list(zip((-scores).tolist(), rows.tolist(), strict=True))
        assert keys == sorted(keys)
        ties += int(np.sum(scores[1:] == scores[:-1]))
        # the top-k is a prefix of the full ranking
        top = K.rank_workers(cand, job, pol, weights, coef, excluded, 7, *cols)
        assert np.array_equal(top[0], rows[:7])
    assert ties > 0  # the copied rows produce real ties, broken on row


def test_rank_jobs_equals_twin():
    rng = np.random.default_rng(31)
    for _pool in range(4):
        workers = random_workers(rng, 200)
        jobs = random_jobs(rng, 150)
        jobs.policy[: jobs.n] = rng.integers(0, 3, jobs.n)  # each job its region's policy
        wcols = K.worker_columns_for_jobs(workers)
        jcols = jobs.rank_columns()
        for _ in range(250):
            pols = np.stack([_vectors(random_policy(rng))[0] for _ in range(3)])
            row = int(rng.integers(0, workers.n))
            cand = _candidates(rng, jobs.n, int(rng.integers(0, 100)))
            excluded = np.unique(rng.choice(jobs.n, size=int(rng.integers(0, 10)))).astype(np.int64)
            now = NOW_MS + int(rng.choice([-3600_000, 0, 1800_000, 5400_000]))
            k = int(rng.choice([0, 1, 5, 40]))
            args = (cand, row, now, pols, excluded, k)
            got = K.rank_jobs(*args, *wcols, *jcols)
            _assert_same(got, K.py_rank_jobs(*args, *wcols, *jcols))


def test_rank_jobs_finds_something_for_checked_in_workers():
    rng = np.random.default_rng(32)
    workers = random_workers(rng, 400)
    jobs = random_jobs(rng, 400)
    workers.open_offers[:] = 0
    pol, _, _ = _vectors(Policy())
    found = 0
    for row in range(workers.n):
        rows, scores, dist, travel = K.rank_jobs_from(
            jobs, workers, row, np.arange(jobs.n), NOW_MS, pol, 5
        )
        found += len(rows) > 0
        for j, s, d in zip(rows, scores, dist, strict=True):
            assert jobs.is_matchable(int(j))
            assert 0.0 <= s <= 2.0
            assert workers.skills[row] & (np.uint64(1) << np.uint64(jobs.skill_bit[j]))
            assert jobs.day_pay_fen[j] >= workers.min_pay_fen[row]
            assert d == haversine_m(workers.lat[row], workers.lng[row], jobs.lat[j], jobs.lng[j])
    assert found > 50


def test_push_candidates_equals_twin():
    rng = np.random.default_rng(41)
    for _pool in range(4):
        workers = random_workers(rng, 300, spread_m=2500)
        home = rng.random(300) < 0.5  # not checked in: at home (one distance, not two)
        workers.lat[:300][home] = workers.home_lat[:300][home]
        workers.lng[:300][home] = workers.home_lng[:300][home]
        cols = workers.push_columns()
        for _ in range(250):
            policy = Policy(
                push_radius_m=int(rng.choice([500, 1500, 3000])),
                push_daily_cap=int(rng.choice([0, 1, 5])),
                max_pushes_per_job=int(rng.choice([0, 3, 50])),
            )
            minute = int(rng.choice([0, 6 * 60 + 29, 6 * 60 + 30, 7 * 60, 12 * 60, 22 * 60]))
            now = NOW_MS - 7 * 3600_000 + minute * 60_000  # local midnight + minute
            job = random_job_vec(rng, spread_m=2500)
            push = P.push_params(
                policy,
                lat=job[P.J_LAT],
                lng=job[P.J_LNG],
                skill_bit=int(job[P.J_SKILL_BIT]),
                day_pay_fen=int(job[P.J_DAY_PAY_FEN]),
                start_ms=int(job[P.J_START_MS]),
                end_ms=int(job[P.J_END_MS]),
                now_ms=now,
            )
            assert push[P.U_MINUTE] == minute
            cand = _candidates(rng, workers.n, int(rng.integers(0, 150)))
            excluded = np.unique(rng.choice(workers.n, size=5)).astype(np.int64)
            got = K.push_candidates(cand, push, excluded, *cols)
            _assert_same(got, K.py_push_candidates(cand, push, excluded, *cols))
            rows, dist = got
            assert len(set(rows.tolist())) == len(rows)
            assert len(rows) <= policy.max_pushes_per_job
            keys = list(zip(dist.tolist(), rows.tolist(), strict=True))
            assert keys == sorted(keys)


def test_push_quiet_hours_wrap_and_daily_cap():
    rng = np.random.default_rng(42)
    workers = random_workers(rng, 1, spread_m=1.0)
    w = 0
    workers.active[w], workers.push_opt_in[w] = 1, 1
    workers.skills[w], workers.min_pay_fen[w] = np.uint64(1), 0
    workers.busy_start[w], workers.busy_end[w] = 0, 0
    workers.lat[w] = workers.home_lat[w] = CITIES["xiangyang"][0]
    workers.lng[w] = workers.home_lng[w] = CITIES["xiangyang"][1]
    today = P.local_day_number(NOW_MS)
    workers.push_day[w], workers.pushes_today[w] = today, 0
    midnight = NOW_MS - 7 * 3600_000

    def pushed(minute: int, quiet: tuple[int, int], sent: int = 0, day: int = today) -> bool:
        workers.quiet_start_min[w], workers.quiet_end_min[w] = quiet
        workers.pushes_today[w], workers.push_day[w] = sent, day
        lat, lng = CITIES["xiangyang"]
        push = P.push_params(
            Policy(push_daily_cap=2),
            lat=lat,
            lng=lng,
            skill_bit=0,
            day_pay_fen=20000,
            start_ms=NOW_MS + 3600_000,
            end_ms=NOW_MS + 5 * 3600_000,
            now_ms=midnight + minute * 60_000,
        )
        rows, _ = K.push_candidates_from(workers, np.array([0]), push)
        return len(rows) == 1

    night = (22 * 60, 7 * 60)  # wraps midnight
    assert not pushed(23 * 60, night) and not pushed(0, night) and not pushed(6 * 60 + 59, night)
    assert pushed(7 * 60, night) and pushed(21 * 60 + 59, night)
    lunch = (12 * 60, 13 * 60)
    assert not pushed(12 * 60, lunch) and pushed(13 * 60, lunch) and pushed(11 * 60, lunch)
    assert pushed(3 * 60, (0, 0))  # start == end: no quiet hours
    assert pushed(12 * 60, night, sent=1) and not pushed(12 * 60, night, sent=2)
    assert pushed(12 * 60, night, sent=9, day=today - 1)  # yesterday's counter


def test_filter_within_equals_twin():
    rng = np.random.default_rng(51)
    workers = random_workers(rng, 2000)
    for _ in range(20):
        lat, lng = workers.lat[int(rng.integers(0, 2000))], workers.lng[int(rng.integers(0, 2000))]
        cand = rng.permutation(2000).astype(np.int64)
        radius = float(rng.choice([100.0, 1500.0, 5000.0]))
        got = K.filter_within(cand, lat, lng, radius, workers.lat, workers.lng)
        _assert_same(got, K.py_filter_within(cand, lat, lng, radius, workers.lat, workers.lng))


def test_reasons_agree_with_kernel():
    rng = np.random.default_rng(61)
    workers = random_workers(rng, 200)
    cols = workers.rank_columns()
    seen_words: set[str] = set()
    for _ in range(60):
        policy = random_policy(rng)
        pol, weights, coef = _vectors(policy)
        job = random_job_vec(rng)
        excluded = np.unique(rng.choice(workers.n, size=10)).astype(np.int64)
        cand = np.arange(workers.n, dtype=np.int64)
        rows, scores, *_ = K.rank_workers(cand, job, pol, weights, coef, excluded, workers.n, *cols)
        by_row = dict(zip(rows.tolist(), scores.tolist(), strict=True))
        for row in range(workers.n):
            why = reasons(workers, row, job, pol, weights, coef, excluded)
            assert why["eligible"] == (row in by_row)
            assert why["eligible"] == (why["reasons"] == [])
            if why["eligible"]:
                assert why["score"] == by_row[row]
                points = sum(c["points"] for c in why["components"].values())
                assert points == pytest.approx(why["score"])
            for text in why["reasons"]:
                seen_words.add(text.split(" ")[0] + " " + text.split(" ")[1])
    assert {"not checked", "skill mismatch", "pay below", "not available", "already hired"} <= (
        seen_words
    )
    assert {"offer limit", "already offered", "outside reach"} <= seen_words


def test_reasons_words():
    rng = np.random.default_rng(62)
    workers = random_workers(rng, 1, spread_m=1.0)
    lat, lng = CITIES["xiangyang"]
    workers.lat[0], workers.lng[0] = lat + 0.05, lng  # ~5.6 km north
    workers.active[0], workers.checked_in[0], workers.mode[0] = 1, 0, 0
    workers.skills[0], workers.min_pay_fen[0] = np.uint64(2), 30000
    workers.available_until_ms[0] = NOW_MS
    workers.busy_start[0] = [NOW_MS + 0 * 3600_000, 0, 0, 0]  # 07:00 local
    workers.busy_end[0] = [NOW_MS + 5 * 3600_000, 0, 0, 0]  # 12:00 local
    workers.open_offers[0] = 3
    start = NOW_MS + 3600_000
    job = P.job_params(
        lat=lat,
        lng=lng,
        skill_bit=0,
        day_pay_fen=20000,
        start_ms=start,
        end_ms=start + 4 * 3600_000,
        now_ms=NOW_MS,
    )
    pol, weights, coef = _vectors(Policy())
    why = reasons(workers, 0, job, pol, weights, coef, np.array([0]))
    assert why["reasons"] == [
        "not checked in",
        "skill mismatch",
        "pay below minimum",
        "not available at start time",
        "already hired 07:00-12:00",
        "offer limit reached",
        "already offered",
        "outside reach 3.3 km",  # walking: 1.2 m/s * 3600 s / 1.3 = 3323 m
    ]
    assert not why["eligible"] and "score" not in why


def test_score_components_by_hand():
    """One worker, every feature computed by hand from the documented formulas."""
    rng = np.random.default_rng(63)
    workers = random_workers(rng, 1, spread_m=1.0)
    lat, lng = CITIES["nanning"]
    w = 0
    workers.lat[w], workers.lng[w] = lat, lng
    workers.active[w], workers.checked_in[w], workers.mode[w] = 1, 1, 0
    workers.skills[w], workers.min_pay_fen[w] = np.uint64(1), 10000
    workers.birth_year[w], workers.priority[w] = 1970, 1
    workers.checkin_ms[w] = NOW_MS - 3600_000
    workers.available_until_ms[w] = NOW_MS + 10 * 3600_000
    workers.busy_start[w], workers.busy_end[w] = 0, 0
    workers.open_offers[w], workers.completions[w], workers.no_shows[w] = 0, 8, 2
    workers.offers_today[w], workers.offers_day[w] = 4, P.local_day_number(NOW_MS)
    job_lat = lat + 1000.0 / 111_195.0  # ~1 km north
    job = P.job_params(
        lat=job_lat,
        lng=lng,
        skill_bit=0,
        day_pay_fen=25000,
        start_ms=NOW_MS + 3600_000,
        end_ms=NOW_MS + 9 * 3600_000,
        now_ms=NOW_MS,
    )
    policy = Policy(weights=Weights(), exposure_cap=10)
    pol, weights, coef = _vectors(policy)
    rows, scores, dist, travel, feats = K.rank_workers_from(
        workers, np.array([0]), job, pol, weights, coef, 5
    )
    assert rows.tolist() == [0]
    d = haversine_m(job_lat, lng, lat, lng)
    assert dist[0] == d and d == pytest.approx(1000.0, rel=1e-3)
    assert travel[0] == d * 1.3 / 1.2
    expected = [
        1.0 - travel[0] / 3600.0,  # travel
        3600_000 / (3 * 3600_000),  # waiting 1 h of 3 h
        1.0,  # older: 2026 - 1970 = 56 >= 50
        1.0,  # hardship
        9 / 12,  # reliability (8 + 1) / (8 + 2 + 2)
        -4 / 10,  # exposure
        2.5 / 3.0,  # pay ratio 25000 / 10000
    ]
    assert feats[0].tolist() == pytest.approx(expected, rel=1e-12)
    w_ = policy.weights
    by_hand = (
        w_.travel * expected[0]
        + w_.waiting * expected[1]
        + w_.older
        + w_.hardship
        + w_.reliability * expected[4]
        + w_.exposure * expected[5]
    )
    assert scores[0] == pytest.approx(by_hand, rel=1e-12)


def test_boundaries_are_inclusive_where_documented():
    """pay == minimum passes; available_until == start passes; a hire ending exactly at
    the job start does not overlap; skill bit 63 works; one cent less pay fails."""
    rng = np.random.default_rng(64)
    workers = random_workers(rng, 1, spread_m=1.0)
    lat, lng = CITIES["harbin"]
    start = NOW_MS + 3600_000
    w = 0
    workers.lat[w], workers.lng[w] = lat, lng
    workers.active[w], workers.checked_in[w], workers.mode[w] = 1, 1, 4
    workers.skills[w], workers.min_pay_fen[w] = np.uint64(1 << 63), 20000
    workers.available_until_ms[w] = start
    workers.busy_start[w] = [start - 3600_000, start + 4 * 3600_000, 0, 0]
    workers.busy_end[w] = [start, start + 5 * 3600_000, 0, 0]
    workers.open_offers[w] = 2
    job = P.job_params(
        lat=lat,
        lng=lng,
        skill_bit=63,
        day_pay_fen=20000,
        start_ms=start,
        end_ms=start + 4 * 3600_000,
        now_ms=NOW_MS,
    )
    pol, weights, coef = _vectors(Policy(max_open_offers_per_worker=3))
    assert K.rank_workers_from(workers, np.array([0]), job, pol, weights, coef, 1)[0].tolist() == [
        0
    ]
    job[P.J_DAY_PAY_FEN] = 19999
    assert K.rank_workers_from(workers, np.array([0]), job, pol, weights, coef, 1)[0].size == 0
