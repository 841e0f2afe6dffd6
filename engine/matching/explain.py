"""Audit explanations: why a worker was or was not a candidate for a job.

Owns: `reasons`, which evaluates one (job, worker row) pair with the twin's
`evaluate_worker` and words the outcome for people (station staff, auditors, the
worker).

Invariants:
- Agrees with `kernels.rank_workers`: `eligible` is True iff the kernel, given this row as
  a candidate and a large enough k, returns it, and then `score` equals the kernel's score
  bit for bit (same arithmetic; the tests check both).
- Every failed filter is listed, in the kernel's filter order; times are local
  (Asia/Shanghai, UTC+8).

Limits: one pair per call, pure Python (audits, not the hot path).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.geo import local_date, local_day_number, local_minute_of_day
from engine.matching.params import FEATURE_NAMES, J_START_MS, W_ACCEPTANCE
from engine.matching.twins import Z_CLAMP, evaluate_worker
from engine.matching.workers import WorkerArrays


def local_hm(ts_ms: int) -> str:
    """Local (UTC+8) time of day as HH:MM."""
    minute = local_minute_of_day(ts_ms)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _stamp(ts_ms: int, with_date: bool) -> str:
    _, month, day = local_date(ts_ms)
    return f"{month:02d}-{day:02d} {local_hm(ts_ms)}" if with_date else local_hm(ts_ms)


def _hired_words(start_ms: int, end_ms: int, job_start_ms: int) -> str:
    """ "already hired 07:00-12:00", with MM-DD dates when not on the job's local day."""
    day = local_day_number(job_start_ms)
    dated = not (local_day_number(start_ms) == day == local_day_number(end_ms - 1))
    return f"already hired {_stamp(start_ms, dated)}-{_stamp(end_ms, dated)}"


def reasons(
    workers: WorkerArrays,
    row: int,
    job: np.ndarray,
    pol: np.ndarray,
    weights: np.ndarray,
    accept_coef: np.ndarray,
    excluded_rows: np.ndarray | None = None,
) -> dict[str, Any]:
    """Explain worker `row` for the job vector `job` under policy vector `pol`.

    Returns {"row", "eligible", "reasons": [human words for each failed filter],
    "distance_m", "reach_m", "travel_s"} plus, when eligible, "score" and "components"
    ({feature name: {"value", "weight", "points"}}, and "acceptance" when a learned model
    is in use).
    """
    excluded = np.empty(0, np.int64) if excluded_rows is None else np.asarray(excluded_rows)
    coef = np.asarray(accept_coef, dtype=np.float64)
    ev = evaluate_worker(row, job, pol, weights, coef, excluded, *workers.rank_columns())
    words = {
        "not_active": "not active (erased)",
        "not_checked_in": "not checked in",
        "skill": "skill mismatch",
        "pay": "pay below minimum",
        "availability": "not available at start time",
        "offers": "offer limit reached",
        "excluded": "already offered",
        "reach": f"outside reach {ev.reach_m / 1000.0:.1f} km",
    }
    failed = [k for k in ev.failed if not (k == "not_checked_in" and "not_active" in ev.failed)]
    out: dict[str, Any] = {
        "row": ev.row,
        "eligible": not ev.failed,
        "reasons": [
            _hired_words(*ev.busy, int(job[J_START_MS])) if k == "busy" and ev.busy else words[k]
            for k in failed
        ],
        "distance_m": ev.distance_m,
        "reach_m": ev.reach_m,
        "travel_s": ev.travel_s,
    }
    if not ev.failed:
        components: dict[str, dict[str, float]] = {}
        for j, name in enumerate(FEATURE_NAMES[:6]):
            value = ev.features[j]
            components[name] = {
                "value": value,
                "weight": float(weights[j]),
                "points": float(weights[j]) * value,
            }
        if len(coef):
            z = float(coef[0])
            for j in range(len(FEATURE_NAMES)):
                z += float(coef[j + 1]) * ev.features[j]
            z = min(max(z, -Z_CLAMP), Z_CLAMP)
            p = 1.0 / (1.0 + math.exp(-z))
            components["acceptance"] = {
                "value": p,
                "weight": float(weights[W_ACCEPTANCE]),
                "points": float(weights[W_ACCEPTANCE]) * p,
            }
        components["pay_ratio"] = {"value": ev.features[6], "weight": 0.0, "points": 0.0}
        out["score"] = ev.score
        out["components"] = components
    return out
