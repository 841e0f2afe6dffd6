"""Every registry and lifecycle rule of the core, including each refusal."""

from __future__ import annotations

import pytest

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.events import Policy
from tests.support import World, at, cid, near


def refused(world: World, cmd: c.Command) -> Refusal:
    before = world.state.digest()
    seq = world.state.last_seq
    with pytest.raises(Refusal) as info:
        world.run(cmd)
    assert world.state.digest() == before, "a refused command changed the state"
    assert world.state.last_seq == seq
    return info.value


@pytest.fixture
def w() -> World:
    world = World()
    world.station("S1")
    world.employer("E1")
    world.worker("W1")
    return world


# ------------------------------------------------------------------ stations -------


def test_station_hierarchy(w: World) -> None:
    w.station("B1", kind="branch", parent="S1", region="420606")
    w.station("P1", kind="post", parent="B1", region="420606")
    r = refused(
        w,
        c.RegisterStation(
            command_id=cid(),
            ts_ms=w.now,
            station_id="P2",
            name="x",
            kind="post",
            parent_id="NOPE",
            region="420606",
            location=near(),
        ),
    )
    assert (r.field, r.rule) == ("parent_id", "hierarchy")
    r = refused(
        w,
        c.RegisterStation(
            command_id=cid(),
            ts_ms=w.now,
            station_id="B2",
            name="x",
            kind="branch",
            parent_id="P1",
            region="420606",
            location=near(),
        ),
    )
    assert r.rule == "hierarchy"
    r = refused(
        w,
        c.RegisterStation(
            command_id=cid(),
            ts_ms=w.now,
            station_id="H2",
            name="x",
            kind="hub",
            parent_id="S1",
            region="420606",
            location=near(),
        ),
    )
    assert r.rule == "hierarchy"
    r = refused(
        w,
        c.RegisterStation(
            command_id=cid(),
            ts_ms=w.now,
            station_id="B3",
            name="x",
            kind="branch",
            parent_id="S1",
            region="450102",
            location=near(),
        ),
    )
    assert r.rule == "same_city"


def test_station_transitions_and_revoked_station_is_inert(w: World) -> None:
    r = refused(
        w, c.ChangeStationStatus(command_id=cid(), ts_ms=w.now, station_id="S1", status="suspended")
    )
    assert (r.field, r.rule) == ("reason", "required")
    w.check_in("W1")
    assert w.state.workers.checked_in[0] == 1
    out = w.run(
        c.ChangeStationStatus(
            command_id=cid(), ts_ms=w.now, station_id="S1", status="revoked", reason="场地不合规"
        )
    )
    assert any(isinstance(ev, e.WorkerCheckedOut) for ev in out.events)
    assert w.state.workers.checked_in[0] == 0
    r = refused(w, c.CheckIn(command_id=cid(), ts_ms=w.now, worker_id="W1", station_id="S1"))
    assert r.rule == "station_approved"
    r = refused(
        w,
        c.SubmitJob(
            command_id=cid(),
            ts_ms=w.now,
            job_id="J1",
            employer_id="E1",
            station_id="S1",
            title="x",
            skill="moving",
            headcount=1,
            pay_fen=30000,
            start_ms=at(8),
            end_ms=at(12),
            location=near(),
        ),
    )
    assert r.rule == "station_approved"
    r = refused(
        w, c.ChangeStationStatus(command_id=cid(), ts_ms=w.now, station_id="S1", status="approved")
    )
    assert r.rule == "station_transition"


def test_unapproved_station_refuses_postings() -> None:
    w = World()
    w.station("S1", approve=False)
    w.employer()
    r = refused(
        w,
        c.SubmitJob(
            command_id=cid(),
            ts_ms=w.now,
            job_id="J1",
            employer_id="E1",
            station_id="S1",
            title="x",
            skill="moving",
            headcount=1,
            pay_fen=30000,
            start_ms=at(8),
            end_ms=at(12),
            location=near(),
        ),
    )
    assert (r.field, r.rule) == ("station_id", "station_approved")


# ------------------------------------------------------------------ employers ------


def test_employer_uscc_is_validated(w: World) -> None:
    r = refused(
        w,
        c.RegisterEmployer(
            command_id=cid(),
            ts_ms=w.now,
            employer_id="E2",
            kind="organisation",
            name="某公司",
            uscc="91350100M000100Y44",
            region="420602",
        ),
    )
    assert (r.field, r.rule) == ("uscc", "checksum")
    r = refused(
        w,
        c.RegisterEmployer(
            command_id=cid(),
            ts_ms=w.now,
            employer_id="E3",
            kind="person",
            name="王五",
            uscc="91350100M000100Y43",
            region="420602",
        ),
    )
    assert r.rule == "person_has_no_uscc"
    out = w.run(
        c.RegisterEmployer(
            command_id=cid(),
            ts_ms=w.now,
            employer_id="E4",
            kind="person",
            name="王五",
            region="420602",
            contact=c.Personal(name="王五", mobile="13700001111"),
        )
    )
    ev = out.events[0]
    assert isinstance(ev, e.EmployerRegistered)
    assert ev.display_name == "王*" and ev.contact_masked == "137****1111"
    assert "13700001111" not in e.to_json(ev).decode()
    assert out.personal["E4"]["contact_mobile"] == "13700001111"


