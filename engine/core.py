"""The single-writer core: `execute(command, caller)` authorises, decides, applies, reacts.

Owns: the `Engine` (one `State`), idempotency by command id bound to the command's
digest, turning an accepted command into one log `Record`, and re-executing recorded
facts for audits.

Invariants:
- Order of checks: bounds (`engine.commands.check`), the free-text screen, the caller's
  role (`engine.authz.check_role`), idempotency, the caller's scope against the real
  state (`engine.authz.check_scope`), then `engine.rules.decide_checked`.
- One record per accepted command, seq = previous seq + 1; `record.events[0]` is the
  fact, the rest are the decisions `react` derived from it, in order.
- A refused command raises `Refusal` and changes nothing (decide runs before apply).
- A repeated `command_id` with the same command digest returns the first result's seq and
  appends nothing; with another digest it is refused ("Idempotency-Key",
  "idempotency_key_reused"). Records carry the digest, so replay (`apply_record`)
  restores the same table.
- No I/O, no clock, no randomness: the shell (adapters.shell.runtime) appends records and
  seals personal data; replay folds records with `apply_record`.

Limits: see `engine.bounds` (request sizes) and `engine.state` (remembered commands).
"""

from __future__ import annotations

import msgspec

from engine import events as e
from engine.authz import SYSTEM, Caller, check_role, check_scope
from engine.commands import Command, Refusal, check
from engine.fold import apply
from engine.react import react
from engine.record import Record, command_digest, make_record, recorded_command
from engine.rules import decide_checked, screen_free_text
from engine.state import State


class Outcome(msgspec.Struct, kw_only=True):
    """The result of one command: its record (or the seq of the first, on a retry)."""

    seq: int
    events: list[e.Event]
    duplicate: bool = False
    personal: dict[str, dict[str, str]] = {}
    command: Command | None = None  # the command as checked (None on a duplicate)
    actor: str = ""
    digest: bytes = b""

    @property
    def fact(self) -> e.Event | None:
        return self.events[0] if self.events else None

    def record(self, events: list[e.Event] | None = None) -> Record:
        """The log record of this outcome (`events`: the events with sealed blobs)."""
        assert self.command is not None, "a duplicate has no record of its own"
        return make_record(
            self.command.command_id,
            self.events if events is None else events,
            command=recorded_command(self.command),
            actor=self.actor,
            digest=self.digest,
        )


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

    def execute(self, cmd: Command, caller: Caller = SYSTEM) -> Outcome:
        """Authorise and decide `cmd`; apply its fact and the decisions following it."""
        state = self.state
        cmd = check(cmd)
        screen_free_text(cmd)
        check_role(caller, cmd)
        digest = command_digest(cmd)
        first = state.commands.get(cmd.command_id)
        if first is not None:
            seq, known = first
            if known and known != digest:
                raise Refusal(
                    "Idempotency-Key",
                    "idempotency_key_reused",
                    "this key was already used for another request; send a new key",
                )
            return Outcome(seq=seq, events=[], duplicate=True, digest=known)
        check_scope(state, caller, cmd)
        decided = decide_checked(state, cmd)
        fact = decided.facts[0]
        apply(state, fact)
        events = [fact, *react(state, fact)]
        seq = state.last_seq + 1
        state.last_seq = seq
        state.remember_command(cmd.command_id, seq, digest)
        return Outcome(
            seq=seq,
            events=events,
            personal=decided.personal,
            command=cmd,
            actor=caller.actor_id,
            digest=digest,
        )

    # ------------------------------------------------------------ replay ------------

    def redecide(self, cmd: Command) -> e.Event:
        """The fact `cmd` decides in the current state, as `execute` decides it (bounds,
        free-text screen, rules), without applying anything. The caller is not checked
        again (a record keeps its actor id, not the caller). Raises `Refusal`."""
        cmd = check(cmd)
        screen_free_text(cmd)
        return decide_checked(self.state, cmd).facts[0]

    def apply_record(self, seq: int, record: Record) -> None:
        """Fold a recorded record without re-deciding (rebuild, snapshots)."""
        state = self.state
        if seq != state.last_seq + 1:
            raise ValueError(f"record seq {seq} does not follow {state.last_seq}")
        for ev in record.events:
            apply(state, ev)
        state.last_seq = seq
        state.remember_command(record.cmd_id, seq, record.digest)

    def reexecute_record(self, seq: int, record: Record) -> Divergence | None:
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
        state.remember_command(record.cmd_id, seq, record.digest)
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


def _show(ev: e.Event | None) -> str:
    if ev is None:
        return "(none)"
    return e.to_json(ev).decode()
