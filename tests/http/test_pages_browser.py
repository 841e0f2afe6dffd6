"""/schema and /map render in headless Chromium with the network cut off (issue 15).

A real `lingong serve` on loopback (fixed clock) with a station and an open job; Chromium
runs with every host name but 127.0.0.1 unresolvable (`--host-resolver-rules`), as on a
government intranet without internet. `/schema` must show the API's operations (Swagger
UI served by lingong); `/map`, configured with a tile server that cannot be reached, must
say the tiles failed and still draw the station and the job as vectors. Every resource the
pages loaded came from the server. Screenshots go to `test-output/pages/`. Fails (never
skips) if the browser or the server cannot start.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.gate.tokens import TokenStore
from adapters.shell.runtime import ManualClock, Runtime
from engine import commands as c
from sim.callers import OPERATOR
from sim.morning import local_midnight_ms, make_uscc
from tests.http.browser import HANG_S, Chromium, free_port

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "pages"
XY = (32.0090, 112.1220)
NOW_MS = local_midnight_ms("2026-11-23") + 6 * 3_600_000  # the server's time: 06:00 local
UNREACHABLE_TILES = "https://tiles.unreachable.invalid/{z}/{x}/{y}.png"
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",)


def _seed(data: Path) -> str:
    with Runtime(data, clock=ManualClock(NOW_MS)) as rt:
        now = rt.clock.now_ms()
        cmds = [
            c.RegisterStation(command_id="p1", ts_ms=now, station_id="S1", name="襄阳市零工总站",
                              kind="hub", region="420602", location=c.Point(lat=XY[0], lng=XY[1])),
            c.ChangeStationStatus(command_id="p2", ts_ms=now, station_id="S1", status="approved"),
            c.RegisterEmployer(command_id="p3", ts_ms=now, employer_id="E1", kind="organisation",
                               name="襄阳安居搬家有限公司", region="420602",
                               uscc=make_uscc(random.Random(1), "420602"),
                               contact=c.Personal(name="李四", mobile="13912345678")),
            c.RegisterStation(command_id="p5", ts_ms=now, station_id="S2", name="樊城分站",
                              kind="branch", parent_id="S1", region="420602",
                              location=c.Point(lat=XY[0] + 0.018, lng=XY[1])),
            c.ChangeStationStatus(command_id="p6", ts_ms=now, station_id="S2", status="approved"),
            c.SubmitJob(command_id="p4", ts_ms=now, job_id="J1", employer_id="E1",
                        station_id="S1", title="搬家工", skill="moving", headcount=2,
                        pay_fen=30000, start_ms=now + 2 * 3_600_000, end_ms=now + 8 * 3_600_000,
                        location=c.Point(lat=XY[0] + 0.003, lng=XY[1] + 0.002)),
        ]  # fmt: skip
        for res in rt.submit_many(cmds, OPERATOR):
            assert res.ok, res.refusal
        stations = {"S1": "420602", "S2": "420602"}
    token, _ = TokenStore(data).create("station_staff", "4206", "S2", stations=stations)
    return token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("pages")
    data = tmp / "data"
    token = _seed(data)
    port = free_port()
    log_path = tmp / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lingong.cli", "serve", "--data", str(data),
             "--host", "127.0.0.1", "--port", str(port), "--tick-ms", "0",
             "--clock-ms", str(NOW_MS), "--map-tiles", UNREACHABLE_TILES],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HANG_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"lingong serve exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=HANG_S).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"lingong serve did not answer /healthz within {HANG_S} s")
            time.sleep(0.2)  # sleep-ok: readiness poll of a starting server (hang-guarded)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


RESOURCES = "performance.getEntriesByType('resource').map(function(e){return e.name;})"


def _loaded_only_from(browser: Chromium, base: str, allowed: tuple[str, ...] = ()) -> None:
    names = browser.evaluate(RESOURCES)
    outside = [n for n in names if not n.startswith(base) and not n.startswith(allowed)]
    assert outside == [], outside


def test_schema_renders_with_no_network(chromium_bin: str, server, tmp_path: Path) -> None:
    server, _ = server
    browser = Chromium(chromium_bin, tmp_path / "profile", tmp_path / "chromium.log", OFFLINE)
    try:
        browser.open(server + "/schema")
        title = browser.wait_for(
            "document.querySelectorAll('.opblock').length > 10 && "
            "document.querySelector('.info .title').innerText"
        )
        assert "lingong" in title
        paths = browser.evaluate(
            "Array.from(document.querySelectorAll('.opblock-summary-path'))"
            ".map(function(e){return e.innerText;})"
        )
        assert any(p.startswith("/board/") for p in paths) and "/map/jobs" in paths
        _loaded_only_from(browser, server)
        browser.screenshot(OUT / "schema.png")
    finally:
        browser.close()
    assert (OUT / "schema.png").stat().st_size > 10_000


def test_map_draws_points_when_tiles_fail(chromium_bin: str, server, tmp_path: Path) -> None:
    server, _ = server
    browser = Chromium(chromium_bin, tmp_path / "profile", tmp_path / "chromium.log", OFFLINE)
    try:
        browser.open(server + "/map?station=S1")
        browser.wait_for(
            "document.body.dataset.tiles === 'failed' && Number(document.body.dataset.jobs) >= 1"
        )
        assert browser.evaluate("document.body.dataset.engine") == "leaflet"
        stations = int(browser.evaluate("document.body.dataset.stations"))
        jobs = int(browser.evaluate("document.body.dataset.jobs"))
        assert stations == 2
        drawn = browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length")
        assert drawn == stations + jobs  # as SVG vectors over the plain grid
        assert "底图无法加载" in browser.evaluate("document.getElementById('status').innerText")
        _loaded_only_from(browser, server, ("https://tiles.unreachable.invalid/",))
        browser.screenshot(OUT / "map-offline.png")
    finally:
        browser.close()
    assert (OUT / "map-offline.png").stat().st_size > 5_000


def test_board_shows_live_a_nearby_job_collected_elsewhere(
    chromium_bin: str, server, tmp_path: Path
) -> None:
    base, s2_token = server
    browser = Chromium(chromium_bin, tmp_path / "profile", tmp_path / "chromium.log", OFFLINE)
    try:
        browser.open(base + "/board/S1")
        browser.wait_for("document.body && document.body.dataset.live === '1'")
        job = {"job_id": "JB2", "employer_id": "E1", "station_id": "S2", "title": "仓库装卸工",
               "skill": "moving", "headcount": 2, "pay_fen": 26000,
               "start_ms": NOW_MS + 3_600_000, "end_ms": NOW_MS + 7 * 3_600_000,
               "location": {"lat": XY[0] + 0.000243, "lng": XY[1]}}  # fmt: skip
        resp = httpx.post(
            base + "/jobs", json=job, headers={"Authorization": f"Bearer {s2_token}"},
            timeout=HANG_S,
        )  # fmt: skip
        assert resp.status_code == 201, resp.text
        row = browser.wait_for(
            "(function(){var r=document.querySelector('tr[data-job=\"JB2\"]');"
            "return r && r.innerText;})()"
        )
        assert "仓库装卸工" in row and "27 米" in row and "樊城分站" in row  # S2 collected it
        assert browser.evaluate("location.pathname") == "/board/S1"  # live, no reload
        browser.screenshot(OUT / "board-nearby.png")
    finally:
        browser.close()
