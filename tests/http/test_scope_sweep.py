"""The scope index follows the engine's live set: what left the core leaves the index.

Before: every job, hire and complaint ever recorded stayed in `ScopeIndex` for the life
of the process (~150 B each: a city's year of hires is ~3.6 million), although a read of
one that left the core is answered 404 by the state anyway.
"""

from __future__ import annotations

from types import SimpleNamespace

from adapters.http.scope import SWEEP_PER_RESULT, ScopeIndex
from engine import events as e


def _index_with(n: int) -> tuple[ScopeIndex, SimpleNamespace]:
    state = SimpleNamespace(jobs={}, hires={}, complaints={})
    index = ScopeIndex(lambda: state)  # type: ignore[arg-type, return-value]
    for i in range(n):
        index.apply_events([
            e.JobSubmitted(ts_ms=1, job_id=f"J{i}", employer_id="E1", station_id="S1",
                           region="420602", title="搬运", skill="moving", headcount=1,
                           pay_fen=20000, start_ms=2, end_ms=3, lat=32.0, lng=112.1),
            e.HireConfirmed(ts_ms=1, hire_id=f"J{i}/W1", job_id=f"J{i}", worker_id="W1",
                            offer_id=f"O{i}", start_ms=2, end_ms=3, pay_fen=20000),
        ])  # fmt: skip
        state.jobs[f"J{i}"] = object()
        state.hires[f"J{i}/W1"] = object()
    return index, state


def test_what_left_the_core_leaves_the_index_in_bounded_steps() -> None:
    n = 5 * SWEEP_PER_RESULT
    index, state = _index_with(n)
    keep = {f"J{i}" for i in range(0, n, 7)}
    for jid in list(state.jobs):
        if jid not in keep:
            del state.jobs[jid]
            del state.hires[jid + "/W1"]
    sweeps = 0
    while len(index.job) > len(keep) or len(index.hire) > len(keep):
        dropped = index.sweep(state)  # type: ignore[arg-type]
        assert dropped <= 3 * SWEEP_PER_RESULT  # bounded work per command
        sweeps += 1
        assert sweeps <= n  # it gets there
    assert set(index.job) == keep and {h[:-3] for h in index.hire} == keep
    assert index.job_region(min(keep)) == "420602"  # the live ones are still known
    assert index.sweep(state) == 0  # type: ignore[arg-type]


def test_the_listener_sweeps_after_each_durable_command() -> None:
    index, state = _index_with(3)
    state.jobs.clear()
    state.hires.clear()
    result = SimpleNamespace(ok=True, events=[e.Tick(ts_ms=10)])
    index.listener(None, result)  # type: ignore[arg-type]
    assert index.job == {} and index.hire == {}
