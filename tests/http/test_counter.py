"""Registration at the counter (issue 14): station staff register a worker without a
mobile; the station is their contact point: their offers show on its board and print as a
slip; no SMS is attempted (see tests/nats/test_sms_complaints.py)."""

from __future__ import annotations

from engine import commands as c
from tests.http.world import Env, job, q, run
from tests.support import near

STAFF = "station_staff/4206"


def _body(wid: str, mobile: str = "") -> dict:
    personal = {"name": "王大爷"} | ({"mobile": mobile} if mobile else {})
    return {"worker_id": wid, "region": "420602", "skills": ["moving"], "min_pay_fen": 10000,
            "birth_year": 1962, "personal": personal,
            "home": {"lat": 32.009, "lng": 112.122}}  # fmt: skip


def test_counter_registration_without_a_mobile_and_its_offers(env: Env) -> None:
    # a front end (no station) still needs a mobile
    resp = env.client.post("/workers", json=_body("WC0"), headers=env.auth("front_end/4206"))
    assert resp.status_code == 422 and resp.json()["field"] == "personal.mobile", resp.text
    # staff at their station's counter do not
    resp = env.client.post("/workers", json=_body("WC1234"), headers=env.auth(STAFF))
    assert resp.status_code == 201, resp.text
    view = env.client.get("/workers/WC1234", headers=env.auth(STAFF)).json()
    assert view["contact_station"] == "S1"
    with_phone = env.client.get("/workers/W1", headers=env.auth(STAFF)).json()
    assert with_phone["contact_station"] == ""

    t = env.clock.now_ms()
    run(env.service, c.CheckIn(command_id="ci-wc", ts_ms=t, worker_id="WC1234", station_id="S1"))
    job(env.service, t, "JC", "S1", "E1", near(60, 60), title="仓库搬运")
    offers = env.client.get("/workers/WC1234/offers", headers=env.auth(STAFF)).json()
    (offer_id,) = [o["offer_id"] for o in offers if o["job_id"] == "JC"]

    resp = env.client.get("/board/S1/jobs")
    assert resp.status_code == 200, resp.text
    board = resp.json()
    (shown,) = [o for o in board["offers"] if o["job_id"] == "JC"]
    assert shown["worker_tag"] == "…1234" and shown["title"] == "仓库搬运"
    assert shown["pay"] == "300 元/天" and shown["expires"].count(":") == 1
    assert "WC1234" not in env.client.get("/board/S1/jobs").text  # only the tag
    page = env.client.get("/board/S1").text
    assert "…1234" in page and "请以下编号的求职者到服务台" in page

    slip = env.client.get(f"/workers/WC1234/offers/{q(offer_id)}/slip", headers=env.auth(STAFF))
    assert slip.status_code == 200 and slip.headers["cache-control"] == "no-store"
    assert "工作邀约单" in slip.text and "仓库搬运" in slip.text and "WC1234" in slip.text
    assert "前到服务台答复" in slip.text
    other = env.client.get(f"/workers/W1/offers/{q(offer_id)}/slip", headers=env.auth(STAFF))
    assert other.status_code == 404  # not this worker's offer
    far = env.client.get(
        f"/workers/WC1234/offers/{q(offer_id)}/slip", headers=env.auth("station_staff/4201")
    )
    assert far.status_code == 403

    # answered at the counter: the offer leaves the board
    acc = env.client.post(f"/workers/WC1234/offers/{q(offer_id)}/accept", headers=env.auth(STAFF))
    assert acc.status_code == 201, acc.text
    board = env.client.get("/board/S1/jobs").json()
    assert all(o["job_id"] != "JC" for o in board["offers"])
