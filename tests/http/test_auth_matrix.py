"""Who may do what: every role x region x endpoint, from one table.

Each row names an endpoint, the request (aimed at a Xiangyang resource: worker W1/W2/WX,
station S1, jobs J1/J2/JH/JX, hire H1, employer E1, complaint C1), the roles allowed
and how the region applies:
- "own": the resource belongs to Xiangyang, so a Wuhan token (4201) is refused `region`;
- "filter": no single resource; a Wuhan token is served, but sees no Xiangyang data.
A role outside the row's roles gets 403 `role`; an allowed role with the home token
(4206; staff bound to S1) must pass authorisation: any status but 401/403/5xx.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from tests.http.world import HOME, OTHER, ROLES, Env, q

WRITE = frozenset({"front_end", "station_staff", "admin"})
READ = frozenset(ROLES)
_n = itertools.count()


class Row(NamedTuple):
    name: str
    method: str
    path: str  # may hold {H1}, {O2}
    body: Callable[[int], Any] | None
    roles: frozenset[str]
    kind: str  # "own" | "filter"


def _worker(n: int) -> dict:
    return {"worker_id": f"WN{n}", "region": "420602", "skills": ["moving"], "min_pay_fen": 100,
            "birth_year": 1980, "personal": {"mobile": "13800001111"},
            "home": {"lat": 32.009, "lng": 112.122}}  # fmt: skip


def _job(n: int) -> dict:
    return {"job_id": f"JN{n}", "employer_id": "E1", "station_id": "S1", "title": "搬运",
            "skill": "moving", "headcount": 1, "pay_fen": 30000, "start_ms": 1795392000000,
            "end_ms": 1795413600000, "location": {"lat": 32.01, "lng": 112.123}}  # fmt: skip


TABLE: list[Row] = [
    Row("register_worker", "POST", "/workers", _worker, WRITE, "own"),
    Row("get_worker", "GET", "/workers/W1", None, READ, "own"),
    Row("update_worker", "PATCH", "/workers/W1", lambda n: {"min_pay_fen": 15000}, WRITE, "own"),
    Row(
        "erase_worker",
        "DELETE",
        "/workers/WX?reason=%E6%9C%AC%E4%BA%BA%E7%94%B3%E8%AF%B7",
        None,
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "register_employer",
        "POST",
        "/employers",
        lambda n: {"employer_id": f"EN{n}", "kind": "person", "name": "王五", "region": "420602"},
        WRITE,
        "own",
    ),  # fmt: skip
    Row("get_employer", "GET", "/employers/E1", None, READ, "own"),
    Row(
        "flag_employer",
        "POST",
        "/employers/E1/flags",
        lambda n: {"reason": "fraud"},
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "register_station",
        "POST",
        "/stations",
        lambda n: {
            "station_id": f"SN{n}",
            "name": "新站",
            "kind": "hub",
            "region": "420602",
            "location": {"lat": 32.02, "lng": 112.13},
        },
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "station_status",
        "POST",
        "/stations/S1/status",
        lambda n: {"status": "approved"},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "set_policy",
        "POST",
        "/policies",
        lambda n: {"region": "420602", "policy": {}},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row("check_in", "POST", "/workers/W2/check-in", lambda n: {"station_id": "S1"}, WRITE, "own"),
    Row("check_out", "POST", "/workers/W1/check-out", None, WRITE, "own"),
    Row("submit_job", "POST", "/jobs", _job, WRITE, "own"),
    Row("get_job", "GET", "/jobs/J1", None, READ, "own"),
    Row(
        "review_job",
        "POST",
        "/jobs/JH/review",
        lambda n: {"approve": True},
        frozenset({"station_staff"}),
        "own",
    ),  # fmt: skip
    Row("cancel_job", "POST", "/jobs/JX/cancel", lambda n: {"reason": "不需要了"}, WRITE, "own"),
    Row(
        "ring_bell", "POST", "/stations/S1/bell", None, frozenset({"station_staff", "admin"}), "own"
    ),  # fmt: skip
    Row("list_offers", "GET", "/workers/W2/offers", None, READ, "own"),
    Row("accept_offer", "POST", "/workers/W2/offers/{O2}/accept", None, WRITE, "own"),
    Row("decline_offer", "POST", "/workers/W2/offers/{O2}/decline", lambda n: {}, WRITE, "own"),
    Row("list_hires", "GET", "/workers/W1/hires", None, READ, "own"),
    Row("get_hire", "GET", "/hires/{H1}", None, READ, "own"),
    Row(
        "contact",
        "GET",
        "/workers/W1/hires/{H1}/contact",
        None,
        frozenset({"front_end", "station_staff"}),
        "own",
    ),  # fmt: skip
    Row("arrival", "POST", "/hires/{H1}/arrival", None, WRITE, "own"),
    Row("no_show", "POST", "/hires/{H1}/no-show", None, WRITE, "own"),
    Row("completion", "POST", "/hires/{H1}/completion", None, WRITE, "own"),
    Row("wage", "POST", "/hires/{H1}/wage", lambda n: {"amount_fen": 30000}, WRITE, "own"),
    Row(
        "rating", "POST", "/hires/{H1}/rating", lambda n: {"by": "worker", "stars": 5}, WRITE, "own"
    ),  # fmt: skip
    Row(
        "file_complaint",
        "POST",
        "/complaints",
        lambda n: {
            "complaint_id": f"CN{n}",
            "kind": "safety",
            "employer_id": "E1",
            "worker_id": "W1",
            "hire_id": "J1/W1",
        },
        WRITE,
        "own",
    ),  # fmt: skip
    Row(
        "resolve_complaint",
        "POST",
        "/complaints/C1/resolution",
        lambda n: {"upheld": False},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row("station", "GET", "/stations/S1", None, READ, "own"),
    Row(
        "navigation", "GET", "/jobs/J2/navigation?from_lat=32.0&from_lng=112.12", None, READ, "own"
    ),  # fmt: skip
    Row(
        "report",
        "GET",
        "/reports/progress?month=2026-11&region=420602",
        None,
        frozenset({"auditor", "admin"}),
        "own",
    ),  # fmt: skip
    Row("hall", "GET", "/hall?lat=32.009&lng=112.122&radius_m=5000", None, READ, "filter"),
    Row("search", "GET", "/search?q=%E6%90%AC&lat=32.009&lng=112.122", None, READ, "filter"),
    Row("stations", "GET", "/stations?status=any", None, READ, "filter"),
]

CASES = [(row, role, region) for row in TABLE for role in ROLES for region in (HOME, OTHER)]


def _send(env: Env, row: Row, token: str):
    path = row.path.format(H1=q(env.ids["H1"]), O2=q(env.ids["O2"]))
    body = row.body(next(_n)) if row.body is not None else None
    headers = {"Authorization": f"Bearer {env.tokens[token]}"}
    return env.client.request(row.method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("row", "role", "region"),
    CASES,
    ids=[f"{r.name}-{role}-{region}" for r, role, region in CASES],
)
def test_matrix(env: Env, row: Row, role: str, region: str) -> None:
    before = env.seq
    resp = _send(env, row, f"{role}/{region}")
    assert resp.status_code < 500, resp.text
    if role not in row.roles:
        assert resp.status_code == 403, resp.text
        assert resp.json()["rule"] == "role"
        assert env.seq == before  # refused: nothing appended
    elif region == OTHER and row.kind == "own":
        assert resp.status_code == 403, resp.text
        assert resp.json()["rule"] == "region"
        assert env.seq == before
    else:
        assert resp.status_code not in (401, 403), resp.text
        if row.kind == "filter" and region == OTHER:
            assert "4206" not in resp.text and "S1" not in resp.text, resp.text
        if row.kind == "filter" and region == HOME:
            assert resp.status_code == 200
            assert "420602" in resp.text  # the home token does see Xiangyang data


def test_matrix_covers_every_authenticated_route(env: Env) -> None:
    schema = env.client.get("/schema/openapi.json").json()
    secured = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if op.get("security")
    }
    covered = set()
    for row in TABLE:
        template = row.path.split("?")[0].replace("{H1}", "{hire_id}").replace("{O2}", "{offer_id}")
        for name in ("W1", "W2", "WX"):
            template = template.replace(f"/workers/{name}", "/workers/{worker_id}")
        for name, param in (("/employers/E1", "/employers/{employer_id}"),
                            ("/stations/S1", "/stations/{station_id}"),
                            ("/complaints/C1", "/complaints/{complaint_id}"),
                            ("/reports/progress", "/reports/{name}")):  # fmt: skip
            template = template.replace(name, param)
        for name in ("J1", "J2", "JH", "JX"):
            template = template.replace(f"/jobs/{name}", "/jobs/{job_id}")
        covered.add((row.method, template))
    assert secured - covered == set()
    assert len(TABLE) == len(secured)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/jobs/JH/review", {"approve": False}),
        ("POST", "/jobs/JX/cancel", {}),
        ("POST", "/stations/S1/bell", None),
        ("POST", "/jobs", _job(999)),
        ("POST", "/workers/W2/check-in", {"station_id": "S1"}),
        ("GET", "/workers/W1/hires/{H1}/contact", None),
        ("POST", "/hires/{H1}/arrival", None),
    ],
)
def test_staff_of_another_station_is_refused(env: Env, method: str, path: str, body) -> None:
    before = env.seq
    path = path.format(H1=q(env.ids["H1"]))
    resp = env.client.request(method, path, json=body, headers=env.auth("station_staff/4206/S2"))
    assert resp.status_code == 403, resp.text
    assert resp.json()["rule"] == "station" and resp.json()["type"].endswith(":station")
    assert env.seq == before


def test_staff_read_their_whole_region(env: Env) -> None:
    headers = env.auth("station_staff/4206/S2")
    assert env.client.get("/jobs/J2", headers=headers).status_code == 200
    assert env.client.get("/stations/S1", headers=headers).status_code == 200


def test_nationwide_admin_reads_both_regions(env: Env) -> None:
    headers = env.auth("admin/*")
    assert env.client.get("/workers/WW", headers=headers).status_code == 200
    assert env.client.get("/workers/W1", headers=headers).status_code == 200
    stations = env.client.get("/stations?status=any", headers=headers).json()
    assert {f["id"] for f in stations["features"]} >= {"S1", "S2", "SW"}


def test_wuhan_token_sees_only_wuhan(env: Env) -> None:
    headers = env.auth("front_end/4201")
    hall = env.client.get("/hall?lat=30.593&lng=114.305&radius_m=5000", headers=headers).json()
    assert [j["job_id"] for j in hall["jobs"]] == ["JW"]
    assert env.client.get("/jobs/JW", headers=headers).status_code == 200
    assert env.client.get("/jobs/JW", headers=env.auth("front_end/4206")).status_code == 403


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic abc", "Bearer lg1.00000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     "Bearer " + "x" * 500],
)  # fmt: skip
def test_missing_or_bad_token_is_401(env: Env, header: str | None) -> None:
    before = env.seq
    headers = {} if header is None else {"Authorization": header}
    resp = env.client.post("/workers/W1/check-out", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["rule"] == "token" and resp.json()["field"] == "Authorization"
    assert env.seq == before


def test_board_and_ops_need_no_token(env: Env) -> None:
    for path in ("/board/S1", "/board/S1/jobs", "/healthz", "/metrics", "/schema/openapi.json"):
        assert env.client.get(path).status_code == 200, path


def test_reads_check_the_region_on_the_writer_thread_too(env: Env) -> None:
    """In the instant before the listener records a new worker, a read is still scoped."""
    index = env.client.app.state["api"].index
    region = index.worker_region.pop("W1")  # as if W1's record were not yet folded in
    try:
        for path in ("/workers/W1", "/workers/W1/offers", "/workers/W1/hires"):
            resp = env.client.get(path, headers=env.auth("auditor/4201"))
            assert resp.status_code == 403 and resp.json()["rule"] == "region", path
        assert env.client.get("/workers/W1", headers=env.auth("auditor/4206")).status_code == 200
    finally:
        index.worker_region["W1"] = region
