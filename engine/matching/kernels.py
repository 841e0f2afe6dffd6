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
- Candidates are visited in the given order but results do not depend on it: rankings
  are sorted by (score desc, row asc), pushes by (distance asc, row asc); a row given
  twice counts once.
- Filters of `rank_workers`, in this order (the explain order): active and checked in;
  skill bit in the worker's mask; day pay >= worker minimum; available until >= start;
  no held hire overlapping [start, end); open offers < max; not in `excluded_rows`
  (sorted); distance <= reach of the worker's travel mode (`params.reach_m`).
- Score = sum of weight * feature over travel, waiting, older, hardship, reliability,
  exposure (+ acceptance weight * sigmoid(coef . [1, features]) when coefficients are
  given). Gender, ethnicity and household registration are not inputs: no such column.
- Distances: haversine with R = 6371008.8 m, (job/origin point first, row point second).

Limits: k and max pushes bounded by the caller (buffers are O(k)); columns must be
contiguous with the dtypes of `WorkerArrays`/`JobArrays`; modes index `speeds_mps`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.geo import DEG_TO_RAD, EARTH_RADIUS_M
from engine.matching.jobs import JOB_OPEN, JobArrays
from engine.matching.params import (
    DETOUR,
    F_EXPOSURE,
    F_HARDSHIP,
    F_OLDER,
    F_PAY_RATIO,
    F_RELIABILITY,
    F_TRAVEL,
    F_WAITING,
    J_DAY_PAY_FEN,
    J_END_MS,
    J_LAT,
    J_LNG,
    J_NOW_MS,
    J_SKILL_BIT,
    J_START_MS,
    J_YEAR,
    N_FEATURES,
    P_EXPOSURE_CAP,
    P_LATE_JOIN_MS,
    P_MAX_OPEN_OFFERS,
    P_MAX_REACH_M,
    P_OLDER_AGE,
    P_RADIUS_M,
    P_TODAY,
    P_TRAVEL_LIMIT_S,
    P_WAIT_CAP_MS,
    SPEEDS_MPS,
    U_DAILY_CAP,
    U_DAY_PAY_FEN,
    U_END_MS,
    U_LAT,
    U_LNG,
    U_MAX_PUSHES,
    U_MINUTE,
    U_RADIUS_M,
    U_SKILL_BIT,
    U_START_MS,
    U_TODAY,
    W_ACCEPTANCE,
)
from engine.matching.twins import (  # noqa: F401  (re-exported twins)
    py_filter_within,
    py_push_candidates,
    py_rank_jobs,
    py_rank_workers,
)
from engine.matching.workers import BUSY_SLOTS, WorkerArrays

Z_CLAMP = 500.0  # sigmoid argument clamp (keeps exp finite; same in the twin)


@njit(cache=True)
def haversine_m(lat1, lng1, lat2, lng2):
    p1 = lat1 * DEG_TO_RAD
    p2 = lat2 * DEG_TO_RAD
    s1 = math.sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
    s2 = math.sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
    a = s1 * s1 + math.cos(p1) * math.cos(p2) * (s2 * s2)
    if a > 1.0:
        a = 1.0
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@njit(cache=True)
def _haversine_cos(lat1, lng1, cos_p1, lat2, lng2):
    """haversine_m with cos(lat1 * DEG_TO_RAD) given: the same operations, same bits."""
    p2 = lat2 * DEG_TO_RAD
    s1 = math.sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
    s2 = math.sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
    a = s1 * s1 + cos_p1 * math.cos(p2) * (s2 * s2)
    if a > 1.0:
        a = 1.0
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@njit(cache=True)
def _reach_by_mode(pol, speeds_mps):
    out = np.empty(speeds_mps.shape[0], dtype=np.float64)
    for m in range(speeds_mps.shape[0]):
        by_time = speeds_mps[m] * pol[P_TRAVEL_LIMIT_S] / DETOUR
        if by_time > pol[P_MAX_REACH_M]:
            by_time = pol[P_MAX_REACH_M]
        out[m] = pol[P_RADIUS_M] if pol[P_RADIUS_M] >= by_time else by_time
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
def _slot(top_rows, top_keys, m, k, row, key, descending):
    """Where (key, row) goes in the sorted top buffer: -1 = not kept or already there."""
    pos = m
    while pos > 0:
        prev = top_keys[pos - 1]
        if descending:
            better = key > prev or (key == prev and row < top_rows[pos - 1])
        else:
            better = key < prev or (key == prev and row < top_rows[pos - 1])
        if not better:
            break
        pos -= 1
    if pos >= k:
        return -1
    for i in range(pos):  # a row given twice: its first copy sits before `pos`
        if top_rows[i] == row:
            return -1
    return pos


