"""Who may do what (engine.authz): roles x command types x region x station, and the
rules of issue 11 (complaints, erasure, staff check-ins, nationwide callers, fail closed).

Every case runs `authorize` against the real state of `tests.property.market` (two cities:
Xiangyang 4206 with stations S1 and S2, Wuhan 4201 with SW). The command of each type is
aimed at a Xiangyang resource bound to station S1 (`tests.property.market.command`).
"""

from __future__ import annotations

import pytest

from engine import commands as c
from engine.authz import PERMISSIONS, ROLES, SYSTEM, Caller, authorize
from engine.commands import Refusal
from tests.property import market as mk

# commands whose resource is bound to a station: staff of another station are refused
STATION_BOUND = {
    "RegisterWorker",
    "EraseWorker",
    "CheckIn",
    "CheckOut",
    "SubmitJob",
    "ReviewJob",
    "CancelJob",
    "AcceptOffer",
    "DeclineOffer",
    "RingBell",
    "ConfirmArrival",
    "ReportNoShow",
    "CompleteWork",
    "PayWage",
    "Rate",
    "ChangeComplaintStatus",  # cases of the station answering them
    "PublishTraining",
    "SignUpTraining",
    "CompleteTraining",
    "PublishPolicyAnswer",
}
# PayWage and Rate in the market are on S2's completed hire: bound to S2, not S1
AT_S2 = {"PayWage", "Rate"}


def _callers(role: str) -> dict[str, Caller]:
    """The home caller (Xiangyang; staff of the resource's station), one of Wuhan and,
    for staff, one of the other Xiangyang station."""
    if role == "system":
        return {"home": SYSTEM}
    if role == "station_staff":
        return {
            "home": mk.STAFF_S1,
            "other_region": mk.STAFF_WH,
            "other_station": mk.STAFF_S2,
        }
    if role == "admin":
        return {"home": mk.ADMIN_XY, "other_region": mk.ADMIN_WH}
    region = {"sms_gateway": ("42", "43")}.get(role, ("4206", "4201"))
    return {
        "home": Caller(actor_id=f"{role}-home", role=role, region=region[0]),  # type: ignore[arg-type]
        "other_region": Caller(actor_id=f"{role}-away", role=role, region=region[1]),  # type: ignore[arg-type]
    }


CASES = [
    (name, role, where)
    for name in sorted(c.COMMAND_TYPES)
    for role in ROLES
    for where in _callers(role)
]


def _outcome(name: str, caller: Caller) -> str:
    m = mk.market()
    state = m.fresh().state
    cmd = mk.command(name, caller)
    if name in AT_S2 and caller.station_id == "S1":
        cmd = mk.command(name, mk.STAFF_S2)  # S2's own hire
        caller = mk.STAFF_S2
    try:
        authorize(state, caller, cmd)
    except Refusal as ref:
        return ref.rule
    return "ok"


@pytest.mark.parametrize(
    ("name", "role", "where"), CASES, ids=[f"{n}-{r}-{w}" for n, r, w in CASES]
)
def test_matrix(name: str, role: str, where: str) -> None:
    caller = _callers(role)[where]
    got = _outcome(name, caller)
    if role not in PERMISSIONS[name]:
        assert got == "role"
    elif where == "other_region" and name != "Advance":
        assert got == "region"
    elif where == "other_station":
        assert got == ("station" if name in STATION_BOUND - AT_S2 else "ok")
    else:
        assert got == "ok"


def test_the_table_covers_every_command_and_only_known_roles() -> None:
    assert set(PERMISSIONS) == set(c.COMMAND_TYPES)
    assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())
    assert {n for n, r in PERMISSIONS.items() if "system" in r} == {"Advance"}
    assert {n for n, r in PERMISSIONS.items() if "sms_gateway" in r} == {
        "AcceptOffer",
        "DeclineOffer",
        "SignUpTraining",  # a worker's SMS reply
    }
    assert not any("auditor" in r for r in PERMISSIONS.values())
    assert "front_end" not in PERMISSIONS["EraseWorker"]
    assert PERMISSIONS["ReviewJob"] == {"station_staff"}


def _refusal(state, caller: Caller, cmd: c.Command) -> tuple[str, str] | None:  # noqa: ANN001
    try:
        authorize(state, caller, cmd)
    except Refusal as ref:
        return ref.field, ref.rule
    return None


def test_erasure_is_for_admin_or_the_registering_station() -> None:
    state = mk.market().fresh().state
    erase = {n: c.EraseWorker(command_id="x", ts_ms=mk.market().now, worker_id=n, reason="申请")
             for n in ("W1", "W2", "W3")}  # fmt: skip
    assert _refusal(state, mk.FRONT_XY, erase["W1"]) == ("caller", "role")
    assert _refusal(state, mk.STAFF_S1, erase["W1"]) is None  # registered at S1
    assert _refusal(state, mk.STAFF_S1, erase["W3"]) == ("worker_id", "station")  # at S2
    assert _refusal(state, mk.STAFF_S2, erase["W3"]) is None
    assert _refusal(state, mk.STAFF_S1, erase["W2"]) == ("worker_id", "station")  # no station
    assert _refusal(state, mk.ADMIN_XY, erase["W2"]) is None
    assert _refusal(state, mk.ADMIN_WH, erase["W2"]) == ("worker_id", "region")


