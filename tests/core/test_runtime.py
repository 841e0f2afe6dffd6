"""The runtime: group commit through the real file log, recovery, snapshots, sealing, erasure."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from adapters.shell.runtime import ManualClock, Runtime, RuntimeStopped
from engine import commands as c
from engine import events as e
from engine.core import Engine
from engine.idnumbers import find_unmasked_pii
from sim.callers import OPERATOR
from sim.demo import run_demo
from sim.morning import Sizes
from tests.support import at, cid, near

SMALL = Sizes(workers=300, postings=60, employers=20, stations_per_city=4, tick_ms=30_000)


def _register(rt: Runtime) -> None:
    rt.submit(
        c.RegisterStation(
            command_id=cid(),
            ts_ms=at(5),
            station_id="S1",
            name="站",
            kind="hub",
            region="420602",
            location=near(),
        ),
        OPERATOR,
    )
    rt.submit(
        c.ChangeStationStatus(command_id=cid(), ts_ms=at(5), station_id="S1", status="approved"),
        OPERATOR,
    )
    rt.submit(REG_W1, OPERATOR)


REG_W1 = c.RegisterWorker(
    command_id="reg-w1",
    ts_ms=at(5),
    worker_id="W1",
    region="420602",
    personal=c.Personal(name="张三", mobile="13812341234", id_number="11010519491231002X"),
    skills=("moving",),
    min_pay_fen=10000,
    home=near(),
)


def test_records_are_durable_sealed_and_recovered(tmp_path: Path) -> None:
    with Runtime(tmp_path, clock=ManualClock(at(5))) as rt:
        _register(rt)
        digest = rt.engine.digest()
        seq = rt.engine.state.last_seq
    raw = b"".join(p.read_bytes() for p in sorted((tmp_path / "log").glob("*.seg")))
    assert b"13812341234" not in raw and b"11010519491231002X" not in raw
    assert "张三".encode() not in raw
    with Runtime(tmp_path, clock=ManualClock(at(5))) as rt:
        assert rt.engine.state.last_seq == seq and rt.engine.digest() == digest
        # the retry after a restart (a later ts_ms) is the same request: the first seq
        again = rt.submit(msgspec.structs.replace(REG_W1, ts_ms=at(6)), OPERATOR)
        assert again.ok and again.duplicate and again.seq == 3
        other = msgspec.structs.replace(REG_W1, personal=c.Personal(mobile="13812341234"))
        reused = rt.submit(msgspec.structs.replace(other, birth_year=1970), OPERATOR)
        assert not reused.ok and reused.refusal is not None
        assert (reused.refusal["field"], reused.refusal["rule"]) == (
            "Idempotency-Key",
            "idempotency_key_reused",
        )
        assert rt.log.last_seq == seq
        rec = e.decode_record(dict(rt.log.read())[3])
        assert rec.actor == OPERATOR.actor_id and len(rec.digest) == 8
        assert isinstance(rec.command, c.RegisterWorker) and rec.command.personal == c.Personal()
        ev = rec.events[0]
        assert isinstance(ev, e.WorkerRegistered)
        assert rt.unseal_worker("W1", ev.sealed) == {
            "name": "张三",
            "mobile": "13812341234",
            "id_number": "11010519491231002X",
        }
        rt.submit(
            c.EraseWorker(command_id=cid(), ts_ms=at(6), worker_id="W1", reason="本人申请"),
            OPERATOR,
        )
        assert rt.unseal_worker("W1", ev.sealed) is None
    from adapters.log.filelog import verify_log

    assert verify_log(tmp_path / "log").problem is None


def test_refusal_appends_nothing(tmp_path: Path) -> None:
    with Runtime(tmp_path, clock=ManualClock(at(5))) as rt:
        _register(rt)
        seq = rt.log.last_seq
        res = rt.submit(
            c.CheckIn(command_id=cid(), ts_ms=at(6), worker_id="W1", station_id="NOPE"), OPERATOR
        )
        assert not res.ok and res.refusal == {
            "field": "station_id",
            "rule": "exists",
            "message": "no station 'NOPE'",
        }
        assert rt.log.last_seq == seq


def test_snapshot_plus_tail_equals_full_replay(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "a", sizes=SMALL, fsync=False)
    with Runtime(tmp_path / "a", fsync=False) as rt:
        full = rt.engine.digest()
        assert full == summary.state_digest
    # snapshot in the middle, then recover from snapshot + tail
    from adapters.log.filelog import FileLog

    log = FileLog(tmp_path / "a" / "log", fsync=False)
    records = list(log.read())
    log.close()
    half = len(records) // 2
    eng = Engine()
    for seq, payload in records[:half]:
        eng.apply_record(seq, e.decode_record(payload))
    from adapters.log.snapshots import write_snapshot
    from engine.snapshot import restore_state, snapshot_state

    body = snapshot_state(eng.state)
    assert restore_state(body).digest() == eng.digest()
    write_snapshot(tmp_path / "a" / "snapshots", half, eng.digest(), body)
    with Runtime(tmp_path / "a", fsync=False) as rt:
        assert rt.engine.digest() == full


def test_demo_json_fields_and_no_plain_pii(tmp_path: Path) -> None:
    s = run_demo(tmp_path, sizes=SMALL, date="2026-12-01")
    assert s.date == "2026-12-01" and s.log == str(tmp_path / "log")
    assert s.events > 1000 and s.checkins > 100 and 50 < s.postings <= 60
    assert s.offers > 0 and s.hires > 0 and 0 < s.fill_rate <= 1
    assert s.refusals > 0  # the synthetic morning includes mistyped IDs and a revoked station
    raw = b"".join(p.read_bytes() for p in sorted((tmp_path / "log").glob("*.seg")))
    text = raw.decode("utf-8", errors="replace")
    assert find_unmasked_pii(text) == []


def test_log_failure_stops_the_runtime(tmp_path: Path) -> None:
    with Runtime(tmp_path, clock=ManualClock(at(5))) as rt:
        _register(rt)

        def broken(payloads):  # noqa: ANN001
            raise OSError(5, "Input/output error")

        rt.log.append = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeStopped):
            rt.submit(
                c.CheckIn(command_id=cid(), ts_ms=at(6), worker_id="W1", station_id="S1"), OPERATOR
            )
        with pytest.raises(RuntimeStopped):
            rt.submit(c.CheckOut(command_id=cid(), ts_ms=at(6), worker_id="W1"), OPERATOR)
        rt.stopped = None  # let close() release the lock without flushing
        rt._pending = []
