"""The agreement of a hire and wage protection (issue 14), through the engine.

- accepting an offer records the agreement: its terms and the sha256 of their encoding;
- the agreed total keeps the pay unit (days, hours, pieces);
- completion before the start is refused;
- a payment below the agreement is partial and opens an arrears case that flags the
  employer and holds their live postings; new postings are held too; paying in full
  closes the case, clears the flag and publishes the held postings again;
- a wage-arrears complaint about a worked hire not paid in full opens its case at once
  (reason "complaint"); about a hire paid in full it only flags;
- a worked hire not paid `wage_due_ms` after its end opens a case on a `Tick`; a hire
  with an open case stays in the core past its settlement window, and leaves once paid;
- replaying the records gives the same state, and re-executing them the same decisions.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import commands as c
from engine import events as e
from engine.agreement import agreed_total_fen, terms_sha256
from engine.commands import Refusal
from engine.core import Engine
from engine.events import Policy
from engine.policy import PolicyError, check_policy
from tests.support import World, at, cid, near

DAY_MS = 86_400_000


@pytest.fixture
def w() -> World:
    world = World()
    world.station("S1")
    world.employer("E1")
    world.worker("W1")
    world.worker("W2")
    return world


def kinds(out) -> list[str]:  # noqa: ANN001
    return [type(ev).__name__ for ev in out.events]


def pay(w: World, hire_id: str, fen: int):  # noqa: ANN201
    return w.run(c.PayWage(command_id=cid(), ts_ms=w.now, hire_id=hire_id, amount_fen=fen))


def work(w: World, hire_id: str) -> None:
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    w.run(c.CompleteWork(command_id=cid(), ts_ms=w.now, hire_id=hire_id))


def replays_the_same(w: World) -> None:
    fresh, again = Engine(), Engine()
    for seq, rec in enumerate(w.records, start=1):
        fresh.apply_record(seq, rec)
        assert again.reexecute_record(seq, rec) is None
    assert fresh.digest() == again.digest() == w.state.digest()


def test_agreed_totals_keep_the_unit() -> None:
    start = at(7)
    assert agreed_total_fen(30000, "day", start, start + 10 * 3_600_000, 0) == 30000
    assert agreed_total_fen(30000, "day", start, start + DAY_MS + 3_600_000, 0) == 60000
    assert agreed_total_fen(2500, "hour", start, start + 8 * 3_600_000, 0) == 20000
    assert agreed_total_fen(2500, "hour", start, start + 90 * 60_000, 0) == 3750
    assert agreed_total_fen(50, "piece", start, start + 3_600_000, 400) == 20000
    assert agreed_total_fen(50, "piece", start, start + 3_600_000, 0) == 0


def test_accepting_records_the_agreement_with_its_hash(w: World) -> None:
    w.worker("W3", min_pay_fen=0)  # a piece rate's daily figure is the rate itself
    w.check_in("W3")
    out = w.run(
        c.SubmitJob(
            command_id=cid(),
            ts_ms=w.now,
            job_id="J1",
            employer_id="E1",
            station_id="S1",
            title="仓库分拣",
            description="分拣快递包裹，按件计酬",
            skill="moving",
            headcount=1,
            pay_fen=50,
            pay_unit="piece",
            expected_pieces=800,
            start_ms=at(7),
            end_ms=at(15),
            location=near(100, 100),
            address="襄阳市樊城区物流园3号库",
            insurance_payer="employer",
            insurance_policy_no="PICC-2026-0001",
        )
    )
    offer = next(ev for ev in out.events if isinstance(ev, e.OfferMade))
    out = w.accept(offer.offer_id, "W3")
    agreement = next(ev for ev in out.events if isinstance(ev, e.AgreementRecorded))
    t = agreement.terms
    assert (t.hire_id, t.worker_id, t.employer_id, t.station_id) == ("J1/W3", "W3", "E1", "S1")
    assert (t.pay_fen, t.pay_unit, t.expected_pieces, t.agreed_total_fen) == (
        50,
        "piece",
        800,
        40000,
    )
    assert (t.duties, t.address) == ("分拣快递包裹，按件计酬", "襄阳市樊城区物流园3号库")
    assert (t.insurance_payer, t.insurance_policy_no) == ("employer", "PICC-2026-0001")
    assert agreement.sha256 == terms_sha256(t) and len(agreement.sha256) == 64
    hire = w.state.hires["J1/W3"]
    assert (hire.agreed_fen, hire.agreement_sha256) == (40000, agreement.sha256)
    replays_the_same(w)


def test_completion_before_the_start_is_refused(w: World) -> None:
    hire_id = w.hire("W1", "J1", start=at(7), hours=8)
    w.run(c.ConfirmArrival(command_id=cid(), ts_ms=w.now, hire_id=hire_id))
    with pytest.raises(Refusal) as err:
        w.run(c.CompleteWork(command_id=cid(), ts_ms=at(6, 59), hire_id=hire_id))
    assert (err.value.field, err.value.rule) == ("hire_id", "after_start")
    assert w.state.hires[hire_id].status == "arrived"  # nothing changed
    w.run(c.CompleteWork(command_id=cid(), ts_ms=at(7), hire_id=hire_id))
    assert w.state.hires[hire_id].status == "completed"


def test_partial_pay_opens_a_case_that_holds_the_employer_until_paid(w: World) -> None:
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    w.check_in("W2")
    out = w.post("J2", title="保洁", start=at(17), hours=4)
    assert any(isinstance(ev, e.OfferMade) and ev.worker_id == "W2" for ev in out.events)
    w.now = at(16)
    work(w, hire_id)
    out = pay(w, hire_id, 10000)
    paid = out.events[0]
    assert isinstance(paid, e.WagePaid) and paid.partial
    opened = next(ev for ev in out.events if isinstance(ev, e.ArrearsOpened))
    assert (opened.reason, opened.agreed_fen, opened.paid_fen) == ("partial", 30000, 10000)
    assert opened.station_id == "S1" and opened.case_id == hire_id + "/arrears"
    assert "EmployerFlagged" in kinds(out)
    withdrawn = {ev.reason for ev in out.events if isinstance(ev, e.OfferWithdrawn)}
    assert withdrawn == {"job_held"} and not w.state.jobs["J2"].live_offers
    held = [ev for ev in out.events if isinstance(ev, e.JobHeldForReview)]
    assert [(h.job_id, h.reasons) for h in held] == [("J2", ("arrears_case",))]
    assert w.state.jobs["J2"].status == "held" and w.state.jobs["J2"].row == -1
    # a new posting is held too (the flag), and a second partial payment opens nothing new
    out = w.post("J3", title="装卸", start=at(17), hours=3)
    assert kinds(out)[:2] == ["JobSubmitted", "JobHeldForReview"]
    out = pay(w, hire_id, 5000)
    assert kinds(out) == ["WagePaid"] and out.events[0].partial
    assert w.state.arrears[opened.case_id].paid_fen == 15000
    # paid in full: the case closes, the flag clears, held postings are published again
    out = pay(w, hire_id, 15000)
    assert not out.events[0].partial
    assert kinds(out)[:3] == ["WagePaid", "ArrearsClosed", "EmployerCleared"]
    published = [ev.job_id for ev in out.events if isinstance(ev, e.JobPublished)]
    assert published == ["J2", "J3"]
    assert w.state.arrears[opened.case_id].status == "closed"
    assert not w.state.arrears_open and not w.state.employers["E1"].flags
    replays_the_same(w)


def test_a_worked_hire_unpaid_by_the_due_time_opens_a_case(w: World) -> None:
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    w.now = at(16)
    work(w, hire_id)
    due = at(15) + Policy().wage_due_ms
    assert "ArrearsOpened" not in kinds(w.tick(due - 1))
    out = w.tick(due)
    opened = next(ev for ev in out.events if isinstance(ev, e.ArrearsOpened))
    assert (opened.reason, opened.paid_fen) == ("unpaid", 0)
    # past the settlement window the hire stays while its case is open ...
    w.tick(at(15) + Policy().settlement_window_ms + 1)
    assert hire_id in w.state.hires
    out = pay(w, hire_id, 30000)
    assert "ArrearsClosed" in kinds(out)
    # ... and leaves once paid, with its closed case
    w.tick(w.now + Policy().settlement_window_ms + 1)
    assert hire_id not in w.state.hires and not w.state.arrears
    replays_the_same(w)


def complain(w: World, hire_id: str, worker_id: str, complaint_id: str):  # noqa: ANN201
    return w.run(
        c.FileComplaint(
            command_id=cid(),
            ts_ms=w.now,
            complaint_id=complaint_id,
            kind="wage_arrears",
            employer_id="E1",
            hire_id=hire_id,
            worker_id=worker_id,
            text="干完活没给钱",
        )  # fmt: skip
    )


def test_a_wage_complaint_about_an_unpaid_hire_opens_its_case(w: World) -> None:
    unpaid_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    paid_id = w.hire("W2", "J2", start=at(7), hours=8, pay=30000, title="保洁")
    w.now = at(16)
    work(w, unpaid_id)
    work(w, paid_id)
    pay(w, paid_id, 30000)
    out = w.post("J3", title="装卸", start=at(18), hours=3)
    assert w.state.jobs["J3"].status == "open"
    # about the paid hire: the employer is flagged, no case (the records say paid)
    out = complain(w, paid_id, "W2", "C1")
    assert "ArrearsOpened" not in kinds(out) and "EmployerFlagged" in kinds(out)
    # about the unpaid hire, before it is due: the case opens now and holds J3
    out = complain(w, unpaid_id, "W1", "C2")
    opened = next(ev for ev in out.events if isinstance(ev, e.ArrearsOpened))
    assert (opened.reason, opened.hire_id, opened.station_id) == ("complaint", unpaid_id, "S1")
    held = [ev for ev in out.events if isinstance(ev, e.JobHeldForReview)]
    assert [(h.job_id, h.reasons) for h in held] == [("J3", ("arrears_case",))]
    # the due time passes: no second case; paying in full closes it
    assert "ArrearsOpened" not in kinds(w.tick(at(15) + Policy().wage_due_ms))
    assert "ArrearsClosed" in kinds(pay(w, unpaid_id, 30000))
    replays_the_same(w)


def test_a_paid_hire_or_one_never_worked_opens_no_case(w: World) -> None:
    paid_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    idle_id = w.hire("W2", "J2", start=at(7), hours=8, pay=30000, title="保洁")
    w.now = at(16)
    work(w, paid_id)
    assert kinds(pay(w, paid_id, 30000)) == ["WagePaid"]
    out = w.tick(at(15) + Policy().wage_due_ms)
    assert "ArrearsOpened" not in kinds(out)
    assert w.state.hires[idle_id].status == "confirmed"


def test_wage_due_must_fall_inside_the_settlement_window() -> None:
    with pytest.raises(PolicyError) as err:
        check_policy(Policy(wage_due_ms=7 * DAY_MS, settlement_window_ms=7 * DAY_MS))
    assert err.value.field == "wage_due_ms"
    check_policy(Policy(wage_due_ms=2 * DAY_MS, settlement_window_ms=7 * DAY_MS))


def test_the_station_is_told_on_its_region_subject(w: World) -> None:
    """The NATS publisher carries ArrearsOpened (with the collecting station) and the
    agreement on the subjects of the job's region, where the station's consoles listen."""
    from adapters.nats.cloudevents import RegionMap, event_subject

    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    w.now = at(16)
    work(w, hire_id)
    pay(w, hire_id, 100)
    regions = RegionMap()
    subjects = {}
    for rec in w.records:
        for ev in rec.events:
            subjects[type(ev).__name__] = (
                event_subject(regions.observe(ev), type(ev).__name__),
                ev,
            )
    subject, opened = subjects["ArrearsOpened"]
    assert subject == "lingong.evt.42.4206.420602.ArrearsOpened" and opened.station_id == "S1"
    assert subjects["AgreementRecorded"][0] == "lingong.evt.42.4206.420602.AgreementRecorded"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("pay"), st.sampled_from([1000, 5000, 10000, 20000, 30000])),
            st.tuples(st.just("days"), st.integers(1, 5)),
        ),
        max_size=8,
    ),
    worked=st.booleans(),
)
def test_any_payments_and_days_keep_the_case_true_to_the_money(steps, worked) -> None:  # noqa: ANN001
    """Whatever is paid and whenever: a case is open exactly while a worked hire is owed
    money after a partial payment or its due time; the employer is held while one is
    open; replaying the records gives the same state and decisions."""
    w = World()
    w.station("S1")
    w.employer("E1")
    w.worker("W1")
    w.worker("W2")
    hire_id = w.hire("W1", "J1", start=at(7), hours=8, pay=30000)
    w.post("J2", title="保洁", start=at(7) + 10 * DAY_MS, hours=4)
    w.now = at(16)
    if worked:
        work(w, hire_id)
    due = at(15) + Policy().wage_due_ms
    ever_partial = False
    for kind, value in steps:
        if kind == "pay":
            try:
                out = pay(w, hire_id, value)
            except Refusal as ref:
                assert not worked or hire_id not in w.state.hires, ref
                continue
            ever_partial = ever_partial or out.events[0].partial
        else:
            w.tick(w.now + value * DAY_MS)
        hire = w.state.hires.get(hire_id)
        if hire is None:  # left the core: only once paid (or never worked)
            assert not w.state.arrears_open
            continue
        owed = hire.paid_fen < 30000
        should = worked and owed and (ever_partial or w.now >= due)
        assert bool(hire.arrears_case) == should
        assert bool(w.state.arrears_open.get("E1")) == should
        j2 = w.state.jobs.get("J2")
        if should and j2 is not None:
            assert j2.status != "open"  # held while the case is open (or expired)
    replays_the_same(w)
