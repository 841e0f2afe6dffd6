"""Policy arithmetic shared by review and matching, and the acceptance of a policy.

Owns: converting posted pay to a daily figure, the local pay level of a skill, the
review verdict of a posting, the names of travel modes and priority groups, the offer
count of a wave, and `check_policy`: a policy is accepted only if the exact code that
turns it into matcher parameters accepts it. Travel speeds and the detour factor live in
`engine.matching.params`.

Invariants: pure functions of their arguments; integer fen in, integer fen out.
`check_policy` runs the builders the matcher runs (`engine.matcher.policy_vectors`) and
this module's arithmetic at the extremes of the bounded inputs, so a policy it accepts
cannot make a later decision raise.
Limits: none.
"""

from __future__ import annotations

import math
from typing import Protocol, get_args

import numpy as np

from engine.bounds import MAX_HEADCOUNT, MAX_MS, MAX_PAY_FEN, MIN_MS
from engine.events import Policy, PriorityGroup, TravelMode
from engine.matching import params as P
from engine.matching.index import MAX_RADIUS_M as INDEX_MAX_RADIUS_M

TRAVEL_MODES: tuple[str, ...] = get_args(TravelMode)
PRIORITY_GROUPS: tuple[str, ...] = get_args(PriorityGroup)


class PolicyError(ValueError):
    """A policy the matcher would not accept: `field` names the policy field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"policy.{field}: {message}")
        self.field = field
        self.message = message


def day_pay_fen(pay_fen: int, pay_unit: str, policy: Policy) -> int:
    """A comparable daily figure: hourly pay times the policy's hours per day.

    Piece-rate pay has no daily equivalent without a rate of work; it is taken as the
    daily figure as posted and exempt from the pay-level review (see `review`).
    """
    if pay_unit == "hour":
        return pay_fen * policy.hours_per_day
    return pay_fen


def local_level_fen(skill: str, policy: Policy) -> int:
    return policy.local_day_pay_fen.get(skill, policy.default_day_pay_fen)


class Posting(Protocol):
    """What the pay rules read of a posting (a `SubmitJob`, `JobSubmitted` or `Job`)."""

    skill: str
    pay_fen: int
    pay_unit: str


def posting_day_pay_fen(posting: Posting, policy: Policy) -> int:
    """`day_pay_fen` of a posting's pay."""
    return day_pay_fen(posting.pay_fen, posting.pay_unit, policy)


def review(
    posting: Posting,
    *,
    policy: Policy,
    employer_flags: list[str],
    duplicate_of: str,
) -> tuple[str, tuple[str, ...]]:
    """Verdict on a new posting: ("publish" | "hold" | "reject", reasons)."""
    day = posting_day_pay_fen(posting, policy)
    piece = posting.pay_unit == "piece"
    if not piece and day < policy.min_day_pay_fen:
        return "reject", (f"pay_below_floor:{day}<{policy.min_day_pay_fen}",)
    reasons: list[str] = []
    if not piece:
        level = local_level_fen(posting.skill, policy)
        if day < level * policy.pay_low_ratio:
            reasons.append(f"pay_far_below_local:{day}<{level}x{policy.pay_low_ratio}")
        elif day > level * policy.pay_high_ratio:
            reasons.append(f"pay_far_above_local:{day}>{level}x{policy.pay_high_ratio}")
    for flag in employer_flags:
        reasons.append(f"employer_flagged:{flag}")
    if duplicate_of:
        reasons.append(f"duplicate_of:{duplicate_of}")
    if reasons:
        return "hold", tuple(reasons)
    return "publish", ()


def wave_size(open_slots: int, overbook: float) -> int:
    """Offers a job should have out at once for its open slots."""
    if open_slots <= 0:
        return 0
    return max(open_slots, math.ceil(open_slots * overbook))


# ------------------------------------------------------------------ acceptance -----


def check_policy(policy: Policy) -> None:
    """Raise `PolicyError` unless the matcher and review accept `policy` at any time.

    Field bounds (`engine.bounds`, on `Policy`) come first when the policy is decoded;
    this adds the cross-field rules and runs the very builders `engine.matcher` runs, at
    the first and last instant a command may carry, with the largest job and pay.
    """
    if policy.radius_m > policy.max_reach_m:
        raise PolicyError("radius_m", "must not exceed max_reach_m")
    if not policy.pay_low_ratio < 1.0 < policy.pay_high_ratio:
        raise PolicyError("pay_low_ratio", "needs pay_low_ratio < 1 < pay_high_ratio")
    if len(policy.acceptance_coef) not in (0, P.N_FEATURES + 1):
        raise PolicyError(
            "acceptance_coef", f"needs 0 or {P.N_FEATURES + 1} values (intercept + features)"
        )
    if policy.wage_due_ms >= policy.settlement_window_ms:
        raise PolicyError(
            "wage_due_ms", "must be shorter than settlement_window_ms (the hire is still live)"
        )
    if policy.push_radius_m > INDEX_MAX_RADIUS_M:
        raise PolicyError("push_radius_m", f"at most {int(INDEX_MAX_RADIUS_M)} m")
    for now_ms in (MIN_MS, MAX_MS - 1):
        try:
            pol = P.policy_params(policy, now_ms)
            vectors = (
                pol,
                P.weights_array(policy.weights),
                P.accept_coef_array(policy),
                P.reach_m(pol),
                P.push_params(
                    policy,
                    lat=0.0,
                    lng=0.0,
                    skill_bit=0,
                    day_pay_fen=day_pay_fen(MAX_PAY_FEN, "hour", policy),
                    start_ms=now_ms,
                    end_ms=now_ms,
                    now_ms=now_ms,
                ),
            )
            radius = P.query_radius_m(pol)
        except ValueError as exc:
            raise PolicyError(_field_of(str(exc)), str(exc)) from None
        if not all(np.all(np.isfinite(v)) for v in vectors):
            raise PolicyError("weights", "the parameter vectors must be finite")
        if radius > INDEX_MAX_RADIUS_M:
            raise PolicyError("max_reach_m", f"search radius above {int(INDEX_MAX_RADIUS_M)} m")
    if wave_size(MAX_HEADCOUNT, policy.overbook) > MAX_HEADCOUNT * 5:
        raise PolicyError("overbook", "a wave would exceed 5 offers per slot")
    if day_pay_fen(MAX_PAY_FEN, "hour", policy) >= 2**53:
        raise PolicyError("hours_per_day", "daily pay figure out of range")


def _field_of(message: str) -> str:
    """The policy field a builder's ValueError names ("policy.X must ...")."""
    for name in Policy.__struct_fields__:
        if name in message:
            return name
    return "policy"
