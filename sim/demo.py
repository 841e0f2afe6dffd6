"""`lingong demo`: a synthetic morning through the real runtime and file log.

Owns: driving `sim.morning.Morning` through a `Runtime` in time order (people answer
the offers the engine really makes), group-committing every `batch` commands, and the
summary a person or a machine reads afterwards.

Invariants: the run is reproducible from (seed, date, sizes); figures in the summary are
counted from the engine's own events, never estimated.
Limits: `batch` commands per group commit (default 512).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import msgspec

from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from sim.callers import caller_for
from sim.morning import Morning, Sizes


class DemoSummary(msgspec.Struct, kw_only=True):
    date: str
    log: str
    events: int
    records: int
    commands: int
    refusals: int
    refusal_rules: dict[str, int]
    stations: int
    workers: int
    employers: int
    checkins: int
    postings: int
    published: int
    held_for_review: int
    rejected: int
    slots: int
    offers: int
    offers_accepted: int
    offers_declined: int
    offers_expired: int
    offers_withdrawn: int
    bell_offers: int
    checkin_offers: int
    pushes: int
    hires: int
    jobs_filled: int
    fill_rate: float
    median_time_to_fill_s: float
    no_shows: int
    wages_paid: int
    complaints: int
    state_digest: str
    elapsed_s: float
    events_per_s: float


def run_demo(
    data_dir: str | Path,
    *,
    date: str = "2026-11-23",
    seed: int = 7,
    scale: str = "city",
    sizes: Sizes | None = None,
    batch: int = 512,
    fsync: bool = True,
) -> DemoSummary:
    morning = Morning(seed=seed, date=date, scale=scale, sizes=sizes)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    refusals: dict[str, int] = {}
    published_ms: dict[str, int] = {}
    fill_s: list[float] = []
    slots = 0
    headcount: dict[str, int] = {}
    n_commands = 0
    with Runtime(data_dir, fsync=fsync, max_batch=max(batch, 1)) as rt:

        def run(cmd: c.Command) -> None:
            nonlocal n_commands, slots
            n_commands += 1
            res = rt.execute(cmd, caller_for(rt.engine.state, cmd))
            if not res.ok:
                assert res.refusal is not None
                key = f"{type(cmd).__name__}:{res.refusal['rule']}"
                refusals[key] = refusals.get(key, 0) + 1
                return
            for ev in res.events:
                name = type(ev).__name__
                counts[name] = counts.get(name, 0) + 1
                if isinstance(ev, e.JobSubmitted):
                    headcount[ev.job_id] = ev.headcount
                elif isinstance(ev, e.JobPublished):
                    published_ms[ev.job_id] = ev.ts_ms
                    slots += headcount[ev.job_id]
                elif isinstance(ev, e.JobFilled):
                    fill_s.append((ev.ts_ms - published_ms[ev.job_id]) / 1000)
                elif isinstance(ev, e.OfferMade):
                    counts["offer:" + ev.source] = counts.get("offer:" + ev.source, 0) + 1
            morning.respond(res.events)

        for cmd in morning.setup():
            run(cmd)
        rt.flush()
        for ts, cmd in morning.timeline():
            for due in morning.pop_due(ts):
                run(due)
            run(cmd)
        for due in morning.drain():
            run(due)
        rt.flush()
        state = rt.engine.state
        digest = state.digest()
        records = state.last_seq
    elapsed = time.perf_counter() - started
    n_events = sum(v for k, v in counts.items() if not k.startswith("offer:"))
    hires = counts.get("HireConfirmed", 0)
    return DemoSummary(
        date=date,
        log=str(Path(data_dir) / "log"),
        events=n_events,
        records=records,
        commands=n_commands,
        refusals=sum(refusals.values()),
        refusal_rules=dict(sorted(refusals.items())),
        stations=counts.get("StationRegistered", 0),
        workers=counts.get("WorkerRegistered", 0),
        employers=counts.get("EmployerRegistered", 0),
        checkins=counts.get("WorkerCheckedIn", 0),
        postings=counts.get("JobSubmitted", 0),
        published=counts.get("JobPublished", 0),
        held_for_review=counts.get("JobHeldForReview", 0),
        rejected=counts.get("JobRejected", 0),
        slots=slots,
        offers=counts.get("OfferMade", 0),
        offers_accepted=counts.get("OfferAccepted", 0),
        offers_declined=counts.get("OfferDeclined", 0),
        offers_expired=counts.get("OfferExpired", 0),
        offers_withdrawn=counts.get("OfferWithdrawn", 0),
        bell_offers=counts.get("offer:bell", 0),
        checkin_offers=counts.get("offer:checkin", 0),
        pushes=counts.get("PushSent", 0),
        hires=hires,
        jobs_filled=counts.get("JobFilled", 0),
        fill_rate=round(hires / slots, 4) if slots else 0.0,
        median_time_to_fill_s=round(statistics.median(fill_s), 1) if fill_s else 0.0,
        no_shows=counts.get("NoShow", 0),
        wages_paid=counts.get("WagePaid", 0),
        complaints=counts.get("ComplaintFiled", 0),
        state_digest=digest,
        elapsed_s=round(elapsed, 3),
        events_per_s=round(n_events / elapsed, 1) if elapsed else 0.0,
    )


def format_summary(s: DemoSummary) -> str:
    lines = [
        f"lingong demo — synthetic morning of {s.date}",
        f"  log                {s.log}  ({s.records} records, {s.events} events)",
        f"  registry           {s.stations} stations, {s.employers} employers, {s.workers} workers",
        f"  check-ins          {s.checkins}",
        f"  postings           {s.postings}: {s.published} published, "
        f"{s.held_for_review} held for review, {s.rejected} rejected; {s.slots} slots",
        f"  offers             {s.offers} (accepted {s.offers_accepted}, declined "
        f"{s.offers_declined}, expired {s.offers_expired}, withdrawn {s.offers_withdrawn}); "
        f"{s.checkin_offers} on check-in, {s.bell_offers} at the opening bell",
        f"  1.5 km pushes      {s.pushes}",
        f"  hires              {s.hires}; {s.jobs_filled} jobs filled; fill rate "
        f"{s.fill_rate:.1%}; median time to fill {s.median_time_to_fill_s:.0f} s",
        f"  after the hire     {s.no_shows} no-shows, {s.wages_paid} wages paid, "
        f"{s.complaints} complaints",
        f"  refusals           {s.refusals} "
        + ", ".join(f"{k}={v}" for k, v in s.refusal_rules.items()),
        f"  state digest       {s.state_digest[:16]}…",
        f"  took               {s.elapsed_s:.2f} s ({s.events_per_s:,.0f} events/s incl. fsync)",
    ]
    return "\n".join(lines)
