"""Issue 14 through the HTTP API: the worker's job view, the agreement, wage protection.

The world (`tests.http.world`) at 06:00: W1 hired on J1 (08:00-14:00, 300 元/天) as H1,
W2 checked in at S1 holding a live offer O2 on J2. Each test moves the fake clock only
forward, and the module has its own world.
"""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from engine.events import AgreementTerms
from tests.http.world import Env, make_env, q
from tests.support import at, near

FRONT, STAFF, OTHER_STAFF = "front_end/4206", "station_staff/4206", "station_staff/4201"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    e = make_env(tmp_path_factory.mktemp("wages"))
    try:
        yield e
    finally:
        e.close()


def post(env: Env, path: str, body: dict | None = None, who: str = FRONT) -> dict:
    resp = env.client.post(path, json=body or {}, headers=env.auth(who))
    assert resp.status_code in (200, 201), (path, resp.status_code, resp.text)
    return resp.json()


def types(resp: dict) -> list[str]:
    return [ev["type"] for ev in resp["events"]]


def job_body(jid: str, **kw) -> dict:  # noqa: ANN003
    point = near(120, 60)
    body = {
        "job_id": jid,
        "employer_id": "E1",
        "station_id": "S1",
        "title": "搬运工",
        "skill": "moving",
        "headcount": 1,
        "pay_fen": 30000,
        "start_ms": at(15),
        "end_ms": at(19),
        "location": {"lat": point.lat, "lng": point.lng},
    }
    body.update(kw)
    return body


def test_the_worker_sees_each_pay_unit_in_its_own_unit(env: Env) -> None:
    # a day rate: the offer the worker holds carries the card
    offers = env.client.get("/workers/W2/offers", headers=env.auth(FRONT)).json()
    card = next(o["card"] for o in offers if o["job_id"] == "J2")
    assert card["pay_text"] == "300 元/天" and card["expected_total_text"] == "共 1 天，预计 300 元"
    assert card["time_text"] == "11月23日 08:00–14:00"
    assert card["distance_m"] == 150 and card["distance_text"] == "150 米"
    assert card["travel"][0]["mode"] == "walk" and card["travel"][0]["text"] == "步行 3 分钟"
    assert {t["mode"] for t in card["travel"]} == {"walk", "bike", "ebike", "bus", "car"}
    assert card["amap"].startswith("https://uri.amap.com/navigation?to=")  # no origin:
    assert "origin=" not in card["baidu"]  # the worker's position is never returned
    assert card["baidu"].startswith("https://api.map.baidu.com/direction?")
    # an hourly rate stays hourly (never "200 元/天")
    out = post(env, "/jobs", job_body("JHR", pay_fen=2500, pay_unit="hour", title="装卸工"))
    assert "JobPublished" in types(out)
    card = env.client.get("/workers/W2/jobs/JHR", headers=env.auth(FRONT)).json()
    assert card["pay_text"] == "25 元/小时" and "元/天" not in str(card)
    assert card["expected_total_text"] == "共 4 小时，预计 100 元"
    # a piece rate of 50 fen, with description, address and the expected total
    body = job_body(
        "JPC",
        pay_fen=50,
        pay_unit="piece",
        expected_pieces=800,
        title="快递分拣",
        description="分拣快递包裹，按件计酬，自带手套",
        address="樊城区物流园3号库",
        insurance_payer="employer",
        insurance_policy_no="PICC-2026-0001",
    )
    post(env, "/jobs", body)
    card = env.client.get("/workers/W2/jobs/JPC", headers=env.auth(FRONT)).json()
    assert card["pay_text"] == "0.50 元/件"
    assert card["expected_total_text"] == "预计 800 件，约 400 元"
    assert (card["description"], card["address"]) == (
        "分拣快递包裹，按件计酬，自带手套",
        "樊城区物流园3号库",
    )
    assert card["insurance_text"] == "用工方缴纳（保单号 PICC-2026-0001）"
    # the station board shows the same formatter's texts
    board = env.client.get("/board/S1/jobs").json()
    rows = {j["job_id"]: j for j in board["jobs"]}
    assert rows["JHR"]["pay"] == "25 元/小时" and rows["JPC"]["pay"] == "0.50 元/件"
    assert rows["JPC"]["total"] == "预计 800 件，约 400 元"
    page = env.client.get("/board/S1").text
    assert "0.50 元/件" in page and "25 元/小时" in page and "樊城区物流园3号库" in page
    # a phone number in an address is refused, naming the field and the rule
    resp = env.client.post(
        "/jobs", json=job_body("JPX", address="联系13812345678"), headers=env.auth(FRONT)
    )
    assert resp.status_code == 422
    assert (resp.json()["field"], resp.json()["rule"]) == ("address", "no_personal_data")


