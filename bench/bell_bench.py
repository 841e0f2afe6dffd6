"""Opening-bell benchmark: 2,000 waiting workers, 500 jobs at one crowded market.

Owns: `run_bell_bench`, which builds a real engine state (one hub, workers checked in
at it, jobs collected by it during the bell window), times the bell's assignment
(`engine.matcher.bell_pairs`: scoring every worker for every job with the kernel, then
the maximum-weight assignment, `engine.matching.bell`) in wall and CPU seconds, and
compares its total score with the greedy fallback on the same score matrix. It checks
its answer: no worker twice, no job over its slots, total >= greedy. Then it closes the
bell through the engine (an `Advance` to the window's end: the bell's offers, folded,
then the jobs' normal waves) and times that too, checking that the engine made the
same bell offers.

Limits: sizes as given; one warm-up on a tiny market excludes numba compile time.
"""

from __future__ import annotations

import random
import time

import numpy as np

from engine import commands as c
from engine import matcher
from engine.core import Engine
from engine.events import OfferMade, Policy
from engine.matching.bell import greedy_assign, total_score
from sim.callers import caller_for
from sim.morning import SKILLS, local_midnight_ms


def _market(workers: int, jobs: int, seed: int) -> tuple[Engine, int]:
    rng = random.Random(seed)
    t0 = local_midnight_ms("2026-11-23") + 5 * 3_600_000
    eng = Engine()
    n = 0

    def run(cmd_cls, **kw):  # noqa: ANN001, ANN003
        nonlocal n
        n += 1
        cmd = cmd_cls(command_id=f"b{n}", ts_ms=t0, **kw)
        return eng.execute(cmd, caller_for(eng.state, cmd))

    policy = Policy(local_day_pay_fen={s: p for s, _, p in SKILLS}, bell_window_ms=600_000)
    run(c.SetPolicy, region="", policy=policy)
    run(
        c.RegisterStation,
        station_id="HUB",
        name="襄阳零工市场",
        kind="hub",
        region="420602",
        location=c.Point(lat=32.009, lng=112.122),
    )
    run(c.ChangeStationStatus, station_id="HUB", status="approved")
    run(c.RegisterEmployer, employer_id="E", kind="person", name="王五", region="420602")
    run(c.RingBell, station_id="HUB")
    skills = [s for s, _, _ in SKILLS]
    for i in range(workers):
        run(
            c.RegisterWorker,
            worker_id=f"W{i}",
            region="420602",
            personal=c.Personal(mobile="13800000000"),
            birth_year=rng.randint(1960, 2000),
            skills=tuple(rng.sample(skills, 3)),
            min_pay_fen=rng.choice((15000, 18000, 20000)),
            home=c.Point(lat=32.009 + rng.gauss(0, 0.01), lng=112.122 + rng.gauss(0, 0.01)),
            priority_group="hardship" if rng.random() < 0.1 else "",
        )
        run(c.CheckIn, worker_id=f"W{i}", station_id="HUB")
    for j in range(jobs):
        skill, title, level = SKILLS[rng.randrange(len(SKILLS))]
        run(
            c.SubmitJob,
            job_id=f"J{j}",
            employer_id="E",
            station_id="HUB",
            title=f"{title}{j}",
            skill=skill,
            headcount=rng.choice((2, 3, 5, 8)),
            pay_fen=level,
            start_ms=t0 + 3_600_000,
            end_ms=t0 + 9 * 3_600_000,
            location=c.Point(lat=32.009 + rng.gauss(0, 0.005), lng=112.122 + rng.gauss(0, 0.005)),
        )
    return eng, t0


def _close(eng: Engine, now_ms: int) -> list:
    """Close the bell through the engine: time passes to the window's end."""
    cmd = c.Advance(command_id=f"close{now_ms}", ts_ms=now_ms)
    return list(eng.execute(cmd, caller_for(eng.state, cmd)).events)


def run_bell_bench(workers: int = 2000, jobs: int = 500, seed: int = 11) -> dict:
    small, t_small = _market(20, 5, seed)
    matcher.bell_pairs(small.state, "HUB", t_small + 600_000)  # compile outside the timing
    _close(small, t_small + 600_000)
    eng, t0 = _market(workers, jobs, seed)
    now = t0 + 600_000
    started, started_cpu = time.perf_counter(), time.process_time()
    pairs = matcher.bell_pairs(eng.state, "HUB", now)
    bell_s, bell_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    # the same score matrix, for greedy and for the answer check
    s = eng.state
    rows = [r for r, sid in enumerate(s.worker_station) if sid == "HUB" and s.workers.checked_in[r]]
    open_jobs = [j for j in s.jobs.values() if j.status == "open"]
    index_of = {r: i for i, r in enumerate(rows)}
    scores = np.full((len(rows), len(open_jobs)), -np.inf)
    rows_arr = np.asarray(rows, dtype=np.int64)
    for ji, job in enumerate(open_jobs):
        for cand in matcher.rank_for_job(s, job, now, len(rows), rows_arr):
            scores[index_of[cand.row], ji] = cand.score
    slots = np.asarray([j.open_slots for j in open_jobs], dtype=np.int64)
    job_index = {j.row: ji for ji, j in enumerate(open_jobs)}
    chosen = [(index_of[r], job_index[jr]) for r, jr, _ in pairs]
    started = time.perf_counter()
    greedy = greedy_assign(scores, slots)
    greedy_s = time.perf_counter() - started
    workers_used = [w for w, _ in chosen]
    assert len(workers_used) == len(set(workers_used)), "a worker assigned twice"
    per_job = np.bincount([j for _, j in chosen], minlength=len(open_jobs))
    assert np.all(per_job <= slots), "a job over its slots"
    total, total_greedy = total_score(scores, chosen), total_score(scores, greedy)
    assert total >= total_greedy - 1e-9, "assignment worse than greedy"
    started, started_cpu = time.perf_counter(), time.process_time()
    events = _close(eng, now)
    close_s, close_cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
    bell_offers = sorted(
        (s.worker_rows[ev.worker_id], s.jobs[ev.job_id].row)
        for ev in events
        if isinstance(ev, OfferMade) and ev.source == "bell"
    )
    assert bell_offers == sorted((r, jr) for r, jr, _ in pairs), "the engine's bell differs"
    return {
        "workers": len(rows),
        "jobs": len(open_jobs),
        "slots": int(slots.sum()),
        "assigned": len(chosen),
        "seconds": round(bell_s, 4),  # the name for the bell's decision time
        "bell_s": round(bell_s, 4),
        "bell_cpu_s": round(bell_cpu_s, 4),
        "close_s": round(close_s, 4),
        "close_cpu_s": round(close_cpu_s, 4),
        "close_events": len(events),
        "greedy_s": round(greedy_s, 4),
        "total_score": round(total, 4),
        "greedy_total_score": round(total_greedy, 4),
        "gain_over_greedy_pct": round(100 * (total - total_greedy) / total_greedy, 3)
        if total_greedy
        else 0.0,
        "greedy_assigned": len(greedy),
    }
