"""`lingong policy train`: coefficients come from the log's own outcomes and land in the log."""

from __future__ import annotations

from pathlib import Path

from adapters.shell.runtime import ManualClock, Runtime
from engine import events as e
from replay.train import fit, train, training_set
from sim.demo import run_demo
from sim.morning import Sizes

SIZES = Sizes(workers=400, postings=120, employers=20, stations_per_city=4, tick_ms=30_000)


def test_train_records_a_policy_that_the_kernel_then_uses(tmp_path: Path) -> None:
    run_demo(tmp_path, sizes=SIZES, fsync=False)
    with Runtime(tmp_path, fsync=False) as rt:
        records = [(s, e.decode_record(p)) for s, p in rt.log.read()]
    ts = training_set(records)
    # labels recomputed independently: accepted offers whose hire was not a no-show
    accepted = {
        ev.offer_id for _, r in records for ev in r.events if isinstance(ev, e.OfferAccepted)
    }
    assert sum(ts.labels) <= len(accepted) and len(ts.labels) > 100
    coef_dry, figures = fit(ts)
    out = train(tmp_path, weight=0.7, clock=ManualClock(0))  # stamped at the log's last time
    assert out["recorded"] and out["version"] >= 2
    assert tuple(out["coefficients"].values()) == coef_dry  # deterministic
    with Runtime(tmp_path, fsync=False) as rt:
        _, policy = rt.engine.state.policies[""]
        assert policy.acceptance_coef == coef_dry and policy.weights.acceptance == 0.7
        rec = e.decode_record(dict(rt.log.read())[out["seq"]])
        assert isinstance(rec.events[0], e.PolicySet)
    assert figures["samples"] == len(ts.labels)
    assert 0 < figures["accept_rate"] < 1
