"""`lingong replay explain`: who the engine saw when it made an offer, and why.

Owns: `explain(directory, offer_id=... | job_id=..., worker_id=...)`. The log is folded to
the exact moment the matcher ran (`replay.walk`), the matcher is asked again with the
same arguments the engine used (`engine.matcher.rank_for_job`, `best_jobs_for_worker`,
`bell_pairs`), and every worker the spatial index returned is explained with
`engine.matching.explain.reasons`: score components for the eligible, the filters failed
("outside reach 1.5 km", "pay below minimum", "already hired 07:00-12:00") for the rest.

Invariants:
- `agrees` is True only when the re-asked matcher returns exactly the recorded offers
  (workers, order, scores bit for bit); `reasons` agrees with the kernel by contract, so
  every listed score equals the kernel's.
- Read-only; nothing is decided or recorded.

Limits: decision points are the moments offers were made or a job was published (a
top-up that found nobody leaves no event to find); `limit` caps each list (0: no cap).
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from adapters.log.ports import LogReader
from engine import events as e
from engine import matcher
from engine.geo import local_year
from engine.matcher import JobVectors, bell_rows, job_query_radius_m, job_vectors
from engine.matching.explain import reasons
from engine.policy import wave_size
from engine.state import Job, State
from replay.groups import age_band, group_label
from replay.source import local_time, open_reader, reads_log
from replay.verify import policy_in_force
from replay.walk import DecisionPoint, walk


class Seen(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One worker as the matcher saw them at a decision point."""

    worker_id: str
    eligible: bool
    rank: int = 0  # among the eligible, by score: 1 = the best score; 0 when not eligible
    offered: bool = False
    assigned_to: str = ""  # opening bell: the job the joint assignment gave this worker
    score: float | None = None
    components: dict[str, dict[str, float]] = {}
    reasons: list[str] = []
    distance_m: int = 0
    travel_s: int = 0
    age: int = 0
    age_band: str = ""
    priority_group: str = ""


class PointView(msgspec.Struct, kw_only=True, omit_defaults=True):
    seq: int
    time: str
    kind: str
    job_id: str
    job: dict[str, Any] = {}
    policy_region: str = ""
    policy_version: int = 0
    wanted: int = 0  # offers the wave asked the matcher for
    # the offers recorded at this point, each with `score_rank`: its place among the
    # job's eligible candidates by score (1 = best). For a wave `rank` (the log's) is the
    # same; for a bell `rank` is the order the assignment gave the job its workers.
    offers: list[dict[str, Any]] = []
    bell_pairs: int = 0  # opening bell: workers assigned over the whole scope
    bell_objective: float = 0.0  # opening bell: the total score the assignment maximised
    agrees: bool = True
    note: str = ""
    eligible: int = 0
    seen: int = 0  # workers considered (the spatial index's rows; a bell's waiting workers)
    candidates: list[Seen] = []  # eligible, best first
    excluded: list[Seen] = []  # returned by the index, failing a filter
    worker: Seen | None = None  # the worker asked about
    jobs: list[dict[str, Any]] = []  # check-in: the jobs ranked for the worker


class Explanation(msgspec.Struct, kw_only=True):
    log: str
    target: dict[str, str]
    found: bool
    points: list[PointView] = []
    note: str = ""


def _job_view(job: Job) -> dict[str, Any]:
    return {
        "title": job.title,
        "skill": job.skill,
        "region": job.region,
        "station_id": job.station_id,
        "headcount": job.headcount,
        "hired": job.hired,
        "open_offers": len(job.live_offers),
        "day_pay_fen": job.day_pay_fen,
        "start": local_time(job.start_ms),
        "end": local_time(job.end_ms),
        "status": job.status,
        "wave": job.wave,
    }


