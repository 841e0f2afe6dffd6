"""`lingong demo`: a synthetic morning through the real runtime and file log.

Owns: driving `sim.morning.Morning` through a `Runtime` in time order (people answer
the offers the engine really makes), group-committing every `batch` commands, and the
summary a person or a machine reads afterwards (`DemoSummary`; its text is
`sim.demo_text`); `DemoRun`, the same driver a step at a
time (`lingong serve --demo` plays a morning's first hours with it, then goes live with
`sim.live`); `warm_up`, a tiny morning in memory that makes numba compile.

Invariants:
- The run is reproducible from (seed, date, sizes); figures in the summary are counted
  from the engine's own results, never estimated, and every breakdown adds up to its
  total (`DemoSummary.check()` lists any that does not; the tests call it).
- A morning run into a log that already holds one (`--continue`) gets command ids and
  job ids that carry its date (`2026-11-24/ci-00000042`, `J20261124-0000001`), so it
  never collides with an earlier morning; people, employers and stations already in
  the log are not registered again. A first morning keeps the generator's own ids.
- The synthetic crowd makes some mistakes on purpose, to show refusals (`Morning(
  with_mistakes=True)`): mistyped ID numbers, a station revoked at 07:45 and the
  check-ins and postings that still go there, postings paid far below the local level
  (held for review). The summary counts those apart from the refusals a live market
  produces by itself (answers to offers that closed first).
- The stations' staff answer the crowd's complaint cases (`sim.cases.CaseDesk`); a whole
  run ends with a tick at the last deadline of the cases still open, so they are
  overdue (`complaints_overdue`), and the log's time then reaches that deadline (a
  `--continue` morning comes the day after it).

Limits: `batch` commands per group commit (default 512); the refusal kinds are the ones
this generator makes (anything else is listed as "other" with its rule).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from adapters.shell.runtime import Result, Runtime
from engine import commands as c
from engine import events as e
from engine.geo import local_day, local_minute_of_day
from sim.callers import caller_for
from sim.cases import CaseDesk
from sim.demo_text import REFUSAL_KINDS, format_summary
from sim.morning import Morning, Sizes, local_midnight_ms

__all__ = ["REFUSAL_KINDS", "DemoRun", "DemoSummary", "format_summary", "run_demo", "warm_up"]


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
    postings: int  # accepted (JobSubmitted)
    published: int  # published at once + approved on review
    held_for_review: int
    rejected: int  # at once + on review
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
    wages_paid: int  # hires paid in full (by their last payment)
    complaints: int
    # complaint cases (issue 14): closed by the answering station, or still open at the
    # end; overdue = still open at their 限时办结 deadline (a tick decided it)
    complaints_resolved: int
    complaints_rejected: int
    complaints_open: int
    complaints_overdue: int
    state_digest: str
    elapsed_s: float
    events_per_s: float
    # the breakdowns (each adds up to its total; see `check`)
    records_before: int = 0  # records already in the log (a continued log)
    already_registered: dict[str, int] = {}  # stations/employers/workers not sent again
    registrations_refused: int = 0
    checkins_refused: int = 0
    postings_submitted: int = 0  # SubmitJob commands
    postings_refused: int = 0
    published_at_once: int = 0
    rejected_at_once: int = 0
    approved_on_review: int = 0
    rejected_on_review: int = 0
    held_closed: dict[str, int] = {}  # held postings with no review verdict, by final status
    held_reasons: dict[str, int] = {}  # why postings were held (the review rule)
    published_outcome: dict[str, int] = {}  # published postings by final status
    wave_offers: int = 0
    offers_live: int = 0  # still open when the run ended
    arrived: int = 0
    completed: int = 0
    deliberate_refusals: int = 0
    refusal_kinds: dict[str, int] = {}
    # issue 14: agreements and wage protection, pushes while the market is awake
    agreements: int = 0  # AgreementRecorded: one per hire of a posting with terms
    wage_payments: int = 0  # WagePaid events (a hire may be paid in parts)
    wages_partial: int = 0  # hires still paid below their agreement at the end
    arrears_opened: int = 0
    arrears_closed: int = 0
    arrears_holds: int = 0  # published postings held because of an arrears case
    republished: int = 0  # of those, published again (the case closed, or staff approved)
    arrears_rejected: int = 0  # of those, rejected by staff on review
    pushes_before_7am: int = 0  # 1.5 km pushes sent before 07:00 local time

    def check(self) -> list[str]:
        """Every breakdown that does not add up to its total (empty: all do)."""
        bad = []

        def same(name: str, total: int, parts: int) -> None:
            if total != parts:
                bad.append(f"{name}: {total} != {parts}")

        same("postings", self.postings_submitted, self.postings_refused + self.postings)
        same(
            "accepted postings",
            self.postings,
            self.published_at_once + self.held_for_review + self.rejected_at_once,
        )
        same(
            "held postings",
            self.held_for_review,
            self.approved_on_review + self.rejected_on_review + sum(self.held_closed.values()),
        )
        same("published", self.published, self.published_at_once + self.approved_on_review)
        same("published outcome", self.published, sum(self.published_outcome.values()))
        same("filled", self.jobs_filled, self.published_outcome.get("filled", 0))
        same("rejected", self.rejected, self.rejected_at_once + self.rejected_on_review)
        same(
            "offers",
            self.offers,
            self.offers_accepted
            + self.offers_declined
            + self.offers_expired
            + self.offers_withdrawn
            + self.offers_live,
        )
        same(
            "offer sources", self.offers, self.wave_offers + self.checkin_offers + self.bell_offers
        )
        same("hires", self.hires, self.offers_accepted)
        same("refusals", self.refusals, sum(self.refusal_rules.values()))
        same("refusal kinds", self.refusals, sum(self.refusal_kinds.values()))
        deliberate = sum(n for k, n in self.refusal_kinds.items() if REFUSAL_KINDS[k][0])
        same("deliberate refusals", self.deliberate_refusals, deliberate)
        if self.no_shows + self.arrived > self.hires or self.completed > self.arrived:
            bad.append("after the hire: more arrivals or completions than hires")
        same(
            "complaints",
            self.complaints,
            self.complaints_resolved + self.complaints_rejected + self.complaints_open,
        )
        if self.complaints_overdue > self.complaints:
            bad.append("complaints: more overdue than filed")
        if self.wages_paid + self.wages_partial + self.complaints > self.completed + self.no_shows:
            bad.append("after the hire: more wages and complaints than completed hires")
        if self.agreements > self.hires:
            bad.append("more agreements than hires")
        if self.arrears_closed > self.arrears_opened and not self.records_before:
            bad.append("more arrears cases closed than opened")
        if self.republished + self.arrears_rejected > self.arrears_holds:
            bad.append("more postings published again than held for arrears")
        return bad


class _Tally:
    """Counts one run's results: events by type, refusals by rule and kind, job fates."""

    def __init__(self, morning: Morning) -> None:
        self.morning = morning
        self.counts: dict[str, int] = {}
        self.rules: dict[str, int] = {}
        self.kinds: dict[str, int] = {}
        self.held_reasons: dict[str, int] = {}
        self.bad_workers: set[str] = set()
        self.first: dict[str, str] = {}  # job id -> published | held | rejected
        self.review: dict[str, str] = {}  # held job id -> approved | rejected
        self.headcount: dict[str, int] = {}
        self.published_ms: dict[str, int] = {}
        self.fill_s: list[float] = []
        self.tried: dict[str, int] = {}  # command type -> commands sent
        self.refused: dict[str, int] = {}  # command type -> refused
        self.commands = 0
        self.paid: dict[str, bool] = {}  # hire id -> its last payment left it partial
        self.arrears_held: set[str] = set()  # published jobs held for an arrears case
        self.pushes_before_7am = 0

    def add(self, cmd: c.Command, res: Result) -> None:
        name = type(cmd).__name__
        self.commands += 1
        self.tried[name] = self.tried.get(name, 0) + 1
        if not res.ok:
            rule = (res.refusal or {}).get("rule", "?")
            self.refused[name] = self.refused.get(name, 0) + 1
            key = f"{name}:{rule}"
            self.rules[key] = self.rules.get(key, 0) + 1
            kind = self._kind(cmd, rule)
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            return
        self.events(res.events)

    def events(self, events: list[e.Event]) -> None:
        for ev in events:
            name = type(ev).__name__
            self.counts[name] = self.counts.get(name, 0) + 1
            if isinstance(ev, e.JobSubmitted):
                self.headcount[ev.job_id] = ev.headcount
            elif isinstance(ev, e.JobPublished) and ev.job_id in self.arrears_held:
                self.arrears_held.discard(ev.job_id)  # the arrears case closed
                self.counts["arrears:republished"] = self.counts.get("arrears:republished", 0) + 1
            elif isinstance(ev, e.JobPublished):
                self.published_ms[ev.job_id] = ev.ts_ms
                if ev.job_id in self.first:
                    self.review[ev.job_id] = "approved"
                else:
                    self.first[ev.job_id] = "published"
            elif isinstance(ev, e.JobHeldForReview) and ev.reasons == ("arrears_case",):
                self.arrears_held.add(ev.job_id)  # a published posting held: not a review
                self.counts["arrears:held"] = self.counts.get("arrears:held", 0) + 1
            elif isinstance(ev, e.JobHeldForReview):
                self.first[ev.job_id] = "held"
                for reason in ev.reasons:
                    rule = reason.split(":", 1)[0]
                    self.held_reasons[rule] = self.held_reasons.get(rule, 0) + 1
            elif isinstance(ev, e.JobRejected) and ev.job_id in self.arrears_held:
                self.arrears_held.discard(ev.job_id)  # staff rejected it while held
                self.counts["arrears:rejected"] = self.counts.get("arrears:rejected", 0) + 1
            elif isinstance(ev, e.JobRejected):
                if ev.job_id in self.first:
                    self.review[ev.job_id] = "rejected"
                else:
                    self.first[ev.job_id] = "rejected"
            elif isinstance(ev, e.JobFilled) and ev.job_id in self.published_ms:
                self.fill_s.append((ev.ts_ms - self.published_ms[ev.job_id]) / 1000)
            elif isinstance(ev, e.OfferMade):
                key = "offer:" + ev.source
                self.counts[key] = self.counts.get(key, 0) + 1
            elif isinstance(ev, e.ComplaintStatusChanged):
                key = "complaint:" + ev.status
                self.counts[key] = self.counts.get(key, 0) + 1
            elif isinstance(ev, e.WagePaid):
                self.paid[ev.hire_id] = ev.partial
            elif isinstance(ev, e.PushSent) and local_minute_of_day(ev.ts_ms) < 7 * 60:
                self.pushes_before_7am += 1

    def _kind(self, cmd: c.Command, rule: str) -> str:
        if isinstance(cmd, c.RegisterWorker) and rule == "checksum":
            self.bad_workers.add(cmd.worker_id)
            return "bad_id_number"
        if isinstance(cmd, c.CheckIn) and cmd.worker_id in self.bad_workers:
            return "unregistered"
        station = getattr(cmd, "station_id", "")
        if station and station == self.morning.revoked_station:
            return "revoked_station"
        if isinstance(cmd, c.AcceptOffer | c.DeclineOffer) and rule == "offer_live":
            return "late_reply"
        if isinstance(cmd, c.ReviewJob) and rule == "held_for_review":
            return "late_review"
        return "other"


