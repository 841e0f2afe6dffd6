"""Complaint text may hold the worker's contact details: it is sealed under the worker's
key, the log keeps it masked, and erasing the worker makes it unreadable (PIPL art. 47)."""

from __future__ import annotations

from pathlib import Path

from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from engine.idnumbers import find_unmasked_pii
from engine.record import decode_record
from sim.callers import OPERATOR
from tests.support import at, near

TEXT = "老板拖欠工资，请打我电话13812341234，身份证11010519491231002X"


def _hire(rt: Runtime) -> str:
    def ok(cmd: c.Command) -> list[e.Event]:
        res = rt.submit(cmd, OPERATOR)
        assert res.ok, res.refusal
        return res.events

    ok(c.RegisterStation(command_id="st", ts_ms=at(5), station_id="S1", name="站", kind="hub",
                         region="420602", location=near()))  # fmt: skip
    ok(c.ChangeStationStatus(command_id="ap", ts_ms=at(5), station_id="S1", status="approved"))
    ok(c.RegisterEmployer(command_id="em", ts_ms=at(5), employer_id="E1", kind="person",
                          name="王五", region="420602"))  # fmt: skip
    ok(c.RegisterWorker(command_id="wk", ts_ms=at(5), worker_id="W1", region="420602",
                        personal=c.Personal(mobile="13812341234"), birth_year=1970,
                        skills=("moving",), min_pay_fen=10000, home=near(), station_id="S1"))  # fmt: skip
    ok(c.CheckIn(command_id="ci", ts_ms=at(5), worker_id="W1", station_id="S1"))
    made = ok(c.SubmitJob(command_id="jb", ts_ms=at(5), job_id="J1", employer_id="E1",
                          station_id="S1", title="搬家", skill="moving", headcount=1,
                          pay_fen=30000, start_ms=at(7), end_ms=at(12), location=near(50, 50)))  # fmt: skip
    offer = next(ev for ev in made if isinstance(ev, e.OfferMade))
    hired = ok(c.AcceptOffer(command_id="ac", ts_ms=at(5), offer_id=offer.offer_id, worker_id="W1"))
    return next(ev.hire_id for ev in hired if isinstance(ev, e.HireConfirmed))


def test_complaint_text_is_sealed_masked_in_the_log_and_erased_with_the_worker(
    tmp_path: Path,
) -> None:
    with Runtime(tmp_path) as rt:
        hire_id = _hire(rt)
        res = rt.submit(
            c.FileComplaint(command_id="cp", ts_ms=at(13), complaint_id="C1", kind="wage_arrears",
                            employer_id="E1", hire_id=hire_id, text=TEXT),
            OPERATOR,
        )  # fmt: skip
        assert res.ok, res.refusal
        filed = res.events[0]
        assert isinstance(filed, e.ComplaintFiled) and filed.worker_id == "W1"
        assert find_unmasked_pii(filed.text) == [] and filed.text.startswith("老板拖欠工资")
        assert rt.unseal_worker("W1", filed.sealed) == {"complaint_text": TEXT}
        record = decode_record(dict(rt.log.read())[res.seq])
        assert isinstance(record.command, c.FileComplaint)
        assert record.command.text == filed.text  # the recorded command keeps it masked
        erase = c.EraseWorker(command_id="er", ts_ms=at(14), worker_id="W1", reason="本人申请")
        assert rt.submit(erase, OPERATOR).ok
        assert rt.unseal_worker("W1", filed.sealed) is None
    raw = b"".join(p.read_bytes() for p in sorted((tmp_path / "log").glob("*.seg")))
    assert b"13812341234" not in raw and b"11010519491231002X" not in raw
    assert find_unmasked_pii(raw.decode("utf-8", errors="replace")) == []
