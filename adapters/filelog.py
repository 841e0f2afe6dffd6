"""The embedded event log: a directory of append-only segment files with a hash chain.

Owns: the on-disk format of the file log, its single-writer lock, recovery of a torn tail
on open, and the read-only tools `verify_log`, `inspect_log` and `read_log_batches`.

On-disk format (all integers little-endian):

    directory/
      LOCK                        flock'ed by the one writer; holds its pid (diagnostics)
      00000000000000000001.seg    segment files, named by the seq of their first frame
      00000000000000004097.seg
      ...

    segment header, 64 bytes:
      0  8s   magic b"LINGLOG\\0"
      8  u32  format version (1)
      12 u32  reserved, 0
      16 u64  first_seq: seq of the first frame in this segment (equals the file name)
      24 32s  chain_in: the hash-chain value entering this segment (genesis for seq 1)
      56 u32  crc32 of bytes 0..55
      60 u32  reserved, 0

    frame, 48-byte header + payload, frames packed back to back after the segment header:
      0  u32  crc32 of bytes 4 .. end of payload (flags/length, seq, chain, payload)
      4  u32  bit 31: END_OF_APPEND (set on the last frame of each `append` call);
              bits 0..30: payload length in bytes
      8  u64  seq
      16 32s  chain = BLAKE2b(previous chain || payload, digest_size=32)
      48 ...  payload

Invariants:
- Seqs start at 1 and are contiguous across segments; a segment's `first_seq` is the
  previous segment's last seq + 1 and its `chain_in` the previous segment's head.
- One `append` call writes all its frames into one segment with one write pass and one
  fsync (fdatasync), and returns only after the fsync: that return is the acknowledgement.
  The last frame of every append carries END_OF_APPEND, so an append is all-or-nothing
  across a crash: recovery cuts the log back to the last END_OF_APPEND frame.
- Segments are created as `<name>.tmp` (header written and fsynced), renamed into place
  and the directory fsynced, before any frame goes into them. A new segment is started
  when the current one holds frames and the next append would take it past
  `segment_bytes`; a single append larger than that gets a segment of its own.
- Recovery on open (the writer only): every segment is read and every frame's crc, seq
  and chain checked. In the LAST segment, a first bad frame that fails only physically
  (incomplete header or payload, impossible length, crc mismatch) and after which no
  crc-valid frame starts anywhere is a torn tail: the segment is truncated back to the
  last END_OF_APPEND frame before it and the truncation fsynced. Anything else (a bad frame
  followed by a valid one, a crc-valid frame with the wrong seq or chain, any problem in
  an earlier segment, a missing segment) raises `LogCorrupt(segment, offset, seq, reason)`.
  Consequences, stated plainly: damage confined to the very last append of the log is
  indistinguishable from a torn write and is cut off rather than reported; and whole
  segments missing from the END of the log cannot be noticed from the directory alone
  (compare `last_seq`/`head_hash` with an external anchor: a snapshot, a published head).
- An I/O error while appending (write, fsync, creating a segment) puts the log into the
  failed state: that append and every later one raise `LogFailed`. After a failed fsync
  the page cache cannot be trusted, so the only way on is to reopen (normally: restart).
- One writer per directory, enforced by `fcntl.flock` on LOCK (`LogLocked` otherwise).
  Readers inside the writer's process use `FileLog.read*` and see acknowledged frames
  only; other processes may use `read_log_batches`/`verify_log`/`inspect_log`, which
  never modify anything and stop at (do not report as corrupt) an unfinished tail.

Limits: payloads up to `MAX_PAYLOAD_BYTES` (16 MiB), appends up to
`MAX_FRAMES_PER_APPEND` (65,536) frames; both can be lowered per log. Reading loads one
whole segment at a time into memory (64 MiB by default). Linux/POSIX only (fcntl).
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import itertools
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from hashlib import blake2b
from pathlib import Path
from typing import Any, NamedTuple

from adapters.ports import (
    GENESIS_HASH,
    HASH_BYTES,
    LogCorrupt,
    LogError,
    LogFailed,
    LogLocked,
)

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "FRAME_HEADER_BYTES",
    "MAX_FRAMES_PER_APPEND",
    "MAX_PAYLOAD_BYTES",
    "SEGMENT_HEADER_BYTES",
    "FileLog",
    "LogCorrupt",
    "LogError",
    "LogFailed",
    "LogLocked",
    "Problem",
    "VerifyReport",
    "inspect_log",
    "read_log_batches",
    "segment_name",
    "verify_log",
]

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

# Problem kinds: a "physical" problem may be a torn write; a "logical" one never is.
_PHYSICAL = "physical"
_LOGICAL = "logical"


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


def _scan_frames(
    buf: bytes, pos: int, seq: int, prev: bytes, verify_chain: bool
) -> tuple[int, int, bytes, int, int, bytes, str | None, str | None]:
    """Check frames from `pos` to the end of `buf`, stopping at the first bad one.

    Returns (pos, seq, prev, commit_pos, commit_seq, commit_prev, reason, kind): where the
    scan stopped, the seq expected there and the chain value before it; the end, the next
    seq and the chain value after the last END_OF_APPEND frame; and why the scan stopped
    (reason None when it reached the end of `buf` cleanly).
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
                reason, kind = f"incomplete frame header: {end - pos} bytes", _PHYSICAL
                break
            crc, flags_len, fseq = unpack(buf, pos)
            n = flags_len & _LEN_MASK
            fend = pos + FRAME_HEADER_BYTES + n
            if n > MAX_PAYLOAD_BYTES:
                reason = f"frame length {n} exceeds the {MAX_PAYLOAD_BYTES} byte limit"
                kind = _PHYSICAL
                break
            if fend > end:
                present = end - pos - FRAME_HEADER_BYTES
                reason = f"incomplete frame: payload of {n} bytes, {present} present"
                kind = _PHYSICAL
                break
            if crc32(mv[pos + 4 : fend]) != crc:
                reason, kind = "frame crc32 mismatch", _PHYSICAL
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
    if is_last and kind == _PHYSICAL and not _valid_frame_after(buf, pos, seq):
        scan.torn = Problem(name, commit_pos, commit_seq, f"torn tail at offset {pos}: {reason}")
        return scan
    if is_last and kind == _PHYSICAL:
        reason += " (and valid frames follow it)"
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
                raise LogCorrupt(name, pos, seq, f"frame has seq {fseq} where {seq} was expected")
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
            raise LogCorrupt(name, pos, seq, f"frame has seq {fseq} where {seq} was expected")
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
    LogCorrupt for anything else.
    """
    _check_read_args(from_seq, max_frames)
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"no log directory at {path}")
    return _iter_log_dir(path, from_seq, max_frames, verify_chain)


def _iter_log_dir(
    path: Path, from_seq: int, max_frames: int, verify_chain: bool
) -> Iterator[list[tuple[int, bytes]]]:
    segments = _list_segments(path)
    if segments and segments[0][0] != 1:
        raise LogCorrupt(segments[0][1], 0, 1, f"first segment starts at seq {segments[0][0]}")
    prev_head: bytes | None = None
    for i, (first_seq, name) in enumerate(segments):
        if i + 1 < len(segments):
            last_seq = segments[i + 1][0] - 1
            if last_seq < from_seq:
                continue
            buf = _read_file(path / name)
        else:
            # The last segment may end in an unfinished append: find where to stop.
            scan = _scan_segment(path, name, first_seq, first_seq, None, True, False)
            if scan.problem is not None:
                raise scan.problem.error()
            last_seq = scan.last_seq
            if last_seq < from_seq:
                continue
            buf = _read_file(path / name, scan.valid_bytes)
        prev_head = yield from _iter_segment(
            buf, name, first_seq, last_seq, from_seq, prev_head, max_frames, verify_chain
        )


# ---------------------------------------------------------------------------------------
# The writer.


class _Segment:
    """The writer's record of one segment file."""

    __slots__ = ("name", "first_seq", "last_seq", "size_bytes")

    def __init__(self, name: str, first_seq: int, last_seq: int, size_bytes: int) -> None:
        self.name = name
        self.first_seq = first_seq
        self.last_seq = last_seq  # first_seq - 1 while empty
        self.size_bytes = size_bytes  # committed bytes (header + acknowledged frames)


