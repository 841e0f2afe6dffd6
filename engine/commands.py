"""The commands front ends send (HTTP, NATS, CLI), their bounds, and the typed refusal.

Owns: command structs (one tagged union, `AnyCommand`), `Point` (coordinates with their
datum), `Personal` (plain personal data, only ever inside a command), `Refusal`, and the
strict decoders: `admit(type, JSON bytes | builtins)` for transports and `check(cmd)` for
commands built in-process.

Invariants:
- Bounds are declared once, as msgspec constraints on the fields (`engine.bounds`); bodies
  of HTTP/NATS requests are derived from these fields. Decoding is strict: no strings for
  numbers, unknown fields refused, every number and string bounded.
- Every command carries `command_id` (the idempotency key, "<caller namespace>:<key>")
  and `ts_ms` (stamped by the server from its clock, never taken from a client); the core
  never reads a clock.
- Plain personal data lives only in commands; events and recorded commands carry masked
  strings and a blob sealed by the shell (`engine.record.recorded_command`).
- A `Refusal` names the field and the rule; a refused command changes nothing. Refusal
  messages never echo more than `MAX_ECHO` characters of a value.

Limits: see `engine.bounds`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from engine.bounds import (
    Actor,
    AreaM2,
    BirthYear,
    Capacity,
    CommandId,
    Contact,
    Days,
    DerivedId,
    Fen,
    Fen0,
    Headcount,
    Hotline,
    Id,
    Lat,
    Lng,
    Minute,
    Ms,
    Name,
    Note,
    OptId,
    OptMs,
    OptSkill,
    Pieces,
    Reason,
    Region,
    RegionPrefix,
    Short,
    Skill,
    Skills,
    StaffCount,
    Stars,
    Text,
    Title,
    Uscc,
)
from engine.events import (
    ComplaintKind,
    ComplaintStep,
    EmployerKind,
    FlagReason,
    InsurancePayer,
    MarketType,
    PayUnit,
    Policy,
    PriorityGroup,
    SignUpChannel,
    StationKind,
    StationService,
    TravelMode,
    WageMethod,
)

Datum = Literal["wgs84", "gcj02", "bd09"]
MAX_ECHO = 40  # characters of a value a refusal message may quote
MAX_FILING_NO = 64  # a 备案号


class Point(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lat: Lat
    lng: Lng
    datum: Datum = "wgs84"  # Amap/Tencent send GCJ-02, Baidu BD-09


class Personal(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name = ""
    mobile: Contact = ""
    id_number: Contact = ""  # 公民身份号码 (GB 11643), optional


class Command(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag=True,
    forbid_unknown_fields=True,
):
    command_id: CommandId
    ts_ms: Ms


class SetPolicy(Command, frozen=True, kw_only=True):
    region: RegionPrefix  # "" national default, "42" province, "4206" city ...
    policy: Policy
    note: Short = ""
    # the bureau's reason for keeping a policy that fails the fairness aims (recorded)
    fairness_exception_reason: Short = ""


class RegisterStation(Command, frozen=True, kw_only=True):
    station_id: Id
    name: Title
    kind: StationKind
    market_type: MarketType = "general"
    parent_id: OptId = ""
    region: Region
    location: Point
    area_m2: AreaM2 = 0
    address: Short = ""


class ChangeStationStatus(Command, frozen=True, kw_only=True):
    """An admin's direct status change (outside the application life cycle)."""

    station_id: Id
    status: Literal["applied", "approved", "suspended", "revoked"]
    reason: Note = ""


# ---- a station's life (Xiangyang art. 8-11, 17; Linfen 三): engine.station_life -------
# `by` is the account taking the step, stamped from the caller (it must be the caller's).


