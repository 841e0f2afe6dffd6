"""Signed checkpoints: what a recomputed chain hides, an anchor signed before it shows."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import msgspec
import pytest

from adapters.log.checkpoints import Checkpointer, CheckpointError, load_checkpoints
from adapters.log.ports import chain_of
from adapters.log.reader import open_log_reader
from adapters.shell.runtime import ManualClock, Runtime
from engine import events as e
from replay.cli import main
from replay.verify import verify
from tests.replay.util import write_log
from tests.support import at

DAY_MS = 86_400_000


def _anchored(demo_payloads: list[bytes], tmp_path: Path) -> tuple[Path, Path, int]:
    """The demo log, and a checkpoint of it at seq k signed by a key outside the log."""
    log = write_log(tmp_path / "data" / "log", demo_payloads)
    k = len(demo_payloads) * 2 // 3
    ts = e.decode_record(demo_payloads[k - 1]).events[0].ts_ms
    cp = Checkpointer(tmp_path / "data").write(k, chain_of(demo_payloads[:k]), ts, "demand")
    assert cp is not None
    return log, tmp_path / "data" / "checkpoints" / "checkpoints.jsonl", k


def _silent_tick(payloads: list[bytes], before: int) -> int:
    """Index of a Tick record that decided nothing (removing it changes no decision)."""
    for i in range(before - 1, 0, -1):
        rec = e.decode_record(payloads[i])
        if isinstance(rec.events[0], e.Tick) and len(rec.events) == 1:
            return i
    raise AssertionError("no silent tick in the demo log")


def test_the_runtime_signs_a_checkpoint_at_each_local_day_boundary(tmp_path: Path) -> None:
    clock = ManualClock(at(9))
    with Runtime(tmp_path, fsync=False, clock=clock) as rt:
        assert rt.tick().ok and rt.tick(at(23, 59)).ok
        assert rt.checkpoints.written == 0  # still the first day
        assert rt.tick(at(23, 59) + 2 * 60_000).ok  # 00:01 the next day, local time
        assert rt.checkpoints.written == 1
        assert rt.tick(at(23, 59) + 3 * 60_000).ok
        assert rt.checkpoints.written == 1  # once per day
        on_demand = rt.checkpoint()
        assert on_demand is not None and on_demand.reason == "demand"
        last, head = rt.log.last_seq, rt.log.head_hash
    cps = load_checkpoints(tmp_path / "checkpoints" / "checkpoints.jsonl")
    assert [cp.reason.split()[0] for cp in cps] == ["day", "demand"]
    assert cps[0].seq == 3 and cps[0].reason.startswith("day ")
    assert (cps[1].seq, bytes.fromhex(cps[1].head)) == (last, head)
    key_file = tmp_path / "keys" / "checkpoint-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "checkpoints" / "signing-key.pub").read_text().strip() == cps[0].key
    # after a restart the day is known: no second checkpoint for the same day
    with Runtime(tmp_path, fsync=False, clock=clock) as rt:
        assert rt.tick(at(23, 59) + 4 * 60_000).ok
        assert rt.checkpoints.written == 0
        assert rt.tick(at(23, 59) + DAY_MS + 60_000).ok
        assert rt.checkpoints.written == 1
    assert verify(tmp_path / "log", anchors=str(tmp_path / "checkpoints" / "checkpoints.jsonl")).ok


def test_a_recomputed_chain_passes_plain_verify_but_not_the_anchors(
    demo_payloads: list[bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, anchors, k = _anchored(demo_payloads, tmp_path)
    good = verify(log, anchors=str(anchors))
    assert good.ok and good.checkpoints_checked == 1
    # The forger removes a record before the checkpoint and rewrites the log with a
    # recomputed chain (crcs, chain, everything self-consistent).
    i = _silent_tick(demo_payloads, k)
    forged = write_log(tmp_path / "forged" / "log", demo_payloads[:i] + demo_payloads[i + 1 :])
    plain = verify(forged)
    assert plain.ok, plain.failure  # as before: nothing in the log itself shows it
    report = verify(forged, anchors=str(anchors))
    assert not report.ok and report.failure is not None
    f = report.failure
    assert (f.kind, f.seq) == ("anchor", k)
    assert f"checkpoint at seq {k}" in f.message and "deleted, reordered or changed" in f.message
    assert report.records == k - 1  # everything before the checkpoint checked out
    assert main(["verify", str(forged), "--anchors", str(anchors), "--quiet", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failure"]["kind"] == "anchor" and out["failure"]["seq"] == k


def test_a_log_cut_before_the_checkpoint_fails(demo_payloads: list[bytes], tmp_path: Path) -> None:
    log, anchors, k = _anchored(demo_payloads, tmp_path)
    cut = write_log(tmp_path / "cut" / "log", demo_payloads[: k - 5])
    assert verify(cut).ok
    f = verify(cut, anchors=str(anchors)).failure
    assert f is not None and f.kind == "anchor" and "cut off" in f.message
    assert f.seq == k - 4


def test_anchors_themselves_cannot_be_forged(demo_payloads: list[bytes], tmp_path: Path) -> None:
    log, anchors, k = _anchored(demo_payloads, tmp_path)
    line = msgspec.json.decode(anchors.read_bytes())
    key = line["key"]
    # a checkpoint moved to the forged log's head, without the private key
    forged = {**line, "head": chain_of(demo_payloads[: k - 1]).hex(), "seq": k - 1}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(forged) + "\n")
    f = verify(log, anchors=str(bad)).failure
    assert f is not None and f.kind == "anchor" and "signature does not verify" in f.message
    with pytest.raises(CheckpointError, match="not the pinned key"):
        load_checkpoints(anchors, "00" * 32)
    assert verify(log, anchors=str(anchors), anchor_key=key).ok
    assert main(["verify", str(log), "--anchors", str(anchors), "--anchor-key", "abc"]) == 2
    pub = tmp_path / "data" / "checkpoints" / "signing-key.pub"
    assert main(["verify", str(log), "--anchors", str(anchors), "--anchor-key", str(pub)]) == 0
    assert main(["verify", str(log), "--anchors", str(tmp_path / "missing.jsonl")]) == 2


def test_a_torn_checkpoint_line_is_dropped_not_kept(tmp_path: Path) -> None:
    ckpt = Checkpointer(tmp_path)
    assert ckpt.write(1, bytes(32), at(9)) is not None
    with open(ckpt.file, "ab") as f:
        f.write(b'{"kind": "lingong-checkpoint", "v": 1, "se')  # a crash mid-line
    again = Checkpointer(tmp_path)
    assert again.write(2, bytes(32), at(10)) is not None
    assert [cp.seq for cp in load_checkpoints(ckpt.file)] == [1, 2]


def test_checkpoints_work_on_any_log_reader(demo_payloads: list[bytes], tmp_path: Path) -> None:
    """The anchors follow the chain over payloads, so any reader (here the file reader,
    handing over blocks of 64 records) gives the same answer."""
    log, anchors, k = _anchored(demo_payloads, tmp_path)
    reader = open_log_reader(log)
    assert verify(reader, anchors=str(anchors)).checkpoints_checked == 1
