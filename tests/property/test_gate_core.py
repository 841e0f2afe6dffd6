"""No command the strict gate admits can make the core raise (issue 11).

Commands of every type are generated as plain JSON-like values (what a transport
receives): values at and beyond every declared bound (0, negatives, 2**63, 2**64, NaN,
infinities, long and empty strings, unicode, phone and ID numbers in free text), known and
unknown ids, unknown fields, strings for numbers. Each goes through
`engine.commands.admit` (the strict decoder the gate uses); what it admits is executed by
`Engine.execute` as one of several callers (well-formed and malformed). The core must
either refuse (`Refusal`, and then the state digest is unchanged) or accept (and then
its record encodes, decodes and folds into a copy of the state to the same digest).
Anything else raised fails the test.

The generator is derived from the command structs themselves (`msgspec.inspect`), so a
new field or command is covered without touching this file.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, Phase, example, find, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine.bounds import MAX_MS, MIN_MS
from engine.commands import Refusal, admit
from engine.core import Engine
from engine.record import decode_record, encode_record
from tests.property.market import CALLERS, Market, market

BIG_INTS = (0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1)
BAD_FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324)
TEXTS = (
    "",
    " ",
    "x",
    "搬家",
    "联系13812341234",
    "身份证11010519491231002X",
    "138-1234-1234",
    "\u0000\ud7ff\U0001f600",
    "a" * 40,
)
PHONE = "13812341234"
ID_NUMBER = "11010519491231002X"
COMMANDS = sorted(c.COMMAND_TYPES)


def _mix(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values (so commands reach the core), about one in eight beyond a bound
    (not the draw 0: hypothesis favours the ends of a range, and shrinks towards 0)."""
    return st.integers(0, 7).flatmap(lambda i: invalid if i == 5 else valid)


def _ints(t: mi.IntType) -> st.SearchStrategy[Any]:
    low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
    high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
    edges = [x for x in (low, high) if x is not None]
    beyond = [x for x in (low and low - 1, high and high + 1) if x is not None]
    valid = st.one_of(st.sampled_from(edges), st.integers(min_value=low, max_value=high))
    return _mix(valid, st.sampled_from([*beyond, *BIG_INTS, "1", 1.5, None]))


def _floats(t: mi.FloatType, centre: tuple[float, float] | None = None) -> st.SearchStrategy[Any]:
    low = t.ge if t.ge is not None else t.gt
    high = t.le if t.le is not None else t.lt
    valid = st.floats(min_value=low, max_value=high, allow_nan=False, exclude_min=t.gt is not None)
    if centre is not None:
        valid = st.one_of(st.floats(*centre), valid)
    return _mix(valid, st.sampled_from([*BAD_FLOATS, "1.5", None]))


def _times(m: Market) -> st.SearchStrategy[Any]:
    valid = st.integers(m.now - 3_600_000, m.now + 12 * 3_600_000)
    return _mix(valid, st.sampled_from((MIN_MS, MAX_MS - 1, MAX_MS, 0, -1, 2**63, 2**64, "1")))


def _strs(t: mi.StrType, name: str, m: Market) -> st.SearchStrategy[Any]:
    limit = t.max_length or 64
    invalid = st.sampled_from(("y" * (limit + 1), 0, None, ["a"], "bad id!" if t.pattern else 0))
    known = m.ids.get(name)
    if known:
        valid: st.SearchStrategy[Any] = st.sampled_from(known)
    elif name in ("mobile", "contact_mobile"):
        valid = st.sampled_from((PHONE, "+86 138 1234 1234", "12812341234", ""))
    elif name == "id_number":
        valid = st.sampled_from((ID_NUMBER, "11010519491231002Y", ""))
    elif name == "command_id":
        valid = st.one_of(st.from_regex(r"\Atest:[a-z0-9]{1,8}\Z"), st.just("x" * limit))
    elif name == "uscc":
        valid = st.sampled_from(("91420602MA0000000X", "", "91350100M000100Y43"))
    elif t.pattern:
        valid = st.from_regex(t.pattern).filter(lambda x: len(x) <= limit)
    else:
        valid = st.one_of(st.sampled_from(TEXTS), st.text(max_size=12), st.just("長" * limit))
    return _mix(valid, invalid)