class ApplyStation(Command, frozen=True, kw_only=True):
    """申报: the application with its materials; checked against the region's conditions."""

    station_id: Id
    name: Title
    kind: StationKind
    market_type: MarketType = "general"
    parent_id: OptId = ""
    region: Region
    location: Point
    address: Short = ""
    area_m2: AreaM2  # 服务场所面积
    head: Personal  # 负责人 (sealed; the event keeps the masked name)
    hotline: Hotline = ""  # 服务热线
    open_min: Minute = 0  # opening hours, local minutes of the day
    close_min: Minute = 0
    services: Annotated[tuple[StationService, ...], Meta(max_length=16)] = ()
    staff_count: StaffCount = 0  # 专(兼)职工作人员
    by: Actor = ""


class ReviewStation(Command, frozen=True, kw_only=True):
    """审核 (公共就业和人才服务机构): passed only if every condition is met."""

    station_id: Id
    passed: bool
    note: Note = ""
    by: Actor = ""


class ApproveStation(Command, frozen=True, kw_only=True):
    """批准 (人社部门), by another account than the applicant's and the reviewer's."""

    station_id: Id
    note: Note = ""
    by: Actor = ""


class FileStation(Command, frozen=True, kw_only=True):
    """备案 (市劳动就业管理局), by a third account."""

    station_id: Id
    filing_no: Annotated[str, Meta(min_length=1, max_length=MAX_FILING_NO)]
    by: Actor = ""


class OrderRectification(Command, frozen=True, kw_only=True):
    """限期整改: what to fix and within how many days; missed, the engine revokes."""

    station_id: Id
    items: Annotated[str, Meta(min_length=1, max_length=500)]
    days: Days
    by: Actor = ""


class ConfirmRectification(Command, frozen=True, kw_only=True):
    """整改到位: back to approved (by another account than the one who ordered it)."""

    station_id: Id
    note: Note = ""
    by: Actor = ""


class RevokeStation(Command, frozen=True, kw_only=True):
    """撤销: the policy decides what happens to the stations below and their postings."""

    station_id: Id
    reason: Reason
    by: Actor = ""


class RegisterEmployer(Command, frozen=True, kw_only=True):
    employer_id: Id
    kind: EmployerKind
    name: Title  # organisation name, or a person's name (personal data)
    uscc: Uscc = ""  # required for organisations (GB 32100)
    region: Region
    contact: Personal = Personal()


class FlagEmployer(Command, frozen=True, kw_only=True):
    employer_id: Id
    reason: FlagReason
    staff_id: OptId = ""  # stamped from the caller


class RegisterWorker(Command, frozen=True, kw_only=True):
    worker_id: Id
    region: Region
    personal: Personal
    skills: Skills
    min_pay_fen: Fen0
    birth_year: BirthYear = 0  # 0: taken from the ID number
    priority_group: PriorityGroup = ""
    home: Point
    travel_mode: TravelMode = "walk"
    push_opt_in: bool = False
    quiet_start_min: Minute = 22 * 60
    quiet_end_min: Minute = 5 * 60  # the morning market (05:00-07:00) gets its pushes
    station_id: OptId = ""  # the registering station (its staff may erase the worker)


class UpdateWorker(Command, frozen=True, kw_only=True):
    """Change some fields; `None` keeps the current value."""

    worker_id: Id
    skills: Skills | None = None
    min_pay_fen: Fen0 | None = None
    priority_group: PriorityGroup | None = None
    home: Point | None = None
    travel_mode: TravelMode | None = None
    push_opt_in: bool | None = None
    quiet_start_min: Minute | None = None
    quiet_end_min: Minute | None = None


class EraseWorker(Command, frozen=True, kw_only=True):
    """PIPL art. 47 erasure: by admin or the worker's registering station, with a reason."""

    worker_id: Id
    reason: Reason


class CheckIn(Command, frozen=True, kw_only=True):
    worker_id: Id
    station_id: OptId = ""  # "" when checking in at a location (app)
    location: Point | None = None  # default: the station's location
    available_until_ms: OptMs = 0  # 0: end of the local day