def test_flagged_employer_postings_are_held_and_wage_arrears_flags(w: World) -> None:
    hire_id = w.hire("W1", "J0", title="装卸")
    w.run(
        c.FileComplaint(
            command_id=cid(),
            ts_ms=w.now,
            complaint_id="C1",
            kind="wage_arrears",
            employer_id="E1",
            hire_id=hire_id,
            text="欠薪",
        )
    )
    assert w.state.employers["E1"].flags == ["wage_arrears"]
    out = w.post("J1")
    assert isinstance(out.events[1], e.JobHeldForReview)
    assert "employer_flagged:wage_arrears" in out.events[1].reasons
    out = w.run(c.ResolveComplaint(command_id=cid(), ts_ms=w.now, complaint_id="C1", upheld=False))
    assert isinstance(out.events[1], e.EmployerCleared)
    assert w.state.employers["E1"].flags == []


# ------------------------------------------------------------------ workers --------


def test_worker_id_number_and_mobile_are_validated(w: World) -> None:
    base = dict(
        command_id="x",
        ts_ms=w.now,
        worker_id="W9",
        region="420602",
        skills=("moving",),
        min_pay_fen=10000,
        home=near(),
    )
    r = refused(
        w,
        c.RegisterWorker(
            **{**base, "command_id": cid()},
            personal=c.Personal(mobile="13812341234", id_number="11010519491231002Y"),
        ),
    )
    assert r.field == "personal.id_number"
    r = refused(
        w,
        c.RegisterWorker(
            **{**base, "command_id": cid()}, personal=c.Personal(mobile="12812341234")
        ),
    )
    assert r.field == "personal.mobile"
    r = refused(
        w,
        c.RegisterWorker(
            **{**base, "command_id": cid()}, personal=c.Personal(mobile="13812341234")
        ),
    )
    assert (r.field, r.rule) == ("birth_year", "required")
    out = w.run(
        c.RegisterWorker(
            **{**base, "command_id": cid()},
            personal=c.Personal(mobile="13812341234", id_number="11010519491231002X"),
        )
    )
    ev = out.events[0]
    assert ev.birth_year == 1949 and ev.phone_masked == "138****1234"
    assert "11010519491231002X" not in e.to_json(ev).decode()


def test_abolished_region_code_in_old_id_stays_valid(w: World) -> None:
    import random

    from sim.morning import make_id_number

    idn = make_id_number(random.Random(1), "110104", 1960)  # 宣武区, merged in 2010
    out = w.run(
        c.RegisterWorker(
            command_id=cid(),
            ts_ms=w.now,
            worker_id="W8",
            region="420602",
            personal=c.Personal(mobile="13812341234", id_number=idn),
            skills=("moving",),
            min_pay_fen=10000,
            home=near(),
        )
    )
    assert out.events[0].birth_year == 1960


def test_worker_field_rules(w: World) -> None:
    def reg(**kw) -> c.RegisterWorker:
        base = dict(
            command_id=cid(),
            ts_ms=w.now,
            worker_id="W7",
            region="420602",
            personal=c.Personal(mobile="13812341234"),
            birth_year=1970,
            skills=("moving",),
            min_pay_fen=10000,
            home=near(),
        )
        base.update(kw)
        return c.RegisterWorker(**base)

    assert refused(w, reg(worker_id="W1")).rule == "unique"
    assert refused(w, reg(skills=())).field == "skills"
    r = refused(w, reg(skills=("Moving!",)))
    assert (r.field, r.rule) == ("skills[0]", "pattern")
    assert refused(w, reg(skills=("moving", "moving"))).rule == "unique"
    assert refused(w, reg(min_pay_fen=-1)).rule == "range"
    assert refused(w, reg(region="4206")).rule == "pattern"
    assert refused(w, reg(priority_group="ethnic")).rule == "enum"
    assert refused(w, reg(quiet_start_min=1440)).field == "quiet_start_min"
    assert refused(w, reg(home=c.Point(lat=48.85, lng=2.35))).rule == "china_mainland"
    assert refused(w, reg(home=c.Point(lat=32.0, lng=112.0, datum="utm"))).field.endswith("datum")