def test_staff_check_in_only_at_their_station_never_by_location_only() -> None:
    m = mk.market()
    state = m.fresh().state
    at_s1 = c.CheckIn(command_id="x", ts_ms=m.now, worker_id="W3", station_id="S1")
    by_location = c.CheckIn(
        command_id="x", ts_ms=m.now, worker_id="W3", location=c.Point(lat=32.0, lng=112.1)
    )
    assert _refusal(state, mk.STAFF_S1, at_s1) is None
    assert _refusal(state, mk.STAFF_S2, at_s1) == ("station_id", "station")
    assert _refusal(state, mk.STAFF_S1, by_location) == ("station_id", "station")
    assert _refusal(state, mk.FRONT_XY, by_location) is None  # an app checks in by location


def test_a_complaint_needs_the_worker_and_the_employer_in_the_callers_region() -> None:
    """W2 (Xiangyang, county 420602) is hired by an employer of county 420606."""
    m = mk.market()
    engine = m.fresh()
    admin = mk.ADMIN_ALL
    engine.execute(
        c.RegisterEmployer(
            command_id="e6", ts_ms=m.now, employer_id="E6", kind="person", name="赵六",
            region="420606",
        ),
        admin,
    )  # fmt: skip
    out = engine.execute(
        c.SubmitJob(
            command_id="j6", ts_ms=m.now, job_id="J6", employer_id="E6", station_id="S1",
            title="卸货", skill="cleaning", headcount=1, pay_fen=30000, start_ms=m.now + 7_200_000,
            end_ms=m.now + 9 * 3_600_000, location=c.Point(lat=32.0092, lng=112.1222),
        ),
        admin,
    )  # fmt: skip
    offer = next(ev for ev in out.events if type(ev).__name__ == "OfferMade")
    accept = c.AcceptOffer(command_id="a6", ts_ms=m.now, offer_id=offer.offer_id, worker_id="W2")
    hire_id = engine.execute(accept, admin).events[1].hire_id  # type: ignore[attr-defined]
    complaint = c.FileComplaint(
        command_id="c6", ts_ms=m.now, complaint_id="C6", kind="wage_arrears", employer_id="E6",
        hire_id=hire_id,
    )  # fmt: skip
    county = Caller(actor_id="fe-county", role="front_end", region="420602")
    city = Caller(actor_id="fe-city", role="front_end", region="4206")
    assert _refusal(engine.state, county, complaint) == ("hire_id", "region")
    assert _refusal(engine.state, city, complaint) is None
    assert _refusal(engine.state, mk.FRONT_WH, complaint) == ("hire_id", "region")
    unknown = c.FileComplaint(
        command_id="c7", ts_ms=m.now, complaint_id="C7", kind="safety", employer_id="E6",
        hire_id="J6/W9",
    )  # fmt: skip
    assert _refusal(engine.state, city, unknown) == ("hire_id", "exists")


@pytest.mark.parametrize(
    ("caller", "field", "rule"),
    [
        (mk.FRONT_ALL, "caller", "region"),  # only admins may be nationwide
        (Caller(actor_id="a", role="admin"), "caller", "region"),  # no region, not nationwide
        (Caller(actor_id="a", role="front_end", region="4x"), "caller", "region"),
        (mk.NO_REGION, "caller", "region"),
        (mk.STAFF_GHOST, "caller", "station"),  # bound to a station that does not exist
        (mk.STAFF_ELSEWHERE, "caller", "station"),  # bound to a station of another region
        (Caller(actor_id="s", role="station_staff", region="4206"), "caller", "station"),
        (
            Caller(actor_id="f", role="front_end", region="4206", station_id="S1"),
            "caller",
            "station",
        ),
    ],
)
def test_malformed_callers_are_refused(caller: Caller, field: str, rule: str) -> None:
    state = mk.market().fresh().state
    cmd = mk.command("CheckIn", caller)
    assert _refusal(state, caller, cmd) == (field, rule)


@pytest.mark.parametrize("name", ["UpdateWorker", "CheckIn", "CancelJob", "ConfirmArrival"])
def test_unknown_resources_fail_closed_even_for_a_nationwide_admin(name: str) -> None:
    state = mk.market().fresh().state
    cmd = mk.command(name)
    field = next(f for f in ("worker_id", "job_id", "hire_id") if hasattr(cmd, f))
    import msgspec

    ghost = msgspec.structs.replace(cmd, **{field: "GHOST"})
    assert _refusal(state, mk.ADMIN_ALL, ghost) == (field, "exists")


def test_staff_id_is_the_callers_own() -> None:
    state = mk.market().fresh().state
    review = mk.command("ReviewJob", mk.STAFF_S1)
    import msgspec

    forged = msgspec.structs.replace(review, staff_id="someone-else")
    assert _refusal(state, mk.STAFF_S1, review) is None
    assert _refusal(state, mk.STAFF_S1, forged) == ("staff_id", "actor")


def test_the_engine_default_caller_is_the_system_and_may_only_advance() -> None:
    m = mk.market()
    engine = m.fresh()
    with pytest.raises(Refusal) as info:
        engine.execute(mk.command("CheckIn"))
    assert (info.value.field, info.value.rule) == ("caller", "role")
    assert engine.execute(mk.command("Advance")).events


def test_sms_gateway_answers_only_for_the_worker_named() -> None:
    m = mk.market()
    engine = m.fresh()
    accept = mk.command("AcceptOffer", mk.SMS_XY)
    other = c.AcceptOffer(command_id="x2", ts_ms=m.now, offer_id=accept.offer_id, worker_id="W1")
    with pytest.raises(Refusal) as info:
        engine.execute(other, mk.SMS_XY)
    assert (info.value.field, info.value.rule) == ("worker_id", "offer_addressee")
    assert engine.execute(accept, mk.SMS_XY).events
    assert _refusal(engine.state, mk.SMS_XY, mk.command("CheckIn")) == ("caller", "role")
