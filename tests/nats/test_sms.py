"""The SMS pusher end to end: a posting's offers and pushes texted once, replies act."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from adapters.gate.tokens import TokenStore
from adapters.nats import sms_text as tx
from adapters.nats.bridge import NatsBridge
from adapters.nats.conn import LoopThread
from adapters.nats.sms import REPLY_SUBJECT, FileGateway, SmsPusher
from adapters.shell.runtime import ManualClock
from engine import commands as c
from sim.morning import local_midnight_ms
from tests.nats.helpers import (
    HANG_S,
    Tally,
    connect,
    engine_service,
    hiring_scenario,
    near,
    unique,
)
from tests.nats.servers import NatsServer, start_server

T0 = local_midnight_ms("2026-11-23") + 10 * 3_600_000  # 10:00 in Xiangyang


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    s = start_server(tmp_path_factory.mktemp("nats-sms"))
    try:
        yield s
    finally:
        s.kill()


def texts(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


SMS_TYPES = ("OfferMade", "PushSent")


def sms_events(results) -> int:
    return sum(type(ev).__name__ in SMS_TYPES for r in results for ev in r.events)


def settled(outcomes: Tally, n: int) -> None:
    """Wait until the pushers have settled (texted or skipped) `n` distinct events: then
    everything they were given is handled and nothing more can come."""
    outcomes.wait_until(lambda items: len({ev for ev, o in items if o != "retry"}) >= n)


def test_texts_once_across_publisher_restart_and_replies_accept(
    server: NatsServer, tmp_path: Path
) -> None:
    outbox = tmp_path / "sms.jsonl"
    now = {"ms": T0 + 90_000}  # 10:01:30 local: W6's quiet hours started at 10:01
    lt = LoopThread("test-sms")
    data = tmp_path / "engine"
    gateway, _ = TokenStore(data).create("sms_gateway", "4206", note="SMS gateway")
    outcomes = Tally()  # (event id, outcome) of every settled delivery, from both pushers
    pushers = [
        SmsPusher(
            server.url,
            FileGateway(outbox),
            clock=lambda: now["ms"],
            since_s=3600,
            on_outcome=lambda ev_id, outcome: outcomes.note((ev_id, outcome)),
            token=gateway,
        )
        for _ in range(2)  # two pushers in the queue group share the work
    ]
    # the engine's clock: SMS replies carry no time, the service stamps it from here
    service = engine_service(data, clock=ManualClock(T0 + 61_000))
    bridge = None
    try:
        for p in pushers:
            lt.run(p.start())
        bridge = NatsBridge(service, server.url, partition="4206", data_dir=data).start()
        results = [service.execute(cmd) for cmd in hiring_scenario(T0)]
        assert all(r.ok for r in results)
        offers = {ev.worker_id: ev for ev in results[-1].events if type(ev).__name__ == "OfferMade"}
        assert sorted(offers) == ["W1", "W2", "W3"]
        first = sms_events(results)
        assert first == 6  # three offers, three pushes
        settled(outcomes, first)
        sent = texts(outbox)
        by_worker = {t["worker_id"]: t["text"] for t in sent}
        assert len(sent) == 5 and sorted(by_worker) == ["W1", "W2", "W3", "W4", "W5"]
        for w in ("W1", "W2", "W3"):
            d = tx.distance_text(offers[w].distance_m)
            assert by_worker[w] == f"【零工】搬家 2人 300 元/天 距您 {d} 回复1接单 2拒绝"
        assert by_worker["W4"].startswith("【零工】附近新岗位 搬家 2人 300 元/天 距您 ")
        skipped = {}
        for p in pushers:
            for k, v in p.stats.skipped.items():
                skipped[k] = skipped.get(k, 0) + v
        assert skipped == {"quiet_hours": 1}  # W6
        assert sum(p.stats.sent for p in pushers) == 5

        # the publisher restarts and, having lost its position, publishes everything again
        bridge.close()
        _reset_positions(server.url)
        bridge = NatsBridge(service, server.url, partition="4206", data_dir=data).start()
        assert bridge.publisher is not None and bridge.publisher.wait_idle(HANG_S)
        assert bridge.publisher.stats.duplicates > 0
        second = service.execute(
            c.SubmitJob(
                command_id="c-j2",
                ts_ms=T0 + 60_000,
                job_id="J2",
                employer_id="E1",
                station_id="S1",
                title="装卸",
                skill="moving",
                headcount=1,
                pay_fen=25050,
                pay_unit="day",
                start_ms=T0 + 7_200_000,
                end_ms=T0 + 10 * 3_600_000,
                location=near(-100, 50),
            )
        )
        assert second.ok
        new_targets = sorted(
            ev.worker_id for ev in second.events if type(ev).__name__ in ("OfferMade", "PushSent")
        )
        assert new_targets
        quiet = 1 if "W6" in new_targets else 0
        settled(outcomes, first + sms_events([second]))
        sent = texts(outbox)
        assert len(sent) == 5 + len(new_targets) - quiet
        ids = [t["event_id"] for t in sent]
        assert len(ids) == len(set(ids))  # each event texted once
        assert any("250.50 元/天" in t["text"] for t in sent[5:])

        # forged replies (no token, a front end's token) change nothing and text no one
        texted = len(texts(outbox))
        forged = {"worker_id": "W1", "text": "1", "reply_id": "r-0"}
        assert not _request(server.url, forged, None)["ok"]
        front, _ = TokenStore(data).create("front_end", "4206")
        assert _request(server.url, forged, front)["code"] == 403
        assert service.read(lambda st: len(st.hires)) == 0 and len(texts(outbox)) == texted
        # W1 answers its offer for J1 with "1": the engine hires W1
        reply = _request(server.url, {"worker_id": "W1", "text": "１", "reply_id": "r-1"}, gateway)
        # W1 has since been texted about J2 too: the reply goes to the LAST offer texted
        last_offer_w1 = [t for t in sent if t["worker_id"] == "W1"][-1]
        assert reply["ok"], reply
        assert reply["command"] == "AcceptOffer"
        assert reply["result"]["ok"] and reply["result"]["events"][0]["type"] == "OfferAccepted"
        assert last_offer_w1["text"].endswith("回复1接单 2拒绝")
        # the pusher texts the outcome before it answers the reply
        assert texts(outbox)[-1]["text"].startswith("【零工】已接单")
        # the same reply again (a gateway retry) changes nothing; nothing left to answer
        again = _request(server.url, {"worker_id": "W1", "text": "1", "reply_id": "r-1"}, gateway)
        assert not again["ok"] and again["error"] == "no offer to answer"
        hires = service.read(lambda st: [h.job_id for h in st.hires.values()])
        assert len(hires) == 1
        bad = _request(
            server.url, {"worker_id": "W2", "text": "明天再说", "reply_id": "r-2"}, gateway
        )
        assert bad == {"ok": False, "error": "unknown reply"}
        assert texts(outbox)[-1] == {**texts(outbox)[-1], "worker_id": "W2", "text": tx.HELP_TEXT}
    finally:
        if bridge is not None:
            bridge.close()
        for p in pushers:
            lt.run(p.stop())
        lt.stop()
        service.stop()
        service.runtime.close()


def _request(url: str, body: dict, token: str | None) -> dict:
    """A reply as the SMS gateway's webhook publishes it (with its bearer token)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None

    async def go() -> dict:
        nc = await connect(url)
        try:
            msg = await nc.request(
                REPLY_SUBJECT, json.dumps(body).encode(), timeout=HANG_S, headers=headers
            )
            return json.loads(msg.data)
        finally:
            await nc.close()

    return asyncio.run(go())