def test_coordinates_are_converted_to_wgs84(w: World) -> None:
    from engine.geo import wgs84_to_bd09, wgs84_to_gcj02

    lat, lng = 32.0, 112.1
    for datum, conv in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        glat, glng = conv(lat, lng)
        out = w.worker(f"W-{datum}", where=c.Point(lat=glat, lng=glng, datum=datum))
        ev = out.events[0]
        assert abs(ev.home_lat - lat) < 1e-6 and abs(ev.home_lng - lng) < 1e-6


def test_update_and_erase_worker(w: World) -> None:
    out = w.run(c.UpdateWorker(command_id=cid(), ts_ms=w.now, worker_id="W1", min_pay_fen=22000))
    ev = out.events[0]
    assert ev.min_pay_fen == 22000 and ev.skills == ("moving",)
    r = refused(w, c.EraseWorker(command_id=cid(), ts_ms=w.now, worker_id="W1", reason=" "))
    assert (r.field, r.rule) == ("reason", "required")
    out = w.run(c.EraseWorker(command_id=cid(), ts_ms=w.now, worker_id="W1", reason="本人申请"))
    assert out.events[0].reason == "本人申请"
    assert (
        refused(w, c.CheckIn(command_id=cid(), ts_ms=w.now, worker_id="W1", station_id="S1")).rule
        == "exists"
    )


# ------------------------------------------------------------------ postings -------


def test_posting_review_verdicts(w: World) -> None:
    assert isinstance(w.post("J1", pay=30000).events[1], e.JobPublished)
    held = w.post("J2", pay=9000).events[1]
    assert isinstance(held, e.JobHeldForReview) and held.reasons[0].startswith(
        "pay_far_below_local"
    )
    high = w.post("J3", pay=200000).events[1]
    assert isinstance(high, e.JobHeldForReview) and high.reasons[0].startswith(
        "pay_far_above_local"
    )
    rej = w.post("J4", pay=3000).events[1]
    assert isinstance(rej, e.JobRejected) and rej.reasons[0].startswith("pay_below_floor")
    dup = w.post("J5", pay=30000).events[1]  # same employer/title/skill/place/time as J1
    assert isinstance(dup, e.JobHeldForReview) and dup.reasons == ("duplicate_of:J1",)


def test_review_only_by_collecting_station(w: World) -> None:
    w.station("S2")
    w.post("J2", pay=9000)
    r = refused(
        w,
        c.ReviewJob(
            command_id=cid(), ts_ms=w.now, job_id="J2", staff_id="u1", station_id="S2", approve=True
        ),
    )
    assert (r.field, r.rule) == ("job_id", "station")  # authz: staff of S2 cannot
    out = w.run(
        c.ReviewJob(
            command_id=cid(), ts_ms=w.now, job_id="J2", staff_id="u1", station_id="S1", approve=True
        )
    )
    assert isinstance(out.events[1], e.JobPublished) and out.events[1].reviewed_by == "u1"
    assert (
        refused(
            w,
            c.ReviewJob(
                command_id=cid(),
                ts_ms=w.now,
                job_id="J2",
                staff_id="u1",
                station_id="S1",
                approve=True,
            ),
        ).rule
        == "held_for_review"
    )


def test_posting_field_rules(w: World) -> None:
    def job(**kw) -> c.SubmitJob:
        base = dict(
            command_id=cid(),
            ts_ms=w.now,
            job_id="J9",
            employer_id="E1",
            station_id="S1",
            title="搬家",
            skill="moving",
            headcount=1,
            pay_fen=30000,
            start_ms=at(8),
            end_ms=at(12),
            location=near(),
        )
        base.update(kw)
        return c.SubmitJob(**base)

    assert refused(w, job(headcount=0)).field == "headcount"
    assert refused(w, job(headcount=501)).field == "headcount"
    assert refused(w, job(end_ms=at(7))).rule == "after_start"
    assert refused(w, job(title="")).rule == "required"
    assert refused(w, job(title="长" * 101)).rule == "max_length"
    assert refused(w, job(employer_id="NOPE")).field == "employer_id"
    assert refused(w, job(pay_fen=0)).rule == "range"
    assert refused(w, job(pay_fen=2**64)).rule == "range"
    assert refused(w, job(start_ms=2**63)).field == "start_ms"
    assert refused(w, job(location=c.Point(lat=30.0, lng=120.0))).rule == "near_station"
    assert refused(w, job(command_id="bad id!")).field == "command_id"
    assert refused(w, job(headcount="1")).rule == "type"
    r = refused(w, job(title="搬家 联系13812341234"))
    assert (r.field, r.rule) == ("title", "no_personal_data")
    assert refused(w, job(description="身份证11010519491231002X")).field == "description"


