"""A station's life in the reports: a station under 限期整改 still counts as operating in
the 调度表 (progress) and the directory; statuses are named in Chinese. The log is
written by the real runtime and projected into DuckDB."""

from __future__ import annotations

from pathlib import Path

from adapters.shell.runtime import ManualClock, Runtime
from adapters.stores.backend import DuckDBBackend
from adapters.stores.projector import REPORTING, project
from adapters.stores.report_model import Period, Scope
from adapters.stores.reports import build
from engine import commands as c
from engine.authz import Caller
from sim.callers import OPERATOR
from tests.support import at, cid, near

SVC = ("registration", "posting", "training_signup", "policy_advice")


def _caller(name: str) -> Caller:
    return Caller(actor_id=name, role="admin", region="4206")


def _life(rt: Runtime) -> None:
    def run(cmd: c.Command, caller: Caller = OPERATOR) -> None:
        res = rt.submit(cmd, caller)
        assert res.ok, (type(cmd).__name__, res.refusal)

    t = at(5)
    run(c.RegisterStation(command_id=cid(), ts_ms=t, station_id="H", name="襄阳总站",
                          kind="hub", region="420602", location=near()))  # fmt: skip
    run(c.ChangeStationStatus(command_id=cid(), ts_ms=t, station_id="H", status="approved"))
    for sid in ("P1", "P2", "P3"):
        run(c.ApplyStation(command_id=cid(), ts_ms=t, station_id=sid, name=f"驿站{sid}",
                           kind="post", parent_id="H", region="420602", location=near(300, 0),
                           area_m2=40, head=c.Personal(name="王建国"), hotline="12333",
                           open_min=420, close_min=1080, services=SVC, staff_count=1,
                           by="applicant"), _caller("applicant"))  # fmt: skip
        if sid == "P3":
            continue  # stays applied
        run(c.ReviewStation(command_id=cid(), ts_ms=t, station_id=sid, passed=True,
                            by="reviewer"), _caller("reviewer"))  # fmt: skip
        run(c.ApproveStation(command_id=cid(), ts_ms=t, station_id=sid, by="approver"),
            _caller("approver"))  # fmt: skip
    run(c.OrderRectification(command_id=cid(), ts_ms=t, station_id="P2", items="热线无人接听",
                             days=30, by="inspector"), _caller("inspector"))  # fmt: skip
    rt.flush()


def test_rectifying_stations_count_as_operating(tmp_path: Path) -> None:
    with Runtime(tmp_path, clock=ManualClock(at(5)), fsync=False) as rt:
        _life(rt)
    store = DuckDBBackend(tmp_path / "r.duckdb")
    try:
        project(store, REPORTING, tmp_path / "log")
        scope = Scope(period=Period.month("2026-11"))
        rows = next(
            s.rows for s in build("progress", store, scope).sections if s.key == "by_region"
        )
        total = rows[-1]
        assert (total["markets"], total["posts"]) == (1, 2)  # H; P1 and P2 (rectifying)
        directory = build("directory", store, scope)
        status = {r["station_id"]: r["status"] for s in directory.sections for r in s.rows
                  if "station_id" in r}  # fmt: skip
        assert status == {"H": "已认定", "P1": "已认定", "P2": "限期整改中", "P3": "申请中"}
    finally:
        store.close()
