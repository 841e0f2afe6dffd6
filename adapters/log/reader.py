"""One read port for every log: `open_log_reader(url)` and the file log's lock-free reader.

Owns: parsing a log URL, `FileLogReader` (a `LogReader` over a log folder that takes no
lock and never creates or modifies anything) and `open_log_reader`, which gives the
`LogReader` for a URL:

    DATA/log  or  DATA                      a file log folder (DATA: the folder holding log/)
    file:///abs/path                        the same, as a URL
    nats://host:port[,nats://h2:p2]/STREAM/PARTITION
    nats://host:port/STREAM?partition=PARTITION
    nats://host:port/STREAM                 the stream's only partition (else an error
                                            naming the partitions it holds)

Invariants:
- Opening a reader never creates anything: a missing folder or stream is a
  `FileNotFoundError` naming it (a reading command exits 2 with that message).
- `last_seq` and `head_hash` are the log's tail as of the last `refresh()` (done on open
  and at the start of every `read_batches` but the first after a refresh); `read_batches`
  yields frames up to that tail and no further, each checked (crc, seq; the chain with `verify_chain`), and stops
  before an unfinished (torn) tail, which `torn_tail` reports without touching it.

Limits: the file reader holds one segment in memory at a time; the JetStream reader is
`adapters.nats.jslog.JetStreamLog(read_only=True)` (its limits).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from adapters.log.format_v2 import Block
from adapters.log.logformat import SEGMENT_SUFFIX, Problem, _check_read_args, _list_segments
from adapters.log.ports import LogReader
from adapters.log.scan import FrameBatch, iter_log, iter_log_blocks, scan_tail

__all__ = ["FileLogReader", "LogReader", "log_folder", "open_log_reader", "parse_nats_url"]

_NATS_URL = re.compile(
    r"^(?P<servers>(?:nats|tls)://[^/?]+(?:,(?:nats|tls)://[^/?]+)*)"
    r"/(?P<stream>[A-Za-z0-9_-]+)(?:/(?P<partition>[A-Za-z0-9_-]+))?"
    r"(?:\?partition=(?P<qpartition>[A-Za-z0-9_-]+))?/?$"
)


def log_folder(path: str | os.PathLike[str]) -> Path:
    """The log folder for `path`: itself when it holds segments, else `path/log` if that
    exists. Never creates anything; a missing folder, or one without segment files (a
    writer always creates the first), is a `FileNotFoundError`."""
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"no log folder at {p}")
    if not any(p.glob("*" + SEGMENT_SUFFIX)) and (p / "log").is_dir():
        p = p / "log"
    if not any(p.glob("*" + SEGMENT_SUFFIX)):  # never take a stray folder for an empty log
        raise FileNotFoundError(f"no log at {p}: no segment files (*{SEGMENT_SUFFIX})")
    return p


def parse_nats_url(url: str) -> tuple[str, str, str]:
    """(servers, stream, partition) of a `nats://host:port/STREAM[/PARTITION]` URL;
    partition "" when the URL names none."""
    m = _NATS_URL.match(url.strip())
    if m is None:
        raise ValueError(
            f"log URL {url!r}: expected nats://host:port/STREAM/PARTITION "
            "(or nats://host:port/STREAM?partition=PARTITION)"
        )
    return m["servers"], m["stream"], m["partition"] or m["qpartition"] or ""


class FileLogReader:
    """`LogReader` over a file log folder, for other processes (audits, stores, replay).

    Takes no lock and modifies nothing, so it reads a live log (it sees a prefix) or a
    copy. `segments`, `log_bytes` and `torn_tail`/`torn_tail_bytes` describe the folder as
    of the last `refresh()`.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = log_folder(directory)
        self._closed = False
        self.refresh()

    @property
    def location(self) -> str:
        return str(self.directory)

    @property
    def last_seq(self) -> int:
        return self._tail.last_seq

    @property
    def head_hash(self) -> bytes:
        return self._tail.head

    @property
    def torn_tail(self) -> Problem | None:
        return self._tail.torn

    @property
    def torn_tail_bytes(self) -> int:
        return self._tail.torn_bytes

    @property
    def segments(self) -> list[str]:
        return [name for _, name in self._tail.segments]

    @property
    def log_bytes(self) -> int:
        """Bytes of the segments up to the tail (a progress bar's total)."""
        return self._tail.log_bytes

    def refresh(self) -> None:
        """Find the log's tail now (reads the last segment; raises LogCorrupt on damage)."""
        if not self.directory.is_dir():
            raise FileNotFoundError(f"no log folder at {self.directory}")
        self._tail = scan_tail(self.directory, _list_segments(self.directory))
        self._fresh = True

    def read_batches(
        self, from_seq: int = 1, max_frames: int = 4096, *, verify_chain: bool = True
    ) -> Iterator[list[tuple[int, bytes]]]:
        """Frames from `from_seq` up to the tail found now, in lists of <= max_frames."""
        _check_read_args(from_seq, max_frames)
        if self._closed:
            raise ValueError(f"log reader {self.directory} is closed")
        self._tail_for_read()
        return iter_log(self.directory, from_seq, max_frames, verify_chain, self._tail)

    def read_blocks(
        self, from_seq: int = 1, *, verify_chain: bool = True, max_frames: int = 4096
    ) -> Iterator[Block | FrameBatch]:
        """The frames from `from_seq` up to the tail, a block (one append) at a time (v1
        segments: `max_frames` at a time); a block may start before `from_seq`. For
        decoding many records in one call."""
        _check_read_args(from_seq, max_frames)
        if self._closed:
            raise ValueError(f"log reader {self.directory} is closed")
        self._tail_for_read()
        return iter_log_blocks(self.directory, from_seq, verify_chain, self._tail, max_frames)

    def _tail_for_read(self) -> None:
        if not self._fresh:  # the first read after open/refresh uses that tail
            self.refresh()
        self._fresh = False

    def read(self, from_seq: int = 1, *, verify_chain: bool = True) -> Iterator[tuple[int, bytes]]:
        return (f for b in self.read_batches(from_seq, verify_chain=verify_chain) for f in b)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> FileLogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileLogReader({str(self.directory)!r}, last_seq={self.last_seq})"


# Remote backends by URL scheme, imported only when such a URL is opened: the file log
# (this package) sits below the edges, so it names them instead of importing them (and a
# process that reads folders never loads a NATS client).
_REMOTE_READERS = {"nats": ("adapters.nats.jslog", "open_jetstream_reader")}


def _remote_opener(scheme: str) -> Callable[[str, str, str], LogReader]:
    module, name = _REMOTE_READERS[scheme]
    return getattr(importlib.import_module(module), name)


def open_log_reader(url: str | os.PathLike[str] | LogReader) -> LogReader:
    """The `LogReader` for a log URL (see the module docstring); a reader passes through.

    Raises FileNotFoundError for a missing folder or stream, ValueError for a bad URL.
    """
    if isinstance(url, LogReader):
        return url
    text = os.fspath(url)
    if text.startswith(("nats://", "tls://")):
        servers, stream, partition = parse_nats_url(text)
        return _remote_opener("nats")(servers, stream, partition)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise ValueError(f"log URL {text!r}: give a folder, file://PATH or nats://…")
    return FileLogReader(text)
