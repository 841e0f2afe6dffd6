"""The station board in headless Chromium, live, against a real `lingong serve`.

A data folder gets a station, an employer and a token; `lingong serve` runs on a free
loopback port on a fixed time (`--clock-ms`: the test never reads the wall clock);
Chromium opens `/board/S1` and waits until the event stream is live;
then a job is posted over HTTP and the page must show it without a reload (server-sent
events). A screenshot goes to `test-output/board/board.png`. The page shows no personal
data, and neither do the server's logs. Fails (never skips) if the browser or the server
cannot start.
"""

from __future__ import annotations

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
from engine.idnumbers import find_unmasked_pii
from sim.callers import OPERATOR
from sim.morning import local_midnight_ms, make_uscc
from tests.http.browser import HANG_S, Chromium, free_port

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "board"
XY = (32.0090, 112.1220)
EMP_MOBILE = "13912345678"
NOW_MS = local_midnight_ms("2026-11-23") + 9 * 3_600_000  # the server's time: 09:00 local


def _seed(data: Path) -> str:
    import random

    with Runtime(data, clock=ManualClock(NOW_MS)) as rt:
        now = rt.clock.now_ms()
        cmds = [
            c.RegisterStation(command_id="b1", ts_ms=now, station_id="S1", name="襄阳市零工总站",
                              kind="hub", region="420602", location=c.Point(lat=XY[0], lng=XY[1])),
            c.ChangeStationStatus(command_id="b2", ts_ms=now, station_id="S1", status="approved"),
            c.RegisterEmployer(command_id="b3", ts_ms=now, employer_id="E1", kind="organisation",
                               name="襄阳安居搬家有限公司", region="420602",
                               uscc=make_uscc(random.Random(1), "420602"),
                               contact=c.Personal(name="李四", mobile=EMP_MOBILE)),
        ]  # fmt: skip
        for res in rt.submit_many(cmds, OPERATOR):
            assert res.ok, res.refusal
    token, _ = TokenStore(data).create("front_end", "4206")
    return token


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    data = tmp_path / "data"
    token = _seed(data)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lingong.cli", "serve", "--data", str(data),
             "--host", "127.0.0.1", "--port", str(port), "--tick-ms", "0",
             "--clock-ms", str(NOW_MS)],
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
        yield base, token, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_board_updates_live_in_chromium(chromium_bin: str, server, tmp_path: Path) -> None:
    base, token, log_path = server
    browser = Chromium(chromium_bin, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        browser.open(base + "/board/S1")
        browser.wait_for("document.body && document.body.dataset.live === '1'")
        assert "暂无岗位" in browser.evaluate("document.body.innerText")
        now_ms = NOW_MS
        job = {"job_id": "JB1", "employer_id": "E1", "station_id": "S1",
               "title": "临时搬运工 急招", "skill": "moving", "headcount": 3, "pay_fen": 32000,
               "start_ms": now_ms + 2 * 3_600_000, "end_ms": now_ms + 8 * 3_600_000,
               "location": {"lat": XY[0] + 0.0027, "lng": XY[1]}}  # fmt: skip
        resp = httpx.post(
            base + "/jobs", json=job, headers={"Authorization": f"Bearer {token}"}, timeout=HANG_S
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["events"][0]["ts_ms"] == NOW_MS  # the server's (fixed) time
        text = browser.wait_for(
            "document.getElementById('rows').innerText.includes('临时搬运工') && "
            "document.getElementById('rows').innerText"
        )
        assert "320 元/天" in text and "还需 3 人" in text and "300 米" in text
        assert browser.evaluate("location.pathname") == "/board/S1"  # no reload happened
        browser.screenshot(OUT / "board.png")
        dom = browser.evaluate("document.documentElement.outerHTML")
        assert find_unmasked_pii(dom) == [] and "李四" not in dom
    finally:
        browser.close()
    assert (OUT / "board.png").stat().st_size > 10_000
    assert EMP_MOBILE not in log_path.read_text() and find_unmasked_pii(log_path.read_text()) == []
