"""The bytes of a log record: schema 2 (compact arrays) written, schema 1 (maps) still read.

Owns: `RecordCodec` (built once for the engine's `Record` class): `encode` (schema 2),
`decode` (schema 1 or 2, by the record's first field), `decode_array` (a msgpack array of
records, e.g. one group commit of the file log, decoded by one msgspec call) and
`EVENT_CODES`, the stable integer tag of every event type on the wire.

Schema 2, the record as written:

    [2, cmd_id, [event, ...], <the Record's further fields, in order>]
    event   = [code, ts_ms, <the event's fields after cmd_id, in order>]
    command = [code, ts_ms, <the command's fields after command_id, in order>]  (or nil)

Events and the recorded command are arrays (no field names) tagged by a small integer,
and carry no command id: every event of a record, and its command, belong to the record's
command id, so it is written once, in the record, and given back to each when decoded. Nested structs (a policy,
its weights) stay maps. Schema 1 records are the engine structs as msgpack maps (string
tag `type`, `cmd_id` in every event); they decode as they always did and are brought to
schema 2 (`v`) by `upcast`.

Invariants:
- `decode(encode(r)) == r` for every record whose events carry its command id (or "");
  `encode` refuses an event that carries another command's id (a bug upstream).
- Codes in `EVENT_CODES` / `COMMAND_CODES` are never reused or renumbered: a new type
  appends a code.
  Fields are only ever appended with defaults (arrays shorter than the struct decode with
  the defaults), as the engine's schema rule already requires.
- Deterministic and pure: no clock, no I/O.

Limits: a decoded schema 2 event is built twice (wire struct, then the engine struct):
that conversion is the price of keeping the engine's structs as maps for JSON edges
(`plain_converter` here; the log's bulk reader passes a generated, faster one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import msgspec

from engine import commands as c
from engine import events as e

SCHEMA_V1 = 1  # events as maps with a string tag and a cmd_id each
SCHEMA_V2 = 2  # events as tagged arrays, command id once per record

# The wire tag of every event type. Append only: never reuse or renumber a code.
EVENT_CODES: dict[str, int] = {
    "PolicySet": 1,
    "StationRegistered": 2,
    "StationStatusChanged": 3,
    "EmployerRegistered": 4,
    "EmployerFlagged": 5,
    "WorkerRegistered": 6,
    "WorkerUpdated": 7,
    "WorkerErased": 8,
    "WorkerCheckedIn": 9,
    "WorkerCheckedOut": 10,
    "JobSubmitted": 11,
    "JobReviewed": 12,
    "JobCancelled": 13,
    "Tick": 14,
    "OfferAccepted": 15,
    "OfferDeclined": 16,
    "BellRung": 17,
    "WorkerArrived": 18,
    "NoShow": 19,
    "WorkCompleted": 20,
    "WagePaid": 21,
    "ComplaintFiled": 22,
    "ComplaintResolved": 23,
    "RatingGiven": 24,
    "JobPublished": 25,
    "JobHeldForReview": 26,
    "JobRejected": 27,
    "JobExpired": 28,
    "JobFilled": 29,
    "OfferMade": 30,
    "OfferExpired": 31,
    "OfferWithdrawn": 32,
    "HireConfirmed": 33,
    "PushSent": 34,
    "BellClosed": 35,
    "EmployerCleared": 36,
    # 60..69: complaint cases (issue 14, part B)
    "ComplaintStatusChanged": 60,
    "ComplaintOverdue": 61,
    # training and consultation (issue 15, WP-I4): codes from 80 so that work packages
    # landing together do not collide on 37, 38, ...
    "TrainingPublished": 80,
    "TrainingSignedUp": 81,
    "TrainingCompleted": 82,
    "PolicyAnswerPublished": 83,
    # 37-40 left to another work package of issue 14 (complaints, counter registration)
    "AgreementRecorded": 41,
    "ArrearsOpened": 42,
    "ArrearsClosed": 43,
    # a station's life (issue 15, WP-I2): codes from 90 so that work packages landing
    # together do not collide
    "StationChecked": 90,
}

# The wire tag of every command type (the recorded command, `Record.command`). Append only.
COMMAND_CODES: dict[str, int] = {
    "SetPolicy": 1,
    "RegisterStation": 2,
    "ChangeStationStatus": 3,
    "RegisterEmployer": 4,
    "FlagEmployer": 5,
    "RegisterWorker": 6,
    "UpdateWorker": 7,
    "EraseWorker": 8,
    "CheckIn": 9,
    "CheckOut": 10,
    "SubmitJob": 11,
    "ReviewJob": 12,
    "CancelJob": 13,
    "Advance": 14,
    "AcceptOffer": 15,
    "DeclineOffer": 16,
    "RingBell": 17,
    "ConfirmArrival": 18,
    "ReportNoShow": 19,
    "CompleteWork": 20,
    "PayWage": 21,
    "FileComplaint": 22,
    "ResolveComplaint": 23,
    "Rate": 24,
    # 60..69: complaint cases (issue 14, part B)
    "ChangeComplaintStatus": 60,
    # training and consultation (issue 15, WP-I4), from 80 (see EVENT_CODES)
    "PublishTraining": 80,
    "SignUpTraining": 81,
    "CompleteTraining": 82,
    "PublishPolicyAnswer": 83,
    # a station's life (issue 15, WP-I2), from 90 (see EVENT_CODES)
    "ApplyStation": 90,
    "ReviewStation": 91,
    "ApproveStation": 92,
    "FileStation": 93,
    "OrderRectification": 94,
    "ConfirmRectification": 95,
    "RevokeStation": 96,
}

_NO_DEFAULT = msgspec.NODEFAULT


def _wire_field(f: msgspec.structs.FieldInfo, typ: Any = None) -> tuple[Any, ...]:
    typ = f.type if typ is None else typ
    if f.default_factory is not _NO_DEFAULT:
        return (f.name, typ, msgspec.field(default_factory=f.default_factory))
    if f.default is not _NO_DEFAULT:
        return (f.name, typ, f.default)
    return (f.name, typ)


def _wire_struct(cls: type, code: int, id_field: str = "cmd_id") -> type[msgspec.Struct]:
    """The array form of an event (or command) class: its fields but the command id, an
    integer tag."""
    fields = [_wire_field(f) for f in msgspec.structs.fields(cls) if f.name != id_field]
    return msgspec.defstruct(
        cls.__name__ + "Wire", fields, array_like=True, tag=code, frozen=True, kw_only=True
    )


Converter = Callable[[Any, str], Any]  # (wire struct, command id) -> engine struct


def plain_converter(cls: type, wire: type[msgspec.Struct], id_field: str = "cmd_id") -> Converter:
    """(wire struct, command id) -> the engine struct (`id_field` set to the command id)."""
    names = tuple(f.name for f in msgspec.structs.fields(wire))
    astuple = msgspec.structs.astuple

    def convert(w: Any, cmd_id: str) -> Any:
        return cls(**{id_field: cmd_id}, **dict(zip(names, astuple(w), strict=True)))

    return convert


class RecordCodec:
    """Encoder and decoders of one `Record` class (built once, at import of its module)."""

    def __init__(
        self,
        record_cls: type[msgspec.Struct],
        schema_version: int = SCHEMA_V2,
        make_converter: Callable[..., Converter] = plain_converter,
        with_command: bool = True,
    ) -> None:
        """`make_converter(engine class, wire class, id_field)` builds each type's wire ->
        engine conversion; a bulk reader may pass a faster one building the same structs.
        `with_command=False` decodes records without their recorded command (`command` is
        None): for readers that only fold the events (projections, rebuild), the command's
        bytes are skipped, not parsed."""
        self.record_cls = record_cls
        self._with_command = with_command
        self.schema_version = schema_version
        missing = [c.__name__ for c in e.ALL_TYPES if c.__name__ not in EVENT_CODES]
        if missing:
            raise ValueError(f"event types without a wire code: {missing}")
        self._code: dict[type, int] = {c: EVENT_CODES[c.__name__] for c in e.ALL_TYPES}
        wires = {c: _wire_struct(c, EVENT_CODES[c.__name__]) for c in e.ALL_TYPES}
        self.wire_of: dict[type, type] = wires  # engine event class -> its wire struct
        self._convert: dict[type, Converter] = {w: make_converter(c, w) for c, w in wires.items()}
        rec_fields = msgspec.structs.fields(record_cls)
        if [f.name for f in rec_fields[:3]] != ["v", "cmd_id", "events"]:
            raise ValueError("a Record starts with v, cmd_id, events")
        self._extra = [f.name for f in rec_fields[3:]]
        any_wire = Union[tuple(wires.values())]  # noqa: UP007 (a runtime union of classes)
        types: dict[str, Any] = {"events": list[any_wire]}
        self._cmd_code: dict[type, int] = {}
        if "command" in self._extra:  # the recorded command: a tagged array without its id
            cmds = {cls: COMMAND_CODES[name] for name, cls in c.COMMAND_TYPES.items()}
            cmd_wires = {cls: _wire_struct(cls, code, "command_id") for cls, code in cmds.items()}
            self._cmd_code = cmds
            for cls, w in cmd_wires.items():
                self._convert[w] = make_converter(cls, w, "command_id")
            types["command"] = (
                Union[tuple(cmd_wires.values())] | None  # noqa: UP007
                if with_command
                else msgspec.Raw
            )
        wire_record = msgspec.defstruct(
            "RecordWire",
            [_wire_field(f, types.get(f.name)) for f in rec_fields],
            array_like=True,
            frozen=True,
        )
        self._wire_record = wire_record
        self._encoder = msgspec.msgpack.Encoder()
        self._v1 = msgspec.msgpack.Decoder(record_cls)
        self._v2 = msgspec.msgpack.Decoder(wire_record)
        self._v2_array = msgspec.msgpack.Decoder(list[wire_record])

    # ------------------------------------------------------------ encoding ----------

    def encode(self, record: Any) -> bytes:
        """Schema 2 bytes of `record` (whatever its `v`: records are written as schema 2)."""
        cmd_id = record.cmd_id
        code = self._code
        astuple = msgspec.structs.astuple
        events = []
        for ev in record.events:
            t = astuple(ev)
            if t[1] and t[1] != cmd_id:
                raise ValueError(
                    f"{type(ev).__name__} carries command id {t[1]!r} in a record of "
                    f"{cmd_id!r}: every event of a record belongs to its command"
                )
            events.append((code[type(ev)], t[0], *t[2:]))
        extra = [getattr(record, name) for name in self._extra]
        if self._cmd_code and record.command is not None:
            t = astuple(record.command)
            if t[0] and t[0] != cmd_id:
                raise ValueError(f"the recorded command {t[0]!r} is not the record's {cmd_id!r}")
            extra[self._extra.index("command")] = (self._cmd_code[type(record.command)], *t[1:])
        return self._encoder.encode((self.schema_version, cmd_id, events, *extra))

    # ------------------------------------------------------------ decoding ----------

    def decode(self, payload: bytes | memoryview) -> Any:
        """One record of schema 1 or 2, as the engine's `Record` (raises msgspec errors)."""
        if _schema(payload) == SCHEMA_V1:
            return self._v1.decode(payload)
        return self._from_wire(self._v2.decode(payload))

    def decode_array(self, data: bytes | memoryview) -> list[Any]:
        """A msgpack array of schema 2 records in one call (raises if any is not one)."""
        return [self._from_wire(w) for w in self._v2_array.decode(data)]

    def _from_wire(self, w: Any) -> Any:
        cmd_id = w.cmd_id
        convert = self._convert
        events = [convert[type(ev)](ev, cmd_id) for ev in w.events]
        extra = {name: getattr(w, name) for name in self._extra}
        cmd = extra.get("command")
        if not self._with_command:
            extra["command"] = None if "command" in extra else extra.get("command")
        elif cmd is not None:
            extra["command"] = convert[type(cmd)](cmd, cmd_id)
        return self.record_cls(v=w.v, cmd_id=cmd_id, events=events, **extra)

    def decode_array_wire(self, data: bytes | memoryview) -> list[Any]:
        """A msgpack array of schema 2 records as wire structs, not converted: for a bulk
        fold that only reads fields (the same names as the engine's, but no `cmd_id`)."""
        return self._v2_array.decode(data)


def _schema(payload: bytes | memoryview) -> int:
    """The `v` of a record: its first array element (a positive fixint)."""
    if len(payload) < 2 or payload[0] & 0xF0 != 0x90:
        raise msgspec.DecodeError("a record is a msgpack array of 3 to 15 fields")
    return payload[1]
