"""Numba matching kernels: filter -> score -> top-k over plain columnar arrays.

Owns: `rank_workers` (job side: best workers for a posting), `rank_jobs` (worker side:
best open jobs for a check-in), `push_candidates` (1.5 km push audience),
`filter_within` (exact radius filter), `haversine_m`, and thin wrappers taking the
stores (`*_from`). The plain-Python twins with the same arithmetic in the same order live
in `engine.matching.twins` (re-exported here as `py_*`); `engine.matching.explain`
gives the audit reasons.

Invariants:
- `@njit(cache=True)`, never fastmath: results are bit-identical to the twins (tests
  check exact equality). Every expression is written left to right as the twin writes
  it; integer quantities are converted to float64 at the same points.
- Results do not depend on the order of the candidates: rankings are sorted by (score
  desc, row asc), pushes by (distance asc, row asc) (`topk`); a row given twice counts
  once (unsorted input is sorted and deduplicated first; index output is already
  ascending, and ascending rows also read the columns in memory order).
- Filters of `rank_workers` (a conjunction; the explain order is): active and checked
  in; skill bit in the worker's mask; day pay >= worker minimum; available until >=
  start; no held hire overlapping [start, end); open offers < max; not in
  `excluded_rows` (sorted); distance <= reach of the worker's mode (`params.reach_m`).
  The kernel tests the eligibility filters first, then the score bounds, then distance.
  Speeds by mode travel in the policy vector (`P_SPEEDS`); every policy value of a
  job's offers is the job's region policy (`rank_jobs` takes one vector per job).
- Score = sum of weight * feature over travel, waiting, older, hardship, reliability,
  exposure (+ acceptance weight * sigmoid(coef . [1, features]) when coefficients are
  given). Gender, ethnicity and household registration are not inputs: no such column.
- Exact pruning: once k rows are held, a candidate whose score bound cannot beat the
  k-th is skipped: first with waiting, older and hardship read (reliability, exposure
  and travel at their best for the weight's sign), then with every feature but travel,
  before the haversine. A bound adds the same terms in the same order as the score,
  each >= the real term, and float rounding is monotone, so bound >= score: results
  are unchanged (the twins do not prune; the tests compare, negative weights included).
- Distances: haversine with R = 6371008.8 m, the exact operation sequence of
  `engine.geo.haversine_m` (origin point first); cos(origin latitude) is computed once
  per call, the same value either way.

Limits: buffers are O(min(k, candidates)); columns must be contiguous with the dtypes of
`WorkerArrays`/`JobArrays`; travel modes index the policy vector's speeds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.geo import DEG_TO_RAD, EARTH_RADIUS_M
from engine.matching import params as P
from engine.matching.jobs import JOB_OPEN, JobArrays
from engine.matching.topk import beats_root, heap_drain, heap_offer, unique_rows
from engine.matching.twins import (  # noqa: F401  (re-exported twins)
    py_filter_within,
    py_push_candidates,
    py_rank_jobs,
    py_rank_workers,
)
from engine.matching.workers import WorkerArrays

Z_CLAMP = 500.0  # sigmoid argument clamp (keeps exp finite; same in the twin)
F = P.N_FEATURES


@njit(cache=True)
def haversine_m(lat1, lng1, lat2, lng2):
    """Great-circle distance (m); the operation sequence of `engine.geo.haversine_m`."""
    return haversine_cos_m(lat1, lng1, math.cos(lat1 * DEG_TO_RAD), lat2, lng2)


@njit(cache=True)
def haversine_cos_m(lat1, lng1, cos_p1, lat2, lng2):
    """haversine with cos(lat1 * DEG_TO_RAD) given: the same operations, same bits."""
    p2 = lat2 * DEG_TO_RAD
    s1 = math.sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
    s2 = math.sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
    a = s1 * s1 + cos_p1 * math.cos(p2) * (s2 * s2)
    if a > 1.0:
        a = 1.0
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@njit(cache=True)
def _reach_by_mode(pol):
    out = np.empty(P.N_MODES, dtype=np.float64)
    for m in range(P.N_MODES):
        by_time = pol[P.P_SPEEDS + m] * pol[P.P_TRAVEL_LIMIT_S] / P.DETOUR
        if by_time > pol[P.P_MAX_REACH_M]:
            by_time = pol[P.P_MAX_REACH_M]
        out[m] = pol[P.P_RADIUS_M] if pol[P.P_RADIUS_M] >= by_time else by_time
    return out


@njit(cache=True)
def _busy_overlap(busy_start, busy_end, r, start_ms, end_ms):
    for s in range(busy_start.shape[1]):
        if busy_start[r, s] < end_ms and start_ms < busy_end[r, s]:
            return True
    return False


@njit(cache=True)
def _contains_sorted(sorted_rows, row):
    lo = 0
    hi = sorted_rows.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_rows[mid] < row:
            lo = mid + 1
        else:
            hi = mid
    return lo < sorted_rows.shape[0] and sorted_rows[lo] == row


@njit(cache=True)
def _capped(x):
    return 1.0 if x > 1.0 else x


@njit(cache=True)
def upper_terms(weights, n_coef):
    """(hi[6], accept_hi): each weighted feature's largest value given its weight's sign
    (exposure lies in [-1, 0], the others in [0, 1]) and the acceptance term's."""
    hi = np.empty(6, dtype=np.float64)
    for j in range(6):
        top = 0.0 if j == P.F_EXPOSURE else 1.0
        low = -1.0 if j == P.F_EXPOSURE else 0.0
        hi[j] = weights[j] * (top if weights[j] >= 0.0 else low)
    accept_hi = weights[P.W_ACCEPTANCE] if n_coef != 0 and weights[P.W_ACCEPTANCE] > 0.0 else 0.0
    return hi, accept_hi


