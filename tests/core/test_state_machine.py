"""Random command sequences keep the invariants, and replaying the log gives the same state.

Invariants checked after every step:
- no job has negative open slots or more hires than headcount;
- no worker holds two hires whose times overlap;
- a revoked station stays inert: none of its workers checked in, none of its jobs open;
- every live offer belongs to an open job and an active worker;
- folding the records so far into a fresh engine gives the same digest, and re-executing
  every recorded fact re-derives exactly the recorded decisions, also in a core recovered
  by folding the records up to any tick (as the runtime recovers).

Besides single commands, two rules take a few at once so that hires happen in most runs:
`quick_hire` (register, check in, post near, accept) and `late_arrival` (time passes
beyond the wage's due time, then the arrival is recorded: with recovery at every tick,
this caught the expiry heap's replay defect on `20f7e06`; with the single-command rules
alone, 216 `late_arrival` steps over 60 examples found no hire at all).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine import commands as c
from engine.commands import Refusal
from engine.core import Engine
from engine.events import Tick
from tests.support import World, at, cid, near

WORKERS = [f"W{i}" for i in range(8)]
STATIONS = ["S1", "S2", "S3"]
SKILLS = ["moving", "cleaning"]


class Market(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.world = World()
        self.now = at(5)
        self.jobs = 0
        for i, sid in enumerate(STATIONS):
            self._run(
                c.RegisterStation(
                    command_id=cid(),
                    ts_ms=self.now,
                    station_id=sid,
                    name=sid,
                    kind="hub",
                    region="420602",
                    location=near(i * 400.0, 0.0),
                )
            )
            self._run(
                c.ChangeStationStatus(
                    command_id=cid(), ts_ms=self.now, station_id=sid, status="approved"
                )
            )
        self.world.now = self.now
        self.world.employer("E1")

    def _run(self, cmd: c.Command) -> None:
        try:
            self.world.run(cmd)
        except Refusal:
            pass

    def _live_offers(self) -> list[tuple[str, str]]:
        s = self.world.state
        return [
            (oid, s.worker_ids[o.worker_row]) for oid, o in s.offers.items() if o.status == "live"
        ]

    @rule(
        i=st.integers(0, len(WORKERS) - 1),
        skills=st.sets(st.sampled_from(SKILLS), min_size=1),
        pay=st.sampled_from([10000, 20000, 40000]),
        dx=st.integers(-1500, 1500),
    )
    def register(self, i: int, skills: set[str], pay: int, dx: int) -> None:
        self.world.now = self.now
        before = len(self.world.state.worker_ids)
        try:
            self.world.worker(
                WORKERS[i],
                skills=tuple(sorted(skills)),
                min_pay_fen=pay,
                where=near(dx, -dx),
                push=bool(i % 2),
            )
        except Refusal:
            assert len(self.world.state.worker_ids) == before

    @rule(i=st.integers(0, len(WORKERS) - 1), s=st.sampled_from(STATIONS))
    def check_in(self, i: int, s: str) -> None:
        self._run(c.CheckIn(command_id=cid(), ts_ms=self.now, worker_id=WORKERS[i], station_id=s))

    @rule(i=st.integers(0, len(WORKERS) - 1))
    def erase(self, i: int) -> None:
        self._run(
            c.EraseWorker(command_id=cid(), ts_ms=self.now, worker_id=WORKERS[i], reason="本人申请")
        )

    @rule(i=st.integers(0, len(WORKERS) - 1))
    def check_out(self, i: int) -> None:
        self._run(c.CheckOut(command_id=cid(), ts_ms=self.now, worker_id=WORKERS[i]))

    @rule(
        s=st.sampled_from(STATIONS),
        heads=st.integers(1, 3),
        skill=st.sampled_from(SKILLS),
        pay=st.sampled_from([9000, 20000, 30000]),
        start_h=st.integers(0, 4),
        hours=st.integers(1, 6),
    )
    def post(self, s: str, heads: int, skill: str, pay: int, start_h: int, hours: int) -> None:
        self.jobs += 1
        start = self.now + start_h * 3_600_000 + 600_000
        self._run(
            c.SubmitJob(
                command_id=cid(),
                ts_ms=self.now,
                job_id=f"J{self.jobs}",
                employer_id="E1",
                station_id=s,
                title=f"job{self.jobs % 3}",
                skill=skill,
                headcount=heads,
                pay_fen=pay,
                start_ms=start,
                end_ms=start + hours * 3_600_000,
                location=near(100.0, 100.0),
            )
        )

    @precondition(lambda self: bool(self._live_offers()))
    @rule(data=st.data(), accept=st.booleans())
    def answer(self, data: st.DataObject, accept: bool) -> None:
        oid, wid = data.draw(st.sampled_from(self._live_offers()))
        cls = c.AcceptOffer if accept else c.DeclineOffer
        self._run(cls(command_id=cid(), ts_ms=self.now, offer_id=oid, worker_id=wid))

    @rule(minutes=st.integers(1, 90))
    def tick(self, minutes: int) -> None:
        self.now += minutes * 60_000
        self._run(c.Advance(command_id=cid(), ts_ms=self.now))

    @rule(s=st.sampled_from(STATIONS), status=st.sampled_from(["suspended", "revoked", "approved"]))
    def station_status(self, s: str, status: str) -> None:
        self._run(
            c.ChangeStationStatus(
                command_id=cid(), ts_ms=self.now, station_id=s, status=status, reason="检查"
            )
        )

    @rule(data=st.data(), what=st.sampled_from(["arrive", "noshow", "complete"]))
    def after_hire(self, data: st.DataObject, what: str) -> None:
        hires = list(self.world.state.hires)
        if not hires:
            return
        h = data.draw(st.sampled_from(hires))
        cls = {"arrive": c.ConfirmArrival, "noshow": c.ReportNoShow, "complete": c.CompleteWork}[
            what
        ]
        self._run(cls(command_id=cid(), ts_ms=self.now, hire_id=h))

    @rule(i=st.integers(0, len(WORKERS) - 1), start_h=st.integers(0, 3), hours=st.integers(1, 9))
    def quick_hire(self, i: int, start_h: int, hours: int) -> None:
        """Check a worker in, post a job near them and accept its offer (a hire through
        the other rules alone takes several lucky steps)."""
        self.world.now = self.now
        self.jobs += 1
        start = self.now + start_h * 3_600_000 + 600_000
        if WORKERS[i] not in self.world.state.worker_rows:
            self.register(i, {"moving"}, 10000, 0)
        try:
            self.world.hire(WORKERS[i], f"J{self.jobs}", start=start, hours=hours)
        except (Refusal, StopIteration):
            pass

    @rule(data=st.data(), late_h=st.integers(0, 30))
    def late_arrival(self, data: st.DataObject, late_h: int) -> None:
        """An arrival recorded only after the hire's wage fell due (a tick in between)."""
        waiting = [h for h in self.world.state.hires.values() if h.status == "confirmed"]
        if not waiting:
            return
        hire = data.draw(st.sampled_from(waiting))
        due = hire.wage_due_ms or hire.end_ms
        self.now = max(self.now, due) + late_h * 3_600_000
        self._run(c.Advance(command_id=cid(), ts_ms=self.now))
        self._run(c.ConfirmArrival(command_id=cid(), ts_ms=self.now, hire_id=hire.hire_id))

    @rule(data=st.data(), amount=st.sampled_from([5000, 10000, 30000, 60000]))
    def pay(self, data: st.DataObject, amount: int) -> None:
        hires = list(self.world.state.hires)
        if hires:
            h = data.draw(st.sampled_from(hires))
            self._run(c.PayWage(command_id=cid(), ts_ms=self.now, hire_id=h, amount_fen=amount))

    @rule(days=st.integers(1, 4))
    def days_pass(self, days: int) -> None:  # wages fall due, hires leave the core
        self.now += days * 86_400_000
        self._run(c.Advance(command_id=cid(), ts_ms=self.now))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if self.jobs:
            j = data.draw(st.integers(1, self.jobs))
            self._run(c.CancelJob(command_id=cid(), ts_ms=self.now, job_id=f"J{j}"))

    @invariant()
    def slots_never_negative(self) -> None:
        if not hasattr(self, "world"):
            return
        for job in self.world.state.jobs.values():
            assert 0 <= job.hired <= job.headcount

    @invariant()
    def no_overlapping_hires(self) -> None:
        if not hasattr(self, "world"):
            return
        s = self.world.state
        by_worker: dict[int, list[tuple[int, int]]] = {}
        for h in s.hires.values():
            if h.status != "no_show":
                by_worker.setdefault(h.worker_row, []).append((h.start_ms, h.end_ms))
        for spans in by_worker.values():
            spans.sort()
            for (_a0, a1), (b0, _b1) in zip(spans, spans[1:], strict=False):
                assert a1 <= b0, f"overlapping hires {spans}"

    @invariant()
    def revoked_stations_are_inert(self) -> None:
        if not hasattr(self, "world"):
            return
        s = self.world.state
        for sid, st_ in s.stations.items():
            if st_.status in ("revoked", "suspended"):
                for row, at_station in enumerate(s.worker_station):
                    assert not (at_station == sid and s.workers.checked_in[row])
                for job in s.jobs.values():
                    if job.station_id == sid:
                        assert job.status not in ("open", "held")

    @invariant()
    def live_offers_are_consistent(self) -> None:
        if not hasattr(self, "world"):
            return
        s = self.world.state
        for o in s.offers.values():
            if o.status == "live":
                assert s.jobs[o.job_id].status == "open"
                assert s.workers.active[o.worker_row]

    @invariant()
    def arrears_hold_the_employer(self) -> None:
        """An open arrears case: its hire is owed money, the employer is flagged and
        has no open posting; a hire's case is the one the tables know."""
        if not hasattr(self, "world"):
            return
        s = self.world.state
        for employer_id, cases in s.arrears_open.items():
            assert cases and "wage_arrears" in s.employers[employer_id].flags
            assert all(s.jobs[j].status != "open" for j in s.live_jobs_of(employer_id))
            for case_id in cases:
                case = s.arrears[case_id]
                hire = s.hires[case.hire_id]
                assert case.status == "open" and hire.arrears_case == case_id
                assert hire.paid_fen < max(hire.agreed_fen, 1)
        for hire in s.hires.values():
            if hire.arrears_case:
                assert hire.arrears_case in s.arrears_open[hire.employer_id]

    def teardown(self) -> None:
        if not hasattr(self, "world"):
            return
        fresh = Engine()
        records = self.world.records
        assert len(records) == self.world.state.last_seq
        for seq, rec in enumerate(records, start=1):
            fresh.apply_record(seq, rec)
        assert fresh.digest() == self.world.state.digest()
        again = Engine()
        for seq, rec in enumerate(records, start=1):
            assert again.reexecute_record(seq, rec) is None
        assert again.digest() == self.world.state.digest()
        # a core recovered by folding the records up to a tick (which does not run the
        # tick's reactions) decides what the running core decided from there on
        ticks = [k for k, rec in enumerate(records, start=1) if isinstance(rec.events[0], Tick)]
        for k in ticks:
            recovered = Engine()
            for seq, rec in enumerate(records[:k], start=1):
                recovered.apply_record(seq, rec)
            for seq, rec in enumerate(records[k:], start=k + 1):
                assert recovered.reexecute_record(seq, rec) is None, f"recovered at {k}"


Market.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMarket = Market.TestCase
