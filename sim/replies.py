"""The simulated people of the synthetic morning: how they answer the engine's decisions.

Owns: `Replies`, the part of `sim.morning.Morning` that schedules what people do in answer
to the engine's decisions (accept or decline offers, staff reviews of held postings,
arrival, completion, wages and wage-arrears complaints), and the queue of those replies.
Most employers pay the agreed total (`engine.agreement`); `PARTIAL_PAY_P` of the paid
hires get half first (the engine opens an arrears case), `LATE_REST_SHARE` of those the
rest hours later the same local day (it closes), the others never.

Invariants: deterministic from the morning's seeded generator; the wage plan of a hire
draws from a generator of its own (seeded by the hire id), so the crowd's other draws are
the ones they were before wages were planned.

Limits: replies only to offers, held postings and hires the engine actually made.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

from engine import commands as c
from engine import events as e
from engine.agreement import agreed_total_fen
from engine.geo import LOCAL_OFFSET_MS, MS_PER_DAY, local_day_number

HOUR_MS = 3_600_000
MIN_MS = 60_000
PARTIAL_PAY_P = 0.12  # of paid hires: half the agreed total first (an arrears case opens)
LATE_REST_SHARE = 0.75  # of those: the rest hours later, same day (the case closes)


class Replies:
    """Mixed into `Morning`, which provides `rng`, `accept_p`, `decline_p`, `_jobs`,
    `_pending`, `_cid` and `_schedule`."""

    rng: random.Random
    accept_p: float
    decline_p: float
    _jobs: dict[str, tuple[str, str]]
    _pending: list[tuple[int, int, c.Command]]

    def _cid(self, kind: str) -> str:
        raise NotImplementedError

    def _schedule(self, ts_ms: int, cmd: c.Command) -> None:
        raise NotImplementedError

    def respond(self, events: list[e.Event]) -> None:
        """Schedule what people do in answer to the engine's decisions."""
        rng = self.rng
        for ev in events:
            if isinstance(ev, e.OfferMade):
                u = rng.random()
                delay = rng.randint(5, 90) * 1000
                if u < self.accept_p:
                    self._schedule(
                        ev.ts_ms + delay,
                        c.AcceptOffer(
                            command_id=self._cid("ac"),
                            ts_ms=ev.ts_ms + delay,
                            offer_id=ev.offer_id,
                            worker_id=ev.worker_id,
                        ),
                    )
                elif u < self.accept_p + self.decline_p:
                    self._schedule(
                        ev.ts_ms + delay,
                        c.DeclineOffer(
                            command_id=self._cid("dc"),
                            ts_ms=ev.ts_ms + delay,
                            offer_id=ev.offer_id,
                            worker_id=ev.worker_id,
                            reason="太远" if rng.random() < 0.5 else "",
                        ),
                    )
            elif isinstance(ev, e.JobHeldForReview) and ev.job_id in self._jobs:
                station_id = self._jobs[ev.job_id][0]
                t = ev.ts_ms + 10 * MIN_MS
                self._schedule(
                    t,
                    c.ReviewJob(
                        command_id=self._cid("rj"),
                        ts_ms=t,
                        job_id=ev.job_id,
                        staff_id=f"staff-{station_id}",
                        station_id=station_id,
                        approve=rng.random() < 0.7,
                        note="" if rng.random() < 0.5 else "工资已与雇主核实",
                    ),
                )
            elif isinstance(ev, e.HireConfirmed):
                self._after_hire(ev)

    def _after_hire(self, ev: e.HireConfirmed) -> None:
        rng = self.rng
        if rng.random() < 0.06:
            t = ev.start_ms + 30 * MIN_MS
            self._schedule(
                t, c.ReportNoShow(command_id=self._cid("ns"), ts_ms=t, hire_id=ev.hire_id)
            )
            return
        t = max(ev.ts_ms + 1000, ev.start_ms)
        self._schedule(t, c.ConfirmArrival(command_id=self._cid("ar"), ts_ms=t, hire_id=ev.hire_id))
        t = ev.end_ms
        self._schedule(t, c.CompleteWork(command_id=self._cid("cw"), ts_ms=t, hire_id=ev.hire_id))
        if rng.random() < 0.96:
            t = ev.end_ms + rng.randint(0, 120) * MIN_MS
            method = rng.choice(("cash", "wechat", "alipay", "bank"))
            # the agreed total; some employers pay part first (an arrears case opens), most
            # of those the rest hours later (it closes), a few never (it stays open). A
            # generator of its own per hire keeps the crowd's other draws as they were.
            total = agreed_total_fen(ev.pay_fen, ev.pay_unit, ev.start_ms, ev.end_ms, 0)
            wages = random.Random(f"wage:{ev.hire_id}")
            u = wages.random()
            first = total // 2 if u < PARTIAL_PAY_P and total >= 2 else total
            self._pay(t, ev.hire_id, first, method)
            if first < total and u < PARTIAL_PAY_P * LATE_REST_SHARE:
                # hours later, the same local day (a continued demo starts the next day)
                day_end = (local_day_number(t) + 1) * MS_PER_DAY - LOCAL_OFFSET_MS - MIN_MS
                later = max(t + 1000, min(t + wages.randint(2, 6) * HOUR_MS, day_end))
                self._pay(later, ev.hire_id, total - first, method)
        elif ev.job_id in self._jobs:  # unpaid: the worker complains of wage arrears
            t = ev.end_ms + 3 * HOUR_MS
            self._schedule(
                t,
                c.FileComplaint(
                    command_id=self._cid("cp"),
                    ts_ms=t,
                    complaint_id=f"C-{ev.hire_id}",
                    kind="wage_arrears",
                    employer_id=self._jobs[ev.job_id][1],
                    worker_id=ev.worker_id,
                    hire_id=ev.hire_id,
                    text="完工后未结工资",
                ),
            )

    def _pay(self, t: int, hire_id: str, amount_fen: int, method: str) -> None:
        self._schedule(
            t,
            c.PayWage(
                command_id=self._cid("wp"),
                ts_ms=t,
                hire_id=hire_id,
                amount_fen=amount_fen,
                method=method,  # type: ignore[arg-type]
            ),
        )

    def pop_due(self, until_ms: int) -> Iterator[c.Command]:
        while self._pending and self._pending[0][0] <= until_ms:
            yield heapq.heappop(self._pending)[2]

    def drain(self) -> Iterator[c.Command]:
        while self._pending:
            yield heapq.heappop(self._pending)[2]
