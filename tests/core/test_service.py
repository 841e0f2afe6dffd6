"""The engine service: concurrent callers, one writer, group commit, queries, stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters.shell.runtime import Runtime, RuntimeStopped
from adapters.shell.service import EngineService
from engine import commands as c
from sim.callers import OPERATOR
from tests.support import at, near


def test_concurrent_commands_group_commit_and_queries(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        svc = EngineService(rt, tick_ms=0).start()
        try:
            svc.execute(
                c.RegisterStation(
                    command_id="st",
                    ts_ms=at(5),
                    station_id="S1",
                    name="站",
                    kind="hub",
                    region="420602",
                    location=near(),
                ),
                OPERATOR,
            )
            svc.execute(
                c.ChangeStationStatus(
                    command_id="ap", ts_ms=at(5), station_id="S1", status="approved"
                ),
                OPERATOR,
            )
            results = {}

            def register(i: int) -> None:
                results[i] = svc.execute(
                    c.RegisterWorker(
                        command_id=f"w{i}",
                        ts_ms=at(5),
                        worker_id=f"W{i}",
                        region="420602",
                        personal=c.Personal(mobile="13812341234"),
                        birth_year=1970,
                        skills=("moving",),
                        min_pay_fen=10000,
                        home=near(),
                    ),
                    OPERATOR,
                )

            threads = [threading.Thread(target=register, args=(i,)) for i in range(200)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert all(r.ok for r in results.values())
            assert sorted(r.seq for r in results.values()) == list(range(3, 203))
            assert svc.read(lambda s: len(s.worker_ids)) == 200
            assert svc.batches < 200  # group commit batched some of them
            assert rt.log.last_seq == 202
            bad = svc.execute(
                c.CheckIn(command_id="x", ts_ms=at(6), worker_id="nope", station_id="S1"), OPERATOR
            )
            assert not bad.ok and bad.refusal["field"] == "worker_id"
            with pytest.raises(ZeroDivisionError):
                svc.read(lambda s: 1 / 0)
        finally:
            svc.stop()
        with pytest.raises(RuntimeStopped):
            svc.submit(c.CheckOut(command_id="y", ts_ms=at(6), worker_id="W1"))
