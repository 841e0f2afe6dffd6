"""The event catalogue: every fact the engine accepts and every decision it makes.

Owns: the msgspec structs of DESIGN.md section 3, one tagged union (`Event`), and the
event Encoder/Decoder built at import. The policy structs and the vocabulary (kinds,
statuses, reasons) are `engine.policy_schema`'s, re-exported here. The log record envelope (`Record`) lives in `engine.record` (re-exported here
for older imports).

Invariants:
- Events are frozen. Money is integer fen, time integer epoch ms UTC, coordinates WGS-84
  degrees, regions 6-digit GB/T 2260 codes.
- Facts are accepted inputs (`FACTS`); decisions are what the engine derived from them
  (`DECISIONS`). Replay re-derives decisions from facts and compares.
- Personal data (name, phone, ID number, employer contact) never appears in plain text:
  only `*_masked` strings and a `sealed` blob encrypted by the shell with a per-person key.
- New fields are appended with defaults; a breaking change gets a new tag plus an upcaster
  in `engine.record.upcast()`. `SCHEMA_VERSION` is written in every record. The bytes of a
  record (schema 2: events as arrays with an integer tag, the command id once per record)
  are `engine.record_codec`'s; schema 1 records (events as maps) are still read.
- Every `Policy` and `Weights` field is bounded (`engine.bounds`); the cross-field checks
  and the matcher's own acceptance of a policy are in `engine.policy.check_policy`.

Limits: event fields are not bounded here: events are built by the core from commands
that were (`engine.bounds`); policies are decoded with their bounds, also from the log.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from engine.policy_schema import (  # noqa: F401 (re-exported: the event catalogue)
    ArrearsReason,
    ChildOutcome,
    Coefficient,
    ComplaintDeadlines,
    ComplaintKind,
    ComplaintStep,
    EmployerKind,
    FlagReason,
    InsurancePayer,
    MarketType,
    PayUnit,
    Policy,
    PostingOutcome,
    PriorityGroup,
    StationConditions,
    StationKind,
    StationService,
    StationStatus,
    TravelMode,
    TravelSpeeds,
    WageMethod,
    Weight,
    Weights,
)

SCHEMA_VERSION = 2  # 2: compact records (engine.record_codec); 1: events as maps


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Base of every event. `cmd_id` is the command that caused it ("" for none)."""

    ts_ms: int
    cmd_id: str = ""


class PolicySet(Event, frozen=True, kw_only=True):
    region: str  # prefix: "" national default, "45" province, "4206" city ...
    version: int
    policy: Policy
    note: str = ""
    # why the bureau accepts a policy that fails the fairness aims (replay fairness)
    fairness_exception_reason: str = ""


# ---------------------------------------------------------------- reference data ---


class StationRegistered(Event, frozen=True, kw_only=True):
    station_id: str
    name: str
    kind: StationKind
    market_type: MarketType = "general"
    parent_id: str = ""
    region: str
    lat: float
    lng: float
    area_m2: int = 0
    address: str = ""
    # the application's materials (ApplyStation; empty for RegisterStation)
    applicant: str = ""  # the account that applied
    head_masked: str = ""  # 负责人, masked; the name is in `sealed`
    hotline: str = ""
    open_min: int = 0  # local minutes of the day
    close_min: int = 0
    services: tuple[str, ...] = ()
    staff_count: int = 0
    sealed: bytes = b""  # {"head_name", "head_mobile"} under the key "station:<id>"


class StationStatusChanged(Event, frozen=True, kw_only=True):
    """A station's status changed. As a fact: an account took a step of its life
    (`step`, `by`); as a decision: the engine revoked it (deadline missed) or took it
    down with its parent (`step` "deadline_missed" / "parent_revoked", `by` "")."""

    station_id: str
    status: StationStatus
    reason: str = ""
    by: str = ""  # the account (actor id) that took the step; "" for ChangeStationStatus
    step: str = ""  # "", review, approval, filing, rectification_order, rectified, ...
    due_ms: int = 0  # rectification_order: the deadline
    filing_no: str = ""  # filing: 备案号


class StationChecked(Event, frozen=True, kw_only=True):
    """Decision: the application's materials against the region's conditions for its
    kind; `failures` in Chinese (empty: all met)."""

    station_id: str
    failures: tuple[str, ...] = ()
    policy_version: int = 0


