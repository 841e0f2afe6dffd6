"""Reading a log for replay: records in batches, with progress on stderr.

Owns: opening the log a replay command names (`open_reader`: a folder, `DATA` or
`DATA/log`, or `nats://host:port/STREAM/PARTITION`, through the one read port
`adapters.log.reader.open_log_reader`), reading its records a batch at a time
(`read_records`, over `adapters.log.records`), `bulk()` (no GC pauses during a replay),
the `--until SEQ|TIME` parser, the progress bar, and `ReplayError` (a record that cannot
be decoded or folded).

Invariants:
- Records come in seq order, contiguous from `from_seq`, never past `stop_seq`.
- Every frame's integrity and seq are checked by the reader; the hash chain too when
  `verify_chain` is asked for. Damage raises `adapters.log.ports.LogCorrupt` naming the
  segment file (or stream) and byte offset (or stream seq).
- Opening never creates anything: a missing folder or stream is a FileNotFoundError.
- `bulk()` pauses the cyclic garbage collector around a replay loop (and restores it).

Limits: one segment is held in memory at a time (the file reader's limit); `BATCH_FRAMES`
frames per batch. TIME in `--until` is local (Asia/Shanghai, UTC+8) unless it names an
offset.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from adapters.log.ports import LogReader
from adapters.log.reader import open_log_reader
from adapters.log.records import BATCH_FRAMES, RecordError, decode_batch
from adapters.log.records import read_records as _read_record_batches
from engine import events as e

__all__ = [
    "BATCH_FRAMES",
    "ReplayError",
    "decode_batch",
    "open_reader",
    "read_records",
    "reads_log",
]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

ReplayError = RecordError  # a record that cannot be decoded or folded, named by its seq


def open_reader(log: str | os.PathLike[str] | LogReader) -> LogReader:
    """The reader of the log a replay command names (a folder, DATA, or a nats:// URL)."""
    return open_log_reader(log)


F = TypeVar("F", bound=Callable[..., Any])


def reads_log(fn: F) -> F:
    """Call `fn` with its first argument (a log URL, folder or reader) opened as a reader,
    and close that reader afterwards when it was opened here."""

    @functools.wraps(fn)
    def wrapper(log: Any, *args: Any, **kwargs: Any) -> Any:
        reader = open_log_reader(log)
        try:
            return fn(reader, *args, **kwargs)
        finally:
            if reader is not log:
                reader.close()

    return wrapper  # type: ignore[return-value]


def read_records(
    reader: LogReader,
    *,
    from_seq: int = 1,
    stop_seq: int | None = None,
    verify_chain: bool = False,
    progress: Progress | None = None,
    batch_frames: int = BATCH_FRAMES,
) -> Iterator[list[tuple[int, e.Record]]]:
    """Batches of (seq, record) with from_seq <= seq <= stop_seq (to the end when None)."""
    for batch in _read_record_batches(
        reader, from_seq, stop_seq=stop_seq, max_frames=batch_frames, verify_chain=verify_chain
    ):
        if progress is not None:
            progress.update(len(batch))
        yield batch.pairs()


@contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while a replay builds millions of long-lived objects.

    Every full collection walks the whole (growing) state: on a million-event log that
    costs more than decoding. Replay creates almost no reference cycles, so reference
    counting frees what it drops; collection resumes when the replay ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ------------------------------------------------------------------ --until ---------


class Until(msgspec.Struct, frozen=True, kw_only=True):
    """Where a rebuild stops: after record `seq`, or after the last record at `ts_ms`."""

    seq: int | None = None
    ts_ms: int | None = None

    def describe(self) -> str:
        if self.seq is not None:
            return f"seq {self.seq}"
        if self.ts_ms is not None:
            return f"{local_time(self.ts_ms)} (+08:00)"
        return "end of log"


def parse_until(text: str | None) -> Until:
    """`1234` (a seq), `2026-11-23T08:30[:ss]` (local time), or `ms:<epoch ms>`."""
    if text is None or text == "":
        return Until()
    text = text.strip()
    if text.isdigit():
        if int(text) < 0:
            raise ValueError("--until seq must be >= 0")
        return Until(seq=int(text))
    if text.startswith("ms:") and text[3:].isdigit():
        return Until(ts_ms=int(text[3:]))
    try:
        when = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ValueError(
            f"--until {text!r}: give a seq (1234), a local time (2026-11-23T08:30) or ms:<epoch>"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SHANGHAI)
    return Until(ts_ms=int(when.timestamp() * 1000))


def local_time(ts_ms: int) -> str:
    """Epoch ms as local (Asia/Shanghai) ISO time, seconds precision."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S")


# ------------------------------------------------------------------ progress --------


class Progress:
    """A tqdm bar on stderr over records; silent when quiet or stderr is not a tty."""

    def __init__(self, total_records: int, desc: str, *, quiet: bool = False) -> None:
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ModuleNotFoundError:  # the `bench` extra is not installed: no bar
                return

            self._bar = tqdm(
                total=total_records,
                desc=desc,
                unit="rec",
                unit_scale=True,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )

    def update(self, records: int) -> None:
        if self._bar is not None:
            self._bar.update(records)

    def note(self, **fields: object) -> None:
        if self._bar is not None:
            self._bar.set_postfix(fields, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
