"""Training sign-up and policy consultation through the HTTP API (issue 15): a station
publishes a session and a Q&A entry; workers sign up at the counter, by app and by SMS
gateway; staff record completions; the lists and the reports count them; other
stations and regions are refused."""

from __future__ import annotations

from tests.http.world import Env
from tests.support import at


def post(env: Env, key: str, url: str, body: dict | None = None, token: str = "") -> dict:
    headers = {**env.auth(token), "Idempotency-Key": key}
    resp = env.client.post(url, json=body or {}, headers=headers)
    return {"status": resp.status_code, **resp.json()}


SESSION = {
    "training_id": "T1", "title": "装卸安全与叉车基础培训", "skill": "4-02-05-01",
    "start_ms": at(5), "end_ms": at(12), "capacity": 3, "address": "襄城区零工总站二楼",
}  # fmt: skip


def test_training_and_consultation_end_to_end(env: Env):
    staff, app, sms = "station_staff/4206", "front_end/4206", "sms_gateway/4206"
    r = post(env, "t1", "/stations/S1/trainings", SESSION, staff)
    assert r["status"] == 201, r
    (ev,) = r["events"]
    assert ev["type"] == "TrainingPublished" and ev["staff_id"]  # the account is recorded
    assert post(env, "t1x", "/stations/S1/trainings", {**SESSION, "training_id": "T9"},
                "station_staff/4206/S2")["status"] == 403  # fmt: skip
    assert (
        post(env, "t1y", "/stations/S1/trainings", {**SESSION, "training_id": "T8"}, app)["status"]
        == 403
    )
    # sign-ups: counter (staff), app (front end), SMS (the gateway); the channel is the caller's
    assert post(env, "s1", "/trainings/T1/sign-ups", {"worker_id": "W1", "channel": "counter"},
                staff)["status"] == 201  # fmt: skip
    bad = post(env, "s2x", "/trainings/T1/sign-ups", {"worker_id": "W2", "channel": "counter"}, app)
    assert bad["status"] == 422 and bad["rule"] == "channel", bad
    assert post(env, "s2", "/trainings/T1/sign-ups", {"worker_id": "W2", "channel": "app"},
                app)["status"] == 201  # fmt: skip
    assert post(env, "s3", "/trainings/T1/sign-ups", {"worker_id": "WX", "channel": "sms"},
                sms)["status"] == 201  # fmt: skip
    again = post(env, "s4", "/trainings/T1/sign-ups", {"worker_id": "W1", "channel": "app"}, app)
    assert again["status"] == 422 and again["rule"] == "already_signed_up", again
    away = post(env, "s5", "/trainings/T1/sign-ups", {"worker_id": "WW", "channel": "app"},
                "front_end/4201")  # fmt: skip
    assert away["status"] == 403
    full = post(env, "s6", "/trainings/T1/sign-ups", {"worker_id": "W1", "channel": "counter"},
                "station_staff/4206/S2")  # fmt: skip
    assert full["status"] == 403  # not S2's session
    done = post(env, "c1", "/trainings/T1/completions", {"worker_id": "W1"}, staff)
    assert done["status"] == 201 and done["events"][0]["type"] == "TrainingCompleted"
    qa = {"entry_id": "Q1", "topic": "灵活就业社保补贴",
          "question": "灵活就业人员怎样申请社会保险补贴？",
          "answer": "就业困难人员灵活就业后缴纳社保的，可持身份证到街道社保窗口申请补贴。"}  # fmt: skip
    assert post(env, "q1", "/stations/S1/policy-qa", qa, staff)["status"] == 201
    leak = post(env, "q2", "/stations/S1/policy-qa",
                {**qa, "entry_id": "Q2", "answer": "请致电13812341234咨询"}, staff)  # fmt: skip
    assert leak["status"] == 422 and leak["rule"] == "no_personal_data"

    lst = env.client.get("/trainings", headers=env.auth(app)).json()["trainings"]
    (t1,) = [t for t in lst if t["training_id"] == "T1"]
    assert (t1["signed_up"], t1["completed"], t1["places_left"]) == (3, 1, 0)
    assert t1["skill_name"] == "装卸搬运工" and t1["signed"] is None  # a front end sees counts
    mine = env.client.get("/trainings?station=S1", headers=env.auth(staff)).json()["trainings"]
    (t1,) = [t for t in mine if t["training_id"] == "T1"]
    assert t1["signed"] == ["W1", "W2", "WX"]  # the host station's staff see who
    assert env.client.get("/trainings", headers=env.auth("front_end/4201")).json() == {
        "trainings": []
    }
    entries = env.client.get("/policy-qa", headers=env.auth(app)).json()["entries"]
    assert [e["topic"] for e in entries] == ["灵活就业社保补贴"]

    rep = env.client.get("/reports/training?month=2026-11", headers=env.auth(staff))
    assert rep.status_code == 200, rep.text
    rows = {r["station_id"]: r for r in rep.json()["sections"][0]["rows"]}
    s1 = rows["S1"]
    # T0 (the world's) and T1; T1's three sign-ups, one per channel
    assert (s1["sessions"], s1["signups"], s1["counter"], s1["app"], s1["sms"]) == (2, 3, 1, 1, 1)
    assert (s1["completed"], s1["qa"], s1["region_name"]) == (1, 1, "湖北省襄阳市襄城区")
    prog = env.client.get("/reports/progress?month=2026-11", headers=env.auth("auditor/4206"))
    row = next(r for r in prog.json()["sections"][0]["rows"] if r["region"] == "4206")
    assert (row["training_sessions"], row["training_signups"], row["training_completed"]) == (
        2, 3, 1,
    )  # fmt: skip
