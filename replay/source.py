"""Reading a log for replay: records in batches, with progress on stderr.

Owns: finding the log folder (`DATA` or `DATA/log`), reading frames read-only through
`adapters.log.filelog.read_log_batches` (never takes the writer lock, never modifies a file),
decoding them a batch at a time, `bulk()` (no GC pauses during a replay), the `--until
SEQ|TIME` parser, the progress bar, and `ReplayError` (a record that cannot be decoded or
folded).

Invariants:
- Records come in seq order, contiguous from `from_seq`, never past `stop_seq`.
- Every frame's crc32 and seq are checked by the reader; the hash chain too when
  `verify_chain` is asked for. Damage raises `adapters.log.ports.LogCorrupt` naming the
  segment file and byte offset.
- `decode_batch` gives exactly the records `engine.events.decode_record` gives (same
  type, same upcast); a payload that does not decode is named by its seq.
- `bulk()` pauses the cyclic garbage collector around a replay loop (and restores it).

Limits: one segment is held in memory at a time (the reader's limit); `BATCH_FRAMES`
frames per batch. TIME in `--until` is local (Asia/Shanghai, UTC+8) unless it names an
offset.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.filelog import read_log_batches
from engine import events as e

BATCH_FRAMES = 4096
FRAME_OVERHEAD_BYTES = 48  # frame header: crc, flags|length, seq, chain
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

_record_decoder = msgspec.msgpack.Decoder(e.Record)  # as engine.events.decode_record


class ReplayError(Exception):
    """A record that cannot be decoded, or does not fit the state it is folded into."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"record seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def log_dir(path: str | os.PathLike[str]) -> Path:
    """The log folder: `path` itself when it holds segments, else `path/log`."""
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"no log folder at {p}")
    if not any(p.glob("*.seg")) and (p / "log").is_dir():
        p = p / "log"
    if not any(p.glob("*.seg")):  # a reader never takes a stray folder for an empty log
        raise FileNotFoundError(f"no log at {p}: no segment files (*.seg)")
    return p


def log_bytes(directory: Path) -> int:
    """Total size of the segment files (the progress bar's total)."""
    return sum(f.stat().st_size for f in directory.glob("*.seg"))


def decode_batch(frames: list[tuple[int, bytes]]) -> list[e.Record]:
    """Decode frames (seq, payload) in one tight loop; upcast older records.

    Measured: one msgspec call over the batch framed as a msgpack array is slower than
    this (joining copies every byte, and per-call overhead is ~0.1 us), so frames are
    decoded one by one with a decoder built once.
    """
    decode = _record_decoder.decode
    try:
        records = [decode(p) for _, p in frames]
    except (msgspec.DecodeError, msgspec.ValidationError):
        for seq, payload in frames:  # name the frame at fault
            try:
                decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ReplayError(seq, f"payload does not decode as a record: {exc}") from None
        raise
    for i, rec in enumerate(records):
        if rec.v != e.SCHEMA_VERSION:
            try:
                records[i] = e.upcast(rec)
            except ValueError as exc:
                raise ReplayError(frames[i][0], str(exc)) from None
    return records


def read_records(
    directory: Path,
    *,
    from_seq: int = 1,
    stop_seq: int | None = None,
    verify_chain: bool = False,
    progress: Progress | None = None,
    batch_frames: int = BATCH_FRAMES,
) -> Iterator[list[tuple[int, e.Record]]]:
    """Batches of (seq, record) with from_seq <= seq <= stop_seq (to the end when None)."""
    for frames in read_log_batches(directory, from_seq, batch_frames, verify_chain=verify_chain):
        if stop_seq is not None and frames[0][0] > stop_seq:
            return
        if stop_seq is not None and frames[-1][0] > stop_seq:
            frames = frames[: stop_seq - frames[0][0] + 1]
        records = decode_batch(frames)
        if progress is not None:
            progress.update(sum(len(p) for _, p in frames) + FRAME_OVERHEAD_BYTES * len(frames))
        yield [(frames[i][0], records[i]) for i in range(len(frames))]
        if stop_seq is not None and frames[-1][0] >= stop_seq:
            return


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
    """A tqdm bar on stderr over log bytes; silent when quiet or stderr is not a tty."""

    def __init__(self, total_bytes: int, desc: str, *, quiet: bool = False) -> None:
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ModuleNotFoundError:  # the `bench` extra is not installed: no bar
                return

            self._bar = tqdm(
                total=total_bytes,
                desc=desc,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )

    def update(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.update(nbytes)

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
