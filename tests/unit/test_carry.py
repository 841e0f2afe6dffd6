"""A posting's terms travel by name: command -> fact -> Job -> hire, view, SMS and stores.

Pins the places a posting field needs an edit (issue 16: "grep -rl pay_unit engine
adapters replay" names only the files that really need the field), and that the copies
by name (`engine.carry`, `adapters.stores.registry.rows_by_name`, the reporting facts'
columns) take exactly the fields of the same name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import msgspec
import pytest

from adapters.http.views import JobView
from adapters.nats.sms_text import JobInfo
from adapters.stores.registry import TS, rows_by_name
from adapters.stores.reporting import fact_attrs
from engine import commands as c
from engine import events as e
from engine.carry import carry
from engine.state import Job

ROOT = Path(__file__).resolve().parents[2]

# where a posting field really lives: the command, the events, the engine's Job, the pay
# rules (policy), the stores' columns, the roster report's column, the read API's JSON
# shape, and the SMS text that renders the unit
PAY_UNIT_FILES = {
    "engine/commands.py",
    "engine/events.py",
    "engine/state.py",
    "engine/policy.py",
    "adapters/stores/schema.py",
    "adapters/stores/report_roster.py",
    "adapters/http/views.py",
    "adapters/nats/sms_text.py",
    # issue 14: the agreed total of a hire by unit, and the one job formatter of every
    # outlet (HTTP card, board, map, agreement, SMS) that shows the pay in its own unit
    "engine/agreement.py",
    "engine/present.py",
}


def test_pay_unit_lives_only_where_it_is_needed() -> None:
    out = subprocess.run(
        ["grep", "-rl", "--include=*.py", "pay_unit", "engine", "adapters", "replay"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(out.stdout.split()) == PAY_UNIT_FILES


def test_a_posting_field_flows_by_name() -> None:
    """Every field of the fact comes from the command by name, except what the rules
    decide (time stamp, region from the station, the stored point, the terms version of
    issue 14's agreements); Job, the hire, the view and the SMS info take the posting's
    fields the same way."""
    decided = {"ts_ms", "cmd_id", "region", "lat", "lng", "terms_v"}
    assert set(e.JobSubmitted.__struct_fields__) - decided <= set(c.SubmitJob.__struct_fields__)
    terms = {"pay_fen", "pay_unit", "start_ms", "end_ms"}
    for struct in (Job, e.HireConfirmed, JobView, JobInfo):
        assert terms & set(struct.__struct_fields__) >= {"pay_fen", "pay_unit"}


def test_carry_takes_same_named_fields_and_given_wins() -> None:
    class A(msgspec.Struct, kw_only=True):
        x: int
        y: str
        only_a: int = 0

    class B(msgspec.Struct, kw_only=True):
        x: int
        y: str
        z: float

    assert carry(A(x=1, y="a", only_a=5), B, z=2.0) == B(x=1, y="a", z=2.0)
    assert carry(A(x=1, y="a"), B, y="b", z=0.0) == B(x=1, y="b", z=0.0)


def test_store_rows_by_name_refuse_a_mismatch() -> None:
    with pytest.raises(AssertionError, match="do not match"):
        rows_by_name("hires", e.JobSubmitted, status="confirmed")
    from adapters.stores.schema import REGISTRY_TABLES

    hire = e.HireConfirmed(ts_ms=7, hire_id="J/W", job_id="J", worker_id="W", offer_id="O",
                           start_ms=1, end_ms=2, pay_fen=300, pay_unit="hour")  # fmt: skip
    fixed = {"status": "confirmed", "confirmed_ts_ms": TS, "arrived_ts_ms": 0,
             "completed_ts_ms": 0, "no_show_ts_ms": 0, "wage_paid_fen": 0, "wage_payments": 0,
             "wage_method": "", "paid_ts_ms": 0, "worker_stars": 0, "employer_stars": 0}  # fmt: skip
    (row,) = rows_by_name("hires", e.HireConfirmed, **fixed)([(1, 0, hire)])
    names = next(t for t in REGISTRY_TABLES if t.name == "hires").names
    by = dict(zip(names, row, strict=True))
    assert (by["pay_unit"], by["pay_fen"], by["confirmed_ts_ms"], by["status"]) == (
        "hour", 300, 7, "confirmed")  # fmt: skip


def test_reporting_fact_columns_are_event_fields() -> None:
    assert set(fact_attrs("f_posting")) <= set(e.JobSubmitted.__struct_fields__)
    assert set(fact_attrs("f_hire", derived=1)) <= set(e.HireConfirmed.__struct_fields__)
