"""The complainant is told of each step of their complaint case by SMS (issue 14): the
publisher puts `ComplaintStatusChanged` on the subjects the SMS pusher reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.gate.tokens import TokenStore
from adapters.nats import sms_text as tx
from adapters.nats.bridge import NatsBridge
from adapters.nats.conn import LoopThread
from adapters.nats.sms import FileGateway, SmsPusher
from adapters.shell.runtime import ManualClock
from engine import commands as c
from engine import events as e
from sim.morning import local_midnight_ms
from tests.nats.helpers import Tally, engine_service, hiring_scenario, near
from tests.nats.servers import NatsServer, start_server

T0 = local_midnight_ms("2026-11-23") + 10 * 3_600_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    s = start_server(tmp_path_factory.mktemp("nats-sms-complaints"))
    try:
        yield s
    finally:
        s.kill()


def test_complaint_text_names_kind_and_step() -> None:
    assert tx.complaint_text("wage_arrears", "accepted") == (
        "【零工】您的投诉（拖欠工资）已受理，我们将在办结时限内处理"
    )
    assert tx.complaint_text("safety", "rejected").startswith(
        "【零工】您的投诉（安全问题）不予受理"
    )
    for kind in ("wage_arrears", "safety", "fraud", "discrimination"):
        for step in ("accepted", "investigating", "resolved", "rejected"):
            assert len(tx.complaint_text(kind, step)) <= tx.SEGMENT_CHARS


def test_each_step_is_texted_to_the_complainant_once(server: NatsServer, tmp_path: Path) -> None:
    outbox = tmp_path / "sms.jsonl"
    data = tmp_path / "engine"
    gateway, _ = TokenStore(data).create("sms_gateway", "4206", note="SMS gateway")
    outcomes = Tally()
    lt = LoopThread("test-sms-complaints")
    pusher = SmsPusher(
        server.url,
        FileGateway(outbox),
        clock=lambda: T0 + 9 * 3_600_000,
        since_s=3600,
        on_outcome=lambda ev_id, outcome: outcomes.note((ev_id, outcome)),
        token=gateway,
    )
    service = engine_service(data, clock=ManualClock(T0))
    bridge = None
    try:
        lt.run(pusher.start())
        bridge = NatsBridge(service, server.url, partition="4206", data_dir=data).start()
        results = [service.execute(cmd) for cmd in hiring_scenario(T0)]
        offer = next(ev for ev in results[-1].events if isinstance(ev, e.OfferMade))
        acc = service.execute(c.AcceptOffer(command_id="ac", ts_ms=T0 + 1000,
                                            offer_id=offer.offer_id, worker_id=offer.worker_id))  # fmt: skip
        assert acc.ok, acc.refusal
        hire_id = next(ev.hire_id for ev in acc.events if isinstance(ev, e.HireConfirmed))
        later = T0 + 10 * 3_600_000
        steps = [
            c.FileComplaint(command_id="cp", ts_ms=later, complaint_id="C1", kind="wage_arrears",
                            employer_id="E1", hire_id=hire_id, text="未结工资"),
            c.ChangeComplaintStatus(command_id="s1", ts_ms=later + 1, complaint_id="C1",
                                    status="accepted", note="已联系雇主"),
            c.ChangeComplaintStatus(command_id="s2", ts_ms=later + 2, complaint_id="C1",
                                    status="resolved", note="工资已付清"),
        ]  # fmt: skip
        for cmd in steps:
            res = service.execute(cmd)
            assert res.ok, res.refusal
            results.append(res)
        texted = ("OfferMade", "PushSent", "ComplaintStatusChanged")
        n = sum(type(ev).__name__ in texted for r in results for ev in r.events)
        outcomes.wait_until(lambda items: len({ev for ev, o in items if o != "retry"}) >= n)
        mine = [
            t["text"]
            for t in (json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines())
            if t["worker_id"] == offer.worker_id and "投诉" in t["text"]
        ]
        assert mine == [
            tx.complaint_text("wage_arrears", "accepted"),
            tx.complaint_text("wage_arrears", "resolved"),
        ]
        assert "工资已付清" not in outbox.read_text(encoding="utf-8")  # notes are not texted
    finally:
        if bridge is not None:
            bridge.close()
        lt.run(pusher.stop())
        lt.stop()
        service.stop()
        service.runtime.close()


def test_a_counter_worker_without_a_mobile_is_never_texted(tmp_path: Path) -> None:
    server = start_server(tmp_path / "nats")  # its own stream: only this test's events
    outbox = tmp_path / "sms.jsonl"
    data = tmp_path / "engine"
    gateway, _ = TokenStore(data).create("sms_gateway", "4206", note="SMS gateway")
    outcomes = Tally()
    lt = LoopThread("test-sms-counter")
    pusher = SmsPusher(
        server.url,
        FileGateway(outbox),
        clock=lambda: T0 + 60_000,
        since_s=3600,
        durable="sms-counter",
        queue="sms-counter",
        on_outcome=lambda ev_id, outcome: outcomes.note((ev_id, outcome)),
        token=gateway,
    )
    service = engine_service(data, clock=ManualClock(T0))
    bridge = None
    try:
        lt.run(pusher.start())
        bridge = NatsBridge(service, server.url, partition="4206", data_dir=data).start()
        cmds = [x for x in hiring_scenario(T0, tag="k") if not isinstance(x, c.CheckIn)]
        job = cmds.pop()  # the posting comes after the counter worker checked in
        counter = c.RegisterWorker(
            command_id="k-rw", ts_ms=T0 - 20_000, worker_id="WK", region="420602",
            personal=c.Personal(name="王大爷"), birth_year=1962, skills=("moving",),
            min_pay_fen=10000, home=near(), station_id="S1",
        )  # fmt: skip
        checkin = c.CheckIn(command_id="k-ci", ts_ms=T0 - 5_000, worker_id="WK", station_id="S1")
        results = [service.execute(cmd) for cmd in [*cmds, counter, checkin, job]]
        assert all(r.ok for r in results), [r.refusal for r in results if not r.ok]
        to_wk = [ev for r in results for ev in r.events
                 if isinstance(ev, e.OfferMade) and ev.worker_id == "WK"]  # fmt: skip
        assert to_wk  # the counter worker got an offer
        texted = ("OfferMade", "PushSent")
        n = sum(type(ev).__name__ in texted for r in results for ev in r.events)
        outcomes.wait_until(lambda items: len({ev for ev, o in items if o != "retry"}) >= n)
        sent = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
        assert sent and all(t["worker_id"] != "WK" for t in sent)
        assert pusher.stats.skipped.get("station_contact", 0) == len(to_wk)
    finally:
        if bridge is not None:
            bridge.close()
        lt.run(pusher.stop())
        lt.stop()
        service.stop()
        service.runtime.close()
        server.kill()
