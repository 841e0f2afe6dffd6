"""Segment and frame format of the file log: encoding, scanning, lock-free reading.

Owns: the on-disk layout described in `adapters.log.filelog` (segment header, frame header,
END_OF_APPEND flag), scanning segments for damage (torn tail vs corruption, named by
segment and offset), `verify_log`, `inspect_log` and `read_log_batches` (readers that take
no writer lock and stop before an unfinished tail).

Invariants: reading never modifies a file; the chain is recomputed exactly as
`adapters.log.ports.chain_hash` defines it. A torn tail (`_torn_reason`) is only ever an
incomplete frame, frames after the last END_OF_APPEND, or a zero-filled tail, in the last
segment; a complete frame whose crc fails is corruption wherever it is.
Limits: `MAX_PAYLOAD_BYTES` per frame, `MAX_FRAMES_PER_APPEND` per append.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import Any, NamedTuple

from adapters.log.ports import (
    GENESIS_HASH,
    HASH_BYTES,
    LogCorrupt,
)

MAGIC = b"LINGLOG\x00"
FORMAT_VERSION = 1
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
MAX_FRAMES_PER_APPEND = 65_536
LOCK_NAME = "LOCK"
SEGMENT_SUFFIX = ".seg"
TMP_SUFFIX = ".tmp"

_SEG_HEADER = struct.Struct("<8sIIQ32sII")
SEGMENT_HEADER_BYTES = _SEG_HEADER.size  # 64
_FRAME = struct.Struct("<IIQ")  # crc32, flags|length, seq; the 32-byte chain follows
FRAME_HEADER_BYTES = _FRAME.size + HASH_BYTES  # 48
_FLAGS_LEN = struct.Struct("<IQ")
END_OF_APPEND = 0x8000_0000
_LEN_MASK = 0x7FFF_FFFF


def _fsync_file(fd: int) -> None:
    """Make a file's data (and size) durable. Module-level so tests can see the seam."""
    os.fdatasync(fd)


def _fsync_dir(fd: int) -> None:
    """Make a directory's entries durable."""
    os.fsync(fd)


def segment_name(first_seq: int) -> str:
    """The file name of the segment whose first frame has seq `first_seq`."""
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


class Problem:
    """Where and why a log failed a check (immutable by convention; compares by value)."""

    def __init__(self, segment: str, offset: int, seq: int, reason: str) -> None:
        self.segment = segment
        self.offset = offset
        self.seq = seq
        self.reason = reason

    def error(self) -> LogCorrupt:
        return LogCorrupt(self.segment, self.offset, self.seq, self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "offset": self.offset,
            "seq": self.seq,
            "reason": self.reason,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.segment, self.offset, self.seq, self.reason))

    def __repr__(self) -> str:
        return (
            f"Problem(segment={self.segment!r}, offset={self.offset}, seq={self.seq}, "
            f"reason={self.reason!r})"
        )


class VerifyReport(NamedTuple):
    """Result of `verify_log`: counts up to the first problem, and that problem if any.

    `torn_tail` describes an unfinished tail of the last segment (what the writer would
    cut off on open); it is not a problem. `ok` is True when nothing is corrupt.
    """

    directory: str
    segments: int
    frames: int
    last_seq: int
    head_hash: bytes
    problem: Problem | None
    torn_tail: Problem | None = None
    torn_tail_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


class _SegmentScan:
    """What a scan found in one segment (mutable while the scan runs)."""

    __slots__ = (
        "name",
        "first_seq",
        "file_bytes",
        "frames",
        "valid_bytes",
        "head",
        "problem",
        "torn",
    )

    def __init__(self, name: str, first_seq: int, file_bytes: int, head: bytes) -> None:
        self.name = name
        self.first_seq = first_seq
        self.file_bytes = file_bytes
        self.frames = 0  # committed frames (up to the last END_OF_APPEND)
        self.valid_bytes = SEGMENT_HEADER_BYTES  # end of the last committed frame
        self.head = head  # chain value after the last committed frame
        self.problem: Problem | None = None  # corruption
        self.torn: Problem | None = None  # unfinished tail (last segment only)

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.frames - 1


