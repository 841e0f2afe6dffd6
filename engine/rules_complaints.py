"""Deciding the steps of complaint cases (issue 14: 投诉 as cases with 限时办结).

Owns: `check_room(state)` (the bound on live cases, used by `rules_hires.complain`) and
the decider of `ChangeComplaintStatus`. The case a `ComplaintFiled` opens (its answering
station, the hire's collecting one, and its deadline) is set by the fold
(`engine.fold`), from the state at filing, so older logs re-decide to the same facts.

Invariants:
- A case moves forward only: open -> accepted -> investigating -> resolved | rejected;
  steps may be skipped, never repeated or reversed; a closed case (resolved, rejected,
  or upheld/dismissed by the older `ResolveComplaint`) changes no more.
- The deadline is `filed + policy.complaint_deadlines.<kind>_days` of the policy of the
  hire's job region (the employer's when the job has left) when the complaint is filed; whether it passed is decided by a `Tick`
  (the due heap), never by reading a clock.
- The note is free text told to the complainant: the event keeps it with phone and ID
  numbers masked; the full note leaves in `Decided.personal` to be sealed under the
  complainant's key (as complaint text is), so erasing the worker makes it unreadable.
- Deciders never mutate the state; bounds are already checked.

Limits: `engine.state.MAX_LIVE_COMPLAINTS` live cases (checked by `complain`).
"""

from __future__ import annotations

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.idnumbers import mask_pii_in_text
from engine.rules_common import Decided
from engine.state import MAX_LIVE_COMPLAINTS, State

# the order of the steps of a case: a step must go past the current one
STEP_ORDER = {"open": 0, "accepted": 1, "investigating": 2, "resolved": 3, "rejected": 3}


def check_room(state: State) -> None:
    """Refuse a new complaint when the live cases are at their limit."""
    if state.live_complaints >= MAX_LIVE_COMPLAINTS:
        raise Refusal(
            "complaint_id", "max_live_complaints", f"at most {MAX_LIVE_COMPLAINTS} open cases"
        )


def change_status(state: State, cmd: c.ChangeComplaintStatus, ts: int) -> Decided:
    comp = state.complaints.get(cmd.complaint_id)
    if comp is None:
        raise Refusal("complaint_id", "exists", f"no complaint {c.clip(cmd.complaint_id)!r}")
    if not comp.live:
        raise Refusal("complaint_id", "open", f"the case is closed ({comp.status})")
    if STEP_ORDER[cmd.status] <= STEP_ORDER[comp.status]:
        raise Refusal(
            "status",
            "forward",
            f"a case that is {comp.status} cannot become {cmd.status} "
            "(open -> accepted -> investigating -> resolved | rejected)",
        )
    ev = e.ComplaintStatusChanged(
        ts_ms=ts,
        complaint_id=cmd.complaint_id,
        status=cmd.status,
        staff_id=cmd.staff_id,
        worker_id=comp.worker_id,
        note=mask_pii_in_text(cmd.note),
        kind=comp.kind,
    )
    personal = {}
    row = state.worker_rows.get(comp.worker_id)
    if cmd.note and row is not None and state.workers.active[row]:  # erased: masked only
        personal = {comp.worker_id: {"complaint_note": cmd.note}}
    return Decided(facts=[ev], personal=personal)
