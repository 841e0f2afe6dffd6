"""The runtime: one engine wired to one log, a key store and a clock.

Owns: recovery on start (latest snapshot + the log after it, digest checked), executing
commands in batches with group commit (decide+apply each, seal personal data, append all
records with one fsync, then acknowledge), erasing keys after a durable `WorkerErased`,
periodic snapshots, `Tick` commands from the clock, notifying subscribers
(projections, publishers) of durable records, and signed checkpoints of the log's head
(`adapters.log.checkpoints`: after the append that crosses a local day boundary, and
`checkpoint()` on demand).

Invariants:
- The log is the authority: a command is acknowledged only after its record is durable.
- If an append fails (fsync error) the runtime stops for good (`RuntimeStopped`): memory
  is ahead of the log and cannot be trusted; a restart recovers from the log.
- Subscribers see records in seq order, only after they are durable, each exactly once
  per process; they must be idempotent by seq across restarts.

Limits: `max_batch` commands per group commit (default 2,048).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from adapters.log.checkpoints import Checkpoint, Checkpointer
from adapters.log.filelog import FileLog
from adapters.log.ports import EventLog
from adapters.log.records import read_records
from adapters.log.snapshots import latest_snapshot, write_snapshot
from adapters.shell.pii import KeyStore, Sealer
from engine import events as e
from engine.commands import Advance, Command, Refusal
from engine.core import Engine, Outcome, make_record
from engine.snapshot import restore_state, snapshot_state

Subscriber = Callable[[int, e.Record], None]


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told (tests, the simulator, replays of a morning)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms

    def set(self, ms: int) -> None:
        self.ms = ms

    def advance(self, ms: int) -> None:
        self.ms += ms


class RuntimeStopped(Exception):
    """The runtime stopped after a log failure; restart to recover from the log."""


class Result(msgspec.Struct, kw_only=True):
    """What a caller gets back for one command."""

    ok: bool
    seq: int = 0
    duplicate: bool = False
    events: list[e.Event] = []
    refusal: dict[str, str] | None = None


class Runtime:
    def __init__(
        self,
        data_dir: str | Path,
        *,
        log: EventLog | None = None,
        clock: Clock | None = None,
        fsync: bool = True,
        snapshot_every: int = 0,
        max_batch: int = 2048,
        checkpoint_key: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log: EventLog = log if log is not None else FileLog(self.data_dir / "log", fsync=fsync)
        self.keys = KeyStore(
            self.data_dir / "keys",
            log_directory=self.data_dir / "log",
            sync="deferred" if fsync else "none",
        )
        self.sealer = Sealer(self.keys)
        self.clock = clock or SystemClock()
        self.snapshot_dir = self.data_dir / "snapshots"
        self.snapshot_every = snapshot_every
        self.max_batch = max_batch
        self.subscribers: list[Subscriber] = []
        self.stopped: Exception | None = None
        # signed checkpoints of the log's head: each local day boundary, and `checkpoint()`
        self.checkpoints = Checkpointer(self.data_dir, checkpoint_key)
        self.engine = self._recover()
        # the recovered state is long-lived: keep it out of the cyclic collector's full
        # passes, whose pauses otherwise set the worst-case decision latency
        gc.collect()
        gc.freeze()
        self._since_snapshot = 0
        self._tick_seq = 0
        self._pending: list[tuple[int, e.Record]] = []

    # ------------------------------------------------------------ recovery ----------

    def _recover(self) -> Engine:
        engine = Engine()
        snap = latest_snapshot(self.snapshot_dir) if self.snapshot_dir.exists() else None
        if snap is not None and snap[0] <= self.log.last_seq:
            seq, digest, body = snap
            engine = Engine(restore_state(body))
            if engine.digest() != digest:
                raise RuntimeError(f"snapshot at seq {seq} does not match its digest")
        for batch in read_records(self.log, engine.state.last_seq + 1):  # the one read port
            for seq, record in batch.pairs():
                engine.apply_record(seq, record)
        return engine

    # ------------------------------------------------------------ commands ----------

    def submit(self, cmd: Command) -> Result:
        return self.submit_many([cmd])[0]

    def submit_many(self, cmds: Sequence[Command]) -> list[Result]:
        """Execute `cmds` in order; one durable append for all accepted ones."""
        if len(cmds) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} commands per batch")
        results = [self.execute(cmd) for cmd in cmds]
        self.flush()
        return results

    def execute(self, cmd: Command) -> Result:
        """Decide and apply `cmd`; its record waits for `flush` (group commit).

        The result is not acknowledged to anyone outside until `flush` returns.
        """
        if self.stopped is not None:
            raise RuntimeStopped(str(self.stopped))
        try:
            out = self.engine.execute(cmd)
        except Refusal as ref:
            return Result(ok=False, refusal=ref.as_dict())
        if out.duplicate:
            return Result(ok=True, seq=out.seq, duplicate=True)
        events = self._seal(out)
        self._pending.append((out.seq, make_record(cmd.command_id, events)))
        if len(self._pending) >= self.max_batch:
            self.flush()
        return Result(ok=True, seq=out.seq, events=events)

    def flush(self) -> None:
        """Append every pending record with one fsync; then notify subscribers."""
        if not self._pending:
            return
        records, self._pending = self._pending, []
        try:
            self.keys.sync()  # keys the records need are durable before the records
        except OSError as exc:
            self.stopped = exc
            raise RuntimeStopped(f"key store sync failed, runtime stopped: {exc}") from exc
        self._append(records)
        for _, rec in records:
            for ev in rec.events:
                if isinstance(ev, e.WorkerErased):
                    self.keys.erase(ev.worker_id)

    def _seal(self, out: Outcome) -> list[e.Event]:
        if not out.personal:
            return out.events
        events = list(out.events)
        for i, ev in enumerate(events):
            if isinstance(ev, e.WorkerRegistered) and ev.worker_id in out.personal:
                blob = self.sealer.seal(ev.worker_id, out.personal[ev.worker_id])
                events[i] = msgspec.structs.replace(ev, sealed=blob)
            elif isinstance(ev, e.EmployerRegistered) and ev.employer_id in out.personal:
                subject = "employer:" + ev.employer_id
                blob = self.sealer.seal(subject, out.personal[ev.employer_id])
                events[i] = msgspec.structs.replace(ev, sealed=blob)
        return events

    def _append(self, records: list[tuple[int, e.Record]]) -> None:
        payloads = [e.encode_record(rec) for _, rec in records]
        try:
            last = self.log.append(payloads)
        except Exception as exc:
            self.stopped = exc
            raise RuntimeStopped(f"log append failed, runtime stopped: {exc}") from exc
        if last != records[-1][0]:
            self.stopped = RuntimeError(f"log seq {last} != engine seq {records[-1][0]}")
            raise RuntimeStopped(str(self.stopped))
        for seq, rec in records:
            for sub in self.subscribers:
                sub(seq, rec)
        self.checkpoints.after_append(last, self.log.head_hash, self.engine.state.last_ts_ms)
        self._since_snapshot += len(records)
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def tick(self, now_ms: int | None = None) -> Result:
        return self.submit(self.tick_command(now_ms))

    def tick_command(self, now_ms: int | None = None) -> Advance:
        """An `Advance` at the clock's time (never before the last event's time)."""
        ts = self.clock.now_ms() if now_ms is None else now_ms
        ts = max(ts, self.engine.state.last_ts_ms)
        self._tick_seq += 1
        return Advance(command_id=f"tick-{ts}-{self._tick_seq}", ts_ms=ts)

    # ------------------------------------------------------------ upkeep ------------

    def snapshot(self) -> int:
        state = self.engine.state
        write_snapshot(self.snapshot_dir, state.last_seq, state.digest(), snapshot_state(state))
        self._since_snapshot = 0
        return state.last_seq

    def checkpoint(self) -> Checkpoint | None:
        """A signed checkpoint of the log's head now (on demand); None if it failed."""
        self.flush()
        state = self.engine.state
        return self.checkpoints.write(self.log.last_seq, self.log.head_hash, state.last_ts_ms)

    def unseal_worker(self, worker_id: str, blob: bytes) -> dict[str, str] | None:
        return self.sealer.unseal(worker_id, blob)

    def close(self) -> None:
        if self.stopped is None:
            self.flush()
        self.log.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
