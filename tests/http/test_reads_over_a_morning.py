"""Every read of the HTTP API over the state a whole morning leaves, as every kind of caller.

The schemathesis test fuzzes parameters against a small world, where most ids do not
exist. This one plays a demo morning (`sim.demo.run_demo`: hires and no-shows, partial
pay and arrears cases, complaints past their deadline, postings held, rejected and
cancelled, a station revoked, erased workers, trainings) and then reads every GET
operation of the served OpenAPI schema with the ids that state really holds, in matching
and mismatched pairs (a worker with another's hire or offer), as an admin, a city
admin, an auditor, a front end, the staff of two stations and an SMS gateway.

Checked: no 5xx, ever; a 4xx is problem+json naming its rule; a 200 is JSON, HTML, CSV
or text as the operation says. Bounded: at most `PER_KIND` ids of each kind.
"""

from __future__ import annotations

import itertools
import random
from urllib.parse import quote

import pytest
from litestar.testing import TestClient

from adapters.gate.tokens import TokenStore
from adapters.http.app import create_app
from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService
from sim.demo import run_demo
from tests.cli.conftest import DATE, SMALL
from tests.http.world import Clock

PER_KIND = 12
CITY = "4206"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    data = tmp_path_factory.mktemp("morning")
    run_demo(data, date=DATE, sizes=SMALL, fsync=False)
    with Runtime(data, fsync=False) as probe:
        last_ms = probe.engine.state.last_ts_ms
    runtime = Runtime(data, clock=Clock(last_ms + 3_600_000), fsync=False)
    service = EngineService(runtime, tick_ms=0).start()
    stations = service.read(lambda s: {sid: st.region for sid, st in s.stations.items()})
    store = TokenStore(data)
    mine = sorted(sid for sid, region in stations.items() if region.startswith(CITY))
    callers = {
        "admin/*": store.create("admin", "", nationwide=True)[0],
        "admin/city": store.create("admin", CITY, stations=stations, name="李建华")[0],
        "auditor": store.create("auditor", CITY, stations=stations)[0],
        "front_end": store.create("front_end", CITY, stations=stations)[0],
        "sms_gateway": store.create("sms_gateway", CITY, stations=stations)[0],
    }
    for sid in (mine[0], mine[-1]):
        callers[f"staff/{sid}"] = store.create(
            "station_staff", CITY, sid, stations=stations, name="张三明"
        )[0]
    client = TestClient(create_app(service, data_dir=data))
    client.__enter__()
    try:
        yield client, service, callers
    finally:
        client.__exit__(None, None, None)
        service.stop()
        runtime.close()


def _sample(rng: random.Random, ids: list[str]) -> list[str]:
    return rng.sample(ids, min(PER_KIND, len(ids)))


def _ids(service: EngineService) -> dict[str, list[str]]:
    def read(s) -> dict[str, list[str]]:  # noqa: ANN001
        return {
            "worker_id": list(s.worker_ids),
            "job_id": list(s.jobs),
            "hire_id": list(s.hires),
            "offer_id": list(s.offers),
            "complaint_id": list(s.complaints),
            "employer_id": list(s.employers),
            "station_id": list(s.stations),
        }

    ids = service.read(read)
    rng = random.Random(7)
    out = {k: _sample(rng, v) for k, v in ids.items()}
    for k in out:  # ids that do not exist, and odd ones, beside the real ones
        out[k] += ["nope", "W%2F..%2Fx"]
    return out


def _owned_pairs(service: EngineService) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(worker, hire) and (worker, offer) pairs that belong together."""

    def read(s) -> dict[tuple[str, str], list[tuple[str, str]]]:  # noqa: ANN001
        hires = [(s.worker_ids[h.worker_row], k) for k, h in s.hires.items()]
        offers = [(s.worker_ids[o.worker_row], k) for k, o in s.offers.items()]
        jobs = [(s.worker_ids[o.worker_row], o.job_id) for o in s.offers.values()]
        return {("worker_id", "hire_id"): hires, ("worker_id", "offer_id"): offers,
                ("worker_id", "job_id"): jobs}  # fmt: skip

    rng = random.Random(8)
    return {k: rng.sample(v, min(PER_KIND, len(v))) for k, v in service.read(read).items()}


def _paths(client: TestClient) -> list[str]:
    schema = client.app.openapi_schema.to_schema()
    return sorted(p for p, ops in schema["paths"].items() if "get" in ops)


def _urls(path: str, ids: dict[str, list[str]], pairs: dict) -> list[str]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    if not names:
        return [path]
    combos: list[tuple[str, ...]] = []
    if len(names) == 1:
        combos = [(v,) for v in ids[names[0]]]
    else:
        owned = pairs.get(tuple(names), [])
        crossed = list(itertools.islice(itertools.product(*(ids[n] for n in names)), PER_KIND))
        combos = [*owned, *crossed]
    out = []
    for combo in combos:
        url = path
        for name, value in zip(names, combo, strict=True):
            url = url.replace("{" + name + "}", quote(value, safe="%"))
        out.append(url)
    return out


QUERIES = {
    "/hires/{hire_id}/agreement": ["", "?format=text", "?format=html"],
    "/reports/{name}": [],
    "/hall": ["?lat=32.0&lng=112.1&radius_m=3000", "?lat=32.0&lng=112.1&sort=pay"],
    "/search": ["?q=%E6%90%AC%E5%AE%B6&lat=32.0&lng=112.1", "?q=x"],
    "/jobs/{job_id}/navigation": ["?from_lat=32.0&from_lng=112.1&mode=walk"],
    "/jobs": ["", "?status=held", "?status=open&limit=5", "?rule=pay_far_below_local"],
    "/complaints": ["", "?overdue=true", "?status=open"],
    "/arrears": ["", "?status=open"],
}


def test_every_read_over_a_morning_as_every_caller(served) -> None:  # noqa: ANN001
    client, service, callers = served
    ids = _ids(service)
    pairs = _owned_pairs(service)
    assert ids["hire_id"][:-2] and ids["complaint_id"][:-2] and pairs[("worker_id", "hire_id")]
    seen_ok: set[str] = set()
    calls = 0
    for path in _paths(client):
        if path.startswith("/reports/"):
            continue  # reports read the projected stores (tests/http/test_reports_http.py)
        for url in _urls(path, ids, pairs):
            for query in QUERIES.get(path, [""]):
                for who, token in callers.items():
                    resp = client.get(url + query, headers={"Authorization": f"Bearer {token}"})
                    calls += 1
                    where = f"{who} GET {url}{query}: {resp.status_code} {resp.text[:300]}"
                    assert resp.status_code < 500, where
                    if resp.status_code >= 400:
                        assert resp.headers["content-type"].startswith(
                            "application/problem+json"
                        ), where
                        body = resp.json()
                        assert body.get("rule") and body.get("detail"), where
                    else:
                        seen_ok.add(path)
    assert calls > 1000
    # the state's real ids were read through (not only refused)
    for path in ("/hires/{hire_id}", "/hires/{hire_id}/agreement", "/complaints/{complaint_id}",
                 "/workers/{worker_id}/hires", "/jobs/{job_id}", "/board/{station_id}"):  # fmt: skip
        assert path in seen_ok, (path, sorted(seen_ok))