class FileLog:
    """The single writer of a segmented, hash-chained, fsynced log directory.

    `append` is thread-safe (a lock serialises writers inside the process); reads run
    concurrently with appends and see acknowledged frames only.

    Arguments: `segment_bytes` (start a new segment when the next append would take the
    current one past this), `fsync` (False: no fsync at all, for tests and throwaway
    benchmarks only: then a return means "in the page cache", safe against a process
    crash but not a power loss), `max_payload_bytes` / `max_frames_per_append` (lower the
    format limits), `fsync_fn` (called with a file descriptor instead of fdatasync/fsync;
    the seam where tests inject I/O errors; the module-level `_fsync_file`/`_fsync_dir`
    are the defaults and are looked up on every call).

    After opening, `recovered_tail` describes what recovery cut off the last segment
    (None when nothing) and `recovered_tail_bytes` how many bytes that was.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync: bool = True,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_frames_per_append: int = MAX_FRAMES_PER_APPEND,
        fsync_fn: Callable[[int], None] | None = None,
    ) -> None:
        if segment_bytes < SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES:
            raise ValueError(
                f"segment_bytes must be >= {SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES}"
            )
        if not 0 <= max_payload_bytes <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"max_payload_bytes must be in 0..{MAX_PAYLOAD_BYTES}")
        if not 1 <= max_frames_per_append <= MAX_FRAMES_PER_APPEND:
            raise ValueError(f"max_frames_per_append must be in 1..{MAX_FRAMES_PER_APPEND}")
        self._directory = Path(directory)
        self._segment_bytes = segment_bytes
        self._fsync_enabled = fsync
        self._max_payload_bytes = max_payload_bytes
        self._max_frames = max_frames_per_append
        self._fsync_fn = fsync_fn
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._closed = False
        self._segments: list[_Segment] = []
        self._segment_seqs: list[int] = []
        self._fd = -1
        self._dir_fd = -1
        self._lock_fd = -1
        self._last_seq = 0
        self._head = GENESIS_HASH
        self.recovered_tail: Problem | None = None  # what open cut off, if anything
        self.recovered_tail_bytes = 0
        try:
            self._open()
        except BaseException:
            self._close_fds()
            raise

    # -- opening ---------------------------------------------------------------------

    def _open(self) -> None:
        created = not self._directory.exists()
        self._directory.mkdir(parents=True, exist_ok=True)
        if created and self._fsync_enabled:
            self._sync_dir(self._directory.parent)
        self._dir_fd = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY)
        self._take_lock()
        for entry in os.scandir(self._directory):
            if entry.name.endswith(SEGMENT_SUFFIX + TMP_SUFFIX):
                os.unlink(entry.path)  # a segment whose creation never completed
        scan = _scan_log(self._directory, verify_chain=True)
        if scan.problem is not None:
            raise scan.problem.error()
        for s in scan.segments:
            self._segments.append(_Segment(s.name, s.first_seq, s.last_seq, s.valid_bytes))
            self._segment_seqs.append(s.first_seq)
        self._last_seq = scan.frames
        self._head = scan.head
        if scan.segments:
            last = scan.segments[-1]
            if last.torn is not None:
                self.recovered_tail = last.torn
                self.recovered_tail_bytes = last.file_bytes - last.valid_bytes
            self._fd = os.open(self._directory / last.name, os.O_WRONLY)
            if last.file_bytes != last.valid_bytes:
                os.ftruncate(self._fd, last.valid_bytes)
                if self._fsync_enabled:
                    self._fsync_file(self._fd)
            os.lseek(self._fd, last.valid_bytes, os.SEEK_SET)
        else:
            self._new_segment(1, GENESIS_HASH)

    def _fsync_file(self, fd: int) -> None:
        (self._fsync_fn or _fsync_file)(fd)  # looked up per call: the test seam

    def _fsync_dir(self, fd: int) -> None:
        (self._fsync_fn or _fsync_dir)(fd)

    def _take_lock(self) -> None:
        path = self._directory / LOCK_NAME
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(self._lock_fd, 64, 0).decode("ascii", "replace").strip()
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise LogLocked(
                f"event log {self._directory} is already open for writing by another writer"
                + (f" (pid {holder})" if holder else "")
            ) from None
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, f"{os.getpid()}\n".encode(), 0)

    def _sync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._fsync_dir(fd)
        finally:
            os.close(fd)

    def _new_segment(self, first_seq: int, chain_in: bytes) -> None:
        """Create, fill in, fsync and publish a new empty segment; make it the active one."""
        name = segment_name(first_seq)
        final = self._directory / name
        tmp = self._directory / (name + TMP_SUFFIX)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, _encode_segment_header(first_seq, chain_in))
            if self._fsync_enabled:
                self._fsync_file(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        if self._fsync_enabled:
            self._fsync_dir(self._dir_fd)
        new_fd = os.open(final, os.O_WRONLY)
        os.lseek(new_fd, SEGMENT_HEADER_BYTES, os.SEEK_SET)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = new_fd
        self._segments.append(_Segment(name, first_seq, first_seq - 1, SEGMENT_HEADER_BYTES))
        self._segment_seqs.append(first_seq)

    # -- properties ------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def next_seq(self) -> int:
        return self._last_seq + 1

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def head_hash(self) -> bytes:
        return self._head

    @property
    def segment_bytes(self) -> int:
        return self._segment_bytes

    @property
    def max_payload_bytes(self) -> int:
        return self._max_payload_bytes

    @property
    def max_frames_per_append(self) -> int:
        return self._max_frames

    @property
    def failed(self) -> bool:
        return self._failure is not None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def segments(self) -> list[str]:
        """Names of the segment files, oldest first."""
        with self._lock:
            return [s.name for s in self._segments]

    # -- appending -------------------------------------------------------------------

    def append(self, payloads: Sequence[bytes]) -> int:
        """Write `payloads` as frames, fsync once, and return the seq of the last one.

        The return is the acknowledgement. All frames go into one segment. Raises
        ValueError (naming the limit) for too many frames or a too-large payload and
        TypeError for a non-bytes payload, before writing anything; LogFailed if the log
        has failed or fails now.
        """
        with self._lock:
            self._check_writable()
            count = len(payloads)
            if count == 0:
                return self._last_seq
            if count > self._max_frames:
                raise ValueError(
                    f"append of {count} frames exceeds max_frames_per_append={self._max_frames}"
                )
            first_seq = self._last_seq + 1
            data, head = self._encode(payloads, first_seq)
            active = self._segments[-1]
            try:
                if (
                    active.size_bytes > SEGMENT_HEADER_BYTES
                    and active.size_bytes + len(data) > self._segment_bytes
                ):
                    self._new_segment(first_seq, self._head)
                    active = self._segments[-1]
                _write_all(self._fd, data)
                if self._fsync_enabled:
                    self._fsync_file(self._fd)
            except BaseException as exc:
                # Frames may be half written and the fd position has moved: never go on.
                self._failure = exc
                if not isinstance(exc, OSError):
                    raise
                raise LogFailed(
                    f"event log {self._directory}: I/O error while appending seq {first_seq}.."
                    f"{first_seq + count - 1} ({exc}); the log accepts no more appends"
                ) from exc
            last_seq = first_seq + count - 1
            active.size_bytes += len(data)
            active.last_seq = last_seq
            self._last_seq = last_seq
            self._head = head
            return last_seq

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise LogFailed(
                f"event log {self._directory} failed earlier ({self._failure}); "
                "it accepts no more appends: reopen it (restart the process)"
            ) from self._failure
        if self._closed:
            raise ValueError(f"event log {self._directory} is closed")

    def _encode(self, payloads: Sequence[bytes], seq: int) -> tuple[bytearray, bytes]:
        out = bytearray()
        prev = self._head
        limit = self._max_payload_bytes
        pack = _FLAGS_LEN.pack
        crc32 = zlib.crc32
        last_index = len(payloads) - 1
        for i, payload in enumerate(payloads):
            if payload.__class__ is not bytes:
                payload = _as_bytes(payload, seq)
            n = len(payload)
            if n > limit:
                raise ValueError(
                    f"payload of {n} bytes (seq {seq}) exceeds max_payload_bytes={limit}"
                )
            chain = blake2b(prev + payload, digest_size=32).digest()
            body = pack(n | END_OF_APPEND if i == last_index else n, seq) + chain
            out += crc32(payload, crc32(body)).to_bytes(4, "little")
            out += body
            out += payload
            prev = chain
            seq += 1
        return out, prev

    # -- reading ---------------------------------------------------------------------

    def read(self, from_seq: int = 1, *, verify_chain: bool = True) -> Iterator[tuple[int, bytes]]:
        """Acknowledged frames with seq >= from_seq, in order, as (seq, payload)."""
        return itertools.chain.from_iterable(self.read_batches(from_seq, verify_chain=verify_chain))

    def read_batches(
        self, from_seq: int = 1, max_frames: int = 4096, *, verify_chain: bool = True
    ) -> Iterator[list[tuple[int, bytes]]]:
        """Acknowledged frames with seq >= from_seq in lists of at most `max_frames`.

        Reads each segment with one read() and re-checks every frame's crc and seq; with
        `verify_chain` (the default) also every chain link, starting from the chain value
        stored before `from_seq`. Frames appended after the call started are not included.
        """
        _check_read_args(from_seq, max_frames)
        with self._lock:  # the frames to read are fixed now, not at the first next()
            if self._closed:
                raise ValueError(f"event log {self._directory} is closed")
            start = max(0, bisect.bisect_right(self._segment_seqs, from_seq) - 1)
            segments = [
                (s.name, s.first_seq, s.last_seq, s.size_bytes) for s in self._segments[start:]
            ]
        return self._iter_batches(segments, from_seq, max_frames, verify_chain)

    def _iter_batches(
        self,
        segments: list[tuple[str, int, int, int]],
        from_seq: int,
        max_frames: int,
        verify_chain: bool,
    ) -> Iterator[list[tuple[int, bytes]]]:
        prev_head: bytes | None = None
        for name, first_seq, last_seq, size_bytes in segments:
            if last_seq < from_seq:
                continue
            buf = _read_file(self._directory / name, size_bytes)
            if len(buf) < size_bytes:
                raise LogCorrupt(
                    name, len(buf), first_seq, f"segment has {len(buf)} bytes, {size_bytes} written"
                )
            prev_head = yield from _iter_segment(
                buf, name, first_seq, last_seq, from_seq, prev_head, max_frames, verify_chain
            )

    # -- closing ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the files and release the writer lock. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_fds()

    def _close_fds(self) -> None:
        for attr in ("_fd", "_dir_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd >= 0:
                setattr(self, attr, -1)
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __enter__(self) -> FileLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "failed" if self.failed else "closed" if self._closed else "open"
        return f"FileLog({str(self._directory)!r}, last_seq={self._last_seq}, {state})"


def _write_all(fd: int, data: bytes | bytearray) -> None:
    with memoryview(data) as view:
        written = 0
        total = len(view)
        while written < total:
            n = os.write(fd, view[written:])
            if n <= 0:
                raise OSError(errno.EIO, "write returned 0 bytes")
            written += n


def _as_bytes(payload: object, seq: int) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    raise TypeError(f"payload for seq {seq} must be bytes, not {type(payload).__name__}")
