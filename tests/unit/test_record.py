"""The log record (engine.record) and idempotency bound to the command digest."""

from __future__ import annotations

import msgspec
import pytest

from engine import commands as c
from engine import events as e
from engine.core import Engine
from engine.record import (
    Record,
    command_digest,
    decode_record,
    encode_record,
    recorded_command,
)
from engine.snapshot import restore_state, snapshot_state
from tests.property import market as mk

# a record written before commands, actors and digests were recorded (engine of
# 2026-11, commit 700bab2): WorkerErased(W1) and a Tick, for command "cmd-7"
OLD_RECORD_HEX = (
    "9301a5636d642d379284a474797065ac576f726b6572457261736564a574735f6d73cf000001a2050f0480"
    "a6636d645f6964a5636d642d37a9776f726b65725f6964a2573183a474797065a45469636ba574735f6d73"
    "cf000001a2050f0480a6636d645f6964a5636d642d37"
)


def test_records_of_the_old_three_element_format_still_decode() -> None:
    rec = decode_record(bytes.fromhex(OLD_RECORD_HEX))
    assert rec.cmd_id == "cmd-7" and rec.v == e.SCHEMA_VERSION == 2  # schema 1, upcast
    assert rec.events == [
        e.WorkerErased(ts_ms=1795381200000, cmd_id="cmd-7", worker_id="W1"),
        e.Tick(ts_ms=1795381200000, cmd_id="cmd-7"),
    ]
    assert (rec.command, rec.actor, rec.digest) == (None, "", b"")
    engine = Engine()  # (no W1 here to erase: fold the Tick alone)
    engine.apply_record(1, msgspec.structs.replace(rec, events=rec.events[1:]))
    # an unknown digest: a retry of "cmd-7" is answered as a duplicate, as before
    assert engine.state.commands["cmd-7"] == (1, b"")


def test_events_module_still_exports_the_record() -> None:
    assert e.Record is Record and e.decode_record is decode_record


def test_a_new_record_carries_its_command_actor_and_digest() -> None:
    m = mk.market()
    cmd = mk.command("RegisterWorker")
    out = m.fresh().execute(cmd, mk.ADMIN_ALL)
    rec = decode_record(encode_record(out.record()))
    assert rec.actor == mk.ADMIN_ALL.actor_id and rec.digest == command_digest(cmd)
    assert isinstance(rec.command, c.RegisterWorker)
    assert rec.command.personal == c.Personal() and rec.command.worker_id == cmd.worker_id
    assert b"13812341234" not in encode_record(rec)


def test_recorded_commands_keep_no_plain_personal_data() -> None:
    person = mk.command("RegisterEmployer")
    assert isinstance(person, c.RegisterEmployer)
    kept = recorded_command(person)
    assert kept.name == "王*" and kept.contact == c.Personal()
    org = msgspec.structs.replace(person, kind="organisation", name="襄阳搬家公司")
    assert recorded_command(org).name == "襄阳搬家公司"
    complaint = msgspec.structs.replace(
        mk.command("FileComplaint"), text="老板电话13812341234，身份证11010519491231002X"
    )
    text = recorded_command(complaint).text  # type: ignore[attr-defined]
    assert text == "老板电话138****1234，身份证110**************X"


def test_the_digest_ignores_id_and_time_and_sees_everything_else() -> None:
    cmd = mk.command("CheckIn")
    same = msgspec.structs.replace(cmd, command_id="other:id", ts_ms=cmd.ts_ms + 5)
    assert command_digest(cmd) == command_digest(same) and len(command_digest(cmd)) == 8
    assert command_digest(cmd) != command_digest(msgspec.structs.replace(cmd, worker_id="W3"))
    out = c.CheckOut(command_id=cmd.command_id, ts_ms=cmd.ts_ms, worker_id="W2")
    assert command_digest(out) != command_digest(c.CheckIn(command_id="a", ts_ms=1, worker_id="W2"))
    policy = mk.command("SetPolicy")
    a = msgspec.structs.replace(policy, policy=e.Policy(local_day_pay_fen={"a": 1, "b": 2}))
    b = msgspec.structs.replace(policy, policy=e.Policy(local_day_pay_fen={"b": 2, "a": 1}))
    assert command_digest(a) == command_digest(b)  # canonical: map keys sorted


def test_the_digest_does_not_carry_personal_data() -> None:
    """A digest stays in the log after erasure: it must not be a hash of a phone number."""
    worker = mk.command("RegisterWorker")
    assert isinstance(worker, c.RegisterWorker)
    other = msgspec.structs.replace(worker, personal=c.Personal(mobile="13900000000"))
    assert command_digest(worker) == command_digest(other)
    assert command_digest(worker) != command_digest(
        msgspec.structs.replace(worker, region="420606")
    )


def test_same_key_same_request_is_a_duplicate_another_request_is_refused() -> None:
    m = mk.market()
    engine = m.fresh()
    first = engine.execute(mk.command("CheckIn"), mk.ADMIN_ALL)
    digest = engine.state.digest()
    retry = msgspec.structs.replace(mk.command("CheckIn"), ts_ms=m.now + 90_000)
    again = engine.execute(retry, mk.ADMIN_ALL)
    assert again.duplicate and again.seq == first.seq and again.events == []
    other = msgspec.structs.replace(mk.command("CheckIn"), worker_id="W3")
    with pytest.raises(c.Refusal) as info:
        engine.execute(other, mk.ADMIN_ALL)
    assert (info.value.field, info.value.rule) == ("Idempotency-Key", "idempotency_key_reused")
    checkout = c.CheckOut(command_id=first.command.command_id, ts_ms=m.now, worker_id="W2")
    with pytest.raises(c.Refusal) as info:  # the same key on another endpoint
        engine.execute(checkout, mk.ADMIN_ALL)
    assert info.value.rule == "idempotency_key_reused"
    assert engine.state.digest() == digest


def test_replay_and_snapshots_restore_the_same_idempotency_table() -> None:
    m = mk.market()
    live = m.fresh()
    records = []
    for n, name in enumerate(("CheckIn", "UpdateWorker", "RegisterWorker")):
        out = live.execute(mk.command(name, n=n), mk.ADMIN_ALL)
        records.append((out.seq, decode_record(encode_record(out.record()))))
    replayed = m.fresh()
    for seq, rec in records:
        replayed.apply_record(seq, rec)
    assert replayed.state.commands == live.state.commands
    restored = Engine(restore_state(snapshot_state(replayed.state)))
    assert restored.state.commands == live.state.commands
    other = msgspec.structs.replace(mk.command("UpdateWorker", n=1), min_pay_fen=1)
    for engine in (replayed, restored):
        with pytest.raises(c.Refusal) as info:
            engine.execute(other, mk.ADMIN_ALL)
        assert info.value.rule == "idempotency_key_reused"
        assert engine.execute(mk.command("UpdateWorker", n=1), mk.ADMIN_ALL).duplicate
