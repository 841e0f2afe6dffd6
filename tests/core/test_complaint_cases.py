"""Complaints as cases (issue 14): steps with a sealed note, 限时办结 deadlines decided by
`Tick` (time as data), the station answering the case, and replay of it all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from engine.authz import Caller
from engine.idnumbers import find_unmasked_pii
from engine.record import decode_record
from engine.state import CLOSED_COMPLAINT_KEEP_MS
from replay.cli import main as replay_main
from sim.callers import OPERATOR
from tests.core.test_complaints import _hire
from tests.support import at

DAY_MS = 86_400_000
STAFF_S1 = Caller(actor_id="staff-1", role="station_staff", region="420602", station_id="S1")
NOTE = "已联系雇主，回电13812341234"


def _file(rt: Runtime, ts: int, kind: str = "wage_arrears", cid: str = "C1") -> e.ComplaintFiled:
    hire_id = next(iter(rt.engine.state.hires))
    res = rt.submit(
        c.FileComplaint(command_id=f"cp-{cid}", ts_ms=ts, complaint_id=cid, kind=kind,  # type: ignore[arg-type]
                        employer_id="E1", hire_id=hire_id, text="未结工资"),
        OPERATOR,
    )  # fmt: skip
    assert res.ok, res.refusal
    return res.events[0]  # type: ignore[return-value]


def _step(rt: Runtime, status: str, ts: int, note: str = "", caller: Caller = STAFF_S1, n: int = 0):
    cmd = c.ChangeComplaintStatus(
        command_id=f"st-{status}-{n}", ts_ms=ts, complaint_id="C1", status=status,  # type: ignore[arg-type]
        staff_id=caller.actor_id, note=note,
    )  # fmt: skip
    return rt.submit(cmd, caller)


def _tick(rt: Runtime, ts: int) -> list[e.Event]:
    res = rt.submit(c.Advance(command_id=f"tk-{ts}", ts_ms=ts))
    assert res.ok, res.refusal
    return res.events


def test_a_case_moves_forward_with_notes_told_to_the_complainant(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        _file(rt, at(13))
        comp = rt.engine.state.complaints["C1"]
        assert (comp.status, comp.station_id, comp.worker_id) == ("open", "S1", "W1")
        res = _step(rt, "accepted", at(14), NOTE)
        assert res.ok, res.refusal
        ev = res.events[0]
        assert isinstance(ev, e.ComplaintStatusChanged) and ev.worker_id == "W1"
        assert find_unmasked_pii(ev.note) == [] and ev.note.startswith("已联系雇主")
        assert rt.unseal_worker("W1", ev.sealed) == {"complaint_note": NOTE}
        record = decode_record(dict(rt.log.read())[res.seq])
        assert record.command.note == ev.note  # type: ignore[index]
        # backwards or repeated steps are refused and change nothing
        for bad in ("accepted",):
            refused = _step(rt, bad, at(15), n=1)
            assert not refused.ok and refused.refusal["rule"] == "forward"  # type: ignore[index]
        assert _step(rt, "investigating", at(15)).ok
        assert _step(rt, "resolved", at(16), "工资已结清").ok
        assert rt.engine.state.complaints["C1"].status == "resolved"
        assert rt.engine.state.live_complaints == 0
        late = _step(rt, "rejected", at(17))
        assert not late.ok and late.refusal["rule"] == "open"  # type: ignore[index]
    raw = b"".join(p.read_bytes() for p in sorted((tmp_path / "log").glob("*.seg")))
    assert b"13812341234" not in raw


def test_only_the_answering_station_or_an_admin_moves_a_case(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        _file(rt, at(13))
        st2 = c.RegisterStation(command_id="st2", ts_ms=at(13), station_id="S2", name="二站",
                                kind="hub", region="420602",
                                location=c.Point(lat=32.02, lng=112.13))  # fmt: skip
        assert rt.submit(st2, OPERATOR).ok
        other = Caller(actor_id="staff-2", role="station_staff", region="420602", station_id="S2")
        res = _step(rt, "accepted", at(14), caller=other)
        assert not res.ok and res.refusal["rule"] == "station"  # type: ignore[index]
        fe = Caller(actor_id="app", role="front_end", region="4206")
        res = _step(rt, "accepted", at(14), caller=fe)
        assert not res.ok and res.refusal["rule"] == "role"  # type: ignore[index]
        assert rt.engine.state.complaints["C1"].status == "open"
        assert _step(rt, "rejected", at(14), caller=OPERATOR).ok


def test_the_deadline_is_the_policys_and_a_tick_decides_it_passed(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        policy = e.Policy(complaint_deadlines=e.ComplaintDeadlines(wage_arrears_days=2))
        assert rt.submit(c.SetPolicy(command_id="pol", ts_ms=at(12), region="4206",
                                     policy=policy), OPERATOR).ok  # fmt: skip
        filed = _file(rt, at(13))
        due = filed.ts_ms + 2 * DAY_MS
        assert rt.engine.state.complaints["C1"].due_ms == due
        assert rt.engine.state.next_due_ms() is not None
        assert _step(rt, "accepted", at(14)).ok
        before = _tick(rt, due - 1)
        assert not any(isinstance(ev, e.ComplaintOverdue) for ev in before)
        after = _tick(rt, due)
        overdue = [ev for ev in after if isinstance(ev, e.ComplaintOverdue)]
        assert [(o.complaint_id, o.due_ms, o.station_id) for o in overdue] == [("C1", due, "S1")]
        assert rt.engine.state.complaints["C1"].overdue
        # a later tick tells nothing twice; the case can still be closed, late
        assert not any(isinstance(ev, e.ComplaintOverdue) for ev in _tick(rt, due + DAY_MS))
        assert _step(rt, "resolved", due + DAY_MS + 1).ok


def test_a_case_closed_in_time_is_never_overdue_and_leaves_the_core_later(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        filed = _file(rt, at(13), kind="safety")  # default: 3 days
        assert rt.engine.state.complaints["C1"].due_ms == filed.ts_ms + 3 * DAY_MS
        assert _step(rt, "resolved", at(20)).ok
        events = _tick(rt, filed.ts_ms + 4 * DAY_MS)
        assert not any(isinstance(ev, e.ComplaintOverdue) for ev in events)
        assert "C1" in rt.engine.state.complaints
        _tick(rt, at(20) + CLOSED_COMPLAINT_KEEP_MS)
        assert "C1" not in rt.engine.state.complaints


def test_a_rejected_case_clears_the_employers_flag(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        _file(rt, at(13))
        assert "wage_arrears" in rt.engine.state.employers["E1"].flags
        res = _step(rt, "rejected", at(14), "经核实工资已付")
        assert res.ok and any(isinstance(ev, e.EmployerCleared) for ev in res.events)


def test_cases_replay_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        filed = _file(rt, at(13))
        assert _step(rt, "accepted", at(14), NOTE).ok
        _tick(rt, filed.ts_ms + 5 * DAY_MS)
        assert _step(rt, "rejected", filed.ts_ms + 6 * DAY_MS).ok
        digest = rt.engine.state.digest()
    assert replay_main(["verify", str(tmp_path / "log"), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["digest"] == digest
    with Runtime(tmp_path) as again:  # recovery folds the log to the same state
        assert again.engine.state.digest() == digest
        assert again.engine.state.complaints["C1"].overdue


def test_a_step_after_the_complainant_was_erased_seals_nothing(tmp_path: Path) -> None:
    with Runtime(tmp_path) as rt:
        _hire(rt)
        _file(rt, at(13))
        erase = c.EraseWorker(command_id="er", ts_ms=at(14), worker_id="W1", reason="本人申请")
        assert rt.submit(erase, OPERATOR).ok
        res = _step(rt, "resolved", at(15), NOTE)
        assert res.ok, res.refusal
        ev = res.events[0]
        assert isinstance(ev, e.ComplaintStatusChanged) and ev.sealed == b""
        assert find_unmasked_pii(ev.note) == []
