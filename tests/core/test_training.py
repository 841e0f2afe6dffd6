"""Training sessions and policy Q&A (issue 15): the rules, who may do what, and that the
log replays and verifies to the live state."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from adapters.shell.runtime import Runtime
from engine import commands as c
from engine import events as e
from engine.authz import SYSTEM, Caller
from engine.snapshot import restore_state, snapshot_state
from replay.rebuild import rebuild
from replay.verify import verify
from sim.callers import OPERATOR
from tests.support import at, near

STAFF = Caller(actor_id="staff-S1", role="station_staff", region="4206", station_id="S1")
STAFF2 = Caller(actor_id="staff-S2", role="station_staff", region="4206", station_id="S2")
APP = Caller(actor_id="app", role="front_end", region="4206")
SMS = Caller(actor_id="sms-gateway", role="sms_gateway", region="4206")
AUDITOR = Caller(actor_id="aud", role="auditor", region="4206")
OTHER = Caller(actor_id="app-wh", role="front_end", region="4201")


def ok(rt: Runtime, cmd: c.Command, caller: Caller = OPERATOR) -> list[e.Event]:
    res = rt.submit(cmd, caller)
    assert res.ok, res.refusal
    return res.events


def refused(rt: Runtime, cmd: c.Command, caller: Caller, rule: str, field: str = "") -> None:
    res = rt.submit(cmd, caller)
    assert not res.ok, type(cmd).__name__
    assert res.refusal["rule"] == rule, res.refusal
    if field:
        assert res.refusal["field"] == field, res.refusal


def world(rt: Runtime) -> None:
    for sid in ("S1", "S2"):
        ok(rt, c.RegisterStation(command_id=f"st-{sid}", ts_ms=at(5), station_id=sid,
                                 name=f"{sid}站", kind="hub", region="420602", location=near()))  # fmt: skip
        ok(rt, c.ChangeStationStatus(command_id=f"ap-{sid}", ts_ms=at(5), station_id=sid,
                                     status="approved"))  # fmt: skip
    for wid in ("W1", "W2", "W3"):
        ok(rt, c.RegisterWorker(command_id=f"wk-{wid}", ts_ms=at(5), worker_id=wid,
                                region="420602", personal=c.Personal(mobile="13812341234"),
                                birth_year=1970, skills=("moving",), min_pay_fen=10000,
                                home=near(), station_id="S1"))  # fmt: skip


def training(tid: str = "T1", capacity: int = 2, **kw) -> c.PublishTraining:
    fields = dict(command_id=f"pt-{tid}", ts_ms=at(6), training_id=tid, station_id="S1",
                  title="叉车安全操作培训", skill="4-02-05-01", start_ms=at(9), end_ms=at(12),
                  capacity=capacity, address="襄城区人民路1号", staff_id="staff-S1")  # fmt: skip
    fields.update(kw)
    return c.PublishTraining(**fields)


def sign(wid: str, channel: str, tid: str = "T1", t: int = at(7)) -> c.SignUpTraining:
    return c.SignUpTraining(command_id=f"su-{tid}-{wid}-{channel}", ts_ms=t, training_id=tid,
                            worker_id=wid, channel=channel)  # fmt: skip


def test_training_life_rules_and_scope(tmp_path: Path):
    with Runtime(tmp_path) as rt:
        world(rt)
        refused(rt, training(staff_id="staff-S1"), APP, "role")  # front ends do not publish
        refused(rt, training(station_id="S1", staff_id="staff-S2"), STAFF2, "station")
        refused(rt, training(end_ms=at(8)), STAFF, "after_start", "end_ms")
        refused(rt, training(skill="nosuchskill"), STAFF, "occupation_code_unknown", "skill")
        refused(rt, training(title="报名请打13812341234"), STAFF, "no_personal_data", "title")
        (pub,) = ok(rt, training(), STAFF)
        assert isinstance(pub, e.TrainingPublished) and pub.region == "420602"
        refused(rt, training(command_id="pt-again"), STAFF, "unique", "training_id")
        # the channel is the caller's: counter (staff), app (front end), SMS (gateway)
        refused(rt, sign("W1", "app"), STAFF, "channel", "channel")
        refused(rt, sign("W1", "counter"), STAFF2, "station", "training_id")
        refused(rt, sign("W1", "app"), OTHER, "region", "training_id")
        refused(rt, sign("W1", "app"), AUDITOR, "role")
        ok(rt, sign("W1", "counter"), STAFF)
        ok(rt, sign("W2", "sms"), SMS)
        refused(rt, sign("W1", "app", t=at(7, 5)), APP, "already_signed_up", "worker_id")
        refused(rt, sign("W3", "app"), APP, "training_full", "training_id")
        done = c.CompleteTraining(command_id="cp-W1", ts_ms=at(8), training_id="T1",
                                  worker_id="W1", staff_id="staff-S1")  # fmt: skip
        refused(rt, done, STAFF, "training_not_started", "training_id")
        late = c.CompleteTraining(command_id="cp-W1b", ts_ms=at(12), training_id="T1",
                                  worker_id="W1", staff_id="staff-S1")  # fmt: skip
        ok(rt, late, STAFF)
        refused(rt, c.CompleteTraining(command_id="cp-W1c", ts_ms=at(12), training_id="T1",
                                       worker_id="W1", staff_id="staff-S1"),
                STAFF, "already_completed")  # fmt: skip
        refused(rt, c.CompleteTraining(command_id="cp-W3", ts_ms=at(12), training_id="T1",
                                       worker_id="W3", staff_id="staff-S1"),
                STAFF, "not_signed_up")  # fmt: skip
        ok(rt, training("T2", 5, command_id="pt-T2b", start_ms=at(13), end_ms=at(15)), STAFF)
        refused(rt, sign("W3", "app", "T2", t=at(15)), APP, "training_ended", "training_id")
        ok(rt, c.EraseWorker(command_id="er-W3", ts_ms=at(13), worker_id="W3", reason="本人申请"))
        refused(rt, sign("W3", "app", "T2", t=at(13)), APP, "erased", "worker_id")
        qa = c.PublishPolicyAnswer(command_id="qa1", ts_ms=at(9), entry_id="Q1", station_id="S1",
                                   topic="灵活就业社保补贴", question="灵活就业人员怎样申请社保补贴？",
                                   answer="持身份证到户籍所在地街道社保窗口申请，每季度审核一次。",
                                   staff_id="staff-S1")  # fmt: skip
        (ans,) = ok(rt, qa, STAFF)
        assert isinstance(ans, e.PolicyAnswerPublished)
        again = msgspec.structs.replace(qa, command_id="qa-again")
        refused(rt, again, STAFF, "unique", "entry_id")
        book = rt.engine.state.training
        assert book.trainings["T1"].signed == {"W1": True, "W2": False}
        assert book.entries["Q1"].topic == "灵活就业社保补贴"
        live = rt.engine.state.digest()
        assert restore_state(snapshot_state(rt.engine.state)).digest() == live
    report = verify(str(tmp_path / "log"))
    assert report.ok, report.failure
    assert report.digest == live
    assert rebuild(str(tmp_path / "log")).digest == live


@pytest.mark.parametrize("capacity", [0, 1001])
def test_capacity_is_bounded(capacity: int):
    with pytest.raises(c.Refusal) as err:
        c.check(training(capacity=capacity))
    assert err.value.field == "capacity" and err.value.rule == "range"


def test_a_session_leaves_the_core_after_its_keep_and_the_limits_are_not_lifetime_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: sessions and the count of sign-ups never left the state, so a market that
    had published MAX_TRAININGS sessions (or taken MAX_SIGNUPS sign-ups) in its life
    could never publish (or sign up) again."""
    from engine import training as tr_module
    from engine.training import TRAINING_KEEP_MS

    monkeypatch.setattr(tr_module, "MAX_TRAININGS", 2)
    monkeypatch.setattr(tr_module, "MAX_SIGNUPS", 2)
    with Runtime(tmp_path) as rt:
        world(rt)
        ok(rt, training("T1"), STAFF)
        ok(rt, training("T2", command_id="pt-T2"), STAFF)
        refused(rt, training("T3", command_id="pt-T3"), STAFF, "max_trainings", "training_id")
        ok(rt, sign("W1", "counter"), STAFF)
        ok(rt, sign("W2", "counter", "T2"), STAFF)
        refused(rt, sign("W3", "counter"), STAFF, "max_signups", "training_id")
        end = at(12)
        before = end + TRAINING_KEEP_MS - 1
        ok(rt, c.Advance(command_id="adv1", ts_ms=before), SYSTEM)
        assert set(rt.engine.state.training.trainings) == {"T1", "T2"}
        ok(rt, c.CompleteTraining(command_id="cp-late", ts_ms=before, training_id="T1",
                                  worker_id="W1", staff_id="staff-S1"), STAFF)  # fmt: skip
        ok(rt, c.Advance(command_id="adv2", ts_ms=end + TRAINING_KEEP_MS), SYSTEM)
        book = rt.engine.state.training
        assert book.trainings == {} and book.signups == 0
        refused(rt, c.CompleteTraining(command_id="cp-gone", ts_ms=end + TRAINING_KEEP_MS,
                                       training_id="T2", worker_id="W2", staff_id="staff-S1"),
                STAFF, "exists", "training_id")  # fmt: skip
        t = end + TRAINING_KEEP_MS + 1
        for tid in ("T3", "T1"):  # room again; an id of a session that left is free
            ok(rt, training(tid, command_id=f"pt-{tid}-new", ts_ms=t, start_ms=t + 3_600_000,
                            end_ms=t + 7_200_000), STAFF)  # fmt: skip
        ok(rt, sign("W3", "counter", "T3", t=t))
        live = rt.engine.state.digest()
        assert restore_state(snapshot_state(rt.engine.state)).digest() == live
    report = verify(str(tmp_path / "log"))
    assert report.ok, report.failure
    assert report.digest == live
