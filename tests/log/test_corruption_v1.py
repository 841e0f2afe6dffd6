"""Damaged v1 logs (a crc per frame): what recovery cuts off, what it refuses, and where.

The v1 logs are laid out by `tests.log.v1log` exactly as the v1 writer did; the v2 writer
opens them, cuts a torn tail (quarantined) or refuses corruption, and goes on in a v2
segment.
"""

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
    SEGMENT_HEADER_BYTES,
    FileLog,
    LogCorrupt,
    read_log_batches,
    verify_log,
)
from adapters.log.format_v1 import FRAME_HEADER_BYTES
from tests.log.contract import payload_for
from tests.log.v1log import write_v1_log

SEGMENT_BYTES = 1024
APPENDS = [3, 2, 4, 1, 3, 2, 4, 3, 2, 3, 1, 4, 2, 3, 2, 3]  # frames per append


@dataclass(frozen=True)
class Frame:
    offset: int
    seq: int
    length: int  # payload bytes
    end_of_append: bool

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER_BYTES + self.length


def build_log(path: Path, appends: list[int] = APPENDS) -> list[bytes]:
    batches, seq = [], 1
    for size in appends:
        batches.append([payload_for(s) for s in range(seq, seq + size)])
        seq += size
    write_v1_log(path, batches, SEGMENT_BYTES)
    return [p for b in batches for p in b]


def segment_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def v1_segments(path: Path) -> list[Path]:
    return [p for p in segment_files(path) if p.read_bytes()[8] == 1]


def frames_in(segment: Path) -> list[Frame]:
    data = segment.read_bytes()
    frames, pos = [], SEGMENT_HEADER_BYTES
    while pos < len(data):
        _, flags_len, seq = struct.unpack_from("<IIQ", data, pos)
        frame = Frame(pos, seq, flags_len & 0x7FFF_FFFF, bool(flags_len >> 31))
        frames.append(frame)
        pos = frame.end
    return frames


def fix_crc(data: bytearray, frame: Frame) -> None:
    struct.pack_into("<I", data, frame.offset, zlib.crc32(data[frame.offset + 4 : frame.end]))


def flip(segment: Path, offset: int) -> None:
    data = bytearray(segment.read_bytes())
    data[offset] ^= 0x40
    segment.write_bytes(bytes(data))


