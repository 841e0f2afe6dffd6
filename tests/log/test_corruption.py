"""Damaged v2 logs (a block per append): what recovery cuts off, what it refuses, and where."""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

import pytest

from adapters.log.filelog import (
    BLOCK_HEADER_BYTES,
    SEGMENT_HEADER_BYTES,
    FileLog,
    LogCorrupt,
    read_log_batches,
    verify_log,
)
from tests.log.contract import payload_for

SEGMENT_BYTES = 1024
APPENDS = [3, 2, 4, 1, 3, 2, 4, 3, 2, 3, 1, 4, 2, 3, 2, 3]  # frames per append


@dataclass(frozen=True)
class Blk:
    offset: int
    seq: int  # first seq
    count: int
    body_bytes: int

    @property
    def end(self) -> int:
        return self.offset + BLOCK_HEADER_BYTES + self.body_bytes

    @property
    def payload_start(self) -> int:  # first payload byte
        return self.offset + BLOCK_HEADER_BYTES + 4 * self.count + 5


def build_log(path: Path, appends: list[int] = APPENDS) -> list[bytes]:
    written: list[bytes] = []
    with FileLog(path, segment_bytes=SEGMENT_BYTES) as log:
        for size in appends:
            start = log.next_seq
            batch = [payload_for(seq) for seq in range(start, start + size)]
            log.append(batch)
            written.extend(batch)
    return written


def segment_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def blocks_in(segment: Path) -> list[Blk]:
    data = segment.read_bytes()
    blocks, pos = [], SEGMENT_HEADER_BYTES
    while pos < len(data):
        _, _, seq, count, body_bytes, _ = struct.unpack_from("<IIQII32s", data, pos)
        blocks.append(Blk(pos, seq, count, body_bytes))
        pos = blocks[-1].end
    return blocks


def fix_crcs(data: bytearray, b: Blk) -> None:
    """Recompute a block's body crc, then its header crc (what a forger would do)."""
    struct.pack_into("<I", data, b.offset + 4, zlib.crc32(data[b.offset + 56 : b.end]))
    struct.pack_into("<I", data, b.offset, zlib.crc32(data[b.offset + 4 : b.offset + 56]))


def flip(segment: Path, offset: int) -> None:
    data = bytearray(segment.read_bytes())
    data[offset] ^= 0x40
    segment.write_bytes(bytes(data))


