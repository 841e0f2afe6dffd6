"""The demo's summary as text: what `lingong demo` prints without `--json`.

Owns: `format_summary` (every breakdown printed as `total = part + part ...`, in the
order a person reads a market morning), the names of the refusal kinds and of the review
rules, and which refusals the synthetic crowd makes on purpose (`REFUSAL_KINDS`).

Invariants: the text shows the figures of `sim.demo.DemoSummary` as they are: a line
`N = a + b` holds exactly when `DemoSummary.check()` finds nothing (the CLI tests parse
the text and add it up).
Limits: the refusal kinds are the ones `sim.morning` makes; anything else is "other".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.demo import DemoSummary

# refusal kinds: (deliberate?, how the summary names them)
REFUSAL_KINDS: dict[str, tuple[bool, str]] = {
    "bad_id_number": (True, "ID numbers with a wrong check digit"),
    "unregistered": (True, "check-ins by those workers (never registered)"),
    "revoked_station": (True, "check-ins, postings and reviews at the station revoked at 07:45"),
    "late_reply": (False, "answers to offers that had closed (job filled or offer expired)"),
    "late_review": (False, "reviews of postings no longer held"),
    "other": (False, "other"),
}
HOLD_REASONS = {
    "pay_far_below_local": "pay far below the local level (4% of postings, on purpose)",
    "pay_far_above_local": "pay far above the local level",
    "employer_flagged": "employer flagged by complaints",
    "duplicate_of": "a duplicate posting",
}
HELD_CLOSED = {"held": "still held", "cancelled": "cancelled", "expired": "expired"}


def _parts(items: dict[str, int], names: dict[str, str] | None = None) -> str:
    return " + ".join(f"{v} {(names or {}).get(k, k)}" for k, v in items.items() if v)


def format_summary(s: DemoSummary) -> str:
    """The summary for people; `--json` gives the same figures as one document."""
    pad = " " * 21
    lines = [f"lingong demo — synthetic morning of {s.date}"]
    before = f"; {s.records_before} were there before" if s.records_before else ""
    lines.append(f"  log                {s.log}  ({s.records} records{before})")
    reg = f"{s.stations} stations, {s.employers} employers, {s.workers} workers registered"
    if s.registrations_refused:
        reg += f" ({s.registrations_refused} refused, see refusals)"
    lines.append(f"  registry           {reg}")
    if s.already_registered:
        lines.append(f"{pad}already in the log, not sent again: {_parts(s.already_registered)}")
    lines.append(
        f"  check-ins          {s.checkins}"
        + (f" ({s.checkins_refused} refused, see refusals)" if s.checkins_refused else "")
    )
    lines.append(
        f"  postings           {s.postings_submitted} submitted = {s.postings} accepted + "
        f"{s.postings_refused} refused (see refusals)"
    )
    lines.append(
        f"{pad}{s.postings} accepted = {s.published_at_once} published at once + "
        f"{s.held_for_review} held for review + {s.rejected_at_once} rejected at once"
    )
    if s.held_for_review:
        why = ", ".join(f"{v} {HOLD_REASONS.get(k, k)}" for k, v in s.held_reasons.items())
        closed = "".join(f" + {v} {HELD_CLOSED.get(k, k)}" for k, v in s.held_closed.items())
        lines.append(
            f"{pad}{s.held_for_review} held = {s.approved_on_review} approved + "
            f"{s.rejected_on_review} rejected by station staff{closed}"
        )
        lines.append(f"{pad}held because: {why}")
    lines.append(
        f"{pad}{s.published} published = {_parts(s.published_outcome) or '0'}; "
        f"{s.slots} slots (workers wanted)"
    )
    lines.append(
        f"  offers             {s.offers} = {s.wave_offers} in waves + {s.checkin_offers} on "
        f"check-in + {s.bell_offers} at the opening bell"
    )
    fates = {
        "accepted": s.offers_accepted,
        "declined": s.offers_declined,
        "expired": s.offers_expired,
        "withdrawn (the job filled or the worker left)": s.offers_withdrawn,
        "still open": s.offers_live,
    }
    lines.append(f"{pad}{s.offers} = {_parts(fates) or '0'}")
    lines.append(
        f"  1.5 km pushes      {s.pushes} (jobs texted to opted-in workers nearby), "
        f"{s.pushes_before_7am} before 07:00"
    )
    lines.append(
        f"  hires              {s.hires} (one per accepted offer); {s.jobs_filled} jobs filled; "
        f"fill rate {s.fill_rate:.1%} of {s.slots} slots; median time to fill "
        f"{s.median_time_to_fill_s:.0f} s"
    )
    pending = s.hires - s.no_shows - s.arrived
    after = {"no-shows": s.no_shows, "arrived": s.arrived, "not yet due": pending}
    lines.append(f"  after the hire     {s.hires} = {_parts(after) or '0'}")
    unpaid = s.completed - s.wages_paid - s.wages_partial - s.complaints
    paid = {
        "paid in full": s.wages_paid,
        "paid in part (arrears case open)": s.wages_partial,
        "complaints of unpaid wages": s.complaints,
        "unpaid": unpaid,
    }
    still = s.arrived - s.completed
    lines.append(
        f"{pad}{s.completed} completed{f' ({still} still at work)' if still else ''} = "
        f"{_parts(paid) or '0'}"
    )
    lines.append(
        f"  agreements         {s.agreements} (terms of each hire, hashed into the log); "
        f"{s.wage_payments} wage payments"
    )
    still_open = s.arrears_opened - s.arrears_closed
    lines.append(
        f"  arrears cases      {s.arrears_opened} opened = {s.arrears_closed} closed (paid in "
        f"full later) + {still_open} still open; {s.arrears_holds} live postings held, "
        f"{s.republished} published again, {s.arrears_rejected} rejected on review"
    )
    if s.complaints:
        cases = {
            "resolved": s.complaints_resolved,
            "rejected": s.complaints_rejected,
            "still open": s.complaints_open,
        }
        lines.append(
            f"  complaint cases    {s.complaints} = {_parts(cases) or '0'}; "
            f"{s.complaints_overdue} passed their 限时办结 deadline still open"
        )
    lines.append(f"  refusals           {s.refusals}" + (":" if s.refusals else ""))
    if s.deliberate_refusals:
        parts = ", ".join(
            f"{s.refusal_kinds[k]} {REFUSAL_KINDS[k][1]}"
            for k in REFUSAL_KINDS
            if REFUSAL_KINDS[k][0] and k in s.refusal_kinds
        )
        lines.append(
            f"{pad}{s.deliberate_refusals} deliberate bad inputs: the synthetic crowd makes "
            f"these mistakes on purpose to show the refusals ({parts})"
        )
    for k, (deliberate, text) in REFUSAL_KINDS.items():
        if not deliberate and s.refusal_kinds.get(k):
            extra = " in a live market: not errors" if k == "late_reply" else ""
            lines.append(f"{pad}{s.refusal_kinds[k]} {text}{extra}")
    if s.refusal_rules:
        lines.append(
            f"{pad}by command and rule: "
            + ", ".join(f"{k}={v}" for k, v in s.refusal_rules.items())
        )
    lines.append(f"  state digest       {s.state_digest[:16]}…")
    lines.append(
        f"  took               {s.elapsed_s:.2f} s ({s.events} events, "
        f"{s.events_per_s:,.0f} events/s incl. fsync)"
    )
    return "\n".join(lines)
