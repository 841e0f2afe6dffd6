"""Commands and queries through the API: idempotency, time, limits, errors, views."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from adapters.http.app import create_app
from adapters.http.auth import Limits
from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService
from tests.http.world import Clock, Env, make_env, q
from tests.support import at

WORKER = {"region": "420602", "skills": ["moving"], "min_pay_fen": 12000, "birth_year": 1970,
          "personal": {"name": "赵六", "mobile": "13611112222"},
          "home": {"lat": 32.0101, "lng": 112.1230}}  # fmt: skip


def _worker(wid: str) -> dict:
    return {"worker_id": wid, **WORKER}


def test_command_is_durable_and_timed_by_the_server(env: Env) -> None:
    before = env.seq
    resp = env.client.post("/workers", json=_worker("WA1"), headers=env.auth("front_end/4206"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["seq"] == before + 1 == env.seq and body["duplicate"] is False
    (reg,) = body["events"]
    assert reg["type"] == "WorkerRegistered" and reg["ts_ms"] == env.clock.now_ms()
    assert reg["phone_masked"] == "136****2222" and "sealed" not in reg
    assert body["command_id"].endswith(resp.headers["Idempotency-Key"])


@pytest.mark.parametrize("field", ["ts_ms", "command_id", "type"])
def test_front_ends_cannot_send_time_or_ids(env: Env, field: str) -> None:
    seq = env.seq
    body = {**_worker("WA2"), field: 1 if field == "ts_ms" else "x"}
    resp = env.client.post("/workers", json=body, headers=env.auth("front_end/4206"))
    assert resp.status_code == 422, resp.text
    assert resp.json()["rule"] == "unknown_field" and resp.json()["field"] == field
    assert env.seq == seq


def test_idempotency_key_replays_without_appending(env: Env) -> None:
    headers = {**env.auth("front_end/4206"), "Idempotency-Key": "reg-WA3"}
    first = env.client.post("/workers", json=_worker("WA3"), headers=headers)
    assert first.status_code == 201
    seq = env.seq
    again = env.client.post("/workers", json=_worker("WA3"), headers=headers)
    # the original response: same status, same seq and events (read back from the log)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first.json(), "duplicate": True}
    assert env.seq == seq
    # the same key from another token is another command (refused: the id is taken)
    other = {**env.auth("station_staff/4206"), "Idempotency-Key": "reg-WA3"}
    resp = env.client.post("/workers", json=_worker("WA3"), headers=other)
    assert resp.status_code == 409 and resp.json()["rule"] == "unique"
    assert resp.json()["field"] == "worker_id" and env.seq == seq


@pytest.mark.parametrize("key", ["", " bad", "x" * 56, "a b", "-lead"])
def test_bad_idempotency_key(env: Env, key: str) -> None:
    seq = env.seq
    headers = {**env.auth("front_end/4206"), "Idempotency-Key": key}
    resp = env.client.post("/workers/W1/check-out", headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"].lower() == "idempotency-key" and env.seq == seq


def test_refusal_names_field_and_rule(env: Env) -> None:
    seq = env.seq
    body = {**_worker("WA4"), "personal": {"mobile": "12345"}}
    resp = env.client.post("/workers", json=body, headers=env.auth("front_end/4206"))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["field"] == "personal.mobile" and problem["status"] == 422
    assert problem["type"] == f"urn:lingong:problem:{problem['rule']}"
    assert env.seq == seq


def test_unknown_resource_is_404(env: Env) -> None:
    seq = env.seq
    resp = env.client.post("/workers/NOPE/check-out", headers=env.auth("front_end/4206"))
    assert resp.status_code == 404 and resp.json()["rule"] == "exists"
    assert env.client.get("/jobs/NOPE", headers=env.auth("auditor/4206")).status_code == 404
    assert env.client.get("/nowhere").json()["rule"] == "route"
    assert env.seq == seq


DEEP = b'{"worker_id": "WB", "personal": ' + b"[" * 1000 + b"]" * 1000 + b"}"


@pytest.mark.parametrize(
    ("content", "rule", "status", "field"),
    [
        (b"{not json", "json", 400, "body"),
        (DEEP, "depth", 400, "body"),  # 2 KB of nesting: refused before decoding
        (b'{"worker_id": "WB", "region": 420602}', "type", 422, "region"),
        (b'{"worker_id": "WB", "zzz": 1}', "unknown_field", 422, "zzz"),
        (b"[]", "type", 422, "body"),
        (b'{"worker_id": "' + b"x" * 70_000 + b'"}', "max_body_bytes", 413, "body"),
    ],
)
def test_malformed_or_oversize_changes_nothing(
    env: Env, content: bytes, rule: str, status: int, field: str
) -> None:
    seq = env.seq
    headers = {**env.auth("front_end/4206"), "Content-Type": "application/json"}
    resp = env.client.post("/workers", content=content, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["rule"] == rule and resp.json()["detail"]
    assert resp.json()["field"] == field
    assert env.seq == seq


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"min_pay_fen": "15000"}, "min_pay_fen", "type"),  # no strings for numbers
        ({"min_pay_fen": 2**64}, "min_pay_fen", "range"),
        ({"min_pay_fen": -1}, "min_pay_fen", "range"),
        ({"home": {"lat": 32.0, "lng": 112.1, "alt": 5}}, "home.alt", "unknown_field"),
        ({"home": {"lat": "1e400", "lng": 112.1}}, "home.lat", "range"),  # sent as 1e400: inf
        ({"skills": ["moving"] * 17}, "skills", "max_length"),
        ({"travel_mode": "teleport"}, "travel_mode", "enum"),
        ({"worker_id": "13812345678"}, "worker_id", "id_is_pii"),
    ],
)
def test_bounds_name_field_and_rule(env: Env, body: dict, field: str, rule: str) -> None:
    import json

    seq = env.seq
    content = json.dumps({**_worker("WB1"), **body}).replace('"1e400"', "1e400")
    headers = {**env.auth("front_end/4206"), "Content-Type": "application/json"}
    resp = env.client.post("/workers", content=content.encode(), headers=headers)
    assert resp.status_code == 422, resp.text
    assert (resp.json()["field"], resp.json()["rule"]) == (field, rule)
    assert env.seq == seq


def test_error_text_never_echoes_a_large_value(env: Env) -> None:
    big = "营" * 5000
    for body in ({"travel_mode": big}, {big: 1}):
        resp = env.client.post(
            "/workers", json={**_worker("WB2"), **body}, headers=env.auth("front_end/4206")
        )
        assert resp.status_code == 422 and len(resp.text) < 1000, resp.text
        assert "营" * 41 not in resp.text


def test_body_must_be_json(env: Env) -> None:
    seq = env.seq
    resp = env.client.post(
        "/workers",
        content=b"worker_id=W9",
        headers={**env.auth("front_end/4206"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415 and resp.json()["rule"] == "content_type"
    assert env.seq == seq


def test_role_is_checked_before_the_body(env: Env) -> None:
    resp = env.client.post("/stations", content=b"{not json", headers=env.auth("front_end/4206"))
    assert resp.status_code == 403 and resp.json()["rule"] == "role"


def test_staff_and_station_come_from_the_token(env: Env) -> None:
    """ReviewJob.staff_id/station_id are never taken from the body."""
    resp = env.client.post(
        "/jobs/JH/review",
        json={"approve": True, "station_id": "S2", "staff_id": "someone"},
        headers=env.auth("station_staff/4206"),
    )
    assert resp.status_code == 422 and resp.json()["rule"] == "unknown_field"


def test_page_size_is_bounded(env: Env) -> None:
    headers = env.auth("front_end/4206")
    resp = env.client.get("/hall?lat=32.009&lng=112.122&limit=201", headers=headers)
    assert resp.status_code == 400 and resp.json()["field"] == "limit"
    resp = env.client.get("/hall?lat=32.009&lng=112.122&limit=1", headers=headers)
    assert resp.json()["count"] == 1
    assert env.client.get("/hall?lat=1.0&lng=1.0", headers=headers).json()["rule"] == (
        "china_mainland"
    )
    hong_kong = env.client.get("/hall?lat=22.28&lng=114.16", headers=headers).json()
    assert hong_kong["rule"] == "china_mainland" and "港澳台" in hong_kong["detail"]


def test_hall_search_and_navigation(env: Env) -> None:
    headers = env.auth("front_end/4206")
    hall = env.client.get("/hall?lat=32.009&lng=112.122&sort=distance", headers=headers).json()
    ids = [j["job_id"] for j in hall["jobs"]]
    assert set(ids) >= {"J2", "JX"} and "JH" not in ids  # held postings are not in the hall
    dists = [j["distance_m"] for j in hall["jobs"]]
    assert dists == sorted(dists)
    found = env.client.get("/search?q=装修&lat=32.009&lng=112.122", headers=headers).json()
    assert [j["job_id"] for j in found["jobs"]] == ["J2"]
    nav = env.client.get(
        "/jobs/J2/navigation?from_lat=32.0&from_lng=112.12&mode=ebike", headers=headers
    ).json()
    assert nav["amap"].startswith("https://uri.amap.com/navigation?")
    assert "coord_type=bd09ll" in nav["baidu"] and nav["distance_m"] > 0


def test_gcj02_query_point_is_converted(env: Env) -> None:
    from engine.geo import wgs84_to_gcj02

    g_lat, g_lng = wgs84_to_gcj02(32.009, 112.122)
    headers = env.auth("front_end/4206")
    wgs = env.client.get("/hall?lat=32.009&lng=112.122", headers=headers).json()
    gcj = env.client.get(f"/hall?lat={g_lat}&lng={g_lng}&datum=gcj02", headers=headers).json()
    assert [j["distance_m"] for j in gcj["jobs"]] == [j["distance_m"] for j in wgs["jobs"]]


def test_stations_geojson(env: Env) -> None:
    resp = env.client.get("/stations", headers=env.auth("auditor/4206"))
    assert resp.headers["content-type"].startswith("application/geo+json")
    fc = resp.json()
    assert fc["type"] == "FeatureCollection"
    s1 = next(f for f in fc["features"] if f["id"] == "S1")
    assert s1["geometry"] == {"type": "Point", "coordinates": [112.122, 32.009]}  # [lng, lat]
    assert s1["properties"]["region"] == "420602"


def test_offers_are_shown_only_to_their_worker(env: Env) -> None:
    headers = env.auth("front_end/4206")
    # W2 checks in again elsewhere: its events are shown; a posting shows no one's offers
    resp = env.client.post(
        "/jobs",
        json={"job_id": "JV", "employer_id": "E1", "station_id": "S1", "title": "搬运",
              "skill": "moving", "headcount": 1, "pay_fen": 30000, "start_ms": 1795392000000,
              "end_ms": 1795413600000, "location": {"lat": 32.0095, "lng": 112.1225}},
        headers=headers,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert {e["type"] for e in body["events"]} <= {"JobSubmitted", "JobPublished"}
    assert all("worker_id" not in e for e in body["events"])
    offers = env.client.get("/workers/W2/offers", headers=headers).json()
    assert {o["job_id"] for o in offers} >= {"J2"}
    assert all(o["status"] == "live" for o in offers)


def test_hire_contact_only_for_the_hired_worker(env: Env) -> None:
    headers = env.auth("front_end/4206")
    hire = q(env.ids["H1"])
    resp = env.client.get(f"/workers/W1/hires/{hire}/contact", headers=headers)
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    assert resp.json()["contact_mobile"] == "13912345678"
    # another worker of the same region asking for that hire's contact gets nothing
    other = env.client.get(f"/workers/W2/hires/{hire}/contact", headers=headers)
    assert other.status_code == 404 and "139" not in other.text
    # the hire view itself carries no contact
    view = env.client.get(f"/hires/{hire}", headers=headers)
    assert view.status_code == 200 and "1391" not in view.text
    # '~' stands for '/' in a path id
    tilde = env.ids["H1"].replace("/", "~")
    assert env.client.get(f"/hires/{tilde}", headers=headers).json()["hire_id"] == env.ids["H1"]


def test_board_json_and_page(env: Env) -> None:
    board = env.client.get("/board/S1/jobs").json()
    assert board["station_name"] == "襄阳市零工总站"
    row = next(j for j in board["jobs"] if j["job_id"] == "J2")
    assert row == {"job_id": "J2", "title": "装修搬运工", "address": "", "pay": "300 元/天",
                   "total": "共 1 天，预计 300 元", "left": 2, "start": "今天 08:00",
                   "time": row["time"], "distance": "150 米 · 步行 3 分钟",
                   "start_ms": row["start_ms"], "distance_m": 150, "station_id": "S1",
                   "station": "襄阳市零工总站"}  # fmt: skip
    assert row["time"] == "11月23日 08:00–14:00"
    page = env.client.get("/board/S1")
    assert page.headers["content-type"].startswith("text/html")
    assert "装修搬运工" in page.text and "300 元/天" in page.text and "还需 2 人" in page.text
    assert "JH" not in [j["job_id"] for j in board["jobs"]]  # held: not on the board
    assert env.client.get("/board/NOPE").status_code == 404


def test_metrics_use_route_templates(env: Env) -> None:
    env.client.get("/workers/W1", headers=env.auth("front_end/4206"))
    env.client.post(
        "/workers", json={**_worker("WM1"), "personal": {"mobile": "1"}},
        headers=env.auth("front_end/4206"),
    )  # fmt: skip
    text = env.client.get("/metrics", headers=env.auth("auditor/4206")).text
    assert (
        'lingong_http_requests_total{method="GET",route="/workers/{worker_id}",status="200"}'
        in text
    )
    assert "lingong_command_seconds_bucket" in text and "lingong_queue_depth" in text
    assert 'lingong_refusals_total{command="RegisterWorker",rule="length"}' in text
    assert "lingong_internal_errors" in text and "lingong_ready 1.0" in text
    assert "lingong_snapshots_rejected 0.0" in text
    assert "W1" not in text and "13611112222" not in text


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("front_end/4206", 403)])
def test_metrics_need_an_auditor_or_admin(env: Env, token: str | None, status: int) -> None:
    headers = env.auth(token) if token else {}
    resp = env.client.get("/metrics", headers=headers)
    assert resp.status_code == status and "lingong_" not in resp.text
    assert env.client.get("/metrics", headers=env.auth("admin/4201")).status_code == 200


def test_liveness_and_readiness(env: Env) -> None:
    assert env.client.get("/healthz").json()["status"] == "ok"
    ready = env.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "seq": env.seq}


def test_readiness_names_what_stopped(tmp_path) -> None:
    """/readyz and lingong_ready follow EngineService.ready and Runtime.ready."""
    env = make_env(tmp_path)
    try:
        auditor = env.auth("auditor/4206")
        assert "lingong_ready 1.0" in env.client.get("/metrics", headers=auditor).text
        env.service.stop()  # the writer is gone; the log still could be written
        resp = env.client.get("/readyz")
        assert resp.status_code == 503 and resp.json()["rule"] == "not_ready"
        assert resp.json()["detail"].startswith("writer:"), resp.text
        assert "lingong_ready 0.0" in env.client.get("/metrics", headers=auditor).text
        env.runtime.halt(OSError("the disk went away"))  # the log cannot be written
        resp = env.client.get("/readyz")
        assert resp.status_code == 503 and resp.json()["detail"].startswith("log:"), resp.text
    finally:
        env.close()


def test_logs_are_json_lines(env: Env) -> None:
    import json

    lines = [json.loads(line) for line in env.log_text().splitlines() if line]
    assert lines and all(line["event"] == "request" for line in lines)
    assert {"route", "status", "ms", "method"} <= set(lines[-1])
    assert not any("/W1" in line["route"] for line in lines)


def test_rate_limit_per_token(tmp_path) -> None:
    env = make_env(tmp_path, limits=Limits(rate_per_s=0.001, burst=3))
    try:
        headers = env.auth("auditor/4206")
        codes = [env.client.get("/workers/W1", headers=headers).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        resp = env.client.get("/workers/W1", headers=headers)
        assert resp.json()["rule"] == "rate_limit" and int(resp.headers["retry-after"]) >= 1
        # another token has its own bucket
        assert env.client.get("/workers/W1", headers=env.auth("admin/4206")).status_code == 200
    finally:
        env.close()


def test_internal_error_is_a_problem_and_logs_no_message(env: Env, monkeypatch) -> None:
    import json

    from adapters.http import routes_registry

    def broken(state, worker_id):
        raise KeyError("13812349999 was here")

    monkeypatch.setattr(routes_registry, "worker_view", broken)
    resp = env.client.get("/workers/W1", headers=env.auth("front_end/4206"))
    assert resp.status_code == 500
    assert resp.json()["rule"] == "internal" and "1381234" not in resp.text
    logged = [json.loads(line) for line in env.log_text().splitlines()]
    unhandled = [line for line in logged if line.get("event") == "unhandled"]
    assert unhandled[-1]["exception"] == "KeyError" and unhandled[-1]["frames"]
    assert "13812349999" not in env.log_text()
    assert env.client.get("/healthz").status_code == 200  # the engine is unaffected


def test_a_core_bug_is_500_with_its_error_id_and_nothing_recorded(env: Env, monkeypatch) -> None:
    """The engine refuses only the command that hit a bug (rule `internal_error`): the
    problem names the error id of the logged traceback; the engine keeps serving."""
    import re

    from engine import events as e
    from engine import react

    original = react._REACTORS[e.WorkerCheckedIn]

    def broken(state, fact, emit) -> None:  # noqa: ANN001
        original(state, fact, emit)
        if fact.cmd_id.endswith(":boom"):
            raise ZeroDivisionError("a bug in a reaction")

    monkeypatch.setitem(react._REACTORS, e.WorkerCheckedIn, broken)
    headers = env.auth("front_end/4206")
    assert env.client.post("/workers", json=_worker("WIE1"), headers=headers).status_code == 201
    seq, errors = env.seq, env.runtime.internal_errors
    resp = env.client.post(
        "/workers/WIE1/check-in",
        json={"station_id": "S1"},
        headers={**headers, "Idempotency-Key": "boom"},
    )
    assert resp.status_code == 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["rule"] == "internal_error" and problem["type"].endswith(":internal_error")
    assert re.search(rf"\bE-{seq + 1}-[0-9a-f]{{8}}\b", problem["detail"]), problem
    assert env.seq == seq and env.runtime.internal_errors == errors + 1
    # not recorded, and the engine serves on: the same check-in under another key passes
    again = env.client.post("/workers/WIE1/check-in", json={"station_id": "S1"}, headers=headers)
    assert again.status_code == 201, again.text
    assert env.client.get("/readyz").status_code == 200


def test_token_buckets_refill_and_stay_bounded() -> None:
    from adapters.http.auth import TokenBuckets

    b = TokenBuckets(rate_per_s=2.0, burst=2)
    assert [b.take("k", now_s=0.0) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert b.take("k", now_s=0.5) == 0.0  # one token back after 0.5 s
    b.MAX_KEYS = 4
    for i in range(10):
        b.take(f"ip{i}", now_s=100.0 + i * 2)  # each key idle >= 1 s when the next comes
    assert len(b._buckets) <= 4


def test_token_buckets_hold_when_new_addresses_keep_coming() -> None:
    """Before: with every bucket still busy, each new address added one more (the table
    grew without bound) after a scan of all of them. Now: the table stays at MAX_KEYS,
    the known clients keep their buckets, and every newcomer shares one overflow bucket
    until a known one falls idle."""
    from adapters.http.auth import TokenBuckets

    b = TokenBuckets(rate_per_s=1.0, burst=2)
    b.MAX_KEYS = 3
    for k in ("a", "b", "c"):
        assert b.take(k, now_s=0.0) == 0.0
    waits = [b.take(f"ip{i}", now_s=0.5) for i in range(5)]  # a rotating client
    assert waits[:2] == [0.0, 0.0] and all(w > 0 for w in waits[2:])  # the overflow's burst
    assert len(b) == 3 and list(b._buckets) == ["a", "b", "c"]
    assert b.take("a", now_s=0.5) == 0.0  # a known client is not slowed by the newcomers
    # once "b" and "c" are full again (2 s idle) they make room, oldest first
    assert b.take("ip-late", now_s=2.0) == 0.0
    assert list(b._buckets) == ["a", "ip-late"]  # "a" was used at 0.5: still kept
    assert len(b) <= 3


def test_a_key_reused_with_another_request_is_refused(env: Env) -> None:
    headers = {**env.auth("front_end/4206"), "Idempotency-Key": "reuse-1"}
    assert env.client.post("/workers", json=_worker("WR1"), headers=headers).status_code == 201
    seq = env.seq
    for method, path, body in (
        ("POST", "/workers", _worker("WR2")),  # another body
        ("POST", "/workers/WR1/check-out", None),  # another endpoint
    ):
        resp = env.client.request(method, path, json=body, headers=headers)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["rule"] == "idempotency_key_reused" and env.seq == seq


def test_a_torn_tail_cut_at_start_is_reported_in_metrics_and_the_log(tmp_path) -> None:
    """Issue 11: the cut of a torn tail shows in /metrics (and a warning), never silently."""
    import logging

    env = make_env(tmp_path)
    tokens = dict(env.tokens)
    env.close()
    last = sorted((tmp_path / "log").glob("*.seg"))[-1]
    last.write_bytes(last.read_bytes() + b"\xff\x00\x17")  # an append that never finished
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        runtime = Runtime(tmp_path, clock=Clock(at(7)), fsync=False)
    finally:
        logging.getLogger().removeHandler(handler)
    service = EngineService(runtime, tick_ms=0).start()
    try:
        with TestClient(create_app(service, data_dir=tmp_path)) as client:
            auditor = {"Authorization": f"Bearer {tokens['auditor/4206']}"}
            text = client.get("/metrics", headers=auditor).text
        assert "lingong_log_recovery_cut_bytes 3.0" in text
        assert any("quarantine" in r.getMessage() for r in records), [
            r.getMessage() for r in records
        ]
    finally:
        service.stop()
        runtime.close()
