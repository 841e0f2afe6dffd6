"""The JetStream log: the EventLog contract, chain headers, single writer, leases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.log.ports import EventLog
from adapters.nats.jslog import JetStreamLog
from tests.log.contract import EventLogContract
from tests.nats.helpers import HANG_S, connect
from tests.nats.servers import NatsServer


def partition_for(tmp_path: Path) -> str:
    return "t" + hashlib.blake2b(str(tmp_path).encode(), digest_size=8).hexdigest()


class TestJetStreamLogContract(EventLogContract):
    @pytest.fixture(autouse=True)
    def _server(self, nats_server: NatsServer) -> None:
        self.url = nats_server.url

    def make_log(self, tmp_path: Path) -> EventLog:
        return JetStreamLog(self.url, partition_for(tmp_path), wait_lease_s=HANG_S)


# ---------------------------------------------------------------- JetStream specifics ---


async def _raw(url: str, subject: str, payload: bytes, headers: dict[str, str]) -> dict:
    import json

    nc = await connect(url)
    try:
        resp = await nc.request(subject, payload, headers=headers, timeout=HANG_S)
        return json.loads(resp.data)
    finally:
        await nc.close()


async def _stream_headers(url: str, subject: str) -> list[tuple[dict, bytes]]:
    """Every message on `subject`, read to the last one (which says nothing is pending)."""
    nc = await connect(url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(subject, ordered_consumer=True)
        out = []
        while True:
            msg = await sub.next_msg(timeout=HANG_S)
            out.append((dict(msg.headers or {}), msg.data))
            if msg.metadata.num_pending == 0:
                return out
    finally:
        await nc.close()


def test_messages_carry_seq_count_and_chain_an_outside_reader_can_verify(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import asyncio

    from adapters.log.ports import GENESIS_HASH, chain_hash
    from adapters.nats.frames import unpack

    log = JetStreamLog(nats_server.url, partition_for(tmp_path))
    try:
        payloads = [f"record {i}".encode() for i in range(25)]
        log.append(payloads[:10])  # one group commit -> one message
        log.append(payloads[10:11])
        big = [bytes([i]) * 400_000 for i in range(6)]  # > 1 MiB: several messages
        log.append(big)
        got = asyncio.run(_stream_headers(nats_server.url, log.subject))
        assert [int(h["Lingong-Count"]) for h, _ in got][:2] == [10, 1]
        assert len(got) > 3
        prev, seq, frames = GENESIS_HASH, 1, []
        for hdr, body in got:
            assert int(hdr["Lingong-Seq"]) == seq
            part = unpack(body, int(hdr["Lingong-Count"]))
            for payload in part:
                prev = chain_hash(prev, payload)
            assert hdr["Lingong-Chain"] == prev.hex()
            seq += len(part)
            frames += part
        assert frames == payloads[:11] + big
        assert prev == log.head_hash
    finally:
        log.close()


def test_a_second_owner_is_refused_while_the_lease_is_held(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from adapters.log.ports import LogLocked

    log = JetStreamLog(nats_server.url, partition_for(tmp_path))
    try:
        with pytest.raises(LogLocked, match="owned by"):
            JetStreamLog(nats_server.url, partition_for(tmp_path), wait_lease_s=0.5)
        reader = JetStreamLog(nats_server.url, partition_for(tmp_path), read_only=True)
        try:
            log.append([b"a", b"b"])
            assert [p for _, p in reader.read()] == [b"a", b"b"]
            assert reader.last_seq == 2
        finally:
            reader.close()
    finally:
        log.close()


def test_a_zombie_writer_cannot_fork_the_log(nats_server: NatsServer, tmp_path: Path) -> None:
    """The lease expired under a paused owner; its next append must fail, not interleave."""
    from adapters.log.ports import LogFailed, chain_of

    part = partition_for(tmp_path)
    zombie = JetStreamLog(nats_server.url, part)
    try:
        zombie.append([b"z1", b"z2"])
        assert zombie.lease is not None
        # the owner "pauses": its lease lapses and is deleted on the server (as expiry would)
        zombie._lt.run(zombie.lease.release())
        zombie.lease.lost = None
        zombie.lease.valid_until = float("inf")  # ...but it still believes it holds it
        new = JetStreamLog(nats_server.url, part, wait_lease_s=HANG_S)
        try:
            new.append([b"n3"])
            with pytest.raises(LogFailed, match="another writer"):
                zombie.append([b"z3", b"z4", b"z5"])
            with pytest.raises(LogFailed):  # and it stays failed
                zombie.append([b"z6"])
            new.append([b"n4"])
            frames = [p for _, p in new.read()]
            assert frames == [b"z1", b"z2", b"n3", b"n4"]
            assert new.head_hash == chain_of(frames)
        finally:
            new.close()
    finally:
        zombie.lease.lost = "test"
        zombie.close()


def test_standby_takes_over_when_the_owner_stops_renewing(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The standby is refused while the owner renews, and takes over once the owner stops
    renewing and the key's TTL expires on the server (ordered by events, not timed)."""
    import threading

    part = partition_for(tmp_path)
    bucket = "LEASE_" + part.upper()
    owner = JetStreamLog(nats_server.url, part, lease_bucket=bucket, lease_ttl_s=3.0)
    owner.append([b"one"])
    assert owner.lease is not None
    standing_by = threading.Event()
    box: dict[str, JetStreamLog] = {}
    t = threading.Thread(
        target=lambda: box.setdefault(
            "log",
            JetStreamLog(
                nats_server.url,
                part,
                lease_bucket=bucket,
                wait_lease_s=HANG_S,
                on_standby=lambda holder: standing_by.set(),
            ),
        )
    )
    t.start()
    try:
        assert standing_by.wait(HANG_S)  # refused: the owner holds the lease
        owner._lt.run(_stop_renewing(owner))  # the owner dies without releasing
        t.join(HANG_S)
        assert not t.is_alive() and "log" in box  # took over once the key expired
    finally:
        t.join(HANG_S)
    standby = box["log"]
    try:
        assert standby.lease is not None and standby.lease.holder == owner.lease.owner
        assert standby.last_seq == 1 and standby.append([b"two"]) == 2
        with pytest.raises(Exception, match="lease|another writer"):
            owner.append([b"late"])
    finally:
        standby.close()
        owner.close()


