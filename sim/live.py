"""A synthetic morning that goes on live: `lingong serve --demo`.

Owns: `DemoClock` (the demo's time: a morning hour of the demo's date, running at
`speed` times the wall clock from the moment it starts) and `LiveMorning`, which feeds
the rest of a `sim.demo.DemoRun` morning (postings, check-ins, people's answers) into a
running `EngineService` as the clock reaches each command, so the station boards move
while a person watches.

Invariants:
- People answer every decision the service makes, whoever caused it (the crowd, a
  tick, or a person using the HTTP API): `LiveMorning` listens to the service's results.
- The service's own ticker supplies time (`Advance`); the morning's scheduled ticks are
  dropped.
- `step(now_ms)` sends exactly the commands due by `now_ms`, in time order, and never a
  command twice; it never waits, so tests drive it with a `ManualClock`.

Limits: commands are submitted without waiting for their results (the service's queue,
`EngineService.max_queue`, bounds what is in flight: `ServiceBusy` drops the command and
counts it); at most `MAX_STEP` commands per step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from adapters.shell.runtime import Clock, Result, RuntimeStopped
from adapters.shell.service import EngineService, ServiceBusy
from engine import commands as c
from sim.callers import caller_for
from sim.morning import Morning

MAX_STEP = 10_000
POLL_S = 0.2  # how often the feeder looks at the clock (wall time)


class DemoClock:
    """Demo time: `start_ms` when created, then `speed` times the wall clock's pace."""

    def __init__(
        self, start_ms: int, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0 < speed <= 1000:
            raise ValueError("speed must be above 0 and at most 1000")
        self.start_ms = start_ms
        self.speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((self._monotonic() - self._t0) * 1000 * self.speed)


class LiveMorning:
    """The rest of a morning, sent to `service` as `clock` reaches each command."""

    def __init__(
        self,
        morning: Morning,
        rest: Iterable[tuple[int, c.Command]],
        service: EngineService,
        clock: Clock,
    ) -> None:
        self.morning = morning
        self.service = service
        self.clock = clock
        self._timeline = [(ts, cmd) for ts, cmd in rest if not isinstance(cmd, c.Advance)]
        self._next = 0
        self._lock = threading.Lock()  # the morning's scheduler: writer thread and feeder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.last_sent: list[c.Command] = []  # what the last step sent
        self.refused = 0
        self.dropped = 0
        service.on_result(self._answer)

    def _answer(self, cmd: c.Command, res: Result) -> None:
        """On the writer thread: people schedule their answers to what was decided."""
        if res.ok and res.events:
            with self._lock:
                self.morning.respond(res.events)

    def _count(self, fut: Future[Result]) -> None:
        if fut.exception() is None and not fut.result().ok:
            self.refused += 1

    def due(self, now_ms: int) -> list[c.Command]:
        """The commands due by `now_ms` (taken: each is returned once), in time order."""
        out: list[tuple[int, int, c.Command]] = []
        timeline = self._timeline
        while self._next < len(timeline) and timeline[self._next][0] <= now_ms:
            ts, cmd = timeline[self._next]
            out.append((ts, len(out), cmd))
            self._next += 1
            if len(out) >= MAX_STEP:
                break
        with self._lock:
            for cmd in self.morning.pop_due(now_ms):
                out.append((cmd.ts_ms, len(out), cmd))
                if len(out) >= MAX_STEP:
                    break
        out.sort(key=lambda item: item[:2])
        return [cmd for _, _, cmd in out]

    def step(self, now_ms: int | None = None) -> list[Future[Result]]:
        """Send what is due by `now_ms` (default: the clock); the futures of what was sent."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        futures = []
        self.last_sent = []
        for cmd in self.due(now):
            try:
                fut = self.service.submit(cmd, caller_for(self.service.runtime.engine.state, cmd))
            except ServiceBusy:
                self.dropped += 1
                continue
            fut.add_done_callback(self._count)
            futures.append(fut)
            self.last_sent.append(cmd)
            self.sent += 1
        return futures

    @property
    def finished(self) -> bool:
        """Nothing left: the timeline is sent and nobody has an answer pending."""
        with self._lock:
            return self._next >= len(self._timeline) and not self.morning._pending

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.step()
            except RuntimeStopped:
                return

    def start(self) -> Callable[[], None]:
        """Feed in a background thread; returns the function that stops it."""
        self._thread = threading.Thread(target=self._run, name="lingong-live-demo", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
