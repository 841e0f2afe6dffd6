"""The event catalogue: every fact the engine accepts and every decision it makes.

Owns: the msgspec structs of DESIGN.md section 3, one tagged union (`Event`), the log
record envelope (`Record`) and the one Encoder/Decoder pair built at import.

Invariants:
- Events are frozen. Money is integer fen, time integer epoch ms UTC, coordinates WGS-84
  degrees, regions 6-digit GB/T 2260 codes.
- Facts are accepted inputs (`FACTS`); decisions are what the engine derived from them
  (`DECISIONS`). Replay re-derives decisions from facts and compares.
- Personal data (name, phone, ID number, employer contact) never appears in plain text:
  only `*_masked` strings and a `sealed` blob encrypted by the shell with a per-person key.
- New fields are appended with defaults; a breaking change gets a new tag plus an upcaster
  in `upcast()`. `SCHEMA_VERSION` is written in every record. The bytes of a record (schema
  2: events as arrays with an integer tag, the command id once per record) are
  `engine.record_codec`'s; schema 1 records (maps) are still read.

Limits: none here; size limits are enforced where commands are validated (`engine.rules`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

import msgspec

if TYPE_CHECKING:
    from engine.record_codec import RecordCodec

SCHEMA_VERSION = 2  # 2: compact records (engine.record_codec); 1: events as maps

StationKind = Literal["hub", "branch", "post"]  # 总站 / 分站 / 驿站
MarketType = Literal["general", "industrial_park", "service_point"]  # 综合性 / 产业园区 / 服务站点
StationStatus = Literal["applied", "approved", "suspended", "revoked"]
EmployerKind = Literal["person", "organisation"]
FlagReason = Literal["wage_arrears", "fraud"]
TravelMode = Literal["walk", "bike", "ebike", "bus", "car"]
PayUnit = Literal["day", "hour", "piece"]
ComplaintKind = Literal["wage_arrears", "safety", "fraud", "discrimination"]
WageMethod = Literal["cash", "bank", "wechat", "alipay"]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Base of every event. `cmd_id` is the command that caused it ("" for none)."""

    ts_ms: int
    cmd_id: str = ""


# ---------------------------------------------------------------- policy -----------


class Weights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Score weights; each component is normalised to [0, 1] (exposure to [-1, 0])."""

    travel: float = 1.0
    waiting: float = 0.6
    older: float = 0.5
    hardship: float = 0.5
    reliability: float = 0.4
    exposure: float = 0.3
    acceptance: float = 0.0


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Matching and review policy of one region (a `PolicySet` carries one)."""

    # review of postings
    local_day_pay_fen: dict[str, int] = {}  # skill code -> local daily pay level (fen)
    default_day_pay_fen: int = 20000
    pay_low_ratio: float = 0.5  # below ratio * local level -> held for review
    pay_high_ratio: float = 3.0  # above ratio * local level -> held for review
    min_day_pay_fen: int = 5000  # below this a posting is rejected outright
    hours_per_day: int = 8  # converts hourly pay to a daily figure
    # matching
    radius_m: int = 1500  # everyone within this distance is reachable
    travel_limit_s: int = 3600  # 1小时灵活就业圈: reachable by travel mode within this
    max_reach_m: int = 5000  # cap of the travel-time reach (and of the search disk)
    overbook: float = 1.5  # offers per open slot in a wave
    offer_ttl_ms: int = 120_000
    max_waves: int = 5
    max_open_offers_per_worker: int = 3
    wait_cap_ms: int = 3 * 3600 * 1000  # waiting component saturates here
    older_age: int = 50  # 大龄
    exposure_cap: int = 10  # offers in a day at which the exposure penalty saturates
    weights: Weights = Weights()
    acceptance_coef: tuple[float, ...] = ()  # learned: intercept + one per feature
    # job lifecycle
    job_ttl_ms: int = 8 * 3600 * 1000  # an unfilled published job expires after this
    # pushes (1.5公里岗位推送)
    push_radius_m: int = 1500
    push_daily_cap: int = 5
    max_pushes_per_job: int = 50
    # opening bell
    bell_window_ms: int = 30_000


class PolicySet(Event, frozen=True, kw_only=True):
    region: str  # prefix: "" national default, "45" province, "4206" city ...
    version: int
    policy: Policy
    note: str = ""


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


class StationStatusChanged(Event, frozen=True, kw_only=True):
    station_id: str
    status: StationStatus
    reason: str = ""


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
    quiet_end_min: int = 7 * 60
    phone_masked: str = ""
    id_masked: str = ""
    sealed: bytes = b""


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


class JobPublished(Event, frozen=True, kw_only=True):
    job_id: str
    reviewed_by: str = ""  # staff id when published after review


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


class ComplaintFiled(Event, frozen=True, kw_only=True):
    complaint_id: str
    kind: ComplaintKind
    employer_id: str
    worker_id: str = ""
    hire_id: str = ""
    text: str = ""


class ComplaintResolved(Event, frozen=True, kw_only=True):
    complaint_id: str
    upheld: bool
    note: str = ""


class RatingGiven(Event, frozen=True, kw_only=True):
    hire_id: str
    by: Literal["worker", "employer"]
    stars: int


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
)


class Record(msgspec.Struct, frozen=True, array_like=True):
    """One log frame's payload: the events one command produced, in order.

    A command's events are one frame so a torn write can never keep a fact without the
    decisions taken on it.
    """

    v: int
    cmd_id: str
    events: list[AnyEvent]


_encoder = msgspec.msgpack.Encoder()
_event_decoder = msgspec.msgpack.Decoder(AnyEvent)
_json_encoder = msgspec.json.Encoder()


@functools.cache
def record_codec() -> RecordCodec:
    """The codec of `Record` (schema 2 written; schema 1 read), built on first use."""
    from engine.record_codec import RecordCodec

    return RecordCodec(Record, SCHEMA_VERSION)


def encode_record(record: Record) -> bytes:
    return record_codec().encode(record)


def decode_record(payload: bytes) -> Record:
    record = record_codec().decode(payload)
    if record.v != SCHEMA_VERSION:
        return upcast(record)
    return record


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(payload: bytes) -> Event:
    return _event_decoder.decode(payload)


def to_json(obj: object) -> bytes:
    return _json_encoder.encode(obj)


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


def type_name(event: Event) -> str:
    return type(event).__name__
