"""The event publisher: every event once in LINGONG_EVT, CloudEvents headers, no gaps."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.nats import cloudevents as ce
from adapters.nats.bridge import NatsBridge
from adapters.shell.runtime import Runtime
from engine import events as e
from tests.nats.helpers import HANG_S, Tally, connect, engine_service, morning_commands, run
from tests.nats.servers import NatsServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    s = start_server(tmp_path_factory.mktemp("nats-pub"))
    try:
        yield s
    finally:
        s.kill()


async def stream_messages(url: str, subject: str = "lingong.evt.>") -> list:
    """Every message of the stream on `subject` when called (each message says how many
    are left after it: the read ends on the last one, not when a pause looks long)."""
    nc = await connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(ce.EVT_STREAM)
        if not info.state.messages:
            return []
        sub = await js.subscribe(subject, ordered_consumer=True)
        out = []
        while True:
            msg = await sub.next_msg(timeout=HANG_S)
            out.append(msg)
            if msg.metadata.num_pending == 0:
                return out
    finally:
        await nc.close()


def log_events(runtime: Runtime) -> list[tuple[int, int, e.Event]]:
    out = []
    for seq, payload in runtime.log.read():
        for i, ev in enumerate(e.decode_record(payload).events):
            out.append((seq, i, ev))
    return out


def test_every_event_published_once_with_cloudevents_headers(
    server: NatsServer, tmp_path: Path
) -> None:
    service = engine_service(tmp_path / "engine")
    pushes = Tally()

    async def listen() -> None:
        nc = await connect(server.url)
        await nc.subscribe(f"{ce.PUSH_PREFIX}.>", cb=functools.partial(_note, pushes))
        await nc.flush()
        return nc

    listener = run_bg(listen())
    bridge = NatsBridge(service, server.url, partition="4206", micro=False).start()
    assert bridge.publisher is not None
    bridge.publisher.buffer_records = 3  # a tiny buffer: most records are caught up from the log
    try:
        morning_commands(service.execute)
        assert bridge.publisher.wait_idle(HANG_S)
        stats = bridge.publisher.stats
        assert stats.dropped > 0 and stats.records_caught_up > 0
        # the publisher is idle, so it has sent every push it ever will: wait for them all
        pushes.wait_count(stats.pushes)
    finally:
        bridge.close()
        stop_bg(listener)
    expected = log_events(service.runtime)
    service.stop()
    msgs = run(stream_messages(server.url))
    epoch = bridge.publisher.epoch
    by_id = {m.headers["ce-id"]: m for m in msgs}
    assert len(by_id) == len(msgs) == len(expected)  # no duplicates, nothing missing
    for seq, i, ev in expected:
        ev_id = f"4206-{epoch}-{seq}-{i}"
        m = by_id[ev_id]
        h = m.headers
        name = type(ev).__name__
        assert h["ce-specversion"] == "1.0"
        assert h["ce-type"] == f"cn.lingong.{name}"
        assert h["ce-source"] == "/lingong/4206"
        assert h["ce-time"] == ce.rfc3339(ev.ts_ms) and h["ce-time"].endswith("Z")
        assert h["Nats-Msg-Id"] == ev_id and ce.parse_event_id(ev_id)[2:] == (seq, i)
        assert h["content-type"] == "application/json"
        assert m.subject.endswith("." + name) and m.subject.startswith("lingong.evt.")
        region = m.subject.split(".")[4]
        if isinstance(ev, e.Tick):
            assert region == "420600"  # the partition's region
        elif hasattr(ev, "region"):
            assert region == ce.pad_region(ev.region)
        else:
            assert region.startswith("42"), (name, m.subject)
        body = ce.decode_body(m.data)
        assert body == _unsealed(ev)
    # per-worker push subjects: every OfferMade / PushSent, for that worker
    wanted = sorted(
        (f"4206-{epoch}-{s}-{i}", ce.push_subject(ev.worker_id))
        for s, i, ev in expected
        if isinstance(ev, ce.PUSH_TYPES)
    )
    got = sorted((m.headers["ce-id"], m.subject) for m in pushes.items)
    assert wanted and got == wanted and stats.pushes == len(wanted)
    service.runtime.close()


def _unsealed(ev: e.Event) -> e.Event:
    import msgspec

    return msgspec.structs.replace(ev, sealed=b"") if getattr(ev, "sealed", b"") else ev


async def _note(out: Tally, msg) -> None:
    out.note(msg)


# a connection kept open on its own loop while the synchronous test runs
def run_bg(coro):
    from adapters.nats.conn import LoopThread

    lt = LoopThread("test-listener")
    nc = lt.run(coro)
    return lt, nc


def stop_bg(pair) -> None:
    lt, nc = pair
    lt.run(nc.close())
    lt.stop()


def test_restart_resumes_without_gaps_and_duplicates_are_dropped(
    server: NatsServer, tmp_path: Path
) -> None:
    service = engine_service(tmp_path / "engine")
    partition = "p2"
    first = NatsBridge(service, server.url, partition=partition, micro=False).start()
    sent = morning_commands(service.execute, limit=300)
    assert first.publisher is not None and first.publisher.wait_idle(HANG_S)
    position = first.publisher.stats.position
    first.close()
    assert position == service.runtime.log.last_seq
    # a crash before the position was stored: the next publisher starts from 0 again
    _reset_position(server.url, partition, first.publisher.epoch)
    second = NatsBridge(service, server.url, partition=partition, micro=False).start()
    try:
        morning_commands(service.execute, limit=450)  # the same morning: 150 new commands
        assert second.publisher is not None and second.publisher.wait_idle(HANG_S)
        stats = second.publisher.stats
        assert stats.duplicates >= _events_up_to(service.runtime, position) > 0
    finally:
        second.close()
    expected = log_events(service.runtime)
    service.stop()
    service.runtime.close()
    msgs = [
        m
        for m in run(stream_messages(server.url))
        if m.headers["ce-source"] == f"/lingong/{partition}"
    ]
    ids = [m.headers["ce-id"] for m in msgs]
    assert len(ids) == len(set(ids)) == len(expected) > len(sent)


def _events_up_to(runtime: Runtime, seq: int) -> int:
    return sum(len(e.decode_record(p).events) for s, p in runtime.log.read() if s <= seq)


def _reset_position(url: str, partition: str, epoch: str) -> None:
    async def go() -> None:
        nc = await connect(url)
        try:
            kv = await nc.jetstream().key_value("LINGONG_PUB")
            await kv.put(f"{partition}.{epoch}", b"0")
        finally:
            await nc.close()

    asyncio.run(go())


def test_engine_never_waits_for_nats_and_publishing_resumes(tmp_path: Path) -> None:
    """SIGKILL the NATS server mid-morning: the engine goes on without it (every command
    is acknowledged while nothing can be published, and the publisher's full buffer drops
    records instead of holding up the writer), and once the server is back every event is
    in the stream exactly once."""
    srv = start_server(tmp_path / "nats")
    service = engine_service(tmp_path / "engine")
    bridge = NatsBridge(service, srv.url, partition="p3", micro=False).start()
    assert bridge.publisher is not None
    bridge.publisher.ack_timeout_s = 2.0
    try:
        morning_commands(service.execute, limit=200)
        assert bridge.publisher.wait_idle(HANG_S)
        position, dropped = bridge.publisher.stats.position, bridge.publisher.stats.dropped
        assert position == service.runtime.log.last_seq
        bridge.publisher.buffer_records = 50  # stuck on its first chunk, it can hold no more
        srv.kill()
        sent = morning_commands(service.execute, limit=600)  # the same morning again
        assert len(sent) == 600  # ...all executed while no event could be published:
        assert bridge.publisher.stats.position == position  # nothing acknowledged by NATS
        assert service.runtime.log.last_seq > position + 100  # ...yet their records are durable
        assert bridge.publisher.stats.dropped > dropped  # the writer never waited on the buffer
        srv.start()
        srv.wait_ready()
        assert bridge.publisher.wait_idle(HANG_S)
    finally:
        bridge.close()
    expected = log_events(service.runtime)
    service.stop()
    service.runtime.close()
    try:
        msgs = run(stream_messages(srv.url))
    finally:
        srv.kill()
    ids = [m.headers["ce-id"] for m in msgs]
    assert len(ids) == len(set(ids)) == len(expected)