def _seen(
    state: State, now_ms: int, row: int, vec: JobVectors, excluded: np.ndarray, offered: set[int]
) -> Seen:
    """Worker `row` against the job of `vec`; `excluded` = the job's offered rows, sorted."""
    _, pol, jp, w, coef, bit = vec
    r = reasons(state.workers, row, jp, pol, w, coef, excluded)
    words = list(r["reasons"])
    if bit is None:
        words.insert(0, "nobody has this skill")
    age = local_year(now_ms) - int(state.workers.birth_year[row])
    return Seen(
        worker_id=state.worker_ids[row],
        eligible=bool(r["eligible"]) and bit is not None,
        offered=row in offered,
        score=r.get("score"),
        components=r.get("components", {}),
        reasons=words,
        distance_m=int(round(r["distance_m"])),
        travel_s=int(round(r["travel_s"])),
        age=age,
        age_band=age_band(age),
        priority_group=group_label(state.worker_priority_group(row)),
    )


def _job_point(
    state: State, job: Job, ts: int, point: DecisionPoint, rows: np.ndarray | None, ask_row: int
) -> PointView:
    vec = job_vectors(state, job, ts)
    policy = vec[0]
    prefix, version = policy_in_force(state, job.region)
    recorded = [o for o in point.offers if o.job_id == job.job_id]
    view = PointView(
        seq=0,
        time=local_time(ts),
        kind=point.kind,
        job_id=job.job_id,
        job=_job_view(job),
        policy_region=prefix,
        policy_version=version,
        offers=[msgspec.to_builtins(o) for o in recorded],
    )
    if rows is None:
        rows = state.checked_in.query(job.lat, job.lng, job_query_radius_m(vec, ts))
    ranked = matcher.rank_for_job(state, job, ts, max(len(rows), 1), rows)
    if point.kind != "bell":  # a wave, or the first wave at publication
        view.wanted = wave_size(job.open_slots, policy.overbook) - len(job.live_offers)
        if job.wave >= policy.max_waves:
            view.note = f"no wave: the job had its {policy.max_waves} waves (policy max_waves)"
            view.wanted = 0
        elif point.kind == "publish" and state.in_bell(job.station_id):
            view.note = "published inside an opening-bell window: assigned when the bell closes"
            view.wanted = 0
        again = ranked[: max(view.wanted, 0)]
        view.agrees = [(state.worker_ids[c.row], c.score, c.features) for c in again] == [
            (o.worker_id, o.score, o.features) for o in recorded
        ]
    assigned: dict[int, str] = {}
    if point.kind == "bell":  # one joint assignment over the scope's jobs
        pairs = matcher.bell_pairs(state, point.scope, ts)
        again = [(state.worker_ids[r], state.job_ids[j], c.score) for r, j, c in pairs]
        view.agrees = again == [(o.worker_id, o.job_id, o.score) for o in point.offers]
        assigned = {r: state.job_ids[j] for r, j, _ in pairs}
        view.bell_pairs = len(pairs)
        view.bell_objective = sum(c.score for _, _, c in pairs)
        view.note = (
            f"opening bell of {point.scope}: {len(pairs)} workers assigned to "
            f"{len({j for _, j, _ in pairs})} jobs at once by maximum total score (a worker "
            "goes where they add most to the total); ranks are by score for this job, "
            "'assigned #n' is the order the assignment gave this job its workers"
        )
    score_rank = {c.row: n for n, c in enumerate(ranked, start=1)}
    for o in view.offers:
        o["score_rank"] = score_rank.get(state.worker_rows.get(o["worker_id"], -1), 0)
    offered = {state.worker_rows[o.worker_id] for o in recorded}
    eligible = {c.row for c in ranked}
    excluded = np.unique(np.asarray(job.offered_rows, dtype=np.int64))
    view.seen = len(rows)
    view.eligible = len(ranked)
    for rank, cand in enumerate(ranked, start=1):
        s = _seen(state, ts, cand.row, vec, excluded, offered)
        s.rank = rank
        if cand.row in assigned and cand.row not in offered:
            s.assigned_to = assigned[cand.row]
        view.candidates.append(s)
    for row in rows.tolist():
        if row not in eligible:
            view.excluded.append(_seen(state, ts, int(row), vec, excluded, offered))
    view.excluded.sort(key=lambda s: (s.distance_m, s.worker_id))  # nearest first
    if ask_row >= 0:
        view.worker = next(
            (s for s in view.candidates if s.worker_id == state.worker_ids[ask_row]), None
        ) or _seen(state, ts, ask_row, vec, excluded, offered)
    return view