@njit(cache=True)
def waiting_feature(wait_ms, pol):
    return _capped(float(wait_ms) / pol[P.P_WAIT_CAP_MS] if wait_ms > 0 else 0.0)


@njit(cache=True)
def reliability_feature(done, no_shows):
    return float(done + 1) / float(done + no_shows + 2)


@njit(cache=True)
def exposure_feature(offers, pol):
    return -_capped(float(offers) / pol[P.P_EXPOSURE_CAP])


# features known at each bound (f[1:known]); the rest count at their best (hi[known:6])
FIRST_KNOWN = 4  # waiting, older, hardship: reliability and exposure not read yet
SECOND_KNOWN = 6  # every feature but travel


@njit(cache=True)
def known_bound(f, weights, hi, accept_hi, known):
    """Score bound with travel at its best (hi[0]), features 1..known-1 as computed and
    the rest at their best."""
    bound = 0.0
    bound += hi[0]
    for j in range(1, known):
        bound += weights[j] * f[j]
    for j in range(known, 6):
        bound += hi[j]
    bound += accept_hi
    return bound


@njit(cache=True)
def can_take(r, bit, day_pay, start_ms, end_ms, max_open, excluded_rows, skills, active,
             checked_in, available_until_ms, min_pay_fen, open_offers, busy_start, busy_end):  # fmt: skip
    """The eligibility filters of a job-side ranking, on the worker columns."""
    if (skills[r] & bit) == np.uint64(0):
        return False
    if active[r] == 0 or checked_in[r] == 0 or available_until_ms[r] < start_ms:
        return False
    if day_pay < min_pay_fen[r] or open_offers[r] >= max_open:
        return False
    if _busy_overlap(busy_start, busy_end, r, start_ms, end_ms):
        return False
    return not _contains_sorted(excluded_rows, r)


@njit(cache=True)
def travel_and_score(f, d, mode_r, min_pay_r, day_pay, pol, weights, accept_coef):
    """The last features of a candidate at distance d (travel, pay ratio) and its score
    -> (travel_s, score). `f` holds the other features; the twins add in this order."""
    travel_s = d * P.DETOUR / pol[P.P_SPEEDS + mode_r]
    f[P.F_TRAVEL] = 1.0 - _capped(travel_s / pol[P.P_TRAVEL_LIMIT_S])
    x = float(day_pay) / float(max(int(min_pay_r), 1))
    f[P.F_PAY_RATIO] = (3.0 if x > 3.0 else x) / 3.0
    score = 0.0
    for j in range(6):
        score += weights[j] * f[j]
    if accept_coef.shape[0] != 0:
        z = accept_coef[0]
        for j in range(F):
            z += accept_coef[j + 1] * f[j]
        if z > Z_CLAMP:
            z = Z_CLAMP
        if z < -Z_CLAMP:
            z = -Z_CLAMP
        score += weights[P.W_ACCEPTANCE] * (1.0 / (1.0 + math.exp(-z)))
    return travel_s, score


