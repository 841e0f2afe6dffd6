"""`lingong replay whatif`: the same facts under another policy, side by side.

Owns: `load_overrides` (a JSON object of `engine.events.Policy` fields, all or some),
`whatif(directory, overrides, region)` and the report comparing the recorded outcomes
with the re-run (`replay.outcomes`).

The policy change. Fields in the file replace those of the policy in force; fields not
in it keep their recorded values (a full `Policy` JSON replaces everything). It applies
to `region` and every region under it ("" = all regions): every recorded `PolicySet` for
such a region gets the merged policy, and when `region` itself has no `PolicySet` of its
own, it gets one from the start, merged over whatever it inherits (and re-merged when an
ancestor's policy changes). The merged policy must pass the production range checks.

Which facts are replayed (the rule, reported with the counts):
- Facts are what people and the runtime did; decisions are re-derived by the engine.
- Every record's command (as recorded: `engine.record.recorded_command`) is decided again
  by the production rules (`engine.rules.decide`) in the what-if state; a command the rules
  refuse there (a review of a posting that was published directly, wages for a hire that
  never happened, ...) is dropped and counted by its rule.
- A recorded accept or decline is replayed only if the what-if run has a live offer of
  the same job to the same worker at that moment; it is re-addressed to that offer (offer
  ids name a wave, which may differ) and must then pass the rules (not expired, job still
  open, no overlapping hire). Otherwise it is dropped as "no_live_offer".
- Registrations (sealed personal data, no decision depends on the policy) are applied as
  recorded. A log whose records carry no command (v1) cannot be re-run (an error naming
  the record).
- Nobody answers an offer the recorded run never made: such offers expire (counted as
  `offers_not_in_recorded_run`). A what-if that creates new offers therefore shows a
  lower bound on hires, not a forecast of behaviour.

Invariants: with the recorded policy, the re-run makes exactly the recorded decisions
(same events, same outcomes; the tests check it). Read-only.

Limits: one policy change per run; the re-run costs as much as `verify`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.ports import LogReader
from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.core import Engine
from engine.fold import InconsistentLog, apply
from engine.react import react
from engine.rules import decide
from engine.state import State
from replay.outcomes import SCALARS, Outcomes
from replay.source import Progress, ReplayError, bulk, open_reader, read_records, reads_log
from replay.verify import SEALED_COMMANDS

_POLICY_FIELDS = frozenset(e.Policy.__struct_fields__)
_WEIGHT_FIELDS = frozenset(e.Weights.__struct_fields__)


class WhatIfReport(msgspec.Struct, kw_only=True):
    log: str
    region: str
    overrides: dict[str, Any]
    policies_replaced: list[dict[str, Any]]
    records: int
    records_replayed: int
    records_with_other_decisions: int
    facts_dropped: dict[str, int]  # "FactType:rule" -> count
    offers_not_in_recorded_run: int
    recorded: dict[str, Any]
    whatif: dict[str, Any]
    digest: str
    elapsed_s: float


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Policy fields from a JSON file; unknown names are an error (typos change nothing)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of Policy fields")
    check_overrides(data)
    return data


def check_overrides(data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - _POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown Policy fields {unknown}; known: {sorted(_POLICY_FIELDS)}")
    weights = data.get("weights", {})
    if not isinstance(weights, dict) or set(weights) - _WEIGHT_FIELDS:
        raise ValueError(f"weights must be an object with fields from {sorted(_WEIGHT_FIELDS)}")
    merge_policy(e.Policy(), data)  # types


def merge_policy(base: e.Policy, overrides: dict[str, Any]) -> e.Policy:
    """`base` with the fields in `overrides` replaced (weights merged field by field)."""
    data = msgspec.to_builtins(base)
    for key, value in overrides.items():
        data[key] = {**data["weights"], **value} if key == "weights" else value
    try:
        return msgspec.convert(data, e.Policy)
    except msgspec.ValidationError as exc:
        raise ValueError(f"policy: {exc}") from None


class _PolicyRewriter:
    """Keeps the what-if policy in force for `region` and every region under it."""

    def __init__(self, region: str, overrides: dict[str, Any]) -> None:
        self.region = region
        self.overrides = overrides
        self.own_entry = False  # has `region` a PolicySet of its own (replaced) yet?
        self.replaced: list[dict[str, Any]] = []

    def start(self, state: State, ts_ms: int) -> None:
        self._inherit(state, ts_ms, "start")

    def _inherit(self, state: State, ts_ms: int, why: str) -> None:
        if self.own_entry:
            return
        version, base = _inherited(state, self.region)
        policy = merge_policy(base, self.overrides)
        _check_range(state, self.region, policy, ts_ms)
        state.set_policy(self.region, version if self.region == "" else 0, policy)
        self.replaced.append({"region": self.region, "at": why, "inherited_version": version})

    def rewrite(self, state: State, fact: e.PolicySet, cmd_id: str) -> e.PolicySet:
        if not fact.region.startswith(self.region):
            return fact
        policy = merge_policy(fact.policy, self.overrides)
        self.own_entry = self.own_entry or fact.region == self.region
        cmd = c.SetPolicy(
            command_id=cmd_id, ts_ms=fact.ts_ms, region=fact.region, policy=policy, note=fact.note
        )
        try:
            out = decide(state, cmd).facts[0]
        except Refusal as ref:
            raise ValueError(f"the what-if policy for region {fact.region!r}: {ref}") from None
        self.replaced.append({"region": fact.region, "at": "PolicySet", "version": out.version})
        return out  # type: ignore[return-value]

    def after(self, state: State, fact: e.PolicySet) -> None:
        """An ancestor's PolicySet changed what `region` inherits: re-merge."""
        if fact.region != self.region and self.region.startswith(fact.region):
            self._inherit(state, fact.ts_ms, f"PolicySet {fact.region or '(national)'}")


