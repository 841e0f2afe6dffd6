"""Offer waves, accept/decline, expiry, withdrawal, worker side, pushes and the opening bell."""

from __future__ import annotations

from engine import commands as c
from engine import events as e
from engine.events import Policy
from tests.support import World, at, cid, near


def offers(out) -> list[e.OfferMade]:  # noqa: ANN001
    return [ev for ev in out.events if isinstance(ev, e.OfferMade)]


def world(n: int = 5, **policy) -> World:  # noqa: ANN003
    w = World(Policy(**policy))
    w.station("S1")
    w.employer("E1")
    for i in range(n):
        w.worker(f"W{i}", where=near(50.0 * i, 0.0))
    return w


def test_wave_offers_best_candidates_with_overbooking_then_fills_and_withdraws() -> None:
    w = world(6, overbook=1.5)
    for i in range(6):
        w.check_in(f"W{i}", where=near(100.0 * i, 0.0))
    made = offers(w.post("J1", heads=2, where=near(0.0, 0.0)))
    assert len(made) == 3  # ceil(2 * 1.5)
    assert [o.rank for o in made] == [1, 2, 3]
    assert [o.score for o in made] == sorted((o.score for o in made), reverse=True)
    assert made[0].worker_id == "W0"  # nearest wins when everything else is equal
    w.accept(made[0].offer_id, made[0].worker_id)
    out = w.accept(made[1].offer_id, made[1].worker_id)
    kinds = [type(ev).__name__ for ev in out.events]
    assert "JobFilled" in kinds
    withdrawn = [ev for ev in out.events if isinstance(ev, e.OfferWithdrawn)]
    assert [ev.offer_id for ev in withdrawn] == [made[2].offer_id]
    assert withdrawn[0].reason == "job_filled"


def test_decline_and_expiry_start_the_next_wave() -> None:
    w = world(4, overbook=1.0, offer_ttl_ms=60_000)
    for i in range(4):
        w.check_in(f"W{i}", where=near(100.0 * i, 0.0))
    first = offers(w.post("J1", heads=1))
    assert len(first) == 1 and first[0].wave == 1
    out = w.run(
        c.DeclineOffer(
            command_id=cid(), ts_ms=w.now, offer_id=first[0].offer_id, worker_id=first[0].worker_id
        )
    )
    second = offers(out)
    assert len(second) == 1 and second[0].wave == 2 and second[0].worker_id != first[0].worker_id
    out = w.tick(w.now + 61_000)
    kinds = [type(ev).__name__ for ev in out.events]
    assert kinds[:2] == ["Tick", "OfferExpired"]
    third = offers(out)
    assert len(third) == 1 and third[0].wave == 3
    assert len({first[0].worker_id, second[0].worker_id, third[0].worker_id}) == 3


def test_filters_skill_pay_radius_and_time() -> None:
    w = world(0)
    w.worker("near-wrong-skill", skills=("cleaning",))
    w.worker("near-too-dear", min_pay_fen=40000)
    w.worker("far-walker", where=near(4000.0, 0.0))
    w.worker("far-ebike", where=near(4000.0, 0.0), mode="ebike")
    w.worker("ok")
    for wid in ("near-wrong-skill", "near-too-dear", "ok"):
        w.check_in(wid)
    w.check_in("far-walker", where=near(4000.0, 0.0))
    w.check_in("far-ebike", where=near(4000.0, 0.0))
    made = offers(w.post("J1", heads=5, pay=30000, where=near()))
    assert sorted(o.worker_id for o in made) == ["far-ebike", "ok"]
    for o in made:
        assert o.distance_m <= 5_000


def test_check_in_offers_the_best_open_job_nearby() -> None:
    w = world(1)
    w.post("J-far", heads=1, where=near(1200.0, 0.0), pay=30000)
    w.post("J-near", heads=1, where=near(100.0, 0.0), pay=30000, title="装卸")
    out = w.check_in("W0")
    made = offers(out)
    assert len(made) == 1 and made[0].job_id == "J-near" and made[0].source == "checkin"


