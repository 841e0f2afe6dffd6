"""Posting decision latency with a crowd of checked-in workers in one city.

Owns: `run_posting_bench`, which builds a city (Xiangyang, about 20 km across) with N
registered and checked-in workers by folding pre-built events (the same state the
commands would produce, far faster than deciding 2N commands), then times
`Engine.execute(SubmitJob)` — decide, review, the first offer wave and the 1.5 km pushes —
for a bounded number of postings after a warm-up that excludes numba compile time.
It checks its answers: every posting is published, and the threshold top-k ranks the
open jobs exactly as its full-scan twin (`bench.morning_bench.twin_check`); the digest
of every event the postings decided (`events_sha256`: offers and pushes, in order) lets
two runs of the same sizes and seed show they decided the same. Wall and thread CPU
time are both reported (the machine may be shared).

Limits: `MAX_WORKERS` workers; postings bounded by the argument.
"""

from __future__ import annotations

import hashlib
import math
import random
import time

import numpy as np

from engine import commands as c
from engine import events as e
from engine.core import Engine
from engine.fold import apply
from engine.matching.params import query_radius_m
from sim.callers import OPERATOR
from sim.morning import SKILLS, local_midnight_ms

MAX_WORKERS = 10_000_000
CENTRE = (32.009, 112.122)


def build_city(workers: int, seed: int = 5) -> tuple[Engine, int]:
    if workers > MAX_WORKERS:
        raise ValueError(f"at most {MAX_WORKERS} workers")
    rng = np.random.default_rng(seed)
    t0 = local_midnight_ms("2026-11-23") + 6 * 3_600_000
    eng = Engine()
    cmds = [
        c.SetPolicy(
            command_id="p",
            ts_ms=t0,
            region="",
            policy=e.Policy(local_day_pay_fen={s: p for s, _, p in SKILLS}),
        ),
        c.RegisterStation(
            command_id="s",
            ts_ms=t0,
            station_id="HUB",
            name="襄阳零工市场",
            kind="hub",
            region="420602",
            location=c.Point(lat=CENTRE[0], lng=CENTRE[1]),
        ),
        c.ChangeStationStatus(command_id="a", ts_ms=t0, station_id="HUB", status="approved"),
        c.RegisterEmployer(
            command_id="e", ts_ms=t0, employer_id="E", kind="person", name="王五", region="420602"
        ),
    ]
    for cmd in cmds:
        eng.execute(cmd, OPERATOR)
    codes = [s for s, _, _ in SKILLS]
    half_km = 10.0
    lat = CENTRE[0] + rng.uniform(-half_km, half_km, workers) / 111.195
    lng = CENTRE[1] + rng.uniform(-half_km, half_km, workers) / (
        111.195 * math.cos(math.radians(CENTRE[0]))
    )
    skills = rng.integers(0, len(codes), (workers, 2))
    births = rng.integers(1958, 2004, workers)
    modes = rng.choice(5, workers, p=[0.35, 0.15, 0.35, 0.1, 0.05])
    mode_names = ("walk", "bike", "ebike", "bus", "car")
    state = eng.state
    for i in range(workers):
        wid = f"W{i:08d}"
        sk = tuple(sorted({codes[skills[i, 0]], codes[skills[i, 1]]}))
        apply(
            state,
            e.WorkerRegistered(
                ts_ms=t0,
                worker_id=wid,
                region="420602",
                skills=sk,
                min_pay_fen=15000,
                birth_year=int(births[i]),
                home_lat=float(lat[i]),
                home_lng=float(lng[i]),
                travel_mode=mode_names[int(modes[i])],
            ),
        )
        apply(
            state,
            e.WorkerCheckedIn(
                ts_ms=t0,
                worker_id=wid,
                lat=float(lat[i]),
                lng=float(lng[i]),
                available_until_ms=t0 + 8 * 3_600_000,
            ),
        )
    state.last_seq += 2 * workers  # as if each event had been its own record
    return eng, t0


def run_posting_bench(workers: int = 100_000, postings: int = 2000, seed: int = 5) -> dict:
    started = time.perf_counter()
    eng, t0 = build_city(workers, seed)
    build_s = time.perf_counter() - started
    rng = random.Random(seed)
    lat_us: list[float] = []
    cpu_us: list[float] = []  # thread CPU time: the machine is shared
    offers = 0
    digest = hashlib.sha256()  # every decision (offers, pushes) in order: runs compare
    for j in range(postings + 50):
        code, title, level = SKILLS[rng.randrange(len(SKILLS))]
        cmd = c.SubmitJob(
            command_id=f"j{j}",
            ts_ms=t0 + j * 100,
            job_id=f"J{j}",
            employer_id="E",
            station_id="HUB",
            title=f"{title}{j}",
            skill=code,
            headcount=rng.choice((1, 2, 3)),
            pay_fen=level,
            start_ms=t0 + 3_600_000,
            end_ms=t0 + 9 * 3_600_000,
            location=c.Point(
                lat=CENTRE[0] + rng.uniform(-0.07, 0.07), lng=CENTRE[1] + rng.uniform(-0.08, 0.08)
            ),
        )
        t = time.perf_counter_ns()
        cpu = time.thread_time_ns()
        out = eng.execute(cmd, OPERATOR)
        dcpu = (time.thread_time_ns() - cpu) / 1000
        dt = (time.perf_counter_ns() - t) / 1000
        if j >= 50:  # the first 50 warm up numba and caches
            lat_us.append(dt)
            cpu_us.append(dcpu)
            offers += sum(isinstance(ev, e.OfferMade) for ev in out.events)
        assert isinstance(out.events[1], e.JobPublished), out.events[1]
        digest.update(repr(out.events).encode())
    arr = np.asarray(lat_us)
    from bench.morning_bench import twin_check

    twin = twin_check(eng, t0 + (postings + 50) * 100)
    _, policy = eng.state.policy_for("420602")
    from engine.matching.params import policy_params

    return {
        "checked_in_workers": workers,
        "postings": postings,
        "offers": offers,
        "decision_p50_us": round(float(np.percentile(arr, 50)), 1),
        "decision_p99_us": round(float(np.percentile(arr, 99)), 1),
        "decision_mean_us": round(float(arr.mean()), 1),
        "decision_cpu_p50_us": round(float(np.percentile(cpu_us, 50)), 1),
        "decision_cpu_p99_us": round(float(np.percentile(cpu_us, 99)), 1),
        "query_radius_m": query_radius_m(policy_params(policy, t0)),
        "build_s": round(build_s, 2),
        "events_sha256": digest.hexdigest()[:16],
        **twin,
    }
