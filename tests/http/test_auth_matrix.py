"""Who may do what over HTTP: every role x region x endpoint, from one table (`matrix`).

A role outside the row's roles gets 403 `role`; an allowed role with a Wuhan token on a
Xiangyang resource gets 403 `region`; an allowed role with the home token (4206; staff
bound to S1) must pass authorisation: any status but 401/403/5xx. Then the rules of
issue 11, each a test: complaints inside the hire's and the employer's region, erasure
by admin or the worker's station staff with a reason, staff check-ins at their own
station only, scope lookups that fail closed, `/metrics` behind a token. The gate checks
the role before reading the request; `engine.authz` checks role, region and station again
against the state on the writer thread.
"""

from __future__ import annotations

import pytest

from tests.http.matrix import TABLE, Row, _job, next_n
from tests.http.world import HOME, OTHER, ROLES, Env, q

CASES = [(row, role, region) for row in TABLE for role in ROLES for region in (HOME, OTHER)]


def _send(env: Env, row: Row, token: str):
    path = row.path.format(H1=q(env.ids["H1"]), O2=q(env.ids["O2"]))
    body = row.body(next_n()) if row.body is not None else None
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
    elif row.kind == "any":
        assert resp.status_code == 200, resp.text
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
                            ("/reports/progress", "/reports/{name}"),
                            ("/trainings/T0", "/trainings/{training_id}")):  # fmt: skip
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
        ("POST", "/complaints/C1/status", {"status": "investigating"}),
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
    for path in ("/board/S1", "/board/S1/jobs", "/healthz", "/readyz", "/schema/openapi.json"):
        assert env.client.get(path).status_code == 200, path
    assert env.client.get("/metrics").status_code == 401


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


# ------------------------------------------------------------------ issue 11 ---------


def _post(env: Env, path: str, body, token: str):
    before = env.seq
    resp = env.client.post(path, json=body, headers=env.auth(token))
    return resp, env.seq - before


def test_staff_check_in_at_their_own_station_only(env: Env) -> None:
    resp, grew = _post(env, "/workers/W2/check-in", {"station_id": "S2"}, "station_staff/4206")
    assert resp.status_code == 403 and resp.json()["rule"] == "station" and grew == 0
    where = {"location": {"lat": 32.0095, "lng": 112.1225}}  # by location: no station named
    resp, grew = _post(env, "/workers/W2/check-in", where, "station_staff/4206")
    assert resp.status_code == 403 and resp.json()["rule"] == "station" and grew == 0
    # a front end may check in by location (the worker's own app)
    resp, _ = _post(env, "/workers/WW/check-in", where, "front_end/4206")
    assert resp.status_code == 403 and resp.json()["rule"] == "region"


def test_complaint_must_lie_in_the_employer_and_hire_region(env: Env) -> None:
    hire = env.ids["H1"]
    # a Xiangyang token cannot flag a Wuhan employer through a complaint about a local hire
    body = {"complaint_id": "CX1", "kind": "wage_arrears", "employer_id": "EW",
            "worker_id": "W1", "hire_id": hire, "text": "拖欠工资"}  # fmt: skip
    resp, grew = _post(env, "/complaints", body, "front_end/4206")
    # refused as outside the region (403), or as not the hire's employer (422): never filed
    assert resp.status_code in (403, 422) and grew == 0, resp.text
    assert resp.json()["field"] in ("employer_id", "hire_id")
    # a Wuhan token cannot complain about a Xiangyang hire of a Wuhan employer
    resp, grew = _post(env, "/complaints", {**body, "complaint_id": "CX2"}, "front_end/4201")
    assert resp.status_code == 403 and resp.json()["rule"] == "region" and grew == 0


def test_complaint_names_its_hire(env: Env) -> None:
    body = {"complaint_id": "CX3", "kind": "wage_arrears", "employer_id": "E1", "worker_id": "W1"}
    resp, grew = _post(env, "/complaints", body, "front_end/4206")
    assert resp.status_code in (403, 422) and resp.json()["field"] == "hire_id" and grew == 0