async def _stop_renewing(log: JetStreamLog) -> None:
    assert log.lease is not None and log.lease._renewer is not None
    log.lease._renewer.cancel()


def test_reader_detects_a_forged_frame(nats_server: NatsServer, tmp_path: Path) -> None:
    import asyncio

    from adapters.log.ports import LogCorrupt

    log = JetStreamLog(nats_server.url, partition_for(tmp_path))
    try:
        log.append([b"a", b"b"])
        # someone bypasses the log and writes a frame with a made-up chain
        ack = asyncio.run(
            _raw(
                nats_server.url,
                log.subject,
                len(b"forged").to_bytes(4, "little") + b"forged",
                {"Lingong-Seq": "3", "Lingong-Count": "1", "Lingong-Chain": "00" * 32},
            )
        )
        assert "error" not in ack
        reader = JetStreamLog(nats_server.url, log.partition, read_only=True)
        try:
            with pytest.raises(LogCorrupt, match="hash chain mismatch") as err:
                list(reader.read())
            assert err.value.seq == 3
            assert [p for _, p in reader.read(verify_chain=False)] == [b"a", b"b", b"forged"]
        finally:
            reader.close()
    finally:
        log.close()


def _frames_to(batches, last_seq: int) -> list[tuple[int, bytes]]:
    """Frames from a follower's `batches` until frame `last_seq` (ends on the data, not on
    an idle pause; a follower that never gets there fails after the hang guard)."""
    out: list[tuple[int, bytes]] = []
    while not out or out[-1][0] < last_seq:
        out += next(batches)
    return out


