"""Plain-Python twins of the numba kernels: the reference the kernels are tested against.

Owns: `py_rank_workers`, `py_rank_jobs`, `py_push_candidates`, `py_filter_within`,
`py_haversine_m`, and `evaluate_worker` (every filter and the score of one (job, worker)
pair, used by the twin and by `explain.reasons`).

Invariants:
- Same signatures, same filters, same arithmetic in the same order as `kernels` (every
  float operation, including integer -> float conversions, happens at the same point), so
  results are bit-identical. Selection differs (sort all survivors instead of a top-k
  buffer) but the order (score desc, row asc) is total, so the outputs are equal.
- Unlike the kernels, `evaluate_worker` checks every filter (no short circuit) so an
  audit sees all the reasons; a pair passes iff the kernel would keep it.

Limits: slow (pure Python); for tests, audits and explanations only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.geo import DEG_TO_RAD, EARTH_RADIUS_M
from engine.matching.params import (
    DETOUR,
    J_DAY_PAY_FEN,
    J_END_MS,
    J_LAT,
    J_LNG,
    J_NOW_MS,
    J_SKILL_BIT,
    J_START_MS,
    J_YEAR,
    N_FEATURES,
    N_MODES,
    P_EXPOSURE_CAP,
    P_LATE_JOIN_MS,
    P_MAX_OPEN_OFFERS,
    P_MAX_REACH_M,
    P_OLDER_AGE,
    P_RADIUS_M,
    P_SPEEDS,
    P_TODAY,
    P_TRAVEL_LIMIT_S,
    P_WAIT_CAP_MS,
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

Z_CLAMP = 500.0
JOB_OPEN = 1
# filter keys of `evaluate_worker`, in the kernel's order
WORKER_FILTERS = (
    "not_active",
    "not_checked_in",
    "skill",
    "pay",
    "availability",
    "busy",
    "offers",
    "excluded",
    "reach",
)


def py_haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1 = lat1 * DEG_TO_RAD
    p2 = lat2 * DEG_TO_RAD
    s1 = math.sin((lat2 - lat1) * DEG_TO_RAD * 0.5)
    s2 = math.sin((lng2 - lng1) * DEG_TO_RAD * 0.5)
    a = s1 * s1 + math.cos(p1) * math.cos(p2) * (s2 * s2)
    if a > 1.0:
        a = 1.0
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def py_reach_by_mode(pol: np.ndarray) -> list[float]:
    out = []
    for m in range(N_MODES):
        by_time = float(pol[P_SPEEDS + m]) * float(pol[P_TRAVEL_LIMIT_S]) / DETOUR
        if by_time > float(pol[P_MAX_REACH_M]):
            by_time = float(pol[P_MAX_REACH_M])
        radius = float(pol[P_RADIUS_M])
        out.append(radius if radius >= by_time else by_time)
    return out


def _overlap(busy_start, busy_end, r: int, start_ms: int, end_ms: int) -> tuple[int, int] | None:
    for s in range(busy_start.shape[1]):
        bs, be = int(busy_start[r, s]), int(busy_end[r, s])
        if bs < end_ms and start_ms < be:
            return bs, be
    return None


def _in_sorted(sorted_rows: np.ndarray, row: int) -> bool:
    pos = int(np.searchsorted(sorted_rows, row))
    return pos < len(sorted_rows) and int(sorted_rows[pos]) == row


@dataclass
class WorkerEval:
    """Every filter and the score of one (job, worker) pair."""

    row: int
    failed: list[str] = field(default_factory=list)  # keys of WORKER_FILTERS
    busy: tuple[int, int] | None = None  # the held hire that overlaps
    distance_m: float = 0.0
    reach_m: float = 0.0
    travel_s: float = 0.0
    features: list[float] = field(default_factory=list)
    score: float = 0.0


def evaluate_worker(r, job, pol, weights, accept_coef, excluded_rows, *cols) -> WorkerEval:
    """All filters (no short circuit) and score for worker row `r`; cols as the kernel."""
    (lat, lng, skills, min_pay_fen, birth_year, priority, mode, active, checked_in) = cols[:9]
    (checkin_ms, available_until_ms, busy_start, busy_end, open_offers) = cols[9:14]
    (completions, no_shows, offers_today, offers_day) = cols[14:18]
    r = int(r)
    ev = WorkerEval(row=r)
    day_pay = int(job[J_DAY_PAY_FEN])
    start_ms, end_ms = int(job[J_START_MS]), int(job[J_END_MS])
    if active[r] == 0:
        ev.failed.append("not_active")
    if checked_in[r] == 0:
        ev.failed.append("not_checked_in")
    if not (int(skills[r]) >> int(job[J_SKILL_BIT])) & 1:
        ev.failed.append("skill")
    if day_pay < int(min_pay_fen[r]):
        ev.failed.append("pay")
    if int(available_until_ms[r]) < start_ms:
        ev.failed.append("availability")
    ev.busy = _overlap(busy_start, busy_end, r, start_ms, end_ms)
    if ev.busy is not None:
        ev.failed.append("busy")
    if int(open_offers[r]) >= int(pol[P_MAX_OPEN_OFFERS]):
        ev.failed.append("offers")
    if _in_sorted(excluded_rows, r):
        ev.failed.append("excluded")
    m = int(mode[r])
    d = py_haversine_m(float(job[J_LAT]), float(job[J_LNG]), float(lat[r]), float(lng[r]))
    ev.distance_m = d
    ev.reach_m = py_reach_by_mode(pol)[m]
    if d > ev.reach_m:
        ev.failed.append("reach")
    f = [0.0] * N_FEATURES
    travel_s = d * DETOUR / float(pol[P_SPEEDS + m])
    ev.travel_s = travel_s
    x = travel_s / float(pol[P_TRAVEL_LIMIT_S])
    f[0] = 1.0 - (1.0 if x > 1.0 else x)
    wait_ms = int(job[J_NOW_MS]) - int(checkin_ms[r])
    x = float(wait_ms) / float(pol[P_WAIT_CAP_MS]) if wait_ms > 0 else 0.0
    f[1] = 1.0 if x > 1.0 else x
    f[2] = 1.0 if int(job[J_YEAR]) - int(birth_year[r]) >= int(pol[P_OLDER_AGE]) else 0.0
    f[3] = 1.0 if int(priority[r]) > 0 else 0.0
    done = int(completions[r])
    f[4] = float(done + 1) / float(done + int(no_shows[r]) + 2)
    offers = int(offers_today[r]) if int(offers_day[r]) == int(pol[P_TODAY]) else 0
    x = float(offers) / float(pol[P_EXPOSURE_CAP])
    f[5] = -(1.0 if x > 1.0 else x)
    x = float(day_pay) / float(max(int(min_pay_fen[r]), 1))
    f[6] = (3.0 if x > 3.0 else x) / 3.0
    score = 0.0
    for j in range(6):
        score += float(weights[j]) * f[j]
    if len(accept_coef) != 0:
        z = float(accept_coef[0])
        for j in range(N_FEATURES):
            z += float(accept_coef[j + 1]) * f[j]
        if z > Z_CLAMP:
            z = Z_CLAMP
        if z < -Z_CLAMP:
            z = -Z_CLAMP
        score += float(weights[W_ACCEPTANCE]) * (1.0 / (1.0 + math.exp(-z)))
    ev.features = f
    ev.score = score
    return ev


def py_rank_workers(cand_rows, job, pol, weights, accept_coef, excluded_rows, k, *cols):
    """Twin of `kernels.rank_workers` (same arguments, same outputs)."""
    if len(accept_coef) not in (0, N_FEATURES + 1):
        raise ValueError("accept_coef needs 0 or 8 values")
    kept: dict[int, WorkerEval] = {}
    for r in cand_rows:
        if int(r) in kept:
            continue
        ev = evaluate_worker(r, job, pol, weights, accept_coef, excluded_rows, *cols)
        if not ev.failed:
            kept[ev.row] = ev
    best = sorted(kept.values(), key=lambda e: (-e.score, e.row))[: max(int(k), 0)]
    return (
        np.array([e.row for e in best], dtype=np.int64),
        np.array([e.score for e in best], dtype=np.float64),
        np.array([e.distance_m for e in best], dtype=np.float64),
        np.array([e.travel_s for e in best], dtype=np.float64),
        np.array([e.features for e in best], dtype=np.float64).reshape(len(best), N_FEATURES),
    )


def py_rank_jobs(cand_job_rows, worker_row, now_ms, pols, excluded_job_rows, k, *cols):
    """Twin of `kernels.rank_jobs` (`pols[p]`: the policy vector of job policy slot p)."""
    (w_lat, w_lng, w_skills, w_min_pay_fen, w_mode, w_active, w_checked_in) = cols[:7]
    (w_available_until_ms, w_busy_start, w_busy_end, w_open_offers) = cols[7:11]
    (j_lat, j_lng, j_skill_bit, j_day_pay_fen, j_start_ms, j_end_ms) = cols[11:17]
    (j_slots_open, j_status, j_policy) = cols[17:20]
    pols = np.asarray(pols, dtype=np.float64).reshape(-1, np.shape(pols)[-1])
    w = int(worker_row)
    now_ms = int(now_ms)
    kept: dict[int, tuple[float, float, float]] = {}
    if w_active[w] != 0 and w_checked_in[w] != 0:
        m = int(w_mode[w])
        min_pay = int(w_min_pay_fen[w])
        for j in cand_job_rows:
            j = int(j)
            start_ms, end_ms = int(j_start_ms[j]), int(j_end_ms[j])
            if j in kept or int(j_status[j]) != JOB_OPEN or int(j_slots_open[j]) <= 0:
                continue
            pol = pols[int(j_policy[j])]
            if int(w_open_offers[w]) >= int(pol[P_MAX_OPEN_OFFERS]):
                continue
            if not (int(w_skills[w]) >> int(j_skill_bit[j])) & 1:
                continue
            if int(j_day_pay_fen[j]) < min_pay:
                continue
            if start_ms < now_ms - int(pol[P_LATE_JOIN_MS]) or end_ms <= now_ms:
                continue
            if int(w_available_until_ms[w]) < start_ms:
                continue
            if _overlap(w_busy_start, w_busy_end, w, start_ms, end_ms) is not None:
                continue
            if _in_sorted(excluded_job_rows, j):
                continue
            d = py_haversine_m(float(w_lat[w]), float(w_lng[w]), float(j_lat[j]), float(j_lng[j]))
            if d > py_reach_by_mode(pol)[m]:
                continue
            travel_s = d * DETOUR / float(pol[P_SPEEDS + m])
            x = travel_s / float(pol[P_TRAVEL_LIMIT_S])
            travel = 1.0 - (1.0 if x > 1.0 else x)
            x = float(int(j_day_pay_fen[j])) / float(max(min_pay, 1))
            kept[j] = (travel + (3.0 if x > 3.0 else x) / 3.0, d, travel_s)
    best = sorted(kept.items(), key=lambda item: (-item[1][0], item[0]))[: max(int(k), 0)]
    return (
        np.array([j for j, _ in best], dtype=np.int64),
        np.array([v[0] for _, v in best], dtype=np.float64),
        np.array([v[1] for _, v in best], dtype=np.float64),
        np.array([v[2] for _, v in best], dtype=np.float64),
    )


def py_push_candidates(cand_rows, push, excluded_rows, *cols):
    """Twin of `kernels.push_candidates`."""
    (lat, lng, home_lat, home_lng, skills, min_pay_fen, active, push_opt_in) = cols[:8]
    (quiet_start_min, quiet_end_min, pushes_today, push_day, busy_start, busy_end) = cols[8:14]
    start_ms, end_ms = int(push[U_START_MS]), int(push[U_END_MS])
    minute = int(push[U_MINUTE])
    kept: dict[int, float] = {}
    for r in cand_rows:
        r = int(r)
        if r in kept or active[r] == 0 or push_opt_in[r] == 0:
            continue
        if not (int(skills[r]) >> int(push[U_SKILL_BIT])) & 1:
            continue
        if int(push[U_DAY_PAY_FEN]) < int(min_pay_fen[r]):
            continue
        if _overlap(busy_start, busy_end, r, start_ms, end_ms) is not None:
            continue
        qs, qe = int(quiet_start_min[r]), int(quiet_end_min[r])
        if qs < qe and qs <= minute < qe:
            continue
        if qs > qe and (minute >= qs or minute < qe):
            continue
        sent = int(pushes_today[r]) if int(push_day[r]) == int(push[U_TODAY]) else 0
        if sent >= int(push[U_DAILY_CAP]):
            continue
        if _in_sorted(excluded_rows, r):
            continue
        lat0, lng0 = float(push[U_LAT]), float(push[U_LNG])
        d = py_haversine_m(lat0, lng0, float(home_lat[r]), float(home_lng[r]))
        d2 = py_haversine_m(lat0, lng0, float(lat[r]), float(lng[r]))
        if d2 < d:
            d = d2
        if d > float(push[U_RADIUS_M]):
            continue
        kept[r] = d
    best = sorted(kept.items(), key=lambda item: (item[1], item[0]))
    best = best[: max(int(push[U_MAX_PUSHES]), 0)]
    return (
        np.array([r for r, _ in best], dtype=np.int64),
        np.array([d for _, d in best], dtype=np.float64),
    )


def py_filter_within(cand_rows, lat0, lng0, radius_m, lat, lng):
    """Twin of `kernels.filter_within`."""
    rows, dist = [], []
    for r in cand_rows:
        d = py_haversine_m(float(lat0), float(lng0), float(lat[int(r)]), float(lng[int(r)]))
        if d <= radius_m:
            rows.append(int(r))
            dist.append(d)
    return np.array(rows, dtype=np.int64), np.array(dist, dtype=np.float64)