def _checkin_point(state: State, ts: int, point: DecisionPoint) -> PointView:
    offer = point.offers[0]
    row = state.worker_rows[offer.worker_id]
    job = state.jobs[offer.job_id]
    prefix, version = policy_in_force(state, state.worker_region[row])
    ranked = matcher.best_jobs_for_worker(state, row, ts)
    jobs = []
    for job_row, cand in ranked:
        j = state.jobs[state.job_ids[job_row]]
        jobs.append(
            {
                "job_id": j.job_id,
                "title": j.title,
                "score": cand.score,
                "distance_m": cand.distance_m,
                "travel_s": cand.travel_s,
                "open_slots": j.open_slots,
                "open_offers": len(j.live_offers),
            }
        )
    agrees = False
    for job_row, cand in ranked:  # the engine offers the first job whose wave has room
        j = state.jobs[state.job_ids[job_row]]
        _, policy = state.policy_for(j.region)
        if len(j.live_offers) < wave_size(j.open_slots, policy.overbook):
            agrees = j.job_id == offer.job_id and cand.score == offer.score
            break
    return PointView(
        seq=0,
        time=local_time(ts),
        kind="checkin",
        job_id=job.job_id,
        job=_job_view(job),
        policy_region=prefix,
        policy_version=version,
        offers=[msgspec.to_builtins(offer)],
        agrees=agrees,
        jobs=jobs,
        note="worker-side match on check-in: the best open job nearby whose wave has room "
        "(jobs ranked for the worker by the job-side kernel)",
    )


@reads_log
def explain(
    log: LogReader | str,
    *,
    offer_id: str = "",
    job_id: str = "",
    worker_id: str = "",
    limit: int = 20,
    quiet: bool = True,
) -> Explanation:
    """Explain one offer (`offer_id`) or every decision point of a job (`job_id`)."""
    if bool(offer_id) == bool(job_id):
        raise ValueError("give exactly one of offer_id or job_id")
    target = {"offer_id": offer_id} if offer_id else {"job_id": job_id}
    if worker_id:
        target["worker_id"] = worker_id
    reader = open_reader(log)
    out = Explanation(log=reader.location, target=target, found=False)

    def interesting(rec: e.Record) -> bool:
        for ev in rec.events:
            if offer_id:
                if isinstance(ev, e.OfferMade) and ev.offer_id == offer_id:
                    return True
            elif isinstance(ev, e.OfferMade | e.JobPublished) and ev.job_id == job_id:
                return True
        return False

    def probe(state: State, seq: int, rec: e.Record, point: DecisionPoint) -> bool:
        want_job = job_id
        if offer_id:
            hit = next((o for o in point.offers if o.offer_id == offer_id), None)
            if hit is None:
                return False
            want_job = hit.job_id
        elif job_id not in point.job_ids:
            return False
        ts = rec.events[0].ts_ms
        ask_row = state.worker_rows.get(worker_id, -1) if worker_id else -1
        if point.kind == "checkin":
            view = _checkin_point(state, ts, point)
        else:
            rows = bell_rows(state, point.scope) if point.kind == "bell" else None
            view = _job_point(state, state.jobs[want_job], ts, point, rows, ask_row)
        view.seq = seq
        _cap(view, limit)
        out.points.append(view)
        out.found = True
        return bool(offer_id)

    engine = walk(reader, interesting, probe, quiet=quiet, desc="explain")
    if not out.found:
        what = f"offer {offer_id!r}" if offer_id else f"offer or publication of job {job_id!r}"
        out.note = f"no {what} in the log"
    elif worker_id and worker_id not in engine.state.worker_rows:
        out.note = f"worker {worker_id!r} is not registered"
    return out