def test_front_ends_never_erase(env: Env) -> None:
    resp = env.client.post(
        "/workers/W1/erasure", json={"reason": "x"}, headers=env.auth("front_end/4206")
    )
    assert resp.status_code == 403 and resp.json()["rule"] == "role"


def test_erasure_by_the_workers_station_staff_only(env: Env) -> None:
    before = env.seq
    resp = env.client.post(
        "/workers/W1/erasure",
        json={"reason": "本人申请"},
        headers=env.auth("station_staff/4206/S2"),
    )
    assert resp.status_code == 403 and resp.json()["rule"] == "station" and env.seq == before


def test_erasure_records_its_reason(env: Env) -> None:
    resp = env.client.post("/workers/W2/erasure", headers=env.auth("admin/4206"))
    assert resp.status_code == 422 and resp.json()["field"] == "reason"
    resp = env.client.post(
        "/workers/W2/erasure", json={"reason": "本人申请删除"}, headers=env.auth("admin/4206")
    )
    assert resp.status_code == 200, resp.text
    (erased,) = [ev for ev in resp.json()["events"] if ev["type"] == "WorkerErased"]
    assert erased["reason"] == "本人申请删除"


def test_erasure_has_one_path_and_its_reason_is_in_the_body(env: Env) -> None:
    """One way to erase: POST /workers/{id}/erasure with {reason} (no DELETE, no ?reason=)."""
    schema = env.client.get("/schema/openapi.json").json()
    erasures = [
        (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == "EraseWorker"
    ]
    assert erasures == [("/workers/{worker_id}/erasure", "post")]
    assert not any("delete" in item for item in schema["paths"].values())
    op = schema["paths"]["/workers/{worker_id}/erasure"]["post"]
    assert "reason" not in {p["name"] for p in op.get("parameters", [])}
    assert op["requestBody"]["required"] is True
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["required"] == ["reason"] and body["properties"]["reason"]["minLength"] == 1
    resp = env.client.delete("/workers/W2?reason=x", headers=env.auth("admin/4206"))
    assert resp.status_code == 405


def test_command_scope_is_read_from_the_state_not_the_index(env: Env) -> None:
    """A resource missing from the HTTP scope index is still refused to another region."""
    index = env.client.app.state["api"].index
    region = index.worker_region.pop("W1")
    try:
        resp, grew = _post(env, "/workers/W1/check-out", None, "front_end/4201")
        assert resp.status_code == 403 and resp.json()["rule"] == "region" and grew == 0
    finally:
        index.worker_region["W1"] = region


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/workers/NOPE/check-out", None, "worker_id"),
        ("/jobs/NOPE/cancel", {}, "job_id"),
        ("/hires/NOPE/arrival", None, "hire_id"),
        ("/complaints/NOPE/resolution", {"upheld": True}, "complaint_id"),
        ("/stations/NOPE/bell", None, "station_id"),
        ("/employers/NOPE/flags", {"reason": "fraud"}, "employer_id"),
    ],
)
def test_unknown_resources_fail_closed(env: Env, path: str, body, field: str) -> None:
    token = "station_staff/4206" if path.startswith("/employers") else "admin/4206"
    for who in (token, "admin/*"):
        resp, grew = _post(env, path, body, who)
        assert resp.status_code == 404 and resp.json()["rule"] == "exists", resp.text
        assert resp.json()["field"] == field and grew == 0


def test_sms_gateway_answers_offers_only(env: Env) -> None:
    resp, grew = _post(env, "/workers/W1/check-out", None, "sms_gateway/4206")
    assert resp.status_code == 403 and resp.json()["rule"] == "role" and grew == 0
    resp = env.client.get("/workers/W1", headers=env.auth("sms_gateway/4206"))
    assert resp.status_code == 403 and resp.json()["rule"] == "role"
