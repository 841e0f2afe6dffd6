"""`lingong replay verify`: prove the log was not altered and re-run every decision.

Owns: `verify(directory)`, which checks, in order and stopping at the first failure:

1. the log, read once through the one read port (`adapters.log.reader.open_log_reader`:
   a folder or a nats:// URL): an unfinished tail of the last segment and optional
   external anchors (`expect_last_seq`, `expect_head`: a head hash published or kept
   elsewhere is the only way to notice whole appends cut off the end) before reading, and
   `anchors`, a file of signed checkpoints (`adapters.log.checkpoints`: each pins the
   chain head at a seq, signed with a key kept outside the log; the chain is followed
   over the payloads up to the last checkpoint and compared as each seq goes by: a log
   rewritten with a recomputed chain after a record was removed, reordered or forged
   before a checkpoint fails there, naming it);
   then every segment header, every frame's integrity, seq continuity and hash chain link
   as the frames are read, in the same pass that runs steps 2-4;
2. every record's shape: the first event is a fact type carrying the record's command id,
   no command id is recorded twice (the engine answers a retry with the first seq), and
   once a record carries its command every later one does (a forger cannot dodge step 3
   by dropping the command);
3. every fact: the record's command (as recorded, `engine.record.recorded_command`) must
   match the record's command id and digest, and decided again by the production rules
   in the replayed state (`Engine.redecide`) it must give the recorded fact; a fact the
   rules refuse, or decide differently, was not written by this engine. Registrations
   (their recorded command lacks the sealed personal data the rules check) and records
   written before commands were recorded (v1 logs) are counted as unchecked;
4. every decision: `Engine.reexecute_record` applies the fact to a fresh engine,
   re-derives the decisions with `engine.react.react` and compares them with the record.

A failure names the seq, what was recorded and recomputed (and the fields that differ),
and the policy version in force for the region concerned; log damage names the segment
file and byte offset.

Invariants: reads only (no lock, no writes). The log is read once: the chain is checked
in the pass that re-executes, and reading stops at the tail found when the log was
opened (a live log grows behind it).

Limits: a torn tail fails verification unless `allow_torn_tail` (a copy of a live or
crashed log); the time to verify is dominated by re-running the matcher (see the bench).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from adapters.log.checkpoints import AnchorCheck, Checkpoint, CheckpointError, load_checkpoints
from adapters.log.ports import LogCorrupt, LogReader
from adapters.log.records import read_records as read_record_batches
from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.core import Engine
from engine.record import command_digest
from engine.state import State
from replay.source import Progress, ReplayError, bulk, local_time, open_reader


class Failure(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The first thing that did not check out."""

    kind: str  # corrupt, torn_tail, anchor, record, fact, decision, fold
    message: str
    seq: int = 0
    segment: str = ""
    offset: int = -1
    time: str = ""
    index: int = -1  # position of the event inside the record
    recorded: Any = None
    recomputed: Any = None
    fields: dict[str, list[Any]] = {}  # field -> [recorded, recomputed]
    region: str = ""
    policy_region: str = ""
    policy_version: int = -1


class VerifyReport(msgspec.Struct, kw_only=True):
    ok: bool
    log: str
    segments: int = 0
    records: int = 0
    events: int = 0
    last_seq: int = 0
    head_hash: str = ""
    torn_tail_bytes: int = 0
    facts_checked: int = 0
    facts_unchecked: int = 0
    checkpoints_checked: int = 0
    digest: str = ""
    elapsed_s: float = 0.0
    events_per_s: float = 0.0
    failure: Failure | None = None


def policy_in_force(state: State, region: str) -> tuple[str, int]:
    """(prefix, version) of the PolicySet that `State.policy_for(region)` uses."""
    for cut in (6, 4, 2):
        if len(region) >= cut and region[:cut] in state.policies:
            return region[:cut], state.policies[region[:cut]][0]
    return "", state.policies[""][0]


def region_of(state: State, ev: dict[str, Any]) -> str:
    """The region an event concerns (job, offer, hire, worker, station or employer)."""
    if "region" in ev:
        return str(ev["region"])
    job_id = ev.get("job_id")
    if job_id is None and ev.get("offer_id") in state.offers:
        job_id = state.offers[ev["offer_id"]].job_id
    if job_id is None and ev.get("hire_id") in state.hires:
        job_id = state.hires[ev["hire_id"]].job_id
    if job_id in state.jobs:
        return state.jobs[job_id].region
    if ev.get("worker_id") in state.worker_rows:
        return state.worker_region[state.worker_rows[ev["worker_id"]]]
    scope = str(ev.get("scope", ""))
    if scope.startswith("region:"):
        return scope[len("region:") :]
    station = ev.get("station_id") or scope
    if station in state.stations:
        return state.stations[station].region
    if ev.get("employer_id") in state.employers:
        return state.employers[ev["employer_id"]].region
    return ""


