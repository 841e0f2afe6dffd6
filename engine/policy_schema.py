"""The policy schema: the vocabulary of the events (kinds, statuses, reasons) and the
policy structs a region's bureau sets (`Policy`, `Weights`, `TravelSpeeds`,
`ComplaintDeadlines`, `StationConditions`), each field with its bounds.

Owns: those types only; `engine.events` re-exports every name (events and commands import
them from there). The cross-field checks and the matcher's acceptance of a policy are in
`engine.policy.check_policy`.

Invariants: frozen structs; every `Policy` field bounded (`engine.bounds`); new fields are
appended with defaults so that a policy in an old log decodes as it was set.
Limits: those of `engine.bounds` (skills per policy, radius).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine.bounds import MAX_POLICY_SKILLS, MAX_RADIUS_M, Fen, Fen0, Skill

StationKind = Literal["hub", "branch", "post"]  # 总站 / 分站 / 驿站
MarketType = Literal["general", "industrial_park", "service_point"]  # 综合性 / 产业园区 / 服务站点
# applied -> reviewed (审核合格) | returned (审核不合格) -> approved (批准; 备案 keeps it)
# -> rectifying (限期整改) -> approved | revoked; suspended: by an admin or a parent's revocation
StationStatus = Literal[
    "applied", "approved", "suspended", "revoked", "reviewed", "returned", "rectifying"
]
# what a station offers (Xiangyang art. 9, Linfen 三(三)(四)): 求职登记, 信息发布, 培训报名,
# 政策咨询, 劳务维权咨询, 对接洽谈, 休息候工, 饮水, 急救药箱
StationService = Literal[
    "registration", "posting", "training_signup", "policy_advice", "rights_advice",
    "matching_room", "rest_area", "drinking_water", "first_aid",
]  # fmt: skip
# what a revocation does to the stations below the revoked one and to their open postings
ChildOutcome = Literal["revoked", "suspended"]
PostingOutcome = Literal["held", "cancelled"]
EmployerKind = Literal["person", "organisation"]
FlagReason = Literal["wage_arrears", "fraud"]
TravelMode = Literal["walk", "bike", "ebike", "bus", "car"]
PayUnit = Literal["day", "hour", "piece"]
ComplaintKind = Literal["wage_arrears", "safety", "fraud", "discrimination"]
# the steps of a complaint case (a filed case is "open"; resolved/rejected close it)
ComplaintStep = Literal["accepted", "investigating", "resolved", "rejected"]
WageMethod = Literal["cash", "bank", "wechat", "alipay"]
# who pays the daily work-injury insurance (单工伤保险) of a posting ("" not stated)
InsurancePayer = Literal["", "employer", "station", "worker", "none"]
# partial: paid below the agreement; unpaid: not paid in full when due; complaint: a
# wage-arrears complaint about a worked hire that is not paid in full
ArrearsReason = Literal["partial", "unpaid", "complaint"]
PriorityGroup = Literal[
    "", "hardship", "low_income", "disabled", "veteran", "zero_employment_family"
]

Weight = Annotated[float, Meta(ge=0.0, le=100.0)]
Coefficient = Annotated[float, Meta(ge=-1000.0, le=1000.0)]


# ---------------------------------------------------------------- policy -----------


class Weights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Score weights; each component is normalised to [0, 1] (exposure to [-1, 0])."""

    travel: Weight = 1.0
    waiting: Weight = 0.6
    # priority for older (大龄) and hardship (兜底) workers that keeps every age band's
    # offer-rate impact ratio >= 0.8 on the bench morning (issue 14; BENCHMARKS.md)
    older: Weight = 0.1
    hardship: Weight = 0.2
    reliability: Weight = 0.4
    exposure: Weight = 0.6
    acceptance: Weight = 0.0


def _between(low: int, high: int) -> Meta:
    return Meta(ge=low, le=high)


Speed = Annotated[float, Meta(ge=0.1, le=50.0)]  # m/s