def _reset_positions(url: str) -> None:
    async def go() -> None:
        nc = await connect(url)
        try:
            kv = await nc.jetstream().key_value("LINGONG_PUB")
            for key in await kv.keys():
                await kv.put(key, b"0")
        finally:
            await nc.close()

    asyncio.run(go())


def test_texts() -> None:
    job = tx.JobInfo(job_id="J", title="搬家", headcount=3, pay_fen=30000)
    assert tx.offer_text(job, 1200) == "【零工】搬家 3人 300 元/天 距您 1.2公里 回复1接单 2拒绝"
    assert tx.offer_text(job, 800).endswith("距您 800米 回复1接单 2拒绝")
    hourly = msgspec.structs.replace(job, title="搬家工 3人", pay_fen=2550, pay_unit="hour")
    assert tx.push_text(hourly, 1499) == "【零工】附近新岗位 搬家工 3人 25.50 元/小时 距您 1.5公里"
    piece = msgspec.structs.replace(job, pay_fen=50, pay_unit="piece", expected_pieces=800)
    assert (
        tx.offer_text(piece, 300)
        == "【零工】搬家 3人 0.50 元/件 约400元 距您 300米 回复1接单 2拒绝"
    )
    long = msgspec.structs.replace(job, title="长" * 80)
    assert len(tx.offer_text(long, 10)) <= tx.SEGMENT_CHARS
    assert [tx.parse_reply(s) for s in ("1", " １ ", "2", "接单", "拒绝", "好的")] == [
        "accept",
        "accept",
        "decline",
        "accept",
        "decline",
        None,
    ]
    # quiet hours wrap midnight; start == end means none (times in Asia/Shanghai)
    day = local_midnight_ms("2026-11-23")
    assert tx.in_quiet_hours(day + 23 * 3_600_000, 22 * 60, 7 * 60)
    assert tx.in_quiet_hours(day + 6 * 3_600_000, 22 * 60, 7 * 60)
    assert not tx.in_quiet_hours(day + 7 * 3_600_000, 22 * 60, 7 * 60)
    assert not tx.in_quiet_hours(day + 12 * 3_600_000, 12 * 60, 12 * 60)
    assert tx.in_quiet_hours(day + 12 * 3_600_000, 12 * 60, 13 * 60)


