"""The embedded event log: a directory of append-only segment files with a hash chain.

Owns: the single writer of a file log (`FileLog`): its lock, appending, recovery of a torn
tail on open, and reading inside the writer's process. Re-exports the lock-free tools of
`adapters.log.scan` (`verify_log`, `inspect_log`, `read_log_batches`).

    directory/
      LOCK                        flock'ed by the one writer; holds its pid (diagnostics)
      quarantine/                 torn tails cut off on open, kept for inspection
      00000000000000000001.seg    segment files, named by the seq of their first frame

Each segment's 64-byte header names its format (`adapters.log.logformat`). The writer
writes version 2 (`adapters.log.format_v2`): one block per append, one pair of crc32s per
block, the block's payloads laid out as one msgpack array. Version 1 segments
(`adapters.log.format_v1`, a crc per frame) are still read; a v1 log goes on in a new v2
segment.

Invariants:
- Seqs start at 1 and are contiguous across segments; a segment's `first_seq` is the
  previous segment's last seq + 1 and its `chain_in` the previous segment's head.
- One `append` is one block: one write, one fsync (fdatasync), then the return, which is
  the acknowledgement. A block is all-or-nothing across a crash.
- Segments are created as `<name>.tmp` (header written and fsynced), renamed into place
  and the directory fsynced before any block goes in. A new segment starts when the next
  block would take the current one past `segment_bytes` (a bigger block gets its own).
- Recovery on open tells a torn write from corruption (every block's crcs, seq and chain
  are checked). A TORN WRITE is what an interrupted append leaves after the last complete
  block of the LAST segment: an incomplete block, or a zero-filled tail (from the block,
  or from a sector boundary inside it: file systems that extend a file before its data
  are on disk). It was never acknowledged; it is copied to `quarantine/<segment>-<offset>-
  <ts>.bin` (fsynced, with the folder) BEFORE the segment is cut back (ftruncate,
  fsynced), and the cut is logged (logger "lingong.log"), returned as `FileLog.recovery`
  and counted by `FileLog.metrics()`. CORRUPTION is everything else: a complete block
  whose crc fails (the last one included), a crc-valid block with the wrong seq, layout
  or chain, a damaged earlier segment, a missing segment. It raises `LogCorrupt(segment,
  offset, seq, reason, advice)` and nothing is modified: an acknowledged append is never
  dropped silently. Whole segments missing from the END cannot be noticed from the folder
  alone: compare with an anchor (a signed checkpoint, a published head).
- An I/O error while appending puts the log into the failed state: that append and every
  later one raise `LogFailed` (after a failed fsync the page cache cannot be trusted:
  reopen, normally by restarting).
- One writer per directory (`fcntl.flock` on LOCK, else `LogLocked`). Readers in the
  writer's process use `FileLog.read*` (acknowledged frames only); other processes use
  `adapters.log.reader.FileLogReader`, which never modifies anything.

Limits: payloads up to `MAX_PAYLOAD_BYTES` (16 MiB), appends up to `MAX_FRAMES_PER_APPEND`
(65,536) frames and `MAX_APPEND_BYTES` (256 MiB); the first two can be lowered per log.
Reading loads one segment at a time (64 MiB by default). The quarantine keeps the newest
256 cut tails. Linux/POSIX only (fcntl).
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from adapters.log.format_v2 import BLOCK_HEADER_BYTES, MAX_APPEND_BYTES, Block, encode_block
from adapters.log.logformat import (
    DEFAULT_SEGMENT_BYTES,
    FORMAT_VERSION,
    LOCK_NAME,
    MAX_FRAMES_PER_APPEND,
    MAX_PAYLOAD_BYTES,
    SEGMENT_HEADER_BYTES,
    SEGMENT_SUFFIX,
    TMP_SUFFIX,
    Problem,
    VerifyReport,
    _check_read_args,
    _encode_segment_header,
    _fsync_dir,
    _fsync_file,
    _read_file,
    segment_name,
)
from adapters.log.ports import GENESIS_HASH, LogCorrupt, LogError, LogFailed, LogLocked
from adapters.log.recovery import (
    MAX_QUARANTINE_FILES,
    QUARANTINE_DIR,
    Recovery,
    corrupt_advice,
    quarantine,
    write_all,
)
from adapters.log.scan import (
    FrameBatch,
    inspect_log,
    iter_segment,
    iter_segment_blocks,
    read_log_batches,
    scan_log,
    verify_log,
)

__all__ = [
    "BLOCK_HEADER_BYTES",
    "DEFAULT_SEGMENT_BYTES",
    "MAX_APPEND_BYTES",
    "MAX_FRAMES_PER_APPEND",
    "MAX_PAYLOAD_BYTES",
    "MAX_QUARANTINE_FILES",
    "QUARANTINE_DIR",
    "SEGMENT_HEADER_BYTES",
    "FileLog",
    "LogCorrupt",
    "LogError",
    "LogFailed",
    "LogLocked",
    "Problem",
    "Recovery",
    "VerifyReport",
    "inspect_log",
    "read_log_batches",
    "segment_name",
    "verify_log",
]

logger = logging.getLogger("lingong.log")


class _Segment:
    """The writer's record of one segment file."""

    __slots__ = ("name", "first_seq", "last_seq", "size_bytes", "version")

    def __init__(
        self, name: str, first_seq: int, last_seq: int, size_bytes: int, version: int
    ) -> None:
        self.name = name
        self.first_seq = first_seq
        self.last_seq = last_seq  # first_seq - 1 while empty
        self.size_bytes = size_bytes  # committed bytes (header + acknowledged blocks)
        self.version = version


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

    After opening, `recovery` (a `Recovery`, None when nothing) says what opening cut off
    the last segment and where the cut bytes were kept; `metrics()` gives the same as
    counters. Corruption found on open raises `LogCorrupt` (segment, offset, what to do).
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
        if segment_bytes < SEGMENT_HEADER_BYTES + BLOCK_HEADER_BYTES:
            raise ValueError(
                f"segment_bytes must be >= {SEGMENT_HEADER_BYTES + BLOCK_HEADER_BYTES}"
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
        self.recovery: Recovery | None = None  # what open cut off, if anything
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
        scan = scan_log(self._directory, verify_chain=True)
        if scan.problem is not None:
            p = scan.problem
            last_name = scan.segments[-1].name if scan.segments else p.segment
            advice = corrupt_advice(self._directory, p, last_name)
            raise LogCorrupt(p.segment, p.offset, p.seq, p.reason, advice)
        for s in scan.segments:
            self._segments.append(
                _Segment(s.name, s.first_seq, s.last_seq, s.valid_bytes, s.version)
            )
            self._segment_seqs.append(s.first_seq)
        self._last_seq = scan.frames
        self._head = scan.head
        if scan.segments:
            last = scan.segments[-1]
            self._fd = os.open(self._directory / last.name, os.O_RDWR)
            if last.file_bytes != last.valid_bytes:
                self._cut_torn_tail(last.name, last.valid_bytes, last.file_bytes, last.torn)
            os.lseek(self._fd, last.valid_bytes, os.SEEK_SET)
        else:
            self._new_segment(1, GENESIS_HASH)

    def _cut_torn_tail(self, name: str, offset: int, file_bytes: int, torn: Problem | None) -> None:
        """Copy the torn tail to the quarantine folder (durably), then cut it off."""
        seq = torn.seq if torn is not None else self._last_seq + 1
        reason = torn.reason if torn is not None else "bytes after the last complete append"
        tail = os.pread(self._fd, file_bytes - offset, offset)
        fsync = self._fsync_file if self._fsync_enabled else None
        path = quarantine(self._directory, self._dir_fd, name, offset, tail, fsync)
        os.ftruncate(self._fd, offset)
        if self._fsync_enabled:
            self._fsync_file(self._fd)
        self.recovery = Recovery(name, offset, seq, reason, file_bytes - offset, str(path))
        logger.warning(
            "event log %s: cut a torn tail of %d bytes from segment %s at offset %d (seq %d "
            "on was never acknowledged: %s); the bytes are kept in %s",
            self._directory,
            file_bytes - offset,
            name,
            offset,
            seq,
            reason,
            path,
        )

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
            write_all(fd, _encode_segment_header(first_seq, chain_in))
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
        self._segments.append(
            _Segment(name, first_seq, first_seq - 1, SEGMENT_HEADER_BYTES, FORMAT_VERSION)
        )
        self._segment_seqs.append(first_seq)

    # -- properties ------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def location(self) -> str:
        return str(self._directory)

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

    def metrics(self) -> dict[str, int]:
        """Counters for a metrics layer: torn tails cut on open and their bytes, last seq."""
        r = self.recovery
        return {
            "log_torn_tails_cut_total": 0 if r is None else 1,
            "log_torn_tail_bytes_cut_total": 0 if r is None else r.cut_bytes,
            "log_last_seq": self._last_seq,
        }

    @property
    def segments(self) -> list[str]:
        """Names of the segment files, oldest first."""
        with self._lock:
            return [s.name for s in self._segments]

    # -- appending -------------------------------------------------------------------

    def append(self, payloads: Sequence[bytes]) -> int:
        """Write `payloads` as one block, fsync once, and return the seq of the last one.

        The return is the acknowledgement. Raises ValueError (naming the limit) for too
        many frames, a too-large payload or append, and TypeError for a non-bytes payload,
        before writing anything; LogFailed if the log has failed or fails now.
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
            data, head = encode_block(self._checked(payloads, first_seq), first_seq, self._head)
            active = self._segments[-1]
            try:
                if active.version != FORMAT_VERSION or (
                    active.size_bytes > SEGMENT_HEADER_BYTES
                    and active.size_bytes + len(data) > self._segment_bytes
                ):
                    self._new_segment(first_seq, self._head)
                    active = self._segments[-1]
                write_all(self._fd, data)
                if self._fsync_enabled:
                    self._fsync_file(self._fd)
            except BaseException as exc:
                # A block may be half written and the fd position has moved: never go on.
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

    def _checked(self, payloads: Sequence[bytes], seq: int) -> Sequence[bytes]:
        """`payloads` as bytes, each within the payload limit (else TypeError/ValueError)."""
        limit = self._max_payload_bytes
        out: list[bytes] | None = None
        for i, payload in enumerate(payloads):
            if payload.__class__ is not bytes:
                if out is None:
                    out = list(payloads)
                out[i] = payload = _as_bytes(payload, seq + i)
            if len(payload) > limit:
                raise ValueError(
                    f"payload of {len(payload)} bytes (seq {seq + i}) exceeds "
                    f"max_payload_bytes={limit}"
                )
        return payloads if out is None else out

    # -- reading ---------------------------------------------------------------------

    def read(self, from_seq: int = 1, *, verify_chain: bool = True) -> Iterator[tuple[int, bytes]]:
        """Acknowledged frames with seq >= from_seq, in order, as (seq, payload)."""
        return itertools.chain.from_iterable(self.read_batches(from_seq, verify_chain=verify_chain))

    def read_batches(
        self, from_seq: int = 1, max_frames: int = 4096, *, verify_chain: bool = True
    ) -> Iterator[list[tuple[int, bytes]]]:
        """Acknowledged frames with seq >= from_seq in lists of at most `max_frames`.

        Reads each segment with one read() and re-checks every block's crcs and seq; with
        `verify_chain` (the default) also every chain link, starting from the chain value
        stored before `from_seq`. Frames appended after the call started are not included.
        """
        _check_read_args(from_seq, max_frames)
        segments = self._segments_from(from_seq)

        def frames() -> Iterator[list[tuple[int, bytes]]]:
            prev: bytes | None = None
            for name, first_seq, last_seq, buf in self._buffers(segments, from_seq):
                prev = yield from iter_segment(
                    buf, name, first_seq, last_seq, from_seq, prev, max_frames, verify_chain
                )

        return frames()

    def read_blocks(
        self, from_seq: int = 1, *, verify_chain: bool = True, max_frames: int = 4096
    ) -> Iterator[Block | FrameBatch]:
        """The acknowledged frames from `from_seq` on, a block (one append) at a time (v1
        segments: `max_frames` at a time); a block may start before `from_seq`. For
        decoding many records in one call."""
        _check_read_args(from_seq, max_frames)
        segments = self._segments_from(from_seq)

        def blocks() -> Iterator[Block | FrameBatch]:
            prev: bytes | None = None
            for name, first_seq, last_seq, buf in self._buffers(segments, from_seq):
                prev = yield from iter_segment_blocks(
                    buf, name, first_seq, last_seq, from_seq, prev, verify_chain, max_frames
                )

        return blocks()

    def _segments_from(self, from_seq: int) -> list[tuple[str, int, int, int]]:
        with self._lock:  # the frames to read are fixed now, not at the first next()
            if self._closed:
                raise ValueError(f"event log {self._directory} is closed")
            start = max(0, bisect.bisect_right(self._segment_seqs, from_seq) - 1)
            return [(s.name, s.first_seq, s.last_seq, s.size_bytes) for s in self._segments[start:]]

    def _buffers(
        self, segments: list[tuple[str, int, int, int]], from_seq: int
    ) -> Iterator[tuple[str, int, int, bytes]]:
        for name, first_seq, last_seq, size_bytes in segments:
            if last_seq < from_seq:
                continue
            buf = _read_file(self._directory / name, size_bytes)
            if len(buf) < size_bytes:
                why = f"segment has {len(buf)} bytes, {size_bytes} written"
                raise LogCorrupt(name, len(buf), first_seq, why)
            yield name, first_seq, last_seq, buf

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


def _as_bytes(payload: object, seq: int) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    raise TypeError(f"payload for seq {seq} must be bytes, not {type(payload).__name__}")