def _inherited(state: State, region: str) -> tuple[int, e.Policy]:
    """The policy `region` inherits from its nearest ancestor with a PolicySet."""
    for cut in (4, 2):
        if cut < len(region) and region[:cut] in state.policies:
            return state.policies[region[:cut]]
    return state.policies[""]


def _check_range(state: State, region: str, policy: e.Policy, ts_ms: int) -> None:
    try:
        decide(
            state,
            c.SetPolicy(
                command_id="whatif-check", ts_ms=max(ts_ms, 1), region=region, policy=policy
            ),
        )
    except Refusal as ref:
        raise ValueError(f"the what-if policy for region {region!r}: {ref}") from None


@reads_log
def whatif(
    log: LogReader | str, overrides: dict[str, Any], *, region: str = "", quiet: bool = True
) -> WhatIfReport:
    """Re-run the log's facts under the policy change; compare with the recorded run."""
    check_overrides(overrides)
    reader = open_reader(log)
    if region and (len(region) not in (2, 4, 6) or not region.isdigit()):
        raise ValueError("region must be empty (all) or a 2, 4 or 6 digit prefix")
    started = time.perf_counter()
    engine = Engine()
    state = engine.state
    rewriter = _PolicyRewriter(region, overrides)
    recorded, rerun = Outcomes(), Outcomes()
    recorded_offer: dict[str, tuple[str, str]] = {}  # recorded offer id -> (job, worker)
    offered: dict[tuple[str, str], None] = {}
    dropped: dict[str, int] = {}
    changed = replayed = records = 0
    with bulk(), Progress(reader.last_seq, "whatif", quiet=quiet) as bar:
        for batch in read_records(reader, progress=bar):
            for seq, rec in batch:
                records += 1
                if seq == 1:
                    rewriter.start(state, rec.events[0].ts_ms)
                recorded.feed(rec.events)
                for ev in rec.events:
                    if isinstance(ev, e.OfferMade):
                        recorded_offer[ev.offer_id] = (ev.job_id, ev.worker_id)
                try:
                    fact, why = _translate(state, rec, rewriter, recorded_offer)
                except (KeyError, ValueError) as exc:
                    if isinstance(exc, ValueError) and str(exc).startswith("the what-if"):
                        raise
                    raise ReplayError(seq, f"cannot be replayed: {exc}") from exc
                if fact is None:
                    key = f"{type(rec.events[0]).__name__}:{why}"
                    dropped[key] = dropped.get(key, 0) + 1
                    continue
                try:
                    apply(state, fact)
                    events = [fact, *react(state, fact)]
                except InconsistentLog as exc:
                    raise ReplayError(seq, f"does not fit the what-if state: {exc}") from exc
                state.last_seq += 1
                state.remember_command(rec.cmd_id, state.last_seq)
                if isinstance(fact, e.PolicySet):
                    rewriter.after(state, fact)
                rerun.feed(events)
                for ev in events:
                    if isinstance(ev, e.OfferMade):
                        offered[(ev.job_id, ev.worker_id)] = None
                replayed += 1
                if events[1:] != rec.events[1:]:
                    changed += 1
    recorded_pairs = dict.fromkeys(recorded_offer.values())
    return WhatIfReport(
        log=reader.location,
        region=region,
        overrides=overrides,
        policies_replaced=rewriter.replaced,
        records=records,
        records_replayed=replayed,
        records_with_other_decisions=changed,
        facts_dropped=dict(sorted(dropped.items())),
        offers_not_in_recorded_run=sum(1 for pair in offered if pair not in recorded_pairs),
        recorded=recorded.result(),
        whatif=rerun.result(),
        digest=state.digest(),
        elapsed_s=round(time.perf_counter() - started, 3),
    )


