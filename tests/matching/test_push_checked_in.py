"""The fold keeps `State.push_checked_in` = the active opted-in checked-in workers at
their position, tagged with their skills (the push audience's invariant), and a
snapshot restores the same index."""

from __future__ import annotations

import numpy as np
import pytest

from engine import events as e
from engine.fold import apply
from engine.snapshot import restore_state, snapshot_state
from engine.state import State

from .util import CITIES, NOW_MS, offsets_to_latlng

CENTRE = CITIES["xiangyang"]
SKILLS = ("moving", "cleaning", "construction")


def _point(rng: np.random.Generator) -> tuple[float, float]:
    lat, lng = offsets_to_latlng(CENTRE, rng.normal(0, 1500), rng.normal(0, 1500))
    return float(lat), float(lng)


def _skills(rng: np.random.Generator) -> tuple[str, ...]:
    return tuple(sorted(set(rng.choice(SKILLS, size=int(rng.integers(1, 3))).tolist())))


def _check(state: State) -> None:
    w = state.workers
    idx = state.push_checked_in
    want = [
        row for row in range(len(w)) if w.active[row] and w.push_opt_in[row] and w.checked_in[row]
    ]
    assert idx.rows().tolist() == want
    for row in want:
        assert idx.cell_of(row) == idx.cell(float(w.lat[row]), float(w.lng[row]))
        assert idx.tag_of(row) == int(w.skills[row])


@pytest.mark.parametrize("seed", range(4))
def test_fold_keeps_push_checked_in(seed):
    rng = np.random.default_rng(seed)
    state = State()
    ids: list[str] = []
    erased: set[str] = set()
    for step in range(400):
        ts = NOW_MS + step * 1000
        live = [i for i in ids if i not in erased]
        kind = int(rng.integers(0, 6)) if live else 0
        if kind == 0:
            wid = f"W{len(ids)}"
            ids.append(wid)
            lat, lng = _point(rng)
            ev: e.Event = e.WorkerRegistered(
                ts_ms=ts,
                worker_id=wid,
                region="420602",
                skills=_skills(rng),
                min_pay_fen=10000,
                birth_year=1980,
                home_lat=lat,
                home_lng=lng,
                travel_mode="ebike",
                push_opt_in=bool(rng.random() < 0.6),
            )
        else:
            wid = live[int(rng.integers(0, len(live)))]
            lat, lng = _point(rng)
            if kind in (1, 2):
                ev = e.WorkerCheckedIn(
                    ts_ms=ts, worker_id=wid, lat=lat, lng=lng, available_until_ms=ts + 3600_000
                )
            elif kind == 3:
                ev = e.WorkerCheckedOut(ts_ms=ts, worker_id=wid)
            elif kind == 4:
                ev = e.WorkerUpdated(
                    ts_ms=ts,
                    worker_id=wid,
                    skills=_skills(rng),
                    min_pay_fen=10000,
                    priority_group="",
                    home_lat=lat,
                    home_lng=lng,
                    travel_mode="walk",
                    push_opt_in=bool(rng.random() < 0.5),
                    quiet_start_min=0,
                    quiet_end_min=0,
                )
            elif rng.random() < 0.3:
                ev = e.WorkerErased(ts_ms=ts, worker_id=wid, reason="test")
                erased.add(wid)
            else:
                continue
        apply(state, ev)
        _check(state)
    assert len(state.push_checked_in) > 0
    restored = restore_state(snapshot_state(state))
    _check(restored)
    assert restored.push_checked_in.rows().tolist() == state.push_checked_in.rows().tolist()