class DemoRun:
    """One morning driven through a runtime, a step at a time (see `run_demo`)."""

    def __init__(self, rt: Runtime, morning: Morning) -> None:
        self.rt = rt
        self.morning = morning
        self.tally = _Tally(morning)
        self.records_before = rt.engine.state.last_seq
        # ids of a morning after an earlier one carry its date (see the module invariants)
        self.namespace = f"{morning.date}/" if self.records_before else ""
        self.already: dict[str, int] = {}
        self._timeline: list[tuple[int, c.Command]] | None = None
        self._next = 0
        # the stations' staff answer complaint cases; steps join the morning's replies
        self.desk = CaseDesk(morning._schedule)

    def run(self, cmd: c.Command) -> Result:
        if self.namespace:
            cmd = msgspec.structs.replace(cmd, command_id=self.namespace + cmd.command_id)
        res = self.rt.execute(cmd, caller_for(self.rt.engine.state, cmd))
        self.tally.add(cmd, res)
        if res.ok:
            self.morning.respond(res.events)
            self.desk.respond(res.events)
        return res

    def setup(self) -> None:
        """Registration before the morning; what the log already holds is not sent again."""
        state = self.rt.engine.state
        stations, employers = set(state.stations), set(state.employers)
        workers = set(state.worker_rows)  # as the log had them before this morning
        for cmd in self.morning.setup():
            kind, known = "", False
            if isinstance(cmd, c.RegisterStation | c.ChangeStationStatus):
                kind, known = "stations", cmd.station_id in stations
            elif isinstance(cmd, c.RegisterEmployer):
                kind, known = "employers", cmd.employer_id in employers
            elif isinstance(cmd, c.RegisterWorker):
                kind, known = "workers", cmd.worker_id in workers
            if known:
                if not isinstance(cmd, c.ChangeStationStatus):
                    self.already[kind] = self.already.get(kind, 0) + 1
                continue
            self.run(cmd)
        self.rt.flush()

    def play(self, until_ms: int | None = None) -> None:
        """The timeline and people's answers up to `until_ms` (None: the whole day)."""
        if self._timeline is None:
            self._timeline = self.morning.timeline()
        timeline = self._timeline
        while self._next < len(timeline):
            ts, cmd = timeline[self._next]
            if until_ms is not None and ts > until_ms:
                break
            for due in self.morning.pop_due(ts):
                self.run(due)
            self.run(cmd)
            self._next += 1
        if until_ms is None:
            for due in self.morning.drain():
                self.run(due)
            # time runs on to the last deadline of the cases left open: they are overdue
            tick = self.desk.closing_tick(self.rt.engine.state, "tk-cases")
            if tick is not None:
                self.run(tick)
        else:
            for due in self.morning.pop_due(until_ms):
                self.run(due)
        self.rt.flush()

    def rest(self) -> Iterator[tuple[int, c.Command]]:
        """The timeline not played yet (for `sim.live`)."""
        timeline = self._timeline or []
        while self._next < len(timeline):
            item = timeline[self._next]
            self._next += 1
            yield item

    def summary(self, started: float) -> DemoSummary:
        t, rt, morning = self.tally, self.rt, self.morning
        state = rt.engine.state
        n = t.counts.get
        elapsed = time.perf_counter() - started
        n_events = sum(v for k, v in t.counts.items() if ":" not in k)  # not offer:/arrears:
        hires = n("HireConfirmed", 0)
        fates: dict[str, int] = {}
        held_closed: dict[str, int] = {}
        slots = 0
        for job_id, first in t.first.items():
            status = state.jobs[job_id].status if job_id in state.jobs else "gone"
            verdict = t.review.get(job_id, "")
            if first == "published" or verdict == "approved":
                fates[status] = fates.get(status, 0) + 1
                slots += t.headcount[job_id]
            elif first == "held" and not verdict:
                held_closed[status] = held_closed.get(status, 0) + 1
        first_of = list(t.first.values())
        verdicts = list(t.review.values())
        live = sum(
            1
            for o in state.offers.values()
            if o.status == "live" and o.job_id in t.first  # offers of this run's jobs
        )
        deliberate = sum(v for k, v in t.kinds.items() if REFUSAL_KINDS[k][0])
        return DemoSummary(
            date=morning.date,
            log=str(rt.data_dir / "log"),
            events=n_events,
            records=state.last_seq,
            commands=t.commands,
            refusals=sum(t.rules.values()),
            refusal_rules=dict(sorted(t.rules.items())),
            stations=n("StationRegistered", 0),
            workers=n("WorkerRegistered", 0),
            employers=n("EmployerRegistered", 0),
            checkins=n("WorkerCheckedIn", 0),
            postings=n("JobSubmitted", 0),
            published=n("JobPublished", 0) - n("arrears:republished", 0),
            held_for_review=n("JobHeldForReview", 0) - n("arrears:held", 0),
            rejected=n("JobRejected", 0) - n("arrears:rejected", 0),
            slots=slots,
            offers=n("OfferMade", 0),
            offers_accepted=n("OfferAccepted", 0),
            offers_declined=n("OfferDeclined", 0),
            offers_expired=n("OfferExpired", 0),
            offers_withdrawn=n("OfferWithdrawn", 0),
            bell_offers=n("offer:bell", 0),
            checkin_offers=n("offer:checkin", 0),
            pushes=n("PushSent", 0),
            hires=hires,
            jobs_filled=n("JobFilled", 0),
            fill_rate=round(hires / slots, 4) if slots else 0.0,
            median_time_to_fill_s=round(statistics.median(t.fill_s), 1) if t.fill_s else 0.0,
            no_shows=n("NoShow", 0),
            wages_paid=sum(1 for partial in t.paid.values() if not partial),
            complaints=n("ComplaintFiled", 0),
            complaints_resolved=n("complaint:resolved", 0),
            complaints_rejected=n("complaint:rejected", 0),
            complaints_open=sum(
                1
                for cid in self.desk.filed
                if (comp := state.complaints.get(cid)) is not None and comp.live
            ),
            complaints_overdue=n("ComplaintOverdue", 0),
            state_digest=state.digest(),
            elapsed_s=round(elapsed, 3),
            events_per_s=round(n_events / elapsed, 1) if elapsed else 0.0,
            records_before=self.records_before,
            already_registered=dict(sorted(self.already.items())),
            registrations_refused=sum(
                t.refused.get(k, 0)
                for k in ("RegisterStation", "RegisterEmployer", "RegisterWorker")
            ),
            checkins_refused=t.refused.get("CheckIn", 0),
            postings_submitted=t.tried.get("SubmitJob", 0),
            postings_refused=t.refused.get("SubmitJob", 0),
            published_at_once=first_of.count("published"),
            rejected_at_once=first_of.count("rejected"),
            approved_on_review=verdicts.count("approved"),
            rejected_on_review=verdicts.count("rejected"),
            held_closed=dict(sorted(held_closed.items())),
            held_reasons=dict(sorted(t.held_reasons.items())),
            published_outcome=dict(sorted(fates.items())),
            wave_offers=n("offer:wave", 0),
            offers_live=live,
            arrived=n("WorkerArrived", 0),
            agreements=n("AgreementRecorded", 0),
            wage_payments=n("WagePaid", 0),
            wages_partial=sum(1 for partial in t.paid.values() if partial),
            arrears_opened=n("ArrearsOpened", 0),
            arrears_closed=n("ArrearsClosed", 0),
            arrears_holds=n("arrears:held", 0),
            republished=n("arrears:republished", 0),
            arrears_rejected=n("arrears:rejected", 0),
            pushes_before_7am=t.pushes_before_7am,
            completed=n("WorkCompleted", 0),
            deliberate_refusals=deliberate,
            refusal_kinds={k: t.kinds[k] for k in REFUSAL_KINDS if k in t.kinds},
        )


