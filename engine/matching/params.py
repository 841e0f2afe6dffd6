"""Parameter vectors of the matching kernels, travel speeds and local (Asia/Shanghai) time.

Owns: the layout of the float64 parameter arrays the kernels take (`J_*` job, `P_*`
policy, `W_*` weights, `F_*` features, `U_*` push), their builders from `Policy` /
`Weights`, and the travel model (`SPEEDS_MPS`, `DETOUR`, `reach_m`). Local days, minutes
and years come from `engine.geo` (`local_day_number`, ...).

Invariants:
- Every integer quantity carried in a float64 array (ms timestamps, fen, counts) is below
  2**53, so it round-trips exactly; the kernels convert back with int().
- `today` is `geo.local_day_number(now_ms)` (UTC+8 days since 1970-01-01), the same
  number the engine stores in `offers_day` / `push_day`.
- Reach of a worker: max(radius_m, min(speed * travel_limit_s / DETOUR, max_reach_m)); a
  query radius of `query_radius_m` never misses a reachable worker.

Limits: travel speeds come from the policy (`Policy.speeds`, m/s by mode) and travel in the
policy vector (`P_SPEEDS + mode`); `SPEEDS_MPS` are the defaults. Builders reject
non-positive travel limits, wait caps, exposure caps and speeds (they are divisors).
"""

from __future__ import annotations

import math

import numpy as np

from engine.events import Policy, Weights
from engine.geo import local_day_number, local_minute_of_day, local_year

DETOUR = 1.3  # road distance / great-circle distance
# walk, bike, ebike, bus (door to door, waiting included), car (urban): the defaults of
# `Policy.speeds`
SPEEDS_MPS = np.array([1.2, 3.5, 5.5, 4.0, 8.0], dtype=np.float64)
LATE_JOIN_MS = 3600 * 1000  # worker side: a job that started up to this long ago can be joined

# job params (rank_workers)
J_LAT, J_LNG, J_SKILL_BIT, J_DAY_PAY_FEN, J_START_MS, J_END_MS, J_NOW_MS, J_YEAR = range(8)
N_JOB_PARAMS = 8
# policy params
(
    P_RADIUS_M,
    P_TRAVEL_LIMIT_S,
    P_MAX_REACH_M,
    P_WAIT_CAP_MS,
    P_OLDER_AGE,
    P_EXPOSURE_CAP,
    P_MAX_OPEN_OFFERS,
    P_TODAY,
    P_LATE_JOIN_MS,
    P_SPEEDS,  # first of N_MODES speeds (m/s), in the order of `MODES`
) = range(10)
N_MODES = 5
N_POLICY_PARAMS = P_SPEEDS + N_MODES
# weights (order of events.Weights)
W_TRAVEL, W_WAITING, W_OLDER, W_HARDSHIP, W_RELIABILITY, W_EXPOSURE, W_ACCEPTANCE = range(7)
N_WEIGHTS = 7
# features (rank_workers output columns; the acceptance model's inputs in this order)
F_TRAVEL, F_WAITING, F_OLDER, F_HARDSHIP, F_RELIABILITY, F_EXPOSURE, F_PAY_RATIO = range(7)
N_FEATURES = 7
FEATURE_NAMES = ("travel", "waiting", "older", "hardship", "reliability", "exposure", "pay_ratio")
# push params (push_candidates)
(
    U_LAT,
    U_LNG,
    U_SKILL_BIT,
    U_DAY_PAY_FEN,
    U_START_MS,
    U_END_MS,
    U_RADIUS_M,
    U_DAILY_CAP,
    U_MAX_PUSHES,
    U_TODAY,
    U_MINUTE,
) = range(11)
N_PUSH_PARAMS = 11


# ------------------------------------------------------------------ builders ---------


def job_params(
    *,
    lat: float,
    lng: float,
    skill_bit: int,
    day_pay_fen: int,
    start_ms: int,
    end_ms: int,
    now_ms: int,
) -> np.ndarray:
    """Job vector for `rank_workers`; job_year is the local year of `start_ms`."""
    if not 0 <= skill_bit < 64:
        raise ValueError(f"skill_bit must be in [0, 64), got {skill_bit}")
    out = np.empty(N_JOB_PARAMS, dtype=np.float64)
    out[J_LAT], out[J_LNG], out[J_SKILL_BIT] = lat, lng, skill_bit
    out[J_DAY_PAY_FEN], out[J_START_MS], out[J_END_MS] = day_pay_fen, start_ms, end_ms
    out[J_NOW_MS], out[J_YEAR] = now_ms, local_year(start_ms)
    return out


