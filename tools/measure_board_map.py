"""Measure the station board and the e-map's layers on N open jobs around a hub.

Usage: PYTHONPATH=. python tools/measure_board_map.py N
N jobs collected by a branch 11 km away, spread uniformly over a 10 km square centred on
a hub; the hub's board (radius 1.5 km: the default policy) must find the nearby ones
through the H3 index of open jobs. Prints the median and worst of 30 calls (machine
dependent: a measurement, not a test).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.http.board_page import board_view
from adapters.http.map_page import job_features, job_points
from adapters.shell.runtime import ManualClock, Runtime
from engine import commands as c
from sim.callers import OPERATOR
from sim.morning import local_midnight_ms, make_uscc

XY = (32.0090, 112.1220)


def _timed(fn: Callable[[], Any], reps: int = 30) -> tuple[Any, float, float]:
    times = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times) * 1000, max(times) * 1000


def main(n: int) -> None:
    now = local_midnight_ms("2026-11-23") + 5 * 3_600_000
    rng = random.Random(1)
    hub = c.Point(lat=XY[0], lng=XY[1])
    branch = c.Point(lat=XY[0] + 0.1, lng=XY[1])
    cmds: list[c.Command] = [
        c.RegisterStation(command_id="s1", ts_ms=now, station_id="S1", name="总站",
                          kind="hub", region="420602", location=hub),
        c.ChangeStationStatus(command_id="s2", ts_ms=now, station_id="S1", status="approved"),
        c.RegisterStation(command_id="s3", ts_ms=now, station_id="S2", name="分站",
                          kind="branch", parent_id="S1", region="420602", location=branch),
        c.ChangeStationStatus(command_id="s4", ts_ms=now, station_id="S2", status="approved"),
    ]  # fmt: skip
    for e in range(200):
        cmds.append(
            c.RegisterEmployer(command_id=f"e{e}", ts_ms=now, employer_id=f"E{e}",
                               kind="organisation", name=f"公司{e}", region="420602",
                               uscc=make_uscc(random.Random(e), "420602"),
                               contact=c.Personal(name="李四", mobile="13912345678"))
        )  # fmt: skip
    for i in range(n):
        where = c.Point(lat=XY[0] + rng.uniform(-0.045, 0.045),
                        lng=XY[1] + rng.uniform(-0.053, 0.053))  # fmt: skip
        cmds.append(
            c.SubmitJob(command_id=f"j{i}", ts_ms=now, job_id=f"J{i}", employer_id=f"E{i % 200}",
                        station_id="S2", title=f"搬运工{i}", skill="moving", headcount=3,
                        pay_fen=30000, start_ms=now + 3 * 3_600_000, end_ms=now + 9 * 3_600_000,
                        location=where)
        )  # fmt: skip
    with Runtime(Path(tempfile.mkdtemp()) / "d", clock=ManualClock(now), fsync=False) as rt:
        for k in range(0, len(cmds), 2000):
            for res in rt.submit_many(cmds[k : k + 2000], OPERATOR):
                assert res.ok, res.refusal
        st = rt.engine.state
        opened = sum(1 for j in st.jobs.values() if j.status == "open")
        view, med, worst = _timed(lambda: board_view(st, "S1", now))
        print(f"open jobs {opened}; hub board: {view.count} within {view.radius_m} m, "
              f"{len(view.jobs)} listed: median {med:.2f} ms, worst {worst:.2f} ms")  # fmt: skip
        bbox = (XY[1] - 0.02, XY[0] - 0.02, XY[1] + 0.02, XY[0] + 0.02)
        pts, med, worst = _timed(lambda: job_points(st, 5000, bbox))
        print(f"map jobs, bbox 0.04 deg, writer-thread part: {len(pts[0])} jobs: "
              f"median {med:.2f} ms, worst {worst:.2f} ms")  # fmt: skip
        fc, med, worst = _timed(lambda: job_features(st, "gcj02", 5000, bbox, now))
        print(f"map jobs, bbox 0.04 deg, whole GeoJSON (GCJ-02): {len(fc.features)} features: "
              f"median {med:.2f} ms, worst {worst:.2f} ms")  # fmt: skip


def notify_cost() -> None:
    """The board hub's work on the event loop per changed job: 512 open boards (the
    default `Limits.board_clients`) spread over a province, one job site."""
    from adapters.http.board import BoardHub

    hub = BoardHub.__new__(BoardHub)  # only the notification state; no app needed
    hub._subs, hub._version, hub._cache, hub._where = {}, {}, {}, {}
    rng = random.Random(1)
    for i in range(512):
        hub._subs[f"S{i}"] = set()
        hub._where[f"S{i}"] = (rng.uniform(29.0, 33.0), rng.uniform(108.0, 116.0), 1550.0)
    sites = [(rng.uniform(29.0, 33.0), rng.uniform(108.0, 116.0)) for _ in range(1000)]
    times = []
    for site in sites:
        t0 = time.perf_counter()
        hub.notify(frozenset({"S0"}), (site,))
        times.append(time.perf_counter() - t0)
    print(f"board hub notify, 512 boards, 1 job site: median "
          f"{statistics.median(times) * 1e6:.0f} us, worst {max(times) * 1e6:.0f} us")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    notify_cost()
