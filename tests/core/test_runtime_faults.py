"""When the core raises anyway (a bug), only the offending command is refused; a batch a
caller was told failed is never appended; the log's failures stop the runtime; a record
that cannot be replayed stops the start with a message naming it (issue 11)."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import msgspec
import pytest

from adapters.log.filelog import FileLog
from adapters.shell.runtime import ReplayFailed, Runtime, RuntimeStopped, error_id
from adapters.shell.service import EngineService
from engine import commands as c
from engine import events as e
from engine import react
from engine.record import encode_record, make_record
from sim.callers import OPERATOR
from tests.support import at, near

BOOM = "boom"


def _setup(rt: Runtime) -> None:
    cmds: list[c.Command] = [
        c.RegisterStation(command_id="st", ts_ms=at(5), station_id="S1", name="站", kind="hub",
                          region="420602", location=near()),
        c.ChangeStationStatus(command_id="ap", ts_ms=at(5), station_id="S1", status="approved"),
    ]  # fmt: skip
    for i in range(1, 4):
        cmds.append(
            c.RegisterWorker(command_id=f"w{i}", ts_ms=at(5), worker_id=f"W{i}", region="420602",
                             personal=c.Personal(mobile="13812341234"), birth_year=1970,
                             skills=("moving",), min_pay_fen=10000, home=near())
        )  # fmt: skip
    assert all(r.ok for r in rt.submit_many(cmds, OPERATOR))


def _check_in(cmd_id: str, worker: str) -> c.CheckIn:
    return c.CheckIn(command_id=cmd_id, ts_ms=at(6), worker_id=worker, station_id="S1")


@pytest.fixture
def faulty_reaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reaction to a check-in raises for the command "boom" (a bug in the core),
    after the fact is applied: the engine's memory is half-way through a command."""
    original = react._REACTORS[e.WorkerCheckedIn]

    def broken(state, fact, emit) -> None:  # noqa: ANN001
        original(state, fact, emit)
        if fact.cmd_id == BOOM:
            raise ZeroDivisionError("a bug in a reaction")

    monkeypatch.setitem(react._REACTORS, e.WorkerCheckedIn, broken)


def _log_ids(data: Path) -> list[str]:
    log = FileLog(data / "log", fsync=False)
    try:
        from engine.record import decode_record

        return [decode_record(p).cmd_id for _, p in log.read()]
    finally:
        log.close()