def _as_dict(ev: e.Event | str | None) -> dict[str, Any] | None:
    if ev is None or ev == "(none)":
        return None
    if isinstance(ev, str):
        return msgspec.json.decode(ev)
    return msgspec.to_builtins(ev)


def _event_failure(
    state: State, kind: str, message: str, seq: int, index: int, recorded, recomputed
) -> Failure:
    a, b = _as_dict(recorded), _as_dict(recomputed)
    fields: dict[str, list[Any]] = {}
    if a is not None and b is not None:
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                fields[key] = [a.get(key), b.get(key)]
    region = region_of(state, a or b or {})
    prefix, version = policy_in_force(state, region)
    ts = (a or b or {}).get("ts_ms", 0)
    return Failure(
        kind=kind,
        message=message,
        seq=seq,
        time=local_time(ts) if ts else "",
        index=index,
        recorded=a,
        recomputed=b,
        fields=fields,
        region=region,
        policy_region=prefix,
        policy_version=version,
    )


def check_record(
    engine: Engine, seq: int, rec: e.Record, check_facts: bool = True, commanded: bool = False
) -> Failure | None:
    """Steps 2-4 for one record; the engine advances (with the recomputed decisions).
    `commanded`: an earlier record carried its command, so this one must too."""
    state = engine.state
    if not rec.events:
        return Failure(kind="record", message="record has no events", seq=seq)
    fact = rec.events[0]
    if type(fact) not in e.FACTS:
        return _event_failure(
            state,
            "record",
            f"first event is a decision ({type(fact).__name__}), not a fact",
            seq,
            0,
            fact,
            None,
        )
    if fact.cmd_id != rec.cmd_id:
        return _event_failure(
            state,
            "record",
            f"fact carries command id {fact.cmd_id!r}, record {rec.cmd_id!r}",
            seq,
            0,
            fact,
            None,
        )
    if rec.cmd_id in state.commands:
        first = state.commands[rec.cmd_id]
        return Failure(
            kind="record",
            message=f"command id {rec.cmd_id!r} already recorded at seq {first}",
            seq=seq,
        )
    if commanded and rec.command is None:  # commands are recorded from some seq on, always
        return Failure(
            kind="record",
            message="the record carries no command while earlier records do: it was not "
            "written by this engine (its fact could not be re-decided)",
            seq=seq,
        )
    if check_facts and checkable(rec):
        failure = _redecide(engine, seq, rec)
        if failure is not None:
            return failure
    try:
        div = engine.reexecute_record(seq, rec)
    except Exception as exc:  # a forged fact that does not fit the state
        return _event_failure(
            state, "fold", f"re-execution failed: {type(exc).__name__}: {exc}", seq, 0, fact, None
        )
    if div is not None:
        return _event_failure(
            state,
            "decision",
            "recomputed decision differs from the recorded one",
            seq,
            div.index,
            div.recorded,
            div.recomputed,
        )
    return None


# their recorded command lacks the personal data the rules check (it is sealed in the event)
SEALED_COMMANDS = (c.RegisterWorker, c.RegisterEmployer)


def checkable(rec: e.Record) -> bool:
    """Whether the record's fact can be re-decided from its recorded command: not for
    registrations, nor for records written before commands were recorded (v1 logs)."""
    return rec.command is not None and not isinstance(rec.command, SEALED_COMMANDS)


def _redecide(engine: Engine, seq: int, rec: e.Record) -> Failure | None:
    """Step 3: the recorded command, decided again in the replayed state, gives the fact."""
    state, fact, cmd = engine.state, rec.events[0], rec.command
    assert cmd is not None
    if cmd.command_id != rec.cmd_id:
        return Failure(
            kind="record",
            message=f"recorded command has id {cmd.command_id!r}, record {rec.cmd_id!r}",
            seq=seq,
        )
    if rec.digest and command_digest(cmd) != rec.digest:
        return Failure(
            kind="record", message="the recorded command does not match its digest", seq=seq
        )
    try:
        again = engine.redecide(cmd)
    except Refusal as refusal:
        return _event_failure(
            state, "fact", f"the rules refuse its command: {refusal}", seq, 0, fact, None
        )
    if isinstance(
        again, e.ComplaintFiled | e.StationRegistered | e.ComplaintStatusChanged
    ) and type(fact) is type(again):
        again = msgspec.structs.replace(again, sealed=fact.sealed)  # type: ignore[attr-defined]
    if isinstance(again, e.JobSubmitted) and isinstance(fact, e.JobSubmitted) and not fact.terms_v:
        again = msgspec.structs.replace(again, terms_v=0)  # posted before agreements were
    if again != fact:
        return _event_failure(
            state, "fact", "its command decides a different fact", seq, 0, fact, again
        )
    return None


