"""The NATS micro service: the same gate and results as in process, clear errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

import msgspec
import pytest

from adapters.gate.bodies import request_of
from adapters.gate.gate import Gate, GateError
from adapters.gate.routes import route_of
from adapters.nats.bridge import NatsBridge
from adapters.nats.micro import ResultWire, api_subject
from adapters.shell.runtime import ManualClock, Result, Runtime
from engine import commands as c
from engine.authz import SYSTEM, Caller
from tests.nats.helpers import (
    T_DEFAULT,
    Tokens,
    ask,
    connect,
    engine_service,
    morning_commands,
    run,
    strip_sealed,
    unique,
)
from tests.nats.servers import NatsServer

_wire = msgspec.json.Decoder(ResultWire)
ADMIN_ONLY = {"SetPolicy", "RegisterStation", "ChangeStationStatus"}
STAFF = {"ReviewJob", "RingBell"}


@pytest.fixture
def api(nats_server: NatsServer, tmp_path: Path):
    clock = ManualClock(T_DEFAULT)
    data = tmp_path / "engine"
    service = engine_service(data, clock=clock)
    partition = unique(tmp_path, "m")
    tokens = Tokens(data, service)
    bridge = NatsBridge(service, nats_server.url, partition=partition, publish=False, data_dir=data)
    bridge.start()
    try:
        yield service, partition, tokens, clock
    finally:
        bridge.close()
        service.stop()
        service.runtime.close()


def _caller_for(cmd: c.Command, tokens: Tokens) -> str:
    name = type(cmd).__name__
    if name in ADMIN_ONLY:
        return tokens.token("admin", nationwide=True)
    if name in STAFF:
        return tokens.token("station_staff", "42", station=cmd.station_id)  # type: ignore[attr-defined]
    return tokens.token("front_end", "42")


def test_every_command_gets_the_in_process_result(
    api, nats_server: NatsServer, tmp_path: Path
) -> None:
    """The morning through NATS == the same requests through the gate in process."""
    service, partition, tokens, clock = api
    replies: list[tuple[c.Command, str, dict, dict]] = []

    async def drive() -> list[c.Command]:
        nc = await connect(nats_server.url)
        loop = asyncio.get_running_loop()

        async def ask_one(cmd: c.Command, token: str) -> tuple[bytes, dict]:
            route = route_of(type(cmd).__name__)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": cmd.command_id}
            msg = await nc.request(
                route.nats_subject(partition), request_of(cmd, route), timeout=30, headers=headers
            )
            return msg.data, dict(msg.headers or {})

        def execute(cmd: c.Command) -> Result:  # on a helper thread: the morning is sync
            clock.set(cmd.ts_ms)  # the server stamps time: the morning's time is its clock
            if isinstance(cmd, c.Advance):  # no endpoint: time passes by the server's ticks
                res = service.execute(cmd)
                replies.append((cmd, "", strip_sealed(res), {}))
                return res
            token = _caller_for(cmd, tokens)
            data, headers = asyncio.run_coroutine_threadsafe(ask_one(cmd, token), loop).result(60)
            if headers.get("Nats-Service-Error-Code") and not data.startswith(b'{"ok"'):
                got = {"gate": json.loads(data), "code": headers["Nats-Service-Error-Code"]}
                replies.append((cmd, token, got, headers))
                return Result(ok=False, refusal=json.loads(data))
            wire = _wire.decode(data)
            replies.append((cmd, token, strip_sealed(wire), headers))
            return Result(ok=wire.ok, seq=wire.seq, events=list(wire.events), refusal=wire.refusal)

        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return await loop.run_in_executor(pool, lambda: morning_commands(execute))
        finally:
            await nc.close()

    cmds = run(drive())
    assert len(cmds) == len(replies) > 700
    # the same requests, in process, through the same gate, on a fresh engine
    ref_clock = ManualClock(T_DEFAULT)
    refused = gated = 0
    with Runtime(tmp_path / "reference", fsync=False, clock=ref_clock) as ref:
        state = ref.engine.state
        gate = Gate(lambda: max(ref_clock.now_ms(), state.last_ts_ms))
        for cmd, token, got, headers in replies:
            ref_clock.set(cmd.ts_ms)
            if not token:
                assert got == strip_sealed(ref.submit(cmd, SYSTEM))
                continue
            who: Caller = tokens.caller(token)
            route = route_of(type(cmd).__name__)
            try:
                admitted = gate.admit(who, route, request_of(cmd, route), None, cmd.command_id)
            except GateError as err:
                gated += 1
                assert got == {"gate": err.as_dict(), "code": str(err.status)}, type(cmd).__name__
                continue
            want = strip_sealed(ref.submit(admitted, who))
            assert got == want, type(cmd).__name__
            if not want["ok"]:
                refused += 1
                ref_rule = want["refusal"]["rule"]
                assert want["refusal"]["field"] in headers["Nats-Service-Error"]
                assert f"[{ref_rule}]" in headers["Nats-Service-Error"]
        ref_digest = ref.engine.digest()
    assert sum(1 for _, _, w, _ in replies if w.get("ok")) > 600
    assert refused + gated > 0  # the morning has its mistakes: they went through the error path
    assert service.read(lambda st: st.digest()) == ref_digest


def test_clear_errors_for_bad_input(api, nats_server: NatsServer) -> None:
    _, partition, tokens, _ = api
    url, fe = nats_server.url, tokens.token("front_end", "42")
    data, hdr = ask(url, api_subject(partition, "cmd.CheckOut"), b'{"worker_id"', fe)
    assert hdr["Nats-Service-Error-Code"] == "400"
    assert hdr["Nats-Service-Error"].startswith("body:") and "[json]" in hdr["Nats-Service-Error"]
    assert json.loads(data)["rule"] == "json"

    data, hdr = ask(url, api_subject(partition, "cmd.CheckIn"),
                    b'{"worker_id": "w", "available_until_ms": "soon"}', fe)  # fmt: skip
    assert hdr["Nats-Service-Error-Code"] == "422"
    assert json.loads(data) == {
        "field": "available_until_ms",
        "rule": "type",
        "message": "Expected `int`, got `str`",
    }

    data, hdr = ask(url, api_subject(partition, "cmd.CheckOut"), b'{"worker_id": "nobody"}', fe)
    assert hdr["Nats-Service-Error-Code"] == "404"
    result = _wire.decode(data)
    assert not result.ok and result.refusal is not None
    assert result.refusal["field"] == "worker_id" and result.refusal["rule"] == "exists"
    assert hdr["Nats-Service-Error"] == (
        f"worker_id: {result.refusal['message']} [{result.refusal['rule']}]"
    )

    data, hdr = ask(url, api_subject(partition, "q.job"), b'{"job_id": "no-such-job"}', fe)
    assert hdr["Nats-Service-Error-Code"] == "404"
    assert json.loads(data)["field"] == "job_id"

    data, hdr = ask(url, api_subject(partition, "q.job"), b"{}", fe)
    assert hdr["Nats-Service-Error-Code"] == "400"
    assert "job_id" in hdr["Nats-Service-Error"]


def test_typed_endpoints_retries_and_queries(api, nats_server: NatsServer) -> None:
    service, partition, tokens, _ = api
    url = nats_server.url
    admin = tokens.token("admin", nationwide=True)
    station = {"station_id": "XY-1", "name": "襄阳零工驿站", "kind": "hub", "region": "420602",
               "location": {"lat": 32.009, "lng": 112.122}}  # fmt: skip
    body = json.dumps(station).encode()
    subject = api_subject(partition, "cmd.RegisterStation")
    first = _wire.decode(ask(url, subject, body, admin, key="st-1")[0])
    data, hdr = ask(url, subject, body, admin, key="st-1")
    again = _wire.decode(data)
    assert first.ok and first.seq == 1 and not first.duplicate
    assert first.events[0].ts_ms == T_DEFAULT  # stamped with the server's clock
    # an identical retry answers the original result, events read back from the log
    assert again.ok and again.duplicate and again.seq == 1 and again.events == first.events
    assert "Nats-Service-Error-Code" not in hdr
    auditor = tokens.token("auditor", "42")
    summary = json.loads(ask(url, api_subject(partition, "q.summary"), b"", auditor)[0])
    assert summary["stations"] == 1 and summary["seq"] == 1
    digest = json.loads(ask(url, api_subject(partition, "q.digest"), b"{}", admin)[0])
    assert digest == {"seq": 1, "digest": service.read(lambda st: st.digest())}
    _, hdr = ask(url, api_subject(partition, "q.summary"), b"", tokens.token("front_end", "42"))
    assert hdr["Nats-Service-Error-Code"] == "403"
    hall = ask(
        url,
        api_subject(partition, "q.hall"),
        b'{"location": {"lat": 32.0, "lng": 112.1}, "radius_m": 99999999}',
        auditor,
    )
    assert hall[1]["Nats-Service-Error-Code"] == "400"
    assert "radius_m" in hall[1]["Nats-Service-Error"]
    who = json.loads(ask(url, api_subject(partition, "q.caller"), b"", auditor)[0])
    assert who["role"] == "auditor" and who["region"] == "42"


def test_a_key_reused_with_another_body_is_refused(api, nats_server: NatsServer) -> None:
    _, partition, tokens, _ = api
    admin = tokens.token("admin", nationwide=True)
    subject = api_subject(partition, "cmd.SetPolicy")
    ok = ask(nats_server.url, subject, b'{"region": "42", "policy": {}}', admin, key="p-1")
    assert "Nats-Service-Error-Code" not in ok[1]
    data, hdr = ask(nats_server.url, subject, b'{"region": "4206", "policy": {}}', admin, key="p-1")
    assert hdr["Nats-Service-Error-Code"] == "422"
    assert "[idempotency_key_reused]" in hdr["Nats-Service-Error"]
