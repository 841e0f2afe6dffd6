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
