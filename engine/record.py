"""The log record: one accepted command, who sent it, and the events it produced.

Owns: `Record` and its msgpack encoding (`encode_record`, `decode_record`, `upcast`), the
command digest that binds an idempotency key to one request (`command_digest`), and
`recorded_command`, the form of a command that may be written to the log.

Invariants:
- A record is one log frame: a command's events are never split, so a torn write cannot
  keep a fact without the decisions taken on it. `events[0]` is the fact.
- `Record` is array-like msgpack; fields are only ever appended with defaults, so records
  written before `command`, `actor` and `digest` existed (3 elements) still decode. Its
  bytes are `engine.record_codec`'s: schema 2 (events as integer-tagged arrays, the
  command id once per record) is written; schema 1 (events as maps) is still read and
  brought to schema 2 by `upcast`.
- The recorded command carries no plain personal data: `personal` and `contact` are
  emptied (their sealed blob is in the event), a person employer's name is masked, and
  complaint text and the notes of complaint steps keep phone and ID numbers masked (the
  full text is sealed in the event).
- `command_digest` is BLAKE2b-64 of the canonical msgpack (sorted map keys) of the
  recorded command with `command_id` "" and `ts_ms` 0: the same request retried has the
  same digest, another request (other fields, or another command type) has another. The
  plain personal data does not enter it: the digest stays in the log after an erasure,
  and a hash of a phone number can be reversed by trying them all. Two requests that
  differ only in personal data therefore count as the same request.

Limits: the size of a record is bounded by the command bounds (`engine.bounds`) and the
per-command work limits of `engine.react`; the log refuses frames above its own limit.
"""

from __future__ import annotations

import functools
import hashlib

import msgspec

from engine import commands as c
from engine.events import SCHEMA_VERSION, AnyEvent, Event
from engine.idnumbers import mask_name, mask_pii_in_text
from engine.record_codec import RecordCodec

DIGEST_BYTES = 8


class Record(msgspec.Struct, frozen=True, array_like=True):
    """One log frame's payload: the events one command produced, in order."""

    v: int
    cmd_id: str
    events: list[AnyEvent]
    command: c.AnyCommand | None = None  # as recorded (see `recorded_command`)
    actor: str = ""  # the caller's actor id ("" in records written before callers)
    digest: bytes = b""  # `command_digest` of the command ("" before digests)


_canonical = msgspec.msgpack.Encoder(order="deterministic")


@functools.cache
def record_codec() -> RecordCodec:
    """The codec of `Record` (schema 2 written; schema 1 read), built on first use."""
    return RecordCodec(Record, SCHEMA_VERSION)


def make_record(
    cmd_id: str,
    events: list[Event],
    *,
    command: c.Command | None = None,
    actor: str = "",
    digest: bytes = b"",
) -> Record:
    return Record(
        v=SCHEMA_VERSION,
        cmd_id=cmd_id,
        events=events,  # type: ignore[arg-type]
        command=command,  # type: ignore[arg-type]
        actor=actor,
        digest=digest,
    )


def encode_record(record: Record) -> bytes:
    return record_codec().encode(record)


def decode_record(payload: bytes) -> Record:
    record = record_codec().decode(payload)
    if record.v != SCHEMA_VERSION:
        return upcast(record)
    return record


def upcast(record: Record) -> Record:
    """Bring an older record to the current schema.

    Schema 1 differs from 2 only in its bytes (events as maps, each with the command id):
    decoded, its records are the same structs, so only `v` changes.
    """
    if record.v > SCHEMA_VERSION:
        raise ValueError(
            f"record schema version {record.v} is newer than this engine ({SCHEMA_VERSION})"
        )
    if record.v == 1:
        return msgspec.structs.replace(record, v=SCHEMA_VERSION)
    return record


def command_digest(cmd: c.Command) -> bytes:
    """BLAKE2b-64 of `cmd` as recorded, without its id and time (see the invariants)."""
    bare = msgspec.structs.replace(recorded_command(cmd), command_id="", ts_ms=0)
    return hashlib.blake2b(_canonical.encode(bare), digest_size=DIGEST_BYTES).digest()


def recorded_command(cmd: c.Command) -> c.Command:
    """`cmd` as it may be written to the log: no plain personal data."""
    if isinstance(cmd, c.RegisterWorker):
        return msgspec.structs.replace(cmd, personal=c.Personal())
    if isinstance(cmd, c.RegisterEmployer):
        name = mask_name(cmd.name) if cmd.kind == "person" else cmd.name
        return msgspec.structs.replace(cmd, name=name, contact=c.Personal())
    if isinstance(cmd, c.ApplyStation):  # the 负责人: masked name only (sealed in the fact)
        return msgspec.structs.replace(cmd, head=c.Personal(name=mask_name(cmd.head.name)))
    if isinstance(cmd, c.FileComplaint):
        return msgspec.structs.replace(cmd, text=mask_pii_in_text(cmd.text))
    if isinstance(cmd, c.ChangeComplaintStatus):
        return msgspec.structs.replace(cmd, note=mask_pii_in_text(cmd.note))
    return cmd
