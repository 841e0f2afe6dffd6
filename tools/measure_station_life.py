"""Measure a station's life: the steps per second, and the revocation of a hub with the
whole tree below it.

Usage: PYTHONPATH=. python tools/measure_station_life.py [BRANCHES] [POSTS] [JOBS]
A hub with BRANCHES 分站 (default 50), each with POSTS 驿站 (default 20) taken through
申报, 审核, 批准 and 备案 by four accounts, and JOBS open postings per 驿站 (default 2); then
the hub is revoked (default policy: children suspended, postings cancelled). Prints the
rate of the life steps, the revocation's events, time and record size (machine
dependent: a measurement, not a test). In-process engine, no log.
"""

from __future__ import annotations

import sys
import time

from engine import commands as c
from engine.authz import Caller
from engine.record import encode_record
from tests.support import World, cid, near

SVC = ("registration", "posting", "training_signup", "policy_advice")


def main(branches: int = 50, posts: int = 20, jobs: int = 2) -> None:
    w = World()
    w.station("H", kind="hub")
    w.employer()
    acct = [Caller(actor_id=f"acct-{i}", role="admin", nationwide=True) for i in range(5)]

    def run(cmd: c.Command, who: Caller) -> None:
        w.run(cmd, who)

    for b in range(branches):
        w.station(f"B{b}", kind="branch", parent="H", where=near(b * 100, 0))
    t0 = time.perf_counter()
    for b in range(branches):
        for p in range(posts):
            sid = f"P{b}-{p}"
            run(c.ApplyStation(command_id=cid(), ts_ms=w.now, station_id=sid, name="驿站",
                               kind="post", parent_id=f"B{b}", region="420602", location=near(b * 100, p * 50), area_m2=40,
                               head=c.Personal(name="王建国"), hotline="12333", open_min=420,
                               close_min=1080, services=SVC, staff_count=1,
                               by=acct[0].actor_id), acct[0])  # fmt: skip
            run(c.ReviewStation(command_id=cid(), ts_ms=w.now, station_id=sid, passed=True,
                                by=acct[1].actor_id), acct[1])  # fmt: skip
            run(c.ApproveStation(command_id=cid(), ts_ms=w.now, station_id=sid,
                                 by=acct[2].actor_id), acct[2])  # fmt: skip
            run(c.FileStation(command_id=cid(), ts_ms=w.now, station_id=sid, filing_no=sid,
                              by=acct[3].actor_id), acct[3])  # fmt: skip
    t1 = time.perf_counter()
    for b in range(branches):
        for p in range(posts):
            for k in range(jobs):
                w.post(f"J{b}-{p}-{k}", sid=f"P{b}-{p}", title=f"搬运{k}",
                       where=near(b * 100, p * 50))  # fmt: skip
    t2 = time.perf_counter()
    out = w.engine.execute(
        c.RevokeStation(command_id=cid(), ts_ms=w.now, station_id="H", reason="撤销",
                        by=acct[4].actor_id), acct[4])  # fmt: skip
    t3 = time.perf_counter()
    steps = 4 * branches * posts
    kinds: dict[str, int] = {}
    for ev in out.events:
        kinds[type(ev).__name__] = kinds.get(type(ev).__name__, 0) + 1
    print(f"life steps: {steps} commands in {t1 - t0:.2f} s = {steps / (t1 - t0):.0f} /s")
    print(f"revocation of H: {len(out.events)} events in {(t3 - t2) * 1000:.1f} ms {kinds}")
    print(f"revocation record: {len(encode_record(out.record()))} bytes")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