@njit(cache=True)
def rank_workers(
    cand_rows,
    job,
    pol,
    weights,
    accept_coef,
    speeds_mps,
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
    if n_coef != 0 and n_coef != N_FEATURES + 1:
        raise ValueError("accept_coef needs 0 or 8 values")
    k = max(k, 0)
    reach = _reach_by_mode(pol, speeds_mps)
    bit = np.uint64(1) << np.uint64(int(job[J_SKILL_BIT]))
    day_pay = int(job[J_DAY_PAY_FEN])
    start_ms = int(job[J_START_MS])
    end_ms = int(job[J_END_MS])
    now_ms = int(job[J_NOW_MS])
    job_year = int(job[J_YEAR])
    older_age = int(pol[P_OLDER_AGE])
    max_open = int(pol[P_MAX_OPEN_OFFERS])
    today = int(pol[P_TODAY])
    limit_s = pol[P_TRAVEL_LIMIT_S]
    top_rows = np.empty(k, dtype=np.int64)
    top_scores = np.empty(k, dtype=np.float64)
    top_dist = np.empty(k, dtype=np.float64)
    top_travel = np.empty(k, dtype=np.float64)
    top_feat = np.empty((k, N_FEATURES), dtype=np.float64)
    f = np.empty(N_FEATURES, dtype=np.float64)
    if k == 0:
        return top_rows, top_scores, top_dist, top_travel, top_feat
    # Exact pruning: once k rows are held, a candidate whose score bound (travel feature
    # at its best, acceptance at its weight) cannot beat the k-th is skipped before the
    # haversine. The bound adds the same terms in the same order with each term >= the
    # real one, and float rounding is monotone, so bound >= score: results are unchanged.
    travel_hi = 1.0 if weights[0] >= 0.0 else 0.0
    accept_hi = weights[W_ACCEPTANCE] if weights[W_ACCEPTANCE] > 0.0 else 0.0
    lat0 = job[J_LAT]
    lng0 = job[J_LNG]
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    m = 0
    for i in range(cand_rows.shape[0]):
        r = cand_rows[i]
        # same filters as the explain order, cheapest and most selective first
        if (skills[r] & bit) == np.uint64(0):
            continue
        if active[r] == 0 or checked_in[r] == 0:
            continue
        if day_pay < min_pay_fen[r]:
            continue
        if available_until_ms[r] < start_ms:
            continue
        if open_offers[r] >= max_open:
            continue
        if _busy_overlap(busy_start, busy_end, r, start_ms, end_ms):
            continue
        if _contains_sorted(excluded_rows, r):
            continue
        wait_ms = now_ms - checkin_ms[r]
        x = float(wait_ms) / pol[P_WAIT_CAP_MS] if wait_ms > 0 else 0.0
        f[F_WAITING] = 1.0 if x > 1.0 else x
        f[F_OLDER] = 1.0 if job_year - birth_year[r] >= older_age else 0.0
        f[F_HARDSHIP] = 1.0 if priority[r] > 0 else 0.0
        done = int(completions[r])
        f[F_RELIABILITY] = float(done + 1) / float(done + int(no_shows[r]) + 2)
        offers = int(offers_today[r]) if offers_day[r] == today else 0
        x = float(offers) / pol[P_EXPOSURE_CAP]
        f[F_EXPOSURE] = -(1.0 if x > 1.0 else x)
        if m == k:
            bound = weights[0] * travel_hi
            for j in range(1, 6):
                bound += weights[j] * f[j]
            bound += accept_hi
            kth = top_scores[k - 1]
            if bound < kth or (bound == kth and r > top_rows[k - 1]):
                continue
        d = _haversine_cos(lat0, lng0, cos0, lat[r], lng[r])
        if d > reach[mode[r]]:
            continue
        travel_s = d * DETOUR / speeds_mps[mode[r]]
        x = travel_s / limit_s
        f[F_TRAVEL] = 1.0 - (1.0 if x > 1.0 else x)
        x = float(day_pay) / float(max(int(min_pay_fen[r]), 1))
        f[F_PAY_RATIO] = (3.0 if x > 3.0 else x) / 3.0
        score = 0.0
        for j in range(6):
            score += weights[j] * f[j]
        if n_coef != 0:
            z = accept_coef[0]
            for j in range(N_FEATURES):
                z += accept_coef[j + 1] * f[j]
            if z > Z_CLAMP:
                z = Z_CLAMP
            if z < -Z_CLAMP:
                z = -Z_CLAMP
            score += weights[W_ACCEPTANCE] * (1.0 / (1.0 + math.exp(-z)))
        pos = _slot(top_rows, top_scores, m, k, r, score, True)
        if pos < 0:
            continue
        last = m if m < k else k - 1
        for t in range(last, pos, -1):
            top_rows[t] = top_rows[t - 1]
            top_scores[t] = top_scores[t - 1]
            top_dist[t] = top_dist[t - 1]
            top_travel[t] = top_travel[t - 1]
            top_feat[t, :] = top_feat[t - 1, :]
        top_rows[pos] = r
        top_scores[pos] = score
        top_dist[pos] = d
        top_travel[pos] = travel_s
        top_feat[pos, :] = f
        if m < k:
            m += 1
    return top_rows[:m], top_scores[:m], top_dist[:m], top_travel[:m], top_feat[:m]


@njit(cache=True)
def rank_jobs(
    cand_job_rows,
    worker_row,
    now_ms,
    pol,
    speeds_mps,
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
):
    """Best k open jobs for one worker -> (job rows, scores, distance_m, travel_s).

    Score = travel + pay: travel = 1 - min(travel_s / travel_limit_s, 1) and
    pay = min(day_pay / max(worker minimum, 1), 3) / 3, both in [0, 1]; ties on job row.
    """
    k = max(k, 0)
    top_rows = np.empty(k, dtype=np.int64)
    top_scores = np.empty(k, dtype=np.float64)
    top_dist = np.empty(k, dtype=np.float64)
    top_travel = np.empty(k, dtype=np.float64)
    m = 0
    w = worker_row
    if w_active[w] == 0 or w_checked_in[w] == 0 or w_open_offers[w] >= int(pol[P_MAX_OPEN_OFFERS]):
        return top_rows[:0], top_scores[:0], top_dist[:0], top_travel[:0]
    reach = _reach_by_mode(pol, speeds_mps)[w_mode[w]]
    speed = speeds_mps[w_mode[w]]
    earliest_start = now_ms - int(pol[P_LATE_JOIN_MS])
    cos0 = math.cos(w_lat[w] * DEG_TO_RAD)
    min_pay = int(w_min_pay_fen[w])
    limit_s = pol[P_TRAVEL_LIMIT_S]
    for i in range(cand_job_rows.shape[0]):
        j = cand_job_rows[i]
        if j_status[j] != JOB_OPEN or j_slots_open[j] <= 0:
            continue
        if (w_skills[w] & (np.uint64(1) << np.uint64(j_skill_bit[j]))) == np.uint64(0):
            continue
        if j_day_pay_fen[j] < min_pay:
            continue
        if j_start_ms[j] < earliest_start or j_end_ms[j] <= now_ms:
            continue
        if w_available_until_ms[w] < j_start_ms[j]:
            continue
        if _busy_overlap(w_busy_start, w_busy_end, w, j_start_ms[j], j_end_ms[j]):
            continue
        if _contains_sorted(excluded_job_rows, j):
            continue
        d = _haversine_cos(w_lat[w], w_lng[w], cos0, j_lat[j], j_lng[j])
        if d > reach:
            continue
        travel_s = d * DETOUR / speed
        x = travel_s / limit_s
        travel = 1.0 - (1.0 if x > 1.0 else x)
        x = float(j_day_pay_fen[j]) / float(max(min_pay, 1))
        score = travel + (3.0 if x > 3.0 else x) / 3.0
        pos = _slot(top_rows, top_scores, m, k, j, score, True)
        if pos < 0:
            continue
        last = m if m < k else k - 1
        for t in range(last, pos, -1):
            top_rows[t] = top_rows[t - 1]
            top_scores[t] = top_scores[t - 1]
            top_dist[t] = top_dist[t - 1]
            top_travel[t] = top_travel[t - 1]
        top_rows[pos] = j
        top_scores[pos] = score
        top_dist[pos] = d
        top_travel[pos] = travel_s
        if m < k:
            m += 1
    return top_rows[:m], top_scores[:m], top_dist[:m], top_travel[:m]


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
    """
    k = max(int(push[U_MAX_PUSHES]), 0)
    bit = np.uint64(1) << np.uint64(int(push[U_SKILL_BIT]))
    day_pay = int(push[U_DAY_PAY_FEN])
    start_ms = int(push[U_START_MS])
    end_ms = int(push[U_END_MS])
    cap = int(push[U_DAILY_CAP])
    today = int(push[U_TODAY])
    minute = int(push[U_MINUTE])
    radius_m = push[U_RADIUS_M]
    cos0 = math.cos(push[U_LAT] * DEG_TO_RAD)
    top_rows = np.empty(k, dtype=np.int64)
    top_dist = np.empty(k, dtype=np.float64)
    m = 0
    for i in range(cand_rows.shape[0]):
        r = cand_rows[i]
        if active[r] == 0 or push_opt_in[r] == 0:
            continue
        if (skills[r] & bit) == np.uint64(0):
            continue
        if day_pay < min_pay_fen[r]:
            continue
        if _busy_overlap(busy_start, busy_end, r, start_ms, end_ms):
            continue
        qs = int(quiet_start_min[r])
        qe = int(quiet_end_min[r])
        if qs < qe:
            if qs <= minute and minute < qe:
                continue
        elif qs > qe:
            if minute >= qs or minute < qe:
                continue
        sent = int(pushes_today[r]) if push_day[r] == today else 0
        if sent >= cap:
            continue
        if _contains_sorted(excluded_rows, r):
            continue
        d = _haversine_cos(push[U_LAT], push[U_LNG], cos0, home_lat[r], home_lng[r])
        d2 = _haversine_cos(push[U_LAT], push[U_LNG], cos0, lat[r], lng[r])
        if d2 < d:
            d = d2
        if d > radius_m:
            continue
        pos = _slot(top_rows, top_dist, m, k, r, d, False)
        if pos < 0:
            continue
        last = m if m < k else k - 1
        for t in range(last, pos, -1):
            top_rows[t] = top_rows[t - 1]
            top_dist[t] = top_dist[t - 1]
        top_rows[pos] = r
        top_dist[pos] = d
        if m < k:
            m += 1
    return top_rows[:m], top_dist[:m]


@njit(cache=True)
def filter_within(cand_rows, lat0, lng0, radius_m, lat, lng):
    """Candidates within `radius_m` of (lat0, lng0), in input order -> (rows, distance_m)."""
    out = np.empty(cand_rows.shape[0], dtype=np.int64)
    dist = np.empty(cand_rows.shape[0], dtype=np.float64)
    n = 0
    cos0 = math.cos(lat0 * DEG_TO_RAD)
    for i in range(cand_rows.shape[0]):
        r = cand_rows[i]
        d = _haversine_cos(lat0, lng0, cos0, lat[r], lng[r])
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
    speeds_mps: np.ndarray = SPEEDS_MPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rank_workers` over a `WorkerArrays` (excluded_rows must be sorted)."""
    return rank_workers(
        _rows(cand_rows),
        job,
        pol,
        weights,
        np.ascontiguousarray(accept_coef, dtype=np.float64),
        speeds_mps,
        _rows(excluded_rows),
        int(k),
        *workers.rank_columns(),
    )


def rank_jobs_from(
    jobs: JobArrays,
    workers: WorkerArrays,
    worker_row: int,
    cand_job_rows: np.ndarray,
    now_ms: int,
    pol: np.ndarray,
    k: int,
    excluded_job_rows: np.ndarray | None = None,
    speeds_mps: np.ndarray = SPEEDS_MPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`rank_jobs` over the stores (excluded_job_rows must be sorted)."""
    return rank_jobs(
        _rows(cand_job_rows),
        int(worker_row),
        int(now_ms),
        pol,
        speeds_mps,
        _rows(excluded_job_rows),
        int(k),
        *worker_columns_for_jobs(workers),
        *jobs.rank_columns(),
    )


def worker_columns_for_jobs(workers: WorkerArrays) -> tuple[np.ndarray, ...]:
    """The worker columns `rank_jobs` takes, in its argument order."""
    return (
        workers.lat,
        workers.lng,
        workers.skills,
        workers.min_pay_fen,
        workers.mode,
        workers.active,
        workers.checked_in,
        workers.available_until_ms,
        workers.busy_start,
        workers.busy_end,
        workers.open_offers,
    )


def push_candidates_from(
    workers: WorkerArrays,
    cand_rows: np.ndarray,
    push: np.ndarray,
    excluded_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`push_candidates` over a `WorkerArrays` (excluded_rows must be sorted)."""
    return push_candidates(_rows(cand_rows), push, _rows(excluded_rows), *workers.push_columns())


assert BUSY_SLOTS == 4  # kernels read the slot count from the array shape
