"""Opening bell: optimal >= greedy, == brute force, == the slot-expanded scipy optimum,
never an ineligible pair; the flow kernel equals its plain-Python twin."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching.bell import (
    MAX_PAIRS,
    bell_assign,
    brute_force_assign,
    greedy_assign,
    lsap_assign,
    positive_pairs,
    total_score,
)
from engine.matching.bell_dense import dense_flow_assign, py_dense_flow_assign
from engine.matching.bell_flow import flow_assign, py_flow_assign


def random_crowd(rng, n_workers, n_jobs, eligible=0.4, max_slots=3, negative=0.1):
    scores = rng.uniform(-0.3, 3.0, (n_workers, n_jobs)).round(int(rng.integers(1, 4)))
    scores[rng.random(scores.shape) < negative] *= -1
    scores[rng.random(scores.shape) > eligible] = rng.choice([-np.inf, np.nan])
    slots = rng.integers(0, max_slots + 1, n_jobs)
    return scores, slots


def check_valid(scores, slots, pairs):
    assert pairs == sorted(pairs)
    workers = [w for w, _ in pairs]
    assert len(workers) == len(set(workers))
    for w, j in pairs:
        assert np.isfinite(scores[w, j])
    counts = np.bincount([j for _, j in pairs], minlength=scores.shape[1])
    assert np.all(counts <= slots)


def test_bell_beats_greedy_on_crowds():
    rng = np.random.default_rng(71)
    strictly_better = 0
    for _ in range(40):
        scores, slots = random_crowd(rng, int(rng.integers(20, 120)), int(rng.integers(5, 60)))
        best = bell_assign(scores, slots)
        greedy = greedy_assign(scores, slots)
        check_valid(scores, slots, best)
        check_valid(scores, slots, greedy)
        assert all(scores[w, j] > 0 for w, j in best)
        assert total_score(scores, best) >= total_score(scores, greedy) - 1e-9
        strictly_better += total_score(scores, best) > total_score(scores, greedy) + 1e-9
        hires = bell_assign(scores, slots, objective="hires")
        check_valid(scores, slots, hires)
        assert len(hires) >= len(greedy) and len(hires) >= len(best)
    assert strictly_better > 10


def test_bell_equals_brute_force_on_tiny_cases():
    rng = np.random.default_rng(72)
    for _ in range(150):
        n_workers, n_jobs = int(rng.integers(1, 7)), int(rng.integers(1, 5))
        scores, slots = random_crowd(
            rng, n_workers, n_jobs, eligible=0.6, max_slots=2, negative=0.3
        )
        for objective in ("weight", "hires"):
            pairs = bell_assign(scores, slots, objective=objective)
            check_valid(scores, slots, pairs)
            brute, brute_total = brute_force_assign(scores, slots, objective=objective)
            assert total_score(scores, pairs) == pytest.approx(brute_total, abs=1e-9)
            if objective == "hires":
                assert len(pairs) == len(brute)


def test_hires_objective_prefers_more_hires():
    # W0 fits J0 (10) or J1 (1); W1 fits only J0 (1). Weight: W0-J0 alone (10).
    # Hires: W0-J1 + W1-J0 (2 hires, total 2).
    scores = np.array([[10.0, 1.0], [1.0, -np.inf]])
    slots = np.array([1, 1])
    assert bell_assign(scores, slots) == [(0, 0)]
    assert greedy_assign(scores, slots) == [(0, 0)]
    assert bell_assign(scores, slots, objective="hires") == [(0, 1), (1, 0)]


def test_greedy_ties_break_on_worker_then_job():
    scores = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    assert greedy_assign(scores, np.array([1, 1])) == [(0, 0), (1, 1)]
    assert greedy_assign(scores, np.array([0, 2])) == [(0, 1), (1, 1)]


def test_edges_and_limits():
    assert bell_assign(np.zeros((0, 3)), np.array([1, 1, 1])) == []
    assert bell_assign(np.full((3, 2), np.nan), np.array([1, 1])) == []
    assert bell_assign(np.ones((3, 2)), np.array([0, 0])) == []
    with pytest.raises(ValueError, match="too large"):
        bell_assign(np.ones((2001, 2)), np.array([MAX_PAIRS // 4000, MAX_PAIRS // 4000]))
    with pytest.raises(ValueError):
        bell_assign(np.ones((3, 2)), np.array([1]))
    with pytest.raises(ValueError):
        bell_assign(np.ones((3, 2)), np.array([1, 1]), objective="fastest")


@pytest.mark.parametrize(
    ("kernel", "twin"),
    [(flow_assign, py_flow_assign), (dense_flow_assign, py_dense_flow_assign)],
)
def test_flow_kernels_equal_their_twins(kernel, twin):  # noqa: ANN001
    """Exact equality on seeded crowds, ties included (scores rounded to 1-3 decimals)."""
    rng = np.random.default_rng(73)
    for _ in range(60):
        scores, slots = random_crowd(
            rng,
            int(rng.integers(1, 90)),
            int(rng.integers(1, 40)),
            eligible=float(rng.uniform(0.05, 0.9)),
            max_slots=int(rng.integers(1, 6)),
        )
        args = positive_pairs(scores, slots)
        got = kernel(*args, slots)
        assert np.array_equal(got, twin(*args, slots))
        assert np.array_equal(got, kernel(*args, slots))  # deterministic


def test_flows_equal_the_slot_expanded_optimum():
    """Both solvers reach the total of scipy over slot-expanded scores (the former
    solver) and keep the slots."""
    rng = np.random.default_rng(74)
    for _ in range(30):
        scores, slots = random_crowd(
            rng, int(rng.integers(20, 150)), int(rng.integers(5, 50)), max_slots=5
        )
        expanded = total_score(scores, lsap_assign(scores, slots))
        args = positive_pairs(scores, slots)
        for kernel in (flow_assign, dense_flow_assign):
            job_of = kernel(*args, slots)
            pairs = [(int(w), int(job_of[w])) for w in np.flatnonzero(job_of >= 0)]
            check_valid(scores, slots, pairs)
            assert all(scores[w, j] > 0 for w, j in pairs)
            assert total_score(scores, pairs) == pytest.approx(expanded, abs=1e-9)
        assert total_score(scores, bell_assign(scores, slots)) == pytest.approx(expanded, abs=1e-9)


def test_flow_reroutes_along_a_chain():
    # W0 takes J0 (best for it); W1 only fits J0 and is worth more there, so W0 moves to
    # J1, whose one slot W2 held less well: W2 moves on to J2.
    scores = np.array(
        [
            [5.0, 4.0, -np.inf],
            [9.0, -np.inf, -np.inf],
            [-np.inf, 3.0, 2.5],
        ]
    )
    for slots, want in (([1, 1, 1], [1, 0, 2]), ([1, 1, 0], [1, 0, -1])):
        args = positive_pairs(scores, np.array(slots))
        assert flow_assign(*args, np.array(slots)).tolist() == want
        assert dense_flow_assign(*args, np.array(slots)).tolist() == want