# ------------------------------------------------------------------ idempotency ----


def test_repeated_command_id_returns_first_result_and_appends_nothing(w: World) -> None:
    cmd = c.CheckIn(command_id="ci-once", ts_ms=w.now, worker_id="W1", station_id="S1")
    first = w.run(cmd)
    seq = w.state.last_seq
    digest = w.state.digest()
    again = w.run(cmd)
    assert again.duplicate and again.seq == first.seq and again.events == []
    assert w.state.last_seq == seq and w.state.digest() == digest


# ------------------------------------------------------------------ hires ----------


def test_hire_lifecycle_and_no_double_hire(w: World) -> None:
    w.check_in("W1")
    out = w.post("J1", heads=1, start=w.now + 60_000)
    offers = [ev for ev in out.events if isinstance(ev, e.OfferMade)]
    assert [o.worker_id for o in offers] == ["W1"]
    out = w.accept(offers[0].offer_id, "W1")
    kinds = [type(ev).__name__ for ev in out.events]
    assert kinds[:4] == ["OfferAccepted", "HireConfirmed", "AgreementRecorded", "JobFilled"]
    hire_id = out.events[1].hire_id
    # an overlapping job gets no offer to the hired worker
    out = w.post("J2", heads=1, title="装卸", skill="moving")
    assert not [ev for ev in out.events if isinstance(ev, e.OfferMade)]
    assert (
        refused(w, c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=30000)).rule
        == "hire_status"
    )
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    early = c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id)
    assert refused(w, early).rule == "after_start"  # completion before the start
    w.now += 60_000
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=30000))
    assert w.state.hires[hire_id].paid_fen == 30000
    assert w.state.workers.completions[0] == 1
    w.run(c.Rate(command_id=cid(), ts_ms=w.now, hire_id=hire_id, by="worker", stars=5))
    assert (
        refused(
            w, c.Rate(command_id=cid(), ts_ms=w.now, hire_id=hire_id, by="worker", stars=6)
        ).field
        == "stars"
    )


def test_offer_rules(w: World) -> None:
    w.worker("W2")
    w.check_in("W1")
    offer = [ev for ev in w.post("J1").events if isinstance(ev, e.OfferMade)][0]
    assert (
        refused(
            w, c.AcceptOffer(command_id=cid(), ts_ms=w.now, offer_id=offer.offer_id, worker_id="W2")
        ).rule
        == "offer_addressee"
    )
    assert (
        refused(
            w, c.AcceptOffer(command_id=cid(), ts_ms=w.now, offer_id="nope", worker_id="W1")
        ).rule
        == "exists"
    )
    late = offer.expires_ms
    assert (
        refused(
            w, c.AcceptOffer(command_id=cid(), ts_ms=late, offer_id=offer.offer_id, worker_id="W1")
        ).rule
        == "offer_live"
    )
    w.run(c.DeclineOffer(command_id=cid(), ts_ms=w.now, offer_id=offer.offer_id, worker_id="W1"))
    assert (
        refused(
            w, c.AcceptOffer(command_id=cid(), ts_ms=w.now, offer_id=offer.offer_id, worker_id="W1")
        ).rule
        == "offer_live"
    )


def test_tick_refuses_going_back(w: World) -> None:
    w.tick(at(6))
    assert refused(w, c.Advance(command_id=cid(), ts_ms=at(5))).rule == "monotonic"


def test_policy_is_validated_and_versioned(w: World) -> None:
    r = refused(
        w, c.SetPolicy(command_id=cid(), ts_ms=w.now, region="4206", policy=Policy(overbook=0.5))
    )
    assert r.field == "policy.overbook"
    out = w.run(
        c.SetPolicy(command_id=cid(), ts_ms=w.now, region="4206", policy=Policy(radius_m=3000))
    )
    assert out.events[0].version == 1
    out = w.run(
        c.SetPolicy(command_id=cid(), ts_ms=w.now, region="4206", policy=Policy(radius_m=2000))
    )
    assert out.events[0].version == 2
    assert w.state.policy_for("420602")[1].radius_m == 2000
    assert w.state.policy_for("450102")[1].radius_m == 1500
    assert (
        refused(w, c.SetPolicy(command_id=cid(), ts_ms=w.now, region="42x", policy=Policy())).rule
        == "pattern"
    )


def test_json_command_decoding_names_the_field() -> None:
    with pytest.raises(Refusal) as info:
        c.command_from_json(b'{"type":"CheckIn","command_id":"a","ts_ms":"soon","worker_id":"W"}')
    assert info.value.field == "ts_ms" and info.value.rule == "type"
    with pytest.raises(Refusal) as info:
        c.command_from_json(b"{not json")
    assert info.value.rule == "json"
