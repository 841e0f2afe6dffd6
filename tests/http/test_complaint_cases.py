"""Complaint cases through the HTTP API (issue 14): list and filter for station staff,
steps with a note, the deadline passing by a `Tick` (time as data), scope."""

from __future__ import annotations

from engine import commands as c
from tests.http.world import Env

DAY_MS = 86_400_000
STAFF = "station_staff/4206"


def _cases(env: Env, query: str = "", token: str = STAFF) -> list[dict]:
    resp = env.client.get(f"/complaints{query}", headers=env.auth(token))
    assert resp.status_code == 200, resp.text
    return resp.json()


def _step(env: Env, status: str, note: str = "", token: str = STAFF):
    return env.client.post(
        "/complaints/C1/status", json={"status": status, "note": note}, headers=env.auth(token)
    )


def test_staff_list_filter_and_move_a_case_on(env: Env) -> None:
    (case,) = _cases(env)
    assert case["complaint_id"] == "C1" and case["kind_name"] == "安全问题"
    assert (case["status"], case["status_name"], case["station_id"]) == ("open", "待受理", "S1")
    assert case["due_ms"] == case["filed_ms"] + 3 * DAY_MS  # safety: 3 days by default
    assert not case["overdue"] and case["live"]
    assert _cases(env, "?kind=wage_arrears") == []
    assert [x["complaint_id"] for x in _cases(env, "?station=mine&status=live")] == ["C1"]
    assert _cases(env, "?station=S2") == []
    assert _cases(env, "?status=closed") == []

    # staff of another station may read the region's cases but not move this one
    assert [x["complaint_id"] for x in _cases(env, token="station_staff/4206/S2")] == ["C1"]
    other = _step(env, "accepted", token="station_staff/4206/S2")
    assert other.status_code == 403 and other.json()["rule"] == "station"
    # a Wuhan token sees none of it
    assert _cases(env, token="station_staff/4201") == []
    far = env.client.get("/complaints/C1", headers=env.auth("admin/4201"))
    assert far.status_code == 403 and far.json()["rule"] == "region"
    # front ends do not read cases
    assert env.client.get("/complaints", headers=env.auth("front_end/4206")).status_code == 403

    resp = _step(env, "accepted", "已受理，联系电话13812341234")
    assert resp.status_code == 201, resp.text
    assert resp.json()["counts"] == {"ComplaintStatusChanged": 1}
    assert "13812341234" not in resp.text
    back = _step(env, "open")
    assert back.status_code == 422 and "status" in back.json()["field"]  # not a step
    again = _step(env, "accepted")
    assert again.status_code == 422 and again.json()["rule"] == "forward"
    one = env.client.get("/complaints/C1", headers=env.auth(STAFF)).json()
    assert (one["status"], one["status_name"]) == ("accepted", "已受理")
    assert "13812341234" not in env.log_text()


def test_the_deadline_passes_by_a_tick_and_shows_as_overdue(env: Env) -> None:
    (case,) = _cases(env, "?status=live")
    assert _cases(env, "?overdue=true") == []
    tick = c.Advance(command_id="tick-due", ts_ms=case["due_ms"])
    res = env.service.execute(tick)
    assert res.ok, res.refusal
    assert [type(ev).__name__ for ev in res.events].count("ComplaintOverdue") == 1
    (late,) = _cases(env, "?overdue=true")
    assert late["complaint_id"] == "C1" and late["overdue"] and late["live"]
    metrics = env.client.get("/metrics", headers=env.auth("admin/4206")).text
    assert "lingong_complaints_overdue 1" in metrics
    done = _step(env, "resolved", "工资已结清")
    assert done.status_code == 201, done.text
    (closed,) = _cases(env, "?status=closed")
    assert (closed["status_name"], closed["overdue"]) == ("已办结", True)
    metrics = env.client.get("/metrics", headers=env.auth("admin/4206")).text
    assert "lingong_complaints_overdue 0" in metrics
