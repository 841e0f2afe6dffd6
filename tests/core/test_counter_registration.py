"""A worker registered at a station's counter without a mobile (issue 14): accepted only
with a registering station, which becomes the contact point; replay keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from replay.cli import main as replay_main
from sim.callers import OPERATOR
from tests.support import at, near

STATION = c.RegisterStation(command_id="st", ts_ms=at(5), station_id="S1", name="站", kind="hub",
                            region="420602", location=near())  # fmt: skip


def _worker(wid: str, station: str = "", mobile: str = "") -> c.RegisterWorker:
    return c.RegisterWorker(command_id=f"rw-{wid}", ts_ms=at(6), worker_id=wid, region="420602",
                            personal=c.Personal(name="王大爷", mobile=mobile), birth_year=1962,
                            skills=("moving",), min_pay_fen=10000, home=near(),
                            station_id=station)  # fmt: skip


def test_no_mobile_only_at_a_counter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Runtime(tmp_path) as rt:
        assert rt.submit(STATION, OPERATOR).ok
        res = rt.submit(_worker("W0"), OPERATOR)
        assert not res.ok and res.refusal["field"] == "personal.mobile"  # type: ignore[index]
        res = rt.submit(_worker("W1", "S1"), OPERATOR)
        assert res.ok, res.refusal
        ev = res.events[0]
        assert isinstance(ev, e.WorkerRegistered) and ev.phone_masked == "" and ev.station_id
        assert rt.unseal_worker("W1", ev.sealed)["mobile"] == ""  # type: ignore[index]
        assert rt.submit(_worker("W2", "S1", "13812341234"), OPERATOR).ok
        state = rt.engine.state
        assert state.contact_station == {state.worker_rows["W1"]: "S1"}
        erase = c.EraseWorker(command_id="er", ts_ms=at(7), worker_id="W1", reason="本人申请")
        assert rt.submit(erase, OPERATOR).ok
        assert rt.engine.state.contact_station == {}
        digest = rt.engine.state.digest()
    assert replay_main(["verify", str(tmp_path / "log"), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["digest"] == digest