def test_a_projection_follows_the_log_as_a_durable_consumer(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from adapters.nats.follow import LogFollower

    part = partition_for(tmp_path)
    log = JetStreamLog(nats_server.url, part)
    try:
        log.append([b"a", b"b"])
        log.append([b"c"])
        follower = LogFollower(nats_server.url, part, "proj-" + part)
        assert next(follower.batches(HANG_S)) == [(1, b"a"), (2, b"b")]
        follower.close()  # stopped before processing it: the next follower reads it again
        follower = LogFollower(nats_server.url, part, "proj-" + part)
        batches = follower.batches(HANG_S)
        assert _frames_to(batches, 3) == [(1, b"a"), (2, b"b"), (3, b"c")]
        log.append([b"d", b"e"])
        assert next(batches) == [(4, b"d"), (5, b"e")]  # asking again = ack of 1..3
        follower.close()  # 4..5 not processed: handed back
        log.append([b"f"])
        follower = LogFollower(nats_server.url, part, "proj-" + part)
        try:  # resumes after what it acknowledged, chain anchored on frame 3
            assert _frames_to(follower.batches(HANG_S), 6) == [
                (4, b"d"),
                (5, b"e"),
                (6, b"f"),
            ]
        finally:
            follower.close(commit=True)
    finally:
        log.close()


# ---------------------------------------------------------------- the one read port ---


V1_LOG = Path(__file__).parents[1] / "log" / "data" / "v1" / "log"


def test_a_nats_url_opens_the_same_read_port_as_a_folder(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """A log copied frame for frame into a partition reads, verifies and rebuilds through
    its nats:// URL exactly as through its folder."""
    from adapters.log.ports import LogReader
    from adapters.log.reader import open_log_reader
    from replay.rebuild import rebuild
    from replay.verify import verify

    part = partition_for(tmp_path)
    folder = open_log_reader(V1_LOG)
    log = JetStreamLog(nats_server.url, part)
    try:
        for batch in folder.read_batches(1, 500):
            log.append([p for _, p in batch])
        assert (log.last_seq, log.head_hash) == (folder.last_seq, folder.head_hash)
    finally:
        log.close()
    url = f"{nats_server.url}/LINGONG_LOG/{part}"
    reader = open_log_reader(url)
    try:
        assert isinstance(reader, LogReader) and reader.location == url
        assert (reader.last_seq, reader.head_hash) == (folder.last_seq, folder.head_hash)
        assert [f for b in reader.read_batches(3000, 7) for f in b] == [
            f for b in folder.read_batches(3000) for f in b
        ]
    finally:
        reader.close()
    by_folder, by_url = verify(V1_LOG), verify(url)
    assert by_folder.ok and by_url.ok, by_url.failure
    assert (by_url.digest, by_url.records, by_url.head_hash) == (
        by_folder.digest,
        by_folder.records,
        by_folder.head_hash,
    )
    assert rebuild(url).digest == rebuild(V1_LOG).digest == by_folder.digest


def test_a_nats_reader_never_creates_a_stream_and_names_partitions(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import asyncio

    import nats

    from adapters.log.reader import open_log_reader

    stream = "NOSUCH_" + partition_for(tmp_path).upper()
    with pytest.raises(FileNotFoundError, match=f"no JetStream stream {stream}"):
        open_log_reader(f"{nats_server.url}/{stream}/p1")
    with pytest.raises(FileNotFoundError):
        open_log_reader(f"{nats_server.url}/{stream}")

    async def streams() -> list[str]:
        nc = await nats.connect(nats_server.url)
        try:
            return [s.config.name for s in await nc.jetstream().streams_info()]
        finally:
            await nc.close()

    assert stream not in asyncio.run(streams())
    # a stream holding several partitions: a URL must name one
    for part in ("a" + partition_for(tmp_path), "b" + partition_for(tmp_path)):
        with JetStreamLog(nats_server.url, part) as log:
            log.append([b"x"])
    with pytest.raises(ValueError, match="partitions .*name one"):
        open_log_reader(f"{nats_server.url}/LINGONG_LOG")