def _translate(
    state: State,
    rec: e.Record,
    rewriter: _PolicyRewriter,
    recorded_offer: dict[str, tuple[str, str]],
) -> tuple[e.Event | None, str]:
    """The fact to apply in the what-if run, or (None, why it is dropped)."""
    fact = rec.events[0]
    if isinstance(fact, e.PolicySet):
        return rewriter.rewrite(state, fact, rec.cmd_id), ""
    cmd = rec.command
    if isinstance(cmd, SEALED_COMMANDS):
        return fact, ""
    if cmd is None:
        raise ValueError(
            "the record was written before records carried their command (a v1 log): "
            "what-if re-decides recorded commands; `lingong replay verify` still checks it"
        )
    if isinstance(fact, e.OfferAccepted | e.OfferDeclined):
        job_id, worker_id = recorded_offer[fact.offer_id]
        row = state.worker_rows[worker_id]
        live = [o for o in state.live_offers_of(row) if state.offers[o].job_id == job_id]
        if not live:
            return None, "no_live_offer"
        cmd = msgspec.structs.replace(cmd, offer_id=live[0])
    try:
        return decide(state, cmd).facts[0], ""
    except Refusal as ref:
        return None, ref.rule


# ------------------------------------------------------------------ text ------------


def format_whatif(r: WhatIfReport) -> str:
    scope = f"region {r.region} and below" if r.region else "all regions"
    lines = [
        f"what-if on {r.log}: {scope} with {msgspec.json.encode(r.overrides).decode()}",
        f"  {r.records_replayed} of {r.records} recorded facts replayed; "
        f"{r.records_with_other_decisions} records got other decisions; "
        f"{r.offers_not_in_recorded_run} offers the recorded run never made (nobody answers "
        "them: hires are a lower bound)",
    ]
    if r.facts_dropped:
        lines.append(
            "  facts dropped (refused by the rules in the what-if state): "
            + ", ".join(f"{k}={v}" for k, v in r.facts_dropped.items())
        )
    lines.append("")
    lines.append(f"  {'':<28} {'recorded':>12} {'what-if':>12} {'change':>10}")
    for key in SCALARS:
        a, b = r.recorded[key], r.whatif[key]
        lines.append(f"  {key:<28} {_num(a):>12} {_num(b):>12} {_delta(a, b):>10}")
    for dim in ("by_age_band", "by_priority_group"):
        lines.append("")
        lines.append(
            f"  {dim[3:].replace('_', ' '):<16} {'offers':>8} {'what-if':>8} "
            f"{'hires':>8} {'what-if':>8}"
        )
        groups = list(dict.fromkeys([*r.recorded[dim], *r.whatif[dim]]))
        for g in groups:
            a = r.recorded[dim].get(g, {"offers": 0, "hires": 0})
            b = r.whatif[dim].get(g, {"offers": 0, "hires": 0})
            lines.append(
                f"  {g:<16} {a['offers']:>8} {b['offers']:>8} {a['hires']:>8} {b['hires']:>8}"
            )
    return "\n".join(lines)


def _num(x: float | int) -> str:
    return f"{x:.4f}" if isinstance(x, float) and x < 1.5 and x != int(x) else f"{x:,}"


def _delta(a: float | int, b: float | int) -> str:
    if a == b:
        return "="
    if isinstance(a, float) or isinstance(b, float):
        return f"{b - a:+.4g}"
    return f"{b - a:+,}"
