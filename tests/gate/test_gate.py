"""Gate.admit: the one path from bytes to a command (pure apart from the clock)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.gate.gate import Gate, GateError, nesting_depth
from adapters.gate.routes import route_of
from engine import commands as c
from engine.authz import SYSTEM, Caller

NOW = 1_795_000_000_000
FRONT = Caller(actor_id="ab12cd34", role="front_end", region="4206")
STAFF = Caller(
    actor_id="acct-5eed5eed", role="station_staff", region="4206", station_id="S1", named=True
)


@pytest.fixture
def gate() -> Gate:
    return Gate(lambda: NOW)


def _refused(gate: Gate, caller: Caller, name: str, body: bytes, path=None, key=None, **kw):
    with pytest.raises(GateError) as info:
        gate.admit(caller, route_of(name), body, path, key, **kw)
    return info.value


def test_admit_stamps_time_id_and_caller_fields(gate: Gate) -> None:
    cmd = gate.admit(
        STAFF, route_of("ReviewJob"), b'{"approve": true, "note": "ok"}', {"job_id": "J1"}, "k-1"
    )
    assert cmd == c.ReviewJob(
        command_id="acct-5eed5eed:k-1", ts_ms=NOW, job_id="J1", staff_id="acct-5eed5eed",
        station_id="S1", approve=True, note="ok",
    )  # fmt: skip


def test_a_review_verdict_needs_a_named_staff_account(gate: Gate) -> None:
    unnamed = Caller(actor_id="5eed5eed", role="station_staff", region="4206", station_id="S1")
    err = _refused(gate, unnamed, "ReviewJob", b'{"approve": true}', {"job_id": "J1"}, "k-2")
    assert (err.status, err.rule) == (403, "named_account")
    # the rest of a staff token's work needs no name
    assert gate.admit(unnamed, route_of("CheckOut"), b"", {"worker_id": "W1"}, "k-3")


def test_ids_of_two_callers_never_collide(gate: Gate) -> None:
    other = Caller(actor_id="ffff0000", role="front_end", region="4206")
    route, body, path = route_of("CheckOut"), b"", {"worker_id": "W1"}
    a = gate.admit(FRONT, route, body, path, "same-key")
    b = gate.admit(other, route, body, path, "same-key")
    assert a.command_id != b.command_id and a.command_id.endswith(":same-key")
    c1 = gate.admit(FRONT, route, body, path, None)
    c2 = gate.admit(FRONT, route, body, path, None)
    assert c1.command_id != c2.command_id and c1.command_id.startswith("ab12cd34:")


def test_nats_style_bodies_carry_the_path_fields(gate: Gate) -> None:
    body = b'{"worker_id": "W1", "offer_id": "J1/1/W1"}'
    cmd = gate.admit(FRONT, route_of("AcceptOffer"), body, None, "r1")
    assert cmd == c.AcceptOffer(command_id="ab12cd34:r1", ts_ms=NOW, offer_id="J1/1/W1",
                                worker_id="W1")  # fmt: skip
    # over HTTP the path fields are not body fields
    err = _refused(gate, FRONT, "AcceptOffer", body, {"worker_id": "W1", "offer_id": "O"})
    assert (err.status, err.rule, err.field) == (422, "unknown_field", "worker_id")


def test_nested_twins_become_engine_structs(gate: Gate) -> None:
    body = {"worker_id": "W9", "region": "420602", "skills": ["moving"], "min_pay_fen": 100,
            "personal": {"name": "张三", "mobile": "13800001111"},
            "home": {"lat": 32.0, "lng": 112.1, "datum": "gcj02"}}  # fmt: skip
    cmd = gate.admit(FRONT, route_of("RegisterWorker"), json.dumps(body).encode(), None, None)
    assert isinstance(cmd, c.RegisterWorker)
    assert type(cmd.home) is c.Point and cmd.home.datum == "gcj02"
    assert type(cmd.personal) is c.Personal and cmd.skills == ("moving",)


@pytest.mark.parametrize(
    ("caller", "name"),
    [(FRONT, "RegisterStation"), (FRONT, "SetPolicy"), (FRONT, "ReviewJob"), (STAFF, "SetPolicy"),
     (Caller(actor_id="sms", role="sms_gateway", region="4206"), "CheckOut"),
     (Caller(actor_id="aud", role="auditor", region="4206"), "CheckOut")],
)  # fmt: skip
def test_role_is_refused_before_anything_is_read(gate: Gate, caller: Caller, name: str) -> None:
    err = _refused(gate, caller, name, b"\xff not even json", None, "bad key!", content_type="x/y")
    assert (err.status, err.rule) == (403, "role")


def test_every_authz_rule_has_its_status() -> None:
    """Whatever engine.authz refuses maps to a status: caller rules 403, unknown resources
    404, a personal actor id or an unknown command 422; the runtime's core bug 500; a key
    reused for another request 422 (engine.core)."""
    import inspect
    import re

    from adapters.gate.gate import status_of
    from engine import authz

    rules = set(re.findall(r'Refusal\(\s*[^,]+,\s*"([a-z_]+)"', inspect.getsource(authz)))
    assert {"role", "region", "station", "actor", "exists"} <= rules
    want = {"exists": 404, "no_personal_data": 422, "known_command": 422}
    for rule in rules:
        assert status_of(rule) == want.get(rule, 403), rule
    assert status_of("internal_error") == 500
    assert status_of("idempotency_key_reused") == 422


def test_no_caller_of_the_system_role_passes_the_gate(gate: Gate) -> None:
    err = _refused(gate, SYSTEM, "CheckOut", b"", {"worker_id": "W1"})
    assert err.rule == "role"


@pytest.mark.parametrize(
    ("body", "kw", "status", "rule"),
    [
        (b"x" * (64 * 1024 + 1), {}, 413, "max_body_bytes"),
        (b"[" * 33 + b"]" * 33, {}, 400, "depth"),
        (b'{"reason": "x"}', {"content_type": "text/plain"}, 415, "content_type"),
        (b"{", {}, 400, "json"),
        (b"null", {}, 422, "type"),
    ],
)
def test_screening_before_decoding(
    gate: Gate, body: bytes, kw: dict, status: int, rule: str
) -> None:
    err = _refused(gate, FRONT, "CancelJob", body, {"job_id": "J1"}, **kw)
    assert (err.status, err.rule) == (status, rule)


def test_content_types(gate: Gate) -> None:
    route, path = route_of("CancelJob"), {"job_id": "J1"}
    for ct in ("application/json", "application/json; charset=utf-8", "application/merge+json"):
        gate.admit(FRONT, route, b"{}", path, None, content_type=ct)
    gate.admit(FRONT, route, b"", path, None, content_type="")  # no body: no content type needed


@pytest.mark.parametrize("key", ["", " x", "x" * 56, "a b", "-lead", "é"])
def test_bad_keys(gate: Gate, key: str) -> None:
    err = _refused(gate, FRONT, "CheckOut", b"", {"worker_id": "W1"}, key)
    assert (err.status, err.field, err.rule) == (400, "Idempotency-Key", "id_format")


def test_path_parameters_have_the_command_bounds(gate: Gate) -> None:
    err = _refused(gate, FRONT, "CheckOut", b"", {"worker_id": "W" * 65})
    assert (err.status, err.field, err.rule) == (422, "worker_id", "max_length")
    err = _refused(gate, FRONT, "CheckOut", b"", {"worker_id": "13812345678"})
    assert err.rule == "id_is_pii"


def test_error_text_caps_echoed_values(gate: Gate) -> None:
    big = "y" * 60_000  # under the size limit: decoded, refused, not echoed
    for body in ({"kind": big}, {big: 1}):
        doc = {"employer_id": "E", "kind": "person", "name": "x", "region": "420602", **body}
        err = _refused(gate, FRONT, "RegisterEmployer", json.dumps(doc).encode(), None)
        assert err.status == 422 and len(err.message) < 400 and len(err.field) <= 80
        assert "y" * 41 not in err.message + err.field


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab[]{}"\\,:'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=8))
def test_nesting_depth_is_exact_up_to_the_limit(value: object, limit: int) -> None:
    body = json.dumps(value).encode()
    true = _depth(value)
    got = nesting_depth(body, limit)
    if true <= limit:
        assert got <= limit  # never refused wrongly (brackets in strings do not count)
        if body.count(b"[") + body.count(b"{") > limit:
            assert got == true
    else:
        assert got > limit  # never let through