def test_the_agreement_is_recorded_hashed_and_readable_by_the_parties(env: Env) -> None:
    hire = q(env.ids["H1"])
    view = env.client.get(f"/hires/{hire}/agreement", headers=env.auth(FRONT))
    assert view.status_code == 200 and view.headers["cache-control"] == "no-store"
    body = view.json()
    terms = msgspec.convert(body["terms"], AgreementTerms)
    assert (terms.worker_id, terms.employer_id, terms.station_id) == ("W1", "E1", "S1")
    assert (terms.pay_fen, terms.pay_unit, terms.agreed_total_fen) == (30000, "day", 30000)
    assert body["verified"] and len(body["sha256"]) == 64
    assert body["sha256"] == hashlib.sha256(msgspec.msgpack.encode(terms)).hexdigest()
    # the hash is in the log: the record of the accept holds AgreementRecorded
    recorded = env.service.read(lambda s: s.hires[env.ids["H1"]].agreement_sha256)
    assert recorded == body["sha256"]
    # staff of the region read it; another region, auditors, the SMS gateway do not
    assert env.client.get(f"/hires/{hire}/agreement", headers=env.auth(STAFF)).status_code == 200
    for who, status in (
        (OTHER_STAFF, 403),
        ("front_end/4201", 403),
        ("auditor/4206", 403),
        ("sms_gateway/4206", 403),
    ):
        got = env.client.get(f"/hires/{hire}/agreement", headers=env.auth(who))
        assert got.status_code == status, who
    assert env.client.get(f"/hires/{hire}/agreement").status_code == 401
    assert env.client.get("/hires/NOPE%2FW1/agreement", headers=env.auth(FRONT)).status_code == 404
    page = env.client.get(f"/hires/{hire}/agreement?format=html", headers=env.auth(FRONT))
    assert page.headers["content-type"].startswith("text/html")
    assert "零工用工协议" in page.text and body["sha256"] in page.text
    assert "300 元/天" in page.text and "与日志记录一致" in page.text
    assert "13912345678" not in page.text and "李四" not in page.text


def test_completion_before_the_start_is_refused(env: Env) -> None:
    (offer,) = [o for o in env.client.get("/workers/W2/offers", headers=env.auth(FRONT)).json()
                if o["job_id"] == "J2"]  # fmt: skip
    out = post(env, f"/workers/W2/offers/{q(offer['offer_id'])}/accept")
    hire = next(ev["hire_id"] for ev in out["events"] if ev["type"] == "HireConfirmed")
    assert "AgreementRecorded" in types(out)
    resp = env.client.post(f"/hires/{q(hire)}/completion", headers=env.auth(FRONT))
    assert resp.status_code == 422
    assert (resp.json()["field"], resp.json()["rule"]) == ("hire_id", "after_start")


def test_partial_pay_opens_an_arrears_case_that_holds_postings_until_paid(env: Env) -> None:
    hire = q(env.ids["H1"])
    env.clock.ms = at(15)
    post(env, f"/hires/{hire}/arrival")
    post(env, f"/hires/{hire}/completion")
    out = post(env, f"/hires/{hire}/wage", {"amount_fen": 10000, "method": "wechat"})
    paid = out["events"][0]
    assert paid["type"] == "WagePaid" and paid["partial"] is True
    assert out["counts"]["ArrearsOpened"] == 1 and "EmployerFlagged" in types(out)
    # the station's staff see the case; the other region's do not; front ends may not list
    cases = env.client.get("/arrears", headers=env.auth(STAFF)).json()
    assert cases["count"] == 1
    case = cases["cases"][0]
    assert (case["hire_id"], case["station_id"], case["reason"]) == (env.ids["H1"], "S1", "partial")
    assert (case["agreed_fen"], case["paid_fen"], case["owed_fen"]) == (30000, 10000, 20000)
    assert env.client.get("/arrears", headers=env.auth(OTHER_STAFF)).json()["count"] == 0
    assert env.client.get("/arrears", headers=env.auth(FRONT)).status_code == 403
    # the employer's live postings are held: none on the board, a new one is held too
    board = env.client.get("/board/S1/jobs").json()
    assert [j for j in board["jobs"] if j["job_id"] in ("JHR", "JPC", "JX")] == []
    held = env.client.get("/jobs/JHR", headers=env.auth(STAFF)).json()
    assert held["status"] == "held" and held["hold_codes"] == ["arrears_case"]
    assert held["hold_reasons"] == ["用人单位有未结清的欠薪案件，在招岗位暂停发布，结清后自动恢复"]
    out = post(env, "/jobs", job_body("JNEW", start_ms=at(17), end_ms=at(20), title="清运工"))
    assert types(out)[:2] == ["JobSubmitted", "JobHeldForReview"]
    # the agreement page names the open case
    page = env.client.get(f"/hires/{hire}/agreement?format=html", headers=env.auth(FRONT)).text
    assert "欠薪处理" in page
    # paid in full: the case closes, the flag clears, the held postings are back
    out = post(env, f"/hires/{hire}/wage", {"amount_fen": 20000})
    assert out["counts"]["ArrearsClosed"] == 1 and out["counts"]["EmployerCleared"] == 1
    assert out["counts"]["JobPublished"] >= 3
    assert env.client.get("/arrears", headers=env.auth(STAFF)).json()["count"] == 0
    closed = env.client.get("/arrears?status=closed", headers=env.auth(STAFF)).json()
    assert closed["count"] == 1 and closed["cases"][0]["owed_fen"] == 0
    board = env.client.get("/board/S1/jobs").json()
    assert {"JHR", "JPC", "JNEW"} <= {j["job_id"] for j in board["jobs"]}