class CheckOut(Command, frozen=True, kw_only=True):
    worker_id: Id


class SubmitJob(Command, frozen=True, kw_only=True):
    job_id: Id
    employer_id: Id
    station_id: Id
    title: Title
    description: Text = ""
    skill: Skill
    headcount: Headcount
    pay_fen: Fen
    pay_unit: PayUnit = "day"
    start_ms: Ms
    end_ms: Ms
    location: Point
    address: Short = ""
    # terms of the agreement a hire records (issue 14): a piece rate's expected pieces
    # (for the expected total), who pays the daily injury insurance and its policy number
    expected_pieces: Pieces = 0
    insurance_payer: InsurancePayer = ""
    insurance_policy_no: Short = ""


class ReviewJob(Command, frozen=True, kw_only=True):
    job_id: Id
    staff_id: Id  # stamped from the caller
    station_id: Id  # the reviewer's station: must be the collecting station
    approve: bool
    note: Note = ""


class CancelJob(Command, frozen=True, kw_only=True):
    job_id: Id
    reason: Short = ""


class Advance(Command, frozen=True, kw_only=True):
    """Time passes (appended as a `Tick`)."""


class AcceptOffer(Command, frozen=True, kw_only=True):
    offer_id: DerivedId
    worker_id: Id


class DeclineOffer(Command, frozen=True, kw_only=True):
    offer_id: DerivedId
    worker_id: Id
    reason: Short = ""


class RingBell(Command, frozen=True, kw_only=True):
    """Opening bell: match all open slots and waiting workers of a station or region."""

    station_id: OptId = ""
    region: RegionPrefix = ""
    staff_id: OptId = ""  # stamped from the caller


class ConfirmArrival(Command, frozen=True, kw_only=True):
    hire_id: DerivedId


class ReportNoShow(Command, frozen=True, kw_only=True):
    hire_id: DerivedId


class CompleteWork(Command, frozen=True, kw_only=True):
    hire_id: DerivedId


class PayWage(Command, frozen=True, kw_only=True):
    hire_id: DerivedId
    amount_fen: Fen
    method: WageMethod = "cash"


class FileComplaint(Command, frozen=True, kw_only=True):
    """A complaint names the hire it is about; its text may hold contact details (sealed)."""

    complaint_id: Id
    kind: ComplaintKind
    employer_id: Id
    hire_id: DerivedId
    worker_id: OptId = ""  # "" or the hire's worker (the complainant)
    text: Text = ""


class ResolveComplaint(Command, frozen=True, kw_only=True):
    complaint_id: Id
    upheld: bool
    note: Note = ""


class ChangeComplaintStatus(Command, frozen=True, kw_only=True):
    """A step of a complaint case by the answering station's staff (or an admin): open ->
    accepted -> investigating -> resolved | rejected. The note is told to the complainant
    and may hold contact details (sealed like complaint text)."""

    complaint_id: Id
    status: ComplaintStep
    staff_id: OptId = ""  # from the token
    note: Note = ""


class Rate(Command, frozen=True, kw_only=True):
    hire_id: DerivedId
    by: Literal["worker", "employer"]
    stars: Stars


# ---- training and consultation (issue 15) ------------------------------------------


class PublishTraining(Command, frozen=True, kw_only=True):
    """A station publishes a training session (培训报名, Xiangyang art. 3)."""

    training_id: Id
    station_id: Id
    title: Title
    description: Text = ""
    skill: OptSkill = ""  # a 大典 code (or legacy code); "" for a general session
    start_ms: Ms
    end_ms: Ms
    capacity: Capacity
    address: Short = ""
    staff_id: Id  # stamped from the caller


class SignUpTraining(Command, frozen=True, kw_only=True):
    """A worker signs up: at the counter (station staff), by app (front end) or by SMS
    reply (the SMS gateway); the channel must be the caller's."""

    training_id: Id
    worker_id: Id
    channel: SignUpChannel


