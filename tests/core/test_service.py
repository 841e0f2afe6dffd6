"""The engine service: concurrent callers, one writer, group commit, queries, stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters.shell.runtime import ManualClock, Runtime, RuntimeStopped
from adapters.shell.service import EngineService
from engine import commands as c
from sim.callers import OPERATOR
from tests.support import at, near

HANG_S = 120.0  # a hang guard on event-driven waits, never reached on a healthy machine


def test_concurrent_commands_group_commit_and_queries(tmp_path: Path) -> None:
    with Runtime(tmp_path, clock=ManualClock(at(5))) as rt:
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
            # hold the writer in a query, so that 200 callers queue up behind it
            entered, release = threading.Event(), threading.Event()

            def hold(_state: object) -> bool:
                entered.set()
                return release.wait(HANG_S)

            held = svc.query(hold)
            assert entered.wait(HANG_S)
            batches_before = svc.batches
            futures = {}

            def register(i: int) -> None:
                futures[i] = svc.submit(
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
            try:
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert svc.queue_depth == 200 and svc.ready  # all waiting behind the query
            finally:
                release.set()
            assert held.result(HANG_S) is True
            results = {i: f.result(HANG_S) for i, f in futures.items()}
            assert all(r.ok for r in results.values())
            assert sorted(r.seq for r in results.values()) == list(range(3, 203))
            # the held query's batch, then all 200 commands in ONE group commit
            assert svc.batches == batches_before + 2 and svc.queue_depth == 0
            assert svc.read(lambda s: len(s.worker_ids)) == 200
            assert rt.log.last_seq == 202
            bad = svc.execute(
                c.CheckIn(command_id="x", ts_ms=at(6), worker_id="nope", station_id="S1"), OPERATOR
            )
            assert not bad.ok and bad.refusal["field"] == "worker_id"
            with pytest.raises(ZeroDivisionError):
                svc.read(lambda s: 1 / 0)
        finally:
            svc.stop()
        assert not svc.ready
        with pytest.raises(RuntimeStopped):
            svc.submit(c.CheckOut(command_id="y", ts_ms=at(6), worker_id="W1"))
