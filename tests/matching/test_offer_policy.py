"""The matching defects of issue 14, as properties that would have caught them.

- Reach (and every policy value deciding a job's offers) comes from the JOB's region
  policy, on both paths: the job's wave (workers already waiting) and the worker-side
  offer when a worker checks in next to an open job. A worker registered in another
  region never gets an offer beyond the job region's reach, and always gets one within
  it (when nothing else stands in the way).
- Opening-bell offers do not use up the job's offer waves: after a bell, a decline still
  tops the job up while eligible workers wait.
- The default 1-hour circle has no flat 5 km cap (an e-bike 20 minutes away is reached)
  and the default quiet hours let the 05:00-07:00 morning market's pushes through.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import events as e
from engine.events import Policy, TravelSpeeds
from engine.geo import haversine_m
from engine.matching.params import DETOUR
from tests.support import World, at, cid, near

MODES = ("walk", "bike", "ebike", "bus", "car")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

policies = st.builds(
    lambda radius, limit, cap, ebike: Policy(
        radius_m=min(radius, cap),
        travel_limit_s=limit,
        max_reach_m=cap,
        speeds=TravelSpeeds(ebike_mps=ebike),
        overbook=1.0,
    ),
    st.sampled_from([200, 500, 1500]),
    st.sampled_from([300, 900, 1800, 3600]),
    st.sampled_from([800, 3000, 8000, 100_000]),
    st.sampled_from([4.0, 5.5, 7.0]),
)


def expected_reach_m(policy: Policy, mode: str) -> float:
    speed = getattr(policy.speeds, f"{mode}_mps")
    return max(policy.radius_m, min(speed * policy.travel_limit_s / DETOUR, policy.max_reach_m))


def _two_regions(job_policy: Policy, worker_policy: Policy) -> World:
    """Xiangyang (4206) runs `job_policy`, Wuhan (4201) `worker_policy`; the national
    default is generous, so only the region policies can decide."""
    w = World(Policy(radius_m=50_000, max_reach_m=50_000))
    w.run(c.SetPolicy(command_id=cid(), ts_ms=w.now, region="4206", policy=job_policy))
    w.run(c.SetPolicy(command_id=cid(), ts_ms=w.now, region="4201", policy=worker_policy))
    w.station("S1")
    w.employer("E1")
    return w


def _offers(out) -> list[e.OfferMade]:  # noqa: ANN001
    return [ev for ev in out.events if isinstance(ev, e.OfferMade)]


@SETTINGS
@given(
    job_policy=policies,
    worker_policy=policies,
    mode=st.sampled_from(MODES),
    frac=st.floats(min_value=0.3, max_value=3.0),
    worker_first=st.booleans(),
)
@example(
    job_policy=Policy(radius_m=200, travel_limit_s=300, max_reach_m=800, overbook=1.0),
    worker_policy=Policy(radius_m=1500, max_reach_m=100_000, overbook=1.0),
    mode="walk",
    frac=2.5,
    worker_first=False,
)
def test_reach_comes_from_the_job_region_policy(
    job_policy: Policy, worker_policy: Policy, mode: str, frac: float, worker_first: bool
) -> None:
    """The distance is drawn around the job region's reach (frac of it), so the
    worker region's reach often lies on the other side of it."""
    distance_m = min(frac * expected_reach_m(job_policy, mode), 40_000.0)
    w = _two_regions(job_policy, worker_policy)
    w.worker("WH1", region="420102", mode=mode, where=near(0, 0))  # registered in Wuhan
    spot = near(distance_m, 0)
    job_at = near(0, 0)
    if worker_first:
        w.check_in("WH1", where=spot)
        made = _offers(w.post("J1", where=job_at))
    else:
        assert not _offers(w.post("J1", where=job_at))  # nobody around yet
        made = _offers(w.check_in("WH1", where=spot))
    d = haversine_m(job_at.lat, job_at.lng, spot.lat, spot.lng)
    reach = expected_reach_m(job_policy, mode)
    assume(abs(d - reach) > 1.0)  # float noise at the very edge says nothing
    if d <= reach:
        assert [o.worker_id for o in made] == ["WH1"], (d, reach)
        assert made[0].source == ("wave" if worker_first else "checkin")
    else:
        assert made == [], (d, reach, expected_reach_m(worker_policy, mode))


@SETTINGS
@given(
    heads=st.integers(min_value=1, max_value=8),
    extra=st.integers(min_value=1, max_value=4),
    max_waves=st.integers(min_value=1, max_value=5),
)
def test_bell_offers_do_not_consume_waves(heads: int, extra: int, max_waves: int) -> None:
    policy = Policy(bell_window_ms=60_000, max_waves=max_waves, overbook=1.0)
    w = World(policy)
    w.station("S1")
    w.employer("E1")
    n = heads + extra
    for i in range(n):
        w.worker(f"W{i}", where=near(10.0 * i, 0))
    w.run(c.RingBell(command_id=cid(), ts_ms=w.now, station_id="S1"))
    for i in range(n):
        assert not _offers(w.check_in(f"W{i}"))  # the bell assigns them
    assert not _offers(w.post("J1", heads=heads, where=near(0, 0)))
    closed = w.tick(w.now + 60_000)
    bell = _offers(closed)
    assert len(bell) == heads and all(o.source == "bell" for o in bell)
    job = w.state.jobs["J1"]
    assert job.wave == 0  # the bell used none of the job's waves
    # each decline of a bell offer tops the job up while eligible workers wait
    waiting = n - heads
    for o in bell[: min(heads, max_waves, waiting)]:
        out = w.run(
            c.DeclineOffer(
                command_id=cid(), ts_ms=w.now, offer_id=o.offer_id, worker_id=o.worker_id
            )
        )
        new = _offers(out)
        assert len(new) == 1 and new[0].source == "wave", out.events
        assert new[0].wave == job.wave <= max_waves


def test_ebike_twenty_minutes_away_is_reached_by_default() -> None:
    w = World()
    w.station("S1")
    w.employer("E1")
    w.worker("W1", mode="ebike", where=near(0, 0))
    d_m = 5_050.0  # beyond the old flat 5 km cap
    travel_s = d_m * DETOUR / Policy().speeds.ebike_mps
    assert travel_s < 20 * 60
    w.check_in("W1", where=near(d_m, 0))
    made = _offers(w.post("J1", where=near(0, 0)))
    assert [o.worker_id for o in made] == ["W1"]
    assert math.isclose(made[0].travel_s, travel_s, abs_tol=2.0)


def test_default_quiet_hours_let_the_morning_market_through() -> None:
    w = World()
    w.station("S1")
    w.employer("E1")
    w.worker("W1", push=True, where=near(0, 0))  # default quiet hours
    early = w.post("J1", where=near(200, 0), ts=at(5, 30))
    assert [ev.worker_id for ev in early.events if isinstance(ev, e.PushSent)] == ["W1"]
    w.now = at(23)
    late = w.post("J2", where=near(200, 0), ts=at(23), start=at(23) + 8 * 3_600_000)
    assert not [ev for ev in late.events if isinstance(ev, e.PushSent)]
