"""`lingong serve` as a user runs it: URLs on start, an offer of `--demo` on an empty
folder, and `--demo` serving a live morning whose board shows jobs; `sim.live` stepped
with a manual clock."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.gate.tokens import TokenStore
from adapters.shell.runtime import ManualClock, Runtime
from adapters.shell.service import EngineService
from engine import commands as c
from engine import events as e
from sim.demo import DemoRun
from sim.live import DemoClock, LiveMorning
from sim.morning import HOUR_MS, MIN_MS, Morning, Sizes, local_midnight_ms
from tests.cli.conftest import DATE, ROOT, Run

HANG_GUARD_S = 300.0  # only against a hung process; never what decides the outcome


class Served:
    """`python -m lingong.cli serve ...` with its stdout and stderr read line by line."""

    def __init__(self, *argv: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lingong.cli", "serve", "--port", "0", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._keep, daemon=True),
        ]
        for t in self.readers:
            t.start()

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _keep(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def banner(self) -> list[str]:
        """The lines printed once the socket listens (up to the token hint)."""
        lines: list[str] = []
        while True:
            line = self.out.get(timeout=HANG_GUARD_S)
            if line is None:
                self.proc.wait(timeout=30)
                pytest.fail(f"lingong serve exited: {chr(10).join(self.err)[-3000:]}")
            lines.append(line)
            if line.lstrip().startswith("a token"):
                return lines

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        for t in self.readers:  # the pipes end with the process
            t.join(timeout=30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.fixture()
def served() -> Iterator[list[Served]]:
    running: list[Served] = []
    yield running
    for s in running:
        s.stop()


def _urls(banner: list[str]) -> dict[str, str]:
    out = {}
    for line in banner[1:]:
        m = re.match(r"\s+(board|map|API docs|metrics)\s+(\S+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_serve_demo_shows_a_live_board(served: list[Served], tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Served("--demo", "--data", str(data), "--date", DATE, "--demo-speed", "1")
    served.append(server)
    banner = server.banner()
    base = re.search(r"listening on (http://\S+)", banner[0]).group(1)
    urls = _urls(banner)
    assert urls == {
        "board": f"{base}/board/ST-420600-hub",
        "map": f"{base}/map",
        "API docs": f"{base}/schema",
        "metrics": f"{base}/metrics",
    }
    assert any(f"demo clock: {DATE} 05:55" in line for line in banner)
    assert f"--data {data}" in banner[-1]  # how to get a token for the metrics
    board = httpx.get(urls["board"] + "/jobs", timeout=30).json()
    assert board["count"] > 0 and board["jobs"]  # jobs waiting for the 06:00 opening bell
    page = httpx.get(urls["board"], timeout=30)
    assert page.status_code == 200 and "今日岗位" in page.text
    assert httpx.get(urls["API docs"], timeout=30).status_code == 200
    assert httpx.get(urls["map"], timeout=30).status_code == 200  # the public e-map
    jobs = httpx.get(f"{base}/map/jobs", timeout=30).json()["features"]
    assert jobs and all(f["properties"]["datum"] == "wgs84" for f in jobs)
    assert httpx.get(f"{base}/stations", timeout=30).status_code == 401  # GeoJSON API: token
    assert httpx.get(urls["metrics"], timeout=30).status_code == 401  # so do the metrics
    token, _ = TokenStore(data).create("auditor", "42")  # as the banner's command would
    bearer = {"Authorization": f"Bearer {token}"}
    assert "lingong_" in httpx.get(urls["metrics"], headers=bearer, timeout=30).text
    assert server.stop() == 0

    # --demo never writes into a folder with data
    again = subprocess.run(
        [sys.executable, "-m", "lingong.cli", "serve", "--demo", "--data", str(data)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert again.returncode == 2 and "already holds data" in again.stderr


def test_serve_on_an_empty_folder_offers_demo(served: list[Served], tmp_path: Path) -> None:
    server = Served("--data", str(tmp_path / "empty"))
    served.append(server)
    banner = server.banner()
    urls = _urls(banner)
    assert urls["board"].endswith("/board/STATION_ID") and urls["API docs"].endswith("/schema")
    assert any("lingong serve --demo" in line for line in server.err)
    assert server.stop() == 0


def test_serve_demo_refuses_bad_options(run: Run, tmp_path: Path) -> None:
    code, _, err = run("serve", "--demo", "--demo-from", "25:00", "--data", tmp_path / "d")
    assert code == 2 and "HH:MM" in err
    code, _, err = run("serve", "--demo", "--demo-speed", "0", "--data", tmp_path / "d")
    assert code == 2 and "--demo-speed" in err
    code, _, err = run(
        "serve", "--map-tiles", "https://t.example/tile.png", "--data", tmp_path / "d"
    )
    assert code == 2 and "{z}" in err
    assert not (tmp_path / "d").exists()


def test_map_tiles_come_from_the_option_else_the_environment(monkeypatch) -> None:
    import argparse

    from lingong.serve import _map_tiles

    monkeypatch.setenv("LINGONG_MAP_TILES", "https://t.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("LINGONG_MAP_TILES_DATUM", "wgs84")
    tiles = _map_tiles(argparse.Namespace(map_tiles=None, map_tiles_datum=None))
    assert (tiles.url, tiles.datum) == ("https://t.example/{z}/{x}/{y}.png", "wgs84")
    off = _map_tiles(argparse.Namespace(map_tiles="none", map_tiles_datum=None))
    assert off.url == ""
    monkeypatch.delenv("LINGONG_MAP_TILES")
    monkeypatch.delenv("LINGONG_MAP_TILES_DATUM")
    default = _map_tiles(argparse.Namespace(map_tiles=None, map_tiles_datum=None))
    assert default.datum == "gcj02" and "{x}" in default.url


def test_live_morning_sends_what_is_due_once(tmp_path: Path) -> None:
    at = local_midnight_ms(DATE)
    clock = ManualClock(at + 6 * HOUR_MS)
    sizes = Sizes(workers=300, postings=80, employers=20)
    with Runtime(tmp_path / "d", fsync=False, clock=clock) as rt:
        morning = Morning(seed=7, date=DATE, sizes=sizes)
        demo = DemoRun(rt, morning)
        demo.setup()
        demo.play(until_ms=clock.now_ms())
        played = rt.engine.state.last_seq
        service = EngineService(rt, tick_ms=0).start()
        try:
            live = LiveMorning(morning, demo.rest(), service, clock)
            clock.set(at + 6 * HOUR_MS + 30 * MIN_MS)
            sent: list[c.Command] = []
            offered: set[str] = set()  # offers the engine made to what the steps sent
            for _ in range(100):  # answers due by now come from the step's own results
                futures = live.step()
                if not futures:
                    break
                for fut in futures:  # a hang guard; results are in by the read below
                    events = fut.result(timeout=60).events
                    offered |= {ev.offer_id for ev in events if isinstance(ev, e.OfferMade)}
                sent += live.last_sent
                service.read(lambda s: s.last_seq)  # the writer has answered everything sent
            ids = [cmd.command_id for cmd in sent]
            assert ids and len(ids) == len(set(ids)) == live.sent  # nothing twice
            assert service.read(lambda s: s.last_seq) > played
            later = live.due(at + 7 * HOUR_MS)
            assert all(cmd.ts_ms <= at + 7 * HOUR_MS for cmd in later)
            assert [cmd.ts_ms for cmd in later] == sorted(cmd.ts_ms for cmd in later)
            assert not any(isinstance(cmd, c.Advance) for cmd in later)  # the service ticks
            # people answer the offers made to what the steps sent (on the writer thread)
            answers = [
                cmd for cmd in [*sent, *later] if isinstance(cmd, c.AcceptOffer | c.DeclineOffer)
            ]
            assert offered and any(cmd.offer_id in offered for cmd in answers)
        finally:
            service.stop()


def test_demo_clock_runs_from_its_start_at_its_speed() -> None:
    now = [100.0]
    clock = DemoClock(5_000, speed=10.0, monotonic=lambda: now[0])
    assert clock.now_ms() == 5_000
    now[0] += 1.5
    assert clock.now_ms() == 5_000 + 15_000
    with pytest.raises(ValueError):
        DemoClock(0, speed=0)


def test_serve_refuses_a_bad_or_misplaced_key_encryption_key(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--kek-file` / $LINGONG_KEK: 64 hex digits, and only with --nats (keys follow the
    JetStream log); a refusal names the source and the rule and creates nothing."""
    monkeypatch.delenv("LINGONG_KEK", raising=False)
    data = tmp_path / "data"
    bad = tmp_path / "kek"
    bad.write_text("not a key")
    code, _, err = run("serve", "--data", data, "--kek-file", bad)
    assert code == 2 and f"key-encryption key file {bad}: must be 64 hexadecimal" in err
    bad.write_text("ab" * 32)
    code, _, err = run("serve", "--data", data, "--kek-file", bad)
    assert code == 2 and "used with --nats only" in err
    monkeypatch.setenv("LINGONG_KEK", "00")
    code, _, err = run("serve", "--data", data)
    assert code == 2 and "$LINGONG_KEK: must be 64" in err
    assert not data.exists()
