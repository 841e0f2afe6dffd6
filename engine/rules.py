"""Deciding commands: validate against the state and turn a command into facts.

Owns: `decide(state, cmd)`, the table from command type to decider, and the order of the
checks every command passes: bounds (`engine.commands.check`), the free-text screen
(`engine.rules_common.screen_free_text`), then the command's own decider in
`engine.rules_registry`, `engine.rules_morning`, `engine.rules_hires` or
`engine.rules_complaints`.

Invariants:
- `decide` never mutates the state. A refused command raises `Refusal(field, rule,
  message)` before any event exists, so nothing changes.
- Plain personal data leaves only as masked strings plus `Decided.personal`, which the
  shell seals; it never enters an event.
- No clock: `ts_ms` comes from the command. Every decider yields exactly one fact.
- Authorisation (who may send the command) is not here: `engine.authz`, run by
  `engine.core.Engine.execute` before deciding. Replay re-decides without a caller.

Limits: see `engine.bounds` and the deciders' modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine import commands as c
from engine import rules_complaints as k
from engine import rules_hires as h
from engine import rules_morning as m
from engine import rules_registry as r
from engine import station_life
from engine import training as t
from engine.commands import Refusal
from engine.rules_common import Decided, screen_free_text
from engine.state import State

__all__ = ["Decided", "decide", "decide_checked", "screen_free_text"]

_DECIDERS: dict[type, Callable[[State, Any, int], Decided]] = {
    c.SetPolicy: r.set_policy,
    c.RegisterStation: r.register_station,
    c.ChangeStationStatus: r.change_station,
    c.RegisterEmployer: r.register_employer,
    c.FlagEmployer: r.flag_employer,
    c.RegisterWorker: r.register_worker,
    c.UpdateWorker: r.update_worker,
    c.EraseWorker: r.erase_worker,
    c.CheckIn: m.check_in,
    c.CheckOut: m.check_out,
    c.SubmitJob: m.submit_job,
    c.ReviewJob: m.review_job,
    c.CancelJob: m.cancel_job,
    c.Advance: m.advance,
    c.RingBell: m.ring_bell,
    c.AcceptOffer: h.accept,
    c.DeclineOffer: h.decline,
    c.ConfirmArrival: h.arrive,
    c.ReportNoShow: h.no_show,
    c.CompleteWork: h.complete,
    c.PayWage: h.pay,
    c.FileComplaint: h.complain,
    c.ResolveComplaint: h.resolve,
    c.Rate: h.rate,
    c.ChangeComplaintStatus: k.change_status,
    c.PublishTraining: t.publish_training,
    c.SignUpTraining: t.sign_up,
    c.CompleteTraining: t.complete,
    c.PublishPolicyAnswer: t.publish_answer,
    **station_life.DECIDERS,
}


def decide(state: State, cmd: c.Command) -> Decided:
    """The facts `cmd` produces in `state`, or a `Refusal`. Never mutates `state`."""
    cmd = c.check(cmd)
    screen_free_text(cmd)
    return decide_checked(state, cmd)


def decide_checked(state: State, cmd: c.Command) -> Decided:
    """`decide` for a command already bounds-checked (`engine.commands.check`) and
    screened (`screen_free_text`): `Engine.execute` does both before authorising."""
    decider = _DECIDERS.get(type(cmd))
    if decider is None:
        raise Refusal("type", "known_command", f"unknown command {c.clip(type(cmd).__name__)}")
    decided = decider(state, cmd, cmd.ts_ms)
    if len(decided.facts) != 1:
        raise AssertionError(f"{type(cmd).__name__} must yield exactly one fact")
    decided.facts = [msgspec.structs.replace(f, cmd_id=cmd.command_id) for f in decided.facts]
    return decided
