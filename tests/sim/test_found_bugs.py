"""Bugs the simulator (`lingong sim`) found, each as an explicit example (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.log.filelog import FileLog
from adapters.shell.runtime import Runtime, RuntimeStopped
from engine import commands as c
from sim.callers import OPERATOR
from tests.support import at, near


def _fsync_fails_when(flag: list[bool]):  # noqa: ANN202
    def fsync(fd: int) -> None:
        if flag[0]:
            raise OSError(5, "simulated fsync error")

    return fsync


def test_a_crash_between_the_erasure_record_and_the_key_deletion_still_deletes_the_key(
    tmp_path: Path,
) -> None:
    """Found by `lingong sim` (invariant erased_key_kept): the `WorkerErased` block was
    written whole but its fsync failed (or the process died before the key was deleted);
    the runtime stopped before deleting the key, and after a restart the erasure was in
    the log while the worker's key, and so the sealed personal data, survived for good.
    Now the start deletes the keys of erased workers that still have one."""
    failing = [False]
    log = FileLog(tmp_path / "log", fsync_fn=_fsync_fails_when(failing))
    rt = Runtime(tmp_path, log=log, fsync=False)
    reg = c.RegisterWorker(
        command_id="w1", ts_ms=at(5), worker_id="W1", region="420602",
        personal=c.Personal(mobile="13812341234"), birth_year=1970, skills=("moving",),
        min_pay_fen=10000, home=near(),
    )  # fmt: skip
    assert rt.submit(reg, OPERATOR).ok
    assert "W1" in rt.keys
    failing[0] = True
    erase = c.EraseWorker(command_id="e1", ts_ms=at(6), worker_id="W1", reason="本人申请删除")
    assert rt.execute(erase, OPERATOR).ok
    with pytest.raises(RuntimeStopped):
        rt.flush()  # the block is written, its fsync fails: the runtime stops
    assert "W1" in rt.keys  # not deleted: the erasure was not known to be durable
    rt.log.close()

    again = Runtime(tmp_path, fsync=False)  # the erasure is in the log after all
    try:
        state = again.engine.state
        assert state.workers.active[state.worker_rows["W1"]] == 0
        assert "W1" not in again.keys
        assert again.erasures_finished == 1
    finally:
        again.close()
    third = Runtime(tmp_path, fsync=False)  # nothing left to finish
    try:
        assert third.erasures_finished == 0
    finally:
        third.close()


def test_a_refusal_never_echoes_a_phone_or_id_number() -> None:
    """Found by `lingong sim` (invariant answer_echo): a body whose enum field held free
    text with a phone and an ID number was refused 422 with the message "Invalid enum value
    '电话 13812345678 身份证 110105194912…'": the numbers went back to the caller and into
    access logs in clear. Every refusal (gate or engine) now masks them."""
    from adapters.gate.gate import Gate, GateError
    from adapters.gate.routes import BY_NAME
    from engine.authz import Caller
    from engine.commands import Refusal
    from engine.idnumbers import find_unmasked_pii

    gate = Gate(lambda: at(6))
    admin = Caller(actor_id="admin-1", role="admin", nationwide=True)
    body = '{"status": "电话 13812345678 身份证 11010519491231002X"}'.encode()
    with pytest.raises(GateError) as err:
        gate.admit(admin, BY_NAME["ChangeStationStatus"], body, {"station_id": "S1"}, "k1")
    assert err.value.rule == "enum"
    assert find_unmasked_pii(err.value.message) == []
    assert "138****5678" in err.value.message
    unknown = b'{"status": "approved", "13812345678": 1}'
    with pytest.raises(GateError) as err:
        gate.admit(admin, BY_NAME["ChangeStationStatus"], unknown, {"station_id": "S1"}, "k2")
    assert err.value.rule == "unknown_field"
    assert find_unmasked_pii(err.value.field + err.value.message) == []
    ref = Refusal("offer_id", "exists", "no offer '13812345678'")
    assert find_unmasked_pii(str(ref) + ref.message) == []


def test_a_tick_with_more_due_than_one_record_holds_is_split_and_time_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by `lingong sim --max-record-bytes 4096` (invariant tick_refused): when the
    decisions of everything due make a Tick's record larger than the log's frame limit,
    the runtime refuses the Tick (record_size) and every later one too, since the same
    things are still due: time stops (offers never expire, workers never leave) while the
    engine accepts everything else. Now a Tick takes no more due items after
    `MAX_TICK_EVENTS` decisions; the rest is still due and the next ticks take it. Here
    the limits are scaled down together (a 4 KiB frame, 30 decisions a tick) instead of
    16 MiB and 20,000."""
    from engine import react

    monkeypatch.setattr(react, "MAX_TICK_EVENTS", 30, raising=False)
    log = FileLog(tmp_path / "log", fsync=False, max_payload_bytes=4096)
    rt = Runtime(tmp_path, log=log, fsync=False)
    until = at(9)
    cmds: list[c.Command] = []
    pad = "-" + "0" * 40  # long ids: 120 check-outs need ~10 KB, 30 fit in 4 KiB
    for i in range(120):  # 120 workers available until 09:00: one check-out each at 09:00
        cmds.append(c.RegisterWorker(
            command_id=f"w{i}", ts_ms=at(5), worker_id=f"W{i:03d}{pad}", region="420602",
            personal=c.Personal(mobile="13812341234"), birth_year=1970, skills=("moving",),
            min_pay_fen=10000, home=near(),
        ))  # fmt: skip
        cmds.append(c.CheckIn(command_id=f"ci{i}", ts_ms=at(6), worker_id=f"W{i:03d}{pad}",
                              location=near(), available_until_ms=until))  # fmt: skip
    assert all(r.ok for r in rt.submit_many(cmds, OPERATOR))
    checked_in = rt.engine.state.workers.checked_in
    assert int(checked_in[:120].sum()) == 120
    ticks = 0
    while (cmd := rt.due_tick_command(at(10))) is not None:
        res = rt.submit(cmd)
        assert res.ok, res.refusal  # before the fix: record_size, for ever
        ticks += 1
        assert ticks < 20
    assert ticks == 4  # 30 + 30 + 30 + 30 check-outs
    assert int(checked_in[:120].sum()) == 0
    rt.close()
    again = Runtime(tmp_path, fsync=False)  # the split ticks replay to the same state
    try:
        assert again.engine.digest() == rt.engine.digest()
    finally:
        again.close()
