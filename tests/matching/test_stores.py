"""SkillCodes, WorkerArrays and JobArrays."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching.jobs import JOB_CLOSED, JobArrays
from engine.matching.skills import MAX_SKILLS, SkillCodes
from engine.matching.workers import (
    BUSY_SLOTS,
    BYTES_PER_ROW,
    COLUMN_NAMES,
    WorkerArrays,
    mode_code,
    priority_code,
)

from .util import CITIES, NOW_MS


def test_skill_codes_order_and_limit():
    codes = SkillCodes()
    assert codes.mask(["moving", "construction", "moving"]) == 0b11
    assert codes.bit("moving") == 0 and codes.bit("construction") == 1
    assert codes.bit("4-08-09-01") is None and "4-08-09-01" not in codes
    assert codes.mask_known(["4-08-09-01", "construction"]) == 0b10
    assert codes.register("4-08-09-01") == 2
    assert codes.codes(0b101) == ["moving", "4-08-09-01"]
    assert SkillCodes(codes.to_list()).to_list() == codes.to_list()
    for i in range(3, MAX_SKILLS):
        codes.register(f"code-{i}")
    assert len(codes) == 64 and codes.mask(["code-63"]) == 1 << 63
    with pytest.raises(ValueError, match="limit is 64"):
        codes.register("one-too-many")
    assert len(codes) == 64  # the failed code took nothing
    with pytest.raises(ValueError):
        SkillCodes().register("")


def _add(workers: WorkerArrays, i: int = 0) -> int:
    lat, lng = CITIES["xiangyang"]
    return workers.add(
        home_lat=lat + i * 1e-4,
        home_lng=lng,
        skills=1 << 63 | 1,
        min_pay_fen=15000,
        birth_year=1970,
        priority=2,  # any recognised group -> 1
        mode=mode_code("ebike"),
        push_opt_in=True,
    )


def test_workers_grow_by_doubling_and_keep_rows():
    workers = WorkerArrays(capacity=2)
    rows = [_add(workers, i) for i in range(9)]
    assert rows == list(range(9)) and len(workers) == 9 and workers.capacity == 16
    assert workers.home_lat[8] == pytest.approx(CITIES["xiangyang"][0] + 8e-4)
    assert int(workers.skills[3]) == (1 << 63 | 1) and workers.priority[3] == 1
    assert workers.lat[3] == workers.home_lat[3] and workers.active[3] == 1
    assert workers.mode[0] == 2 and priority_code("") == 0 and priority_code("veteran") == 1
    assert BYTES_PER_ROW <= 256
    assert workers.nbytes() == BYTES_PER_ROW * workers.capacity
    workers.shrink_to_fit()
    assert workers.capacity == 9 and workers.nbytes() == BYTES_PER_ROW * 9
    with pytest.raises(ValueError):
        mode_code("horse")


def test_check_in_out_and_position():
    workers = WorkerArrays()
    row = _add(workers)
    workers.check_in(row, 32.1, 112.2, NOW_MS, NOW_MS + 3600_000)
    assert (workers.lat[row], workers.lng[row], workers.checked_in[row]) == (32.1, 112.2, 1)
    workers.update(
        row,
        home_lat=32.0,
        home_lng=112.0,
        skills=1,
        min_pay_fen=1,
        priority=0,
        mode=0,
        push_opt_in=False,
        quiet_start_min=0,
        quiet_end_min=0,
    )
    assert workers.lat[row] == 32.1  # still checked in: position stays
    workers.check_out(row)
    assert (workers.lat[row], workers.lng[row], workers.checked_in[row]) == (32.0, 112.0, 0)
    workers.set_position(row, 33.0, 113.0)
    assert workers.lat[row] == 33.0
    with pytest.raises(ValueError):
        workers.check_in(row, 95.0, 112.0, NOW_MS, NOW_MS)
    with pytest.raises(IndexError):
        workers.check_out(7)


def test_busy_slots():
    workers = WorkerArrays()
    row = _add(workers)
    hour = 3600_000
    for i in range(BUSY_SLOTS):
        assert workers.add_busy(row, NOW_MS + 2 * i * hour, NOW_MS + (2 * i + 1) * hour)
    assert not workers.add_busy(row, NOW_MS + 20 * hour, NOW_MS + 21 * hour)  # all full
    assert workers.busy_count(row) == BUSY_SLOTS
    assert workers.overlaps_busy(row, NOW_MS + hour // 2, NOW_MS + 3 * hour // 2)
    assert not workers.overlaps_busy(row, NOW_MS + hour, NOW_MS + 2 * hour)  # touching only
    assert workers.remove_busy(row, NOW_MS + 2 * hour, NOW_MS + 3 * hour)
    assert not workers.remove_busy(row, NOW_MS + 2 * hour, NOW_MS + 3 * hour)
    assert workers.prune_busy(row, NOW_MS + 5 * hour) == 2  # [0,1) and [4,5) ended
    assert workers.busy_count(row) == 1
    assert workers.add_busy(row, NOW_MS + 9 * hour, NOW_MS + 10 * hour)
    with pytest.raises(ValueError):
        workers.add_busy(row, NOW_MS, NOW_MS)


def test_counters_reset_by_day():
    workers = WorkerArrays()
    row = _add(workers)
    workers.offer_made(row, 100)
    workers.offer_made(row, 100)
    assert workers.offers_on(row, 100) == 2 and workers.open_offers[row] == 2
    workers.offer_made(row, 101)
    assert workers.offers_on(row, 101) == 1 and workers.offers_on(row, 100) == 0
    workers.offer_closed(row)
    workers.offer_closed(row)
    workers.offer_closed(row)
    with pytest.raises(ValueError):
        workers.offer_closed(row)
    workers.record_push(row, 7)
    workers.record_push(row, 7)
    assert workers.pushes_on(row, 7) == 2 and workers.pushes_on(row, 8) == 0
    workers.record_completion(row)
    workers.record_no_show(row)
    assert (workers.completions[row], workers.no_shows[row]) == (1, 1)


def test_erase_and_column_round_trip():
    workers = WorkerArrays()
    for i in range(5):
        _add(workers, i)
    workers.check_in(2, 32.2, 112.2, NOW_MS, NOW_MS + 1)
    workers.erase(3)
    assert workers.active[3] == 0 and workers.skills[3] == 0 and workers.home_lat[3] == 0.0
    cols = workers.columns()
    assert set(cols) == set(COLUMN_NAMES) and all(len(c) == 5 for c in cols.values())
    copy = WorkerArrays.from_columns(cols)
    for name in COLUMN_NAMES:
        assert np.array_equal(getattr(copy, name)[:5], cols[name])
    assert _add(copy) == 5
    with pytest.raises(ValueError):
        WorkerArrays.from_columns({"lat": cols["lat"]})


def test_jobs():
    jobs = JobArrays(capacity=1)
    lat, lng = CITIES["nanning"]
    rows = [
        jobs.add(
            lat=lat,
            lng=lng,
            skill_bit=i,
            day_pay_fen=20000,
            start_ms=NOW_MS,
            end_ms=NOW_MS + 3600_000,
            slots=2,
        )
        for i in range(3)
    ]
    assert rows == [0, 1, 2] and jobs.capacity == 4
    assert jobs.fill_slot(1) == 1 and jobs.fill_slot(1) == 0
    assert not jobs.is_matchable(1)
    with pytest.raises(ValueError):
        jobs.fill_slot(1)
    assert jobs.release_slot(1) == 1 and jobs.is_matchable(1)
    jobs.close(2)
    assert jobs.status[2] == JOB_CLOSED and not jobs.is_matchable(2)
    copy = JobArrays.from_columns(jobs.columns())
    assert np.array_equal(copy.slots_open[:3], jobs.slots_open[:3])
    with pytest.raises(ValueError):
        jobs.add(lat=lat, lng=lng, skill_bit=64, day_pay_fen=1, start_ms=1, end_ms=2, slots=1)
    with pytest.raises(ValueError):
        jobs.add(lat=lat, lng=lng, skill_bit=0, day_pay_fen=1, start_ms=2, end_ms=2, slots=1)