class Options(msgspec.Struct, frozen=True, kw_only=True):
    expect_head: str | None = None
    expect_last_seq: int | None = None
    allow_torn_tail: bool = False
    check_facts: bool = True
    quiet: bool = True
    anchors: str | None = None  # a signed checkpoints file
    anchor_key: str | None = None  # the public key (hex) the checkpoints must be signed by


def verify(log: LogReader | str, **options: Any) -> VerifyReport:
    """Run every check on the log (a reader, a folder or a URL); see the module docstring.

    Options: `expect_head`, `expect_last_seq`, `allow_torn_tail`, `check_facts`, `quiet`,
    `anchors` (a file of signed checkpoints: `adapters.log.checkpoints`) and `anchor_key`.
    Raises FileNotFoundError for a missing log or anchors file.
    """
    opts = Options(**options)
    started = time.perf_counter()
    checkpoints = None
    if opts.anchors is not None:
        try:
            checkpoints = load_checkpoints(opts.anchors, opts.anchor_key)
        except CheckpointError as exc:
            return VerifyReport(
                ok=False, log=str(log), failure=Failure(kind="anchor", message=str(exc))
            )
    try:
        reader = open_reader(log)
    except LogCorrupt as exc:  # the last segment is damaged
        return VerifyReport(ok=False, log=str(log), failure=_corrupt(exc))
    try:
        return _verify(reader, started, opts, checkpoints)
    finally:
        if reader is not log:
            reader.close()


def _verify(
    reader: LogReader, started: float, opts: Options, checkpoints: list[Checkpoint] | None
) -> VerifyReport:
    expect_head, expect_last_seq = opts.expect_head, opts.expect_last_seq
    allow_torn_tail, check_facts, quiet = opts.allow_torn_tail, opts.check_facts, opts.quiet
    last_seq = reader.last_seq
    torn = getattr(reader, "torn_tail", None)
    torn_bytes = int(getattr(reader, "torn_tail_bytes", 0))
    report = VerifyReport(
        ok=False,
        log=reader.location,
        segments=len(getattr(reader, "segments", ())),
        last_seq=last_seq,
        head_hash=reader.head_hash.hex(),
        torn_tail_bytes=torn_bytes,
    )
    if torn is not None and not allow_torn_tail:
        report.failure = Failure(
            kind="torn_tail",
            message=f"{torn_bytes} bytes after seq {last_seq} in segment "
            f"{torn.segment} from byte offset {torn.offset} are not a finished append: "
            f"{torn.reason}",
            seq=torn.seq,
            segment=torn.segment,
            offset=torn.offset,
        )
        return report
    anchor = _check_anchors(last_seq, report.head_hash, expect_last_seq, expect_head)
    signed = AnchorCheck(checkpoints or [])
    if anchor is None and signed.bad is not None:
        anchor = Failure(kind="anchor", message=signed.describe_mismatch(signed.bad), seq=0)
    if anchor is None and signed.last_seq > last_seq:
        cp = signed.pending[-1]
        anchor = Failure(
            kind="anchor",
            message=f"the log ends at seq {last_seq}, before the {cp.describe()}: records "
            "were cut off the end after it was signed",
            seq=last_seq + 1,
            time=local_time(cp.ts_ms),
        )
    if anchor is not None:
        report.failure = anchor
        return report
    engine = Engine()
    checked = unchecked = 0
    commanded = False  # a record with its command was seen
    try:
        with bulk(), Progress(last_seq, "verify", quiet=quiet) as bar:
            for batch in read_record_batches(reader, stop_seq=last_seq, verify_chain=True):
                bar.update(len(batch))
                for i, (seq, rec) in enumerate(batch.pairs()):
                    if seq <= signed.last_seq:
                        bad = signed.feed(seq, batch.payload(i))
                        if bad is not None:
                            report.failure = Failure(
                                kind="anchor",
                                message=signed.describe_mismatch(bad),
                                seq=bad.seq,
                                time=local_time(bad.ts_ms),
                            )
                            break
                    failure = check_record(engine, seq, rec, check_facts, commanded)
                    commanded = commanded or rec.command is not None
                    if failure is not None:
                        report.failure = failure
                        break
                    if not (check_facts and checkable(rec)):
                        unchecked += 1
                    else:
                        checked += 1
                if report.failure is not None:
                    break
    except LogCorrupt as exc:
        report.failure = _corrupt(exc)
    except ReplayError as exc:
        report.failure = Failure(kind="record", message=str(exc), seq=exc.seq)
    elapsed = time.perf_counter() - started
    state = engine.state
    report.records = state.last_seq if report.failure is None else report.failure.seq - 1
    report.events = state.events_applied
    report.facts_checked = checked
    report.facts_unchecked = unchecked
    report.checkpoints_checked = signed.checked
    report.elapsed_s = round(elapsed, 3)
    report.events_per_s = round(state.events_applied / elapsed, 1) if elapsed > 0 else 0.0
    if report.failure is None:
        if state.last_seq != last_seq:
            report.failure = Failure(
                kind="corrupt",
                message=f"read {state.last_seq} records, the log's tail is at seq {last_seq}",
                seq=state.last_seq + 1,
            )
        else:
            report.ok = True
            report.digest = state.digest()
    return report


