"""Policy arithmetic shared by review and matching.

Owns: converting posted pay to a daily figure, the local pay level of a skill, the
review verdict of a posting, the names of travel modes and priority groups, and the offer
count of a wave. Travel speeds and the detour factor live in `engine.matching.params`.

Invariants: pure functions of their arguments; integer fen in, integer fen out.
Limits: none.
"""

from __future__ import annotations

import math

from engine.events import Policy

TRAVEL_MODES = ("walk", "bike", "ebike", "bus", "car")
PRIORITY_GROUPS = ("", "hardship", "low_income", "disabled", "veteran", "zero_employment_family")


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


def review(
    *,
    skill: str,
    pay_fen: int,
    pay_unit: str,
    policy: Policy,
    employer_flags: list[str],
    duplicate_of: str,
) -> tuple[str, tuple[str, ...]]:
    """Verdict on a new posting: ("publish" | "hold" | "reject", reasons)."""
    day = day_pay_fen(pay_fen, pay_unit, policy)
    if pay_unit != "piece" and day < policy.min_day_pay_fen:
        return "reject", (f"pay_below_floor:{day}<{policy.min_day_pay_fen}",)
    reasons: list[str] = []
    if pay_unit != "piece":
        level = local_level_fen(skill, policy)
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
