"""The commands front ends send (HTTP, NATS, CLI) and the typed refusal.

Owns: command structs (one tagged union, `Command`), `Point` (coordinates with their
datum), `Personal` (plain personal data, only ever inside a command) and `Refusal`.

Invariants:
- Every command carries a client `command_id` (idempotency key) and `ts_ms` (the time
  it happened, from the caller or the runtime clock); the core never reads a clock.
- Plain personal data lives only in commands; events carry masked strings and a blob
  sealed by the shell.
- A `Refusal` names the field and the rule; a refused command changes nothing.

Limits: string fields are bounded by `MAX_TEXT` / `MAX_ID` in `engine.rules`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from engine.events import (
    ComplaintKind,
    EmployerKind,
    FlagReason,
    MarketType,
    PayUnit,
    Policy,
    StationKind,
    StationStatus,
    TravelMode,
    WageMethod,
)

Datum = Literal["wgs84", "gcj02", "bd09"]


class Point(msgspec.Struct, frozen=True, kw_only=True):
    lat: float
    lng: float
    datum: Datum = "wgs84"  # Amap/Tencent send GCJ-02, Baidu BD-09


class Personal(msgspec.Struct, frozen=True, kw_only=True):
    name: str = ""
    mobile: str = ""
    id_number: str = ""  # 公民身份号码 (GB 11643), optional


class Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    command_id: str
    ts_ms: int


class SetPolicy(Command, frozen=True, kw_only=True):
    region: str
    policy: Policy
    note: str = ""


class RegisterStation(Command, frozen=True, kw_only=True):
    station_id: str
    name: str
    kind: StationKind
    market_type: MarketType = "general"
    parent_id: str = ""
    region: str
    location: Point
    area_m2: int = 0
    address: str = ""


class ChangeStationStatus(Command, frozen=True, kw_only=True):
    station_id: str
    status: StationStatus
    reason: str = ""


class RegisterEmployer(Command, frozen=True, kw_only=True):
    employer_id: str
    kind: EmployerKind
    name: str  # organisation name, or a person's name (personal data)
    uscc: str = ""  # required for organisations (GB 32100)
    region: str
    contact: Personal = Personal()


class FlagEmployer(Command, frozen=True, kw_only=True):
    employer_id: str
    reason: FlagReason
    staff_id: str = ""


class RegisterWorker(Command, frozen=True, kw_only=True):
    worker_id: str
    region: str
    personal: Personal
    skills: tuple[str, ...]
    min_pay_fen: int
    birth_year: int = 0  # 0: taken from the ID number
    priority_group: str = ""
    home: Point
    travel_mode: TravelMode = "walk"
    push_opt_in: bool = False
    quiet_start_min: int = 22 * 60
    quiet_end_min: int = 7 * 60


class UpdateWorker(Command, frozen=True, kw_only=True):
    """Change some fields; `None` keeps the current value."""

    worker_id: str
    skills: tuple[str, ...] | None = None
    min_pay_fen: int | None = None
    priority_group: str | None = None
    home: Point | None = None
    travel_mode: TravelMode | None = None
    push_opt_in: bool | None = None
    quiet_start_min: int | None = None
    quiet_end_min: int | None = None


class EraseWorker(Command, frozen=True, kw_only=True):
    worker_id: str


class CheckIn(Command, frozen=True, kw_only=True):
    worker_id: str
    station_id: str = ""  # "" when checking in at a location (app)
    location: Point | None = None  # default: the station's location
    available_until_ms: int = 0  # 0: end of the local day


class CheckOut(Command, frozen=True, kw_only=True):
    worker_id: str


class SubmitJob(Command, frozen=True, kw_only=True):
    job_id: str
    employer_id: str
    station_id: str
    title: str
    description: str = ""
    skill: str
    headcount: int
    pay_fen: int
    pay_unit: PayUnit = "day"
    start_ms: int
    end_ms: int
    location: Point
    address: str = ""


class ReviewJob(Command, frozen=True, kw_only=True):
    job_id: str
    staff_id: str
    station_id: str  # the reviewer's station: must be the collecting station
    approve: bool
    note: str = ""


class CancelJob(Command, frozen=True, kw_only=True):
    job_id: str
    reason: str = ""


class Advance(Command, frozen=True, kw_only=True):
    """Time passes (appended as a `Tick`)."""


class AcceptOffer(Command, frozen=True, kw_only=True):
    offer_id: str
    worker_id: str


class DeclineOffer(Command, frozen=True, kw_only=True):
    offer_id: str
    worker_id: str
    reason: str = ""


class RingBell(Command, frozen=True, kw_only=True):
    """Opening bell: match all open slots and waiting workers of a station or region."""

    station_id: str = ""
    region: str = ""
    staff_id: str = ""


class ConfirmArrival(Command, frozen=True, kw_only=True):
    hire_id: str


class ReportNoShow(Command, frozen=True, kw_only=True):
    hire_id: str


class CompleteWork(Command, frozen=True, kw_only=True):
    hire_id: str


class PayWage(Command, frozen=True, kw_only=True):
    hire_id: str
    amount_fen: int
    method: WageMethod = "cash"


class FileComplaint(Command, frozen=True, kw_only=True):
    complaint_id: str
    kind: ComplaintKind
    employer_id: str
    worker_id: str = ""
    hire_id: str = ""
    text: str = ""


class ResolveComplaint(Command, frozen=True, kw_only=True):
    complaint_id: str
    upheld: bool
    note: str = ""


class Rate(Command, frozen=True, kw_only=True):
    hire_id: str
    by: Literal["worker", "employer"]
    stars: int


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
    )
}

_command_json = msgspec.json.Decoder(AnyCommand)


def command_from_json(data: bytes) -> Command:
    """Decode a tagged JSON command; raises `Refusal` naming the bad field."""
    try:
        return _command_json.decode(data)
    except msgspec.ValidationError as exc:
        raise Refusal.from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise Refusal("body", "json", f"malformed JSON: {exc}") from None


class Refusal(Exception):
    """A command was refused: `field` is the offending input, `rule` the rule broken."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}

    @classmethod
    def from_validation(cls, exc: msgspec.ValidationError) -> Refusal:
        text = str(exc)
        field = "body"
        marker = "at `$."
        if marker in text:
            field = text.split(marker, 1)[1].split("`", 1)[0]
        elif "missing required field `" in text:
            field = text.split("missing required field `", 1)[1].split("`", 1)[0]
        return cls(field, "schema", text)