class EmployerRegistered(Event, frozen=True, kw_only=True):
    employer_id: str
    kind: EmployerKind
    display_name: str  # organisation name, or the masked name of a person
    uscc: str = ""  # 统一社会信用代码 for organisations (not personal data)
    region: str
    contact_masked: str = ""
    sealed: bytes = b""  # personal data (name, contact phone) under the person key


class EmployerFlagged(Event, frozen=True, kw_only=True):
    employer_id: str
    reason: FlagReason
    complaint_id: str = ""


class EmployerCleared(Event, frozen=True, kw_only=True):
    employer_id: str
    reason: FlagReason
    complaint_id: str = ""


class WorkerRegistered(Event, frozen=True, kw_only=True):
    worker_id: str
    region: str
    skills: tuple[str, ...]
    min_pay_fen: int  # per day
    birth_year: int
    priority_group: str = ""  # "" none; "hardship" 就业困难人员; "low_income"; "veteran" ...
    home_lat: float
    home_lng: float
    travel_mode: TravelMode = "walk"
    push_opt_in: bool = False
    quiet_start_min: int = 22 * 60  # local minutes after midnight (Asia/Shanghai)
    quiet_end_min: int = 5 * 60  # the morning market (05:00-07:00) is not quiet
    phone_masked: str = ""
    id_masked: str = ""
    sealed: bytes = b""
    station_id: str = ""  # the registering station ("" none): its staff may erase


class WorkerUpdated(Event, frozen=True, kw_only=True):
    """Full replacement of the changeable fields (the command fills unchanged ones)."""

    worker_id: str
    skills: tuple[str, ...]
    min_pay_fen: int
    priority_group: str
    home_lat: float
    home_lng: float
    travel_mode: TravelMode
    push_opt_in: bool
    quiet_start_min: int
    quiet_end_min: int


class WorkerErased(Event, frozen=True, kw_only=True):
    worker_id: str
    reason: str = ""  # why (PIPL art. 47); required of new commands


# ---------------------------------------------------------------- the morning ------


class WorkerCheckedIn(Event, frozen=True, kw_only=True):
    worker_id: str
    station_id: str = ""
    lat: float
    lng: float
    available_until_ms: int


class WorkerCheckedOut(Event, frozen=True, kw_only=True):
    worker_id: str
    reason: str = ""  # "", "expired", "hired"


class JobSubmitted(Event, frozen=True, kw_only=True):
    job_id: str
    employer_id: str
    station_id: str  # 谁收集、谁发布、谁负责
    region: str
    title: str
    description: str = ""
    skill: str
    headcount: int
    pay_fen: int
    pay_unit: PayUnit = "day"
    start_ms: int
    end_ms: int
    lat: float
    lng: float
    address: str = ""
    expected_pieces: int = 0
    insurance_payer: InsurancePayer = ""
    insurance_policy_no: str = ""
    # 1: hires of this posting record an agreement and are wage-checked (issue 14);
    # 0: posted before agreements existed (old logs replay as they were decided)
    terms_v: int = 0


class JobPublished(Event, frozen=True, kw_only=True):
    job_id: str
    reviewed_by: str = ""  # staff id when published after review
    again: bool = False  # published before, held for an arrears case, published again


class JobHeldForReview(Event, frozen=True, kw_only=True):
    job_id: str
    reasons: tuple[str, ...]


class JobReviewed(Event, frozen=True, kw_only=True):
    """Fact: station staff decided on a held posting."""

    job_id: str
    staff_id: str
    station_id: str
    approve: bool
    note: str = ""


class JobRejected(Event, frozen=True, kw_only=True):
    job_id: str
    reasons: tuple[str, ...]
    reviewed_by: str = ""


class JobCancelled(Event, frozen=True, kw_only=True):
    job_id: str
    reason: str = ""


class JobExpired(Event, frozen=True, kw_only=True):
    job_id: str


class JobFilled(Event, frozen=True, kw_only=True):
    job_id: str


class Tick(Event, frozen=True, kw_only=True):
    """Time passes; the runtime appends it so expiries are decided inside the log."""


# ---------------------------------------------------------------- matching ---------


class OfferMade(Event, frozen=True, kw_only=True):
    offer_id: str
    job_id: str
    worker_id: str
    score: float
    rank: int
    wave: int
    expires_ms: int
    distance_m: int
    travel_s: int
    source: Literal["wave", "checkin", "bell"] = "wave"
    features: tuple[float, ...] = ()  # score components (engine.matching.params.FEATURE_NAMES)