@njit(cache=True)
def rank_workers(
    cand_rows,
    job,
    pol,
    weights,
    accept_coef,
    excluded_rows,
    k,
    lat,
    lng,
    skills,
    min_pay_fen,
    birth_year,
    priority,
    mode,
    active,
    checked_in,
    checkin_ms,
    available_until_ms,
    busy_start,
    busy_end,
    open_offers,
    completions,
    no_shows,
    offers_today,
    offers_day,
):
    """Best k workers for a job -> (rows, scores, distance_m, travel_s, features[m, 7])."""
    n_coef = accept_coef.shape[0]
    if n_coef != 0 and n_coef != F + 1:
        raise ValueError("accept_coef needs 0 or 8 values")
    cand = unique_rows(cand_rows)
    cap = min(max(k, 0), cand.shape[0])
    keys = np.empty(cap, dtype=np.float64)
    rows = np.empty(cap, dtype=np.int64)
    slots = np.empty(cap, dtype=np.int64)
    p_dist = np.empty(cap, dtype=np.float64)
    p_travel = np.empty(cap, dtype=np.float64)
    p_feat = np.empty((cap, F), dtype=np.float64)
    size = 0
    reach = _reach_by_mode(pol)
    bit = np.uint64(1) << np.uint64(int(job[P.J_SKILL_BIT]))
    day_pay = int(job[P.J_DAY_PAY_FEN])
    start_ms = int(job[P.J_START_MS])
    end_ms = int(job[P.J_END_MS])
    now_ms = int(job[P.J_NOW_MS])
    job_year = int(job[P.J_YEAR])
    older_age = int(pol[P.P_OLDER_AGE])
    max_open = int(pol[P.P_MAX_OPEN_OFFERS])
    today = int(pol[P.P_TODAY])
    hi, accept_hi = upper_terms(weights, n_coef)
    lat0 = job[P.J_LAT]
    lng0 = job[P.J_LNG]
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    f = np.empty(F, dtype=np.float64)
    for i in range(cand.shape[0] if cap > 0 else 0):
        r = cand[i]
        # eligibility first (in a busy market most candidates fail here), then the score
        if not can_take(r, bit, day_pay, start_ms, end_ms, max_open, excluded_rows, skills,
                        active, checked_in, available_until_ms, min_pay_fen, open_offers,
                        busy_start, busy_end):  # fmt: skip
            continue
        f[P.F_WAITING] = waiting_feature(now_ms - checkin_ms[r], pol)
        f[P.F_OLDER] = 1.0 if job_year - birth_year[r] >= older_age else 0.0
        f[P.F_HARDSHIP] = 1.0 if priority[r] > 0 else 0.0
        # first bound: reliability and exposure not read yet
        if size == cap and not beats_root(
            keys, rows, size, cap, known_bound(f, weights, hi, accept_hi, FIRST_KNOWN), r
        ):
            continue
        f[P.F_RELIABILITY] = reliability_feature(int(completions[r]), int(no_shows[r]))
        offers = int(offers_today[r]) if offers_day[r] == today else 0
        f[P.F_EXPOSURE] = exposure_feature(offers, pol)
        # second bound: every feature but travel
        if size == cap and not beats_root(
            keys, rows, size, cap, known_bound(f, weights, hi, accept_hi, SECOND_KNOWN), r
        ):
            continue
        d = haversine_cos_m(lat0, lng0, cos0, lat[r], lng[r])
        if d > reach[mode[r]]:
            continue
        travel_s, score = travel_and_score(f, d, mode[r], min_pay_fen[r], day_pay, pol, weights,
                                           accept_coef)  # fmt: skip
        size, slot = heap_offer(keys, rows, slots, size, cap, score, r)
        if slot >= 0:
            p_dist[slot] = d
            p_travel[slot] = travel_s
            p_feat[slot, :] = f
    out_rows, out_scores, out_slots = heap_drain(keys, rows, slots, size)
    return out_rows, out_scores, p_dist[out_slots], p_travel[out_slots], p_feat[out_slots]


