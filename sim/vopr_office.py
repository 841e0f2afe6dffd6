"""The simulator's office work: what bureaus and stations do besides the morning.

Owns: `OfficeSteps`, the step builders `sim.vopr_steps.Crowd` inherits for a station's
life (申报, 审核, 批准, 备案, 限期整改, 整改确认, 撤销, by the city's officer accounts),
complaint case steps, trainings (publish, sign up, complete, policy Q&A) and an ordinary
hire from check-in to accepted offer (`quick_hire`); `point` and `mobile`, the synthetic
places and numbers every step uses.

Invariants: as `sim.vopr_steps` (a step's requests depend only on its seed, the state and
what was sent before; no wall clock, no global random state; synthetic personal data).
Ordinary requests mostly, with the mistakes people make: a step taken twice by the same
account, a skipped or repeated case step, a deadline the clock may pass.

Limits: training ids and station ids from small ranges (later ones collide and are
refused as duplicates); sessions of at most 40 places.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engine.state import State
from sim.morning import SKILLS

if TYPE_CHECKING:
    from sim.vopr_steps import Req

# points a hostile or careless caller sends: Seoul, Hong Kong, Taipei, the sea, the poles
ODD_POINTS = ((37.5665, 126.978), (22.3193, 114.1694), (25.033, 121.5654), (30.0, 125.0),
              (90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (53.56, 123.26), (18.2, 109.5))  # fmt: skip


def point(r: random.Random, lat: float, lng: float, km: float = 3.0) -> dict[str, Any]:
    x = r.random()
    if x < 0.03:
        odd = r.choice(ODD_POINTS)
        return {"lat": odd[0], "lng": odd[1]}
    point: dict[str, Any] = {
        "lat": round(lat + r.uniform(-km, km) / 111.0, 6),
        "lng": round(lng + r.uniform(-km, km) / 95.0, 6),
    }
    if x > 0.85:
        point["datum"] = r.choice(("gcj02", "bd09"))
    return point


def mobile(r: random.Random) -> str:
    return "1" + r.choice("3589") + "".join(r.choice("0123456789") for _ in range(9))


class OfficeSteps:
    """Mixed into `Crowd` (which provides `cast`, `req`, `_text`, `_city`, `_front_for`)."""

    cast: Any
    now_ms: int

    def _complaint_step(self, r: random.Random, state: State) -> list[Req]:
        """A case moved on by its station's staff (or an admin): usually the next step,
        sometimes a skipped or repeated one (refused)."""
        if not state.complaints:
            return []
        cp = r.choice(list(state.complaints.values()))
        order = ("accepted", "investigating", "resolved", "rejected")
        nxt = {"open": "accepted", "accepted": "investigating"}.get(cp.status)
        status = nxt if nxt and r.random() < 0.8 else r.choice(order)
        if status == "resolved" and r.random() < 0.3:
            status = "rejected"
        st = state.stations.get(cp.station_id)
        caller = (self.cast.staff(st.station_id, st.region) if st is not None
                  and r.random() < 0.8 else self.cast.admin)  # fmt: skip
        body = {"status": status, "note": self._text(r, "已联系双方")}
        return [self.req(r, caller, "ChangeComplaintStatus", body,
                         {"complaint_id": cp.complaint_id}, state=state)]  # fmt: skip

    def _station_life(self, r: random.Random, state: State) -> list[Req]:
        """申报 a new 驿站, or the next step of one in its life (审核, 批准, 备案, 限期整改
        with a deadline of 1-3 days that the clock may pass, 整改确认, 撤销), each by
        one of the city's officer accounts (sometimes the same one twice: refused)."""
        region, lat, lng = self._city(r)
        officers = self.cast.officers[region]
        steps = {
            "applied": "ReviewStation",
            "reviewed": "ApproveStation",
            "approved": "OrderRectification",
            "rectifying": "ConfirmRectification",
        }
        live = [s for s in state.stations.values()
                if s.region[:4] == region[:4] and s.status in steps]  # fmt: skip
        if not live or r.random() < 0.3:
            hubs = [s for s in state.stations.values()
                    if s.region[:4] == region[:4] and s.kind == "hub"]  # fmt: skip
            sid = f"ST-{region[:4]}9{r.randint(1, 4)}-{r.randrange(400)}"
            body = {
                "station_id": sid, "name": self._text(r, f"驿站{sid[-3:]}"), "kind": "post",
                "parent_id": r.choice(hubs).station_id if hubs else "",
                "region": region[:4] + "02", "location": point(r, lat, lng),
                "address": self._text(r, "人民路2号"),
                "area_m2": r.choice((20, 40, 200)), "head": {"name": "王建国",
                "mobile": mobile(r)}, "hotline": r.choice(("", "0710-3611234")),
                "open_min": 7 * 60, "close_min": r.choice((9 * 60, 17 * 60)),
                "services": ["registration", "posting", "training_signup", "policy_advice"],
                "staff_count": r.choice((0, 2)),
            }  # fmt: skip
            if r.random() < 0.6:  # materials that meet the conditions: the life goes on
                body.update(area_m2=200, hotline="0710-3611234", close_min=17 * 60,
                            staff_count=2)  # fmt: skip
            return [self.req(r, r.choice((self._front_for(region), officers[0])),
                             "ApplyStation", body, state=state)]  # fmt: skip
        st = r.choice(live)
        route = steps[st.status]
        body: dict[str, Any] = {}
        if route == "ReviewStation":
            body = {"passed": r.random() < 0.8, "note": self._text(r, "材料齐全")}
        elif route == "OrderRectification":
            if st.filing_no == "" and r.random() < 0.5:
                route, body = "FileStation", {"filing_no": f"备〔2026〕{r.randrange(999)}号"}
            else:
                body = {"items": self._text(r, "补齐服务热线"), "days": r.randint(1, 3)}
        if r.random() < 0.1:
            route, body = "RevokeStation", {"reason": self._text(r, "不再符合条件")}
        return [self.req(r, r.choice(officers), route, body, {"station_id": st.station_id},
                         hostile=0.05, state=state)]  # fmt: skip

    def _quick_hire(self, r: random.Random, state: State) -> Iterator[Req]:
        """An ordinary hire up to its acceptance: a worker checks in at an approved station
        of their city, an employer of the city posts a fair job of one of their skills
        there starting soon, and the worker accepts the offer it made them. Each request
        is built after the one before was executed (the offer id is the engine's). Random
        `accept` steps rarely find a live offer, so without this step hires are few and
        what follows them (arrival, pay, arrears, complaints, departures) is seldom run."""
        w = state.workers
        rows = [i for i in range(len(state.worker_ids)) if w.active[i]]
        if not rows:
            return
        row = r.choice(rows)
        wid, region = state.worker_ids[row], state.worker_region[row]
        sts = [s for s in state.stations.values()
               if s.status == "approved" and s.region[:4] == region[:4]]  # fmt: skip
        ems = [m for m in state.employers.values() if m.region[:4] == region[:4]]
        mask = int(w.skills[row])
        codes = [code for code, _, _ in SKILLS if (state.skills.bit(code) or 0) & mask]
        if not sts or not ems or not codes:
            return
        st, em, code = r.choice(sts), r.choice(ems), r.choice(codes)
        level = next(lv for c, _, lv in SKILLS if c == code)
        yield self.req(r, self.cast.staff(st.station_id, st.region), "CheckIn",
                       {"station_id": st.station_id}, {"worker_id": wid}, hostile=0.02,
                       state=state)  # fmt: skip
        start = self.now_ms + r.choice((60_000, 600_000, 3_600_000))
        job_id = f"J-q{r.getrandbits(24):06x}"
        body = {
            "job_id": job_id, "employer_id": em.employer_id, "station_id": st.station_id,
            "title": self._text(r, "日结工"), "description": self._text(r, "日结"),
            "skill": code, "headcount": r.choice((1, 1, 2)),
            "pay_fen": max(level, int(w.min_pay_fen[row])), "pay_unit": "day",
            "start_ms": start, "end_ms": start + r.choice((2, 8)) * 3_600_000,
            "location": point(r, st.lat, st.lng, 0.5), "address": self._text(r, "工地"),
        }  # fmt: skip
        yield self.req(r, self.cast.staff(st.station_id, st.region), "SubmitJob", body,
                       hostile=0.02, state=state)  # fmt: skip
        mine = [oid for oid in state.offers_by_job.get(job_id, ())
                if state.offers[oid].worker_row == row]  # fmt: skip
        if mine and r.random() < 0.9:
            route = "AcceptOffer" if r.random() < 0.85 else "DeclineOffer"
            body = {} if route == "AcceptOffer" else {"reason": self._text(r, "太远")}
            yield self.req(r, self._front_for(region), route, body,
                           {"worker_id": wid, "offer_id": mine[-1]}, hostile=0.02,
                           state=state)  # fmt: skip

    def _training(self, r: random.Random, state: State) -> list[Req]:
        """A station publishes a session (some in the past or full soon), a worker of the
        city signs up at the counter, by app or by SMS reply, staff record completions."""
        trainings = list(state.training.trainings.items())
        if not trainings or r.random() < 0.3:
            sts = [s for s in state.stations.values() if s.status == "approved"]
            if not sts:
                return []
            st = r.choice(sts)
            start = self.now_ms + r.choice((-1, 1, 24, 72)) * 3_600_000
            body = {
                "training_id": f"T-{r.randrange(60)}", "title": self._text(r, "叉车操作培训"),
                "skill": r.choice(("", "moving")), "start_ms": start,
                "end_ms": start + r.choice((2, 8)) * 3_600_000, "capacity": r.randint(1, 40),
                "address": self._text(r, "人民路3号"),
            }  # fmt: skip
            return [self.req(r, self.cast.staff(st.station_id, st.region), "PublishTraining",
                             body, {"station_id": st.station_id}, state=state)]  # fmt: skip
        if r.random() < 0.15:  # 政策咨询: a station publishes a Q&A entry
            sts = [s for s in state.stations.values() if s.status == "approved"]
            if not sts:
                return []
            st = r.choice(sts)
            body = {
                "entry_id": f"QA-{r.randrange(40)}", "topic": self._text(r, "社保补贴"),
                "question": self._text(r, "灵活就业社保补贴怎么申请？"),
                "answer": self._text(r, "到街道社保窗口申请，按季度审核发放。"),
            }  # fmt: skip
            return [self.req(r, self.cast.staff(st.station_id, st.region),
                             "PublishPolicyAnswer", body, {"station_id": st.station_id},
                             state=state)]  # fmt: skip
        training_id, tr = r.choice(trainings)
        st = state.stations.get(tr.station_id)
        region = tr.region if st is None else st.region
        signed = list(tr.signed)
        if signed and r.random() < 0.3 and st is not None:
            body = {"worker_id": r.choice(signed)}
            return [self.req(r, self.cast.staff(st.station_id, region), "CompleteTraining",
                             body, {"training_id": training_id}, state=state)]  # fmt: skip
        rows = [i for i, reg in enumerate(state.worker_region) if reg[:4] == region[:4]]
        if not rows:
            return []
        worker_id = state.worker_ids[r.choice(rows)]
        channel = r.choice(("counter", "app", "sms"))
        caller = {"counter": self.cast.staff(tr.station_id, region),
                  "app": self._front_for(region),
                  "sms": self.cast.sms.get(region[:4] + "00", self.cast.admin)}[channel]  # fmt: skip
        body = {"worker_id": worker_id, "channel": channel}
        return [self.req(r, caller, "SignUpTraining", body, {"training_id": training_id},
                         state=state)]  # fmt: skip
