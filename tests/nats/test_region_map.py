"""`RegionMap` does not grow with history: jobs, hires and complaints are kept up to a cap,
the least recently mentioned dropped first; what is mentioned stays known."""

from __future__ import annotations

from adapters.nats.cloudevents import MAX_IDS, RegionMap
from engine import events as e


def _job(i: int, region: str = "420602") -> e.JobSubmitted:
    return e.JobSubmitted(ts_ms=1, job_id=f"J{i}", employer_id="E1", station_id="S1",
                          region=region, title="搬运", skill="moving", headcount=1,
                          pay_fen=20000, start_ms=2, end_ms=3, lat=32.0, lng=112.1)  # fmt: skip


def _hire(i: int) -> e.HireConfirmed:
    return e.HireConfirmed(ts_ms=1, hire_id=f"J{i}/W1", job_id=f"J{i}", worker_id="W1",
                           offer_id=f"O{i}", start_ms=2, end_ms=3, pay_fen=20000)  # fmt: skip


def test_the_map_keeps_the_recent_and_drops_the_oldest() -> None:
    assert MAX_IDS >= 100_000  # months of a city's jobs before anything is dropped
    m = RegionMap("420600")
    m.jobs.cap = m.hires.cap = 3
    for i in range(3):
        assert m.observe(_job(i, "420607")) == "420607"
        m.observe(_hire(i))
    assert (
        m.observe(e.WorkCompleted(ts_ms=5, hire_id="J0/W1")) == "420607"
    )  # J0 and its hire: newest
    for i in range(3, 5):
        m.observe(_job(i))
        m.observe(_hire(i))
    assert len(m.jobs) == 3 and len(m.hires) == 3  # never more than the cap
    assert m.jobs.dropped == 2 and "J0" in m.jobs and "J1" not in m.jobs
    # an event of a dropped one gets the default region, as after a restart
    assert m.observe(e.WorkCompleted(ts_ms=6, hire_id="J1/W1")) == m.default