class _LogScan:
    """What a scan found in a whole log directory."""

    __slots__ = ("directory", "segments", "problem")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.segments: list[_SegmentScan] = []
        self.problem: Problem | None = None

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)

    @property
    def head(self) -> bytes:
        return self.segments[-1].head if self.segments else GENESIS_HASH


# ---------------------------------------------------------------------------------------
# Low-level helpers shared by the writer and the read-only tools.


def _list_segments(directory: Path) -> list[tuple[int, str]]:
    """(first_seq, name) of every segment file, sorted by first seq."""
    found = []
    for entry in os.scandir(directory):
        name = entry.name
        if len(name) == 24 and name.endswith(SEGMENT_SUFFIX) and _is_digits(name[:20]):
            found.append((int(name[:20]), name))
    found.sort()
    return found


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _read_file(path: Path, nbytes: int | None = None) -> bytes:
    """The first `nbytes` bytes of a file (all of it when None), in as few reads as possible."""
    with open(path, "rb", buffering=0) as f:
        if nbytes is None:
            return f.read()
        chunks = []
        remaining = nbytes
        while remaining > 0:
            chunk = f.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _encode_segment_header(first_seq: int, chain_in: bytes) -> bytes:
    head = _SEG_HEADER.pack(MAGIC, FORMAT_VERSION, 0, first_seq, chain_in, 0, 0)
    crc = zlib.crc32(head[:56])
    return head[:56] + struct.pack("<II", crc, 0)


def _check_segment_header(
    buf: bytes, name: str, expect_seq: int, expect_chain: bytes | None
) -> str | None:
    """Why the segment header in `buf` is wrong, or None when it is right."""
    if len(buf) < SEGMENT_HEADER_BYTES:
        return f"segment header incomplete: {len(buf)} of {SEGMENT_HEADER_BYTES} bytes"
    magic, version, _, first_seq, chain_in, crc, pad = _SEG_HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        return f"bad segment magic {magic!r}"
    if zlib.crc32(buf[:56]) != crc:
        return "segment header crc32 mismatch"
    if pad != 0:
        return "segment header reserved bytes are not zero"
    if version != FORMAT_VERSION:
        return f"unsupported segment format version {version}"
    if first_seq != expect_seq:
        return f"segment header says first seq {first_seq}, expected {expect_seq}"
    if expect_chain is not None and chain_in != expect_chain:
        return "segment header chain_in does not match the previous segment's head hash"
    return None


# Kinds of a stop in a scan. A "physical" stop may be a torn write (see `_torn_reason`);
# a "logical" one (wrong seq, wrong chain in a crc-valid frame) never is.
_INCOMPLETE_HEADER = "incomplete_header"  # the file ends inside a frame header
_INCOMPLETE = "incomplete"  # the header's length reaches past the end of the file
_BAD_LENGTH = "bad_length"  # a complete header with an impossible length
_BAD_CRC = "bad_crc"  # a complete frame whose crc32 fails
_PHYSICAL = (_INCOMPLETE_HEADER, _INCOMPLETE, _BAD_LENGTH, _BAD_CRC)
_LOGICAL = "logical"
SECTOR_BYTES = 512  # the smallest unit a file system zero-fills after a crash


def _scan_frames(
    buf: bytes, pos: int, seq: int, prev: bytes, verify_chain: bool
) -> tuple[int, int, bytes, int, int, bytes, str | None, str | None]:
    """Check frames from `pos` to the end of `buf`, stopping at the first bad one.

    Returns (pos, seq, prev, commit_pos, commit_seq, commit_prev, reason, kind): where the
    scan stopped, the seq expected there and the chain value before it; the end, the next
    seq and the chain value after the last END_OF_APPEND frame; and why the scan stopped
    (reason None when it reached the end of `buf` cleanly; kind one of the kinds above).
    """
    end = len(buf)
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    commit_pos, commit_seq, commit_prev = pos, seq, prev
    reason: str | None = None
    kind: str | None = None
    with memoryview(buf) as mv:
        while pos < end:
            if end - pos < FRAME_HEADER_BYTES:
                reason, kind = f"incomplete frame header: {end - pos} bytes", _INCOMPLETE_HEADER
                break
            crc, flags_len, fseq = unpack(buf, pos)
            n = flags_len & _LEN_MASK
            fend = pos + FRAME_HEADER_BYTES + n
            if n > MAX_PAYLOAD_BYTES:
                reason = f"frame length {n} exceeds the {MAX_PAYLOAD_BYTES} byte limit"
                kind = _BAD_LENGTH
                break
            if fend > end:
                present = end - pos - FRAME_HEADER_BYTES
                reason = f"incomplete frame: payload of {n} bytes, {present} present"
                kind = _INCOMPLETE
                break
            if crc32(mv[pos + 4 : fend]) != crc:
                reason, kind = "frame crc32 mismatch", _BAD_CRC
                break
            if fseq != seq:
                reason, kind = f"frame has seq {fseq} where seq {seq} was expected", _LOGICAL
                break
            chain = buf[pos + 16 : pos + 48]
            if (
                verify_chain
                and blake2b(prev + mv[pos + 48 : fend], digest_size=32).digest() != chain
            ):
                reason, kind = "hash chain mismatch (payload or chain altered)", _LOGICAL
                break
            prev = chain
            seq += 1
            pos = fend
            if flags_len & END_OF_APPEND:
                commit_pos, commit_seq, commit_prev = pos, seq, prev
    return pos, seq, prev, commit_pos, commit_seq, commit_prev, reason, kind


