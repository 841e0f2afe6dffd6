"""The simulator's crowd: seeded steps and the requests each step sends (`sim.vopr`).

Owns: `Step` (a kind and its own seed), `generate(seed, count)` (the step list of a run),
the cast of callers (`Cast`: admins, front ends, station staff, an auditor and an SMS
gateway per city, plus hostile ones: another city's tokens, another station's staff),
and `Crowd.requests(kind, rng, state)`: the HTTP-shaped requests (caller, route, raw body,
path, Idempotency-Key, content type) one step sends, ordinary or hostile, built from
what the engine's state holds now (offers, hires and held postings are the engine's).
The office's steps (station life, complaint cases, trainings) are `sim.vopr_office`'s.

Bad bodies (`fuzz_body`): deep nesting, oversize, wrong types (strings for numbers, lists,
null, floats for ints, 2**64), numbers at and beyond every bound the body struct declares
(read from `engine.bounds` through msgspec's type info of the derived body), unknown
fields, invalid JSON and UTF-8, a wrong content type, ids and free text holding phone or
ID numbers. Policies (`extreme_policy`): every bounded field at its lowest or highest
accepted value, sometimes beyond it.

Invariants: a step's requests depend only on (kind, its seed, the state and the requests
sent before): a step list replays exactly, and shrinking (dropping steps) keeps every
remaining step's own draws. No wall clock, no global random state. Synthetic personal
data only.

Limits: `MAX_STATIONS` stations per run (later registrations reuse ids and are refused
as duplicates); bodies up to 80 KB (the gate's limit is 64 KiB).
"""

from __future__ import annotations

import json
import random
from typing import Any, NamedTuple

import msgspec

from adapters.gate import bodies
from adapters.gate.routes import BY_NAME, ROUTES
from engine.authz import Caller
from engine.bounds import MAX_MS
from engine.events import Policy, TravelSpeeds, Weights
from engine.state import State
from sim.morning import SKILLS, make_id_number, make_uscc
from sim.vopr_office import OfficeSteps
from sim.vopr_office import mobile as _mobile
from sim.vopr_office import point as _point

# (city region code, lat, lng): three cities of two provinces
CITIES: tuple[tuple[str, float, float], ...] = (
    ("420600", 32.0090, 112.1220),
    ("420100", 30.5930, 114.3050),
    ("370100", 36.6510, 117.1200),
)
SKILL_CODES = tuple(code for code, _, _ in SKILLS)
MAX_STATIONS = 12
JSON = "application/json"

# kinds of steps and their weights after the setup prefix
WEIGHTS: dict[str, int] = {
    "station": 2,
    "employer": 3,
    "worker": 6,
    "update_worker": 2,
    "erase": 1,
    "check_in": 10,
    "check_out": 2,
    "job": 8,
    "review": 3,
    "cancel": 1,
    "bell": 2,
    "accept": 8,
    "quick_hire": 5,
    "decline": 4,
    "hire": 6,
    "complaint": 2,
    "resolve": 1,
    "complaint_step": 2,
    "station_life": 3,
    "training": 2,
    "flag": 1,
    "policy": 2,
    "fuzz": 10,
    "retry_same": 5,
    "retry_other": 3,
    "advance": 6,
    "jump": 1,
    "back": 1,
    "tick": 5,
    "burst": 1,
    "flush": 15,
    "crash": 3,
    "tamper_snapshot": 1,
}
SETUP: tuple[str, ...] = ("station",) * 4 + ("employer",) * 3 + ("worker",) * 8 + ("flush",)
PHONE = "13812345678"


class Step(NamedTuple):
    kind: str
    seed: int


class Req(NamedTuple):
    caller: Caller
    route: str
    body: bytes
    path: dict[str, str] | None  # None: the path fields are in the body (NATS style)
    key: str
    content_type: str = JSON


def generate(seed: int, count: int) -> list[Step]:
    """The first `count` steps of run `seed`: a setup prefix, then weighted random kinds."""
    rng = random.Random(seed)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    steps: list[Step] = []
    for i in range(count):
        kind = SETUP[i] if i < len(SETUP) else rng.choices(kinds, weights)[0]
        steps.append(Step(kind, rng.getrandbits(48)))
    return steps


def dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Cast:
    """Every caller of a run: ordinary ones per city and station, and hostile picks."""

    def __init__(self) -> None:
        self.admin = Caller(actor_id="admin-cn", role="admin", nationwide=True)
        self.city_admin = {c: Caller(actor_id=f"admin-{c}", role="admin", region=c[:4])
                           for c, _, _ in CITIES}  # fmt: skip
        self.front = {c: Caller(actor_id=f"app-{c}", role="front_end", region=c[:4])
                      for c, _, _ in CITIES}  # fmt: skip
        self.sms = {c: Caller(actor_id=f"sms-{c}", role="sms_gateway", region=c[:4])
                    for c, _, _ in CITIES}  # fmt: skip
        self.auditor = Caller(actor_id="audit-cn", role="auditor", region="42")
        # a station's life is taken by distinct admin accounts of its city (station_life)
        self.officers = {c: tuple(Caller(actor_id=f"officer-{c}-{n}", role="admin",
                                         region=c[:4], named=True) for n in range(4))
                         for c, _, _ in CITIES}  # fmt: skip

    def staff(self, station_id: str, region: str) -> Caller:
        return Caller(  # a person's account (a review verdict needs one)
            actor_id=f"staff-{station_id}",
            role="station_staff",
            region=region[:4],
            station_id=station_id,
            named=True,
        )

    def hostile(self, r: random.Random, state: State) -> Caller:
        """A caller that usually may not do what is asked: other city, role or station."""
        pool = [self.admin, self.auditor, *self.front.values(), *self.sms.values()]
        pool += [self.staff(s.station_id, s.region) for s in list(state.stations.values())[:6]]
        pool.append(Caller(actor_id="staff-ghost", role="station_staff", region="4206",
                           station_id="ST-nowhere"))  # fmt: skip
        return r.choice(pool)


