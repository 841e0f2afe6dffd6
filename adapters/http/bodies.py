"""Request bodies of the command endpoints (msgspec structs, documented in OpenAPI).

Owns: one struct per command body, without `command_id` and `ts_ms` (the server sets
them) and without the ids that are in the path; `PointIn` (coordinates with their datum)
and `PersonalIn`.

Invariants: unknown fields are refused (`forbid_unknown_fields`); every string, list and
number is bounded here so a hostile body can neither overflow the engine's integer
columns nor make it do unbounded work; the engine's own rules (`engine.rules`) remain the
authority on what is valid, these bounds only fence the input.

Limits: ids 64 chars, titles 100, free text 2000, at most 16 skills, money 10,000,000
fen, times before 2100-01-01, coordinates in degree ranges.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine import commands as c
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

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=ID_PATTERN)]
OptId = Annotated[str, Meta(max_length=64)]
Region = Annotated[str, Meta(pattern=r"^[1-9][0-9]{5}$")]
RegionPrefix = Annotated[str, Meta(pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})?$")]
Title = Annotated[str, Meta(max_length=100)]
Text = Annotated[str, Meta(max_length=2000)]
Short = Annotated[str, Meta(max_length=200)]
Skill = Annotated[str, Meta(min_length=1, max_length=32)]
Fen = Annotated[int, Meta(ge=0, le=10_000_000)]
Ms = Annotated[int, Meta(ge=0, le=4_102_444_800_000)]  # 2100-01-01
Minute = Annotated[int, Meta(ge=0, le=1439)]
Lat = Annotated[float, Meta(ge=-90.0, le=90.0)]
Lng = Annotated[float, Meta(ge=-180.0, le=180.0)]
Datum = Literal["wgs84", "gcj02", "bd09"]


class _Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class PointIn(_Body, frozen=True, kw_only=True):
    lat: Lat
    lng: Lng
    datum: Datum = "wgs84"

    def point(self) -> c.Point:
        return c.Point(lat=self.lat, lng=self.lng, datum=self.datum)


class PersonalIn(_Body, frozen=True, kw_only=True):
    name: Annotated[str, Meta(max_length=50)] = ""
    mobile: Annotated[str, Meta(max_length=20)] = ""
    id_number: Annotated[str, Meta(max_length=20)] = ""

    def personal(self) -> c.Personal:
        return c.Personal(name=self.name, mobile=self.mobile, id_number=self.id_number)


# ---------------------------------------------------------------- registry ----------


class WorkerIn(_Body, frozen=True, kw_only=True):
    worker_id: Id
    region: Region
    personal: PersonalIn
    skills: Annotated[list[Skill], Meta(min_length=1, max_length=16)]
    min_pay_fen: Fen
    birth_year: Annotated[int, Meta(ge=0, le=2100)] = 0
    priority_group: Annotated[str, Meta(max_length=32)] = ""
    home: PointIn
    travel_mode: TravelMode = "walk"
    push_opt_in: bool = False
    quiet_start_min: Minute = 22 * 60
    quiet_end_min: Minute = 7 * 60


class WorkerPatch(_Body, frozen=True, kw_only=True):
    skills: Annotated[list[Skill], Meta(min_length=1, max_length=16)] | None = None
    min_pay_fen: Fen | None = None
    priority_group: Annotated[str, Meta(max_length=32)] | None = None
    home: PointIn | None = None
    travel_mode: TravelMode | None = None
    push_opt_in: bool | None = None
    quiet_start_min: Minute | None = None
    quiet_end_min: Minute | None = None


class EmployerIn(_Body, frozen=True, kw_only=True):
    employer_id: Id
    kind: EmployerKind
    name: Title
    uscc: Annotated[str, Meta(max_length=18)] = ""
    region: Region
    contact: PersonalIn = PersonalIn()


class FlagIn(_Body, frozen=True, kw_only=True):
    reason: FlagReason


class StationIn(_Body, frozen=True, kw_only=True):
    station_id: Id
    name: Title
    kind: StationKind
    market_type: MarketType = "general"
    parent_id: OptId = ""
    region: Region
    location: PointIn
    area_m2: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    address: Short = ""


class StationStatusIn(_Body, frozen=True, kw_only=True):
    status: StationStatus
    reason: Short = ""


class PolicyIn(_Body, frozen=True, kw_only=True):
    region: RegionPrefix
    policy: Policy
    note: Short = ""


# ---------------------------------------------------------------- the morning -------


class CheckInIn(_Body, frozen=True, kw_only=True):
    station_id: OptId = ""
    location: PointIn | None = None
    available_until_ms: Ms = 0


class JobIn(_Body, frozen=True, kw_only=True):
    job_id: Id
    employer_id: Id
    station_id: Id
    title: Title
    description: Text = ""
    skill: Skill
    headcount: Annotated[int, Meta(ge=1, le=500)]
    pay_fen: Fen
    pay_unit: PayUnit = "day"
    start_ms: Ms
    end_ms: Ms
    location: PointIn
    address: Short = ""


class ReviewIn(_Body, frozen=True, kw_only=True):
    approve: bool
    note: Text = ""


class ReasonIn(_Body, frozen=True, kw_only=True):
    reason: Short = ""


# ---------------------------------------------------------------- after the hire ----


class WageIn(_Body, frozen=True, kw_only=True):
    amount_fen: Annotated[int, Meta(ge=1, le=10_000_000)]
    method: WageMethod = "cash"


class RatingIn(_Body, frozen=True, kw_only=True):
    by: Literal["worker", "employer"]
    stars: Annotated[int, Meta(ge=1, le=5)]


class ComplaintIn(_Body, frozen=True, kw_only=True):
    complaint_id: Id
    kind: ComplaintKind
    employer_id: Id
    worker_id: OptId = ""
    hire_id: OptId = ""
    text: Text = ""


class ResolutionIn(_Body, frozen=True, kw_only=True):
    upheld: bool
    note: Text = ""