def _cap(view: PointView, limit: int) -> None:
    if limit > 0:
        view.candidates = view.candidates[:limit]
        view.excluded = view.excluded[:limit]
        view.jobs = view.jobs[:limit]


# ------------------------------------------------------------------ text ------------


def format_explanation(x: Explanation) -> str:
    """The explanation for people (station staff, auditors, the worker)."""
    what = ", ".join(f"{k} {v}" for k, v in x.target.items())
    lines = [f"explain {what} in {x.log}"]
    if x.note:
        lines.append(f"  {x.note}")
    for p in x.points:
        lines.append("")
        job = p.job
        lines.append(
            f"seq {p.seq} at {p.time} (+08:00): {p.kind} for job {p.job_id} "
            f"{job.get('title', '')} [{job.get('skill', '')}, {job.get('day_pay_fen', 0) / 100:.0f} "
            f"yuan/day, {job.get('start', '')[11:16]}-{job.get('end', '')[11:16]}, "
            f"{job.get('hired', 0)}/{job.get('headcount', 0)} hired]"
        )
        lines.append(
            f"  policy version {p.policy_version} of region prefix "
            f"{p.policy_region or '(national default)'}"
            + (f"; the wave asked for {p.wanted} offers" if p.kind in ("wave", "publish") else "")
        )
        if p.note:
            lines.append(f"  {p.note}")
        verdict = "agrees with" if p.agrees else "DISAGREES with"
        seen = (
            f"{len(p.jobs)} open jobs ranked for the worker"
            if p.kind == "checkin"
            else f"{p.eligible} eligible of {p.seen} workers considered"
        )
        lines.append(f"  re-asked matcher {verdict} the {len(p.offers)} recorded offer(s); {seen}")
        if p.kind == "bell":
            lines.append(
                f"  the assignment: {p.bell_pairs} workers, total score {p.bell_objective:.4f}"
            )
        for o in sorted(p.offers, key=_by_score_rank):
            order = f"; assigned #{o['rank']} to this job" if p.kind == "bell" else ""
            lines.append(
                f"    offer {o['offer_id']}: score {o['score']:.4f}, rank {o.get('score_rank')} "
                f"by score{order}; {o['distance_m']} m, {o['travel_s'] // 60} min"
            )
        if p.jobs:
            lines.append("  open jobs ranked for the worker:")
        for j in p.jobs:
            lines.append(
                f"    job {j['job_id']} {j['title']}: score {j['score']:.4f}, {j['distance_m']} m"
            )
        if p.candidates:
            lines.append("  eligible, best first:")
            lines.extend(_seen_line(s) for s in p.candidates)
        if p.excluded:
            lines.append("  not eligible (nearest first):")
            lines.extend(_seen_line(s) for s in p.excluded)
        if p.worker is not None:
            lines.append("  the worker asked about:")
            lines.append(_seen_line(p.worker))
    return "\n".join(lines)


def _by_score_rank(o: dict[str, Any]) -> tuple[int, str]:
    rank = o.get("score_rank") or 0
    return (rank if rank > 0 else 1 << 30, o["offer_id"])


def _seen_line(s: Seen) -> str:
    who = f"{s.worker_id} ({s.age}, {s.priority_group})"
    if s.eligible:
        parts = ", ".join(
            f"{name} {c['value']:.2f}x{c['weight']:g}" for name, c in s.components.items()
        )
        mark = "OFFERED" if s.offered else "not offered"
        if s.assigned_to:
            mark += f" (the bell assigned them to job {s.assigned_to})"
        return f"    #{s.rank} {who} score {s.score:.4f} {mark}; {s.distance_m} m; {parts}"
    return f"    {who} {s.distance_m} m: " + "; ".join(s.reasons)