def file_state(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def segment_state(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in segment_files(path)}


def expect_corrupt(path: Path, segment: str, offset: int, seq: int, reason: str) -> LogCorrupt:
    """Opening raises LogCorrupt there; verify_log reports the same; nothing is modified."""
    before = file_state(path)
    report = verify_log(path)
    assert file_state(path) == before  # verify never modifies anything
    assert not report.ok
    assert report.problem is not None
    with pytest.raises(LogCorrupt) as info:
        FileLog(path)
    err = info.value
    assert (err.segment, err.offset, err.seq) == (segment, offset, seq)
    assert re.search(reason, err.reason), err.reason
    assert f"segment {segment}" in str(err) and f"offset {offset}" in str(err)
    problem = report.problem
    assert (problem.segment, problem.offset, problem.seq, problem.reason) == (
        err.segment,
        err.offset,
        err.seq,
        err.reason,
    )
    assert segment_state(path) == {k: v for k, v in before.items() if k.endswith(".seg")}
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


# -- damage in the middle: always LogCorrupt -----------------------------------------


def test_flipped_payload_byte_mid_log(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    frame = frames_in(segment)[1]
    flip(segment, frame.offset + FRAME_HEADER_BYTES + frame.length // 2)
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "crc32 mismatch")


@pytest.mark.parametrize(("field", "where"), [("crc", 0), ("length", 5), ("seq", 9), ("chain", 20)])
def test_flipped_header_byte_mid_log(
    log_dir: tuple[Path, list[bytes]], field: str, where: int
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    frame = frames_in(segment)[2]
    flip(segment, frame.offset + where)
    err = expect_corrupt(path, segment.name, frame.offset, frame.seq, ".")
    assert "crc32" in err.reason or "incomplete" in err.reason or "length" in err.reason


def test_flipped_byte_in_last_segment_with_valid_frames_after_it(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    frame = frames_in(segment)[0]
    assert len(frames_in(segment)) > 2
    flip(segment, frame.offset + FRAME_HEADER_BYTES)
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "crc32 mismatch")


def test_deleted_frame_is_caught_by_seq(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    middle = next(s for s in segment_files(path)[1:-1] if len(frames_in(s)) >= 3)
    for segment in (middle, segment_files(path)[-1]):
        original = segment.read_bytes()
        frame = frames_in(segment)[1]
        segment.write_bytes(original[: frame.offset] + original[frame.end :])
        expect_corrupt(path, segment.name, frame.offset, frame.seq, f"seq {frame.seq + 1} where")
        segment.write_bytes(original)
    assert verify_log(path).ok


def test_swapped_frames_are_caught(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    data = segment.read_bytes()
    a, b = frames_in(segment)[0:2]
    swapped = data[: a.offset] + data[b.offset : b.end] + data[a.offset : a.end] + data[b.end :]
    segment.write_bytes(swapped)
    expect_corrupt(path, segment.name, a.offset, a.seq, f"seq {b.seq} where seq {a.seq}")


def test_swapped_frames_with_rewritten_seqs_are_caught_by_the_chain(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    data = bytearray(segment.read_bytes())
    a, b = frames_in(segment)[0:2]
    chunk_a, chunk_b = bytes(data[a.offset : a.end]), bytes(data[b.offset : b.end])
    data[a.offset : b.end] = chunk_b + chunk_a
    first = Frame(a.offset, a.seq, b.length, b.end_of_append)
    second = Frame(first.end, b.seq, a.length, a.end_of_append)
    struct.pack_into("<Q", data, first.offset + 8, a.seq)
    struct.pack_into("<Q", data, second.offset + 8, b.seq)
    fix_crc(data, first)
    fix_crc(data, second)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, a.offset, a.seq, "hash chain mismatch")


def test_edited_payload_with_recomputed_crc_is_caught_by_the_chain(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[2]
    frame = frames_in(segment)[2]
    assert frame.length > 0
    data = bytearray(segment.read_bytes())
    data[frame.offset + FRAME_HEADER_BYTES] ^= 0x01
    fix_crc(data, frame)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "hash chain mismatch")


def test_forged_rewrite_of_the_tail_changes_the_head_hash(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """Re-chaining everything after an edit makes a self-consistent log, but a different head:
    an auditor holding the published head hash sees the forgery."""
    path, _ = log_dir
    head = verify_log(path).head_hash
    segment = segment_files(path)[-1]
    data = bytearray(segment.read_bytes())
    frames = frames_in(segment)
    prev = bytes(data[24:56])
    for i, frame in enumerate(frames):
        start = frame.offset + FRAME_HEADER_BYTES
        if i == 0:
            data[start] ^= 0x01
        chain = blake2b(prev + bytes(data[start : frame.end]), digest_size=32).digest()
        data[frame.offset + 16 : frame.offset + 48] = chain
        fix_crc(data, frame)
        prev = chain
    segment.write_bytes(bytes(data))
    report = verify_log(path)
    assert report.ok and report.frames == sum(APPENDS)
    assert report.head_hash != head


def test_missing_segment(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segments = segment_files(path)
    gone = frames_in(segments[1])
    segments[1].unlink()
    expect_corrupt(path, segments[2].name, 0, gone[0].seq, "missing segment")


def test_missing_first_segment(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segments = segment_files(path)
    segments[0].unlink()
    expect_corrupt(path, segments[1].name, 0, 1, "missing segment")


def test_damaged_segment_header(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segments = segment_files(path)
    for where, reason in [(2, "magic"), (30, "header crc32"), (61, "reserved")]:
        original = segments[1].read_bytes()
        flip(segments[1], where)
        first_seq = frames_in(segments[0])[-1].seq + 1
        expect_corrupt(path, segments[1].name, 0, first_seq, reason)
        segments[1].write_bytes(original)


def test_chain_break_between_segments(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    data = bytearray(segment.read_bytes())
    data[30] ^= 0x01  # chain_in, with the header crc recomputed
    struct.pack_into("<I", data, 56, zlib.crc32(data[:56]))
    segment.write_bytes(bytes(data))
    first_seq = frames_in(segment)[0].seq
    expect_corrupt(path, segment.name, 0, first_seq, "chain_in does not match")


def test_truncated_earlier_segment_is_not_a_torn_tail(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[0]
    last = frames_in(segment)[-1]
    data = segment.read_bytes()
    segment.write_bytes(data[: last.offset + 10])
    expect_corrupt(path, segment.name, last.offset, last.seq, "incomplete frame")


# -- damage at the tail: cut off on open ---------------------------------------------


def expect_recovered(path: Path, written: list[bytes], kept_frames: int) -> None:
    """verify_log sees a torn tail without touching it; open quarantines and cuts it."""
    before = file_state(path)
    report = verify_log(path)
    assert file_state(path) == before
    assert report.ok and report.torn_tail is not None and report.torn_tail_bytes > 0
    assert report.frames == kept_frames
    readonly = [x for b in read_log_batches(path) for x in b]
    assert [p for _, p in readonly] == written[:kept_frames]
    last_segment = segment_files(path)[-1]
    original = before[last_segment.name]
    with FileLog(path, segment_bytes=SEGMENT_BYTES) as log:
        assert log.last_seq == kept_frames
        recovery = log.recovery
        assert recovery is not None
        assert (recovery.segment, recovery.seq) == (last_segment.name, kept_frames + 1)
        assert recovery.cut_bytes == report.torn_tail_bytes
        assert recovery.offset == len(original) - recovery.cut_bytes
        # The cut bytes were copied to the quarantine folder before the cut.
        kept = Path(recovery.quarantine_path)
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


def test_truncated_tail_mid_frame(log_dir: tuple[Path, list[bytes]]) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = frames_in(segment)[-1]
    data = segment.read_bytes()
    segment.write_bytes(data[: last.offset + FRAME_HEADER_BYTES + 1])
    # The whole last append goes (it was never fully durable), nothing before it.
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


def test_truncated_tail_mid_header(log_dir: tuple[Path, list[bytes]]) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    last = frames_in(segment)[-1]
    segment.write_bytes(segment.read_bytes()[: last.offset + 7])
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


def test_incomplete_append_cut_at_a_frame_boundary(log_dir: tuple[Path, list[bytes]]) -> None:
    path, written = log_dir
    segment = segment_files(path)[-1]
    frames = frames_in(segment)
    assert not frames[-2].end_of_append
    segment.write_bytes(segment.read_bytes()[: frames[-2].end])
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


@pytest.mark.parametrize("garbage", [bytes(200), b"\xff" * 3, bytes(FRAME_HEADER_BYTES)])
def test_garbage_after_the_last_frame(log_dir: tuple[Path, list[bytes]], garbage: bytes) -> None:
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
    frames = frames_in(segment)
    ends = [i for i, f in enumerate(frames[:-1]) if f.end_of_append]
    first_of_last_append = frames[ends[-1] + 1 if ends else 0]
    data = bytearray(segment.read_bytes())
    # the first sector boundary after the first frame header of the last append
    sector = -(-(first_of_last_append.offset + FRAME_HEADER_BYTES + 1) // 512) * 512
    assert sector < frames[-1].end  # the boundary lies inside the last append
    data[sector:] = bytes(len(data) - sector)
    segment.write_bytes(bytes(data))
    expect_recovered(path, written, sum(APPENDS) - APPENDS[-1])


def test_bit_flip_in_the_last_frame_of_an_acknowledged_append_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """The audit's case: one flipped bit in the final, complete frame. It used to be taken
    for a torn write and the whole acknowledged append was dropped on open; now the log
    refuses to open and names the frame."""
    path, written = log_dir
    segment = segment_files(path)[-1]
    frame = frames_in(segment)[-1]
    assert frame.end_of_append and frame.length > 0
    original = segment.read_bytes()
    for where in (frame.end - 1, frame.offset + FRAME_HEADER_BYTES, frame.offset + 2, 20):
        flip(segment, frame.offset + where if where == 20 else where)
        err = expect_corrupt(path, segment.name, frame.offset, frame.seq, "crc32 mismatch")
        assert "not a torn write" in str(
            err
        ) and f"truncate it at byte offset {frame.offset}" in str(err)
        assert not (path / "quarantine").exists()
        segment.write_bytes(original)
    with FileLog(path) as log:
        assert [p for _, p in log.read()] == written


def test_bit_flip_in_an_earlier_frame_of_the_last_append_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    frames = frames_in(segment)
    assert not frames[-2].end_of_append  # the last append has several frames
    frame = frames[-2]
    flip(segment, frame.offset + FRAME_HEADER_BYTES)
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "crc32 mismatch")


def test_damaged_length_of_the_last_frame_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """A length bit flipped upwards makes the last frame look incomplete; its crc shows
    that the frame is complete and only the length field is damaged."""
    path, _ = log_dir
    segment = segment_files(path)[-1]
    frame = frames_in(segment)[-1]
    data = bytearray(segment.read_bytes())
    data[frame.offset + 5] ^= 0x10  # + 4096 bytes of length
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "length field damaged")


def test_non_zero_garbage_that_is_not_a_frame_is_corruption(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    """An interrupted append leaves a prefix of itself or zeros, never an impossible frame."""
    path, _ = log_dir
    segment = segment_files(path)[-1]
    end = segment.stat().st_size
    segment.write_bytes(segment.read_bytes() + b"\xff" * 100)
    expect_corrupt(path, segment.name, end, sum(APPENDS) + 1, "exceeds")


def test_crc_valid_final_frame_with_wrong_chain_is_corruption_not_a_tear(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    frame = frames_in(segment)[-1]
    data = bytearray(segment.read_bytes())
    data[frame.offset + 20] ^= 0x01
    fix_crc(data, frame)
    segment.write_bytes(bytes(data))
    expect_corrupt(path, segment.name, frame.offset, frame.seq, "hash chain mismatch")


# -- damage after open ---------------------------------------------------------------


def test_read_detects_damage_made_after_open(log_dir: tuple[Path, list[bytes]]) -> None:
    path, _ = log_dir
    segment = segment_files(path)[1]
    frame = frames_in(segment)[0]
    with FileLog(path) as log:
        assert len(list(log.read())) == sum(APPENDS)
        flip(segment, frame.offset + FRAME_HEADER_BYTES)
        for verify_chain in (True, False):
            with pytest.raises(LogCorrupt) as info:
                list(log.read(verify_chain=verify_chain))
            assert (info.value.segment, info.value.offset, info.value.seq) == (
                segment.name,
                frame.offset,
                frame.seq,
            )
        # Frames before the damage are still readable from their own seq on.
        assert len(list(log.read(frame.seq + 1))) == sum(APPENDS) - frame.seq


# -- any single flipped byte ---------------------------------------------------------


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
        offset = rng.randrange(sizes[name])
        flip(damaged / name, offset)
        try:
            log = FileLog(damaged)
        except LogCorrupt as err:
            outcomes["corrupt"] += 1
            assert err.segment in sizes
            continue
        with log:  # opening succeeded: nothing was damaged (only a flip can do this)
            outcomes["cut"] += 1
        shutil.rmtree(damaged)
    # A flip makes a complete frame fail its crc (or its length field show damage): never
    # taken for a torn write, so never an acknowledged append cut off.
    assert outcomes == {"corrupt": 250, "cut": 0}


def test_the_torn_tail_is_durable_in_quarantine_before_the_cut(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    path, _ = log_dir
    segment = segment_files(path)[-1]
    segment.write_bytes(segment.read_bytes() + b"\x07" * 11)  # an incomplete frame header
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
