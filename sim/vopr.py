"""A deterministic simulation of the service (the TigerBeetle VOPR idea at Python scale).

Owns: `run(steps, data_dir)` (one run of a step list: every request through the real gate
`adapters.gate.Gate.admit`, the path HTTP and NATS take, into a `Runtime` on a
`ManualClock`, with faults injected), `simulate(seed, count)` (generate, run, shrink on
failure), `shrink(steps, failure)` and `SimFailure`. `lingong sim` is its command line.

Faults: crashes (the in-memory engine is dropped with its unflushed batch and recovered
from the file log; the last append is sometimes torn at a random byte or zero-filled
from one, sometimes its fsync fails, sometimes the key store's sync fails), retries of
earlier requests (same key and body, or the same key with another body or endpoint, in
any order), hostile callers and bad bodies (`sim.vopr_steps`), extreme policies, clock
steps forwards, jumps of days and jumps backwards.

Invariants checked (a broken one raises `SimFailure` naming it):
- `gate_raised`: the gate raises nothing but `GateError`.
- `core_raised`: no accepted command makes the core raise (the runtime contains such a
  bug as an internal error; the simulator counts it as a failure all the same). With
  `contain` (to test the containment itself) such errors are counted instead, and
  `contained_appended` checks that none of those commands ever reaches the log.
- `refusal_changed_state`: a refused command leaves the live digest as it was.
- `answer_echo`: a refusal's message (sent back to the caller) is at most
  `MAX_MESSAGE_CHARS` long and holds no phone or ID number; nor do the events answered.
- `idempotency`: an identical retry of a remembered command answers its seq as a
  duplicate; the same key with another request is refused (`idempotency_key_reused`, or
  an earlier rule such as a bound or the personal-data screen), never answered ok.
- `duplicate_answer`: an identical retry of a durable command is answered with the
  original's events read back from the log (`recorded_events`, as HTTP and NATS do),
  equal to the events first answered.
- `acknowledged_lost`: after recovery every acknowledged command is in the log at its seq;
  a torn or zero-filled last append is cut (and only it).
- `replay_digest`: the live digest equals that of an engine folding the log's bytes (after
  every flush, incrementally, and from scratch after each crash and at the end).
- `reexecute_divergence` (at the end): re-deciding every recorded fact from an empty
  engine gives the recorded decisions (`replay verify`'s audit), crashes included.
- `pii_in_log`: no unmasked phone or ID number in any appended record, nor in the raw
  segments at the end (`adapters.log.pii_scan`).
- `tick_refused`: the runtime's own `Advance` is never refused (time can always pass).
- `live_tables`: the live tables stay within their limits (`engine.state.MAX_LIVE_*`).
- `key_before_erasure`: the key of every worker registered and not erased in the durable
  log exists (a key is deleted only after its erasure is durable).
- `erased_key_kept`: after recovery no worker whose erasure is durable has a key left
  (a crash between the append and the key's deletion must not keep it forever).
- `runtime_stopped`: the runtime stops only when a fault was injected.
- `snapshot_trusted`: a snapshot edited behind the runtime's back (its state changed, its
  digest and checksum recomputed, unsigned or with the old signature) is never what a
  recovery starts from (step `tamper_snapshot`, then a crash).

Determinism: one seed gives one step list; a step list gives one run: the run digest
(BLAKE2b of every request's outcome, the seqs and the replayed engine digests) is the same
on every machine and run (no wall clock, no global random state, no paths in it).
Shrinking: the failing prefix, then chunks (halves ... single steps) are dropped while the
run still fails with the same invariant; at most `MAX_SHRINK_RUNS` runs.

Limits: one process, one engine; `count` steps up to `MAX_STEPS`; retries pick among the
newest `MAX_SENT`..2x requests; each recovery re-reads the whole log (a run of a million
steps takes hours: runs of 10^3-10^5 steps are the useful size).
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import struct
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from adapters.gate.gate import Gate, GateError, recorded_events
from adapters.gate.routes import BY_NAME
from adapters.log.filelog import FileLog
from adapters.log.logformat import SEGMENT_HEADER_BYTES
from adapters.log.pii_scan import scan_log_dir, scan_payload
from adapters.log.records import read_records
from adapters.log.snapshots import latest_snapshot, snapshot_name, write_snapshot
from adapters.shell.runtime import ManualClock, Result, Runtime, RuntimeStopped
from engine import events as e
from engine.authz import SYSTEM
from engine.bounds import MAX_MS
from engine.commands import Command, clip
from engine.core import Engine
from engine.idempotency import WINDOW_MS
from engine.idnumbers import find_unmasked_pii, mask_pii_in_text
from engine.record import command_digest, decode_record
from engine.snapshot import restore_state, snapshot_state
from engine.state import MAX_LIVE_HIRES, MAX_LIVE_JOBS, MAX_LIVE_OFFERS
from sim.vopr_steps import Crowd, Req, Step, generate

START_MS = 1_780_000_000_000  # 2026-05-28 (fixed: runs never depend on today)
SEGMENT_BYTES = 48 * 1024  # small segments: appends roll over to new ones often
MAX_STEPS = 1_000_000
SECTOR = 512
EDGE_MS = (1, 60_000, 3_600_000, 86_400_000, 8 * 86_400_000)
MAX_MESSAGE_CHARS = 400
# frames far smaller than the log's 16 MiB, yet big enough for the runtime's ticks at the
# simulator's scale; `record_bytes` 4096 makes big waves and bells meet the record-size
# refusal (and shows a tick refused for good: see the report of issue 11's WP-G)
MAX_RECORD_BYTES = 64 * 1024
SNAPSHOT_EVERY = 40  # records: recoveries start from a snapshot and fold the tail after it
MAX_SHRINK_RUNS = 200
MAX_SENT = 5_000  # requests remembered for retries (the newest)
quiet = logging.getLogger("lingong")


class SimFailure(Exception):
    def __init__(self, step: int, invariant: str, detail: str) -> None:
        super().__init__(f"step {step}: {invariant}: {detail}")
        self.step = step
        self.invariant = invariant
        self.detail = detail


class Report(msgspec.Struct, kw_only=True):
    steps: int
    digest: str  # the run digest
    requests: int = 0
    accepted: int = 0
    refused: int = 0
    gate_refused: int = 0
    duplicates: int = 0
    crashes: int = 0
    torn_cuts: int = 0
    snapshots_tampered: int = 0  # snapshots edited behind the runtime (then a crash)
    last_seq: int = 0
    internal_errors: int = 0  # contained errors of the core (only with `contain`)
    outcomes: dict[str, int] = {}  # "<command> ok|duplicate|<rule>" -> count
    failure: str = ""  # "" or "step N: invariant: detail"
    invariant: str = ""
    failed_step: int = -1


class _Sent(NamedTuple):
    req: Req
    cid: str
    cmd: Command | None  # None: refused at the gate


class World:
    """One run: the runtime, its gate, the crowd and what was acknowledged."""

    def __init__(
        self, data_dir: Path, record_bytes: int = MAX_RECORD_BYTES, contain: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.contain = contain  # count the core's contained errors instead of failing
        self.contained: set[str] = set()  # ids of commands refused as internal errors
        self.record_bytes = record_bytes
        self.clock = ManualClock(START_MS)
        self.fault: str = ""  # "" or the armed fault: "fsync", "keys"
        self.crowd = Crowd()
        self.runtime = self._open()
        self.gate = Gate(lambda: max(self.clock.now_ms(), self.runtime.engine.state.last_ts_ms))
        self.shadow = Engine()
        self.acked: dict[str, tuple[int, bytes, int]] = {}  # cid -> (seq, digest, ts)
        self.pending: list[tuple[str, int, bytes, int]] = []  # executed, not yet durable
        self.sent: list[_Sent] = []
        self.answers: dict[int, list[e.Event]] = {}  # seq -> the events first answered
        self.trace = hashlib.blake2b(digest_size=16)
        self.report = Report(steps=0, digest="")
        self.step_no = 0

    def _fsync(self, fd: int) -> None:
        if self.fault == "fsync":
            raise OSError(5, "simulated fsync error")

    def _open(self) -> Runtime:
        log = FileLog(
            self.data_dir / "log",
            segment_bytes=SEGMENT_BYTES,
            max_payload_bytes=self.record_bytes,
            fsync_fn=self._fsync,
        )
        return Runtime(
            self.data_dir, log=log, clock=self.clock, fsync=False, snapshot_every=SNAPSHOT_EVERY
        )

    def fail(self, invariant: str, detail: str) -> SimFailure:
        return SimFailure(self.step_no, invariant, detail)

    def note(self, *parts: object) -> None:
        self.trace.update(repr(parts).encode())

    # ------------------------------------------------------------ requests ----------

    def send(self, req: Req) -> None:
        self.report.requests += 1
        if len(self.sent) >= 2 * MAX_SENT:
            del self.sent[:MAX_SENT]
        route = BY_NAME[req.route]
        try:
            cmd = self.gate.admit(
                req.caller, route, req.body, req.path, req.key, content_type=req.content_type
            )
        except GateError as ref:
            self._check_answer(req.route, ref.message)
            self.report.gate_refused += 1
            self.note("gate", req.route, ref.status, ref.rule, ref.field)
            self._count(f"{req.route} gate:{ref.rule}")
            self.sent.append(_Sent(req, f"{req.caller.actor_id}:{req.key}", None))
            return
        except Exception as exc:  # noqa: BLE001 - the invariant under test
            raise self.fail("gate_raised", f"{req.route}: {type(exc).__name__}: {exc}") from exc
        self.sent.append(_Sent(req, cmd.command_id, cmd))
        self.execute(cmd, req)

    def execute(self, cmd: Command, req: Req | None) -> Result:
        rt = self.runtime
        caller = req.caller if req is not None else SYSTEM
        name = type(cmd).__name__
        expect = self._expectation(cmd)
        before = rt.engine.digest()
        try:
            res = rt.execute(cmd, caller)
        except RuntimeStopped as exc:
            raise self.fail("runtime_stopped", f"{name}: {exc}") from exc
        if res.refusal is not None and res.refusal.get("rule") == "internal_error":
            if not self.contain:
                raise self.fail("core_raised", f"{name} {res.error_id}: the core raised")
            self.report.internal_errors += 1
            self.contained.add(cmd.command_id)
        elif res.ok:
            self.contained.discard(cmd.command_id)
        if res.refusal is not None:
            self._check_answer(name, res.refusal.get("message", ""))
        if res.events:
            self._check_events(name, res.events)
        if not res.ok and req is None:
            raise self.fail("tick_refused", f"the runtime's Advance was refused: {res.refusal}")
        if not res.ok:
            self.report.refused += 1
            if rt.engine.digest() != before:
                raise self.fail("refusal_changed_state", f"{name} refused {res.refusal}")
        if expect is not None:
            self._check_expectation(expect, res, name)
        if res.ok and res.duplicate:
            self.report.duplicates += 1
            self._check_duplicate_answer(name, res.seq)
        elif res.ok:
            self.report.accepted += 1
            self.answers[res.seq] = res.events
            self.pending.append((cmd.command_id, res.seq, command_digest(cmd), cmd.ts_ms))
        rule = res.refusal.get("rule", "") if res.refusal else ""
        self.note("cmd", name, res.ok, res.seq, res.duplicate, rule)
        self._count(f"{name} {'duplicate' if res.duplicate else rule or 'ok'}")
        return res

    def _check_answer(self, name: str, message: str) -> None:
        """A refusal's message is short and holds no phone or ID number (it is sent back)."""
        if len(message) > MAX_MESSAGE_CHARS:
            raise self.fail("answer_echo", f"{name}: a {len(message)}-character message")
        hits = find_unmasked_pii(message)
        if hits:
            raise self.fail(
                "answer_echo", f"{name}: {mask_pii_in_text(hits[0])} in {clip(message, 80)}"
            )

    def _check_duplicate_answer(self, name: str, seq: int) -> None:
        """A duplicate is answered with the original's events, read back from the log (as
        HTTP and NATS answer an identical retry): they equal what was first answered."""
        first = self.answers.get(seq)
        if first is None or seq > self.runtime.log.last_seq:
            return  # not durable yet (answered after the flush), or lost in a crash
        again = recorded_events(self.runtime.log.read, seq)
        if again != first:
            raise self.fail("duplicate_answer", f"{name}: the retry of seq {seq} is answered "
                            f"{len(again)} events, the original {len(first)}")  # fmt: skip

    def _check_events(self, name: str, events: list[e.Event]) -> None:
        """The events answered hold no phone or ID number (sealed blobs stay bytes)."""
        plain = msgspec.to_builtins(events, builtin_types=(bytes,))
        leaks = scan_payload(msgspec.msgpack.encode(plain))
        if leaks:
            raise self.fail("answer_echo", f"{name}: {leaks[0]} in the events answered")

    def _count(self, key: str) -> None:
        self.report.outcomes[key] = self.report.outcomes.get(key, 0) + 1

    def _expectation(self, cmd: Command) -> tuple[str, int] | None:
        """("same", seq) or ("other", seq) for a command id the engine must remember."""
        known = self.acked.get(cmd.command_id)
        if known is None:
            known = next(((s, d, t) for c, s, d, t in self.pending if c == cmd.command_id), None)
        if known is None:
            return None
        seq, digest, ts = known
        if self.runtime.engine.state.last_ts_ms - ts >= WINDOW_MS - 1000:
            return None  # forgotten after a day of log time: decided as new
        return ("same" if command_digest(cmd) == digest else "other", seq)

    def _check_expectation(self, expect: tuple[str, int], res: Result, name: str) -> None:
        how, seq = expect
        if how == "same" and not (res.ok and res.duplicate and res.seq == seq):
            raise self.fail(
                "idempotency", f"identical retry of {name} (seq {seq}) answered {res.seq} "
                f"duplicate={res.duplicate} refusal={res.refusal}"
            )  # fmt: skip
        rule = res.refusal.get("rule") if res.refusal else None
        if how == "other" and (res.ok or rule is None):  # refused, by whichever rule first
            raise self.fail(
                "idempotency", f"key of seq {seq} reused for another {name}: ok={res.ok} "
                f"seq={res.seq} refusal={res.refusal}"
            )  # fmt: skip

    # ------------------------------------------------------------ durability --------

    def flush(self) -> None:
        try:
            self.runtime.flush()
        except RuntimeStopped as exc:
            raise self.fail("runtime_stopped", f"flush without a fault: {exc}") from exc
        for cid, seq, digest, ts in self.pending:
            self.acked[cid] = (seq, digest, ts)
        self.pending = []
        self.catch_up()
        if self.shadow.digest() != self.runtime.engine.digest():
            raise self.fail("replay_digest", "live digest != the digest of the folded log")

    def catch_up(self) -> None:
        """Fold the log's new records into the shadow engine; scan each for PII."""
        start = self.shadow.state.last_seq + 1
        for seq, payload in self.runtime.log.read(start, verify_chain=False):
            leaks = scan_payload(payload)
            if leaks:
                raise self.fail("pii_in_log", f"record {seq}: {leaks[0]}")
            try:
                self.shadow.apply_record(seq, decode_record(payload))
            except Exception as exc:  # noqa: BLE001 - the invariant under test
                raise self.fail("replay_digest", f"record {seq} does not fold: {exc}") from exc

    def crash(self, r: random.Random, mode: str) -> None:
        """Drop the engine and its unflushed batch, with a fault in its append; recover.

        clean: nothing of the batch is written. torn / zero: the append's fsync never
        returns (the runtime stops), then its block is cut at a random byte, or zeroed
        from a random sector boundary inside it (what a file system that extends a file
        before its data are on disk leaves). fsync: the block is written whole but its
        fsync fails (it may or may not be in the log after recovery). keys: the key
        store's sync fails before the append (nothing is written).
        """
        self.report.crashes += 1
        rt, log = self.runtime, self.runtime.log
        cut = False
        if mode != "clean" and self.pending and rt.ready:
            folder = self.data_dir / "log"
            before = {p.name: p.stat().st_size for p in folder.glob("*.seg")}
            self.fault = "fsync"
            if mode == "keys":
                rt.keys.sync = _raise_eio  # type: ignore[method-assign]
            try:
                rt.flush()
            except RuntimeStopped:
                pass
            else:
                raise self.fail("runtime_stopped", f"an append with a {mode} fault succeeded")
            last = sorted(folder.glob("*.seg"))[-1]
            start, end = before.get(last.name, SEGMENT_HEADER_BYTES), last.stat().st_size
            if mode in ("torn", "zero") and end > start:
                with open(last, "r+b") as f:
                    if mode == "torn":
                        kept = r.randrange(end - start)
                        f.truncate(start + kept)
                        # no byte of the block kept: nothing torn is left to cut (a clean
                        # crash; found by seeds 920031 and 920086)
                        cut = kept > 0
                    else:
                        sectors = range(-(-start // SECTOR) * SECTOR, end, SECTOR)
                        at = r.choice(sectors) if len(sectors) else start
                        f.seek(at)
                        # zeroing bytes that were zero already changes nothing: the block
                        # is whole, nothing to cut (seed 940007: its last byte was 0)
                        cut = f.read(end - at).count(0) < end - at
                        f.seek(at)
                        f.write(b"\0" * (end - at))
        for _, seq, _, _ in self.pending:
            self.answers.pop(seq, None)  # never acknowledged: any later seq is another's
        self.pending = []
        log.close()
        self.fault = ""
        self.runtime = self._open()
        rec = self.runtime.log.recovery  # type: ignore[attr-defined]
        if cut and rec is None:
            raise self.fail("acknowledged_lost", f"the {mode} tail was not cut on open")
        self.report.torn_cuts += int(rec is not None)
        self.note("crash", mode, self.runtime.log.last_seq, rec is not None)
        self.check_recovered()

    def tamper_snapshot(self, r: random.Random) -> None:
        """Edit the newest snapshot as someone with the folder could (a worker moved to
        another region, digest and checksum recomputed; unsigned or with its old
        signature), then crash: the recovery must pass it over for the log."""
        snaps = self.data_dir / "snapshots"
        snap = latest_snapshot(snaps) if snaps.exists() else None
        if snap is None:
            return
        state = restore_state(snap.state)
        if not state.worker_ids:
            return
        row = r.randrange(len(state.worker_ids))
        state.worker_region[row] = "110101" if state.worker_region[row] != "110101" else "420602"
        body, digest = snapshot_state(state), state.digest()
        old = (snaps / snapshot_name(snap.seq)).read_bytes()
        signature = b""
        if r.random() < 0.5 and old[8:12] == b"\x02\x00\x00\x00":  # keep the old signature
            (n,) = struct.unpack_from("<I", old, len(old) - 4)
            signature = old[-4 - n : -4]
        write_snapshot(snaps, snap.seq, digest, body, fsync=False, signature=signature)
        # an edit may undo an earlier one (the same worker twice): content that is the
        # log's own state at that seq, with its genuine signature, may be trusted (seed
        # 944044: the check's false alarm)
        truth = Engine()
        for batch in read_records(self.runtime.log, 1, stop_seq=snap.seq):
            for seq, rec in batch.pairs():
                truth.apply_record(seq, rec)
        forged = truth.digest() != digest
        self.note("tamper_snapshot", snap.seq, bool(signature), forged)
        self.report.snapshots_tampered += 1
        self.crash(r, "clean")
        if forged and self.runtime.recovered_from_snapshot == snap.seq:
            raise self.fail("snapshot_trusted", f"recovery started from the edited {snap.seq}")

    def check_recovered(self) -> None:
        rt = self.runtime
        by_seq: dict[int, str] = {}
        registered: set[str] = set()
        erased: set[str] = set()
        for batch in read_records(rt.log, 1):
            for seq, rec in batch.pairs():
                by_seq[seq] = rec.cmd_id
                for ev in rec.events:
                    if isinstance(ev, e.WorkerRegistered):
                        registered.add(ev.worker_id)
                    elif isinstance(ev, e.WorkerErased):
                        erased.add(ev.worker_id)
        for cid, (seq, _, _) in self.acked.items():
            if by_seq.get(seq) != cid:
                raise self.fail("acknowledged_lost", f"{cid} acknowledged at {seq} is not there")
        appended = self.contained.intersection(by_seq.values())
        if appended:
            raise self.fail("contained_appended", f"{sorted(appended)[0]} failed yet is in the log")
        for wid in sorted(registered - erased):
            if wid not in rt.keys:
                raise self.fail("key_before_erasure", f"key of {wid} gone, no durable erasure")
        for wid in sorted(erased):
            if wid in rt.keys:
                raise self.fail(
                    "erased_key_kept", f"{wid}'s erasure is durable, its key is not gone"
                )
        fresh = Engine()
        for batch in read_records(rt.log, 1):
            for seq, rec in batch.pairs():
                fresh.apply_record(seq, rec)
        if fresh.digest() != rt.engine.digest():
            raise self.fail("replay_digest", "recovered digest != a fresh replay of the log")
        self.shadow = fresh

    def check_reexecution(self) -> None:
        """`replay verify`'s audit: re-deciding every recorded fact from the start gives
        the recorded decisions (also across the crashes and snapshot restores of the run)."""
        fresh = Engine()
        for batch in read_records(self.runtime.log, 1):
            for seq, rec in batch.pairs():
                div = fresh.reexecute_record(seq, rec)
                if div is not None:
                    raise self.fail(
                        "reexecute_divergence", f"record {seq} event {div.index}: recorded "
                        f"{clip(div.recorded, 120)}, re-decided {clip(div.recomputed, 120)}"
                    )  # fmt: skip

    def check_step(self) -> None:
        st = self.runtime.engine.state
        if not self.runtime.ready:
            raise self.fail("runtime_stopped", f"stopped without a fault: {self.runtime.stopped}")
        for name, size, limit in (
            ("jobs", len(st.jobs), MAX_LIVE_JOBS),
            ("offers", len(st.offers), MAX_LIVE_OFFERS),
            ("hires", len(st.hires), MAX_LIVE_HIRES),
        ):
            if size > limit:
                raise self.fail("live_tables", f"{size} live {name} > {limit}")

    # ------------------------------------------------------------ steps -------------

    def step(self, step: Step) -> None:
        r = random.Random(step.seed)
        kind = step.kind
        self.note("step", kind)
        if kind == "flush":
            self.flush()
        elif kind == "crash":
            self.crash(r, r.choice(("clean", "torn", "torn", "zero", "fsync", "keys")))
        elif kind == "advance":
            self.clock.advance(r.choice((1, 1000, 5000, 20_000, 60_000, 300_000)))
        elif kind == "jump":
            hours = r.choice((1, 9, 24, 72, 24 * 400, 0))
            if hours:
                self.clock.advance(hours * 3_600_000)
            else:  # to the edge of the accepted time range (2100-01-01)
                self.clock.set(max(self.clock.now_ms(), MAX_MS - r.choice(EDGE_MS)))
        elif kind == "back":
            self.clock.set(self.clock.now_ms() - r.choice((1000, 3_600_000, 86_400_000)))
        elif kind == "tick":
            cmd = self.runtime.due_tick_command() or self.runtime.tick_command()
            self.execute(cmd, None)
        elif kind in ("retry_same", "retry_other"):
            self._retry(r, kind == "retry_other")
        elif kind == "tamper_snapshot":
            self.tamper_snapshot(r)
        else:
            state = self.runtime.engine.state
            for req in self.crowd.requests(kind, r, state, self.clock.now_ms()):
                self.send(req)
        if self.clock.now_ms() >= MAX_MS:  # the server's clock stays in the accepted range
            self.clock.set(MAX_MS - 1)
        self.check_step()

    def _retry(self, r: random.Random, other: bool) -> None:
        if not self.sent:
            return
        first = r.choice(self.sent).req
        if not other:
            self.send(first)
            return
        second = r.choice(self.sent).req
        self.send(second._replace(caller=first.caller, key=first.key))


def _raise_eio() -> int:
    raise OSError(5, "simulated key store sync error")


def run(
    steps: Sequence[Step],
    data_dir: Path,
    record_bytes: int = MAX_RECORD_BYTES,
    contain: bool = False,
) -> Report:
    """Run `steps` in the empty folder `data_dir`; the report names a failure, if any."""
    world = World(data_dir, record_bytes, contain)
    rep = world.report
    try:
        for i, step in enumerate(steps):
            world.step_no = i
            world.step(step)
        world.step_no = len(steps)
        world.flush()
        world.check_recovered()
        world.check_reexecution()
        leaks = scan_log_dir(data_dir / "log")
        if leaks:
            raise world.fail("pii_in_log", leaks[0])
    except SimFailure as f:
        rep.failure, rep.invariant, rep.failed_step = str(f), f.invariant, f.step
    finally:
        try:
            world.runtime.log.close()
        except Exception:  # noqa: BLE001 - closing after a failure: the report says why
            pass
    rep.steps = len(steps)
    rep.last_seq = world.runtime.log.last_seq
    world.note("end", rep.failure, rep.last_seq, world.shadow.digest())
    rep.digest = world.trace.hexdigest()
    return rep


def run_in_temp(
    steps: Sequence[Step],
    root: Path | None = None,
    record_bytes: int = MAX_RECORD_BYTES,
    contain: bool = False,
) -> Report:
    folder = Path(tempfile.mkdtemp(prefix="lingong-sim-", dir=root))
    try:
        return run(steps, folder, record_bytes, contain)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shrink(
    steps: Sequence[Step],
    invariant: str,
    failing_step: int,
    runner: Callable[[Sequence[Step]], Report] = run_in_temp,
) -> tuple[list[Step], int]:
    """The shortest step list found that still fails with `invariant`, and runs spent."""
    best = list(steps[: failing_step + 1])
    runs = 0
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and runs < MAX_SHRINK_RUNS:
        i = 0
        while i < len(best) and runs < MAX_SHRINK_RUNS:
            trial = best[:i] + best[i + chunk :]
            runs += 1
            rep = runner(trial)
            if rep.invariant == invariant:
                best = trial[: rep.failed_step + 1] if rep.failed_step >= 0 else trial
            else:
                i += chunk
        if chunk == 1:
            break
        chunk //= 2
    return best, runs


class Outcome(msgspec.Struct, kw_only=True):
    seed: int
    report: Report
    shrunk: list[tuple[str, int]] = []
    shrink_runs: int = 0


def simulate(
    seed: int,
    count: int,
    *,
    do_shrink: bool = True,
    root: Path | None = None,
    record_bytes: int = MAX_RECORD_BYTES,
    contain: bool = False,
) -> Outcome:
    """Run seed `seed` for `count` steps; on a failure, shrink the step list."""
    if not 0 < count <= MAX_STEPS:
        raise ValueError(f"steps must be in 1..{MAX_STEPS}")
    steps = generate(seed, count)
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # contained errors and tail cuts are expected here
    try:
        rep = run_in_temp(steps, root, record_bytes, contain)
        out = Outcome(seed=seed, report=rep)
        if rep.invariant and do_shrink:
            best, runs = shrink(steps, rep.invariant, rep.failed_step,
                                lambda s: run_in_temp(s, root, record_bytes, contain))  # fmt: skip
            out.shrunk, out.shrink_runs = [tuple(s) for s in best], runs  # type: ignore[misc]
    finally:
        quiet.setLevel(level)
    return out


def describe(out: Outcome) -> dict[str, Any]:
    return msgspec.to_builtins(out)
