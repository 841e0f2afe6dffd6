"""The crowd's station staff answering complaint cases (issue 14); the bureau's mediation.

Owns: `CaseDesk` (the demo's morning): on each `ComplaintFiled` of the run it schedules what the answering
station's staff do: accept the case within the hour, then resolve it the next day (5 in
10), or start investigating and leave it open (2 in 10), or reject it (1 in 10); 2 in 10
are left untouched. Cases left open pass their 限时办结 deadline when the demo ends with a
tick at the last deadline (`closing_tick`).

`Bureau` (runs of many days, `bench.days_bench`): the stations' staff and the bureau's
wage-arrears mediation (根治欠薪) close every case, as a working bureau does. Each
complaint is accepted within the hour and investigated from the next day; a wage-arrears
case (`ArrearsOpened`) is mediated: the employer pays what is still owed
`MEDIATION_DAYS` days later (1 in 10 cases goes to labour inspection first and is paid
`INSPECTION_DAYS` days later); a complaint is resolved the day after its hire's case
closed (or after investigating, when no case is open), and 1 in 10 non-wage complaints
is rejected. Steps happen in office hours (09:00-17:00 local).

Invariants: the choice is a function of the complaint id (CRC-32), not of the morning's
random stream, so adding the desk changes none of the morning's other draws; every
command goes through the engine's authorisation like any other (`sim.callers` names the
station's staff as the caller).

Limits: `CaseDesk`: one pending step per case at a time; at most 3 steps per case.
`Bureau`: at most one pending step per case; a complaint is looked at again at most
`MAX_LOOKS` times (daily) before it is resolved as it stands.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Iterator

from engine import commands as c
from engine import events as e
from engine.geo import LOCAL_OFFSET_MS, local_day_number
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


MEDIATION_DAYS = (1, 5)  # a mediated arrears case is paid this many days after it opened
INSPECTION_DAYS = (8, 12)  # the cases that go to labour inspection first
MAX_LOOKS = 30  # daily looks at a complaint whose hire's arrears case is still open
OFFICE_OPEN_MS = 9 * HOUR_MS  # local time the bureau's day starts


def _pick(key: str) -> int:
    return zlib.crc32(key.encode())


def _office(ts_ms: int, days: int, minutes: int) -> int:
    """`days` local days after `ts_ms`'s day, `minutes` after the office opens."""
    day = local_day_number(ts_ms) + days
    return day * DAY_MS - LOCAL_OFFSET_MS + OFFICE_OPEN_MS + minutes * 60_000


class Bureau:
    """Every case closes: see the module header. `pop_due(until_ms, state)` yields the
    steps due by `until_ms`, each built from the state when it is due (what is still
    owed, whether the case is still open), so steps of cases closed meanwhile vanish."""

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, str, str]] = []  # (due ms, n, action, key)
        self._n = 0
        self._looks: dict[str, int] = {}  # complaint id -> looks so far
        self._hire_of: dict[str, str] = {}  # complaint id -> hire id

    def _at(self, ts_ms: int, action: str, key: str) -> None:
        self._n += 1
        heapq.heappush(self._queue, (ts_ms, self._n, action, key))

    def respond(self, events: list[e.Event]) -> None:
        for ev in events:
            if isinstance(ev, e.ComplaintFiled):
                self._hire_of[ev.complaint_id] = ev.hire_id
                self._at(ev.ts_ms + HOUR_MS, "accepted", ev.complaint_id)
                self._at(_office(ev.ts_ms, 1, 30), "investigating", ev.complaint_id)
                self._at(_office(ev.ts_ms, 2, 60), "look", ev.complaint_id)
            elif isinstance(ev, e.ArrearsOpened):
                u = _pick(ev.case_id)
                lo, hi = INSPECTION_DAYS if u % 10 == 0 else MEDIATION_DAYS
                days = lo + (u // 10) % (hi - lo + 1)
                self._at(_office(ev.ts_ms, days, (u // 100) % 420), "pay", ev.case_id)

    def pending(self) -> int:
        return len(self._queue)

    def pop_due(self, until_ms: int, state: State) -> Iterator[c.Command]:
        while self._queue and self._queue[0][0] <= until_ms:
            ts, n, action, key = heapq.heappop(self._queue)
            cmd = self._command(ts, n, action, key, state)
            if cmd is not None:
                yield cmd

    def _command(self, ts: int, n: int, action: str, key: str, state: State) -> c.Command | None:
        cid = f"bu-{n:08d}"
        if action == "pay":
            case = state.arrears.get(key)
            if case is None or case.status != "open" or case.agreed_fen <= case.paid_fen:
                return None
            return c.PayWage(
                command_id=cid,
                ts_ms=ts,
                hire_id=case.hire_id,
                amount_fen=case.agreed_fen - case.paid_fen,
                method="bank",
            )
        comp = state.complaints.get(key)
        if comp is None or not comp.live:
            self._looks.pop(key, None)
            self._hire_of.pop(key, None)
            return None
        if action != "look":
            status = comp.status
            if (action, status) not in (("accepted", "open"), ("investigating", "accepted")):
                return None
            note = "已受理，联系雇主核实" if action == "accepted" else "约谈雇主，调解中"
            return c.ChangeComplaintStatus(
                command_id=cid, ts_ms=ts, complaint_id=key, status=action, note=note
            )
        hire = state.hires.get(self._hire_of.get(key, ""))
        looks = self._looks.get(key, 0) + 1
        if hire is not None and hire.arrears_case and looks < MAX_LOOKS:
            self._looks[key] = looks
            self._at(_office(ts, 1, 60), "look", key)  # the employer has not paid yet
            return None
        self._looks.pop(key, None)
        self._hire_of.pop(key, None)
        rejected = comp.kind != "wage_arrears" and _pick(key) % 10 == 0
        return c.ChangeComplaintStatus(
            command_id=cid,
            ts_ms=ts,
            complaint_id=key,
            status="rejected" if rejected else "resolved",
            note="经核实不属实" if rejected else "已结清，结案",
        )
