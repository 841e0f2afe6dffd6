"""Headless Chromium for the board test: install, launch, and the DevTools protocol over a pipe.

`ensure_chromium` installs Debian's `chromium` (and a CJK font for the screenshot) with
apt-get when `/usr/bin/chromium` is missing, and raises when it cannot: a browser test
that cannot start its browser fails, it never skips.
`Chromium` runs it with `--remote-debugging-pipe` (DevTools messages as NUL-terminated JSON
on fds 3 and 4), so no websocket client is needed.

Waits are on events, never on a clock: `open` returns on the page's load event, `wait_for`
resolves a promise in the page when a DOM mutation makes the expression true. Every wait
has a hang guard (`HANG_S`) that only turns a hang into a failure.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
HANG_S = 120.0  # a hang guard, never what decides pass/fail on a healthy machine
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
)


def ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise RuntimeError("chromium is missing and apt-get is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "fonts-noto-cjk"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    if not Path(CHROMIUM).exists():
        raise RuntimeError("apt-get installed chromium but /usr/bin/chromium is missing")
    return CHROMIUM


_TRAMPOLINE = """
import fcntl, os, sys
r, w = (fcntl.fcntl(int(a), fcntl.F_DUPFD, 10) for a in sys.argv[1:3])  # out of the way
os.dup2(r, 3)
os.dup2(w, 4)
os.execv(sys.argv[3], sys.argv[3:])
"""


_WAIT_FOR = """new Promise(function (resolve) {
  function check() { try { return (%(expr)s); } catch (err) { return null; } }
  var first = check();
  if (first) { resolve(first); return; }
  var obs = new MutationObserver(function () {
    var value = check();
    if (value) { obs.disconnect(); resolve(value); }
  });
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})"""


class Chromium:
    """One headless browser driven over the DevTools pipe."""

    def __init__(
        self,
        binary: str,
        user_data_dir: Path,
        log_path: Path | None = None,
        extra_flags: tuple[str, ...] = (),
    ) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        log = subprocess.DEVNULL if log_path is None else log_path.open("wb")
        # a tiny trampoline puts the pipe ends on fds 3 and 4, then becomes chromium
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_child_r), str(from_child_w), binary,
             *FLAGS, *extra_flags, f"--user-data-dir={user_data_dir}"],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
        if log_path is not None:
            log.close()  # type: ignore[union-attr]
        self.log_path = log_path
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []  # DevTools events seen while waiting

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no DevTools message in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium closed the DevTools pipe: {self.log_tail()}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, timeout_s: float = HANG_S) -> dict:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply and len(self.events) < 1000:
                self.events.append(reply)

    def wait_event(self, method: str, timeout_s: float = HANG_S) -> dict[str, Any]:
        """The first DevTools event `method` (already seen, or the next to arrive)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    del self.events[: i + 1]
                    return ev.get("params", {})
            self.events.clear()
            reply = self._read(deadline)
            if "method" in reply:
                self.events.append(reply)

    def open(self, url: str) -> None:
        """Open `url` in a new tab and return once its load event fired."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.events.clear()
        nav = self.send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {nav['errorText']}")
        while True:  # a late load event of about:blank is not the one we want
            self.wait_event("Page.loadEventFired")
            if self.evaluate("location.href") == url:
                return

    def evaluate(
        self, expression: str, *, await_promise: bool = False, timeout_s: float = HANG_S
    ) -> Any:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": await_promise}
        result = self.send("Runtime.evaluate", params, timeout_s=timeout_s)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page raised: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = HANG_S) -> Any:
        """The value of `expression` once it is truthy: checked in the page now and after
        every DOM change (a MutationObserver), so the wait ends on the change itself."""
        return self.evaluate(
            _WAIT_FOR % {"expr": expression}, await_promise=True, timeout_s=timeout_s
        )

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "dbus" not in line)[-2000:]

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout_s=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass


def free_port() -> int:
    """A free loopback port for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
