"""Keys that follow the log: the replicated KV key store under the operator's KEK.

A second store on the same bucket stands for a standby on another machine (its own data
folder, the same NATS and KEK): it unseals what the first sealed, and an erasure by one
is seen by the other. The bucket holds only wrapped keys; another KEK is refused by name.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from adapters.nats.jslog import JetStreamLog
from adapters.nats.keys import KvKeyStore
from adapters.shell.pii import KeyStoreError, Sealer, load_kek, subject_name
from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from sim.callers import caller_for
from tests.nats.helpers import HANG_S, T_DEFAULT, connect, hiring_scenario
from tests.nats.servers import NatsServer

KEK = bytes(range(32))


def bucket_for(tmp_path: Path) -> str:
    return "K" + hashlib.blake2b(str(tmp_path).encode(), digest_size=6).hexdigest().upper()


async def raw_entries(url: str, bucket: str, name: str) -> list[tuple[str, bytes]]:
    """(KV-Operation or "PUT", data) of every message the bucket's stream still holds for
    the key, read from the stream itself (not through the KV API)."""
    nc = await connect(url)
    try:
        js = nc.jetstream(timeout=HANG_S)
        sub = await js.subscribe(f"$KV.{bucket}.{name}", ordered_consumer=True)
        info = await js.stream_info(f"KV_{bucket}")
        out = []
        if info.state.messages:
            try:
                while True:
                    msg = await sub.next_msg(timeout=2)  # a gap, not a sync: the stream is read
                    out.append(((msg.headers or {}).get("KV-Operation", "PUT"), msg.data))
                    if msg.metadata.num_pending == 0:
                        break
            except Exception:  # noqa: BLE001 - no message for this key
                pass
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


@pytest.fixture
def stores(nats_server: NatsServer, tmp_path: Path):
    bucket = bucket_for(tmp_path)
    made: list[KvKeyStore] = []

    def make(kek: bytes = KEK, sync: str = "deferred") -> KvKeyStore:
        store = KvKeyStore(nats_server.url, kek, bucket=bucket, sync=sync, timeout_s=HANG_S)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_a_standby_unseals_what_the_owner_sealed_and_erasure_reaches_it(
    stores, nats_server: NatsServer
) -> None:
    owner, standby = stores(), stores()
    blob = Sealer(owner).seal("W1", {"name": "张三", "mobile": "13812345678"})
    assert standby.key("W1") is None  # deferred: not stored before the log append
    assert owner.sync() == 1
    assert Sealer(standby).unseal("W1", blob) == {"name": "张三", "mobile": "13812345678"}
    name = subject_name("W1")
    entries = asyncio.run(raw_entries(nats_server.url, owner.bucket, name))
    assert [op for op, _ in entries] == ["PUT"]
    assert owner.key("W1") not in entries[0][1]  # the bucket holds the key wrapped only
    assert owner.erase("W1") is True
    assert Sealer(standby).unseal("W1", blob) is None
    assert Sealer(owner).unseal("W1", blob) is None
    entries = asyncio.run(raw_entries(nats_server.url, owner.bucket, name))
    assert [(op, data) for op, data in entries] == [("PURGE", b"")]  # no earlier revision
    assert owner.erase("W1") is False


def test_another_kek_is_refused_by_name(stores) -> None:
    owner = stores(sync="immediate")
    Sealer(owner).seal("E:1", {"mobile": "13912345678"})
    stranger = stores(kek=os.urandom(32))
    with pytest.raises(KeyStoreError, match="another key-encryption key"):
        stranger.key("E:1")


def test_two_writers_never_hold_two_keys_for_one_subject(stores) -> None:
    a, b = stores(), stores()
    ka = a.key("W9", create=True)
    kb = b.key("W9", create=True)
    assert ka != kb
    a.sync()
    with pytest.raises(KeyStoreError, match="another writer"):
        b.sync()
    assert stores().key("W9") == ka  # the bucket kept the first writer's key


def test_load_kek(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_text(KEK.hex() + "\n")
    assert load_kek(path) == KEK
    assert load_kek(None, KEK.hex().upper()) == KEK
    assert load_kek(None, None) is None
    path.write_text("abc")
    with pytest.raises(ValueError, match=r"kek: must be 64 hexadecimal digits"):
        load_kek(path)
    with pytest.raises(ValueError, match=r"LINGONG_KEK: must be 64"):
        load_kek(None, "zz" * 32)
    with pytest.raises(ValueError, match="cannot be read"):
        load_kek(tmp_path / "missing")


def test_runtime_on_jetstream_keeps_no_key_on_its_machine(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """Engine a seals registrations into the replicated bucket; engine b, on another data
    folder, takes over the partition and unseals them; b's erasure reaches a's store."""
    partition = "k" + bucket_for(tmp_path).lower()[1:]
    bucket = bucket_for(tmp_path)

    def runtime(folder: str) -> Runtime:
        log = JetStreamLog(nats_server.url, partition, wait_lease_s=HANG_S)
        keys = KvKeyStore(nats_server.url, KEK, bucket=bucket, timeout_s=HANG_S)
        return Runtime(tmp_path / folder, log=log, keys=keys)

    a = runtime("a")
    for cmd in hiring_scenario(T_DEFAULT)[:6]:
        res = a.submit(cmd, caller_for(a.engine.state, cmd))
        assert res.ok, res.refusal
    a.close()
    assert not (tmp_path / "a" / "keys").exists() or not any((tmp_path / "a" / "keys").iterdir())
    b = runtime("b")
    try:
        reader = JetStreamLog(nats_server.url, partition, read_only=True)
        try:
            records = [e.decode_record(p) for _, p in reader.read()]
        finally:
            reader.close()
        blob = next(
            ev.sealed
            for rec in records
            for ev in rec.events
            if isinstance(ev, e.WorkerRegistered) and ev.worker_id == "W1"
        )
        assert b.unseal_worker("W1", blob)["mobile"] == "13812340001"
        erase = c.EraseWorker(
            command_id="erase-1", ts_ms=T_DEFAULT, worker_id="W1", reason="本人申请"
        )
        assert b.submit(erase, caller_for(b.engine.state, erase)).ok
        assert b.unseal_worker("W1", blob) is None
        other = KvKeyStore(nats_server.url, KEK, bucket=bucket, timeout_s=HANG_S)
        try:
            assert Sealer(other).unseal("W1", blob) is None
        finally:
            other.close()
    finally:
        b.close()


def test_opening_and_key_operations_retry_transient_errors() -> None:
    """What kept the standby from opening under load (a JetStream timeout while the
    stream had no leader) is retried, a missing stream is not, and the retries end."""
    import types

    import nats.js.errors

    from adapters.nats import jslog, keys

    def flaky(fails: int, exc: BaseException):
        calls = {"n": 0}

        async def make() -> str:
            calls["n"] += 1
            if calls["n"] <= fails:
                raise exc
            return "ok"

        return make, calls

    log_self = types.SimpleNamespace(partition="4206")
    make, calls = flaky(2, TimeoutError())
    assert asyncio.run(JetStreamLog._opening(log_self, make, "reading the tail")) == "ok"
    assert calls["n"] == 3
    make, calls = flaky(1, nats.js.errors.NotFoundError())
    with pytest.raises(nats.js.errors.NotFoundError):
        asyncio.run(JetStreamLog._opening(log_self, make, "stream info"))
    assert calls["n"] == 1

    store_self = types.SimpleNamespace(bucket="B", timeout_s=0.0)  # no time to retry
    make, calls = flaky(5, TimeoutError())
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(KvKeyStore._retrying(store_self, make, "reading a key"))
    assert calls["n"] == 1
    store_self.timeout_s = 60.0  # a hang guard: the two retries take 2 x RETRY_S
    make, calls = flaky(2, TimeoutError())
    assert asyncio.run(KvKeyStore._retrying(store_self, make, "reading a key")) == "ok"
    assert calls["n"] == 3 and jslog.OPEN_RETRY_S >= 60 and keys.RETRY_S < 1
