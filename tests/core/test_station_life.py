"""A station's life (engine.station_life): application, conditions, review, approval,
备案 by distinct accounts, 限期整改 with a deadline, revocation and what it takes down.
Every test replays its records and checks the fold gives the same state digest."""

from __future__ import annotations

import msgspec
import pytest

from engine import commands as c
from engine import events as e
from engine.authz import Caller
from engine.commands import Refusal
from engine.core import Engine, Outcome
from engine.events import Policy
from engine.station_life import DAY_MS, conditions, open_minutes
from replay.verify import check_record
from tests.support import World, at, cid, near

REGION = "420602"
APPLICANT = Caller(actor_id="acct-apply", role="front_end", region="4206")
REVIEWER = Caller(actor_id="acct-review", role="admin", region="420602")
APPROVER = Caller(actor_id="acct-approve", role="admin", region="420602")
FILER = Caller(actor_id="acct-file", role="admin", region="4206")
INSPECTOR = Caller(actor_id="acct-inspect", role="admin", region="4206")
CHECKER = Caller(actor_id="acct-check", role="admin", region="4206")
REVOKER = Caller(actor_id="acct-revoke", role="admin", region="4206")

GOOD = {
    "area_m2": 40,
    "hotline": "0710-3611234",
    "open_min": 7 * 60,
    "close_min": 17 * 60,
    "services": ("registration", "posting", "training_signup", "policy_advice", "first_aid"),
    "staff_count": 2,
}


def world(policy: Policy | None = None) -> World:
    w = World(policy)
    w.station("H0", kind="hub")  # a 驿站 needs a parent
    return w


def apply(w: World, sid: str = "P1", *, kind: str = "post", parent: str = "H0", **over) -> Outcome:
    fields = {**GOOD, **over}
    return w.run(
        c.ApplyStation(
            command_id=cid(),
            ts_ms=w.now,
            station_id=sid,
            name=f"驿站{sid}",
            kind=kind,
            parent_id=parent,
            region=REGION,
            location=near(200, 0),
            address="襄城区檀溪路1号",
            head=c.Personal(name="王建国", mobile="13912345678"),
            by=APPLICANT.actor_id,
            **fields,
        ),
        APPLICANT,
    )


def step(w: World, cls: type, caller: Caller, sid: str = "P1", **kw) -> Outcome:
    return w.run(
        cls(command_id=cid(), ts_ms=w.now, station_id=sid, by=caller.actor_id, **kw), caller
    )


def life_to_filed(w: World, sid: str = "P1", **over) -> None:
    apply(w, sid, **over)
    step(w, c.ReviewStation, REVIEWER, sid, passed=True)
    step(w, c.ApproveStation, APPROVER, sid)
    step(w, c.FileStation, FILER, sid, filing_no="襄就备〔2026〕1号")


def replayed_digest(w: World) -> str:
    other = Engine()
    for seq, rec in enumerate(w.records, start=1):
        other.apply_record(seq, rec)
    return other.digest()


def reexecuted(w: World) -> None:
    """Every recorded fact comes back from its recorded command, every decision again
    (`replay verify`'s check of one record)."""
    other = Engine()
    for seq, rec in enumerate(w.records, start=1):
        assert check_record(other, seq, rec, check_facts=True) is None, seq
    assert other.digest() == w.engine.digest()


def test_application_carries_materials_masked_and_is_checked() -> None:
    w = world()
    out = apply(w)
    reg, checked = out.events
    assert isinstance(reg, e.StationRegistered) and isinstance(checked, e.StationChecked)
    assert reg.applicant == "acct-apply" and reg.head_masked == "王**"
    assert "王建国" not in msgspec.json.encode(reg).decode()
    assert "13912345678" not in msgspec.json.encode(out.events).decode()
    assert out.personal == {"station:P1": {"head_name": "王建国", "head_mobile": "13912345678"}}
    assert checked.failures == ()
    assert w.state.stations["P1"].status == "applied"
    reexecuted(w)


