"""Fourteen mornings in one process (`bench.days_bench.run_days`, 500 workers): the core's
live set stops growing once the settlement window is full, and the bureau's steps
(`sim.cases.Bureau`) close the wage-arrears and complaint cases the crowd opens.

Sizes are exact (a snapshot's bytes, the live tables' counts), not timings: the run is
the same on any machine.
"""

from __future__ import annotations

import pytest

from bench.days_bench import run_days


@pytest.fixture(scope="module")
def fortnight() -> dict:
    return run_days(days=14, workers=500)


def test_the_last_day_replays_from_a_snapshot_to_the_same_digest(fortnight: dict) -> None:
    assert fortnight["replay_digest_matches"]


def test_the_live_set_is_flat_once_the_settlement_window_is_full(fortnight: dict) -> None:
    days = fortnight["days"]
    full = fortnight["window_full_day"]
    assert full == 8  # the default policy's 7-day settlement window
    base = days[full - 1]["live_bytes"]
    after = [d["live_bytes"] for d in days[full:]]
    assert after and max(after) <= 1.10 * base, (base, after)
    hires = [d["live"]["hires"] for d in days]
    assert max(hires[full:]) <= 1.10 * hires[full - 1]
    # the window fills first: each day of it adds the day's hires
    assert hires[:full] == sorted(hires[:full])


def test_the_bureau_closes_cases_so_open_ones_do_not_pile_up(fortnight: dict) -> None:
    days = fortnight["days"]
    opened_early = max(d["live"]["arrears_open"] for d in days[4:8])
    opened_late = max(d["live"]["arrears_open"] for d in days[10:14])
    assert 0 < opened_late <= opened_early
    live_early = max(d["live"]["complaints_live"] for d in days[4:8])
    live_late = max(d["live"]["complaints_live"] for d in days[10:14])
    assert live_late <= live_early
    # closed cases leave a week after they closed: the table holds a bounded tail
    assert days[-1]["live"]["complaints"] <= 2 * days[7]["live"]["complaints"]