class OfferAccepted(Event, frozen=True, kw_only=True):
    offer_id: str


class OfferDeclined(Event, frozen=True, kw_only=True):
    offer_id: str
    reason: str = ""


class OfferExpired(Event, frozen=True, kw_only=True):
    offer_id: str


class OfferWithdrawn(Event, frozen=True, kw_only=True):
    offer_id: str
    reason: str  # "job_filled", "job_closed", "worker_hired", "worker_left"


class HireConfirmed(Event, frozen=True, kw_only=True):
    hire_id: str
    job_id: str
    worker_id: str
    offer_id: str
    start_ms: int
    end_ms: int
    pay_fen: int
    pay_unit: PayUnit = "day"


class PushSent(Event, frozen=True, kw_only=True):
    job_id: str
    worker_id: str
    distance_m: int


class BellRung(Event, frozen=True, kw_only=True):
    """Fact: station staff ran the opening bell (batch assignment) for a scope."""

    scope: str  # a station id, or a region prefix as "region:4206"
    staff_id: str = ""
    window_ms: int = 0


class BellClosed(Event, frozen=True, kw_only=True):
    """Decision: the bell's window closed; its batch assignment follows as offers."""

    scope: str


# ---------------------------------------------------------------- after the hire ---


class WorkerArrived(Event, frozen=True, kw_only=True):
    hire_id: str


class NoShow(Event, frozen=True, kw_only=True):
    hire_id: str


class WorkCompleted(Event, frozen=True, kw_only=True):
    hire_id: str


class WagePaid(Event, frozen=True, kw_only=True):
    hire_id: str
    amount_fen: int
    method: WageMethod = "cash"
    partial: bool = False  # the paid total is still below the agreed total


class AgreementTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What both sides agreed when the worker accepted (签订协议): hashed into the log."""

    hire_id: str
    job_id: str
    worker_id: str
    employer_id: str
    station_id: str
    region: str
    title: str
    duties: str  # the posting's description (岗位要求)
    address: str
    lat: float
    lng: float
    pay_fen: int
    pay_unit: PayUnit
    expected_pieces: int
    agreed_total_fen: int  # 0 for a piece rate without expected pieces
    start_ms: int
    end_ms: int
    insurance_payer: InsurancePayer
    insurance_policy_no: str


class AgreementRecorded(Event, frozen=True, kw_only=True):
    """Decision: the terms of a hire, with the sha256 of their canonical encoding."""

    terms: AgreementTerms
    sha256: str


class ArrearsOpened(Event, frozen=True, kw_only=True):
    """Decision: a wage-arrears case (欠薪) opens on a hire; the employer's postings are
    held and the collecting station is told (this event, on its region's subject)."""

    case_id: str
    hire_id: str
    job_id: str
    employer_id: str
    station_id: str
    reason: ArrearsReason
    agreed_fen: int
    paid_fen: int


class ArrearsClosed(Event, frozen=True, kw_only=True):
    """Decision: the hire is paid in full; the case closes."""

    case_id: str
    hire_id: str
    job_id: str
    employer_id: str
    paid_fen: int


class ComplaintFiled(Event, frozen=True, kw_only=True):
    complaint_id: str
    kind: ComplaintKind
    employer_id: str
    worker_id: str = ""  # the complainant: the hire's worker
    hire_id: str = ""
    text: str = ""  # phone and ID numbers masked; the full text is in `sealed`
    sealed: bytes = b""  # {"complaint_text": ...} under the complainant worker's key
    # the case it opens (answering station, 限时办结 deadline) is derived by the fold from
    # the state at filing, so complaints of older logs re-decide to the same fact


class ComplaintStatusChanged(Event, frozen=True, kw_only=True):
    """A step of a complaint case, told to the complainant (`worker_id`)."""

    complaint_id: str
    status: ComplaintStep
    staff_id: str = ""
    worker_id: str = ""  # the complainant
    note: str = ""  # phone and ID numbers masked; the full note is in `sealed`
    sealed: bytes = b""  # {"complaint_note": ...} under the complainant worker's key
    kind: str = ""  # the complaint's kind (for the text telling the complainant)


class ComplaintOverdue(Event, frozen=True, kw_only=True):
    """Decision of a `Tick`: the case is still open at its deadline (限时办结)."""

    complaint_id: str
    due_ms: int
    worker_id: str = ""
    station_id: str = ""


class ComplaintResolved(Event, frozen=True, kw_only=True):
    complaint_id: str
    upheld: bool
    note: str = ""


class RatingGiven(Event, frozen=True, kw_only=True):
    hire_id: str
    by: Literal["worker", "employer"]
    stars: int


# ---- training and consultation (issue 15): stations publish, workers sign up ----------
SignUpChannel = Literal["counter", "app", "sms"]  # 窗口 / 小程序 / 短信回复


class TrainingPublished(Event, frozen=True, kw_only=True):
    training_id: str
    station_id: str
    region: str  # the station's
    title: str
    description: str = ""
    skill: str = ""  # 大典 code (or a legacy code) the training is for; "" general
    start_ms: int
    end_ms: int
    capacity: int
    address: str = ""
    staff_id: str = ""


class TrainingSignedUp(Event, frozen=True, kw_only=True):
    training_id: str
    worker_id: str
    channel: SignUpChannel


class TrainingCompleted(Event, frozen=True, kw_only=True):
    training_id: str
    worker_id: str
    staff_id: str = ""


class PolicyAnswerPublished(Event, frozen=True, kw_only=True):
    entry_id: str
    station_id: str
    region: str
    topic: str
    question: str
    answer: str
    staff_id: str = ""


FACT_TYPES: tuple[type[Event], ...] = (
    PolicySet,
    StationRegistered,
    StationStatusChanged,
    EmployerRegistered,
    EmployerFlagged,
    WorkerRegistered,
    WorkerUpdated,
    WorkerErased,
    WorkerCheckedIn,
    WorkerCheckedOut,
    JobSubmitted,
    JobReviewed,
    JobCancelled,
    Tick,
    OfferAccepted,
    OfferDeclined,
    BellRung,
    WorkerArrived,
    NoShow,
    WorkCompleted,
    WagePaid,
    ComplaintFiled,
    ComplaintResolved,
    RatingGiven,
    ComplaintStatusChanged,
    TrainingPublished,
    TrainingSignedUp,
    TrainingCompleted,
    PolicyAnswerPublished,
)

DECISION_TYPES: tuple[type[Event], ...] = (
    JobPublished,
    JobHeldForReview,
    JobRejected,
    JobExpired,
    JobFilled,
    OfferMade,
    OfferExpired,
    OfferWithdrawn,
    HireConfirmed,
    PushSent,
    BellClosed,
    EmployerCleared,
    AgreementRecorded,
    ArrearsOpened,
    ArrearsClosed,
    StationChecked,
    ComplaintOverdue,
)

ALL_TYPES = FACT_TYPES + DECISION_TYPES
FACTS = frozenset(FACT_TYPES)
DECISIONS = frozenset(DECISION_TYPES)

AnyEvent = (
    PolicySet
    | StationRegistered
    | StationStatusChanged
    | EmployerRegistered
    | EmployerFlagged
    | EmployerCleared
    | WorkerRegistered
    | WorkerUpdated
    | WorkerErased
    | WorkerCheckedIn
    | WorkerCheckedOut
    | JobSubmitted
    | JobReviewed
    | JobCancelled
    | Tick
    | OfferAccepted
    | OfferDeclined
    | BellRung
    | WorkerArrived
    | NoShow
    | WorkCompleted
    | WagePaid
    | ComplaintFiled
    | ComplaintResolved
    | RatingGiven
    | TrainingPublished
    | TrainingSignedUp
    | TrainingCompleted
    | PolicyAnswerPublished
    | JobPublished
    | JobHeldForReview
    | JobRejected
    | JobExpired
    | JobFilled
    | OfferMade
    | OfferExpired
    | OfferWithdrawn
    | HireConfirmed
    | PushSent
    | BellClosed
    | AgreementRecorded
    | ArrearsOpened
    | ArrearsClosed
    | StationChecked
    | ComplaintStatusChanged
    | ComplaintOverdue
)


_encoder = msgspec.msgpack.Encoder()
_event_decoder = msgspec.msgpack.Decoder(AnyEvent)
_json_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(payload: bytes) -> Event:
    return _event_decoder.decode(payload)


def to_json(obj: object) -> bytes:
    return _json_encoder.encode(obj)


def type_name(event: Event) -> str:
    return type(event).__name__


_RECORD_NAMES = frozenset({"Record", "encode_record", "decode_record", "upcast"})


def __getattr__(name: str) -> Any:
    """`engine.events.Record` & co. for older imports: they live in `engine.record`."""
    if name in _RECORD_NAMES:
        from engine import record

        return getattr(record, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