def policy_params(policy: Policy, now_ms: int, *, late_join_ms: int = LATE_JOIN_MS) -> np.ndarray:
    """Policy vector for the kernels; `today` is the local day number of `now_ms`."""
    for name in ("travel_limit_s", "wait_cap_ms", "exposure_cap"):
        if getattr(policy, name) <= 0:
            raise ValueError(f"policy.{name} must be > 0, got {getattr(policy, name)}")
    if policy.radius_m < 0 or policy.max_reach_m < 0:
        raise ValueError("policy radius_m and max_reach_m must be >= 0")
    out = np.empty(N_POLICY_PARAMS, dtype=np.float64)
    out[P_RADIUS_M] = policy.radius_m
    out[P_TRAVEL_LIMIT_S] = policy.travel_limit_s
    out[P_MAX_REACH_M] = policy.max_reach_m
    out[P_WAIT_CAP_MS] = policy.wait_cap_ms
    out[P_OLDER_AGE] = policy.older_age
    out[P_EXPOSURE_CAP] = policy.exposure_cap
    out[P_MAX_OPEN_OFFERS] = policy.max_open_offers_per_worker
    out[P_TODAY] = local_day_number(now_ms)
    out[P_LATE_JOIN_MS] = late_join_ms
    out[P_SPEEDS : P_SPEEDS + N_MODES] = speeds_array(policy)
    return out


def speeds_array(policy: Policy) -> np.ndarray:
    """Travel speeds (m/s) of the policy in the order of `MODES` (walk ... car)."""
    sp = policy.speeds
    out = np.array(
        [sp.walk_mps, sp.bike_mps, sp.ebike_mps, sp.bus_mps, sp.car_mps], dtype=np.float64
    )
    if not np.all(np.isfinite(out)) or np.any(out <= 0.0):
        raise ValueError(f"policy.speeds must be finite and > 0: {sp}")
    return out


def weights_array(weights: Weights) -> np.ndarray:
    out = np.array(
        [
            weights.travel,
            weights.waiting,
            weights.older,
            weights.hardship,
            weights.reliability,
            weights.exposure,
            weights.acceptance,
        ],
        dtype=np.float64,
    )
    if not np.all(np.isfinite(out)):
        raise ValueError(f"weights must be finite: {weights}")
    return out


def accept_coef_array(policy: Policy) -> np.ndarray:
    """Learned acceptance model: () or intercept + one coefficient per feature."""
    coef = np.asarray(policy.acceptance_coef, dtype=np.float64)
    if len(coef) not in (0, N_FEATURES + 1):
        raise ValueError(
            f"acceptance_coef needs 0 or {N_FEATURES + 1} values "
            f"(intercept + {', '.join(FEATURE_NAMES)}), got {len(coef)}"
        )
    if not np.all(np.isfinite(coef)):
        raise ValueError("acceptance_coef must be finite")
    return coef


def push_params(
    policy: Policy,
    *,
    lat: float,
    lng: float,
    skill_bit: int,
    day_pay_fen: int,
    start_ms: int,
    end_ms: int,
    now_ms: int,
) -> np.ndarray:
    out = np.empty(N_PUSH_PARAMS, dtype=np.float64)
    out[U_LAT], out[U_LNG], out[U_SKILL_BIT] = lat, lng, skill_bit
    out[U_DAY_PAY_FEN], out[U_START_MS], out[U_END_MS] = day_pay_fen, start_ms, end_ms
    out[U_RADIUS_M] = policy.push_radius_m
    out[U_DAILY_CAP] = policy.push_daily_cap
    out[U_MAX_PUSHES] = policy.max_pushes_per_job
    out[U_TODAY] = local_day_number(now_ms)
    out[U_MINUTE] = local_minute_of_day(now_ms)
    return out


# ------------------------------------------------------------------ travel model -----


def reach_m(policy_vec: np.ndarray) -> np.ndarray:
    """Reach (m) per travel mode, same arithmetic as the kernels."""
    out = np.empty(N_MODES, dtype=np.float64)
    for m in range(N_MODES):
        by_time = float(policy_vec[P_SPEEDS + m]) * float(policy_vec[P_TRAVEL_LIMIT_S]) / DETOUR
        if by_time > policy_vec[P_MAX_REACH_M]:
            by_time = float(policy_vec[P_MAX_REACH_M])
        out[m] = max(float(policy_vec[P_RADIUS_M]), by_time)
    return out


def query_radius_m(policy_vec: np.ndarray) -> float:
    """Index query radius that cannot miss a reachable worker (the largest reach)."""
    return float(math.ceil(reach_m(policy_vec).max()))
