"""The live working set over days (issue 12): what stays in the core and what leaves.

- a closed job kept for its hires keeps its offers a day (a late reply is told the offer
  closed), then lets them leave and forgets the rows it offered; its hire still takes a
  payment and a complaint and its agreement still verifies; the job leaves with its
  last hire, one settlement window after the end;
- a snapshot stores the record tables as rows and rebuilds the per-owner id lists and
  the job row -> id list: the restored state has the same digest, the same lists in the
  same order, and decides the rest of the log as the live one did;
- a hire is stored without what its job and worker already say (its id, employer, times
  relative to the job's, the agreement's sha256 as bytes), unless they do not say it.
"""

from __future__ import annotations

import msgspec
import pytest

from engine import commands as c
from engine.agreement import terms_of, terms_sha256
from engine.commands import Refusal
from engine.core import Engine
from engine.events import Policy
from engine.snapshot import HIRE_FIELDS_STORED, restore_state, snapshot_state
from engine.state import CLOSED_OFFER_KEEP_MS, Hire, State
from tests.support import World, at, cid

ID_LISTS = (
    "jobs_by_employer offers_by_job hires_by_worker hires_by_job complaints_by_employer "
    "live_by_worker arrears_open job_ids"
).split()


def _world() -> World:
    w = World()
    w.station("S1")
    w.employer("E1")
    for wid in ("W1", "W2", "W3"):
        w.worker(wid)
    return w


def test_offers_leave_with_their_closed_job_and_the_job_stays_with_its_hire() -> None:
    w = _world()
    w.check_in("W2")
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    assert w.state.jobs["J1"].status == "filled"
    offers = [oid for oid, o in w.state.offers.items() if o.job_id == "J1"]
    assert len(offers) == 2  # W2's was withdrawn when the job filled
    filled_ms = w.now
    w.tick(at(6, 30))  # a late reply is still told the offer closed ...
    late = c.AcceptOffer(command_id=cid(), ts_ms=w.now, offer_id=offers[1], worker_id="W2")
    with pytest.raises(Refusal) as refused:
        w.run(late)
    assert refused.value.rule == "offer_live"
    # ... for a day; then the offers leave while the job stays for its hire
    w.tick(filled_ms + CLOSED_OFFER_KEEP_MS)
    assert not [o for o in w.state.offers.values() if o.job_id == "J1"]
    assert "J1" not in w.state.offers_by_job and not w.state.jobs["J1"].offered_rows
    assert hire_id in w.state.hires and "J1" in w.state.jobs
    # the hire can still change decisions: a payment, a complaint, its agreement
    w.now = at(16) + CLOSED_OFFER_KEEP_MS
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=30000))
    out = w.run(
        c.FileComplaint(
            command_id=cid(),
            ts_ms=w.now,
            complaint_id="C1",
            kind="safety",
            employer_id="E1",
            hire_id=hire_id,
            worker_id="W1",
        )
    )
    assert type(out.events[0]).__name__ == "ComplaintFiled"
    assert w.state.complaints["C1"].station_id == "S1"
    hire = w.state.hires[hire_id]
    terms = terms_of(w.state.jobs["J1"], hire_id, "W1")
    assert terms_sha256(terms) == hire.agreement_sha256
    # one settlement window after the end, the hire leaves and its job with it
    w.tick(at(15) + Policy().settlement_window_ms - 1)
    assert hire_id in w.state.hires
    w.tick(at(15) + Policy().settlement_window_ms)
    assert hire_id not in w.state.hires and "J1" not in w.state.jobs
    _same_when_restored(w)
    _replays_the_same(w)


def _same_when_restored(w: World) -> State:
    restored = restore_state(snapshot_state(w.state))
    assert restored.digest() == w.state.digest()
    for name in ID_LISTS:
        a, b = getattr(w.state, name), getattr(restored, name)
        assert a == b, name
    assert sorted(restored.job_arrays.free) == sorted(w.state.job_arrays.free)
    return restored


def _replays_the_same(w: World) -> None:
    fresh, again = Engine(), Engine()
    for seq, rec in enumerate(w.records, start=1):
        fresh.apply_record(seq, rec)
        assert again.reexecute_record(seq, rec) is None
    assert fresh.digest() == again.digest() == w.state.digest()


def test_a_restored_state_keeps_the_id_lists_and_decides_the_same() -> None:
    w = _world()
    h1 = w.hire("W1", "J1", start=at(7), hours=4, pay=20000)
    h2 = w.hire("W2", "J2", start=at(8), hours=4, pay=20000)
    w.post("J3", heads=2, start=at(13), hours=3)
    w.now = at(12)
    for hire_id in (h1, h2):
        w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
        w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=h1, amount_fen=5000))  # partial
    w.tick(at(12, 30))
    cut = len(w.records)
    snap = snapshot_state(w.state)
    _same_when_restored(w)
    # the rest of the day, decided by the live engine ...
    w.check_in("W3")
    w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=h1, amount_fen=15000))
    w.tick(at(14))
    # ... and re-executed from the snapshot: the same decisions, the same digest
    again = Engine(restore_state(snap))
    for seq, rec in enumerate(w.records[cut:], start=cut + 1):
        assert again.reexecute_record(seq, rec) is None
    assert again.digest() == w.state.digest()
    _same_when_restored(w)


def test_a_hire_that_its_job_and_worker_do_not_explain_is_stored_in_full() -> None:
    w = _world()
    h1 = w.hire("W1", "J1", start=at(7), hours=4, pay=20000)
    h2 = w.hire("W2", "J2", start=at(8), hours=4, pay=20000)
    hires = w.state.hires
    odd = [("0A" * 32, "E9"), ("z" * 64, ""), ("", "E1"), ("ab" * 31 + " a", "E1")]
    for n, (sha, employer_id) in enumerate(odd):
        hires[f"X{n}"] = msgspec.structs.replace(
            hires[h1 if n % 2 else h2],
            hire_id=f"X{n}",
            agreement_sha256=sha,
            employer_id=employer_id or hires[h1].employer_id,
            start_ms=at(9),
        )
    restored = restore_state(snapshot_state(w.state))
    assert list(restored.hires.items()) == list(hires.items())


def test_every_hire_field_is_stored() -> None:
    assert list(Hire.__struct_fields__) == HIRE_FIELDS_STORED
