"""A core recovered from its records at any point decides what the running core decided.

The runtime recovers by folding records (`Engine.apply_record`), which does not run a
tick's reactions: an entry of the expiry heap that the running core popped and skipped
is still in a recovered core's heap. So a skipped entry must stay skippable, or come back
as the very same entry (`engine.state`, Time). Each case checks every recovery point:
fold the first k records, re-execute the rest, and the recorded decisions come back.
Found by `lingong sim` (seed 910008, invariant reexecute_divergence).
"""

from __future__ import annotations

import pytest

from engine import commands as c
from engine import events as e
from engine.core import Engine
from engine.events import Policy
from tests.support import World, at, cid, kinds, small_market

HOUR_MS = 3_600_000


@pytest.fixture
def w() -> World:
    return small_market()


def recovered_anywhere_decides_the_same(w: World) -> None:
    for k in range(len(w.records) + 1):
        eng = Engine()
        for seq, rec in enumerate(w.records[:k], start=1):
            eng.apply_record(seq, rec)
        for seq, rec in enumerate(w.records[k:], start=k + 1):
            assert eng.reexecute_record(seq, rec) is None, f"recovered after record {k}"
        assert eng.digest() == w.state.digest()


def test_an_arrival_recorded_after_the_wage_fell_due_is_checked_once(w: World) -> None:
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    due = at(15) + Policy().wage_due_ms
    assert "ArrearsOpened" not in kinds(w.tick(due))  # no arrival recorded: no case yet
    w.now = due + HOUR_MS
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    out = w.tick(w.now + 60_000)  # the worker was there and is still unpaid
    opened = [ev for ev in out.events if isinstance(ev, e.ArrearsOpened)]
    assert [(ev.hire_id, ev.reason) for ev in opened] == [(hire_id, "unpaid")]
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    assert "ArrearsOpened" not in kinds(w.tick(w.now + 60_000))  # one case, not two
    recovered_anywhere_decides_the_same(w)


def test_a_posting_held_past_its_expiry_and_published_again_keeps_its_new_expiry(
    w: World,
) -> None:
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    w.now = at(16)
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.post("J2", title="保洁", start=at(23), hours=10)  # expires 8 h on, before its end
    first_expiry = w.state.jobs["J2"].expires_ms
    assert first_expiry < w.state.jobs["J2"].end_ms
    w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=10000))
    assert w.state.jobs["J2"].status == "held"  # the employer's arrears case
    w.tick(first_expiry + 1)  # held, its end still ahead: nothing expires
    assert w.state.jobs["J2"].status == "held"
    w.now = first_expiry + HOUR_MS
    out = w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=20000))
    assert "JobPublished" in kinds(out)
    assert w.state.jobs["J2"].expires_ms > first_expiry
    assert "JobExpired" not in kinds(w.tick(w.now + 60_000))
    out = w.tick(w.state.jobs["J2"].expires_ms)
    assert "JobExpired" in kinds(out)
    recovered_anywhere_decides_the_same(w)