def test_conditions_named_in_chinese_and_review_refused() -> None:
    w = world()
    out = apply(w, area_m2=20, hotline="", open_min=0, close_min=0, staff_count=0, services=())
    failures = out.events[1].failures
    assert failures[0] == "服务场所面积20平方米，低于驿站要求的30平方米"
    assert "未公布服务热线" in failures and "未填写开放时间" in failures
    assert "工作人员0人，少于要求的1人" in failures
    assert failures[-1] == "缺少服务项目：求职登记、信息发布、培训报名、政策咨询"
    with pytest.raises(Refusal) as exc:
        step(w, c.ReviewStation, REVIEWER, passed=True)
    assert exc.value.rule == "station_conditions" and "低于驿站要求的30平方米" in exc.value.message
    with pytest.raises(Refusal) as exc:
        step(w, c.ReviewStation, REVIEWER, passed=False)
    assert (exc.value.field, exc.value.rule) == ("note", "required")
    out = step(w, c.ReviewStation, REVIEWER, passed=False, note="面积不足")
    assert out.events[0].status == "returned"
    with pytest.raises(Refusal):
        step(w, c.ApproveStation, APPROVER)
    reexecuted(w)


def test_hub_conditions_from_the_policy() -> None:
    hub = Policy().hub_conditions
    assert hub.min_area_m2 == 150  # Linfen 三(一)
    got = conditions(
        Policy(), kind="hub", area_m2=150, hotline="12333", open_min=480, close_min=1020,
        services=hub.services, staff_count=2,
    )  # fmt: skip
    assert got == ()
    assert open_minutes(22 * 60, 6 * 60) == 480 and open_minutes(0, 0) == 0
    strict = Policy(post_conditions=e.StationConditions(min_area_m2=80))
    w = world(strict)
    assert "低于驿站要求的80平方米" in apply(w).events[1].failures[0]


def test_review_approval_filing_by_distinct_accounts() -> None:
    w = world()
    apply(w)
    for caller in (APPLICANT,):  # the applicant may not review its own application
        with pytest.raises(Refusal) as exc:
            step(w, c.ReviewStation, Caller(actor_id=caller.actor_id, role="admin", region="42"),
                 passed=True)  # fmt: skip
        assert exc.value.rule == "distinct_accounts"
    step(w, c.ReviewStation, REVIEWER, passed=True)
    assert w.state.stations["P1"].status == "reviewed"
    with pytest.raises(Refusal) as exc:
        step(w, c.ApproveStation, REVIEWER)
    assert (exc.value.field, exc.value.rule) == ("by", "distinct_accounts")
    assert "已办理本站的“审核”" in exc.value.message
    step(w, c.ApproveStation, APPROVER)
    assert w.state.stations["P1"].status == "approved"
    for caller in (REVIEWER, APPROVER):
        with pytest.raises(Refusal) as exc:
            step(w, c.FileStation, caller, filing_no="X1")
        assert exc.value.rule == "distinct_accounts"
    out = step(w, c.FileStation, FILER, filing_no="襄就备〔2026〕1号")
    ev = out.events[0]
    assert (ev.step, ev.by, ev.filing_no, ev.status) == (
        "filing",
        "acct-file",
        "襄就备〔2026〕1号",
        "approved",
    )
    with pytest.raises(Refusal) as exc:
        step(w, c.FileStation, INSPECTOR, filing_no="again")
    assert exc.value.rule == "not_filed"
    assert w.state.stations["P1"].accounts == {
        "apply": "acct-apply", "review": "acct-review", "approval": "acct-approve",
        "filing": "acct-file",
    }  # fmt: skip
    reexecuted(w)


def test_by_must_be_the_caller() -> None:
    w = world()
    apply(w)
    with pytest.raises(Refusal) as exc:
        w.run(c.ReviewStation(command_id=cid(), ts_ms=w.now, station_id="P1", passed=True,
                              by="someone-else"), REVIEWER)  # fmt: skip
    assert (exc.value.field, exc.value.rule) == ("by", "actor")
    staff = Caller(actor_id="st", role="station_staff", region="4206", station_id="P1")
    with pytest.raises(Refusal) as exc:
        step(w, c.ApproveStation, staff)
    assert exc.value.rule == "role"


