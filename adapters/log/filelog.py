"""The embedded event log: a directory of append-only segment files with a hash chain.

Owns: the on-disk format of the file log, its single-writer lock, recovery of a torn tail
on open, and the read-only tools `verify_log`, `inspect_log` and `read_log_batches`.

On-disk format (all integers little-endian):

    directory/
      LOCK                        flock'ed by the one writer; holds its pid (diagnostics)
      quarantine/                 torn tails cut off on open, kept for inspection
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
- Recovery on open (the writer only) tells a torn write from corruption. Every segment is
  read and every frame's crc, seq and chain checked. A TORN WRITE is what an interrupted
  append leaves past the last complete frame of the LAST segment: an incomplete frame (the
  file ends inside its header or payload), complete frames after the last END_OF_APPEND,
  or a zero-filled tail (all zeros from some offset, or the frame's bytes up to a sector
  boundary and zeros after: file systems that extend a file before its data are on disk).
  A torn tail is never acknowledged data; it is copied to `quarantine/<segment>-<offset>-
  <ts>.bin` (fsynced, with the folder) BEFORE the segment is cut back to its last complete
  append (ftruncate, fsynced); the cut is logged (logger "lingong.log"), returned as
  `FileLog.recovery` and counted by `FileLog.metrics()`. CORRUPTION is everything else: a
  complete frame whose crc fails (anywhere, the last frame of the log included), a length
  field that a crc check shows damaged, a crc-valid frame with the wrong seq or chain, any
  problem in an earlier segment, a missing segment. It raises `LogCorrupt(segment, offset,
  seq, reason, advice)` and nothing is modified: an acknowledged append is never dropped
  silently. Limit, stated plainly: whole segments missing from the END of the log cannot
  be noticed from the directory alone (compare `last_seq`/`head_hash` with an external
  anchor: a signed checkpoint, a snapshot, a published head).
- An I/O error while appending (write, fsync, creating a segment) puts the log into the
  failed state: that append and every later one raise `LogFailed`. After a failed fsync
  the page cache cannot be trusted, so the only way on is to reopen (normally: restart).
- One writer per directory, enforced by `fcntl.flock` on LOCK (`LogLocked` otherwise).
  Readers inside the writer's process use `FileLog.read*` and see acknowledged frames
  only; other processes may use `read_log_batches`/`verify_log`/`inspect_log`, which
  never modify anything and stop at (do not report as corrupt) an unfinished tail.

Limits: payloads up to `MAX_PAYLOAD_BYTES` (16 MiB), appends up to
`MAX_FRAMES_PER_APPEND` (65,536) frames; both can be lowered per log. The quarantine
folder keeps the newest `MAX_QUARANTINE_FILES` (256) cut tails, each at most one append. Reading loads one
whole segment at a time into memory (64 MiB by default). Linux/POSIX only (fcntl).

The format, segment scanning and the lock-free readers (`verify_log`, `inspect_log`,
`read_log_batches`) live in `adapters.log.logformat` and are re-exported here.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import itertools
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from hashlib import blake2b
from pathlib import Path
from typing import Any, NamedTuple

from adapters.log.logformat import (  # the format, scanning and readers
    _FLAGS_LEN,
    DEFAULT_SEGMENT_BYTES,
    END_OF_APPEND,
    FRAME_HEADER_BYTES,
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
    _iter_segment,
    _read_file,
    _scan_log,
    inspect_log,
    read_log_batches,
    segment_name,
    verify_log,
)
from adapters.log.ports import (
    GENESIS_HASH,
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
    "Recovery",
    "VerifyReport",
    "inspect_log",
    "read_log_batches",
    "segment_name",
    "verify_log",
]


QUARANTINE_DIR = "quarantine"
MAX_QUARANTINE_FILES = 256  # the oldest quarantined tails beyond this many are deleted

logger = logging.getLogger("lingong.log")


class Recovery(NamedTuple):
    """What opening the log for writing cut off: a torn, never-acknowledged tail.

    `offset` is where the cut starts in `segment` (the end of the last complete append),
    `seq` the first seq that was cut, `cut_bytes` how many bytes went, and
    `quarantine_path` the file that holds them (written and fsynced before the cut).
    """

    segment: str
    offset: int
    seq: int
    reason: str
    cut_bytes: int
    quarantine_path: str

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


def _corrupt_advice(directory: Path, problem: Problem, last_segment: str) -> str:
    """What an operator can do about corruption found on open (nothing was modified)."""
    text = (
        f"The log was not modified and does not open for writing: this is damage, not a "
        f"torn write, so nothing is cut off. Keep a copy of {directory}; restore segment "
        f"{problem.segment} from a replica or a backup (`lingong log inspect {directory}` "
        f"shows the damage)."
    )
    if problem.segment == last_segment and problem.offset > 0:
        text += (
            f" If no copy exists and losing every record from seq {problem.seq} on is "
            f"accepted, copy the segment aside and truncate it at byte offset "
            f"{problem.offset}."
        )
    return text


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
        self.recovery: Recovery | None = None  # what open cut off, if anything
        self.recovered_tail: Problem | None = None  # (older names of the same)
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
            p = scan.problem
            last_name = scan.segments[-1].name if scan.segments else p.segment
            raise LogCorrupt(
                p.segment, p.offset, p.seq, p.reason, _corrupt_advice(self._directory, p, last_name)
            )
        for s in scan.segments:
            self._segments.append(_Segment(s.name, s.first_seq, s.last_seq, s.valid_bytes))
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
        path = self._quarantine(name, offset, tail)
        os.ftruncate(self._fd, offset)
        if self._fsync_enabled:
            self._fsync_file(self._fd)
        self.recovery = Recovery(name, offset, seq, reason, file_bytes - offset, str(path))
        self.recovered_tail = torn
        self.recovered_tail_bytes = file_bytes - offset
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

    def _quarantine(self, name: str, offset: int, data: bytes) -> Path:
        """Write `data` to quarantine/<segment>-<offset>-<ts>.bin, fsynced; prune old files."""
        folder = self._directory / QUARANTINE_DIR
        if not folder.is_dir():
            folder.mkdir()
            if self._fsync_enabled:
                self._fsync_dir(self._dir_fd)
        stem = f"{name.removesuffix(SEGMENT_SUFFIX)}-{offset}-{time.time_ns() // 1_000_000}"
        for n in itertools.count():
            path = folder / (stem + (f"-{n}" if n else "") + ".bin")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            break
        try:
            _write_all(fd, data)
            if self._fsync_enabled:
                self._fsync_file(fd)
        finally:
            os.close(fd)
        if self._fsync_enabled:
            self._sync_dir(folder)
        kept = sorted(folder.glob("*.bin"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for old in kept[: max(0, len(kept) - MAX_QUARANTINE_FILES)]:
            old.unlink(missing_ok=True)
        return path

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