def _corrupt(exc: LogCorrupt) -> Failure:
    return Failure(
        kind="corrupt",
        message=f"segment {exc.segment} at byte offset {exc.offset} (seq {exc.seq}): {exc.reason}",
        seq=exc.seq,
        segment=exc.segment,
        offset=exc.offset,
    )


def _check_anchors(
    last_seq: int, head_hex: str, expect_last_seq: int | None, expect_head: str | None
) -> Failure | None:
    if expect_last_seq is not None and last_seq != expect_last_seq:
        return Failure(
            kind="anchor",
            message=f"the log ends at seq {last_seq}, the anchor says {expect_last_seq}"
            + (" (records were cut off the end)" if last_seq < expect_last_seq else ""),
            seq=min(last_seq, expect_last_seq) + 1,
        )
    if expect_head is not None and head_hex != expect_head.strip().lower():
        return Failure(
            kind="anchor",
            message=f"head hash {head_hex} differs from the anchor {expect_head}",
            seq=last_seq,
        )
    return None


def format_verify(r: VerifyReport) -> str:
    if r.ok:
        return "\n".join(
            [
                f"OK  {r.log}: {r.segments} segments, {r.records} records, {r.events} events",
                f"    frames: crc32, seq and hash chain intact; head hash {r.head_hash}",
                f"    facts: {r.facts_checked} re-decided from their recorded commands, "
                f"{r.facts_unchecked} not re-checkable (registrations: sealed personal data; "
                "records written before commands were recorded)",
                f"    decisions: every one re-derived identically; state digest {r.digest}",
                *(
                    [f"    signed checkpoints: {r.checkpoints_checked} matched the log's chain"]
                    if r.checkpoints_checked
                    else []
                ),
                f"    {r.elapsed_s:.2f} s, {r.events_per_s:,.0f} events/s"
                + (
                    f"; ignored an unfinished tail of {r.torn_tail_bytes} bytes"
                    if r.torn_tail_bytes
                    else ""
                ),
            ]
        )
    f = r.failure
    assert f is not None
    lines = [f"FAILED  {r.log}: {f.kind}: {f.message}"]
    if f.seq:
        lines.append(
            f"  seq {f.seq}"
            + (f" at {f.time} (+08:00)" if f.time else "")
            + (f", event #{f.index} of the record" if f.index >= 0 else "")
        )
    if f.segment:
        lines.append(f"  segment {f.segment}, byte offset {f.offset}")
    if f.policy_version >= 0:
        lines.append(
            f"  region {f.region or '(none)'}: policy version {f.policy_version} of region "
            f"prefix {f.policy_region or '(national default)'}"
        )
    if f.recorded is not None or f.recomputed is not None:
        lines.append(f"  recorded:   {_short(f.recorded)}")
        lines.append(f"  recomputed: {_short(f.recomputed)}")
    for key, (a, b) in f.fields.items():
        lines.append(f"    {key}: {a!r} -> {b!r}")
    if r.records:
        lines.append(f"  {r.records} records before it checked out")
    return "\n".join(lines)


def _short(ev: dict[str, Any] | None) -> str:
    if ev is None:
        return "(none)"
    text = msgspec.json.encode(ev).decode()
    return text if len(text) <= 300 else text[:297] + "..."