def _valid_frame_after(buf: bytes, start: int, min_seq: int) -> bool:
    """Whether a crc-valid frame with a plausible seq starts anywhere after `start`."""
    end = len(buf)
    max_seq = min_seq + (end - start) // FRAME_HEADER_BYTES
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    with memoryview(buf) as mv:
        for off in range(start + 1, end - FRAME_HEADER_BYTES + 1):
            crc, flags_len, fseq = unpack(buf, off)
            if fseq < min_seq or fseq > max_seq:
                continue
            n = flags_len & _LEN_MASK
            fend = off + FRAME_HEADER_BYTES + n
            if n > MAX_PAYLOAD_BYTES or fend > end:
                continue
            if crc32(mv[off + 4 : fend]) == crc:
                return True
    return False


def _zero_tail_start(buf: bytes, pos: int) -> int:
    """The smallest offset >= pos from which `buf` holds only zero bytes (len(buf): none)."""
    return max(pos, len(buf.rstrip(b"\0")))


def _length_was_damaged(buf: bytes, pos: int) -> bool:
    """Whether the frame at `pos` is complete up to the end of `buf` but for its length field.

    A frame whose length field says it reaches past the end of the file is usually a torn
    write; but a flipped length bit in the file's last (complete) frame looks the same.
    The crc tells them apart: it matches when the length is put back to what is present.
    """
    crc, flags_len, fseq = _FRAME.unpack_from(buf, pos)
    present = len(buf) - pos - FRAME_HEADER_BYTES
    if present > MAX_PAYLOAD_BYTES:
        return False
    for flags in (flags_len & END_OF_APPEND, flags_len & END_OF_APPEND ^ END_OF_APPEND):
        head = _FLAGS_LEN.pack(present | flags, fseq)
        with memoryview(buf) as mv:
            if zlib.crc32(mv[pos + 16 :], zlib.crc32(head)) == crc:
                return True
    return False