def test_push_to_opted_in_registered_workers_within_radius_with_daily_cap() -> None:
    w = world(0, push_daily_cap=2)
    w.worker("P-near", push=True, where=near(500.0, 0.0))
    w.worker("P-far", push=True, where=near(3000.0, 0.0))
    w.worker("P-off", push=False, where=near(100.0, 0.0))
    w.now = at(9)  # outside the default quiet hours 22:00-07:00
    pushed = []
    for i in range(3):
        out = w.post(f"J{i}", heads=1, title=f"搬家{i}", where=near(0.0, 0.0))
        pushed += [ev.worker_id for ev in out.events if isinstance(ev, e.PushSent)]
    assert pushed == ["P-near", "P-near"]  # cap of 2 per day


def test_no_pushes_in_quiet_hours() -> None:
    w = world(0)
    w.worker("P", push=True)
    w.now = at(4, 30)  # default quiet hours 22:00-05:00
    out = w.post("J1")
    assert not [ev for ev in out.events if isinstance(ev, e.PushSent)]


def test_opening_bell_holds_the_window_then_assigns_together() -> None:
    w = world(4, bell_window_ms=60_000)
    w.run(c.RingBell(command_id=cid(), ts_ms=w.now, station_id="S1"))
    for i in range(4):
        assert offers(w.check_in(f"W{i}")) == []
    assert offers(w.post("J1", heads=2)) == []
    assert offers(w.post("J2", heads=1, title="装卸")) == []
    out = w.tick(w.now + 60_000)
    kinds = [type(ev).__name__ for ev in out.events]
    assert "BellClosed" in kinds
    made = offers(out)
    bell = [o for o in made if o.source == "bell"]
    assert len(bell) == 3
    assert len({o.worker_id for o in bell}) == 3  # one slot per worker


def test_no_worker_hired_twice_for_overlapping_time() -> None:
    w = world(1)
    w.check_in("W0")
    a = offers(w.post("J1", heads=1, start=at(8), hours=4))[0]
    w.accept(a.offer_id, "W0")
    assert offers(w.post("J2", heads=1, start=at(10), hours=4, title="x")) == []
    later = offers(w.post("J3", heads=1, start=at(13), hours=3, title="y"))
    assert [o.worker_id for o in later] == ["W0"]


def test_erasing_a_worker_with_a_live_offer_withdraws_it() -> None:
    w = world(1)
    w.check_in("W0")
    made = offers(w.post("J1", heads=1))
    assert [o.worker_id for o in made] == ["W0"]
    out = w.run(c.EraseWorker(command_id=cid(), ts_ms=w.now, worker_id="W0", reason="本人申请"))
    withdrawn = [ev for ev in out.events if isinstance(ev, e.OfferWithdrawn)]
    assert [ev.offer_id for ev in withdrawn] == [made[0].offer_id]
    assert w.state.offers[made[0].offer_id].status == "withdrawn"
    assert w.state.jobs["J1"].live_offers == []


def test_push_reaches_a_checked_in_opted_in_worker_whose_home_is_far() -> None:
    w = world(0)
    w.worker("P-away", push=True, where=near(4000.0, 0.0))  # home far from the job
    w.now = at(9)
    # standing near the job now, but only until before it starts: no offer, a push
    w.run(
        c.CheckIn(
            command_id=cid(),
            ts_ms=w.now,
            worker_id="P-away",
            location=near(300.0, 0.0),
            available_until_ms=w.now + 1_800_000,
        )
    )
    out = w.post("J1", heads=1, skill="moving", where=near(0.0, 0.0))
    assert not [ev for ev in out.events if isinstance(ev, e.OfferMade)]
    pushed = [ev for ev in out.events if isinstance(ev, e.PushSent)]
    assert [p.worker_id for p in pushed] == ["P-away"] and pushed[0].distance_m <= 310
