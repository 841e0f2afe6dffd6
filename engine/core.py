"""The single-writer core: `execute(command)` decides, applies and reacts.

Owns: the `Engine` (one `State`), idempotency by command id, turning an accepted command
into one log `Record`, and re-executing recorded facts for audits.

Invariants:
- One record per accepted command, seq = previous seq + 1; `record.events[0]` is the
  fact, the rest are the decisions `react` derived from it, in order.
- A refused command raises `Refusal` and changes nothing (decide runs before apply).
- A repeated `command_id` returns the first result's seq and appends nothing.
- No I/O, no clock, no randomness: the shell (adapters.shell.runtime) appends records and
  seals personal data; replay folds records with `apply_record`.

Limits: see `engine.rules` (request sizes) and `engine.state` (remembered commands).
"""

from __future__ import annotations

import msgspec

from engine import events as e
from engine.commands import Command, Refusal
from engine.fold import apply
from engine.react import react
from engine.rules import decide
from engine.state import State


class Outcome(msgspec.Struct, kw_only=True):
    """The result of one command: its record (or the seq of the first, on a retry)."""

    seq: int
    events: list[e.Event]
    duplicate: bool = False
    personal: dict[str, dict[str, str]] = {}

    @property
    def fact(self) -> e.Event | None:
        return self.events[0] if self.events else None


class Divergence(msgspec.Struct, kw_only=True):
    seq: int
    index: int
    recorded: str
    recomputed: str


class Engine:
    """Deterministic engine over one `State`. Not thread-safe: one writer."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state if state is not None else State()

    # ------------------------------------------------------------ commands ----------

    def execute(self, cmd: Command) -> Outcome:
        """Decide `cmd`; apply its fact and the decisions following it."""
        state = self.state
        first = state.commands.get(cmd.command_id)
        if first is not None:
            return Outcome(seq=first, events=[], duplicate=True)
        decided = decide(state, cmd)
        if len(decided.facts) != 1:  # every decider yields exactly one fact
            raise Refusal("type", "one_fact", "internal: a command must yield one fact")
        fact = decided.facts[0]
        apply(state, fact)
        events = [fact, *react(state, fact)]
        seq = state.last_seq + 1
        state.last_seq = seq
        state.remember_command(cmd.command_id, seq)
        return Outcome(seq=seq, events=events, personal=decided.personal)

    # ------------------------------------------------------------ replay ------------

    def apply_record(self, seq: int, record: e.Record) -> None:
        """Fold a recorded record without re-deciding (rebuild, snapshots)."""
        state = self.state
        if seq != state.last_seq + 1:
            raise ValueError(f"record seq {seq} does not follow {state.last_seq}")
        for ev in record.events:
            apply(state, ev)
        state.last_seq = seq
        state.remember_command(record.cmd_id, seq)

    def reexecute_record(self, seq: int, record: e.Record) -> Divergence | None:
        """Apply the recorded fact, re-derive its decisions and compare with the record.

        The state advances with the recomputed decisions, so a divergence is reported
        at the first record where it appears.
        """
        state = self.state
        if seq != state.last_seq + 1:
            raise ValueError(f"record seq {seq} does not follow {state.last_seq}")
        fact = record.events[0]
        apply(state, fact)
        recomputed = [fact, *react(state, fact)]
        state.last_seq = seq
        state.remember_command(record.cmd_id, seq)
        recorded = record.events
        for i in range(max(len(recorded), len(recomputed))):
            a = recorded[i] if i < len(recorded) else None
            b = recomputed[i] if i < len(recomputed) else None
            if a != b:
                return Divergence(
                    seq=seq,
                    index=i,
                    recorded=_show(a),
                    recomputed=_show(b),
                )
        return None

    def digest(self) -> str:
        return self.state.digest()


def make_record(cmd_id: str, events: list[e.Event]) -> e.Record:
    return e.Record(v=e.SCHEMA_VERSION, cmd_id=cmd_id, events=events)


def _show(ev: e.Event | None) -> str:
    if ev is None:
        return "(none)"
    return e.to_json(ev).decode()
