"""A small two-region world behind a real HTTP app, for the HTTP tests.

Xiangyang (420602, token prefix 4206): hub S1, branch S2, employer E1, workers W1 (hired
on J1 as H1), W2 (holding live offers O2 on J2), WX (to erase); a held posting JH, an
open posting JX (to cancel), complaint C1 about E1 on H1.
Wuhan (420102, token prefix 4201): hub SW, employer EW, worker WW, posting JW.
Training T0 at S1 (05:00-20:00, 500 places), nobody signed up.
Built through the engine service (the commands a front end would send, sent as the
market's operator `sim.callers.OPERATOR`), with a fake
clock at 06:00 of 2026-11-23 Asia/Shanghai and no ticker, so nothing moves unless a
test sends it.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from litestar.testing import TestClient

from adapters.gate.tokens import TokenStore
from adapters.http.app import create_app
from adapters.http.auth import Limits
from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService
from engine import commands as c
from sim.callers import OPERATOR
from sim.morning import make_id_number, make_uscc
from tests.support import XY, at, near

WUHAN = (30.5930, 114.3050)
HOME, OTHER = "4206", "4201"
ROLES = ("front_end", "station_staff", "auditor", "admin", "sms_gateway")
E1_MOBILE = "13912345678"
STAFF_NAMES = {HOME: "张三明", OTHER: "欧阳小明"}  # the station staff tokens are issued to
# the regional admin tokens are issued to a person too (a station's life: named steps)
ADMIN_NAMES = {("admin", HOME): "李建华", ("admin", OTHER): "赵国强"}


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


@dataclass
class Env:
    data_dir: Path
    runtime: Runtime
    service: EngineService
    clock: Clock
    client: TestClient
    logs: io.StringIO
    tokens: dict[str, str] = field(default_factory=dict)  # "role/region" -> token
    ids: dict[str, str] = field(default_factory=dict)  # symbolic name -> engine id

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def log_text(self) -> str:
        """What the app logged so far (request lines are written in batches: flush first)."""
        self.client.app.flush_telemetry()
        return self.logs.getvalue()

    @property
    def seq(self) -> int:
        return self.runtime.log.last_seq

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.service.stop()
        self.runtime.close()


_n = [0]


def q(engine_id: str) -> str:
    """An id as a path segment ('/' inside hire and offer ids becomes %2F)."""
    return quote(engine_id, safe="")


def _cid() -> str:
    _n[0] += 1
    return f"world-{_n[0]}"


def run(svc: EngineService, cmd: c.Command):
    res = svc.execute(cmd, OPERATOR)  # the market's operator (sim.callers): an admin
    assert res.ok, (type(cmd).__name__, res.refusal)
    return res


def station(svc, t, sid, region, where, kind="hub", parent="", name=None):
    run(svc, c.RegisterStation(command_id=_cid(), ts_ms=t, station_id=sid, name=name or f"{sid}站",
                               kind=kind, parent_id=parent, region=region, location=where))  # fmt: skip
    run(svc, c.ChangeStationStatus(command_id=_cid(), ts_ms=t, station_id=sid, status="approved"))


def employer(svc, t, eid, region, mobile=E1_MOBILE):
    run(svc, c.RegisterEmployer(command_id=_cid(), ts_ms=t, employer_id=eid, kind="organisation",
                                name=f"{eid}建筑劳务公司", uscc=make_uscc(random.Random(eid), region),
                                region=region, contact=c.Personal(name="李四", mobile=mobile)))  # fmt: skip


def worker(svc, t, wid, region, where, station=""):
    idn = make_id_number(random.Random(wid), region, 1975)
    run(svc, c.RegisterWorker(command_id=_cid(), ts_ms=t, worker_id=wid, region=region,
                              personal=c.Personal(name="张三", mobile="13812341234", id_number=idn),
                              skills=("moving",), min_pay_fen=15000, home=where,
                              station_id=station))  # fmt: skip


def job(svc, t, jid, sid, eid, where, heads=1, pay=30000, title="搬家工"):
    return run(svc, c.SubmitJob(command_id=_cid(), ts_ms=t, job_id=jid, employer_id=eid,
                                station_id=sid, title=title, skill="moving", headcount=heads,
                                pay_fen=pay, start_ms=at(8), end_ms=at(14), location=where))  # fmt: skip


def live_offers(svc: EngineService, wid: str) -> list[str]:
    return svc.read(lambda s: list(s.live_offers_of(s.worker_rows[wid])))


def build_world(svc: EngineService, clock: Clock) -> dict[str, str]:
    t = clock.now_ms()
    station(svc, t, "S1", "420602", near(), name="襄阳市零工总站")
    station(svc, t, "S2", "420602", near(2000, 0), kind="branch", parent="S1")
    station(svc, t, "SW", "420102", near(base=WUHAN), name="武汉零工总站")
    employer(svc, t, "E1", "420602")
    employer(svc, t, "EW", "420102", mobile="13712345678")
    for wid in ("W1", "W2", "WX"):
        worker(svc, t, wid, "420602", near(), station="S1")
    worker(svc, t, "WW", "420102", near(base=WUHAN), station="SW")
    run(svc, c.CheckIn(command_id=_cid(), ts_ms=t, worker_id="W1", station_id="S1"))
    job(svc, t, "J1", "S1", "E1", near(100, 100))
    (o1,) = live_offers(svc, "W1")
    run(svc, c.AcceptOffer(command_id=_cid(), ts_ms=t, offer_id=o1, worker_id="W1"))
    hire = svc.read(lambda s: next(iter(s.hires)))
    run(svc, c.CheckIn(command_id=_cid(), ts_ms=t, worker_id="W2", station_id="S1"))
    job(svc, t, "J2", "S1", "E1", near(150, 0), heads=2, title="装修搬运工")
    (o2,) = live_offers(svc, "W2")
    job(svc, t, "JH", "S1", "E1", near(50, 50), pay=100_000, title="高薪临时工")
    job(svc, t, "JX", "S1", "E1", near(80, 0), title="清洁工")
    job(svc, t, "JW", "SW", "EW", near(100, 0, base=WUHAN), title="武汉搬家工")
    run(svc, c.FileComplaint(command_id=_cid(), ts_ms=t, complaint_id="C1", kind="safety",
                             employer_id="E1", worker_id="W1", hire_id=hire))  # fmt: skip
    run(svc, c.PublishTraining(command_id=_cid(), ts_ms=t, training_id="T0", station_id="S1",
                               title="安全生产培训", start_ms=at(5), end_ms=at(20), capacity=500,
                               staff_id=OPERATOR.actor_id))  # fmt: skip
    held = svc.read(lambda s: s.jobs["JH"].status)
    assert held == "held", held
    return {"H1": hire, "O1": o1, "O2": o2}


def make_env(data_dir: Path, *, limits: Limits | None = None, fsync: bool = False) -> Env:
    clock = Clock(at(6))
    runtime = Runtime(data_dir, clock=clock, fsync=fsync)
    service = EngineService(runtime, tick_ms=0).start()
    ids = build_world(service, clock)
    store = TokenStore(data_dir)
    stations = service.read(lambda s: {sid: st.region for sid, st in s.stations.items()})
    tokens: dict[str, str] = {}
    for region in (HOME, OTHER):
        for role in ROLES:
            station_id = ("S1" if region == HOME else "SW") if role == "station_staff" else ""
            name = (
                STAFF_NAMES[region]
                if role == "station_staff"
                else ADMIN_NAMES.get((role, region), "")
            )
            tokens[f"{role}/{region}"], _ = store.create(
                role, region, station_id, stations=stations, name=name
            )
    tokens["station_staff/4206/S2"], _ = store.create(
        "station_staff", HOME, "S2", stations=stations, name="王小红"
    )
    tokens["admin/*"], _ = store.create("admin", "", nationwide=True)
    logs = io.StringIO()
    app = create_app(service, data_dir=data_dir, limits=limits, log_stream=logs)
    client = TestClient(app)
    client.__enter__()
    return Env(data_dir, runtime, service, clock, client, logs, tokens, ids)


__all__ = ["q", "XY", "WUHAN", "Env", "make_env", "build_world", "Clock", "HOME", "OTHER", "ROLES"]