@pytest.mark.usefixtures("faulty_reaction")
def test_a_core_bug_refuses_only_its_command_and_the_batch_goes_on(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _setup(rt)
        durable = rt.log.last_seq
        bad = _check_in(BOOM, "W2")
        results = rt.submit_many([_check_in("a", "W1"), bad, _check_in("c", "W3")], OPERATOR)
        assert [r.ok for r in results] == [True, False, True]
        assert results[1].refusal is not None and results[1].refusal["rule"] == "internal_error"
        assert results[1].error_id == error_id(durable + 2, bad)
        assert results[1].error_id.startswith(f"E-{durable + 2}-") and len(results[1].error_id) == (
            len(f"E-{durable + 2}-") + 8
        )
        assert results[1].error_id in results[1].refusal["message"]
        assert [r.seq for r in (results[0], results[2])] == [durable + 1, durable + 2]
        assert rt.internal_errors == 1 and rt.ready
        live = rt.engine.digest()
        assert not rt.engine.state.workers.checked_in[1]  # W2's half-applied check-in is gone
    assert _log_ids(tmp_path)[-2:] == ["a", "c"]
    with Runtime(tmp_path) as rt:
        assert rt.engine.digest() == live


@pytest.mark.usefixtures("faulty_reaction")
def test_the_audited_batch_bug_through_the_service(tmp_path: Path) -> None:
    """Audit: "when a reaction raises mid-batch, the batch fails but the runtime is not
    marked stopped, and closing it later appends the earlier command of that batch whose
    caller was told it failed". Now: the earlier command is acknowledged and durable, the
    failing one refused and never appended, and the service keeps serving."""
    rt = Runtime(tmp_path)
    _setup(rt)
    svc = EngineService(rt, tick_ms=0).start()
    started, release = threading.Event(), threading.Event()

    def hold(state: object) -> None:
        started.set()
        release.wait()

    try:
        blocker = svc.query(hold)
        assert started.wait(30)  # the writer is inside the query: the next batch is ours
        futures = [
            svc.submit(cmd, OPERATOR) for cmd in (_check_in("a", "W1"), _check_in(BOOM, "W2"))
        ]
        release.set()
        blocker.result(30)
        first, failed = (f.result(30) for f in futures)
        assert first.ok and not failed.ok and failed.error_id
        assert svc.ready and rt.internal_errors == 1
        assert svc.execute(_check_in("c", "W3"), OPERATOR).ok  # still serving
    finally:
        release.set()
        svc.stop()
        rt.close()
    assert _log_ids(tmp_path)[-2:] == ["a", "c"]


def test_a_failed_batch_is_never_appended_later(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A failure outside the core (here: the flush itself) fails every caller of the batch;
    the runtime halts so that closing it does not append what callers were told failed."""
    rt = Runtime(tmp_path)
    _setup(rt)
    before = rt.log.last_seq
    svc = EngineService(rt, tick_ms=0).start()

    def broken_flush() -> None:
        raise RuntimeError("a bug in the service path")

    monkeypatch.setattr(rt, "flush", broken_flush)
    try:
        with pytest.raises(RuntimeError):
            svc.execute(_check_in("a", "W1"), OPERATOR)
        assert not svc.ready and not rt.ready
        with pytest.raises(RuntimeStopped):
            svc.submit(_check_in("b", "W2"), OPERATOR)
    finally:
        svc.stop()
        monkeypatch.undo()
        rt.close()
    assert FileLog(tmp_path / "log", fsync=False).last_seq == before


def test_a_log_failure_stops_the_runtime_for_good(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _setup(rt)

        def broken(payloads):  # noqa: ANN001
            raise OSError(5, "Input/output error")

        rt.log.append = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeStopped):
            rt.submit(_check_in("a", "W1"), OPERATOR)
        assert not rt.ready
        with pytest.raises(RuntimeStopped):
            rt.submit(_check_in("b", "W2"), OPERATOR)
        rt.stopped = None  # let close() release the lock without flushing
        rt._pending = []


def test_a_record_over_the_frame_limit_is_refused_and_not_appended(tmp_path: Path) -> None:
    class SmallFrames(FileLog):
        @property
        def max_payload_bytes(self) -> int:
            return 300

    with Runtime(tmp_path, log=SmallFrames(tmp_path / "log")) as rt:
        res = rt.submit(
            c.RegisterStation(command_id="st", ts_ms=at(5), station_id="S1", name="站" * 100,
                              kind="hub", region="420602", location=near()),
            OPERATOR,
        )  # fmt: skip
        assert not res.ok and res.refusal is not None and res.refusal["rule"] == "record_size"
        assert rt.log.last_seq == 0 and rt.engine.state.last_seq == 0
        assert rt.engine.state.stations == {}


def test_a_record_that_cannot_be_replayed_stops_the_start_naming_it(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _setup(rt)
        good = rt.log.last_seq
    bad = make_record("forged", [e.WorkerErased(ts_ms=at(6), cmd_id="forged", worker_id="NOBODY")])
    log = FileLog(tmp_path / "log")
    log.append([encode_record(bad)])
    log.close()
    segments = {p: p.read_bytes() for p in (tmp_path / "log").glob("*.seg")}
    with pytest.raises(ReplayFailed) as info:
        Runtime(tmp_path)
    message = str(info.value)
    assert info.value.seq == good + 1
    assert message.startswith(f"record {good + 1} cannot be replayed: InconsistentLog")
    assert f"lingong replay verify {tmp_path / 'log'}" in message
    assert {p: p.read_bytes() for p in (tmp_path / "log").glob("*.seg")} == segments


def test_a_snapshot_of_another_version_is_ignored_not_fatal(tmp_path: Path) -> None:
    from adapters.log.snapshots import signed_message, write_snapshot

    with Runtime(tmp_path) as rt:
        _setup(rt)
        digest = rt.engine.digest()
        seq = rt.log.last_seq
        key = rt.checkpoints.key
    old = msgspec.msgpack.encode({"version": 1})
    sig = key.sign_message(signed_message(seq, "0" * 64, old))  # signed, yet unreadable
    write_snapshot(tmp_path / "snapshots", seq, "0" * 64, old, signature=sig)
    with Runtime(tmp_path) as rt:
        assert rt.engine.digest() == digest
        assert rt.snapshots_rejected == 1 and rt.recovered_from_snapshot == 0


def _snapshotted(tmp_path: Path) -> tuple[int, str]:
    """A log of `_setup` plus a check-in, with the runtime's own snapshot after `_setup`:
    (the snapshot's seq, the full log's digest)."""
    with Runtime(tmp_path) as rt:
        _setup(rt)
        at_seq = rt.snapshot()
        assert rt.execute(_check_in("ci", "W1"), OPERATOR).ok
        return at_seq, rt.engine.digest()


def test_the_runtime_starts_from_its_own_signed_snapshot(tmp_path: Path) -> None:
    from replay.rebuild import rebuild

    at_seq, digest = _snapshotted(tmp_path)
    with Runtime(tmp_path) as rt:
        assert rt.recovered_from_snapshot == at_seq and rt.snapshots_rejected == 0
        assert rt.engine.digest() == digest
    # an auditor's rebuild checks them with the key the runtime published beside them
    assert (tmp_path / "checkpoints" / "signing-key.pub").is_file()
    report = rebuild(tmp_path / "log", snapshots=tmp_path / "snapshots")
    assert report.from_snapshot == at_seq and report.digest == digest


def _forge(tmp_path: Path, at_seq: int, sign) -> None:  # noqa: ANN001
    """Rewrite the snapshot at `at_seq` with an edited state (W2 moved to Wuhan), its
    digest recomputed and its checksum valid: what someone with the folder could do."""
    from adapters.log.snapshots import latest_snapshot, signed_message, write_snapshot
    from engine.snapshot import restore_state, snapshot_state

    snap = latest_snapshot(tmp_path / "snapshots")
    assert snap is not None and snap.seq == at_seq
    state = restore_state(snap.state)
    state.worker_region[state.worker_rows["W2"]] = "420102"
    body, forged = snapshot_state(state), state.digest()
    sig = sign(signed_message(at_seq, forged, body))
    write_snapshot(tmp_path / "snapshots", at_seq, forged, body, signature=sig)


@pytest.mark.parametrize("how", ["unsigned", "old_signature", "another_key"])
def test_an_edited_snapshot_is_passed_over_for_the_log(tmp_path: Path, how: str) -> None:
    """A snapshot is a cache: one this runtime did not sign as it is (edited, unsigned,
    signed by another key) never outvotes the log."""
    from adapters.log.checkpoints import SigningKey
    from adapters.log.snapshots import latest_snapshot

    at_seq, digest = _snapshotted(tmp_path)
    original = latest_snapshot(tmp_path / "snapshots")
    assert original is not None
    if how == "unsigned":
        _forge(tmp_path, at_seq, lambda message: b"")
    elif how == "old_signature":
        old = (tmp_path / "snapshots" / f"{at_seq:020d}.snap").read_bytes()
        (sig_len,) = struct.unpack_from("<I", old, len(old) - 4)
        _forge(tmp_path, at_seq, lambda message: old[-4 - sig_len : -4])
    else:
        _forge(tmp_path, at_seq, SigningKey(tmp_path / "elsewhere.key").sign_message)
    with Runtime(tmp_path) as rt:
        assert rt.snapshots_rejected == 1 and rt.recovered_from_snapshot == 0
        assert rt.engine.digest() == digest  # the log's state: W2 still in Xiangyang
        assert rt.engine.state.worker_region[rt.engine.state.worker_rows["W2"]] == "420602"


def test_a_signed_snapshot_that_does_not_restore_to_its_digest_is_passed_over(
    tmp_path: Path,
) -> None:
    """Signed by this runtime, yet its state is not what its digest says (a restore
    defect): recovery takes an older snapshot or the whole log, and says so; before, it
    refused to start."""
    from adapters.log.snapshots import latest_snapshot, signed_message, write_snapshot

    at_seq, digest = _snapshotted(tmp_path)
    with Runtime(tmp_path) as rt:
        key = rt.checkpoints.key
    snap = latest_snapshot(tmp_path / "snapshots")
    assert snap is not None
    wrong = "f" * 64
    sig = key.sign_message(signed_message(at_seq, wrong, snap.state))
    write_snapshot(tmp_path / "snapshots", at_seq, wrong, snap.state, signature=sig)
    with Runtime(tmp_path) as rt:
        assert rt.snapshots_rejected == 1 and rt.recovered_from_snapshot == 0
        assert rt.engine.digest() == digest


def test_serve_refuses_a_log_it_cannot_replay(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from lingong.cli import main

    with Runtime(tmp_path) as rt:
        _setup(rt)
    bad = make_record("forged", [e.WorkerErased(ts_ms=at(6), cmd_id="forged", worker_id="NOBODY")])
    log = FileLog(tmp_path / "log")
    log.append([encode_record(bad)])
    log.close()
    assert main(["serve", "--data", str(tmp_path), "--tick-ms", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lingong serve: record 6 cannot be replayed") and "replay verify" in err


def test_a_snapshot_that_cannot_be_written_never_fails_a_durable_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the error of a periodic snapshot (disk full) came out of the append after
    the batch was durable, so its callers were told it failed."""
    import adapters.shell.runtime as runtime_module

    real = runtime_module.write_snapshot

    def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runtime_module, "write_snapshot", full_disk)
    with Runtime(tmp_path, snapshot_every=1) as rt:
        _setup(rt)  # every command's result is checked ok inside
        assert rt.ready and rt.snapshot_failures >= 1
        seq = rt.log.last_seq
        monkeypatch.setattr(runtime_module, "write_snapshot", real)
        assert rt.execute(_check_in("ci", "W1"), OPERATOR).ok
        assert rt.recovered_from_snapshot == 0
    with Runtime(tmp_path) as rt:
        assert rt.recovered_from_snapshot == seq + 1  # written after the next append
