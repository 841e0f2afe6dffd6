"""The engine service: many callers, one writer thread, group commit.

Owns: `EngineService`, the only way transports (HTTP, NATS micro, SMS replies) reach a
`Runtime`. Callers on any thread (or asyncio task) submit commands, each with its
authenticated `engine.authz.Caller`, and read-only queries; one writer thread takes
everything queued, executes the commands in order, appends all their records with ONE
fsync (`Runtime.flush`), then resolves every caller's future. A ticker appends `Tick`s
from the runtime clock (as `SYSTEM`) so expiries are decided inside the log, but only
when the engine has something due (`Runtime.due_tick_command`): an idle log stays idle.
`ready` and `queue_depth` are read by `/readyz` and the metrics without touching the writer.

Invariants:
- A command's future resolves only after its record is durable (or with its refusal).
- A bug in the core refuses only the command that hit it (the runtime contains it, see
  `Runtime.execute`); the rest of the batch is appended and acknowledged.
- Anything else that fails a batch (a log failure, a bug in the service) fails every
  caller of the batch and halts the runtime, so nothing a caller was told failed is ever
  appended later; pending and later calls fail with `RuntimeStopped`, `ready` is False.
- Queries run on the writer thread between batches, so they see a consistent state that
  includes every acknowledged command.

Limits: `max_queue` items waiting (callers get `ServiceBusy` beyond), `max_batch` items per
group commit, `tick_ms` between ticks (0 disables the ticker).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from adapters.shell.runtime import Result, Runtime, RuntimeStopped
from engine.authz import SYSTEM, Caller
from engine.commands import Command
from engine.state import State

T = TypeVar("T")


class ServiceBusy(Exception):
    """The command queue is full; try again shortly (HTTP 503, NATS 503)."""


class _Item:
    __slots__ = ("command", "caller", "query", "future")

    def __init__(
        self,
        command: Command | None,
        query: Callable[[State], Any] | None,
        caller: Caller = SYSTEM,
    ) -> None:
        self.command = command
        self.caller = caller
        self.query = query
        self.future: Future[Any] = Future()


_STOP = _Item(None, None)


class EngineService:
    def __init__(
        self,
        runtime: Runtime,
        *,
        max_queue: int = 10_000,
        max_batch: int = 1024,
        tick_ms: int = 1000,
    ) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self.tick_ms = tick_ms
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max_queue)
        self._listeners: list[Callable[[Command, Result], None]] = []
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._run, name="lingong-writer", daemon=True)
        self._ticker = threading.Thread(target=self._tick_loop, name="lingong-ticker", daemon=True)
        self.batches = 0
        self.commands = 0

    # ------------------------------------------------------------ lifecycle ---------

    def start(self) -> EngineService:
        self._writer.start()
        if self.tick_ms > 0:
            self._ticker.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._queue.put(_STOP)
        self._writer.join(timeout=30)
        if self._ticker.is_alive():
            self._ticker.join(timeout=5)

    @property
    def ready(self) -> bool:
        """True while the service accepts commands: the writer runs and the log is writable."""
        return self.runtime.ready and not self._stop.is_set() and self._writer.is_alive()

    @property
    def queue_depth(self) -> int:
        """Commands and queries waiting for the writer (approximate: read without a lock)."""
        return self._queue.qsize()

    def on_result(self, listener: Callable[[Command, Result], None]) -> None:
        """Called on the writer thread after each durable command (metrics, boards)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------ calls -------------

    def submit(self, cmd: Command, caller: Caller = SYSTEM) -> Future[Result]:
        return self._put(_Item(cmd, None, caller))

    def query(self, fn: Callable[[State], T]) -> Future[T]:
        return self._put(_Item(None, fn))

    def execute(self, cmd: Command, caller: Caller = SYSTEM, timeout_s: float = 30.0) -> Result:
        return self.submit(cmd, caller).result(timeout=timeout_s)

    def read(self, fn: Callable[[State], T], timeout_s: float = 30.0) -> T:
        return self.query(fn).result(timeout=timeout_s)

    async def aexecute(self, cmd: Command, caller: Caller = SYSTEM) -> Result:
        return await asyncio.wrap_future(self.submit(cmd, caller))

    async def aread(self, fn: Callable[[State], T]) -> T:
        return await asyncio.wrap_future(self.query(fn))

    def _put(self, item: _Item) -> Future[Any]:
        if self.runtime.stopped is not None:
            raise RuntimeStopped(str(self.runtime.stopped))
        if self._stop.is_set():
            raise RuntimeStopped("service stopped")
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            raise ServiceBusy(f"more than {self._queue.maxsize} requests waiting") from None
        return item.future

    # ------------------------------------------------------------ the writer --------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(nxt)
            self._do_batch(batch)
        self._fail_pending(RuntimeStopped("service stopped"))

    def _do_batch(self, batch: list[_Item]) -> None:
        rt = self.runtime
        done: list[tuple[_Item, Any]] = []
        try:
            for item in batch:
                if item.command is not None:
                    done.append((item, rt.execute(item.command, item.caller)))
                    continue
                rt.flush()  # a query sees only durable state
                try:
                    assert item.query is not None
                    done.append((item, item.query(rt.engine.state)))
                except Exception as exc:  # a failing query fails only its caller
                    done.append((item, exc))
            rt.flush()
        except Exception as exc:  # RuntimeStopped or a bug: nothing after it is trusted
            rt.halt(exc)  # the batch's pending records are never appended
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            self._stop.set()
            self._fail_pending(exc)
            return
        self.batches += 1
        for item, value in done:
            if isinstance(value, Exception):
                item.future.set_exception(value)
                continue
            if item.command is not None:
                self.commands += 1
                for listener in self._listeners:
                    try:
                        listener(item.command, value)
                    except Exception:  # noqa: BLE001 - a listener never breaks the writer
                        pass
            item.future.set_result(value)

    def _fail_pending(self, exc: Exception) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP and not item.future.done():
                item.future.set_exception(exc)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_ms / 1000):
            try:
                cmd = self.runtime.due_tick_command()  # nothing due: no Tick record
                if cmd is None:
                    continue
                self.submit(cmd)
            except (ServiceBusy, RuntimeStopped):
                continue