class CompleteTraining(Command, frozen=True, kw_only=True):
    """Station staff record that a signed-up worker completed the session."""

    training_id: Id
    worker_id: Id
    staff_id: Id  # stamped from the caller


class PublishPolicyAnswer(Command, frozen=True, kw_only=True):
    """A station publishes a policy Q&A entry (政策咨询, Shandong 四(四), Guangxi 四(三))."""

    entry_id: Id
    station_id: Id
    topic: Title
    question: Note
    answer: Text
    staff_id: Id  # stamped from the caller


AnyCommand = (
    SetPolicy
    | RegisterStation
    | ChangeStationStatus
    | RegisterEmployer
    | FlagEmployer
    | RegisterWorker
    | UpdateWorker
    | EraseWorker
    | CheckIn
    | CheckOut
    | SubmitJob
    | ReviewJob
    | CancelJob
    | Advance
    | AcceptOffer
    | DeclineOffer
    | RingBell
    | ConfirmArrival
    | ReportNoShow
    | CompleteWork
    | PayWage
    | FileComplaint
    | ResolveComplaint
    | Rate
    | ChangeComplaintStatus
    | PublishTraining
    | SignUpTraining
    | CompleteTraining
    | PublishPolicyAnswer
    | ApplyStation
    | ReviewStation
    | ApproveStation
    | FileStation
    | OrderRectification
    | ConfirmRectification
    | RevokeStation
)

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        SetPolicy,
        RegisterStation,
        ChangeStationStatus,
        RegisterEmployer,
        FlagEmployer,
        RegisterWorker,
        UpdateWorker,
        EraseWorker,
        CheckIn,
        CheckOut,
        SubmitJob,
        ReviewJob,
        CancelJob,
        Advance,
        AcceptOffer,
        DeclineOffer,
        RingBell,
        ConfirmArrival,
        ReportNoShow,
        CompleteWork,
        PayWage,
        FileComplaint,
        ResolveComplaint,
        Rate,
        ChangeComplaintStatus,
        PublishTraining,
        SignUpTraining,
        CompleteTraining,
        PublishPolicyAnswer,
        ApplyStation,
        ReviewStation,
        ApproveStation,
        FileStation,
        OrderRectification,
        ConfirmRectification,
        RevokeStation,
    )
}

# ------------------------------------------------------------------ refusals ------


def clip(value: object, limit: int = MAX_ECHO) -> str:
    """`value` as text of at most `limit` characters (what a refusal may echo)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_AT = " - at `$"
_QUOTED = re.compile(r"'([^']*)'")
_MISSING_OR_UNKNOWN = re.compile(r"^Object (missing required|contains unknown) field `(.*)`$")
_COMPARISON = re.compile(r"^Expected `\w+` (>=|<=|>|<) ")


def _validation_rule(text: str, path: str) -> tuple[str, str]:
    """(field, rule) of a msgspec validation message without its " - at `$...`" part."""
    field = path or "body"
    found = _MISSING_OR_UNKNOWN.match(text)
    if found is not None:
        name = clip(found.group(2))
        field = f"{path}.{name}" if path else name
        return field, "required" if found.group(1) == "missing required" else "unknown_field"
    if "of length <=" in text:
        return field, "max_length"
    if "of length >=" in text:
        return field, "min_length"
    if "matching regex" in text:
        return field, "pattern"
    if _COMPARISON.match(text) or text.startswith("Number out of range"):
        return field, "range"
    if text.startswith("Expected") and ", got" in text:
        return field, "type"
    if text.startswith("Invalid enum value"):
        return field, "enum"
    if text.startswith("Invalid value"):
        return field, "known_command" if field == "type" else "enum"
    return field, "schema"


class Refusal(Exception):
    """A command was refused: `field` is the offending input, `rule` the rule broken."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        # what a refusal echoes goes back to the caller and into logs: never a phone or ID
        # number in clear (found by `lingong sim`: an enum error echoed a typed phone number)
        from engine.idnumbers import mask_pii_in_text  # idnumbers imports this module

        field, message = mask_pii_in_text(field), mask_pii_in_text(message)
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}

    @classmethod
    def from_validation(cls, exc: msgspec.ValidationError) -> Refusal:
        """Field path and rule ("type", "range", "max_length", "min_length", "pattern",
        "enum", "required", "unknown_field", "known_command") of a decoding error."""
        text = str(exc)
        path = ""
        if _AT in text:
            text, _, at = text.rpartition(_AT)
            path = at.rstrip("`").lstrip(".")
        field, rule = _validation_rule(text, path)
        found = _MISSING_OR_UNKNOWN.match(text)
        if found is not None:
            message = f"Object {found.group(1)} field `{clip(found.group(2))}`"
        else:
            message = _QUOTED.sub(lambda m: "'" + clip(m.group(1)) + "'", text)
        return cls(clip(field, 80), rule, clip(message, 200))