def test_sign_up_replies_parse() -> None:
    assert tx.parse_sign_up("报名 T1") == "T1"
    assert tx.parse_sign_up("报名T-2026.1") == "T-2026.1"
    assert tx.parse_sign_up("ＢＭ　Ｔ１") == "T1"  # full-width, as phones send it
    assert tx.parse_sign_up("bm t9") == "t9"
    for text in ("报名", "报名 ", "报名 张三", "1", "报名 T1 明天", "我要报名 T1", "报名 -T1"):
        assert tx.parse_sign_up(text) is None, text
    assert len(tx.signed_up_text("叉" * 40)) <= tx.SEGMENT_CHARS


def test_an_sms_reply_signs_a_worker_up_for_training(server: NatsServer, tmp_path: Path) -> None:
    """ "报名 T1" from a worker's phone: the gateway's reply becomes SignUpTraining (channel
    sms) under the gateway's token, the worker is texted the outcome; a repeat is refused
    plainly and a forged reply changes nothing."""
    outbox = tmp_path / "sms.jsonl"
    lt = LoopThread("test-sms-training")
    data = tmp_path / "engine"
    gateway, _ = TokenStore(data).create("sms_gateway", "4206", note="SMS gateway")
    pusher = SmsPusher(server.url, FileGateway(outbox), clock=lambda: T0, token=gateway,
                       durable="sms-training", queue="sms-training",
                       reference_wait_s=HANG_S)  # the reply may overtake TrainingPublished  # fmt: skip
    service = engine_service(data, clock=ManualClock(T0 + 61_000))
    bridge = None
    try:
        lt.run(pusher.start())
        partition = unique(tmp_path, "t")  # its own events, whatever ran on this server
        bridge = NatsBridge(service, server.url, partition=partition, data_dir=data).start()
        assert all(r.ok for r in (service.execute(cmd) for cmd in hiring_scenario(T0)[:-1]))
        published = service.execute(
            c.PublishTraining(command_id="c-t1", ts_ms=T0, training_id="T1", station_id="S1",
                              title="叉车安全培训", start_ms=T0 + 3_600_000,
                              end_ms=T0 + 7_200_000, capacity=5, staff_id="sim-operator")
        )  # fmt: skip
        assert published.ok, published.refusal
        front, _ = TokenStore(data).create("front_end", "4206")
        forged = {"worker_id": "W1", "text": "报名 T1", "reply_id": "t-0"}
        assert _request(server.url, forged, front)["code"] == 403
        reply = _request(server.url, {**forged, "reply_id": "t-1"}, gateway)
        assert reply["ok"], reply
        assert reply["command"] == "SignUpTraining"
        assert reply["result"]["events"][0]["channel"] == "sms"
        assert texts(outbox)[-1] == {**texts(outbox)[-1], "worker_id": "W1",
                                     "text": "【零工】已报名培训：叉车安全培训，请按时参加"}  # fmt: skip
        again = _request(server.url, {**forged, "reply_id": "t-2"}, gateway)
        assert not again["ok"] and texts(outbox)[-1]["text"].startswith("【零工】操作未成功")
        pusher.reference_wait_s = 0.2  # T404 is never published: do not wait HANG_S for it
        unknown = _request(server.url, {**forged, "text": "报名 T404", "reply_id": "t-3"}, gateway)
        assert unknown == {"ok": False, "error": "unknown training"}
        signed = service.read(lambda st: dict(st.training.trainings["T1"].signed))
        assert signed == {"W1": False} and pusher.stats.signed_up == 1
    finally:
        if bridge is not None:
            bridge.close()
        lt.run(pusher.stop())
        lt.stop()
        service.stop()
        service.runtime.close()
