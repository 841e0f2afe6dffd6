"""Seeded random inputs for the matching tests (numpy default_rng only)."""

from __future__ import annotations

import math

import numpy as np

from engine.events import Policy, TravelSpeeds, Weights
from engine.geo import local_day_number
from engine.matching import params as P
from engine.matching.jobs import JobArrays
from engine.matching.workers import BUSY_SLOTS, WorkerArrays

NOW_MS = 1_767_225_600_000 - 3600 * 1000  # 2026-01-01 07:00 local (2025-12-31 23:00 UTC)
CITIES = {
    "xiangyang": (32.009, 112.122),
    "nanning": (22.817, 108.366),
    "harbin": (45.80, 126.53),
}
M_PER_DEG_LAT = 111_195.0


def offsets_to_latlng(centre, dx_m, dy_m):
    lat0, lng0 = centre
    lat = lat0 + dy_m / M_PER_DEG_LAT
    lng = lng0 + dx_m / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    return lat, lng


def random_points(rng, n, centre, spread_m):
    """Points around `centre`: half Gaussian, half uniform in a square of 2 * spread."""
    half = n // 2
    dx = np.concatenate(
        [rng.normal(0, spread_m / 2, half), rng.uniform(-spread_m, spread_m, n - half)]
    )
    dy = np.concatenate(
        [rng.normal(0, spread_m / 2, half), rng.uniform(-spread_m, spread_m, n - half)]
    )
    return offsets_to_latlng(centre, dx, dy)


