"""Records out of any log: frames read through a `LogReader`, decoded a batch at a time.

Owns: `read_records(reader, ...)` (batches of frames and their decoded records, for the
stores, replay, recovery and the scope index), `decode_batch` and `RecordError` (a frame
that does not decode, named by its seq).

Invariants:
- Batches are in seq order, contiguous from `from_seq`, never past `stop_seq` nor the
  reader's tail as of the call; a gap raises `RecordError`.
- `decode_batch` gives exactly the records `engine.events.decode_record` gives (same
  type, same upcast).

Limits: `max_frames` frames per batch (4,096 by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import msgspec

from adapters.log.ports import LogReader
from engine import events as e

BATCH_FRAMES = 4096

_record_decoder = msgspec.msgpack.Decoder(e.Record)  # as engine.events.decode_record


class RecordError(Exception):
    """A frame that does not decode as a record (or, for replay, does not fold)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"record seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class RecordBatch(NamedTuple):
    """Frames (seq, payload) and their records, index for index."""

    frames: list[tuple[int, bytes]]
    records: list[e.Record]

    def pairs(self) -> list[tuple[int, e.Record]]:
        frames, records = self.frames, self.records
        return [(frames[i][0], records[i]) for i in range(len(frames))]


def decode_batch(frames: list[tuple[int, bytes]]) -> list[e.Record]:
    """Decode frames (seq, payload) in one tight loop; upcast older records."""
    decode = _record_decoder.decode
    try:
        records = [decode(p) for _, p in frames]
    except (msgspec.DecodeError, msgspec.ValidationError):
        for seq, payload in frames:  # name the frame at fault
            try:
                decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise RecordError(seq, f"payload does not decode as a record: {exc}") from None
        raise
    for i, rec in enumerate(records):
        if rec.v != e.SCHEMA_VERSION:
            try:
                records[i] = e.upcast(rec)
            except ValueError as exc:
                raise RecordError(frames[i][0], str(exc)) from None
    return records


def read_records(
    reader: LogReader,
    from_seq: int = 1,
    *,
    stop_seq: int | None = None,
    max_frames: int = BATCH_FRAMES,
    verify_chain: bool = False,
) -> Iterator[RecordBatch]:
    """Batches of frames and records with from_seq <= seq <= stop_seq (to the tail)."""
    if stop_seq is not None and stop_seq < from_seq:
        return
    expect = from_seq
    for frames in reader.read_batches(from_seq, max_frames, verify_chain=verify_chain):
        if not frames:
            continue
        if frames[0][0] != expect:
            raise RecordError(expect, f"the log reader skipped from seq {expect} to {frames[0][0]}")
        if stop_seq is not None and frames[-1][0] > stop_seq:
            frames = frames[: stop_seq - frames[0][0] + 1]
        expect = frames[-1][0] + 1
        yield RecordBatch(frames, decode_batch(frames))
        if stop_seq is not None and expect > stop_seq:
            return