def next_free_date(rt: Runtime, date: str) -> str:
    """`date`, or the day after the log's last event when the log already reaches `date`."""
    last = rt.engine.state.last_ts_ms
    if last < local_midnight_ms(date):
        return date
    return (dt.date.fromisoformat(local_day(last)) + dt.timedelta(days=1)).isoformat()


def demo_morning(rt: Runtime, **kwargs: object) -> Morning:
    """The generator for a morning into `rt`'s log: new job ids when it holds one already."""
    date = str(kwargs["date"])
    prefix = f"J{date.replace('-', '')}-" if rt.engine.state.last_seq else "J"
    return Morning(job_prefix=prefix, **kwargs)  # type: ignore[arg-type]


def run_demo(
    data_dir: str | Path,
    *,
    date: str = "2026-11-23",
    seed: int = 7,
    scale: str = "city",
    sizes: Sizes | None = None,
    batch: int = 512,
    fsync: bool = True,
    after_log: bool = False,
) -> DemoSummary:
    """One whole morning into `data_dir` (a new log, or after the one there).

    `after_log`: when the log already reaches `date`, run the day after its last event.
    Otherwise a `date` the log has already passed is refused (ValueError): time in a log
    only goes forward.
    """
    started = time.perf_counter()
    with Runtime(data_dir, fsync=fsync, max_batch=max(batch, 1)) as rt:
        if after_log:
            date = next_free_date(rt, date)
        elif rt.engine.state.last_ts_ms >= local_midnight_ms(date):
            raise ValueError(
                f"the log in {data_dir} already runs until "
                f"{local_day(rt.engine.state.last_ts_ms)}; a morning of {date} would go back "
                f"in time: give a later --date"
            )
        morning = demo_morning(rt, date=date, seed=seed, scale=scale, sizes=sizes)
        demo = DemoRun(rt, morning)
        demo.setup()
        demo.play()
        return demo.summary(started)


def warm_up() -> None:
    """A tiny morning in memory (no disk): every numba kernel compiles or loads here."""
    from engine.commands import Refusal
    from engine.core import Engine

    morning = Morning(
        seed=1, sizes=Sizes(workers=400, postings=40, employers=10, stations_per_city=4)
    )
    engine = Engine()

    def run(cmd: c.Command) -> None:
        try:
            out = engine.execute(cmd, caller_for(engine.state, cmd))
        except Refusal:
            return
        morning.respond(out.events)

    for cmd in morning.setup():
        run(cmd)
    for ts, cmd in morning.timeline():
        for due in morning.pop_due(ts):
            run(due)
        run(cmd)
