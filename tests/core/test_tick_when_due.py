"""The runtime appends a Tick only when the engine has something due."""

from __future__ import annotations

from pathlib import Path

from adapters.shell.runtime import ManualClock, Runtime
from tests.support import World, at, near


def test_due_tick_only_when_something_is_due(tmp_path: Path) -> None:
    clock = ManualClock(at(5))
    with Runtime(tmp_path, fsync=False, clock=clock) as rt:
        assert rt.engine.state.next_due_ms() is None
        assert rt.due_tick_command() is None  # an idle engine: no Tick record
        w = World()
        w.station("S1")
        w.employer("E1")
        w.worker("W1", where=near(0, 0))
        w.check_in("W1")
        offer = next(ev for ev in w.post("J1").events if type(ev).__name__ == "OfferMade")
        state = w.state
        assert state.next_due_ms() == offer.expires_ms  # the earliest thing due
        rt.engine = w.engine
        assert rt.due_tick_command(offer.expires_ms - 1) is None
        cmd = rt.due_tick_command(offer.expires_ms)
        assert cmd is not None and cmd.ts_ms == offer.expires_ms