def test_rectified_in_time_back_to_approved() -> None:
    w = world()
    life_to_filed(w)
    out = step(w, c.OrderRectification, INSPECTOR, items="热线无人接听；急救药箱缺失", days=15)
    ev = out.events[0]
    assert ev.status == "rectifying" and ev.due_ms == w.now + 15 * DAY_MS
    assert w.state.next_due_ms() == ev.due_ms
    with pytest.raises(Refusal) as exc:  # the one who ordered it does not confirm it
        step(w, c.ConfirmRectification, INSPECTOR)
    assert exc.value.rule == "distinct_accounts"
    w.tick(w.now + 14 * DAY_MS)
    assert w.state.stations["P1"].status == "rectifying"
    out = step(w, c.ConfirmRectification, CHECKER, note="已整改")
    assert out.events[0].status == "approved"
    w.tick(ev.due_ms + 1)  # the deadline passes: nothing happens now
    assert w.state.stations["P1"].status == "approved"
    reexecuted(w)


def test_order_longer_than_policy_refused() -> None:
    w = world()
    life_to_filed(w)
    with pytest.raises(Refusal) as exc:
        step(w, c.OrderRectification, INSPECTOR, items="x", days=91)
    assert (exc.value.field, exc.value.rule) == ("days", "max_rectify_days")


def _tree(w: World, jobs: bool = True) -> None:
    """Hub H (filed) > branch B > post P (all through the life cycle); a job at each."""
    w.station("H", kind="hub")
    life_to_filed(w, "B", kind="branch", parent="H", area_m2=80, staff_count=3,
                  open_min=360, close_min=1080,
                  services=("registration", "posting", "training_signup", "policy_advice",
                            "rest_area"))  # fmt: skip
    apply(w, "P", parent="B")
    step(w, c.ReviewStation, REVIEWER, "P", passed=True)
    step(w, c.ApproveStation, APPROVER, "P")
    w.employer()
    w.worker("W1")
    w.worker("W2")
    if jobs:
        _jobs(w)


def _jobs(w: World) -> None:
    w.check_in("W2", "P")
    w.post("JB", sid="B")
    w.post("JP", sid="P", title="装卸工")


def test_missed_deadline_revokes_and_takes_down_below_default_policy() -> None:
    w = world()
    _tree(w, jobs=False)
    due = step(w, c.OrderRectification, INSPECTOR, "B", items="无工作人员值守", days=7).events[0]
    w.tick(due.due_ms - 1)
    assert w.state.stations["B"].status == "rectifying"  # still serving while rectifying
    _jobs(w)
    assert w.state.jobs["JB"].status == "open" and w.state.jobs["JP"].status == "open"
    out = w.tick(due.due_ms)
    kinds = [
        (type(ev).__name__, getattr(ev, "station_id", getattr(ev, "job_id", "")))
        for ev in out.events
    ]
    revoked = out.events[1]
    assert (revoked.station_id, revoked.status, revoked.step, revoked.by) == (
        "B",
        "revoked",
        "deadline_missed",
        "",
    )
    assert ("JobCancelled", "JB") in kinds and ("JobCancelled", "JP") in kinds
    child = next(
        ev for ev in out.events if isinstance(ev, e.StationStatusChanged) and ev.station_id == "P"
    )
    assert (child.status, child.step, child.reason) == (
        "suspended",
        "parent_revoked",
        "上级站点B已撤销",
    )
    assert any(isinstance(ev, e.WorkerCheckedOut) and ev.worker_id == "W2" for ev in out.events)
    assert w.state.stations["P"].status == "suspended"
    assert w.state.stations["H"].status == "approved"
    assert replayed_digest(w) == w.engine.digest()
    reexecuted(w)


