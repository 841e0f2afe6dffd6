"""Rebuild to a seq or a time, batched decoding, exit codes, and a second process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import events as e
from engine.core import Engine
from replay.cli import main
from replay.rebuild import rebuild
from replay.source import ReplayError, Until, decode_batch, parse_until
from tests.replay.util import records, run_python


def test_rebuild_to_the_end_matches_the_writer(demo) -> None:
    r = rebuild(demo[0])
    assert r.digest == demo[1]["digest"] and r.records == demo[1]["records"]
    assert r.events == demo[1]["events"] and r.summary["seq"] == r.seq


def test_rebuild_to_a_seq(demo) -> None:
    recs = records(demo[0])
    engine = Engine()
    for seq, rec in enumerate(recs[:1234], start=1):
        engine.apply_record(seq, rec)
    r = rebuild(demo[0], Until(seq=1234), verify_chain=True)
    assert (r.seq, r.digest, r.summary) == (1234, engine.digest(), engine.state.summary())


def test_rebuild_to_a_time(demo) -> None:
    recs = records(demo[0])
    t = recs[2000].events[0].ts_ms  # keep every record up to the last one at this time
    r = rebuild(demo[0], Until(ts_ms=t))
    assert recs[r.seq - 1].events[0].ts_ms <= t < recs[r.seq].events[0].ts_ms
    assert rebuild(demo[0], parse_until(f"ms:{t}")).digest == r.digest


def test_parse_until() -> None:
    assert parse_until("42") == Until(seq=42)
    assert parse_until(None) == Until()
    local = parse_until("2026-11-23T08:30")
    assert local.ts_ms == parse_until("2026-11-23T00:30:00+00:00").ts_ms
    with pytest.raises(ValueError):
        parse_until("yesterday")


def test_batched_decoding(demo_payloads) -> None:
    frames = list(enumerate(demo_payloads[:500], start=1))
    assert decode_batch(frames) == [e.decode_record(p) for _, p in frames]
    with pytest.raises(ReplayError) as err:
        decode_batch([*frames[:3], (4, b"\xc1garbage"), *frames[4:6]])
    assert err.value.seq == 4


def test_exit_codes(demo, tmp_path: Path, capsys) -> None:
    assert main(["verify", str(demo[0].parent), "--quiet"]) == 0  # a data folder works too
    assert "OK" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing"), "--quiet"]) == 2
    assert main(["rebuild", str(demo[0]), "--until", "soon", "--quiet"]) == 2
    assert main(["rebuild", str(demo[0]), "--until", "99999999", "--quiet"]) == 1
    assert main(["explain", str(demo[0]), "--quiet"]) == 2


def test_another_process_with_another_hash_seed(demo) -> None:
    """The log was written by a process with PYTHONHASHSEED=0; verify it with another."""
    log, info = demo
    done = run_python(["-m", "replay.cli", "verify", str(log), "--json", "--quiet"], "4242")
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] and out["digest"] == info["digest"] and out["events"] == info["events"]
    assert done.stderr == ""  # no progress bar when stderr is not a terminal


def test_rebuild_from_a_snapshot(demo, tmp_path: Path) -> None:
    from adapters.log.checkpoints import Checkpointer
    from adapters.log.snapshots import signed_message, write_snapshot
    from engine.snapshot import snapshot_state

    recs = records(demo[0])
    engine = Engine()
    for seq, rec in enumerate(recs[:3000], start=1):
        engine.apply_record(seq, rec)
    snaps = tmp_path / "snapshots"
    signer = Checkpointer(tmp_path)  # as the runtime signs (DATA/keys) and publishes its key
    digest, body = engine.digest(), snapshot_state(engine.state)
    sig = signer.key.sign_message(signed_message(3000, digest, body))
    write_snapshot(snaps, 3000, digest, body, fsync=False, signature=sig)
    with pytest.raises(FileNotFoundError, match="no public key"):  # nothing to check with
        rebuild(demo[0], snapshots=snaps)
    signer.publish_key()
    full = rebuild(demo[0])
    fast = rebuild(demo[0], snapshots=snaps)
    assert fast.from_snapshot == 3000 and fast.records == len(recs) - 3000
    assert (fast.digest, fast.summary) == (full.digest, full.summary)
    early = rebuild(demo[0], Until(seq=2000), snapshots=snaps)  # snapshot is past the target
    assert early.from_snapshot == 0 and early.digest == rebuild(demo[0], Until(seq=2000)).digest
    assert main(["rebuild", str(demo[0]), "--snapshots", str(snaps), "--quiet"]) == 0
    # the same snapshot unsigned, or signed by another key: passed over, the log decides
    write_snapshot(snaps, 3000, digest, body, fsync=False)
    plain = rebuild(demo[0], snapshots=snaps)
    assert plain.from_snapshot == 0 and plain.snapshots_passed_over == 1
    assert plain.digest == full.digest
    other = Checkpointer(tmp_path / "other")
    sig = other.key.sign_message(signed_message(3000, digest, body))
    write_snapshot(snaps, 3000, digest, body, fsync=False, signature=sig)
    assert rebuild(demo[0], snapshots=snaps).from_snapshot == 0
    assert (
        rebuild(demo[0], snapshots=snaps, snapshot_key=other.key.public_hex).from_snapshot == 3000
    )
