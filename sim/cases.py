"""The crowd's station staff answering complaint cases (issue 14), for the demo.

Owns: `CaseDesk`: on each `ComplaintFiled` of the run it schedules what the answering
station's staff do: accept the case within the hour, then resolve it the next day (5 in
10), or start investigating and leave it open (2 in 10), or reject it (1 in 10); 2 in 10
are left untouched. Cases left open pass their 限时办结 deadline when the demo ends with a
tick at the last deadline (`closing_tick`).

Invariants: the choice is a function of the complaint id (CRC-32), not of the morning's
random stream, so adding the desk changes none of the morning's other draws; every
command goes through the engine's authorisation like any other (`sim.callers` names the
station's staff as the caller).

Limits: one pending step per case at a time; at most 3 steps per case.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from engine import commands as c
from engine import events as e
from engine.state import State

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
Schedule = Callable[[int, c.Command], None]


class CaseDesk:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.filed: list[str] = []  # complaint ids of this run, in filing order
        self._n = 0

    def _step(self, ev: e.ComplaintFiled, at_ms: int, status: str, note: str) -> None:
        self._n += 1
        self.schedule(
            at_ms,
            c.ChangeComplaintStatus(
                command_id=f"cs-{self._n:08d}",
                ts_ms=at_ms,
                complaint_id=ev.complaint_id,
                status=status,  # type: ignore[arg-type]
                note=note,
            ),
        )

    def respond(self, events: list[e.Event]) -> None:
        for ev in events:
            if not isinstance(ev, e.ComplaintFiled):
                continue
            self.filed.append(ev.complaint_id)
            pick = zlib.crc32(ev.complaint_id.encode()) % 10
            t = ev.ts_ms
            if pick < 5:
                self._step(ev, t + HOUR_MS, "accepted", "已受理，联系雇主核实")
                self._step(ev, t + DAY_MS, "resolved", "雇主已结清工资")
            elif pick < 7:
                self._step(ev, t + HOUR_MS, "accepted", "已受理")
                self._step(ev, t + DAY_MS, "investigating", "雇主未到站说明，继续调查")
            elif pick < 8:
                self._step(ev, t + 2 * HOUR_MS, "rejected", "经核实工资已当场结清")

    def closing_tick(self, state: State, command_id: str) -> c.Advance | None:
        """A tick at the last deadline of this run's cases still open (None: none open)."""
        due = [
            comp.due_ms
            for cid in self.filed
            if (comp := state.complaints.get(cid)) is not None and comp.live
        ]
        if not due:
            return None
        return c.Advance(command_id=command_id, ts_ms=max(due))
