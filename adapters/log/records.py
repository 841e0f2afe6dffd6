"""Records out of any log: frames read through a `LogReader`, decoded a batch at a time.

Owns: `read_records(reader, ...)` (batches of decoded records, for the stores, replay,
recovery and the scope index), `decode_batch` / `decode_block`, and `RecordError` (a frame
that does not decode, named by its seq).

How: a reader that offers `read_blocks` (the file log) hands over whole appends; the
payloads of a v2 block are one msgpack array on disk, so a group commit of records is
decoded by one msgspec call straight from the segment's bytes (no copy, no per-frame
call). Other readers (JetStream) hand over frames, decoded one by one. Either way the
records are the engine's structs, built by a codec whose wire-to-engine conversion is
generated once per event type (`_generated_converter`: the same structs as
`engine.record_codec.plain_converter`, several times faster).

Invariants:
- Batches are in seq order, contiguous from `from_seq`, never past `stop_seq` nor the
  reader's tail as of the call; a gap raises `RecordError`.
- The records equal what `engine.events.decode_record` gives for each payload (same
  type, same upcast); a payload that does not decode is named by its seq.

Limits: `max_frames` records per batch (4,096 by default); a v2 block is decoded whole
(one append: at most 65,536 records).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from adapters.log.format_v2 import Block
from adapters.log.ports import LogReader
from engine import events as e
from engine.record_codec import Converter, RecordCodec

BATCH_FRAMES = 4096
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


def _generated_converter(
    cls: type, wire: type[msgspec.Struct], id_field: str = "cmd_id"
) -> Converter:
    """(wire struct, command id) -> engine struct, as straight-line code generated from the
    struct's own field names (keyword arguments spelled out: no dict per event)."""
    names = [f.name for f in msgspec.structs.fields(wire)]
    if not all(n.isidentifier() for n in [*names, id_field]):
        raise ValueError(f"unexpected field names in {wire.__name__}: {names}")
    args = ", ".join(f"{n}=w.{n}" for n in names)
    scope: dict[str, Any] = {"cls": cls}
    exec(f"def convert(w, cmd_id):\n    return cls({id_field}=cmd_id, {args})\n", scope)
    return scope["convert"]


_codec = RecordCodec(e.Record, e.SCHEMA_VERSION, make_converter=_generated_converter)
# records without their recorded command (None), for readers that fold events only
_events_codec = RecordCodec(
    e.Record, e.SCHEMA_VERSION, make_converter=_generated_converter, with_command=False
)


def events_codec() -> RecordCodec:
    """The bulk codec without the recorded commands (for folds of the events only)."""
    return _events_codec


def bulk_codec() -> RecordCodec:
    """The codec the bulk readers decode with (generated converters)."""
    return _codec


class RecordError(Exception):
    """A frame that does not decode as a record (or, for replay, does not fold)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"record seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class RecordBatch:
    """Consecutive records from `first_seq`; their payloads are read on demand.

    `pieces` are (source, skip, n): n records of a source (a Block, a FrameBatch or a
    frame list) starting at its record `skip`, in order.
    """

    __slots__ = ("first_seq", "records", "_pieces")

    def __init__(
        self, first_seq: int, records: list[e.Record], pieces: list[tuple[Any, int, int]]
    ) -> None:
        self.first_seq = first_seq
        self.records = records
        self._pieces = pieces

    def payload(self, i: int) -> bytes:
        """The payload of record `i` of this batch."""
        for src, skip, n in self._pieces:
            if i < n:
                return src[skip + i][1] if isinstance(src, list) else src.payload(skip + i)
            i -= n
        raise IndexError("record index out of range")

    @property
    def frames(self) -> list[tuple[int, bytes]]:
        return [(self.first_seq + i, self.payload(i)) for i in range(len(self.records))]

    def pairs(self) -> list[tuple[int, e.Record]]:
        seq = self.first_seq
        return [(seq + i, r) for i, r in enumerate(self.records)]

    def __len__(self) -> int:
        return len(self.records)


def _upcast(records: list[e.Record], first_seq: int) -> list[e.Record]:
    for i, rec in enumerate(records):
        if rec.v != e.SCHEMA_VERSION:
            try:
                records[i] = e.upcast(rec)
            except ValueError as exc:
                raise RecordError(first_seq + i, str(exc)) from None
    return records


def decode_batch(frames: list[tuple[int, bytes]], commands: bool = True) -> list[e.Record]:
    """Decode frames (seq, payload) one by one; upcast older records. `commands=False`:
    without the recorded commands (see `engine.record_codec.RecordCodec`)."""
    decode = (_codec if commands else _events_codec).decode
    try:
        records = [decode(p) for _, p in frames]
    except _ERRORS:
        for seq, payload in frames:  # name the frame at fault
            try:
                decode(payload)
            except _ERRORS as exc:
                raise RecordError(seq, f"payload does not decode as a record: {exc}") from None
        raise
    return _upcast(records, frames[0][0] if frames else 0)


def decode_block(block: Any, commands: bool = True) -> list[e.Record]:
    """All records of a block (one msgspec call for a v2 block of schema 2 records)."""
    if isinstance(block, Block):
        codec = _codec if commands else _events_codec
        try:
            records = codec.decode_array(block.data[block.array_start : block.offsets[-1]])
        except _ERRORS:
            return decode_batch(block.frames(), commands)  # mixed or damaged: frame by frame
        return _upcast(records, block.first_seq)
    return decode_batch(block.frames(), commands)


def read_records(
    reader: LogReader,
    from_seq: int = 1,
    *,
    stop_seq: int | None = None,
    max_frames: int = BATCH_FRAMES,
    verify_chain: bool = False,
    commands: bool = True,
) -> Iterator[RecordBatch]:
    """Batches of records with from_seq <= seq <= stop_seq (to the reader's tail);
    `commands=False` leaves the recorded commands out (readers that fold events only)."""
    if stop_seq is not None and stop_seq < from_seq:
        return
    read_blocks = getattr(reader, "read_blocks", None)
    if read_blocks is not None:
        blocks = read_blocks(from_seq, verify_chain=verify_chain, max_frames=max_frames)
        yield from _from_blocks(blocks, from_seq, stop_seq, max_frames, commands)
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
        records = decode_batch(frames, commands)
        yield RecordBatch(frames[0][0], records, [(frames, 0, len(frames))])
        if stop_seq is not None and expect > stop_seq:
            return


def _from_blocks(
    blocks: Iterator[Any],
    from_seq: int,
    stop_seq: int | None,
    max_frames: int,
    commands: bool = True,
) -> Iterator[RecordBatch]:
    """Blocks decoded whole, their records regrouped into batches of `max_frames` (the
    last one of the read may be shorter)."""
    expect = start = from_seq
    records: list[e.Record] = []
    pieces: list[tuple[Any, int, int]] = []
    for block in blocks:
        first, count = block.first_seq, block.count
        if first + count <= expect:
            continue
        if first > expect:
            raise RecordError(expect, f"the log reader skipped from seq {expect} to {first}")
        decoded = decode_block(block, commands)
        at = expect - first
        end = count if stop_seq is None else min(count, stop_seq - first + 1)
        while at < end:
            take = min(end - at, max_frames - len(records))
            records.extend(decoded[at : at + take] if take < count else decoded)
            pieces.append((block, at, take))
            at += take
            if len(records) == max_frames:
                yield RecordBatch(start, records, pieces)
                start, records, pieces = first + at, [], []
        expect = first + end
        if stop_seq is not None and expect > stop_seq:
            break
    if records:
        yield RecordBatch(start, records, pieces)