@njit(cache=True)
def rank_jobs(
    cand_job_rows,
    worker_row,
    now_ms,
    pols,
    excluded_job_rows,
    k,
    w_lat,
    w_lng,
    w_skills,
    w_min_pay_fen,
    w_mode,
    w_active,
    w_checked_in,
    w_available_until_ms,
    w_busy_start,
    w_busy_end,
    w_open_offers,
    j_lat,
    j_lng,
    j_skill_bit,
    j_day_pay_fen,
    j_start_ms,
    j_end_ms,
    j_slots_open,
    j_status,
    j_policy,
):
    """Best k open jobs for one worker -> (job rows, scores, distance_m, travel_s).

    Every policy value deciding an offer of a job comes from the JOB's policy:
    `pols[j_policy[j]]` (one policy vector per row of `pols`): the worker's reach and
    speed by mode, the travel limit of the score, the late-join window and the open
    offer limit.

    Filters: worker active, checked in; open offers < the job policy's max; job open with
    a free slot; skill; pay >= worker minimum; job started at most late_join_ms ago and
    not ended; worker available until >= job start; no held hire overlapping; not
    excluded; within the worker's reach. Score = travel + pay: travel = 1 - min(travel_s
    / travel_limit_s, 1), pay = min(day_pay / max(worker minimum, 1), 3) / 3, both in
    [0, 1]; ties on job row.
    """
    w = worker_row
    cand = unique_rows(cand_job_rows)
    cap = min(max(k, 0), cand.shape[0])
    if w_active[w] == 0 or w_checked_in[w] == 0:
        cap = 0
    keys = np.empty(cap, dtype=np.float64)
    rows = np.empty(cap, dtype=np.int64)
    slots = np.empty(cap, dtype=np.int64)
    p_dist = np.empty(cap, dtype=np.float64)
    p_travel = np.empty(cap, dtype=np.float64)
    size = 0
    m = w_mode[w]
    n_pol = pols.shape[0]
    reach = np.empty(n_pol, dtype=np.float64)
    for p in range(n_pol):
        reach[p] = _reach_by_mode(pols[p])[m]
    min_pay = int(w_min_pay_fen[w])
    open_offers = int(w_open_offers[w])
    cos0 = math.cos(w_lat[w] * DEG_TO_RAD)
    for i in range(cand.shape[0] if cap > 0 else 0):
        j = cand[i]
        if j_status[j] != JOB_OPEN or j_slots_open[j] <= 0:
            continue
        p = j_policy[j]
        if open_offers >= int(pols[p, P.P_MAX_OPEN_OFFERS]):
            continue
        if (w_skills[w] & (np.uint64(1) << np.uint64(j_skill_bit[j]))) == np.uint64(0):
            continue
        if j_day_pay_fen[j] < min_pay:
            continue
        if j_start_ms[j] < now_ms - int(pols[p, P.P_LATE_JOIN_MS]) or j_end_ms[j] <= now_ms:
            continue
        if w_available_until_ms[w] < j_start_ms[j]:
            continue
        if _busy_overlap(w_busy_start, w_busy_end, w, j_start_ms[j], j_end_ms[j]):
            continue
        if _contains_sorted(excluded_job_rows, j):
            continue
        x = float(j_day_pay_fen[j]) / float(max(min_pay, 1))
        pay = (3.0 if x > 3.0 else x) / 3.0
        if not beats_root(keys, rows, size, cap, 1.0 + pay, j):
            continue
        d = haversine_cos_m(w_lat[w], w_lng[w], cos0, j_lat[j], j_lng[j])
        if d > reach[p]:
            continue
        travel_s = d * P.DETOUR / pols[p, P.P_SPEEDS + m]
        score = (1.0 - _capped(travel_s / pols[p, P.P_TRAVEL_LIMIT_S])) + pay
        size, slot = heap_offer(keys, rows, slots, size, cap, score, j)
        if slot >= 0:
            p_dist[slot] = d
            p_travel[slot] = travel_s
    out_rows, out_scores, out_slots = heap_drain(keys, rows, slots, size)
    return out_rows, out_scores, p_dist[out_slots], p_travel[out_slots]


