"""The NATS micro service: same results as the in-process API, clear errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

import msgspec
import pytest

from adapters.nats.bridge import NatsBridge
from adapters.nats.micro import ResultWire, api_subject
from adapters.shell.runtime import Runtime
from engine import commands as c
from sim.callers import caller_for
from tests.nats.helpers import connect, engine_service, morning_commands, run, strip_sealed, unique
from tests.nats.servers import NatsServer

_wire = msgspec.json.Decoder(ResultWire)


@pytest.fixture
def api(nats_server: NatsServer, tmp_path: Path):
    service = engine_service(tmp_path / "engine")
    partition = unique(tmp_path, "m")
    bridge = NatsBridge(service, nats_server.url, partition=partition, publish=False).start()
    try:
        yield service, partition
    finally:
        bridge.close()
        service.stop()
        service.runtime.close()


def test_every_command_gets_the_in_process_result(
    api, nats_server: NatsServer, tmp_path: Path
) -> None:
    service, partition = api

    replies: list[tuple[dict, dict]] = []

    async def drive() -> list[c.Command]:
        nc = await connect(nats_server.url)
        loop = asyncio.get_running_loop()

        async def ask(cmd: c.Command) -> tuple[ResultWire, dict]:
            msg = await nc.request(
                api_subject(partition, "cmd"), msgspec.json.encode(cmd), timeout=10
            )
            return _wire.decode(msg.data), dict(msg.headers or {})

        def execute(cmd: c.Command) -> ResultWire:  # on a helper thread: the morning is sync
            wire, headers = asyncio.run_coroutine_threadsafe(ask(cmd), loop).result(30)
            replies.append((strip_sealed(wire), headers))
            return wire

        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return await loop.run_in_executor(pool, lambda: morning_commands(execute))
        finally:
            await nc.close()

    cmds = run(drive())
    assert len(cmds) == len(replies) > 700
    # the same commands, in process, on a fresh engine
    with Runtime(tmp_path / "reference", fsync=False) as ref:
        expected = [
            strip_sealed(ref.submit(cmd, caller_for(ref.engine.state, cmd))) for cmd in cmds
        ]
        ref_digest = ref.engine.digest()
    refused = 0
    for cmd, want, (got, headers) in zip(cmds, expected, replies, strict=True):
        assert got == want, type(cmd).__name__
        if not want["ok"]:
            refused += 1
            assert headers["Nats-Service-Error-Code"] == "422"
            ref = want["refusal"]
            assert ref["field"] in headers["Nats-Service-Error"]
            assert f"[{ref['rule']}]" in headers["Nats-Service-Error"]
    assert sum(1 for w in expected if w["ok"]) > 600
    assert refused > 0  # the morning has its mistakes: refusals went through the error path
    assert service.read(lambda st: st.digest()) == ref_digest


def _ask(url: str, subject: str, body: bytes) -> tuple[bytes, dict]:
    async def go():
        nc = await connect(url)
        try:
            msg = await nc.request(subject, body, timeout=10)
            return msg.data, dict(msg.headers or {})
        finally:
            await nc.close()

    return run(go())


def test_clear_errors_for_bad_input(api, nats_server: NatsServer) -> None:
    _, partition = api
    url = nats_server.url
    data, hdr = _ask(url, api_subject(partition, "cmd"), b'{"type": "CheckOut", "command_id"')
    assert hdr["Nats-Service-Error-Code"] == "400"
    assert hdr["Nats-Service-Error"].startswith("body:") and "[json]" in hdr["Nats-Service-Error"]
    assert json.loads(data)["rule"] == "json"

    body = b'{"type": "CheckOut", "command_id": "x1", "ts_ms": "soon", "worker_id": "w"}'
    data, hdr = _ask(url, api_subject(partition, "cmd"), body)
    assert hdr["Nats-Service-Error-Code"] == "400"
    assert json.loads(data) == {
        "field": "ts_ms",
        "rule": "type",
        "message": "Expected `int`, got `str`",
    }

    body = b'{"command_id": "x2", "ts_ms": 0, "worker_id": "nobody"}'
    data, hdr = _ask(url, api_subject(partition, "cmd.CheckOut"), body)
    assert hdr["Nats-Service-Error-Code"] == "422"
    result = _wire.decode(data)
    assert not result.ok and result.refusal is not None
    assert result.refusal["field"] == "worker_id"
    assert hdr["Nats-Service-Error"] == (
        f"worker_id: {result.refusal['message']} [{result.refusal['rule']}]"
    )

    data, hdr = _ask(url, api_subject(partition, "q.job"), b'{"job_id": "no-such-job"}')
    assert hdr["Nats-Service-Error-Code"] == "404"
    assert json.loads(data)["field"] == "job_id"

    data, hdr = _ask(url, api_subject(partition, "q.job"), b"{}")
    assert hdr["Nats-Service-Error-Code"] == "400"
    assert "job_id" in hdr["Nats-Service-Error"]


def test_typed_endpoints_retries_and_queries(api, nats_server: NatsServer) -> None:
    service, partition = api
    url = nats_server.url
    station = c.RegisterStation(
        command_id="st-1",
        ts_ms=0,  # "now": stamped by the service
        station_id="XY-1",
        name="襄阳零工驿站",
        kind="hub",
        region="420602",
        location=c.Point(lat=32.009, lng=112.122),
    )
    body = msgspec.json.encode(station)
    first = _wire.decode(_ask(url, api_subject(partition, "cmd.RegisterStation"), body)[0])
    again = _wire.decode(_ask(url, api_subject(partition, "cmd"), body)[0])
    assert first.ok and first.seq == 1 and not first.duplicate
    assert first.events[0].ts_ms > 1_700_000_000_000  # stamped with the clock
    assert again.ok and again.duplicate and again.seq == 1 and again.events == []
    summary = json.loads(_ask(url, api_subject(partition, "q.summary"), b"")[0])
    assert summary["stations"] == 1 and summary["seq"] == 1
    digest = json.loads(_ask(url, api_subject(partition, "q.digest"), b"{}")[0])
    assert digest == {"seq": 1, "digest": service.read(lambda st: st.digest())}
    hall = _ask(
        url,
        api_subject(partition, "q.hall"),
        b'{"location": {"lat": 32.0, "lng": 112.1}, "radius_m": 99999999}',
    )
    assert hall[1]["Nats-Service-Error-Code"] == "400"
    assert "radius_m" in hall[1]["Nats-Service-Error"]