# ------------------------------------------------------------------ decoding ------

MAX_DECODERS = 256  # JSON decoders cached per target type (commands and derived bodies)
_json_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoders: dict[type, msgspec.msgpack.Decoder[Any]] = {
    cls: msgspec.msgpack.Decoder(cls) for cls in COMMAND_TYPES.values()
}


def _json_decoder(target: Any) -> msgspec.json.Decoder[Any]:
    dec = _json_decoders.get(target)
    if dec is None:
        if len(_json_decoders) >= MAX_DECODERS:
            _json_decoders.clear()
        dec = _json_decoders[target] = msgspec.json.Decoder(target, strict=True)
    return dec


def admit(target: Any, data: bytes | bytearray | memoryview | str | object) -> Any:
    """Decode `data` (JSON text/bytes, or builtins such as a dict) strictly into `target`
    (a command class, `AnyCommand`, or any struct derived from the command fields).

    Strict: no strings for numbers, unknown fields refused, every bound checked. Raises
    `Refusal(field path, rule, message)`; the message never echoes a long value.
    """
    try:
        if isinstance(data, bytes | bytearray | memoryview | str):
            return _json_decoder(target).decode(data)
        return msgspec.convert(data, type=target, strict=True)
    except msgspec.ValidationError as exc:
        raise Refusal.from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise Refusal("body", "json", clip(f"malformed JSON: {exc}", 200)) from None
    except RecursionError:
        raise Refusal("body", "depth", "nested too deeply") from None


def command_from_json(data: bytes) -> Command:
    """Decode a tagged JSON command (`{"type": "CheckIn", ...}`); see `admit`."""
    return admit(AnyCommand, data)


def check(cmd: Command) -> Command:
    """`cmd` re-decoded with every bound checked (commands built in-process: tests, the
    simulator, the CLI). The result is equal to `cmd` with sequences as tuples."""
    decoder = _msgpack_decoders.get(type(cmd))
    if decoder is None:
        raise Refusal("type", "known_command", f"unknown command {clip(type(cmd).__name__)}")
    try:
        return decoder.decode(_msgpack_encoder.encode(cmd))
    except msgspec.ValidationError as exc:
        raise Refusal.from_validation(exc) from None
    except OverflowError as exc:  # an int outside [-2**63, 2**64)
        raise Refusal(_unencodable(cmd), "range", clip(f"out of range: {exc}", 200)) from None
    except (TypeError, ValueError) as exc:  # not encodable (an object of another type)
        raise Refusal(_unencodable(cmd), "type", clip(f"not a valid value: {exc}", 200)) from None


def _unencodable(cmd: Command) -> str:
    """The first field of `cmd` whose value msgpack cannot encode ("body" if none)."""
    for name in cmd.__struct_fields__:
        try:
            _msgpack_encoder.encode(getattr(cmd, name))
        except (TypeError, ValueError, OverflowError):
            return name
    return "body"
