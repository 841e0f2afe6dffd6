"""The runtime: one engine wired to one log, a key store and a clock.

Owns: recovery on start (latest trusted snapshot + the log after it), executing
commands as their caller (`engine.authz.Caller`) in batches with group commit
(authorise+decide+apply each, seal personal data, append all records with one fsync,
then acknowledge), erasing keys after a durable `WorkerErased`, periodic snapshots,
`Tick` commands from the clock, notifying subscribers (projections, publishers) of
durable records, containing bugs of the core (internal errors), and signed checkpoints of
the log's head (`adapters.log.checkpoints`: after the append that crosses a local day
boundary, and `checkpoint()` on demand).

Invariants:
- The log is the authority: a command is acknowledged only after its record is durable.
- A record holds the command as `engine.record.recorded_command` made it (no plain
  personal data), the caller's actor id and the command digest; personal data of the
  command (registration data, employer contacts, complaint text and step notes) is
  sealed in its events.
- If the core raises anything but a `Refusal` (a bug), or a record exceeds the log's frame
  limit, the command is refused (`Result.error_id` "E-<seq>-<8 hex>", deterministic per
  command and position), logged with its traceback, counted (`internal_errors`), and
  never appended: the engine is restored to the last durable state (the same recovery
  as on start) plus the pending records of the batch, and keeps serving.
- If an append or the key store's sync fails (fsync error) the runtime stops for good
  (`RuntimeStopped`, `ready` False): memory is ahead of the log and cannot be trusted; a
  restart recovers from the log.
- A key is deleted only after its `WorkerErased` record is durable; a crash in between
  leaves the key, and the next start deletes it (`erasures_finished`), so an erasure in
  the log always ends with the key gone.
- On start, a record that cannot be replayed stops the process (`ReplayFailed`, naming
  the seq and what to do); nothing is written.
- A snapshot is a cache the runtime signs (its checkpoint key, over seq, digest and a
  hash of the state). Recovery starts from the newest snapshot at or before the log's
  end that carries this key's valid signature and restores to its own digest; any
  other (unsigned, signed by another key, edited, of another version, not matching its
  digest) is logged, counted (`snapshots_rejected`) and passed over for an older one
  or the whole log: the log is the authority, a snapshot never outvotes it. A periodic
  snapshot that cannot be written (disk full, key unreadable) is logged and counted
  (`snapshot_failures`) and tried again after the next append; the batch it followed is
  durable and is acknowledged as such.
- Subscribers see records in seq order, only after they are durable, each exactly once
  per process; they must be idempotent by seq across restarts.

Limits: `max_batch` commands per group commit (default 2,048); records up to the log's
`max_payload_bytes`.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import msgspec
import numpy as np

from adapters.log.checkpoints import Checkpoint, Checkpointer
from adapters.log.filelog import FileLog
from adapters.log.ports import EventLog
from adapters.log.records import RecordError, read_records
from adapters.log.snapshots import Snapshot, scan_snapshots, signed_message, write_snapshot
from adapters.shell.pii import KeyStore, KeyStoreError, KeyStorePort, Sealer
from engine import events as e
from engine.authz import SYSTEM, Caller
from engine.commands import Advance, Command, Refusal, clip
from engine.core import Engine, Outcome
from engine.record import Record, command_digest, encode_record
from engine.snapshot import SnapshotVersionError, restore_state, snapshot_state

Subscriber = Callable[[int, Record], None]
logger = logging.getLogger("lingong.runtime")


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


class ReplayFailed(RuntimeError):
    """On start, the record `seq` of the log could not be replayed."""

    def __init__(self, seq: int, log_dir: Path, exc: BaseException) -> None:
        self.seq = seq
        super().__init__(
            f"record {seq} cannot be replayed: {type(exc).__name__}: {clip(str(exc), 300)}. "
            f"Nothing was written: the log is as it was. Run `lingong replay verify {log_dir}` "
            f"to check the log and re-run its decisions, and report record {seq} with this "
            "message. The engine does not start on a log it cannot replay (a version of "
            "lingong that replays it, such as the one that wrote it, can serve it)."
        )


class Result(msgspec.Struct, kw_only=True):
    """What a caller gets back for one command."""

    ok: bool
    seq: int = 0
    duplicate: bool = False
    events: list[e.Event] = []
    refusal: dict[str, str] | None = None
    error_id: str = ""  # set with refusal rule "internal_error": the id in the server log


def error_id(seq: int, cmd: Command) -> str:
    """ "E-<seq>-<8 hex>": the seq the command would have had and its digest's head."""
    try:
        head = command_digest(cmd)[:4].hex()
    except Exception:  # noqa: BLE001 - a command the digest cannot encode still gets an id
        head = hashlib.blake2b(type(cmd).__name__.encode(), digest_size=4).hexdigest()
    return f"E-{seq}-{head}"


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
        keys: KeyStorePort | None = None,
    ) -> None:
        """`keys`: the per-person key store (default: files in `DATA/keys`; with the
        JetStream log, `adapters.nats.keys.KvKeyStore` so keys follow the log)."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log: EventLog = log if log is not None else FileLog(self.data_dir / "log", fsync=fsync)
        self.keys: KeyStorePort = (
            keys
            if keys is not None
            else KeyStore(
                self.data_dir / "keys",
                log_directory=self.data_dir / "log",
                sync="deferred" if fsync else "none",
            )
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
        self.internal_errors = 0  # commands refused because the core raised (a bug)
        self.subscriber_errors = 0  # subscriber calls that raised (records were durable)
        self.snapshots_rejected = 0  # snapshots recovery passed over (see the invariants)
        self.recovered_from_snapshot = 0  # seq of the snapshot the last recovery used (0: none)
        self.snapshot_failures = 0  # periodic snapshots that could not be written
        self.engine = self._recover()
        self.erasures_finished = self._finish_erasures()
        # the recovered state is long-lived: keep it out of the cyclic collector's full
        # passes, whose pauses otherwise set the worst-case decision latency
        gc.collect()
        gc.freeze()
        self._since_snapshot = 0
        self._tick_seq = 0
        self._pending: list[tuple[int, Record, bytes]] = []

    @property
    def ready(self) -> bool:
        """False once the runtime has stopped (the log or key store cannot be written)."""
        return self.stopped is None

    # ------------------------------------------------------------ recovery ----------

    def _recover(self) -> Engine:
        """The engine at the log's last durable record: latest snapshot, then the tail."""
        engine = Engine()
        for seq, digest, body in self._trusted_snapshots():
            try:
                restored = Engine(restore_state(body))
            except SnapshotVersionError as exc:  # a cache of another version
                self._pass_over(seq, str(exc))
                continue
            if restored.digest() != digest or restored.state.last_seq != seq:
                self._pass_over(seq, "its state does not restore to its digest")
                continue
            engine = restored
            break
        self.recovered_from_snapshot = engine.state.last_seq
        try:  # through the one read port: whole blocks decoded at once
            for batch in read_records(self.log, engine.state.last_seq + 1):
                for seq, record in batch.pairs():
                    try:
                        engine.apply_record(seq, record)
                    except Exception as exc:
                        raise ReplayFailed(seq, self.data_dir / "log", exc) from exc
        except RecordError as exc:  # a payload that does not decode
            raise ReplayFailed(exc.seq, self.data_dir / "log", exc) from exc
        return engine

    def _trusted_snapshots(self) -> Iterator[Snapshot]:
        """Snapshots at or before the log's end signed by this runtime's key, newest first."""
        key = self.checkpoints.key

        def accept(snap: Snapshot, signature: bytes) -> str | None:
            if not signature:
                return "not signed"
            if not key.verifies(signed_message(*snap), signature):
                return "its signature is not this runtime's (edited, or another key's)"
            return None

        max_seq = self.log.last_seq
        while self.snapshot_dir.exists():
            scan = scan_snapshots(self.snapshot_dir, max_seq=max_seq, accept=accept)
            for file, reason in scan.corrupt:
                self._pass_over(int(file.name.split(".")[0]), reason)
            if scan.latest is None:
                return
            yield scan.latest
            max_seq = scan.latest.seq - 1

    def _pass_over(self, seq: int, reason: str) -> None:
        self.snapshots_rejected += 1
        logger.warning("passing over the snapshot at seq %d: %s; the log decides", seq, reason)

    def _finish_erasures(self) -> int:
        """Delete the keys of workers whose erasure is durable but whose key survived (a
        crash between the `WorkerErased` append and the key's deletion); their count.

        One look-up per erased worker (`active == 0` rows), none for the others.
        """
        state = self.engine.state
        n = len(state.worker_ids)
        finished = 0
        for row in np.flatnonzero(state.workers.active[:n] == 0).tolist():
            worker_id = state.worker_ids[row]
            if worker_id in self.keys:
                self.keys.erase(worker_id)
                finished += 1
        if finished:
            logger.warning(
                "deleted the keys of %d erased workers left by an interrupted erasure", finished
            )
        return finished

    def _restore(self) -> None:
        """Back to the last durable state plus the pending records (after a core bug)."""
        try:
            engine = self._recover()
            for seq, rec, _ in self._pending:
                engine.apply_record(seq, rec)
        except Exception as exc:
            self.stopped = exc
            raise RuntimeStopped(f"could not restore the engine, runtime stopped: {exc}") from exc
        self.engine = engine

    # ------------------------------------------------------------ commands ----------

    def submit(self, cmd: Command, caller: Caller = SYSTEM) -> Result:
        return self.submit_many([cmd], caller)[0]

    def submit_many(self, cmds: Sequence[Command], caller: Caller = SYSTEM) -> list[Result]:
        """Execute `cmds` in order as `caller`; one durable append for all accepted ones."""
        if len(cmds) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} commands per batch")
        results = [self.execute(cmd, caller) for cmd in cmds]
        self.flush()
        return results

    def execute(self, cmd: Command, caller: Caller = SYSTEM) -> Result:
        """Authorise, decide and apply `cmd`; its record waits for `flush` (group commit).

        The result is not acknowledged to anyone outside until `flush` returns. A bug in
        the core refuses this command only (see the module's invariants).
        """
        if self.stopped is not None:
            raise RuntimeStopped(str(self.stopped))
        seq = self.engine.state.last_seq + 1  # = durable seq + pending records + 1
        try:
            out = self.engine.execute(cmd, caller)
        except Refusal as ref:
            return Result(ok=False, refusal=ref.as_dict())
        except Exception as exc:  # noqa: BLE001 - a bug in the core: contain it
            return self._internal_error(seq, cmd, exc)
        if out.duplicate:
            return Result(ok=True, seq=out.seq, duplicate=True)
        try:
            events = self._seal(out)
            record = out.record(events)
            payload = encode_record(record)
        except Exception as exc:  # noqa: BLE001 - sealing or encoding failed
            return self._internal_error(seq, cmd, exc)
        if len(payload) > self.log.max_payload_bytes:
            self._restore()
            return Result(
                ok=False,
                refusal={
                    "field": "command",
                    "rule": "record_size",
                    "message": f"its record would exceed {self.log.max_payload_bytes} bytes",
                },
            )
        self._pending.append((out.seq, record, payload))
        if len(self._pending) >= self.max_batch:
            self.flush()
        return Result(ok=True, seq=out.seq, events=events)

    def _internal_error(self, seq: int, cmd: Command, exc: Exception) -> Result:
        ident = error_id(seq, cmd)
        self.internal_errors += 1
        logger.error(
            "internal error %s: %s %s raised; refused, not recorded",
            ident,
            type(cmd).__name__,
            clip(getattr(cmd, "command_id", ""), 80),
            exc_info=exc,
        )
        self._restore()
        return Result(
            ok=False,
            error_id=ident,
            refusal={
                "field": "command",
                "rule": "internal_error",
                "message": f"internal error {ident}: the command was not recorded",
            },
        )

    def halt(self, exc: Exception) -> None:
        """Stop for good: nothing pending is appended (a caller was told it failed)."""
        if self.stopped is None:
            self.stopped = exc
        self._pending = []

    def flush(self) -> None:
        """Append every pending record with one fsync; then notify subscribers."""
        if not self._pending:
            return
        records, self._pending = self._pending, []
        try:
            self.keys.sync()  # keys the records need are durable before the records
        except (OSError, KeyStoreError) as exc:
            self.stopped = exc
            raise RuntimeStopped(f"key store sync failed, runtime stopped: {exc}") from exc
        self._append(records)
        for _, rec, _ in records:
            for ev in rec.events:
                if isinstance(ev, e.WorkerErased):
                    try:
                        self.keys.erase(ev.worker_id)
                    except (OSError, KeyStoreError) as exc:  # the record is durable, the key not
                        logger.error("erasing the key of an erased worker failed: %s", exc)
                        self.stopped = exc

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
            elif isinstance(ev, e.StationRegistered) and "station:" + ev.station_id in (
                out.personal
            ):
                subject = "station:" + ev.station_id
                blob = self.sealer.seal(subject, out.personal[subject])
                events[i] = msgspec.structs.replace(ev, sealed=blob)
            elif isinstance(ev, e.ComplaintFiled) and ev.worker_id in out.personal:
                blob = self.sealer.seal(ev.worker_id, out.personal[ev.worker_id])
                events[i] = msgspec.structs.replace(ev, sealed=blob)
            elif isinstance(ev, e.ComplaintStatusChanged) and ev.worker_id in out.personal:
                blob = self.sealer.seal(ev.worker_id, out.personal[ev.worker_id])
                events[i] = msgspec.structs.replace(ev, sealed=blob)
        return events

    def _append(self, records: list[tuple[int, Record, bytes]]) -> None:
        payloads = [payload for _, _, payload in records]
        try:
            last = self.log.append(payloads)
        except Exception as exc:
            self.stopped = exc
            raise RuntimeStopped(f"log append failed, runtime stopped: {exc}") from exc
        if last != records[-1][0]:
            self.stopped = RuntimeError(f"log seq {last} != engine seq {records[-1][0]}")
            raise RuntimeStopped(str(self.stopped))
        for seq, rec, _ in records:
            for sub in self.subscribers:
                try:
                    sub(seq, rec)
                except Exception:  # noqa: BLE001 - durable already; a projection catches up
                    self.subscriber_errors += 1
                    logger.exception("subscriber %r failed on record %d", sub, seq)
        self.checkpoints.after_append(last, self.log.head_hash, self.engine.state.last_ts_ms)
        self._since_snapshot += len(records)
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            try:
                self.snapshot()
            except Exception:  # noqa: BLE001 - a cache: the batch is durable and stands
                self.snapshot_failures += 1  # tried again after the next append
                logger.exception("snapshot at seq %d not written", self.engine.state.last_seq)

    def tick(self, now_ms: int | None = None) -> Result:
        return self.submit(self.tick_command(now_ms))

    def tick_command(self, now_ms: int | None = None) -> Advance:
        """An `Advance` at the clock's time (never before the last event's time)."""
        ts = self.clock.now_ms() if now_ms is None else now_ms
        ts = max(ts, self.engine.state.last_ts_ms)
        self._tick_seq += 1
        return Advance(command_id=f"tick-{ts}-{self._tick_seq}", ts_ms=ts)

    def due_tick_command(self, now_ms: int | None = None) -> Advance | None:
        """`tick_command` if the engine has something due by now (`State.next_due_ms`),
        else None: an idle engine appends no `Tick` records. A hint read off the writer
        thread: a tick made a little early or late only moves work by one period."""
        ts = self.clock.now_ms() if now_ms is None else now_ms
        due = self.engine.state.next_due_ms()
        if due is None or due > ts:
            return None
        return self.tick_command(ts)

    # ------------------------------------------------------------ upkeep ------------

    def snapshot(self) -> int:
        state = self.engine.state
        seq, digest, body = state.last_seq, state.digest(), snapshot_state(state)
        signature = self.checkpoints.key.sign_message(signed_message(seq, digest, body))
        self.checkpoints.publish_key()  # what `replay rebuild --snapshots` checks them with
        write_snapshot(self.snapshot_dir, seq, digest, body, signature=signature)
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
        try:
            if self.stopped is None:
                self.flush()
        finally:
            self.log.close()
            self.keys.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