@njit(cache=True)
def push_candidates(
    cand_rows,
    push,
    excluded_rows,
    lat,
    lng,
    home_lat,
    home_lng,
    skills,
    min_pay_fen,
    active,
    push_opt_in,
    quiet_start_min,
    quiet_end_min,
    pushes_today,
    push_day,
    busy_start,
    busy_end,
):
    """Who gets the 1.5 km push -> (rows, distance_m), by distance then row.

    Filters: active; opted in; skill; pay >= minimum; no held hire overlapping the job;
    not in quiet hours at the local minute (a window start > end wraps midnight, start ==
    end means none); pushes today < daily cap (counter of another day reads 0); not in
    `excluded_rows`; distance = min(from home, from current position) <= push radius.
    The distance is read first (4 columns): a candidate beyond the radius, or one that
    could not enter the full heap (distance, row), is dropped before the other columns
    are read; the filters are a conjunction, so the order does not change the result.
    """
    cand = unique_rows(cand_rows)
    cap = min(max(int(push[P.U_MAX_PUSHES]), 0), cand.shape[0])
    keys = np.empty(cap, dtype=np.float64)  # -distance: higher is better
    rows = np.empty(cap, dtype=np.int64)
    slots = np.empty(cap, dtype=np.int64)
    size = 0
    bit = np.uint64(1) << np.uint64(int(push[P.U_SKILL_BIT]))
    day_pay = int(push[P.U_DAY_PAY_FEN])
    start_ms = int(push[P.U_START_MS])
    end_ms = int(push[P.U_END_MS])
    cap_today = int(push[P.U_DAILY_CAP])
    today = int(push[P.U_TODAY])
    minute = int(push[P.U_MINUTE])
    lat0 = push[P.U_LAT]
    lng0 = push[P.U_LNG]
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    radius_m = push[P.U_RADIUS_M]
    for i in range(cand.shape[0] if cap > 0 else 0):
        r = cand[i]
        d = haversine_cos_m(lat0, lng0, cos0, home_lat[r], home_lng[r])
        if lat[r] != home_lat[r] or lng[r] != home_lng[r]:  # (at home: the same distance)
            d2 = haversine_cos_m(lat0, lng0, cos0, lat[r], lng[r])
            if d2 < d:
                d = d2
        if d > radius_m or not beats_root(keys, rows, size, cap, -d, r):
            continue
        if active[r] == 0 or push_opt_in[r] == 0:
            continue
        if (skills[r] & bit) == np.uint64(0) or day_pay < min_pay_fen[r]:
            continue
        if _busy_overlap(busy_start, busy_end, r, start_ms, end_ms):
            continue
        qs = int(quiet_start_min[r])
        qe = int(quiet_end_min[r])
        if qs < qe and qs <= minute and minute < qe:
            continue
        if qs > qe and (minute >= qs or minute < qe):
            continue
        sent = int(pushes_today[r]) if push_day[r] == today else 0
        if sent >= cap_today or _contains_sorted(excluded_rows, r):
            continue
        size, _ = heap_offer(keys, rows, slots, size, cap, -d, r)
    out_rows, out_keys, _ = heap_drain(keys, rows, slots, size)
    return out_rows, -out_keys


@njit(cache=True)
def filter_within(cand_rows, lat0, lng0, radius_m, lat, lng):
    """Candidates within `radius_m` of (lat0, lng0), in input order -> (rows, distance_m)."""
    out = np.empty(cand_rows.shape[0], dtype=np.int64)
    dist = np.empty(cand_rows.shape[0], dtype=np.float64)
    n = 0
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    for i in range(cand_rows.shape[0]):
        r = cand_rows[i]
        d = haversine_cos_m(lat0, lng0, cos0, lat[r], lng[r])
        if d <= radius_m:
            out[n] = r
            dist[n] = d
            n += 1
    return out[:n], dist[:n]


# ------------------------------------------------------------------ store wrappers ---

_EMPTY = np.empty(0, dtype=np.int64)


def _rows(a: np.ndarray | None) -> np.ndarray:
    return _EMPTY if a is None else np.ascontiguousarray(a, dtype=np.int64)


def rank_workers_from(
    workers: WorkerArrays,
    cand_rows: np.ndarray,
    job: np.ndarray,
    pol: np.ndarray,
    weights: np.ndarray,
    accept_coef: np.ndarray,
    k: int,
    excluded_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rank_workers` over a `WorkerArrays` (excluded_rows must be sorted)."""
    return rank_workers(
        _rows(cand_rows),
        job,
        pol,
        weights,
        np.ascontiguousarray(accept_coef, dtype=np.float64),
        _rows(excluded_rows),
        int(k),
        *workers.rank_columns(),
    )


def worker_columns_for_jobs(workers: WorkerArrays) -> tuple[np.ndarray, ...]:
    """The worker columns `rank_jobs` takes, in its argument order."""
    w = workers
    return (
        *(w.lat, w.lng, w.skills, w.min_pay_fen, w.mode, w.active, w.checked_in),
        *(w.available_until_ms, w.busy_start, w.busy_end, w.open_offers),
    )


def rank_jobs_from(
    jobs: JobArrays,
    workers: WorkerArrays,
    worker_row: int,
    cand_job_rows: np.ndarray,
    now_ms: int,
    pols: np.ndarray,
    k: int,
    excluded_job_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rank_jobs` over the stores (`pols[slot]`: the policy vector of each job's
    `JobArrays.policy` slot; excluded_job_rows must be sorted)."""
    if pols.ndim == 1:
        pols = pols.reshape(1, -1)
    return rank_jobs(
        _rows(cand_job_rows),
        int(worker_row),
        int(now_ms),
        np.ascontiguousarray(pols, dtype=np.float64),
        _rows(excluded_job_rows),
        int(k),
        *worker_columns_for_jobs(workers),
        *jobs.rank_columns(),
    )


def push_candidates_from(
    workers: WorkerArrays,
    cand_rows: np.ndarray,
    push: np.ndarray,
    excluded_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`push_candidates` over a `WorkerArrays` (excluded_rows must be sorted)."""
    return push_candidates(_rows(cand_rows), push, _rows(excluded_rows), *workers.push_columns())
