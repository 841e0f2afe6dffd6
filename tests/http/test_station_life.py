"""Through the HTTP API: a station applies, is reviewed, approved and filed (备案), ordered
to rectify (限期整改), rectifies, and is revoked, each step by a different named account
(a token issued to a person); the same account is refused a second step. A missed
deadline revokes through the due heap. The log then verifies (every fact re-admitted from
its command, every decision re-derived) and rebuilds to the serving engine's digest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.gate.tokens import TokenStore
from adapters.log.reader import open_log_reader
from adapters.log.records import read_records
from engine import commands as c
from engine.authz import SYSTEM
from replay.rebuild import rebuild
from replay.verify import verify
from tests.http.world import Env, make_env

DAY_MS = 86_400_000
ACCOUNTS = ("审核员", "审批人", "备案员", "检查员", "复查员", "撤销人")
APPLICATION = {
    "station_id": "P9",
    "name": "檀溪驿站",
    "kind": "post",
    "parent_id": "S1",
    "region": "420602",
    "location": {"lat": 32.0101, "lng": 112.1228},
    "address": "襄城区檀溪路1号",
    "area_m2": 45,
    "head": {"name": "王建国", "mobile": "13912345678"},
    "hotline": "0710-3611234",
    "open_min": 420,
    "close_min": 1080,
    "services": ["registration", "posting", "training_signup", "policy_advice", "first_aid"],
    "staff_count": 2,
}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    stations = e.service.read(lambda s: {sid: st.region for sid, st in s.stations.items()})
    store = TokenStore(tmp_path)
    for name in ACCOUNTS:  # one admin token issued to each person (a named account)
        e.tokens[name], _ = store.create("admin", "4206", name=name, stations=stations)
    e.tokens["unnamed admin"], _ = store.create("admin", "4206", stations=stations)
    try:
        yield e
    finally:
        e.close()


def _post(env: Env, who: str, path: str, body: dict | None = None):  # noqa: ANN202
    return env.client.post(path, json=body or {}, headers=env.auth(who))


def _actors(data_dir: Path) -> list[tuple[str, str, str]]:
    """(actor, step, status) of every station step in the log, in order."""
    out = []
    with open_log_reader(str(data_dir / "log")) as reader:
        for batch in read_records(reader):
            for rec in batch.records:
                ev = rec.events[0]
                if type(ev).__name__ == "StationRegistered" and ev.applicant:
                    assert ev.sealed  # the 负责人's name and mobile, under "station:<id>"
                    out.append((rec.actor, "apply", ev.station_id))
                elif type(ev).__name__ == "StationStatusChanged" and ev.step:
                    out.append((rec.actor, ev.step, ev.status))
    return out


def test_a_station_life_through_http_each_step_another_account(env: Env) -> None:
    ids = {name: TokenStore(env.data_dir).verify(env.tokens[name]).actor_id for name in ACCOUNTS}
    assert all(a.startswith("acct-") for a in ids.values())
    resp = _post(env, "front_end/4206", "/stations/applications", {**APPLICATION, "by": "x"})
    assert resp.status_code == 422 and resp.json()["rule"] == "unknown_field"  # by: the caller's
    resp = _post(env, "front_end/4206", "/stations/applications", APPLICATION)
    assert resp.status_code == 201, resp.text
    reg, checked = resp.json()["events"]
    assert reg["head_masked"] == "王**" and "王建国" not in resp.text
    assert checked == {**checked, "type": "StationChecked", "failures": []}

    unnamed = _post(env, "unnamed admin", "/stations/P9/review", {"passed": True})
    assert unnamed.status_code == 403 and unnamed.json()["rule"] == "named_account"
    assert _post(env, "审核员", "/stations/P9/review", {"passed": True}).status_code == 200
    same = _post(env, "审核员", "/stations/P9/approval")
    assert same.status_code == 403, same.text
    problem = same.json()
    assert (problem["field"], problem["rule"]) == ("by", "distinct_accounts")
    assert "审核" in problem["detail"] or "审核" in same.text
    assert _post(env, "审批人", "/stations/P9/approval", {"note": "同意"}).status_code == 200
    for who in ("审核员", "审批人"):
        assert _post(env, who, "/stations/P9/filing", {"filing_no": "X"}).status_code == 403
    resp = _post(env, "备案员", "/stations/P9/filing", {"filing_no": "襄就备〔2026〕9号"})
    assert resp.status_code == 200 and resp.json()["events"][0]["filing_no"] == "襄就备〔2026〕9号"

    resp = _post(env, "检查员", "/stations/P9/rectification-order",
                 {"items": "服务热线无人接听", "days": 10})  # fmt: skip
    assert resp.status_code == 200, resp.text
    due = resp.json()["events"][0]["due_ms"]
    assert due == resp.json()["events"][0]["ts_ms"] + 10 * DAY_MS
    assert _post(env, "检查员", "/stations/P9/rectification").status_code == 403
    resp = _post(env, "复查员", "/stations/P9/rectification", {"note": "已整改"})
    assert resp.status_code == 200 and resp.json()["events"][0]["status"] == "approved"

    seen = env.client.get("/stations/P9/application", headers=env.auth("auditor/4206"))
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert (view["status_cn"], view["hours"], view["unmet_conditions"]) == (
        "已批准",
        "07:00-18:00",
        [],
    )
    assert view["services"][:2] == ["求职登记", "信息发布"] and view["filing_no"]
    assert [s["step_cn"] for s in view["steps"]] == [
        "申报", "审核", "批准", "备案", "限期整改", "整改确认",
    ]  # fmt: skip
    assert "王建国" not in seen.text and "13912345678" not in seen.text
    board = env.client.get("/board/P9/jobs").json()  # public: address, hotline and hours
    assert (board["address"], board["hotline"]) == ("襄城区檀溪路1号", "0710-3611234")
    assert board["hours"].startswith("07:00") and board["hours"].endswith("18:00")
    wuhan = env.client.get("/stations/P9/application", headers=env.auth("auditor/4201"))
    assert wuhan.status_code == 403 and wuhan.json()["rule"] == "region"
    resp = _post(env, "撤销人", "/stations/P9/revocation", {"reason": "年度考核不合格"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["events"][0]["status"] == "revoked"
    assert env.service.read(lambda s: s.stations["P9"].status) == "revoked"

    steps = _actors(env.data_dir)
    assert [s for _, s, _ in steps] == [
        "apply", "review", "approval", "filing", "rectification_order", "rectified", "revocation",
    ]  # fmt: skip
    actors = [a for a, _, _ in steps[1:]]
    assert actors == [ids[n] for n in ACCOUNTS] and len(set(actors)) == len(ACCOUNTS)
    assert steps[0][0] not in actors  # the applicant (a front end) is yet another account

    digest = env.service.read(lambda s: s.digest())
    env.close()
    report = verify(str(env.data_dir / "log"))
    assert report.ok, report.failure
    assert report.digest == digest
    assert rebuild(str(env.data_dir / "log")).digest == digest


def test_missed_deadline_revokes_the_station_and_its_posts(env: Env) -> None:
    """S2 (a 分站 under S1) gets a 驿站 and is ordered to rectify; the deadline passes."""
    body = {**APPLICATION, "station_id": "P8", "parent_id": "S2"}
    assert _post(env, "front_end/4206", "/stations/applications", body).status_code == 201
    assert _post(env, "审核员", "/stations/P8/review", {"passed": True}).status_code == 200
    assert _post(env, "审批人", "/stations/P8/approval").status_code == 200
    resp = _post(
        env, "检查员", "/stations/S2/rectification-order", {"items": "无人值守", "days": 3}
    )
    assert resp.status_code == 200, resp.text
    due = resp.json()["events"][0]["due_ms"]
    assert env.service.read(lambda s: s.next_due_ms()) <= due
    env.clock.ms = due
    res = env.service.execute(c.Advance(command_id="tick-due", ts_ms=due), SYSTEM)
    assert res.ok, res.refusal
    changed = [(ev.station_id, ev.status, ev.step) for ev in res.events
               if type(ev).__name__ == "StationStatusChanged"]  # fmt: skip
    assert changed == [("S2", "revoked", "deadline_missed"), ("P8", "suspended", "parent_revoked")]
    assert _post(env, "复查员", "/stations/S2/rectification").status_code in (404, 422)
    digest = env.service.read(lambda s: s.digest())
    env.close()
    report = verify(str(env.data_dir / "log"))
    assert report.ok, report.failure
    assert report.digest == digest
