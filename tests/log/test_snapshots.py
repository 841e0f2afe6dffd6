"""Snapshot files: atomic round trip, fallback past corrupt ones, retention."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

from adapters.log.snapshots import (
    HEADER_BYTES,
    Snapshot,
    latest_snapshot,
    list_snapshots,
    scan_snapshots,
    snapshot_name,
    write_snapshot,
)


def state_at(seq: int) -> bytes:
    return f"state after {seq} events ".encode() * (seq % 50 + 1)


def test_round_trip(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, 42, "digest-42", state_at(42))
    assert path == tmp_path / snapshot_name(42) == tmp_path / "00000000000000000042.snap"
    snap = latest_snapshot(tmp_path)
    assert snap == Snapshot(42, "digest-42", state_at(42))
    seq, digest, state = snap  # unpacks as (seq, digest, state)
    assert (seq, digest, state) == (42, "digest-42", state_at(42))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_header_layout(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, 7, "abc", b"body")
    data = path.read_bytes()
    magic, version, digest_bytes, seq, state_bytes = struct.unpack_from("<8sIIQQ", data, 0)
    assert (magic, version, digest_bytes, seq, state_bytes) == (b"LINGSNAP", 1, 3, 7, 4)
    assert data[HEADER_BYTES:] == b"abcbody"


def test_empty_state_and_seq_zero(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 0, "", b"")
    assert latest_snapshot(tmp_path) == Snapshot(0, "", b"")


def test_newest_valid_wins(tmp_path: Path) -> None:
    for seq in (10, 30, 20):
        write_snapshot(tmp_path, seq, f"d{seq}", state_at(seq))
    assert latest_snapshot(tmp_path) == Snapshot(30, "d30", state_at(30))
    assert latest_snapshot(tmp_path, max_seq=29) == Snapshot(20, "d20", state_at(20))
    assert latest_snapshot(tmp_path, max_seq=5) is None


@pytest.mark.parametrize(
    "damage",
    ["flip_body", "flip_digest", "flip_header", "truncate", "extend", "empty", "renamed"],
)
def test_corrupt_newest_falls_back_to_older(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_snapshot(tmp_path, 100, "d100", state_at(100))
    newest = write_snapshot(tmp_path, 200, "d200", state_at(200))
    data = bytearray(newest.read_bytes())
    if damage == "flip_body":
        data[-3] ^= 0x01
    elif damage == "flip_digest":
        data[HEADER_BYTES] ^= 0x01
    elif damage == "flip_header":
        data[20] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "extend":
        data += b"\x00"
    elif damage == "empty":
        data = bytearray()
    newest.write_bytes(bytes(data))
    if damage == "renamed":  # a valid file under the wrong name
        newest.rename(tmp_path / snapshot_name(300))
    with caplog.at_level(logging.WARNING, logger="lingong.snapshots"):
        snap = latest_snapshot(tmp_path)
    assert snap == Snapshot(100, "d100", state_at(100))
    assert "skipping corrupt snapshot" in caplog.text
    latest, corrupt = scan_snapshots(tmp_path)
    assert latest == snap
    assert len(corrupt) == 1 and corrupt[0][1]


def test_all_corrupt_means_none(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, 5, "d", b"state")
    path.write_bytes(b"garbage")
    latest, corrupt = scan_snapshots(tmp_path)
    assert latest is None and [p for p, _ in corrupt] == [path]
    assert latest_snapshot(tmp_path / "missing") is None


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    for seq in range(1, 8):
        write_snapshot(tmp_path, seq * 10, f"d{seq}", state_at(seq))
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [70, 60, 50]
    write_snapshot(tmp_path, 80, "d8", b"x", keep=1)
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [80]
    write_snapshot(tmp_path, 5, "old", b"y", keep=1)  # the one just written is never removed
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [80, 5]
    with pytest.raises(ValueError, match="keep"):
        write_snapshot(tmp_path, 90, "d", b"", keep=0)


def test_rewrite_same_seq_replaces_atomically(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 9, "first", b"one")
    write_snapshot(tmp_path, 9, "second", b"two")
    assert latest_snapshot(tmp_path) == Snapshot(9, "second", b"two")


def test_stale_temporary_files_are_cleaned_and_ignored(tmp_path: Path) -> None:
    stale = tmp_path / f".{snapshot_name(50)}.999999999.tmp"
    stale.write_bytes(b"half written")
    write_snapshot(tmp_path, 10, "d", b"s")
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir()] == [snapshot_name(10)]


def test_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seq"):
        write_snapshot(tmp_path, -1, "d", b"")
    with pytest.raises(ValueError, match="digest"):
        write_snapshot(tmp_path, 1, "x" * 2000, b"")
    assert not any(name.endswith(".snap") for name in os.listdir(tmp_path))


def test_a_signed_snapshot_round_trips_and_the_reader_decides_whom_to_trust(
    tmp_path: Path,
) -> None:
    from adapters.log.snapshots import signed_message

    write_snapshot(tmp_path, 5, "d5", b"five")
    write_snapshot(tmp_path, 9, "d9", b"nine", signature=b"S" * 64)
    data = (tmp_path / snapshot_name(9)).read_bytes()
    assert struct.unpack_from("<8sI", data, 0) == (b"LINGSNAP", 2)
    assert data[-4:] == struct.pack("<I", 64) and data[-68:-4] == b"S" * 64
    seen: list[tuple[int, bytes]] = []

    def accept(snap: Snapshot, signature: bytes) -> str | None:
        seen.append((snap.seq, signature))
        return None if signature else "not signed"

    assert latest_snapshot(tmp_path, accept=accept) == Snapshot(9, "d9", b"nine")
    scan = scan_snapshots(tmp_path, max_seq=8, accept=accept)
    assert scan.latest is None and scan.corrupt == [(tmp_path / snapshot_name(5), "not signed")]
    assert seen == [(9, b"S" * 64), (5, b"")]
    assert signed_message(9, "d9", b"nine") != signed_message(9, "d9", b"nina")
    assert signed_message(9, "d9", b"nine") != signed_message(8, "d9", b"nine")


def test_a_signature_changed_in_place_fails_the_checksum(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, 3, "d3", b"three", signature=b"S" * 64)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    scan = scan_snapshots(tmp_path)
    assert scan.latest is None and "checksum" in scan.corrupt[0][1]
