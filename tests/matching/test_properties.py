"""Property tests (hypothesis) of rank_workers, checked against independent numpy code."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.geo import haversine_m
from engine.matching import kernels as K
from engine.matching import params as P

from .util import CITIES, random_job_vec, random_policy, random_workers

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOT_INPUTS = ("home_lat", "home_lng", "push_opt_in", "quiet_start_min", "quiet_end_min")
NOT_INPUTS += ("pushes_today", "push_day")


def independent_pass(workers, job, pol, excluded, row) -> bool:
    """Every filter of rank_workers, written from the spec with numpy and engine.geo."""
    r = int(row)
    start, end = int(job[P.J_START_MS]), int(job[P.J_END_MS])
    busy = np.any((workers.busy_start[r] < end) & (start < workers.busy_end[r]))
    d = haversine_m(job[P.J_LAT], job[P.J_LNG], workers.lat[r], workers.lng[r])
    return bool(
        workers.active[r] == 1
        and workers.checked_in[r] == 1
        and (int(workers.skills[r]) >> int(job[P.J_SKILL_BIT])) & 1
        and int(job[P.J_DAY_PAY_FEN]) >= workers.min_pay_fen[r]
        and workers.available_until_ms[r] >= start
        and not busy
        and workers.open_offers[r] < pol[P.P_MAX_OPEN_OFFERS]
        and r not in set(excluded.tolist())
        and d <= P.reach_m(pol)[workers.mode[r]]
    )


case = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "n": st.integers(1, 120),
        "k": st.integers(0, 40),
        "city": st.sampled_from(sorted(CITIES)),
        "n_excluded": st.integers(0, 30),
        "n_skills": st.integers(1, 64),
    }
)


def build(c):
    rng = np.random.default_rng(c["seed"])
    centre = CITIES[c["city"]]
    workers = random_workers(rng, c["n"], centre=centre, n_skills=c["n_skills"])
    policy = random_policy(rng)
    job = random_job_vec(rng, centre=centre, n_skills=c["n_skills"])
    excluded = np.unique(rng.integers(0, c["n"], c["n_excluded"])).astype(np.int64)
    cand = rng.integers(0, c["n"], int(rng.integers(0, 2 * c["n"] + 1))).astype(np.int64)
    vecs = (
        P.policy_params(policy, int(job[P.J_NOW_MS])),
        P.weights_array(policy.weights),
        P.accept_coef_array(policy),
    )
    return rng, workers, job, vecs, excluded, cand


@SETTINGS
@given(case)
def test_returned_rows_pass_every_filter_and_none_is_missed(c):
    _, workers, job, (pol, weights, coef), excluded, cand = build(c)
    rows, scores, dist, travel, feats = K.rank_workers_from(
        workers, cand, job, pol, weights, coef, c["k"], excluded
    )
    assert len(rows) <= c["k"] and len(set(rows.tolist())) == len(rows)
    keys = list(zip((-scores).tolist(), rows.tolist(), strict=True))
    assert keys == sorted(keys)
    assert not set(rows.tolist()) & set(excluded.tolist())
    passing = {
        int(r) for r in set(cand.tolist()) if independent_pass(workers, job, pol, excluded, r)
    }
    assert set(rows.tolist()) <= passing
    assert len(rows) == min(c["k"], len(passing))  # nothing eligible is dropped
    assert np.all(np.isfinite(scores)) and feats.shape == (len(rows), P.N_FEATURES)
    assert np.all((feats[:, :5] >= 0) & (feats[:, :5] <= 1))
    assert np.all((feats[:, 5] >= -1) & (feats[:, 5] <= 0))
    for r, d, t in zip(rows, dist, travel, strict=True):
        assert d == haversine_m(job[P.J_LAT], job[P.J_LNG], workers.lat[r], workers.lng[r])
        assert t == d * P.DETOUR / pol[P.P_SPEEDS + workers.mode[r]]


@SETTINGS
@given(case)
def test_columns_that_are_not_inputs_cannot_change_results(c):
    rng, workers, job, (pol, weights, coef), excluded, cand = build(c)
    before = K.rank_workers_from(workers, cand, job, pol, weights, coef, c["k"], excluded)
    for name in NOT_INPUTS:
        col = getattr(workers, name)
        col[: workers.n] = rng.permutation(col[: workers.n])
    after = K.rank_workers_from(workers, cand, job, pol, weights, coef, c["k"], excluded)
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y)


@SETTINGS
@given(case)
def test_candidate_order_and_duplicates_do_not_matter(c):
    rng, workers, job, (pol, weights, coef), excluded, cand = build(c)
    before = K.rank_workers_from(workers, cand, job, pol, weights, coef, c["k"], excluded)
    shuffled = np.concatenate([rng.permutation(cand), cand[: len(cand) // 2]])
    after = K.rank_workers_from(workers, shuffled, job, pol, weights, coef, c["k"], excluded)
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y)


@SETTINGS
@given(case)
def test_excluding_returned_rows_promotes_the_next(c):
    _, workers, job, (pol, weights, coef), excluded, cand = build(c)
    full = K.rank_workers_from(workers, cand, job, pol, weights, coef, 10_000, excluded)
    first = K.rank_workers_from(workers, cand, job, pol, weights, coef, c["k"], excluded)
    more = np.unique(np.concatenate([excluded, first[0]])).astype(np.int64)
    second = K.rank_workers_from(workers, cand, job, pol, weights, coef, c["k"], more)
    n1 = len(first[0])
    assert np.array_equal(second[0], full[0][n1 : n1 + c["k"]])
