"""Scanning and reading a file log folder, whatever format version each segment has.

Owns: the whole-log scan (`scan_log`: every segment, torn tail vs corruption), the tail
of a log (`scan_tail`: the last segment only), reading frames or whole blocks across
segments (`iter_log`, `iter_log_blocks`, and per segment `iter_segment*`), and the
lock-free tools `verify_log`, `inspect_log` and `read_log_batches`.

Invariants: nothing here modifies a file or takes the writer lock. Segments are read
according to the version in their header (1: `adapters.log.format_v1`, 2:
`adapters.log.format_v2`); a log may hold v1 segments followed by v2 ones (a v1 log the
v2 writer continued). Only the last segment can end in a torn tail; readers stop before
it and report it; anything else that fails a check raises or reports `LogCorrupt`.
Limits: one segment is held in memory at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from adapters.log import format_v1, format_v2
from adapters.log.format_v2 import Block
from adapters.log.logformat import (
    PHYSICAL,
    SEGMENT_HEADER_BYTES,
    Problem,
    VerifyReport,
    _check_read_args,
    _check_segment_header,
    _list_segments,
    _read_file,
    segment_version,
)
from adapters.log.ports import GENESIS_HASH, LogCorrupt

_FORMATS = {1: format_v1, 2: format_v2}


class FrameBatch(NamedTuple):
    """Frames read one by one (a v1 segment), in the shape of a `Block`."""

    first_seq: int
    count: int
    frames_list: list[tuple[int, bytes]]

    def payload(self, i: int) -> bytes:
        return self.frames_list[i][1]

    def frames(self) -> list[tuple[int, bytes]]:
        return self.frames_list


class SegmentScan:
    """What a scan found in one segment (mutable while the scan runs)."""

    __slots__ = ("name", "first_seq", "version", "file_bytes", "frames", "valid_bytes")
    __slots__ += ("head", "problem", "torn")

    def __init__(self, name: str, first_seq: int, file_bytes: int, head: bytes) -> None:
        self.name = name
        self.first_seq = first_seq
        self.version = 0
        self.file_bytes = file_bytes
        self.frames = 0  # committed frames (up to the end of the last complete append)
        self.valid_bytes = SEGMENT_HEADER_BYTES  # end of the last complete append
        self.head = head  # chain value after the last committed frame
        self.problem: Problem | None = None  # corruption
        self.torn: Problem | None = None  # unfinished tail (last segment only)

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.frames - 1


class LogScan:
    """What a scan found in a whole log directory."""

    __slots__ = ("directory", "segments", "problem")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.segments: list[SegmentScan] = []
        self.problem: Problem | None = None

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)

    @property
    def head(self) -> bytes:
        return self.segments[-1].head if self.segments else GENESIS_HASH


def scan_segment(
    directory: Path,
    name: str,
    first_seq: int,
    expect_seq: int,
    expect_chain: bytes | None,
    is_last: bool,
    verify_chain: bool,
) -> SegmentScan:
    """Check one segment completely; never modifies it.

    `expect_chain` is the previous segment's head (None: trust the header's chain_in).
    """
    buf = _read_file(directory / name)
    scan = SegmentScan(name, first_seq, len(buf), expect_chain or GENESIS_HASH)
    if first_seq != expect_seq:
        what = "missing segment before it" if first_seq > expect_seq else "overlaps previous"
        why = f"segment starts at seq {first_seq}, expected {expect_seq} ({what})"
        scan.problem = Problem(name, 0, expect_seq, why)
        return scan
    reason = _check_segment_header(buf, name, expect_seq, expect_chain)
    if reason is not None:
        scan.problem = Problem(name, 0, expect_seq, reason)
        return scan
    scan.version = segment_version(buf)
    fmt = _FORMATS[scan.version]
    scan.head = buf[24:56]
    stop = fmt.scan(buf, SEGMENT_HEADER_BYTES, first_seq, scan.head, verify_chain)
    scan.frames = stop.commit_seq - first_seq
    scan.valid_bytes = stop.commit_pos
    scan.head = stop.commit_prev
    if stop.reason is None:
        if stop.commit_pos == len(buf):
            return scan
        # v1: clean frames, but the last append never finished.
        why = "incomplete append: frames after the last end-of-append marker"
        problem = Problem(name, stop.commit_pos, stop.commit_seq, why)
        if is_last:
            scan.torn = problem
        else:
            scan.problem = problem
        return scan
    pos, seq, kind = stop.pos, stop.seq, stop.kind
    torn = None
    if is_last and kind in PHYSICAL:
        torn = fmt.torn_reason(buf, pos, kind, stop.reason, seq)
    if torn is not None:
        why = f"torn tail at offset {pos}: {torn}"
        scan.torn = Problem(name, stop.commit_pos, stop.commit_seq, why)
        return scan
    reason = stop.reason
    if is_last and scan.version == 1:
        reason = format_v1.corrupt_reason(buf, pos, kind, reason, seq)
    scan.problem = Problem(name, pos, seq, reason)
    # Frames before the bad one are good; count them for the report.
    scan.frames = seq - first_seq
    scan.valid_bytes = pos
    scan.head = stop.prev
    return scan


def scan_log(directory: Path, verify_chain: bool = True) -> LogScan:
    """Check a whole log directory; stops at the first problem. Never modifies anything."""
    result = LogScan(directory=directory)
    segments = _list_segments(directory)
    expect_seq, expect_chain = 1, GENESIS_HASH
    for i, (first_seq, name) in enumerate(segments):
        last = i == len(segments) - 1
        scan = scan_segment(
            directory, name, first_seq, expect_seq, expect_chain, last, verify_chain
        )
        result.segments.append(scan)
        if scan.problem is not None:
            result.problem = scan.problem
            break
        expect_seq, expect_chain = scan.last_seq + 1, scan.head
    return result


class Tail(NamedTuple):
    """Where a log folder ends, found by scanning its last segment (chain not recomputed).

    `segments` are (first_seq, name) of every segment; the last one is read only up to
    `valid_bytes` (the end of its last complete append).
    """

    segments: list[tuple[int, str]]
    last_seq: int
    head: bytes
    valid_bytes: int  # of the last segment
    torn: Problem | None
    torn_bytes: int
    log_bytes: int


def scan_tail(path: Path, segments: list[tuple[int, str]]) -> Tail:
    """The tail of the log in `path`; raises LogCorrupt if the last segment is damaged."""
    if not segments:
        return Tail([], 0, GENESIS_HASH, 0, None, 0, 0)
    if segments[0][0] != 1:
        raise LogCorrupt(segments[0][1], 0, 1, f"first segment starts at seq {segments[0][0]}")
    first_seq, name = segments[-1]
    scan = scan_segment(path, name, first_seq, first_seq, None, True, False)
    if scan.problem is not None:
        raise scan.problem.error()
    before = sum((path / n).stat().st_size for _, n in segments[:-1])
    torn_bytes = scan.file_bytes - scan.valid_bytes if scan.torn is not None else 0
    return Tail(
        segments,
        scan.last_seq,
        scan.head,
        scan.valid_bytes,
        scan.torn,
        torn_bytes,
        before + scan.valid_bytes,
    )


# ---------------------------------------------------------------------------------------
# Reading one segment's bytes (`buf` ends exactly after frame `last_seq`).


def _open_segment(buf: bytes, name: str, first_seq: int, prev_head: bytes | None) -> int:
    reason = _check_segment_header(buf, name, first_seq, prev_head)
    if reason is not None:
        raise LogCorrupt(name, 0, first_seq, reason)
    return segment_version(buf)


def iter_segment(
    buf: bytes,
    name: str,
    first_seq: int,
    last_seq: int,
    from_seq: int,
    prev_head: bytes | None,
    max_frames: int,
    verify_chain: bool,
) -> Iterator[list[tuple[int, bytes]]]:
    """Lists of <= max_frames frames max(from_seq, first_seq) .. last_seq of one segment.

    `prev_head`, when given, must equal the segment's chain_in. Returns (as the
    generator's value) the chain after the last frame when `verify_chain`, else None.
    """
    version = _open_segment(buf, name, first_seq, prev_head)
    start = max(from_seq, first_seq)
    if version == 1:
        pos, prev = yield from format_v1.iter_frames(
            buf, name, SEGMENT_HEADER_BYTES, first_seq, buf[24:56], start, last_seq + 1,
            max_frames, verify_chain,
        )  # fmt: skip
    else:
        out: list[tuple[int, bytes]] = []
        blocks = _v2_blocks(buf, name, first_seq, last_seq, start, verify_chain)
        while True:
            try:
                block = next(blocks)
            except StopIteration as done:
                pos, prev = done.value
                break
            skip = max(0, start - block.first_seq)
            data, off, seq = block.data, block.offsets, block.first_seq
            for i in range(skip, block.count):
                out.append((seq + i, bytes(data[off[i] : off[i + 1]])))
                if len(out) >= max_frames:
                    yield out
                    out = []
        if out:
            yield out
    if pos != len(buf):
        raise LogCorrupt(name, pos, last_seq + 1, f"{len(buf) - pos} unexpected bytes after it")
    return prev if verify_chain else None


def _v2_blocks(
    buf: bytes, name: str, first_seq: int, last_seq: int, start: int, verify_chain: bool
) -> Iterator[Block]:
    pos, seq, prev = SEGMENT_HEADER_BYTES, first_seq, buf[24:56]
    if start > first_seq:
        pos, seq, skipped = format_v2.skip_blocks(buf, name, pos, seq, start)
        prev = skipped or prev
    return (yield from format_v2.iter_blocks(buf, name, pos, seq, prev, last_seq + 1, verify_chain))


def iter_segment_blocks(
    buf: bytes,
    name: str,
    first_seq: int,
    last_seq: int,
    from_seq: int,
    prev_head: bytes | None,
    verify_chain: bool,
    max_frames: int = 4096,
) -> Iterator[Block | FrameBatch]:
    """The segment's frames from `from_seq` on, a block at a time (v2) or in batches of
    `max_frames` (v1). A v2 block may start before `from_seq` (its first frames are not
    asked for). Returns the chain after the last frame when `verify_chain`, else None."""
    version = _open_segment(buf, name, first_seq, prev_head)
    start = max(from_seq, first_seq)
    if version == 1:
        frames = iter_segment_v1(buf, name, first_seq, last_seq, start, max_frames, verify_chain)
        while True:
            try:
                batch = next(frames)
            except StopIteration as done:
                pos, prev = done.value
                break
            yield FrameBatch(batch[0][0], len(batch), batch)
    else:
        pos, prev = yield from _v2_blocks(buf, name, first_seq, last_seq, start, verify_chain)
    if pos != len(buf):
        raise LogCorrupt(name, pos, last_seq + 1, f"{len(buf) - pos} unexpected bytes after it")
    return prev if verify_chain else None


def iter_segment_v1(buf, name, first_seq, last_seq, start, max_frames, verify_chain):
    return format_v1.iter_frames(
        buf, name, SEGMENT_HEADER_BYTES, first_seq, buf[24:56], start, last_seq + 1,
        max_frames, verify_chain,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Read-only tools (never modify the directory, never take the lock).


def verify_log(directory: str | os.PathLike[str], *, verify_chain: bool = True) -> VerifyReport:
    """Check every segment, frame, seq and chain link of a log; modify nothing.

    Counts cover the frames before the first problem. An unfinished tail of the last
    segment is reported in `torn_tail` (not as a problem): the writer cuts it on open.
    """
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"no log directory at {path}")
    scan = scan_log(path, verify_chain)
    last = scan.segments[-1] if scan.segments else None
    torn = last.torn if last is not None else None
    return VerifyReport(
        directory=str(path),
        segments=len(scan.segments),
        frames=scan.frames,
        last_seq=scan.frames,
        head_hash=scan.head,
        problem=scan.problem,
        torn_tail=torn,
        torn_tail_bytes=(last.file_bytes - last.valid_bytes) if torn and last else 0,
    )


def inspect_log(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON-ready summary of a log: segments (first/last seq, frames, bytes), head hash."""
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"no log directory at {path}")
    scan = scan_log(path, verify_chain=True)
    last = scan.segments[-1] if scan.segments else None
    torn = last.torn if last is not None else None
    return {
        "directory": str(path),
        "segment_count": len(scan.segments),
        "segments": [
            {
                "name": s.name,
                "format_version": s.version,
                "first_seq": s.first_seq,
                "last_seq": s.last_seq,
                "frames": s.frames,
                "bytes": s.file_bytes,
            }
            for s in scan.segments
        ],
        "frames": scan.frames,
        "first_seq": 1 if scan.frames else None,
        "last_seq": scan.frames,
        "bytes": sum(s.file_bytes for s in scan.segments),
        "head_hash": scan.head.hex(),
        "ok": scan.problem is None,
        "problem": scan.problem.as_dict() if scan.problem else None,
        "torn_tail": torn.as_dict() if torn else None,
    }


