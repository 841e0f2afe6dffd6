"""Issue 15, posting review through HTTP: a discriminatory posting is held with the rule
named and appears in the collecting station's queue (GET /jobs?status=held, scoped by
the caller, filtered by station, rule and since); hold reasons read as plain Chinese;
a verdict names the staff account (the person's name masked, never in the log); the
log still verifies, re-executed, to the same state (digest equality with the live
engine, a rebuild and a snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import msgspec

from adapters.gate.tokens import TokenStore
from adapters.http.routes_morning import QueueRule
from engine.record import decode_record
from engine.screen import RULES
from engine.snapshot import restore_state, snapshot_state
from replay.rebuild import rebuild
from replay.verify import verify
from tests.http.world import STAFF_NAMES, Env, at, near

POSTING = "日结，限男性，45岁以下"


def _post(env: Env, job_id: str, title: str, description: str = "", pay: int = 30000) -> dict:
    body = {"job_id": job_id, "employer_id": "E1", "station_id": "S1", "title": title,
            "description": description, "skill": "moving", "headcount": 1, "pay_fen": pay,
            "start_ms": at(8), "end_ms": at(14), "location": msgspec.to_builtins(near(120, 60))}  # fmt: skip
    resp = env.client.post("/jobs", json=body, headers=env.auth("front_end/4206"))
    assert resp.status_code == 201, resp.text
    return resp.json()


def _queue(env: Env, token: str, query: str = "") -> list[dict]:
    resp = env.client.get(f"/jobs?status=held{query}", headers=env.auth(token))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(body["jobs"])
    return body["jobs"]


def _ids(jobs: list[dict]) -> list[str]:
    return [j["job_id"] for j in jobs]


def test_the_posting_is_held_with_the_rules_named(env: Env) -> None:
    out = _post(env, "JD1", "搬运工", POSTING)
    (held,) = [ev for ev in out["events"] if ev["type"] == "JobHeldForReview"]
    assert held["reasons"] == ["discrimination:sex:限男性", "discrimination:age:45岁以下"]
    sex, age = held["reason_texts"]
    assert sex.startswith("招聘条件涉嫌就业歧视：性别限制：“限男性”") and "就业促进法" in sex
    assert "年龄限制：“45岁以下”" in age
    assert out["counts"].get("JobPublished", 0) == 0
    # the title alone is screened too; a lawful posting is published at once
    out = _post(env, "JD2", "保洁 形象好 已婚已育")
    assert out["counts"]["JobHeldForReview"] == 1
    out = _post(env, "JD3", "小区搬家", "男女不限，年满16周岁，45分钟内到岗")
    assert out["counts"].get("JobPublished") == 1, out["counts"]


def test_it_appears_in_the_collecting_stations_queue_with_plain_reasons(env: Env) -> None:
    jobs = _queue(env, "station_staff/4206")  # staff of S1, the collecting station
    assert "JD1" in _ids(jobs)
    jd1 = next(j for j in jobs if j["job_id"] == "JD1")
    assert jd1["status"] == "held" and jd1["station_id"] == "S1" and jd1["held_ms"] > 0
    assert jd1["hold_codes"] == ["discrimination:sex:限男性", "discrimination:age:45岁以下"]
    assert all(":" not in r.split("：")[0] for r in jd1["hold_reasons"])
    # the pay anomaly of JH reads as plain Chinese, not pay_far_above_local:...
    jh = next(j for j in jobs if j["job_id"] == "JH")
    assert jh["hold_reasons"][0].startswith("日薪1000.00元，高于本地参考日薪")
    assert jh["hold_codes"][0].startswith("pay_far_above_local:")
    # oldest first
    assert _ids(jobs).index("JH") < _ids(jobs).index("JD1")


def test_every_screen_rule_is_a_queue_filter() -> None:
    assert set(RULES) | {"discrimination"} <= set(get_args(QueueRule))


def test_queue_filters(env: Env) -> None:
    staff = "station_staff/4206"
    assert _ids(_queue(env, staff, "&rule=sex")) == ["JD1"]
    assert set(_ids(_queue(env, staff, "&rule=discrimination"))) == {"JD1", "JD2"}
    assert _ids(_queue(env, staff, "&rule=marital")) == ["JD2"]
    assert _ids(_queue(env, staff, "&rule=pay_far_above_local")) == ["JH"]
    assert _ids(_queue(env, staff, "&station=S1&rule=age")) == ["JD1"]
    jd1 = next(j for j in _queue(env, staff) if j["job_id"] == "JD1")
    assert "JD1" in _ids(_queue(env, staff, f"&since={jd1['held_ms']}"))
    assert "JD1" not in _ids(_queue(env, staff, f"&since={jd1['held_ms'] + 1}"))
    assert len(_queue(env, staff, "&limit=1")) == 1
    assert _queue(env, staff, "&limit=1&offset=1")[0]["job_id"] == _ids(_queue(env, staff))[1]
    bad = env.client.get("/jobs?status=held&rule=nope", headers=env.auth(staff))
    assert bad.status_code == 400
    bad = env.client.get("/jobs?status=open", headers=env.auth(staff))
    assert bad.status_code == 400


def test_queue_is_scoped_by_the_caller(env: Env) -> None:
    assert "JD1" in _ids(_queue(env, "admin/4206"))  # region staff: their region's
    assert "JD1" in _ids(_queue(env, "auditor/4206"))
    assert "JD1" in _ids(_queue(env, "admin/*"))
    assert _queue(env, "station_staff/4206/S2") == []  # another station's staff
    assert _queue(env, "admin/4201") == [] and _queue(env, "station_staff/4201") == []
    other = env.client.get(
        "/jobs?status=held&station=S1", headers=env.auth("station_staff/4206/S2")
    )
    assert other.status_code == 403 and other.json()["rule"] == "station"
    front = env.client.get("/jobs?status=held", headers=env.auth("front_end/4206"))
    assert front.status_code == 403 and front.json()["rule"] == "role"
    anon = env.client.get("/jobs?status=held")
    assert anon.status_code == 401


def test_a_verdict_names_the_account(env: Env) -> None:
    before = env.seq
    resp = env.client.post(
        "/jobs/JD1/review", json={"approve": False, "note": "性别年龄限制，已退回"},
        headers={**env.auth("station_staff/4206"), "Idempotency-Key": "verdict-jd1"},
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    events = {ev["type"]: ev for ev in resp.json()["events"]}
    account = events["JobReviewed"]["staff_id"]
    assert account.startswith("acct-")
    assert events["JobReviewed"]["staff_name"] == "张*明"
    assert events["JobRejected"]["reviewed_by"] == account
    assert events["JobRejected"]["reviewer_name"] == "张*明"
    assert events["JobRejected"]["reason_texts"] == ["审核未通过：性别年龄限制，已退回"]
    assert resp.json()["command_id"] == f"{account}:verdict-jd1"
    job = env.client.get("/jobs/JD1", headers=env.auth("admin/4206")).json()
    assert (job["status"], job["reviewed_by"], job["reviewer_name"]) == (
        "rejected",
        account,
        "张*明",
    )
    assert "JD1" not in _ids(_queue(env, "station_staff/4206"))
    # an approval names the account on the publication too
    resp = env.client.post("/jobs/JD2/review", json={"approve": True},
                           headers=env.auth("station_staff/4206"))  # fmt: skip
    published = next(ev for ev in resp.json()["events"] if ev["type"] == "JobPublished")
    assert (published["reviewed_by"], published["reviewer_name"]) == (account, "张*明")
    # the log records the account, never the person's name
    seq, payload = next(iter(env.runtime.log.read(before + 1)))
    assert seq == before + 1 and decode_record(payload).actor == account
    assert _log_bytes(env.data_dir).find(STAFF_NAMES["4206"].encode()) == -1


def test_an_unnamed_staff_token_gives_no_verdict(env: Env) -> None:
    stations = env.service.read(lambda s: {sid: st.region for sid, st in s.stations.items()})
    token, _ = TokenStore(env.data_dir).create("station_staff", "4206", "S1", stations=stations)
    before = env.seq
    resp = env.client.post("/jobs/JH/review", json={"approve": True},
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert resp.status_code == 403 and resp.json()["rule"] == "named_account"
    assert env.seq == before
    # another token of the same person's account acts as that account
    token2, rec2 = TokenStore(env.data_dir).create(
        "station_staff", "4206", "S1", stations=stations, account_id=_account_of(env)
    )
    assert rec2.name == STAFF_NAMES["4206"]
    resp = env.client.post("/jobs/JH/review", json={"approve": True},
                           headers={"Authorization": f"Bearer {token2}"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    reviewed = next(ev for ev in resp.json()["events"] if ev["type"] == "JobReviewed")
    assert reviewed["staff_id"] == _account_of(env) and reviewed["staff_name"] == "张*明"


def test_replay_verifies_to_the_same_state(env: Env, tmp_path: Path) -> None:
    _post(env, "JD9", "临时工", "只要本地户口，身高160以上")  # one left held for the checks
    live_digest, held = env.service.read(lambda s: (s.digest(), list(s.held)))
    assert "JD9" in held
    report = verify(env.data_dir / "log")
    assert report.ok, report.failure
    assert report.facts_checked > 0 and report.digest == live_digest
    assert rebuild(env.data_dir / "log").digest == live_digest
    again = env.service.read(lambda s: restore_state(snapshot_state(s)))
    assert again.digest() == live_digest and list(again.held) == held
    assert again.jobs["JD9"].hold_reasons == (
        "discrimination:hukou:本地户口",
        "discrimination:appearance:身高160以上",
    )


def _account_of(env: Env) -> str:
    store = TokenStore(env.data_dir)
    return next(t.account_id for t in store.list() if t.name == STAFF_NAMES["4206"])


def _log_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((data_dir / "log").rglob("*")) if p.is_file())
