"""The matcher facade: from engine state to the matching kernels and back.

Owns: building kernel inputs from `State` and the region's `Policy` (parameter vectors,
candidate rows from the H3 indexes, excluded rows), and turning kernel outputs into
`Candidate`s for `engine.react`: job-side ranking, the worker-side best jobs, the 1.5 km
push audience (nearest first over growing radii with an exact early stop,
`push_audience`), the opening bell's assignment, and the job hall.

Invariants: pure functions of the state and their arguments; every ranking is sorted by
(score desc, worker/job row asc) inside the kernels; distances and travel times are
rounded to whole metres and seconds only here, at the edge.

Limits: `MAX_CHECKIN_JOBS` jobs ranked for a check-in; `MAX_BELL_WORKERS` x
`MAX_BELL_SLOTS` for an optimal bell (greedy above); `MAX_HALL` jobs in a hall listing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from engine.matching.bell import bell_assign, greedy_assign
from engine.matching.index import query_plan, step_radii
from engine.matching.kernels import push_candidates_from, rank_jobs_from, rank_workers_from
from engine.matching.params import (
    N_MODES,
    N_POLICY_PARAMS,
    U_LAT,
    U_LNG,
    U_MAX_PUSHES,
    U_RADIUS_M,
    U_SKILL_BIT,
    accept_coef_array,
    job_params,
    policy_params,
    push_params,
    query_radius_m,
    reach_m,
    weights_array,
)
from engine.matching.rowsets import merge_rows, sorted_unique_rows
from engine.matching.threshold import rank_waiting
from engine.matching.waiting import disk_cells
from engine.state import Job, State

MAX_CHECKIN_JOBS = 8
MAX_BELL_WORKERS = 4000
MAX_BELL_SLOTS = 4000
MAX_HALL = 200
PUSH_STEP_MARGIN = 1.2  # radius margin when skipping push steps too small for the cap
PUSH_STEP_HOMES = 2.5  # a first push step needs about this many opted-in homes per push
_NO_ROWS = np.empty(0, dtype=np.int64)
_NO_DISTANCE = np.empty(0, dtype=np.float64)


class Candidate(NamedTuple):
    row: int
    score: float
    distance_m: int
    travel_s: int
    features: tuple[float, ...] = ()


def _sorted_rows(rows: list[int]) -> np.ndarray:
    return sorted_unique_rows(rows)


_VECTOR_CACHE: dict[int, tuple[object, int, tuple]] = {}
MAX_VECTOR_CACHE = 256


def policy_vectors(policy, now_ms: int):  # noqa: ANN001, ANN201
    """(pol, weights, coef, query radius, reach by mode) for a policy on a local day.

    Cached per policy object and day (the object is kept in the entry and compared by
    identity, so a recycled id can never return another policy's vectors).
    """
    day = (now_ms + 8 * 3_600_000) // 86_400_000
    hit = _VECTOR_CACHE.get(id(policy))
    if hit is not None and hit[0] is policy and hit[1] == day:
        return hit[2]
    pol = policy_params(policy, now_ms)
    out = (
        pol,
        weights_array(policy.weights),
        accept_coef_array(policy),
        query_radius_m(pol),
        reach_m(pol),
    )
    if len(_VECTOR_CACHE) >= MAX_VECTOR_CACHE:
        _VECTOR_CACHE.clear()
    _VECTOR_CACHE[id(policy)] = (policy, day, out)
    return out


def policy_table(state: State, now_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """(pols[slot], reach[slot, mode]) of every policy slot on the local day of `now_ms`.

    Cached on the state by (policy epoch, day): a new PolicySet or a new day rebuilds it.
    """
    day = (now_ms + 8 * 3_600_000) // 86_400_000
    key = (state.policy_epoch, day)
    hit = state.policy_cache
    if hit is not None and hit[0] == key:
        return hit[1], hit[2]
    pols = np.empty((len(state.policy_slot), N_POLICY_PARAMS), dtype=np.float64)
    reach = np.empty((len(state.policy_slot), N_MODES), dtype=np.float64)
    for prefix, slot in state.policy_slot.items():
        vec = policy_vectors(state.policies[prefix][1], now_ms)
        pols[slot] = vec[0]
        reach[slot] = vec[4]
    state.policy_cache = (key, pols, reach)
    return pols, reach


class JobVectors(NamedTuple):
    """The kernel arguments for one job at a time (its region's policy on that day)."""

    policy: object  # engine.events.Policy
    pol: np.ndarray
    job: np.ndarray
    weights: np.ndarray
    accept_coef: np.ndarray
    skill_bit: int | None  # None: no worker has the skill, nobody can be eligible


def job_vectors(state: State, job: Job, now_ms: int) -> JobVectors:
    """What every job-side ranking passes to the kernels (waves, the bell, and the
    replay's explanations and fairness audits, which call this very function)."""
    _, policy = state.policy_for(job.region)
    pol, weights, coef, _, _ = policy_vectors(policy, now_ms)
    bit = state.skills.bit(job.skill)
    jp = job_params(
        lat=job.lat,
        lng=job.lng,
        skill_bit=0 if bit is None else bit,
        day_pay_fen=job.day_pay_fen,
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        now_ms=now_ms,
    )
    return JobVectors(policy, pol, jp, weights, coef, bit)


def job_query_radius_m(vec: JobVectors, now_ms: int) -> float:
    """The radius a job's candidates are looked up in (the largest reach of its policy)."""
    return policy_vectors(vec.policy, now_ms)[3]


def rank_for_job(
    state: State, job: Job, now_ms: int, k: int, rows: np.ndarray | None = None
) -> list[Candidate]:
    """The best `k` checked-in workers for `job` not offered it before (every candidate
    within the largest reach of the job's policy, or exactly `rows` when given).

    Without `rows`, the exact threshold top-k over the waiting index
    (`engine.matching.threshold.rank_waiting`) decides; it equals the full scan of the
    checked-in index's candidates (`rank_workers`, kept for `rows` and for a peer index
    plugged in as `state.checked_in` by `bench peers`: `peer = True` on it), which the
    tests compare.
    """
    vec = job_vectors(state, job, now_ms)
    if vec.skill_bit is None or k <= 0:
        return []
    excluded = _sorted_rows(job.offered_rows)
    if rows is None and not getattr(state.checked_in, "peer", False):
        radius_m = job_query_radius_m(vec, now_ms)
        wi = state.waiting
        out_rows, scores, dist, travel, feats, _ = rank_waiting(
            disk_cells(job.lat, job.lng, radius_m, wi.res),
            vec.skill_bit,
            vec.job,
            vec.pol,
            vec.weights,
            vec.accept_coef,
            excluded,
            int(k),
            *wi.arrays(),
            *state.workers.rank_columns(),
        )
    else:
        if rows is None:
            radius_m = job_query_radius_m(vec, now_ms)
            rows = state.checked_in.query(job.lat, job.lng, radius_m, tag_mask=1 << vec.skill_bit)
        out_rows, scores, dist, travel, feats = rank_workers_from(
            state.workers, rows, vec.job, vec.pol, vec.weights, vec.accept_coef, k, excluded
        )
    # whole arrays to Python at once (tolist: the same ints and floats, far fewer calls)
    return [
        Candidate(row, score, round(d), round(t), tuple(f))
        for row, score, d, t, f in zip(
            out_rows.tolist(),
            scores.tolist(),
            dist.tolist(),
            travel.tolist(),
            feats.tolist(),
            strict=True,
        )
    ]


def full_scan_for_job(state: State, job: Job, now_ms: int, k: int) -> list[Candidate]:
    """`rank_for_job` by the full scan of the checked-in index (the twin of the
    threshold top-k: tests and `lingong bench` compare them)."""
    vec = job_vectors(state, job, now_ms)
    if vec.skill_bit is None or k <= 0:
        return []
    radius_m = job_query_radius_m(vec, now_ms)
    rows = state.checked_in.query(job.lat, job.lng, radius_m, tag_mask=1 << vec.skill_bit)
    return rank_for_job(state, job, now_ms, k, rows)


def best_jobs_for_worker(state: State, row: int, now_ms: int) -> list[tuple[int, Candidate]]:
    """Open jobs near a checked-in worker, best first, that have not offered to them.

    Reach, speed, travel limit and offer limit are those of each JOB's region policy
    (never the worker's): the query covers the largest reach of the worker's mode under
    any policy, the kernel applies each job's own.
    """
    w = state.workers
    mask = int(w.skills[row])
    if mask == 0:
        return []
    pols, reach = policy_table(state, now_ms)
    radius = float(math.ceil(reach[:, int(w.mode[row])].max()))
    cands = state.open_jobs.query(float(w.lat[row]), float(w.lng[row]), radius, tag_mask=mask)
    if len(cands) == 0:
        return []
    job_rows, scores, dist, travel = rank_jobs_from(
        state.job_arrays, w, row, cands, now_ms, pols, MAX_CHECKIN_JOBS
    )
    out: list[tuple[int, Candidate]] = []
    for i in range(len(job_rows)):
        job = state.jobs[state.job_ids[int(job_rows[i])]]
        if row in job.offered_rows:
            continue
        out.append(
            (
                int(job_rows[i]),
                Candidate(
                    row,
                    float(scores[i]),
                    int(round(float(dist[i]))),
                    int(round(float(travel[i]))),
                ),
            )
        )
    return out


def push_rows(state: State, job: Job, now_ms: int) -> list[tuple[int, int]]:
    """(row, distance_m) of opted-in workers to push `job` to, nearest first."""
    _, policy = state.policy_for(job.region)
    bit = state.skills.bit(job.skill)
    if bit is None or policy.push_daily_cap <= 0 or len(state.push_index) == 0:
        return []  # (nobody opted in: see `push_audience`)
    push = push_params(
        policy,
        lat=job.lat,
        lng=job.lng,
        skill_bit=bit,
        day_pay_fen=job.day_pay_fen,
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        now_ms=now_ms,
    )
    rows, dist = push_audience(state, push, _sorted_rows(job.offered_rows))
    return [(int(rows[i]), int(round(float(dist[i])))) for i in range(len(rows))]


def _push_within(
    state: State, push: np.ndarray, radius_m: float, excluded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel over the candidates of one radius: opted-in homes and opted-in
    checked-in positions within `radius_m` (`push`'s radius must be `radius_m`)."""
    lat, lng = float(push[U_LAT]), float(push[U_LNG])
    tag = 1 << int(push[U_SKILL_BIT])
    cands = merge_rows(
        state.push_index.query(lat, lng, radius_m, tag_mask=tag),
        state.push_checked_in.query(lat, lng, radius_m, tag_mask=tag),
    )
    return push_candidates_from(state.workers, cands, push, excluded)


def push_audience(
    state: State, push: np.ndarray, excluded: np.ndarray, *, nearest_first: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, distance_m) of a push vector's audience: the nearest `U_MAX_PUSHES` eligible
    workers by (distance, row) within `U_RADIUS_M`, the distance being the nearer of the
    worker's home and current position (`kernels.push_candidates`).

    Candidates: opted-in homes (`state.push_index`) and opted-in checked-in positions
    (`state.push_checked_in`) near the job, skill-tagged. State invariant used: an
    active opted-in worker is indexed in `push_index` at its home, and its current
    position is its home unless it is checked in, when `push_checked_in` holds it at
    that position; so every eligible worker whose distance is <= r is a candidate of a
    query of radius r (the index covers its radius, `engine.matching.index`). Workers
    not opted in are in neither index (a city where nobody opted in costs nothing), and
    with no opted-in worker at all the audience is empty without a query.

    Nearest first (exact early stop): the radii of `index.step_radii` are tried in
    turn, the kernel restricted to each. When a step already yields the full cap, every
    worker kept is within the step's radius and every eligible worker not among the
    candidates is farther than it, so the nearest `cap` over the full radius are exactly
    these. Steps too small for the cap are skipped: before the first, by the density of
    opted-in homes in the job's cell (`CellIndex.cell_count` at the full query's
    resolution); after a step, by the density of eligible workers it found.
    `nearest_first=False` queries the full radius only (the reference the tests compare
    against on seeded random states).
    """
    want = max(int(push[U_MAX_PUSHES]), 0)
    radius_m = float(push[U_RADIUS_M])
    if len(state.push_index) == 0:  # nobody opted in: push_checked_in is empty too
        return _NO_ROWS, _NO_DISTANCE
    radii = step_radii(state.push_index.res, radius_m) if nearest_first and want > 0 else ()
    if len(radii) > 1:
        qres, _ = query_plan(state.push_index.res, radius_m)
        homes, area_m2 = state.push_index.cell_count(float(push[U_LAT]), float(push[U_LNG]), qres)
        per_m2 = homes / area_m2
        i = 0
        while i < len(radii) - 1 and per_m2 * math.pi * radii[i] ** 2 < want * PUSH_STEP_HOMES:
            i += 1
        while i < len(radii) - 1:
            r = radii[i]
            step = push.copy()
            step[U_RADIUS_M] = r
            rows, dist = _push_within(state, step, r, excluded)
            if len(rows) >= want:
                return rows, dist
            need_m = r * math.sqrt(want / max(len(rows), 0.5)) * PUSH_STEP_MARGIN
            i += 1
            while i < len(radii) - 1 and radii[i] < need_m:
                i += 1
    return _push_within(state, push, radius_m, excluded)


def in_scope_of(state: State, scope: str, station_id: str) -> bool:
    """Is the station inside a bell scope (a station id, or "region:PREFIX")?"""
    if scope.startswith("region:"):
        return state.stations[station_id].region.startswith(scope[len("region:") :])
    return station_id == scope


def scope_stations(state: State, scope: str) -> list[str]:
    """Stations of a bell scope, in registration order (stations are reference data)."""
    if scope.startswith("region:"):
        return [sid for sid in state.stations if in_scope_of(state, scope, sid)]
    return [scope] if scope in state.stations else []


def scope_job_ids(state: State, scope: str) -> list[str]:
    """Jobs not yet closed that the scope's stations collected, in submission order."""
    out = [
        jid for sid in scope_stations(state, scope) for jid in state.jobs_by_station.get(sid, ())
    ]
    if scope.startswith("region:"):
        order = {jid: i for i, jid in enumerate(state.jobs)}  # noqa: C416 (insertion order)
        out.sort(key=order.__getitem__)
    return out


def bell_rows(state: State, scope: str) -> np.ndarray:
    """Rows an opening bell of `scope` considers: the checked-in workers waiting at the
    scope's stations, ascending."""
    w = state.workers
    rows = sorted(
        r
        for sid in scope_stations(state, scope)
        for r in state.checked_in_at.get(sid, ())
        if w.checked_in[r]
    )
    return np.asarray(rows, dtype=np.int64)


def bell_pairs(state: State, scope: str, now_ms: int) -> list[tuple[int, int, Candidate]]:
    """Opening bell: (worker row, job row, candidate) by maximum-weight assignment.

    Scope is a station id (its waiting workers and the jobs it collected) or
    "region:PREFIX" (all stations of the region). Each job gets at most the offers its
    open slots still lack; greedy assignment is the fallback for oversize markets.
    """
    rows = bell_rows(state, scope).tolist()
    jobs = [
        j
        for j in (state.jobs[jid] for jid in scope_job_ids(state, scope))
        if j.status == "open" and j.open_slots > len(j.live_offers)
    ]
    if not rows or not jobs:
        return []
    rows_arr = np.asarray(rows, dtype=np.int64)  # ascending: enumerate order
    masks = state.workers.skills[rows_arr]
    by_bit: dict[int, np.ndarray] = {}  # skill bit -> the rows with that skill
    scores = np.full((len(rows), len(jobs)), -np.inf)
    at = np.zeros((len(rows), len(jobs)), dtype=np.int32)  # a pair's place in its ranking
    ranked: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for j, job in enumerate(jobs):
        vec = job_vectors(state, job, now_ms)
        if vec.skill_bit is None:
            ranked.append((scores[:0, 0], scores[:0, 0], np.empty((0, 0))))
            continue
        if vec.skill_bit not in by_bit:  # the kernel drops a row without the skill first
            has = (masks & np.uint64(1 << vec.skill_bit)) != 0
            by_bit[vec.skill_bit] = rows_arr[has]
        cand = by_bit[vec.skill_bit]
        out_rows, out_scores, dist, travel, feats = rank_workers_from(
            state.workers,
            cand,
            vec.job,
            vec.pol,
            vec.weights,
            vec.accept_coef,
            len(cand),
            _sorted_rows(job.offered_rows) if job.offered_rows else None,
        )
        idx = np.searchsorted(rows_arr, out_rows)
        scores[idx, j] = out_scores
        at[idx, j] = np.arange(len(out_rows), dtype=np.int32)
        ranked.append((dist, travel, feats))
    slots = np.asarray([job.open_slots - len(job.live_offers) for job in jobs], dtype=np.int64)
    try:
        pairs = bell_assign(scores, slots, max_workers=MAX_BELL_WORKERS, max_slots=MAX_BELL_SLOTS)
    except ValueError:
        pairs = greedy_assign(scores, slots)
    out: list[tuple[int, int, Candidate]] = []
    for wi, ji in pairs:
        dist, travel, feats = ranked[ji]
        pos = int(at[wi, ji])
        cand = Candidate(
            rows[wi],
            float(scores[wi, ji]),
            int(round(float(dist[pos]))),
            int(round(float(travel[pos]))),
            tuple(float(x) for x in feats[pos]),
        )
        out.append((rows[wi], jobs[ji].row, cand))
    return out


def job_hall(
    state: State,
    lat: float,
    lng: float,
    radius_m: float,
    *,
    skill: str = "",
    min_day_pay_fen: int = 0,
    keyword: str = "",
    sort: str = "distance",
    limit: int = 50,
) -> list[tuple[Job, int]]:
    """Open jobs within `radius_m` of a point (optionally by skill, pay, keyword)."""
    from engine.geo import haversine_m

    limit = max(1, min(limit, MAX_HALL))
    rows = state.open_jobs.query(lat, lng, radius_m)
    if keyword:
        rows = np.intersect1d(rows, state.keywords.query(keyword))
    out: list[tuple[Job, int]] = []
    for r in rows:
        job = state.jobs[state.job_ids[int(r)]]
        if skill and job.skill != skill:
            continue
        if job.day_pay_fen < min_day_pay_fen or job.open_slots <= 0:
            continue
        d = haversine_m(lat, lng, job.lat, job.lng)
        if d <= radius_m:
            out.append((job, int(round(d))))
    if sort == "pay":
        out.sort(key=lambda x: (-x[0].day_pay_fen, x[1], x[0].row))
    else:
        out.sort(key=lambda x: (x[1], x[0].row))
    return out[:limit]