def read_log_batches(
    directory: str | os.PathLike[str],
    from_seq: int = 1,
    max_frames: int = 4096,
    *,
    verify_chain: bool = True,
) -> Iterator[list[tuple[int, bytes]]]:
    """Frames of a log directory in batches, without the writer lock; modifies nothing.

    For other processes (audit, replay of a live or closed log). Stops before an
    unfinished tail of the last segment (so it never returns part of an append); raises
    LogCorrupt for anything else. (`adapters.log.reader.FileLogReader` is the same as a
    `LogReader`.)
    """
    _check_read_args(from_seq, max_frames)
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"no log directory at {path}")
    return iter_log(path, from_seq, max_frames, verify_chain, None)


def _segments_to_read(
    path: Path, from_seq: int, tail: Tail
) -> Iterator[tuple[str, int, int, bytes]]:
    """(name, first_seq, last_seq, bytes) of the segments holding frames >= from_seq."""
    segments = tail.segments
    for i, (first_seq, name) in enumerate(segments):
        if i + 1 < len(segments):
            last_seq = segments[i + 1][0] - 1
            if last_seq >= from_seq:
                yield name, first_seq, last_seq, _read_file(path / name)
        elif tail.last_seq >= from_seq:
            yield name, first_seq, tail.last_seq, _read_file(path / name, tail.valid_bytes)


def iter_log(
    path: Path, from_seq: int, max_frames: int, verify_chain: bool, tail: Tail | None
) -> Iterator[list[tuple[int, bytes]]]:
    """Frames from `from_seq` up to `tail` (found now when None)."""
    if tail is None:
        tail = scan_tail(path, _list_segments(path))
    prev_head: bytes | None = None
    for name, first_seq, last_seq, buf in _segments_to_read(path, from_seq, tail):
        prev_head = yield from iter_segment(
            buf, name, first_seq, last_seq, from_seq, prev_head, max_frames, verify_chain
        )


def iter_log_blocks(
    path: Path, from_seq: int, verify_chain: bool, tail: Tail | None, max_frames: int = 4096
) -> Iterator[Block | FrameBatch]:
    """Blocks (or v1 frame batches) from `from_seq` up to `tail` (found now when None)."""
    if tail is None:
        tail = scan_tail(path, _list_segments(path))
    prev_head: bytes | None = None
    for name, first_seq, last_seq, buf in _segments_to_read(path, from_seq, tail):
        prev_head = yield from iter_segment_blocks(
            buf, name, first_seq, last_seq, from_seq, prev_head, verify_chain, max_frames
        )