def file_state(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def expect_corrupt(path: Path, segment: str, offset: int, seq: int, reason: str) -> LogCorrupt:
    """Opening raises LogCorrupt there; verify_log reports the same; nothing is modified."""
    before = file_state(path)
    report = verify_log(path)
    assert file_state(path) == before  # verify never modifies anything
    assert not report.ok and report.problem is not None
    with pytest.raises(LogCorrupt) as info:
        FileLog(path)
    err = info.value
    assert (err.segment, err.offset, err.seq) == (segment, offset, seq)
    assert re.search(reason, err.reason), err.reason
    assert f"segment {segment}" in str(err) and f"offset {offset}" in str(err)
    assert "not a torn write" in err.advice
    p = report.problem
    assert (p.segment, p.offset, p.seq, p.reason) == (err.segment, err.offset, err.seq, err.reason)
    assert {k: v for k, v in file_state(path).items() if k != "LOCK"} == {
        k: v for k, v in before.items() if k != "LOCK"
    }
    assert not (path / "quarantine").exists()
    with pytest.raises(LogCorrupt):
        for _ in read_log_batches(path):
            pass
    return err


@pytest.fixture
def log_dir(tmp_path: Path) -> tuple[Path, list[bytes]]:
    path = tmp_path / "log"
    written = build_log(path)
    assert len(segment_files(path)) >= 3
    return path, written


def test_a_segment_is_blocks_of_whole_appends(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    counts = [b.count for s in segment_files(path) for b in blocks_in(s)]
    assert counts == APPENDS


# -- damage in the middle: always LogCorrupt -----------------------------------------


def test_flipped_payload_byte_mid_log(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    b = blocks_in(segment)[1]
    flip(segment, b.payload_start + 3)
    expect_corrupt(path, segment.name, b.offset, b.seq, "block crc32 mismatch")


@pytest.mark.parametrize("where", [0, 5, 9, 17, 21, 40, 56, 58])
def test_flipped_header_or_length_table_byte_mid_log(
    log_dir: tuple[Path, list[bytes]], where: int
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    b = blocks_in(segment)[1]
    flip(segment, b.offset + where)
    err = expect_corrupt(path, segment.name, b.offset, b.seq, "crc32 mismatch")
    assert ("header" in err.reason) == (where < BLOCK_HEADER_BYTES)


def test_deleted_block_is_caught_by_seq(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with FileLog(path, segment_bytes=4 * SEGMENT_BYTES) as log:
        for size in APPENDS:
            log.append([payload_for(seq) for seq in range(log.next_seq, log.next_seq + size)])
    middle = next(s for s in segment_files(path)[:-1] if len(blocks_in(s)) >= 3)
    assert len(blocks_in(segment_files(path)[-1])) >= 3
    for segment in (middle, segment_files(path)[-1]):
        original = segment.read_bytes()
        a, b = blocks_in(segment)[0:2]
        segment.write_bytes(original[: b.offset] + original[b.end :])
        nxt = b.seq + b.count
        expect_corrupt(path, segment.name, b.offset, b.seq, f"seq {nxt} where seq {b.seq}")
        segment.write_bytes(original)
    assert verify_log(path).ok


def test_swapped_blocks_are_caught(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    data = segment.read_bytes()
    a, b = blocks_in(segment)[0:2]
    swapped = data[: a.offset] + data[b.offset : b.end] + data[a.offset : a.end] + data[b.end :]
    segment.write_bytes(swapped)
    expect_corrupt(path, segment.name, a.offset, a.seq, f"seq {b.seq} where seq {a.seq}")


def test_edited_payload_with_recomputed_crcs_is_caught_by_the_chain(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[2]
    b = blocks_in(segment)[1]
    data = bytearray(segment.read_bytes())
    data[b.payload_start] ^= 0x01
    fix_crcs(data, b)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, b.offset, b.seq, "hash chain mismatch")


def test_swapped_blocks_with_rewritten_seqs_are_caught_by_the_chain(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    data = bytearray(segment.read_bytes())
    a, b = blocks_in(segment)[0:2]
    chunk_a, chunk_b = bytes(data[a.offset : a.end]), bytes(data[b.offset : b.end])
    data[a.offset : b.end] = chunk_b + chunk_a
    first = Blk(a.offset, a.seq, b.count, b.body_bytes)
    second = Blk(first.end, a.seq + b.count, a.count, a.body_bytes)
    for blk in (first, second):
        struct.pack_into("<Q", data, blk.offset + 8, blk.seq)
        fix_crcs(data, blk)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, a.offset, a.seq, "hash chain mismatch")


def test_a_body_that_does_not_add_up_is_caught(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    b = blocks_in(segment)[0]
    data = bytearray(segment.read_bytes())
    data[b.offset + 56] ^= 0x01  # first payload length, crcs recomputed
    fix_crcs(data, b)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, b.offset, b.seq, "does not add up")


def test_forged_rewrite_of_the_tail_changes_the_head_hash(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """Re-chaining everything after an edit makes a self-consistent log, but a different head:
    an auditor holding the published head hash (or a signed checkpoint) sees the forgery."""
    path, _ = log_dir
    head = verify_log(path).head_hash
    segment = segment_files(path)[-1]
    data = bytearray(segment.read_bytes())
    prev = bytes(data[24:56])
    for i, b in enumerate(blocks_in(segment)):
        if i == 0:
            data[b.payload_start] ^= 0x01
        lengths = struct.unpack_from(f"<{b.count}I", data, b.offset + 56)
        at = b.payload_start
        for n in lengths:
            prev = blake2b(prev + bytes(data[at : at + n]), digest_size=32).digest()
            at += n
        data[b.offset + 24 : b.offset + 56] = prev
        fix_crcs(data, b)
    segment.write_bytes(bytes(data))
    report = verify_log(path)
    assert report.ok and report.frames == sum(APPENDS)
    assert report.head_hash != head


def test_missing_segment(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segments = segment_files(path)
    gone = blocks_in(segments[1])
    segments[1].unlink()
    expect_corrupt(path, segments[2].name, 0, gone[0].seq, "missing segment")


def test_damaged_segment_header(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segments = segment_files(path)
    first_seq = blocks_in(segments[1])[0].seq
    for where, reason in [(2, "magic"), (30, "header crc32"), (61, "reserved")]:
        original = segments[1].read_bytes()
        flip(segments[1], where)
        expect_corrupt(path, segments[1].name, 0, first_seq, reason)
        segments[1].write_bytes(original)


def test_chain_break_between_segments(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    data = bytearray(segment.read_bytes())
    data[30] ^= 0x01  # chain_in, with the header crc recomputed
    struct.pack_into("<I", data, 56, zlib.crc32(data[:56]))
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, 0, blocks_in(segment)[0].seq, "chain_in does not match")


def test_truncated_earlier_segment_is_not_a_torn_tail(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    last = blocks_in(segment)[-1]
    segment.write_bytes(segment.read_bytes()[: last.offset + 70])
    expect_corrupt(path, segment.name, last.offset, last.seq, "incomplete block")


# -- damage at the tail: a torn write is quarantined and cut off -----------------------


def expect_recovered(path: Path, written: list[bytes], kept_frames: int) -> None:
    """verify_log sees a torn tail without touching it; open quarantines and cuts it."""
    before = file_state(path)
    report = verify_log(path)
    assert file_state(path) == before
    assert report.ok and report.torn_tail is not None and report.torn_tail_bytes > 0
    assert report.frames == kept_frames
    assert [p for b in read_log_batches(path) for _, p in b] == written[:kept_frames]
    last_segment = segment_files(path)[-1]
    original = before[last_segment.name]
    with FileLog(path, segment_bytes=SEGMENT_BYTES) as log:
        assert log.last_seq == kept_frames
        recovery = log.recovery
        assert recovery is not None
        assert (recovery.segment, recovery.seq) == (last_segment.name, kept_frames + 1)
        assert recovery.cut_bytes == report.torn_tail_bytes
        assert recovery.offset == len(original) - recovery.cut_bytes
        kept = Path(recovery.quarantine_path)  # copied aside before the cut
        assert kept.parent == path / "quarantine"
        assert kept.name.startswith(f"{last_segment.stem}-{recovery.offset}-")
        assert kept.read_bytes() == original[recovery.offset :]
        assert log.metrics()["log_torn_tail_bytes_cut_total"] == recovery.cut_bytes
        assert log.metrics()["log_torn_tails_cut_total"] == 1
        assert [p for _, p in log.read()] == written[:kept_frames]
        assert last_segment.stat().st_size == recovery.offset
        assert log.append([b"resumed"]) == kept_frames + 1
    after = verify_log(path)
    assert after.ok and after.torn_tail is None and after.frames == kept_frames + 1
    with FileLog(path) as log:
        assert log.recovery is None and log.metrics()["log_torn_tails_cut_total"] == 0
        assert [p for _, p in log.read(kept_frames)] == [written[kept_frames - 1], b"resumed"]


def test_truncated_tail_mid_body(log_dir: tuple[Path, list[bytes]]) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = blocks_in(segment)[-1]
    segment.write_bytes(segment.read_bytes()[: last.end - 1])
    # The whole last append goes (it was never fully durable), nothing before it.
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


def test_truncated_tail_mid_header(log_dir: tuple[Path, list[bytes]]) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = blocks_in(segment)[-1]
    segment.write_bytes(segment.read_bytes()[: last.offset + 7])
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


@pytest.mark.parametrize("garbage", [bytes(200), b"\xff" * 3, bytes(BLOCK_HEADER_BYTES)])
def test_garbage_after_the_last_block(log_dir: tuple[Path, list[bytes]], garbage: bytes) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    segment.write_bytes(segment.read_bytes() + garbage)
    expect_recovered(path, written, sum(APPENDS))


def test_zero_filled_tail_inside_the_last_append_is_torn(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """A file system that extends the file before its data reach the disk leaves the
    append's bytes up to a sector boundary and zeros after it: a torn write."""
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = blocks_in(segment)[-1]
    data = bytearray(segment.read_bytes())
    sector = -(-(last.offset + BLOCK_HEADER_BYTES + 1) // 512) * 512
    assert sector < last.end  # a sector boundary inside the last block's body
    data[sector:] = bytes(len(data) - sector)
    segment.write_bytes(bytes(data))
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


def test_zero_filled_header_of_the_last_append_is_torn(tmp_path: Path) -> None:
    """The zeros may start inside the last block's header (at a sector boundary)."""
    path = tmp_path / "log"
    with FileLog(path) as log:
        log.append([b"x" * (500 - SEGMENT_HEADER_BYTES - BLOCK_HEADER_BYTES - 4 - 5)])
        log.append([b"torn", b"append"])  # its block starts at offset 500
    segment = segment_files(path)[0]
    last = blocks_in(segment)[-1]
    data = bytearray(segment.read_bytes())
    assert last.offset < 512 < last.offset + BLOCK_HEADER_BYTES  # the header straddles it
    data[512:] = bytes(len(data) - 512)
    segment.write_bytes(bytes(data))
    expect_recovered(path, [b"x" * 371, b"torn", b"append"], 1)


# -- the audit's case: a flipped bit in an acknowledged append --------------------------


def test_bit_flip_in_the_last_block_of_an_acknowledged_append_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """One flipped bit in the final, complete append used to be taken for a torn write
    and the whole acknowledged append was dropped on open; now the log refuses to open and
    names the block."""
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = blocks_in(segment)[-1]
    original = segment.read_bytes()
    for where in (last.end - 1, last.payload_start, last.offset + 2, last.offset + 21):
        flip(segment, where)
        err = expect_corrupt(path, segment.name, last.offset, last.seq, "crc32 mismatch")
        assert f"truncate it at byte offset {last.offset}" in str(err)
        segment.write_bytes(original)
    with FileLog(path) as log:
        assert [p for _, p in log.read()] == written


def test_non_zero_garbage_that_is_not_a_block_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """An interrupted append leaves a prefix of itself or zeros, never a bad header."""
    path, _ = log_dir
    segment = segment_files(path)[-1]
    end = segment.stat().st_size
    segment.write_bytes(segment.read_bytes() + b"\xff" * 100)
    expect_corrupt(path, segment.name, end, sum(APPENDS) + 1, "header crc32 mismatch")


def test_crc_valid_final_block_with_wrong_chain_is_corruption_not_a_tear(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    last = blocks_in(segment)[-1]
    data = bytearray(segment.read_bytes())
    data[last.offset + 30] ^= 0x01
    fix_crcs(data, last)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, last.offset, last.seq, "hash chain mismatch")


def test_read_detects_damage_made_after_open(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    b = blocks_in(segment)[0]
    with FileLog(path) as log:
        assert len(list(log.read())) == sum(APPENDS)
        flip(segment, b.payload_start)
        for verify_chain in (True, False):
            with pytest.raises(LogCorrupt) as info:
                list(log.read(verify_chain=verify_chain))
            got = (info.value.segment, info.value.offset, info.value.seq)
            assert got == (segment.name, b.offset, b.seq)
        # Frames after the damaged block are still readable from their own seq on.
        after = b.seq + b.count
        assert len(list(log.read(after))) == sum(APPENDS) - after + 1


def test_any_flipped_byte_is_refused(tmp_path: Path) -> None:
    original = tmp_path / "original"
    build_log(original)
    sizes = {p.name: p.stat().st_size for p in segment_files(original)}
    rng = random.Random(20240611)
    outcomes = {"corrupt": 0, "cut": 0}
    for trial in range(250):
        damaged = tmp_path / f"t{trial}"
        shutil.copytree(original, damaged)
        name = rng.choice(sorted(sizes))
        flip(damaged / name, rng.randrange(sizes[name]))
        try:
            log = FileLog(damaged)
        except LogCorrupt as err:
            outcomes["corrupt"] += 1
            assert err.segment in sizes
            continue
        with log:
            outcomes["cut"] += 1
        shutil.rmtree(damaged)
    # A flip makes a complete block fail a crc: never taken for a torn write, so never
    # an acknowledged append cut off.
    assert outcomes == {"corrupt": 250, "cut": 0}


def test_the_torn_tail_is_durable_in_quarantine_before_the_cut(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    segment.write_bytes(segment.read_bytes() + b"\x07" * 11)  # an incomplete block header
    size = segment.stat().st_size
    calls: list[tuple[str, int]] = []

    def fsync_fn(fd: int) -> None:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_size))

    with FileLog(path, segment_bytes=SEGMENT_BYTES, fsync_fn=fsync_fn) as log:
        assert log.recovery is not None and log.recovery.cut_bytes == 11
        kept = log.recovery.quarantine_path
    names = [Path(p).name for p, _ in calls]
    # the new folder's entry, the quarantine file, its folder, then the cut segment
    assert names[:4] == ["log", Path(kept).name, "quarantine", segment.name]
    assert calls[1][1] == 11 and calls[3][1] == size - 11


def test_nothing_is_cut_when_the_tail_cannot_be_quarantined(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    segment.write_bytes(segment.read_bytes() + bytes(30))
    (path / "quarantine").write_bytes(b"not a folder")
    before = segment.read_bytes()
    with pytest.raises(OSError):
        FileLog(path)
    assert segment.read_bytes() == before