def random_workers(rng, n, centre=CITIES["xiangyang"], spread_m=4000.0, n_skills=6, now_ms=NOW_MS):
    """A WorkerArrays with every column drawn to hit edge cases (ties, boundaries)."""
    w = WorkerArrays(capacity=n)
    w.n = n
    lat, lng = random_points(rng, n, centre, spread_m)
    hlat, hlng = random_points(rng, n, centre, spread_m)
    w.lat[:n], w.lng[:n], w.home_lat[:n], w.home_lng[:n] = lat, lng, hlat, hlng
    bits = rng.integers(0, n_skills, size=(n, 3))
    masks = np.zeros(n, dtype=np.uint64)
    for j in range(3):
        use = rng.random(n) < (1.0 if j == 0 else 0.4)
        masks |= np.where(use, np.uint64(1) << bits[:, j].astype(np.uint64), np.uint64(0))
    w.skills[:n] = masks
    w.min_pay_fen[:n] = rng.choice([0, 10000, 15000, 20000, 25000, 30000], n)
    w.birth_year[:n] = rng.integers(1955, 2006, n)
    w.priority[:n] = rng.random(n) < 0.2
    w.mode[:n] = rng.integers(0, 5, n)
    w.active[:n] = rng.random(n) < 0.95
    w.checked_in[:n] = (rng.random(n) < 0.85) & (w.active[:n] == 1)
    w.checkin_ms[:n] = now_ms - rng.integers(-600_000, 5 * 3600_000, n)
    start = now_ms + 3600_000
    w.available_until_ms[:n] = start + rng.choice([-3600_000, 0, 3600_000, 8 * 3600_000], n)
    for s in range(BUSY_SLOTS):
        used = rng.random(n) < 0.15
        bs = start + rng.choice([-4, -2, 0, 2, 4, 8], n) * 3600_000
        be = bs + rng.choice([1, 2, 4], n) * 3600_000
        w.busy_start[:n, s] = np.where(used, bs, 0)
        w.busy_end[:n, s] = np.where(used, be, 0)
    w.open_offers[:n] = rng.integers(0, 5, n)
    w.completions[:n] = rng.integers(0, 30, n)
    w.no_shows[:n] = rng.integers(0, 6, n)
    w.offers_today[:n] = rng.integers(0, 15, n)
    today = local_day_number(now_ms)
    w.offers_day[:n] = rng.choice([today, today - 1], n)
    w.push_opt_in[:n] = rng.random(n) < 0.7
    w.quiet_start_min[:n] = rng.choice([0, 22 * 60, 6 * 60, 8 * 60], n)
    w.quiet_end_min[:n] = rng.choice([0, 7 * 60, 6 * 60 + 30, 9 * 60], n)
    w.pushes_today[:n] = rng.integers(0, 7, n)
    w.push_day[:n] = rng.choice([today, today - 1], n)
    # exact copies of other rows: equal scores, so ties must break on row
    copies = rng.choice(n, size=n // 10, replace=False)
    sources = rng.choice(n, size=n // 10)
    for col in w.columns().values():
        col[copies] = col[sources]
    return w


def random_jobs(rng, n, centre=CITIES["xiangyang"], spread_m=4000.0, n_skills=6, now_ms=NOW_MS):
    jobs = JobArrays(capacity=n)
    lat, lng = random_points(rng, n, centre, spread_m)
    for i in range(n):
        start = now_ms + int(rng.choice([-2, -1, 0, 1, 2])) * 1800_000
        jobs.add(
            lat=float(lat[i]),
            lng=float(lng[i]),
            skill_bit=int(rng.integers(0, n_skills)),
            day_pay_fen=int(rng.choice([10000, 15000, 20000, 30000, 60000])),
            start_ms=start,
            end_ms=start + int(rng.choice([1, 4, 8])) * 3600_000,
            slots=int(rng.integers(1, 4)),
        )
    jobs.slots_open[:n] = np.where(rng.random(n) < 0.1, 0, jobs.slots_open[:n])
    jobs.status[:n] = rng.random(n) < 0.9
    return jobs


def random_policy(rng) -> Policy:
    coef = ()
    if rng.random() < 0.5:
        coef = tuple(float(x) for x in rng.normal(0, 2, P.N_FEATURES + 1))
    return Policy(
        radius_m=int(rng.choice([300, 1000, 1500, 3000])),
        travel_limit_s=int(rng.choice([600, 1800, 3600])),
        max_reach_m=int(rng.choice([2000, 5000, 10000, 100_000])),
        speeds=TravelSpeeds(
            walk_mps=float(rng.choice([1.2, 0.8, 1.5])),
            bike_mps=float(rng.choice([3.5, 2.5])),
            ebike_mps=float(rng.choice([5.5, 4.0, 7.0])),
            bus_mps=float(rng.choice([4.0, 6.0])),
            car_mps=float(rng.choice([8.0, 12.0])),
        ),
        wait_cap_ms=int(rng.choice([1800_000, 3 * 3600_000])),
        older_age=int(rng.choice([45, 50, 55])),
        exposure_cap=int(rng.choice([1, 5, 10])),
        max_open_offers_per_worker=int(rng.choice([1, 3, 5])),
        weights=Weights(
            travel=float(rng.choice([0.0, 1.0, rng.random()])),
            waiting=float(rng.choice([0.0, 0.6, rng.random()])),
            older=float(rng.choice([0.0, 0.5])),
            hardship=float(rng.choice([0.0, 0.5])),
            reliability=float(rng.choice([0.0, 0.4, rng.random()])),
            exposure=float(rng.choice([0.0, 0.3])),
            acceptance=float(rng.choice([0.0, 1.0])),
        ),
        acceptance_coef=coef,
    )


def random_job_vec(rng, centre=CITIES["xiangyang"], spread_m=4000.0, n_skills=6, now_ms=NOW_MS):
    lat, lng = random_points(rng, 2, centre, spread_m)
    start = now_ms + 3600_000 + int(rng.choice([0, -3600_000, 3600_000]))
    return P.job_params(
        lat=float(lat[0]),
        lng=float(lng[0]),
        skill_bit=int(rng.integers(0, n_skills)),
        day_pay_fen=int(rng.choice([10000, 15000, 20000, 25000, 40000])),
        start_ms=start,
        end_ms=start + int(rng.choice([1, 4, 8])) * 3600_000,
        now_ms=now_ms,
    )