def _torn_reason(buf: bytes, pos: int, kind: str, reason: str, seq: int) -> str | None:
    """Why the bad frame at `pos` (the last segment's first bad one) is a torn write, or None.

    A torn write is what an interrupted append leaves past the last complete frame: an
    incomplete frame (the file ends inside it), or a zero-filled tail (some file systems
    extend the file before its data reach the disk: the file then holds the frame's bytes
    up to a sector boundary and zeros after it). Anything else, in particular a complete
    frame whose crc32 fails, is corruption: it is never cut off.
    """
    end = len(buf)
    zero_from = _zero_tail_start(buf, pos)
    if zero_from == pos:
        return f"zero-filled tail of {end - pos} bytes"
    if kind == _INCOMPLETE_HEADER:
        return reason
    if kind == _INCOMPLETE:
        if _length_was_damaged(buf, pos) or _valid_frame_after(buf, pos, seq):
            return None
        return reason
    if kind == _BAD_CRC:
        _, flags_len, _ = _FRAME.unpack_from(buf, pos)
        fend = pos + FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
        sector = -(-zero_from // SECTOR_BYTES) * SECTOR_BYTES
        if sector < fend:  # written up to a sector boundary inside the frame, zeros after
            return f"{reason}: zero-filled from offset {sector} on (an unfinished write)"
    return None


def _scan_segment(
    directory: Path,
    name: str,
    first_seq: int,
    expect_seq: int,
    expect_chain: bytes | None,
    is_last: bool,
    verify_chain: bool,
) -> _SegmentScan:
    """Check one segment completely; never modifies it.

    `expect_chain` is the previous segment's head (None: trust the header's chain_in).
    """
    buf = _read_file(directory / name)
    scan = _SegmentScan(name, first_seq, len(buf), expect_chain or GENESIS_HASH)
    if first_seq != expect_seq:
        what = "missing segment before it" if first_seq > expect_seq else "overlaps previous"
        scan.problem = Problem(
            name,
            0,
            expect_seq,
            f"segment starts at seq {first_seq}, expected {expect_seq} ({what})",
        )
        return scan
    reason = _check_segment_header(buf, name, expect_seq, expect_chain)
    if reason is not None:
        scan.problem = Problem(name, 0, expect_seq, reason)
        return scan
    chain_in = buf[24:56]
    scan.head = chain_in
    pos, seq, prev, commit_pos, commit_seq, commit_prev, reason, kind = _scan_frames(
        buf, SEGMENT_HEADER_BYTES, first_seq, chain_in, verify_chain
    )
    scan.frames = commit_seq - first_seq
    scan.valid_bytes = commit_pos
    scan.head = commit_prev
    if reason is None:
        if commit_pos == len(buf):
            return scan
        # Clean frames, but the last append never finished.
        reason = "incomplete append: frames after the last end-of-append marker"
        if is_last:
            scan.torn = Problem(name, commit_pos, commit_seq, reason)
        else:
            scan.problem = Problem(name, commit_pos, commit_seq, reason)
        return scan
    torn = _torn_reason(buf, pos, kind, reason, seq) if is_last and kind in _PHYSICAL else None
    if torn is not None:
        scan.torn = Problem(name, commit_pos, commit_seq, f"torn tail at offset {pos}: {torn}")
        return scan
    if is_last and kind == _INCOMPLETE and _valid_frame_after(buf, pos, seq):
        reason += " (and valid frames follow it)"
    elif is_last and kind == _INCOMPLETE:
        reason = "frame length field damaged (the frame is complete up to the end of the file)"
    scan.problem = Problem(name, pos, seq, reason)
    # Frames before the bad one are good; count them for the report.
    scan.frames = seq - first_seq
    scan.valid_bytes = pos
    scan.head = prev
    return scan


def _scan_log(directory: Path, verify_chain: bool = True) -> _LogScan:
    """Check a whole log directory; stops at the first problem. Never modifies anything."""
    result = _LogScan(directory=directory)
    segments = _list_segments(directory)
    expect_seq, expect_chain = 1, GENESIS_HASH
    for i, (first_seq, name) in enumerate(segments):
        scan = _scan_segment(
            directory,
            name,
            first_seq,
            expect_seq,
            expect_chain,
            i == len(segments) - 1,
            verify_chain,
        )
        result.segments.append(scan)
        if scan.problem is not None:
            result.problem = scan.problem
            break
        expect_seq, expect_chain = scan.last_seq + 1, scan.head
    return result


def _read_frames(
    buf: bytes,
    name: str,
    pos: int,
    seq: int,
    prev: bytes,
    stop_seq: int,
    max_frames: int,
    verify_chain: bool,
    out: list[tuple[int, bytes]],
) -> tuple[int, int, bytes]:
    """Append up to `max_frames` frames (seq < stop_seq) from `buf` at `pos` to `out`.

    Every frame's crc and seq are checked, and its chain link too when `verify_chain`.
    Returns the new (pos, seq, prev). Raises LogCorrupt at the first bad frame.
    """
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    append = out.append
    end = len(buf)
    stop = min(stop_seq, seq + max_frames)
    with memoryview(buf) as mv:
        while seq < stop:
            if end - pos < FRAME_HEADER_BYTES:
                raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged frame")
            crc, flags_len, fseq = unpack(buf, pos)
            fend = pos + FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
            if fend > end or crc32(mv[pos + 4 : fend]) != crc:
                raise LogCorrupt(name, pos, seq, "frame crc32 mismatch or incomplete frame")
            if fseq != seq:
                raise LogCorrupt(
                    name, pos, seq, f"frame has seq {fseq} where seq {seq} was expected"
                )
            payload = buf[pos + 48 : fend]
            if verify_chain:
                chain = buf[pos + 16 : pos + 48]
                if blake2b(prev + payload, digest_size=32).digest() != chain:
                    raise LogCorrupt(
                        name, pos, seq, "hash chain mismatch (payload or chain altered)"
                    )
                prev = chain
            append((seq, payload))
            seq += 1
            pos = fend
    return pos, seq, prev


def _skip_frames(buf: bytes, name: str, pos: int, seq: int, to_seq: int) -> tuple[int, bytes]:
    """Jump over frames with seq < to_seq; returns (pos, chain of the last skipped frame)."""
    unpack = _FRAME.unpack_from
    end = len(buf)
    prev = b""
    while seq < to_seq:
        if end - pos < FRAME_HEADER_BYTES:
            raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged frame")
        _, flags_len, fseq = unpack(buf, pos)
        if fseq != seq:
            raise LogCorrupt(name, pos, seq, f"frame has seq {fseq} where seq {seq} was expected")
        prev = buf[pos + 16 : pos + 48]
        pos += FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
        seq += 1
    return pos, prev


def _iter_segment(
    buf: bytes,
    name: str,
    first_seq: int,
    last_seq: int,
    from_seq: int,
    prev_head: bytes | None,
    max_frames: int,
    verify_chain: bool,
) -> Iterator[list[tuple[int, bytes]]]:
    """Batches of frames max(from_seq, first_seq) .. last_seq of one segment's bytes.

    `buf` must end exactly after frame `last_seq`. `prev_head`, when given, must equal the
    segment's chain_in. Returns (as the generator's value) the chain value of the last
    frame when `verify_chain`, else None.
    """
    reason = _check_segment_header(buf, name, first_seq, prev_head)
    if reason is not None:
        raise LogCorrupt(name, 0, first_seq, reason)
    prev = buf[24:56]
    pos, seq = SEGMENT_HEADER_BYTES, first_seq
    if from_seq > first_seq:
        pos, prev = _skip_frames(buf, name, pos, seq, from_seq)
        seq = from_seq
    stop_seq = last_seq + 1
    while seq < stop_seq:
        out: list[tuple[int, bytes]] = []
        pos, seq, prev = _read_frames(
            buf, name, pos, seq, prev, stop_seq, max_frames, verify_chain, out
        )
        yield out
    if pos != len(buf):
        raise LogCorrupt(name, pos, seq, f"{len(buf) - pos} unexpected bytes after seq {last_seq}")
    return prev if verify_chain else None


def _check_read_args(from_seq: int, max_frames: int) -> None:
    if from_seq < 1:
        raise ValueError(f"from_seq must be >= 1, got {from_seq}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")


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
    scan = _scan_log(path, verify_chain)
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
    scan = _scan_log(path, verify_chain=True)
    last = scan.segments[-1] if scan.segments else None
    torn = last.torn if last is not None else None
    return {
        "directory": str(path),
        "segment_count": len(scan.segments),
        "segments": [
            {
                "name": s.name,
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
    scan = _scan_segment(path, name, first_seq, first_seq, None, True, False)
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
    return _iter_log_dir(path, from_seq, max_frames, verify_chain, None)


def _iter_log_dir(
    path: Path, from_seq: int, max_frames: int, verify_chain: bool, tail: Tail | None
) -> Iterator[list[tuple[int, bytes]]]:
    """Frames from `from_seq` up to `tail` (found now when None)."""
    if tail is None:
        tail = scan_tail(path, _list_segments(path))
    segments = tail.segments
    prev_head: bytes | None = None
    for i, (first_seq, name) in enumerate(segments):
        if i + 1 < len(segments):
            last_seq = segments[i + 1][0] - 1
            if last_seq < from_seq:
                continue
            buf = _read_file(path / name)
        else:
            last_seq = tail.last_seq
            if last_seq < from_seq:
                continue
            buf = _read_file(path / name, tail.valid_bytes)
        prev_head = yield from _iter_segment(
            buf, name, first_seq, last_seq, from_seq, prev_head, max_frames, verify_chain
        )


# ---------------------------------------------------------------------------------------
# The writer.
