"""A small two-city market built through the real engine, for the gate tests.

Xiangyang (4206): hub S1 (approved), hub S2 in another county (approved), post S3
(applied, not approved); employer E1; workers W1 (registered at S1, hired on JH1: the
hire is confirmed), W2 (checked in at S1, holding a live offer of J1), W3 (registered at
S2, hired on JS2 through S2: the work is completed), W4 (erased).
Wuhan (4201): hub SW, employer EW, worker WW (checked in). Postings: J1 (open), JH (held
for review), JW (Wuhan, open). Complaint C1 on W1's hire.

`market()` builds it once and returns a `Market` whose `fresh()` gives a new engine on a
copy of the state (restored from a snapshot, so examples never share state).
"""

from __future__ import annotations

import functools
import random

import msgspec

from engine import commands as c
from engine import events as e
from engine.authz import SYSTEM, Caller
from engine.core import Engine
from engine.snapshot import restore_state, snapshot_state
from sim.morning import make_id_number
from tests.support import World, at, cid, near

WUHAN = (30.5928, 114.3055)

ADMIN_ALL = Caller(actor_id="admin-all", role="admin", nationwide=True)
ADMIN_XY = Caller(actor_id="admin-xy", role="admin", region="4206")
ADMIN_WH = Caller(actor_id="admin-wh", role="admin", region="4201")
FRONT_XY = Caller(actor_id="fe-xy", role="front_end", region="4206")
FRONT_WH = Caller(actor_id="fe-wh", role="front_end", region="4201")
STAFF_S1 = Caller(actor_id="staff-s1", role="station_staff", region="4206", station_id="S1")
STAFF_S2 = Caller(actor_id="staff-s2", role="station_staff", region="4206", station_id="S2")
STAFF_WH = Caller(actor_id="staff-wh", role="station_staff", region="4201", station_id="SW")
SMS_XY = Caller(actor_id="sms-gateway", role="sms_gateway", region="42")
AUDITOR = Caller(actor_id="auditor", role="auditor", region="42")
# malformed callers the engine must refuse (a transport bug must fail closed)
FRONT_ALL = Caller(actor_id="fe-all", role="front_end", nationwide=True)
STAFF_GHOST = Caller(actor_id="staff-x", role="station_staff", region="4206", station_id="SX")
STAFF_ELSEWHERE = Caller(actor_id="staff-y", role="station_staff", region="4201", station_id="S1")
NO_REGION = Caller(actor_id="fe-none", role="front_end")

CALLERS = (
    ADMIN_ALL,
    ADMIN_XY,
    ADMIN_WH,
    FRONT_XY,
    FRONT_WH,
    STAFF_S1,
    STAFF_S2,
    STAFF_WH,
    SMS_XY,
    AUDITOR,
    SYSTEM,
    FRONT_ALL,
    STAFF_GHOST,
    STAFF_ELSEWHERE,
    NO_REGION,
)


class Market(msgspec.Struct, kw_only=True):
    snapshot: bytes
    now: int
    ids: dict[str, list[str]]  # field name -> ids that exist (and a few that do not)

    def fresh(self) -> Engine:
        return Engine(restore_state(self.snapshot))


def _worker(w: World, wid: str, *, region: str, station: str = "", where=None) -> None:  # noqa: ANN001
    idn = make_id_number(random.Random(wid), region, 1975)
    w.run(
        c.RegisterWorker(
            command_id=cid(),
            ts_ms=w.now,
            worker_id=wid,
            region=region,
            personal=c.Personal(name="张三", mobile="13812341234", id_number=idn),
            skills=("moving", "cleaning"),
            min_pay_fen=10000,
            home=where or near(),
            station_id=station,
        )
    )


@functools.cache
def market() -> Market:
    w = World()
    w.station("S1")
    w.station("S2", region="420606", where=near(2000, 0))
    w.station("S3", kind="post", parent="S1", approve=False, where=near(0, 2000))
    w.station("SW", region="420102", where=c.Point(lat=WUHAN[0], lng=WUHAN[1]))
    w.employer("E1")
    w.employer("EW", region="420102")
    _worker(w, "W1", region="420602", station="S1")
    _worker(w, "W2", region="420602")
    _worker(w, "W3", region="420602", station="S2")
    _worker(w, "W4", region="420602", station="S1")
    _worker(w, "WW", region="420102", where=c.Point(lat=WUHAN[0], lng=WUHAN[1]))
    w.run(c.EraseWorker(command_id=cid(), ts_ms=w.now, worker_id="W4", reason="本人申请"))
    hire_id = w.hire("W1", "JH1", title="装卸", start=at(6), hours=4)
    w.check_in("W3", "S2")
    made = w.post("JS2", sid="S2", title="保洁", skill="cleaning", where=near(2000, 100)).events
    offer = next(ev for ev in made if isinstance(ev, e.OfferMade) and ev.worker_id == "W3")
    done_id = next(
        ev.hire_id
        for ev in w.accept(offer.offer_id, "W3").events
        if isinstance(ev, e.HireConfirmed)
    )
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=done_id))
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=done_id))
    w.check_in("W2")
    out = w.post("J1", heads=2, title="搬家工", start=at(7))
    offers = [ev.offer_id for ev in out.events if isinstance(ev, e.OfferMade)]
    assert offers, "W2 should hold a live offer of J1"
    w.post("JH", pay=9000, title="清洁", skill="cleaning")  # far below the local level: held
    w.check_in("WW", sid="SW")
    w.post("JW", sid="SW", eid="EW", title="搬运", where=c.Point(lat=WUHAN[0], lng=WUHAN[1]))
    w.run(
        c.FileComplaint(
            command_id=cid(),
            ts_ms=w.now,
            complaint_id="C1",
            kind="safety",
            employer_id="E1",
            hire_id=hire_id,
            text="现场没有安全帽",
        )
    )
    assert w.state.jobs["JH"].status == "held" and w.state.jobs["J1"].status == "open"
    ids = {
        "worker_id": ["W1", "W2", "W3", "W4", "WW", "WX"],
        "station_id": ["S1", "S2", "S3", "SW", "", "SX"],
        "parent_id": ["", "S1", "S2", "SX"],
        "employer_id": ["E1", "EW", "EX"],
        "job_id": ["J1", "JH", "JH1", "JS2", "JW", "JN", "JX"],
        "offer_id": [*offers, "J1/1/W9"],
        "hire_id": [hire_id, done_id, "J1/W9"],
        "complaint_id": ["C1", "CN"],
        "staff_id": ["", "staff-s1", "staff-s2", "admin-all", "u9"],
        "region": ["420602", "420606", "420102", "42", "4206", "", "110101", "99"],
        "skill": ["moving", "cleaning", "welding"],
    }
    return Market(snapshot=snapshot_state(w.state), now=w.now, ids=ids)
