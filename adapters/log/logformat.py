"""What every format version of the file log shares: segments, their header, limits.

Owns: the segment file naming and its 64-byte header (which carries the format version:
1, frames with a CRC each, `adapters.log.format_v1`; 2, one block per append,
`adapters.log.format_v2`), the limits, the fsync seams, `Problem` / `VerifyReport`, and
the vocabulary of a scan (`Stop`, the kinds of a bad frame or block, `zero_tail_start`).

Segment header (integers little-endian):

    0  8s   magic b"LINGLOG\\0"
    8  u32  format version (1 or 2; the writer writes 2)
    12 u32  reserved, 0
    16 u64  first_seq: seq of the first frame in this segment (equals the file name)
    24 32s  chain_in: the hash-chain value entering this segment (genesis for seq 1)
    56 u32  crc32 of bytes 0..55
    60 u32  reserved, 0

Invariants: reading never modifies a file; the chain is recomputed exactly as
`adapters.log.ports.chain_hash` defines it. A stop of kind LOGICAL is never a torn write.
Limits: `MAX_PAYLOAD_BYTES` per frame, `MAX_FRAMES_PER_APPEND` per append.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from adapters.log.ports import LogCorrupt

MAGIC = b"LINGLOG\x00"
FORMAT_VERSION = 2  # what the writer writes
READABLE_VERSIONS = (1, 2)
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
MAX_FRAMES_PER_APPEND = 65_536
LOCK_NAME = "LOCK"
SEGMENT_SUFFIX = ".seg"
TMP_SUFFIX = ".tmp"
SECTOR_BYTES = 512  # the smallest unit a file system zero-fills after a crash

_SEG_HEADER = struct.Struct("<8sIIQ32sII")
SEGMENT_HEADER_BYTES = _SEG_HEADER.size  # 64

# Kinds of a stop in a scan. A physical one may be a torn write (each format's
# `torn_reason` decides); a logical one (wrong seq, wrong chain, a body that does not add
# up in a crc-valid frame or block) never is.
INCOMPLETE_HEADER = "incomplete_header"  # the file ends inside a frame or block header
INCOMPLETE = "incomplete"  # the header's length reaches past the end of the file
BAD_LENGTH = "bad_length"  # v1: a complete frame header with an impossible length
BAD_HEADER = "bad_header"  # v2: a block header whose crc fails
BAD_CRC = "bad_crc"  # a complete frame or block whose crc fails
LOGICAL = "logical"
PHYSICAL = (INCOMPLETE_HEADER, INCOMPLETE, BAD_LENGTH, BAD_HEADER, BAD_CRC)


class Stop(NamedTuple):
    """Where a scan of a segment's frames or blocks stopped, and why.

    (pos, seq, prev): where it stopped, the seq expected there and the chain before it;
    (commit_pos, commit_seq, commit_prev): the end of the last complete append, the next
    seq and the chain after it; reason/kind: None when the scan reached the end cleanly.
    """

    pos: int
    seq: int
    prev: bytes
    commit_pos: int
    commit_seq: int
    commit_prev: bytes
    reason: str | None
    kind: str | None


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


def zero_tail_start(buf: bytes, pos: int) -> int:
    """The smallest offset >= pos from which `buf` holds only zero bytes (len(buf): none)."""
    return max(pos, len(buf.rstrip(b"\0")))


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


def _encode_segment_header(first_seq: int, chain_in: bytes, version: int = FORMAT_VERSION) -> bytes:
    head = _SEG_HEADER.pack(MAGIC, version, 0, first_seq, chain_in, 0, 0)
    crc = zlib.crc32(head[:56])
    return head[:56] + struct.pack("<II", crc, 0)


def segment_version(buf: bytes) -> int:
    """The format version in a segment header (0 when the header is too short)."""
    return _SEG_HEADER.unpack_from(buf, 0)[1] if len(buf) >= SEGMENT_HEADER_BYTES else 0


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
    if version not in READABLE_VERSIONS:
        return f"unsupported segment format version {version}"
    if first_seq != expect_seq:
        return f"segment header says first seq {first_seq}, expected {expect_seq}"
    if expect_chain is not None and chain_in != expect_chain:
        return "segment header chain_in does not match the previous segment's head hash"
    return None


def _check_read_args(from_seq: int, max_frames: int) -> None:
    if from_seq < 1:
        raise ValueError(f"from_seq must be >= 1, got {from_seq}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")


_MOVED_TO_SCAN = frozenset({"read_log_batches", "verify_log", "inspect_log"})


def __getattr__(name: str) -> Any:
    """The lock-free tools live in `adapters.log.scan` now (older imports still work)."""
    if name in _MOVED_TO_SCAN:
        from adapters.log import scan

        return getattr(scan, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