def values(t: Any, name: str, m: Market) -> st.SearchStrategy[Any]:
    """JSON-like values for a field of type info `t` (valid, at and beyond its bounds)."""
    if isinstance(t, mi.IntType):
        return _times(m) if name == "ts_ms" or name.endswith("_ms") else _ints(t)
    if isinstance(t, mi.FloatType):
        centre = {"lat": (31.9, 32.1), "lng": (112.0, 112.2)}.get(name)
        return _floats(t, centre)
    if isinstance(t, mi.StrType):
        return _strs(t, name, m)
    if isinstance(t, mi.BoolType):
        return _mix(st.booleans(), st.sampled_from((1, "true", None)))
    if isinstance(t, mi.LiteralType):
        return _mix(st.sampled_from(t.values), st.sampled_from(("bogus", 1, "")))
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.UnionType):
        return st.one_of([values(u, name, m) for u in t.types])
    if isinstance(t, mi.VarTupleType | mi.ListType):
        item = values(t.item_type, name.rstrip("s"), m)
        high = t.max_length or 8
        valid = st.lists(item, min_size=t.min_length or 0, max_size=min(high, 4))
        return _mix(valid, st.lists(item, min_size=high + 1, max_size=high + 2) | st.just([]))
    if isinstance(t, mi.DictType):
        keys = _mix(st.sampled_from(m.ids["skill"]), st.sampled_from(("Bad!", "y" * 40, "")))
        return st.dictionaries(keys, values(t.value_type, "value", m), max_size=4)
    if isinstance(t, mi.StructType):
        return struct_dicts(t, m)
    raise AssertionError(f"no strategy for {t!r}")


def struct_dicts(t: mi.StructType, m: Market, tag: str | None = None) -> st.SearchStrategy[Any]:
    """Dicts for a struct: each field present (valid or not) or left out; sometimes an
    unknown field."""
    fields = {f.name: values(f.type, f.name, m) for f in t.fields}
    required = {f.name for f in t.fields if f.required}

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {} if tag is None else {"type": tag}
        for name, strategy in fields.items():
            if name in required or draw(st.booleans()):
                if draw(st.integers(0, 60)) == 31:  # not 0: hypothesis favours the ends
                    continue  # a required field left out
                out[name] = draw(strategy)
        if draw(st.integers(0, 60)) == 29:
            out["unexpected"] = 1
        return out

    return build()


def command_dicts(m: Market, name: str) -> st.SearchStrategy[dict[str, Any]]:
    return struct_dicts(mi.type_info(c.COMMAND_TYPES[name]), m, tag=name)


def _execute(engine: Engine, m: Market, data: dict[str, Any], caller_index: int) -> None:
    """Admit `data`, execute it; assert refusal-changes-nothing and record round trips."""
    try:
        cmd = admit(c.AnyCommand, data)
    except Refusal as ref:
        assert ref.field and ref.rule and len(ref.message) <= 200
        return
    caller = CALLERS[caller_index % len(CALLERS)]
    before = engine.state.digest()
    seq = engine.state.last_seq
    try:
        out = engine.execute(cmd, caller)
    except Refusal as ref:
        assert engine.state.digest() == before, f"refused {ref} but the state changed"
        assert engine.state.last_seq == seq
        assert len(ref.message) <= 400
        return
    if out.duplicate:
        assert engine.state.digest() == before
        return
    record = decode_record(encode_record(out.record()))
    assert record.events == out.events and record.actor == caller.actor_id


