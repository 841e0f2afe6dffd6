"""NATS callers are authenticated and scoped like HTTP callers (issue 11's audit cases).

The HTTP world (`tests.http.world`: Xiangyang and Wuhan, tokens of every role) is served
over NATS by a micro service on the same engine. Every command row of the HTTP
authorisation matrix is sent over NATS and must get the same answer; then the audit's
cases: anonymous commands, client time, another city's records on a city partition, ids
that could pre-empt HTTP keys, unbounded values and huge bodies, and a service that
survives a disconnect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import nats.errors
import pytest

from adapters.gate.routes import ROUTES, Route
from adapters.nats.bridge import NatsBridge
from adapters.nats.micro import api_subject
from tests.http.matrix import TABLE, Row, next_n
from tests.http.world import HOME, OTHER, ROLES, Env, make_env, q
from tests.nats.helpers import ask, unique
from tests.nats.servers import NatsServer, start_server


class NatsEnv:
    def __init__(self, env: Env, url: str, partition: str) -> None:
        self.env = env
        self.url = url
        self.partition = partition
        self.bridges: list[NatsBridge] = []

    def serve(self, partition: str) -> NatsBridge:
        bridge = NatsBridge(
            self.env.service,
            self.url,
            partition=partition,
            publish=False,
            data_dir=self.env.data_dir,
        ).start()
        self.bridges.append(bridge)
        return bridge

    def ask(self, endpoint: str, body: object, token: str | None, *, key: str | None = None,
            partition: str | None = None) -> tuple[int, dict, dict]:  # fmt: skip
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        subject = api_subject(partition or self.partition, endpoint)
        data, headers = ask(self.url, subject, raw, self.env.tokens.get(token, token), key=key)
        code = int(headers.get("Nats-Service-Error-Code", "200"))
        return code, (json.loads(data) if data else {}), headers


@pytest.fixture(scope="module")
def nenv(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsEnv]:
    root = tmp_path_factory.mktemp("nats-auth")
    env = make_env(root)
    n = NatsEnv(env, nats_server.url, unique(root, "a"))
    n.serve(n.partition)
    try:
        yield n
    finally:
        for bridge in n.bridges:
            bridge.close()
        env.close()


def _route_of(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for route in ROUTES:
        pattern = "^" + re.sub(r"\{([a-z_]+)\}", r"(?P<\1>[^/]+)", route.path) + "$"
        m = re.match(pattern, path)
        if route.method == method and m:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    raise KeyError(f"{method} {path}")


COMMAND_ROWS = [row for row in TABLE if row.method != "GET"]
CASES = [(row, role, region) for row in COMMAND_ROWS for role in ROLES for region in (HOME, OTHER)]


@pytest.mark.parametrize(
    ("row", "role", "region"), CASES, ids=[f"{r.name}-{ro}-{re_}" for r, ro, re_ in CASES]
)
def test_matrix_over_nats(nenv: NatsEnv, row: Row, role: str, region: str) -> None:
    env = nenv.env
    route, params = _route_of(row.method, row.path.format(H1=q(env.ids["H1"]), O2=q(env.ids["O2"])))
    base = row.body(next_n()) if row.body is not None else None
    body = {**(base or {}), **params}
    before = env.seq
    code, reply, headers = nenv.ask(f"cmd.{route.name}", body, f"{role}/{region}")
    assert code < 500, headers
    if role not in row.roles:
        assert (code, reply["rule"]) == (403, "role"), reply
        assert env.seq == before
    elif region == OTHER and row.kind == "own":
        assert code == 403, reply
        rule = reply["rule"] if "rule" in reply else reply["refusal"]["rule"]
        assert rule == "region" and env.seq == before
    else:
        assert code not in (401, 403), (headers, reply)


def test_matrix_covers_every_command_route() -> None:
    covered = {_route_of(r.method, r.path.format(H1="H", O2="O"))[0].name for r in COMMAND_ROWS}
    assert covered == {r.name for r in ROUTES}


# ------------------------------------------------------------------ the audit --------


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("cmd.ChangeStationStatus", {"station_id": "S1", "status": "suspended", "reason": "x"}),
        ("cmd.EraseWorker", {"worker_id": "W1"}),
        ("cmd.SetPolicy", {"region": "", "policy": {"wait_cap_ms": 0}}),
        ("cmd.AcceptOffer", {"worker_id": "W2", "offer_id": "J2/1/W2"}),  # a forged SMS accept
    ],
)
@pytest.mark.parametrize(
    "token", [None, "lg1.00000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
def test_anonymous_commands_are_refused(nenv: NatsEnv, endpoint: str, body: dict, token) -> None:
    before = nenv.env.seq
    code, reply, headers = nenv.ask(endpoint, body, token)
    assert (code, reply["rule"], reply["field"]) == (401, "token", "Authorization")
    assert nenv.env.seq == before


def test_no_client_time_and_no_advance(nenv: NatsEnv) -> None:
    env = nenv.env
    last_ts = env.service.read(lambda s: s.last_ts_ms)
    year_2100 = 4_102_444_800_000
    for endpoint in ("cmd.Advance", "cmd"):  # no endpoint takes a time or a tagged command
        with pytest.raises(nats.errors.NoRespondersError):
            nenv.ask(
                endpoint, {"type": "Advance", "command_id": "t", "ts_ms": year_2100}, "admin/*"
            )
    code, reply, _ = nenv.ask("cmd.CheckOut", {"worker_id": "W1", "ts_ms": year_2100}, "admin/*")
    assert (code, reply["rule"], reply["field"]) == (422, "unknown_field", "ts_ms")
    assert env.service.read(lambda s: s.last_ts_ms) == last_ts


def test_a_city_partition_refuses_other_regions(nenv: NatsEnv) -> None:
    env = nenv.env
    nenv.serve("4206")
    before = env.seq
    worker = {"worker_id": "WZ1", "region": "420102", "skills": ["moving"], "min_pay_fen": 100,
              "personal": {"mobile": "13800001111"}, "home": {"lat": 30.593, "lng": 114.305}}  # fmt: skip
    code, reply, _ = nenv.ask("cmd.RegisterWorker", worker, "admin/*", partition="4206")
    assert code == 403 and reply["refusal"]["rule"] == "region" and env.seq == before
    code, reply, _ = nenv.ask("q.caller", {}, "front_end/4201", partition="4206")
    assert (code, reply["rule"]) == (403, "region")
    code, reply, _ = nenv.ask("q.worker", {"worker_id": "WW"}, "admin/*", partition="4206")
    assert (code, reply["rule"]) == (403, "region")  # a Wuhan worker, seen from Xiangyang
    code, reply, _ = nenv.ask("q.caller", {}, "admin/*", partition="4206")
    assert code == 200 and reply["region"] == "4206" and reply["nationwide"] is False


def test_a_nats_id_cannot_preempt_an_http_key(nenv: NatsEnv) -> None:
    env = nenv.env
    body = {"employer_id": "EK1", "kind": "person", "name": "王五", "region": "420602"}
    code, first, _ = nenv.ask("cmd.RegisterEmployer", body, "front_end/4206", key="k-pre")
    assert code == 200 and first["ok"] and not first["duplicate"]
    # another caller's HTTP request with the same key is its own command
    other = {**body, "employer_id": "EK2"}
    headers = {**env.auth("station_staff/4206"), "Idempotency-Key": "k-pre"}
    resp = env.client.post("/employers", json=other, headers=headers)
    assert resp.status_code == 201 and resp.json()["duplicate"] is False
    assert resp.json()["command_id"] != first["events"][0]["cmd_id"]
    # the same caller over HTTP with the same key and request: the same command, a replay
    headers = {**env.auth("front_end/4206"), "Idempotency-Key": "k-pre"}
    again = env.client.post("/employers", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["duplicate"] is True
    assert again.json()["seq"] == first["seq"]


def test_unbounded_values_and_huge_bodies_are_refused(nenv: NatsEnv) -> None:
    env = nenv.env
    before = env.seq
    worker = {"worker_id": "WB9", "region": "420602", "skills": ["moving"], "min_pay_fen": 2**64,
              "birth_year": 1980,
              "personal": {"mobile": "13800001111"}, "home": {"lat": 32.0, "lng": 112.1}}  # fmt: skip
    code, reply, _ = nenv.ask("cmd.RegisterWorker", worker, "front_end/4206")
    assert (code, reply["field"], reply["rule"]) == (422, "min_pay_fen", "range")
    code, reply, headers = nenv.ask(
        "cmd.CheckOut", {"worker_id": "W1", "ts_ms": 2**64}, "front_end/4206"
    )
    assert code == 422 and reply["rule"] == "unknown_field"
    huge = {**worker, "min_pay_fen": 100, "priority_group": "x" * 1_000_000}  # over any frame
    code, reply, headers = nenv.ask("cmd.RegisterWorker", huge, "front_end/4206")
    assert (code, reply["rule"]) == (413, "max_body_bytes")
    assert env.seq == before and env.runtime.stopped is None
    # the engine keeps serving
    code, reply, _ = nenv.ask(
        "cmd.RegisterWorker", {**worker, "min_pay_fen": 100}, "front_end/4206"
    )
    assert code == 200 and reply["ok"] and env.seq == before + 1, reply


def test_error_replies_never_echo_large_values(nenv: NatsEnv) -> None:
    big = "q" * 60_000  # under the body limit: decoded and refused
    for body in ({"worker_id": "W1", "location": {"lat": 1, "lng": 2, "datum": big}},
                 {"worker_id": "W1", big: 1}):  # fmt: skip
        code, reply, headers = nenv.ask("cmd.CheckIn", body, "front_end/4206")
        assert code == 422
        assert len(headers["Nats-Service-Error"]) <= 240 and "q" * 41 not in json.dumps(reply)
    code, _, _ = nenv.ask("cmd.CheckIn", {"worker_id": "W1", "x": "y" * 2_000_000}, "admin/*")
    assert code == 413  # a 2 MB value: not read, not echoed
    assert all(b.ready for b in nenv.bridges)  # still connected
    code, reply, _ = nenv.ask("q.caller", {}, "front_end/4206")
    assert code == 200 and reply["role"] == "front_end"


def test_the_micro_service_survives_a_disconnect(tmp_path: Path) -> None:
    """Kill the NATS server: /readyz says so; restart it: the service answers again."""
    from adapters.http.app import create_app

    server = start_server(tmp_path / "nats")
    env = make_env(tmp_path / "data")
    bridge = NatsBridge(env.service, server.url, partition="rc", publish=False,
                        data_dir=env.data_dir).start()  # fmt: skip
    app = create_app(
        env.service, data_dir=env.data_dir, ready_checks={"nats": lambda: bridge.ready}
    )
    try:
        from litestar.testing import TestClient

        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            server.kill()
            assert bridge.wait_ready(False, 30)
            resp = client.get("/readyz")
            assert resp.status_code == 503 and "nats" in resp.json()["detail"]
            server.start()
            assert bridge.wait_ready(True, 60)
            assert client.get("/readyz").status_code == 200
        data, headers = ask(server.url, api_subject("rc", "q.caller"), b"{}",
                            env.tokens["auditor/4206"])  # fmt: skip
        assert json.loads(data)["role"] == "auditor" and bridge.disconnects >= 1
    finally:
        bridge.close()
        env.close()
        server.kill()
