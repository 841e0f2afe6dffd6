"""What the file log's writer does with damage found on open: quarantine, cut, or refuse.

Owns: `Recovery` (what opening cut off, and where the bytes went), `quarantine` (copying a
torn tail to `quarantine/<segment>-<offset>-<ts>.bin`, durably, before it is cut) and
`corrupt_advice` (what an operator can do when the log refuses to open).

Invariants: a quarantine file is complete and fsynced, with its folder entry, before the
writer truncates anything; if it cannot be written, nothing is cut (the error propagates
and the log does not open). Timestamps in file names are wall-clock ms (names only).
Limits: the folder keeps the newest `MAX_QUARANTINE_FILES` (256) files; each is at most
one append.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from adapters.log.logformat import SEGMENT_SUFFIX, Problem

QUARANTINE_DIR = "quarantine"
MAX_QUARANTINE_FILES = 256  # the oldest quarantined tails beyond this many are deleted


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


def corrupt_advice(directory: Path, problem: Problem, last_segment: str) -> str:
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


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    with memoryview(data) as view:
        written = 0
        total = len(view)
        while written < total:
            n = os.write(fd, view[written:])
            if n <= 0:
                raise OSError(errno.EIO, "write returned 0 bytes")
            written += n


def quarantine(
    directory: Path,
    dir_fd: int,
    name: str,
    offset: int,
    data: bytes,
    fsync: Callable[[int], None] | None,
) -> Path:
    """Write `data` to DIR/quarantine/<segment>-<offset>-<ts>.bin, file and folder fsynced
    (with `fsync`; None: no fsync), then prune the oldest files beyond the limit."""
    folder = directory / QUARANTINE_DIR
    if not folder.is_dir():
        folder.mkdir()
        if fsync is not None:
            fsync(dir_fd)
    stem = f"{name.removesuffix(SEGMENT_SUFFIX)}-{offset}-{time.time_ns() // 1_000_000}"
    for n in itertools.count():
        path = folder / (stem + (f"-{n}" if n else "") + ".bin")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        break
    try:
        write_all(fd, data)
        if fsync is not None:
            fsync(fd)
    finally:
        os.close(fd)
    if fsync is not None:
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fsync(folder_fd)
        finally:
            os.close(folder_fd)
    kept = sorted(folder.glob("*.bin"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in kept[: max(0, len(kept) - MAX_QUARANTINE_FILES)]:
        old.unlink(missing_ok=True)
    return path