class TravelSpeeds(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Door-to-door speeds by travel mode (m/s) of the 1小时灵活就业圈 (bus: waiting
    included; car: urban). The matcher's reach of a worker is speed * travel_limit_s /
    DETOUR (`engine.matching.params`), at least radius_m, at most max_reach_m."""

    walk_mps: Speed = 1.2
    bike_mps: Speed = 3.5
    ebike_mps: Speed = 5.5
    bus_mps: Speed = 4.0
    car_mps: Speed = 8.0


DeadlineDays = Annotated[int, Meta(ge=1, le=90)]


class ComplaintDeadlines(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """限时办结: days from filing by which a complaint of each kind must be closed
    (resolved or rejected); past it the case is overdue (`ComplaintOverdue`)."""

    wage_arrears_days: DeadlineDays = 5  # 欠薪: the quick-handling window
    safety_days: DeadlineDays = 3
    fraud_days: DeadlineDays = 10
    discrimination_days: DeadlineDays = 15

    def days_for(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_days"))


class StationConditions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an application for one kind of station must show (checked by the engine,
    `engine.station_life.conditions`). Defaults in `Policy` cite their seed."""

    min_area_m2: Annotated[int, _between(0, 100_000)] = 30
    hotline_required: bool = True  # 公布服务热线 (Xiangyang art. 9; Linfen 三(二))
    min_open_minutes: Annotated[int, _between(0, 1440)] = 240  # per day
    min_staff: Annotated[int, _between(0, 1000)] = 1  # 专(兼)职工作人员
    services: Annotated[tuple[StationService, ...], Meta(max_length=16)] = (
        "registration", "posting", "training_signup", "policy_advice",
    )  # fmt: skip


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Matching and review policy of one region (a `PolicySet` carries one).

    Each field is bounded; `engine.policy.check_policy` adds the cross-field rules and
    runs the matcher's own parameter builders on it before a `SetPolicy` is accepted.
    """

    # review of postings
    # skill code -> local daily pay level (fen)
    local_day_pay_fen: Annotated[dict[Skill, Fen], Meta(max_length=MAX_POLICY_SKILLS)] = {}
    default_day_pay_fen: Fen = 20000
    # below pay_low_ratio * local level, or above pay_high_ratio * it: held for review
    pay_low_ratio: Annotated[float, Meta(gt=0.0, lt=1.0)] = 0.5
    pay_high_ratio: Annotated[float, Meta(gt=1.0, le=100.0)] = 3.0
    min_day_pay_fen: Fen0 = 5000  # below this a posting is rejected outright
    hours_per_day: Annotated[int, _between(1, 12)] = 8  # hourly pay -> a daily figure
    # matching
    radius_m: Annotated[int, _between(1, MAX_RADIUS_M)] = 1500  # all within it reachable
    # 1小时灵活就业圈: reachable by travel mode within travel_limit_s at the mode's speed;
    # max_reach_m is an optional flat cap (default: the index's largest radius, no cap)
    travel_limit_s: Annotated[int, _between(60, 86_400)] = 3600
    max_reach_m: Annotated[int, _between(1, MAX_RADIUS_M)] = MAX_RADIUS_M
    speeds: TravelSpeeds = TravelSpeeds()
    overbook: Annotated[float, Meta(ge=1.0, le=5.0)] = 1.5  # offers per open slot
    offer_ttl_ms: Annotated[int, _between(10_000, 3_600_000)] = 120_000
    max_waves: Annotated[int, _between(1, 50)] = 5
    max_open_offers_per_worker: Annotated[int, _between(1, 10)] = 3
    wait_cap_ms: Annotated[int, _between(60_000, 86_400_000)] = 3 * 3600 * 1000
    older_age: Annotated[int, _between(16, 100)] = 50  # 大龄
    exposure_cap: Annotated[int, _between(1, 1000)] = 3  # offers/day: penalty saturates
    weights: Weights = Weights()
    # learned: intercept + one per feature
    acceptance_coef: Annotated[tuple[Coefficient, ...], Meta(max_length=8)] = ()
    # job lifecycle: an unfilled published job expires after job_ttl_ms
    job_ttl_ms: Annotated[int, _between(60_000, 7 * 86_400_000)] = 8 * 3600 * 1000
    # pushes (1.5公里岗位推送)
    push_radius_m: Annotated[int, _between(0, MAX_RADIUS_M)] = 1500
    push_daily_cap: Annotated[int, _between(0, 50)] = 5
    max_pushes_per_job: Annotated[int, _between(0, 1000)] = 50
    # opening bell
    bell_window_ms: Annotated[int, _between(0, 3_600_000)] = 30_000
    # a hire stays in the core (wage checks, arrears) this long after its end
    settlement_window_ms: Annotated[int, _between(3_600_000, 90 * 86_400_000)] = 7 * 86_400_000
    # a worked hire not paid in full this long after its end opens an arrears case
    # (must be shorter than settlement_window_ms: the hire is still in the core then)
    wage_due_ms: Annotated[int, _between(3_600_000, 60 * 86_400_000)] = 3 * 86_400_000
    # station conditions per kind. 驿站: Xiangyang art. 9 (>= 30 m², hotline, staff, the
    # four services); 总站: Linfen 三(一) (>= 150 m² indoors where a hall exists; the
    # population-scaled 150-300 m² are planning figures) and 三(三)(四) (services, staff).
    # Opening minutes and the 分站 figures are not in the seeds: set them per region.
    hub_conditions: StationConditions = StationConditions(
        min_area_m2=150, min_open_minutes=480, min_staff=2,
        services=("registration", "posting", "training_signup", "policy_advice",
                  "rights_advice", "matching_room", "rest_area"),
    )  # fmt: skip
    branch_conditions: StationConditions = StationConditions(
        min_area_m2=60, min_open_minutes=480, min_staff=2,
        services=("registration", "posting", "training_signup", "policy_advice",
                  "rest_area"),
    )  # fmt: skip
    post_conditions: StationConditions = StationConditions()
    max_rectify_days: Annotated[int, _between(1, 365)] = 90  # 限期整改: longest deadline
    # a revoked station's 分站/驿站 (all below it), and the open postings of every station
    # the revocation takes down (held: kept for review, no offers; cancelled: closed)
    revoked_children: ChildOutcome = "suspended"
    revoked_postings: PostingOutcome = "cancelled"
    # complaints: 限时办结 deadline per kind (issue 14)
    complaint_deadlines: ComplaintDeadlines = ComplaintDeadlines()