def test_revocation_by_an_account_policy_revokes_children_holds_postings() -> None:
    w = world(Policy(revoked_children="revoked", revoked_postings="held"))
    _tree(w)
    out = step(w, c.RevokeStation, REVOKER, "B", reason="严重违规")
    assert (out.events[0].by, out.events[0].step) == ("acct-revoke", "revocation")
    held = [ev.job_id for ev in out.events if isinstance(ev, e.JobHeldForReview)]
    assert held == ["JB", "JP"]
    assert not any(isinstance(ev, e.JobCancelled) for ev in out.events)
    assert w.state.stations["P"].status == "revoked"
    assert w.state.jobs["JP"].status == "held"
    from engine.reasons import reasons_text

    assert reasons_text(w.state.jobs["JP"].hold_reasons) == ["采集站点已撤销，岗位暂停推送，待审核"]
    assert w.state.open_jobs.rows().size == 0  # held postings get no offers
    with pytest.raises(Refusal):
        w.post("JX", sid="P")
    assert replayed_digest(w) == w.engine.digest()
    reexecuted(w)


def test_old_admin_path_still_works_and_revocation_cascades() -> None:
    w = world()
    w.station("H", kind="hub")
    w.station("B", kind="branch", parent="H")
    w.station("P", kind="post", parent="B")
    out = w.run(c.ChangeStationStatus(command_id=cid(), ts_ms=at(6), station_id="H",
                                      status="revoked", reason="撤销"))  # fmt: skip
    changed = [
        (ev.station_id, ev.status) for ev in out.events if isinstance(ev, e.StationStatusChanged)
    ]
    assert changed == [("H", "revoked"), ("B", "suspended"), ("P", "suspended")]
    reexecuted(w)


def test_held_postings_of_a_suspended_child_are_published_after_reinstatement() -> None:
    """Policy "held": the 驿站's open posting is held (no offers); the 驿站 is reinstated by
    an admin and its staff review the posting, which is published and offered again."""
    w = world(Policy(revoked_postings="held"))
    _tree(w)
    step(w, c.RevokeStation, REVOKER, "B", reason="严重违规")
    assert (w.state.stations["P"].status, w.state.jobs["JP"].status) == ("suspended", "held")
    w.run(c.ChangeStationStatus(command_id=cid(), ts_ms=w.now, station_id="P", status="approved"))
    w.check_in("W1", "P")
    out = w.run(c.ReviewJob(command_id=cid(), ts_ms=w.now, job_id="JP", staff_id="staff-p",
                            station_id="P", approve=True))  # fmt: skip
    assert isinstance(out.events[1], e.JobPublished)
    assert any(isinstance(ev, e.OfferMade) for ev in out.events)
    assert w.state.jobs["JP"].status == "open"
    assert replayed_digest(w) == w.engine.digest()
    reexecuted(w)


def test_a_snapshot_keeps_the_deadline() -> None:
    from engine.snapshot import restore_state, snapshot_state

    w = world()
    life_to_filed(w)
    due = step(w, c.OrderRectification, INSPECTOR, items="无人值守", days=5).events[0].due_ms
    restored = Engine(restore_state(snapshot_state(w.state)))
    assert restored.digest() == w.engine.digest()
    out = restored.execute(c.Advance(command_id=cid(), ts_ms=due))
    assert [(ev.station_id, ev.status) for ev in out.events[1:]] == [("P1", "revoked")]


def test_a_step_out_of_order_is_refused_in_chinese() -> None:
    w = world()
    apply(w)
    with pytest.raises(Refusal) as exc:
        step(w, c.FileStation, FILER, filing_no="X")
    assert exc.value.rule == "station_transition"
    assert exc.value.message == "站点当前已申报待审核，不能办理备案（须为：已批准、限期整改中）"
    before = w.engine.digest()
    with pytest.raises(Refusal):
        step(w, c.ConfirmRectification, CHECKER)
    assert w.engine.digest() == before  # a refusal changes nothing
