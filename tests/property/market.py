"""A small two-city market built through the real engine, for the gate tests.

Xiangyang (4206): hub S1 (approved), hub S2 in another county (approved), post S3
(applied, not approved), post SR (applied for and reviewed: to approve), hub SQ (ordered
to rectify); employer E1; workers W1 (registered at S1, hired on JH1: the
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
from sim.callers import OPERATOR
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


def _life(w: World) -> None:
    """SR: a 驿站 applied for and reviewed (to approve); SQ: a hub ordered to rectify."""
    front = Caller(actor_id="applicant-x", role="front_end", region="4206")
    reviewer = Caller(actor_id="reviewer-x", role="admin", region="4206")
    w.run(c.ApplyStation(command_id=cid(), ts_ms=w.now, station_id="SR", name="驿站", kind="post",
                         parent_id="S1", region="420602", location=near(0, 1000), area_m2=40,
                         head=c.Personal(name="王建国"), hotline="12333", open_min=420,
                         close_min=1080, staff_count=1, by=front.actor_id,
                         services=("registration", "posting", "training_signup",
                                   "policy_advice")), front)  # fmt: skip
    w.run(c.ReviewStation(command_id=cid(), ts_ms=w.now, station_id="SR", passed=True,
                          by=reviewer.actor_id), reviewer)  # fmt: skip
    w.station("SQ", where=near(0, -1000))
    w.run(c.OrderRectification(command_id=cid(), ts_ms=w.now, station_id="SQ", items="整改",
                               days=30, by=reviewer.actor_id), reviewer)  # fmt: skip


@functools.cache
def market() -> Market:
    w = World()
    w.station("S1")
    w.station("S2", region="420606", where=near(2000, 0))
    w.station("S3", kind="post", parent="S1", approve=False, where=near(0, 2000))
    w.station("SW", region="420102", where=c.Point(lat=WUHAN[0], lng=WUHAN[1]))
    _life(w)
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
    made = w.post(  # starts now: it is completed below
        "JS2", sid="S2", title="保洁", skill="cleaning", where=near(2000, 100), start=w.now
    ).events
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
    w.run(
        c.PublishTraining(
            command_id=cid(), ts_ms=w.now, training_id="TR1", station_id="S1",
            title="安全生产培训", start_ms=w.now - 60_000, end_ms=w.now + 8 * 3_600_000,
            capacity=20, staff_id=OPERATOR.actor_id,
        )
    )  # fmt: skip
    w.run(c.SignUpTraining(command_id=cid(), ts_ms=w.now, training_id="TR1", worker_id="W1",
                           channel="counter"))  # fmt: skip
    assert w.state.jobs["JH"].status == "held" and w.state.jobs["J1"].status == "open"
    ids = {
        "worker_id": ["W1", "W2", "W3", "W4", "WW", "WX"],
        "station_id": ["S1", "S2", "S3", "SW", "", "SX", "SR", "SQ"],
        "parent_id": ["", "S1", "S2", "SX"],
        "employer_id": ["E1", "EW", "EX"],
        "job_id": ["J1", "JH", "JH1", "JS2", "JW", "JN", "JX"],
        "offer_id": [*offers, "J1/1/W9"],
        "hire_id": [hire_id, done_id, "J1/W9"],
        "complaint_id": ["C1", "CN"],
        "staff_id": ["", "staff-s1", "staff-s2", "admin-all", "u9"],
        "by": ["", "admin-all", "admin-xy", "fe-xy", "reviewer-x", "u9"],
        "region": ["420602", "420606", "420102", "42", "4206", "", "110101", "99"],
        "skill": ["moving", "cleaning", "welding"],
        "training_id": ["TR1", "TX"],  # TR1 at S1: W1 signed up
        "entry_id": ["QN1", "QN2"],
    }
    return Market(snapshot=snapshot_state(w.state), now=w.now, ids=ids)


def _hire_ids() -> tuple[str, str]:
    confirmed, completed = market().ids["hire_id"][:2]
    return confirmed, completed


def command(name: str, caller: Caller = ADMIN_ALL, n: int = 0) -> c.Command:
    """A command of type `name` aimed at Xiangyang resources bound to station S1, which
    `caller` stamps as a transport would (`staff_id`); valid in `market()`'s state."""
    m = market()
    confirmed, completed = _hire_ids()
    base: dict[str, object] = {"command_id": f"test:{name}:{n}", "ts_ms": m.now + 60_000}
    here = c.Point(lat=32.0095, lng=112.1225)
    fields: dict[str, dict[str, object]] = {
        "SetPolicy": {"region": "4206", "policy": e.Policy(radius_m=2000), "note": "试行"},
        "RegisterStation": {
            "station_id": f"SN{n}",
            "name": "新站",
            "kind": "branch",
            "parent_id": "S1",
            "region": "420602",
            "location": here,
            "address": "长虹路",
        },
        "ChangeStationStatus": {"station_id": "S1", "status": "suspended", "reason": "整改"},
        "RegisterEmployer": {
            "employer_id": f"EN{n}",
            "kind": "person",
            "name": "王五",
            "region": "420602",
            "contact": c.Personal(name="王五", mobile="13700001111"),
        },
        "FlagEmployer": {"employer_id": "E1", "reason": "fraud", "staff_id": caller.actor_id},
        "RegisterWorker": {
            "worker_id": f"WN{n}",
            "region": "420602",
            "personal": c.Personal(mobile="13812341234"),
            "skills": ("moving",),
            "min_pay_fen": 10000,
            "birth_year": 1980,
            "home": here,
            "station_id": "S1",
        },
        "UpdateWorker": {"worker_id": "W1", "min_pay_fen": 12000},
        "EraseWorker": {"worker_id": "W1", "reason": "本人申请删除"},
        "CheckIn": {"worker_id": "W2", "station_id": "S1"},
        "CheckOut": {"worker_id": "W2"},
        "SubmitJob": {
            "job_id": f"JN{n}",
            "employer_id": "E1",
            "station_id": "S1",
            "title": "仓库搬运",
            "description": "自带手套",
            "skill": "moving",
            "headcount": 1,
            "pay_fen": 30000,
            "start_ms": m.now + 3_600_000,
            "end_ms": m.now + 5 * 3_600_000,
            "location": here,
            "address": "长虹路1号",
        },
        "ReviewJob": {
            "job_id": "JH",
            "staff_id": caller.actor_id,
            "station_id": caller.station_id or "S1",
            "approve": True,
            "note": "核实",
        },
        "CancelJob": {"job_id": "J1", "reason": "不需要了"},
        "Advance": {},
        "AcceptOffer": {"offer_id": m.ids["offer_id"][0], "worker_id": "W2"},
        "DeclineOffer": {"offer_id": m.ids["offer_id"][0], "worker_id": "W2", "reason": "太远"},
        "RingBell": {"station_id": "S1", "staff_id": caller.actor_id},
        "ConfirmArrival": {"hire_id": confirmed},
        "ReportNoShow": {"hire_id": confirmed},
        "CompleteWork": {"hire_id": confirmed},
        "PayWage": {"hire_id": completed, "amount_fen": 30000},
        "FileComplaint": {
            "complaint_id": f"CN{n}",
            "kind": "wage_arrears",
            "employer_id": "E1",
            "hire_id": confirmed,
            "text": "未结工资",
        },
        "ResolveComplaint": {"complaint_id": "C1", "upheld": False, "note": "已调解"},
        "ChangeComplaintStatus": {
            "complaint_id": "C1",
            "status": "accepted",
            "note": "已受理",
            "staff_id": caller.actor_id,
        },
        "Rate": {"hire_id": completed, "by": "worker", "stars": 5},
        "PublishTraining": {
            "training_id": f"TN{n}",
            "station_id": "S1",
            "title": "叉车培训",
            "start_ms": m.now + 3_600_000,
            "end_ms": m.now + 7_200_000,
            "capacity": 10,
            "staff_id": caller.actor_id,
        },
        "SignUpTraining": {
            "training_id": "TR1",
            "worker_id": "W2",
            "channel": {"front_end": "app", "sms_gateway": "sms"}.get(caller.role, "counter"),
        },
        "CompleteTraining": {"training_id": "TR1", "worker_id": "W1", "staff_id": caller.actor_id},
        "PublishPolicyAnswer": {
            "entry_id": f"QN{n}",
            "station_id": "S1",
            "topic": "社保补贴",
            "question": "怎样申请？",
            "answer": "到街道社保窗口申请。",
            "staff_id": caller.actor_id,
        },
        # a station's life (by: the caller's account, stamped as a transport would)
        "ApplyStation": {
            "station_id": f"SA{n}",
            "name": "檀溪驿站",
            "kind": "post",
            "parent_id": "S1",
            "region": "420602",
            "location": here,
            "address": "檀溪路1号",
            "area_m2": 40,
            "head": c.Personal(name="王建国", mobile="13912345678"),
            "hotline": "0710-3611234",
            "open_min": 420,
            "close_min": 1020,
            "services": ("registration", "posting", "training_signup", "policy_advice"),
            "staff_count": 2,
            "by": caller.actor_id,
        },
        "ReviewStation": {
            "station_id": "S3",
            "passed": False,
            "note": "面积不足",
            "by": caller.actor_id,
        },
        "ApproveStation": {"station_id": "SR", "note": "同意", "by": caller.actor_id},
        "FileStation": {"station_id": "S1", "filing_no": "襄就备1号", "by": caller.actor_id},
        "OrderRectification": {
            "station_id": "S1",
            "items": "热线无人接听",
            "days": 15,
            "by": caller.actor_id,
        },
        "ConfirmRectification": {"station_id": "SQ", "note": "已整改", "by": caller.actor_id},
        "RevokeStation": {"station_id": "S1", "reason": "严重违规", "by": caller.actor_id},
    }
    if name == "Advance":
        base["ts_ms"] = m.now + 60_000
    if name == "ReportNoShow":
        base["ts_ms"] = at(6) + 60_000  # after the hire's start
    return c.COMMAND_TYPES[name](**base, **fields[name])  # type: ignore[arg-type]
