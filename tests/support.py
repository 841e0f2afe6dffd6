"""Test helpers: build a small world through the real engine, one command at a time."""

from __future__ import annotations

import itertools

from engine import commands as c
from engine.authz import Caller
from engine.core import Engine, Outcome
from engine.events import Policy
from engine.record import Record
from sim.callers import caller_for
from sim.morning import local_midnight_ms, make_id_number, make_uscc

DAY0 = local_midnight_ms("2026-11-23")
XY = (32.0090, 112.1220)  # Xiangyang centre
_ids = itertools.count(1)


def at(hh: int, mm: int = 0) -> int:
    return DAY0 + hh * 3_600_000 + mm * 60_000


def cid() -> str:
    return f"cmd-{next(_ids)}"


def near(dlat_m: float = 0.0, dlng_m: float = 0.0, base: tuple[float, float] = XY) -> c.Point:
    import math

    return c.Point(
        lat=base[0] + dlat_m / 111_195.0,
        lng=base[1] + dlng_m / (111_195.0 * math.cos(math.radians(base[0]))),
    )


class World:
    """An engine plus short-hands for the commands tests need."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.engine = Engine()
        self.records: list[Record] = []  # every accepted command's record, in seq order
        self.now = at(5)
        self.run(
            c.SetPolicy(command_id=cid(), ts_ms=self.now, region="", policy=policy or Policy())
        )

    @property
    def state(self):
        return self.engine.state

    def run(self, cmd: c.Command, caller: Caller | None = None) -> Outcome:
        """Execute `cmd` as `caller` (default: the natural caller, `sim.callers`)."""
        out = self.engine.execute(cmd, caller or caller_for(self.state, cmd))
        if not out.duplicate:
            self.records.append(out.record())
        return out

    def station(
        self,
        sid: str = "S1",
        *,
        kind: str = "hub",
        parent: str = "",
        region: str = "420602",
        approve: bool = True,
        where: c.Point | None = None,
    ) -> None:
        self.run(
            c.RegisterStation(
                command_id=cid(),
                ts_ms=self.now,
                station_id=sid,
                name=f"站{sid}",
                kind=kind,
                parent_id=parent,
                region=region,
                location=where or near(),
            )
        )
        if approve:
            self.run(
                c.ChangeStationStatus(
                    command_id=cid(), ts_ms=self.now, station_id=sid, status="approved"
                )
            )

    def employer(self, eid: str = "E1", region: str = "420602") -> None:
        import random

        self.run(
            c.RegisterEmployer(
                command_id=cid(),
                ts_ms=self.now,
                employer_id=eid,
                kind="organisation",
                name="襄阳搬家公司",
                uscc=make_uscc(random.Random(eid), region),
                region=region,
                contact=c.Personal(name="李四", mobile="13912345678"),
            )
        )

    def worker(
        self,
        wid: str,
        *,
        skills=("moving",),
        min_pay_fen: int = 15000,
        birth_year: int = 1975,
        where: c.Point | None = None,
        mode: str = "walk",
        priority: str = "",
        push: bool = False,
        region: str = "420602",
    ) -> Outcome:
        import random

        idn = make_id_number(random.Random(wid), region, birth_year)
        return self.run(
            c.RegisterWorker(
                command_id=cid(),
                ts_ms=self.now,
                worker_id=wid,
                region=region,
                personal=c.Personal(name="张三", mobile="13812341234", id_number=idn),
                skills=tuple(skills),
                min_pay_fen=min_pay_fen,
                priority_group=priority,
                home=where or near(),
                travel_mode=mode,
                push_opt_in=push,
            )
        )  # type: ignore[arg-type]

    def check_in(
        self, wid: str, sid: str = "S1", *, where: c.Point | None = None, ts: int | None = None
    ) -> Outcome:
        return self.run(
            c.CheckIn(
                command_id=cid(),
                ts_ms=ts or self.now,
                worker_id=wid,
                station_id=sid if where is None else "",
                location=where,
            )
        )

    def post(
        self,
        jid: str,
        *,
        heads: int = 1,
        pay: int = 30000,
        skill: str = "moving",
        sid: str = "S1",
        eid: str = "E1",
        where: c.Point | None = None,
        start: int | None = None,
        hours: int = 6,
        title: str = "搬家工",
        ts: int | None = None,
    ) -> Outcome:
        t = ts or self.now
        s = start or t + 3_600_000
        return self.run(
            c.SubmitJob(
                command_id=cid(),
                ts_ms=t,
                job_id=jid,
                employer_id=eid,
                station_id=sid,
                title=title,
                skill=skill,
                headcount=heads,
                pay_fen=pay,
                start_ms=s,
                end_ms=s + hours * 3_600_000,
                location=where or near(100, 100),
            )
        )

    def accept(self, offer_id: str, wid: str, ts: int | None = None) -> Outcome:
        return self.run(
            c.AcceptOffer(command_id=cid(), ts_ms=ts or self.now, offer_id=offer_id, worker_id=wid)
        )

    def hire(self, wid: str = "W1", jid: str = "JH1", **post) -> str:  # noqa: ANN003
        """Check `wid` in, post `jid` near them and accept its offer: the hire id."""
        self.check_in(wid)
        made = [ev for ev in self.post(jid, **post).events if type(ev).__name__ == "OfferMade"]
        offer = next(ev for ev in made if ev.worker_id == wid)
        out = self.accept(offer.offer_id, wid)
        return next(ev.hire_id for ev in out.events if type(ev).__name__ == "HireConfirmed")

    def tick(self, ts: int) -> Outcome:
        self.now = ts
        return self.run(c.Advance(command_id=cid(), ts_ms=ts))


def small_market(workers: tuple[str, ...] = ("W1", "W2")) -> World:
    """A world with station S1, employer E1 and `workers` registered."""
    world = World()
    world.station("S1")
    world.employer("E1")
    for wid in workers:
        world.worker(wid)
    return world


def kinds(out: Outcome) -> list[str]:
    """The type names of an outcome's events, in order."""
    return [type(ev).__name__ for ev in out.events]