@pytest.mark.parametrize("name", COMMANDS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_command_type_is_refused_or_accepted(name: str, data: st.DataObject) -> None:
    m = market()
    engine = m.fresh()
    for _ in range(data.draw(st.integers(1, 3), label="commands")):
        caller = data.draw(st.integers(0, len(CALLERS) - 1), label="caller")
        _execute(engine, m, data.draw(command_dicts(m, name), label=name), caller)


def _policy(**fields: Any) -> dict[str, Any]:
    m = market()
    return {
        "type": "SetPolicy",
        "command_id": "test:pol",
        "ts_ms": m.now,
        "region": "4206",
        "policy": fields,
    }


def _check_in(worker_id: str = "W3") -> dict[str, Any]:
    m = market()
    return {
        "type": "CheckIn",
        "command_id": "test:ci",
        "ts_ms": m.now + 60_000,
        "worker_id": worker_id,
        "location": {"lat": 32.009, "lng": 112.122},
    }


def _post() -> dict[str, Any]:
    m = market()
    return {
        "type": "SubmitJob",
        "command_id": "test:job",
        "ts_ms": m.now + 120_000,
        "job_id": "JN",
        "employer_id": "E1",
        "station_id": "S1",
        "title": "搬家",
        "skill": "moving",
        "headcount": 500,
        "pay_fen": 10_000_000,
        "pay_unit": "hour",
        "start_ms": m.now + 3_600_000,
        "end_ms": m.now + 7 * 24 * 3_600_000,
        "location": {"lat": 32.009, "lng": 112.122},
    }


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_sequences_of_admitted_commands_never_raise(data: st.DataObject) -> None:
    """Policies change what later commands meet: a sequence must not raise either."""
    m = market()
    engine = m.fresh()
    for _ in range(data.draw(st.integers(1, 5), label="steps")):
        name = data.draw(st.sampled_from(COMMANDS), label="type")
        caller = data.draw(st.integers(0, len(CALLERS) - 1), label="caller")
        _execute(engine, m, data.draw(command_dicts(m, name), label=name), caller)


# the audit's cases: a zero or negative wait cap, travel limit or exposure cap, then a
# check-in and a posting in that region (they used to raise inside the core)
AUDIT_POLICIES = [
    {"wait_cap_ms": 0},
    {"wait_cap_ms": -1},
    {"travel_limit_s": 0},
    {"travel_limit_s": -3600},
    {"exposure_cap": 0},
    {"exposure_cap": -5},
    {"radius_m": 0},
    {"max_reach_m": 0},
    {"radius_m": 5000, "max_reach_m": 1000},
    {"offer_ttl_ms": 0},
    {"job_ttl_ms": -1},
    {"overbook": 0.0},
    {"overbook": math.nan},
    {"weights": {"travel": math.inf}},
    {"acceptance_coef": [1.0, 2.0]},
    {"acceptance_coef": [math.nan] * 8},
    {"acceptance_coef": [1e300] * 8},
    {"push_radius_m": 2**64},
    {"hours_per_day": 0},
    {"max_reach_m": 100_000, "radius_m": 100_000, "travel_limit_s": 86_400},
    {"wait_cap_ms": 60_000, "exposure_cap": 1, "travel_limit_s": 60, "radius_m": 1},
]


@pytest.mark.parametrize("fields", AUDIT_POLICIES, ids=[str(p) for p in AUDIT_POLICIES])
def test_audit_policies_then_a_check_in_and_a_posting(fields: dict[str, Any]) -> None:
    m = market()
    engine = m.fresh()
    for data in (_policy(**fields), _check_in("W3"), _check_in("W2"), _post()):
        _execute(engine, m, data, 0)


@example(data=_policy(wait_cap_ms=0))
@example(data={**_check_in(), "ts_ms": 2**64})
@example(data={**_check_in(), "ts_ms": "1795392000000"})
@example(data={**_post(), "headcount": 2**63})
@example(data={**_post(), "title": "x" * 10**6})
@settings(max_examples=1, deadline=None)
@given(data=st.just(_check_in()))
def test_audit_examples(data: dict[str, Any]) -> None:
    m = market()
    _execute(m.fresh(), m, data, 0)


def _accepted(m: Market, data: dict[str, Any]) -> bool:
    try:
        cmd = admit(c.AnyCommand, data)
    except Refusal:
        return False
    engine = m.fresh()  # a refusal changes nothing, so one copy serves every caller
    for caller in CALLERS:
        try:
            engine.execute(cmd, caller)
            return True
        except Refusal:
            continue
    return False


# commands whose every field must fit at once (a generated one is rarely accepted whole)
HARD = {
    "RegisterWorker",
    "RegisterEmployer",
    "SubmitJob",
    "RegisterStation",
    "ApplyStation",
    "PublishTraining",
}


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - HARD))
def test_the_generator_reaches_the_core(name: str) -> None:
    """Guard against a generator that only produces refusals: for each command type some
    generated value passes the decoder, authorisation and the rules."""
    m = market()
    found = find(
        command_dicts(m, name),
        lambda d: _accepted(m, d),
        settings=settings(
            max_examples=3000,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            derandomize=True,
        ),
    )
    assert found["type"] == name