class Crowd(OfficeSteps):
    """Builds each step's requests from the state; ordinary, hostile or with PII in text."""

    def __init__(self) -> None:
        self.cast = Cast()
        self.now_ms = 0

    # ------------------------------------------------------------ helpers -----------

    def _city(self, r: random.Random) -> tuple[str, float, float]:
        return r.choice(CITIES)

    def _text(self, r: random.Random, plain: str) -> str:
        """Free text; sometimes with a phone or ID number typed in (must never be logged)."""
        x = r.random()
        if x < 0.03:
            return f"{plain} 联系电话{_mobile(r)}"
        if x < 0.05:
            return f"{plain} 身份证{make_id_number(r, '420602', 1975)}"
        return plain

    def _key(self, r: random.Random, n: int = 0) -> str:
        return f"k{r.getrandbits(40):x}-{n}"

    def _front_for(self, region: str) -> Caller:
        return self.cast.front.get(region[:4] + "00", self.cast.admin)

    def req(
        self, r: random.Random, caller: Caller, route: str, body: dict[str, Any],
        path: dict[str, str] | None = None, *, hostile: float = 0.12, state: State | None = None,
    ) -> Req:  # fmt: skip
        if state is not None and r.random() < hostile:
            caller = self.cast.hostile(r, state)
        path = path or {}
        if r.random() < 0.25:  # NATS style: the path fields travel in the body
            return Req(caller, route, dumps({**body, **path}), None, self._key(r))
        return Req(caller, route, dumps(body), path, self._key(r))

    # ------------------------------------------------------------ the steps ---------

    def requests(self, kind: str, r: random.Random, state: State, now_ms: int = 0) -> list[Req]:
        """The requests of one step (empty when what it needs does not exist yet);
        `now_ms` is the server clock's time (what the gate will stamp, at the latest)."""
        self.now_ms = max(now_ms, state.last_ts_ms)
        make = getattr(self, "_" + kind, None)
        return [] if make is None else make(r, state)

    def _station(self, r: random.Random, state: State) -> list[Req]:
        region, lat, lng = self._city(r)
        county = region[:4] + f"{r.randint(2, 4):02d}"
        sid = f"ST-{county}-{r.randrange(MAX_STATIONS // len(CITIES))}"
        hubs = [s for s in state.stations.values()
                if s.region[:4] == region[:4] and s.kind in ("hub", "branch")]  # fmt: skip
        parent = r.choice(hubs) if hubs and r.random() < 0.8 else None
        kind = "hub" if parent is None else ("branch" if parent.kind == "hub" else "post")
        body = {
            "station_id": sid,
            "name": self._text(r, f"零工市场{sid[-1]}"),
            "kind": kind,
            "parent_id": parent.station_id if parent is not None else "",
            "region": county,
            "location": _point(r, lat, lng),
            "area_m2": r.choice((0, 100, 10_000_000)),
            "address": self._text(r, "人民路1号"),
        }
        admin = r.choice((self.cast.admin, self.cast.city_admin[region]))
        register = self.req(r, admin, "RegisterStation", body, hostile=0.05, state=state)
        status = r.choices(("approved", "suspended", "revoked"), (12, 1, 1))[0]
        change = self.req(r, admin, "ChangeStationStatus", {"status": status, "reason":
                          self._text(r, "审核")}, {"station_id": sid})  # fmt: skip
        return [register, change]

    def _employer(self, r: random.Random, state: State) -> list[Req]:
        region, _, _ = self._city(r)
        org = r.random() < 0.6
        eid = f"EM-{r.getrandbits(20):05x}"
        body = {
            "employer_id": eid,
            "kind": "organisation" if org else "person",
            "name": self._text(r, "建安劳务有限公司" if org else "王师傅"),
            "uscc": make_uscc(r, region) if org else "",
            "region": region,
            "contact": {"name": "李经理", "mobile": _mobile(r)},
        }
        return [self.req(r, self.cast.front[region], "RegisterEmployer", body, state=state)]

    def _worker(self, r: random.Random, state: State) -> list[Req]:
        region, lat, lng = self._city(r)
        county = region[:4] + f"{r.randint(2, 4):02d}"
        wid = f"W-{r.getrandbits(24):06x}"
        body: dict[str, Any] = {
            "worker_id": wid,
            "region": county,
            "personal": {"name": "张伟", "mobile": _mobile(r),
                         "id_number": make_id_number(r, county, r.randint(1958, 2006))},
            "skills": sorted(set(r.sample(SKILL_CODES, r.randint(1, 3)))),
            "min_pay_fen": r.choice((0, 12000, 20000)),
            "home": _point(r, lat, lng),
            "travel_mode": r.choice(("walk", "bike", "ebike", "bus", "car")),
            "push_opt_in": r.random() < 0.5,
        }  # fmt: skip
        sts = [s for s in state.stations.values() if s.region[:4] == region[:4]]
        caller = self.cast.front[region]
        if sts and r.random() < 0.4:
            st = r.choice(sts)
            caller = self.cast.staff(st.station_id, st.region)
        return [self.req(r, caller, "RegisterWorker", body, state=state)]

    def _burst(self, r: random.Random, state: State) -> list[Req]:
        """A crowd at one station: 10-40 registrations and check-ins in one batch."""
        st = self._station_pick(r, state)
        if st is None:
            return []
        staff = self.cast.staff(st.station_id, st.region)
        out: list[Req] = []
        for i in range(r.randint(10, 40)):
            wid = f"W-{r.getrandbits(24):06x}"
            body: dict[str, Any] = {
                "worker_id": wid,
                "region": st.region,
                "personal": {"mobile": _mobile(r)},
                "birth_year": r.randint(1958, 2006),
                "skills": sorted(set(r.sample(SKILL_CODES, r.randint(1, 4)))),
                "min_pay_fen": 0,
                "home": _point(r, st.lat, st.lng, 1.0),
            }
            out.append(Req(staff, "RegisterWorker", dumps(body), {}, self._key(r, i)))
            out.append(Req(staff, "CheckIn", dumps({"station_id": st.station_id}),
                           {"worker_id": wid}, self._key(r, i)))  # fmt: skip
        return out

    def _update_worker(self, r: random.Random, state: State) -> list[Req]:
        w = self._worker_pick(r, state)
        if w is None:
            return []
        body = {"min_pay_fen": r.choice((0, 15000, 10_000_000)), "quiet_start_min": 0,
                "quiet_end_min": r.choice((0, 1439))}  # fmt: skip
        return [self.req(r, self._front_for(w[1]), "UpdateWorker", body, {"worker_id": w[0]},
                         state=state)]  # fmt: skip

    def _worker_pick(self, r: random.Random, state: State) -> tuple[str, str] | None:
        if not state.worker_ids:
            return None
        row = r.randrange(len(state.worker_ids))
        return state.worker_ids[row], state.worker_region[row]

    def _erase(self, r: random.Random, state: State) -> list[Req]:
        w = self._worker_pick(r, state)
        if w is None:
            return []
        body = {"reason": self._text(r, "本人申请删除")}
        return [self.req(r, self.cast.city_admin[w[1][:4] + "00"], "EraseWorker", body,
                         {"worker_id": w[0]}, state=state)]  # fmt: skip

    def _check_in(self, r: random.Random, state: State) -> list[Req]:
        w = self._worker_pick(r, state)
        if w is None:
            return []
        sts = [s for s in state.stations.values() if s.region[:4] == w[1][:4]]
        if sts and r.random() < 0.7:
            st = r.choice(sts)
            caller = self.cast.staff(st.station_id, st.region) if r.random() < 0.5 else None
            body: dict[str, Any] = {"station_id": st.station_id}
        else:
            city = next((c for c in CITIES if c[0][:4] == w[1][:4]), CITIES[0])
            caller, body = None, {"location": _point(r, city[1], city[2])}
        if r.random() < 0.3:
            body["available_until_ms"] = r.choice(
                (self.now_ms, self.now_ms + 1, self.now_ms + 3_600_000, MAX_MS - 1, 0)
            )
        caller = caller or self._front_for(w[1])
        return [self.req(r, caller, "CheckIn", body, {"worker_id": w[0]}, state=state)]

    def _check_out(self, r: random.Random, state: State) -> list[Req]:
        w = self._worker_pick(r, state)
        if w is None:
            return []
        return [self.req(r, self._front_for(w[1]), "CheckOut", {}, {"worker_id": w[0]},
                         state=state)]  # fmt: skip

    def _job(self, r: random.Random, state: State) -> list[Req]:
        st = self._station_pick(r, state)
        ems = [m for m in state.employers.values() if st and m.region[:4] == st.region[:4]]
        if st is None or not ems:
            return []
        em = r.choice(ems)
        code, title, level = r.choice(SKILLS)
        start = self.now_ms + r.choice((0, 600_000, 3_600_000, 86_400_000, 400 * 86_400_000))
        start = min(start, MAX_MS - 2) if r.random() < 0.97 else MAX_MS - 2
        body = {
            "job_id": f"J-{r.getrandbits(24):06x}",
            "employer_id": em.employer_id,
            "station_id": st.station_id,
            "title": self._text(r, title),
            "description": self._text(r, "日结"),
            "skill": code,
            "headcount": r.choice((1, 2, 3, 500)),
            "pay_fen": r.choice((level, level // 3, level * 5, 1, 10_000_000)),
            "pay_unit": r.choice(("day", "day", "hour", "piece")),
            "start_ms": start,
            "end_ms": start + r.choices((3_600_000, 8 * 3_600_000, -1), (4, 4, 1))[0],
            "location": _point(r, st.lat, st.lng, 1.0),
            "address": self._text(r, "工地"),
        }
        caller = self.cast.staff(st.station_id, st.region)
        if r.random() < 0.5:
            caller = self._front_for(st.region)
        return [self.req(r, caller, "SubmitJob", body, state=state)]

    def _station_pick(self, r: random.Random, state: State) -> Any:
        sts = [s for s in state.stations.values() if s.status == "approved"]
        return r.choice(sts) if sts else None

    def _review(self, r: random.Random, state: State) -> list[Req]:
        held = [j for j in state.jobs.values() if j.status == "held"]
        if not held:
            return []
        job = r.choice(held)
        st = state.stations.get(job.station_id)
        if st is None:
            return []
        body = {"approve": r.random() < 0.7, "note": self._text(r, "已核实")}
        return [self.req(r, self.cast.staff(st.station_id, st.region), "ReviewJob", body,
                         {"job_id": job.job_id}, state=state)]  # fmt: skip

    def _cancel(self, r: random.Random, state: State) -> list[Req]:
        if not state.jobs:
            return []
        job = r.choice(list(state.jobs.values()))
        return [self.req(r, self._front_for(job.region), "CancelJob",
                         {"reason": self._text(r, "不需要了")}, {"job_id": job.job_id},
                         state=state)]  # fmt: skip

    def _bell(self, r: random.Random, state: State) -> list[Req]:
        st = self._station_pick(r, state)
        if st is None:
            return []
        return [self.req(r, self.cast.staff(st.station_id, st.region), "RingBell", {},
                         {"station_id": st.station_id}, state=state)]  # fmt: skip

    def _offer(self, r: random.Random, state: State) -> tuple[str, str, str] | None:
        now = self.now_ms
        live = [o for o in state.offers.values() if o.status == "live" and o.expires_ms > now]
        pool = live if live and r.random() < 0.9 else list(state.offers.values())
        if not pool:
            return None
        o = r.choice(pool)
        return o.offer_id, state.worker_ids[o.worker_row], state.worker_region[o.worker_row]

    def _answer(self, r: random.Random, state: State, route: str, body: dict) -> list[Req]:
        o = self._offer(r, state)
        if o is None:
            return []
        sms = self.cast.sms.get(o[2][:4] + "00")
        caller = sms if sms is not None and r.random() < 0.3 else self._front_for(o[2])
        return [self.req(r, caller, route, body, {"worker_id": o[1], "offer_id": o[0]},
                         state=state)]  # fmt: skip

    def _accept(self, r: random.Random, state: State) -> list[Req]:
        return self._answer(r, state, "AcceptOffer", {})

    def _decline(self, r: random.Random, state: State) -> list[Req]:
        return self._answer(r, state, "DeclineOffer", {"reason": self._text(r, "太远")})

    def _hire(self, r: random.Random, state: State) -> list[Req]:
        if not state.hires:
            return []
        h = r.choice(list(state.hires.values()))
        job = state.jobs.get(h.job_id)
        region = job.region if job is not None else "420602"
        if r.random() < 0.7:  # the step its status calls for (else any: mostly refused)
            late = self.now_ms >= h.start_ms
            nxt = {
                "confirmed": ("ConfirmArrival", {}) if not late or r.random() < 0.8
                else ("ReportNoShow", {}),
                "arrived": ("CompleteWork", {}),
                "completed": ("PayWage", {"amount_fen": max(1, h.agreed_fen - h.paid_fen)
                                          if r.random() < 0.7 else max(1, h.pay_fen // 2),
                                          "method": r.choice(("cash", "wechat"))})
                if h.paid_fen < max(h.agreed_fen, 1) and r.random() < 0.7
                else ("Rate", {"by": r.choice(("worker", "employer")), "stars": r.randint(1, 5)}),
            }.get(h.status)  # fmt: skip
            if nxt is not None:
                return [self.req(r, self._front_for(region), nxt[0], nxt[1],
                                 {"hire_id": h.hire_id}, state=state)]  # fmt: skip
        route, body = r.choice((
            ("ConfirmArrival", {}), ("ReportNoShow", {}), ("CompleteWork", {}),
            ("PayWage", {"amount_fen": r.choice((1, h.pay_fen, 10_000_000)),
                         "method": r.choice(("cash", "wechat"))}),
            ("Rate", {"by": r.choice(("worker", "employer")), "stars": r.randint(1, 5)}),
        ))  # fmt: skip
        return [self.req(r, self._front_for(region), route, body, {"hire_id": h.hire_id},
                         state=state)]  # fmt: skip

    def _complaint(self, r: random.Random, state: State) -> list[Req]:
        if not state.hires:
            return []
        h = r.choice(list(state.hires.values()))
        job = state.jobs.get(h.job_id)
        region = job.region if job is not None else "420602"
        body = {
            "complaint_id": f"C-{r.getrandbits(20):05x}",
            "kind": r.choice(("wage_arrears", "safety", "fraud", "discrimination")),
            "employer_id": h.employer_id,
            "hire_id": h.hire_id,
            "worker_id": state.worker_ids[h.worker_row],
            "text": f"老板不给钱，请联系我{_mobile(r)}",  # sealed: contact details on purpose
        }
        return [self.req(r, self._front_for(region), "FileComplaint", body, state=state)]

    def _resolve(self, r: random.Random, state: State) -> list[Req]:
        if not state.complaints:
            return []
        cp = r.choice(list(state.complaints.values()))
        body = {"upheld": r.random() < 0.5, "note": self._text(r, "已调解")}
        return [self.req(r, self.cast.admin, "ResolveComplaint", body,
                         {"complaint_id": cp.complaint_id}, state=state)]  # fmt: skip

    def _flag(self, r: random.Random, state: State) -> list[Req]:
        if not state.employers:
            return []
        em = r.choice(list(state.employers.values()))
        return [self.req(r, self.cast.city_admin.get(em.region[:4] + "00", self.cast.admin),
                         "FlagEmployer", {"reason": r.choice(("wage_arrears", "fraud"))},
                         {"employer_id": em.employer_id}, state=state)]  # fmt: skip

    def _policy(self, r: random.Random, state: State) -> list[Req]:
        region = r.choice(("", "42", "4206", "420602", "37", "3701"))
        body = {"region": region, "policy": extreme_policy(r), "note": self._text(r, "调整")}
        caller = self.cast.admin if region == "" else r.choice(
            (self.cast.admin, self.cast.city_admin[CITIES[0][0]]))  # fmt: skip
        return [self.req(r, caller, "SetPolicy", body, hostile=0.05, state=state)]

    def _fuzz(self, r: random.Random, state: State) -> list[Req]:
        route = r.choice(ROUTES)
        base = self.requests(_KIND_OF.get(route.name, ""), r, state, self.now_ms)
        base = [q for q in base if q.route == route.name] or [
            Req(self.cast.admin, route.name, b"{}", {f: "X-1" for f in route.path_fields},
                self._key(r))]  # fmt: skip
        q = base[0]
        if route.named and not q.caller.named and r.random() < 0.7:
            # a named route's body is read only after the account check: fuzz it as a person
            q = q._replace(caller=r.choice(self.cast.officers[self._city(r)[0]]))
        body, content_type = fuzz_body(r, route.name, q.body)
        return [q._replace(body=body, content_type=content_type)]


_KIND_OF = {
    "RegisterStation": "station", "ChangeStationStatus": "station",
    "RegisterEmployer": "employer", "RegisterWorker": "worker", "UpdateWorker": "update_worker",
    "EraseWorker": "erase", "CheckIn": "check_in", "CheckOut": "check_out", "SubmitJob": "job",
    "ReviewJob": "review", "CancelJob": "cancel", "RingBell": "bell", "AcceptOffer": "accept",
    "DeclineOffer": "decline", "ConfirmArrival": "hire", "ReportNoShow": "hire",
    "CompleteWork": "hire", "PayWage": "hire", "Rate": "hire", "FileComplaint": "complaint",
    "ResolveComplaint": "resolve", "FlagEmployer": "flag", "SetPolicy": "policy",
    "ChangeComplaintStatus": "complaint_step", "ApplyStation": "station_life",
    "ReviewStation": "station_life", "ApproveStation": "station_life",
    "FileStation": "station_life", "OrderRectification": "station_life",
    "ConfirmRectification": "station_life", "RevokeStation": "station_life",
    "PublishTraining": "training", "SignUpTraining": "training", "CompleteTraining": "training",
    "PublishPolicyAnswer": "training",
}  # fmt: skip


# ---------------------------------------------------------------- bounds and fuzz ---


def _bounds(t: msgspec.inspect.Type) -> tuple[list[int | float], list[int | float]]:
    """(values at the bounds, values just beyond them) of a numeric type, else ([], [])."""
    at: list[int | float] = []
    out: list[int | float] = []
    if isinstance(t, msgspec.inspect.IntType):
        for b, d in ((t.ge, 0), (t.gt, 1), (t.le, 0), (t.lt, -1)):
            if b is not None:
                at.append(b + d)
                out.append(b + d + (-1 if d >= 0 and b in (t.ge, t.gt) else 1))
        return (at, out) if at else ([0], [-(2**63) - 1, 2**64])
    if isinstance(t, msgspec.inspect.FloatType):
        for b, d in ((t.ge, 0.0), (t.gt, 1e-9), (t.le, 0.0), (t.lt, -1e-9)):
            if b is not None:
                at.append(b + d)
                out.append(b + d + (-1e-6 if b in (t.ge, t.gt) else 1e-6))
        return (at, out) if at else ([0.0], [1e308, -1e308])
    return at, out


def _numeric_fields(struct: type) -> dict[str, tuple[list[int | float], list[int | float]]]:
    info = msgspec.inspect.type_info(struct)
    fields: dict[str, tuple[list[int | float], list[int | float]]] = {}
    for f in getattr(info, "fields", ()):
        t = f.type
        if isinstance(t, msgspec.inspect.UnionType):  # X | None
            t = next((u for u in t.types if not isinstance(u, msgspec.inspect.NoneType)), t)
        at, out = _bounds(t)
        if at:
            fields[f.name] = (at, out)
    return fields


def _extremes(r: random.Random, struct: type, beyond: float) -> dict[str, int | float]:
    """Some fields of `struct` at a bound; each beyond its bound with probability `beyond`."""
    vals: dict[str, int | float] = {}
    for name, (at, out) in _numeric_fields(struct).items():
        if r.random() < 0.5:
            vals[name] = r.choice(out if r.random() < beyond else at)
    return vals


def extreme_policy(r: random.Random) -> dict[str, Any]:
    """A policy whose bounded fields sit at their extremes (rarely one beyond)."""
    beyond = 0.0 if r.random() < 0.8 else 0.1
    policy: dict[str, Any] = dict(_extremes(r, Policy, beyond))
    if r.random() < 0.5:
        policy["weights"] = _extremes(r, Weights, beyond)
    if r.random() < 0.5:
        policy["speeds"] = _extremes(r, TravelSpeeds, beyond)
    if r.random() < 0.3:
        policy["local_day_pay_fen"] = {code: r.choice((1, 10_000_000)) for code in SKILL_CODES}
    return policy


_WRONG: tuple[object, ...] = (
    "12",
    "",
    None,
    [],
    {},
    True,
    1.5,
    2**64,
    -(2**63) - 1,
    "NaN",
    "1e309",
    [1, [2]],
    PHONE,
)


def fuzz_body(r: random.Random, route: str, valid: bytes) -> tuple[bytes, str]:
    """A hostile variant of a valid body of `route`, and the content type to send."""
    try:
        base = json.loads(valid)
    except ValueError:
        base = {}
    if not isinstance(base, dict):
        base = {}
    numeric = _numeric_fields(bodies.body_type(BY_NAME[route], with_path=False))
    x = r.randrange(12)
    if x == 0:
        depth = r.choice((33, 100, 5000))
        return b"[" * depth + b"]" * depth, JSON
    if x == 1:
        inner = b'{"a":' * r.choice((31, 40)) + b"1" + b"}" * r.choice((31, 40))
        return valid[:-1] + b',"x":' + inner + b"}" if valid.endswith(b"}") else inner, JSON
    if x == 2:
        return dumps({**base, "title": "长" * r.choice((40_000, 22_000))}), JSON
    if x == 3 and base:
        k = r.choice(sorted(base))
        return dumps({**base, k: r.choice(_WRONG)}), JSON
    if x == 4 and numeric:
        k = r.choice(sorted(numeric))
        return dumps({**base, k: r.choice(numeric[k][0] + numeric[k][1])}), JSON
    if x == 5:
        return dumps({**base, "unknown_field": 1}), JSON
    if x == 6:
        return r.choice((b"{", b"", b"null", b"[]", b'{"a":1,"a":2}', b"\xff\xfe{}",
                         b'{"x":NaN}', b"1e309", b'"' + b"\\u0000" * 10 + b'"')), JSON  # fmt: skip
    if x == 7:
        return valid, r.choice(("text/plain", "application/xml", "multipart/form-data"))
    if x == 8 and base:
        ids = [k for k in sorted(base) if k.endswith("_id")]
        if ids:
            return dumps({**base, r.choice(ids): r.choice((PHONE, "110101199003071234"))}), JSON
    if x == 9 and base:
        texts = [k for k in sorted(base) if isinstance(base[k], str) and not k.endswith("_id")]
        if texts:
            return dumps({**base, r.choice(texts): f"电话 {PHONE} 身份证 11010519491231002X"}), JSON
    if x == 10:
        return dumps({**base, **{k: r.choice(v[0] + v[1]) for k, v in numeric.items()}}), JSON
    return dumps(base), JSON
