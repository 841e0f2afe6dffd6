"""Redis GEOSEARCH peer: checked-in workers in a Redis geo set, one round trip per call.

Owns: `redis_server()` (find or start a Redis server on loopback) and `RedisGeoIndex`,
the index a team would put behind a web service: GEOADD on check-in (again on a move),
ZREM on check-out, `GEOSEARCH ... FROMLONLAT ... BYRADIUS` for a posting.

Server, in this order: the machine's service at 127.0.0.1:6379 if it answers PING; else
Debian's `redis-server` binary started on a free loopback port without persistence
(`--save "" --appendonly no`) and stopped (by its pid) on `close`; else, when we are root
and apt-get exists, `apt-get install -y redis-server` and the binary. If all fail,
`PeerUnavailable` says which piece is missing.

Tags (skill masks, when the engine passes them) as a Redis team would do it: a geo set
per skill bit (`...:bit:<b>`) holding the rows whose tag has that bit, and one
(`...:any`) for rows indexed without a tag; a check-in writes to each of its sets in one
pipelined round trip, a posting searches the sets of its mask (and `any`) in one.

Invariants: the keys of a run share the prefix `lingong:bench:<hex>:` and are deleted on
`close`; nothing else on a shared server is touched. Redis stores 52-bit geohash positions and
measures with R = 6372797.56 m; the radius is scaled up by `REDIS_RADIUS_FACTOR` and
`QUERY_SLACK_M` so that it never misses a worker lingong would keep.
Limits: loopback only; the client uses hiredis when installed (as redis-py recommends).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import numpy as np

from bench.peers.base import ALL_TAGS, PeerIndex, PeerUnavailable

SERVICE_PORT = 6379
REDIS_RADIUS_FACTOR = 1.001  # Redis' larger Earth radius (+0.028 %) and geohash rounding
START_TIMEOUT_S = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client(port: int):
    import redis

    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=30, socket_connect_timeout=2)


def _answers(port: int) -> bool:
    try:
        return bool(_client(port).ping())
    except Exception:
        return False


class RedisServer:
    """A Redis on loopback: the machine's service, or one we started (then stopped)."""

    def __init__(self, port: int, how: str, proc: subprocess.Popen | None = None) -> None:
        self.port = port
        self.how = how
        self.proc = proc

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _start_binary(binary: str) -> RedisServer:
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["no", "--daemonize", "no", "--loglevel", "warning"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise PeerUnavailable(f"{binary} exited with {proc.returncode}: {err.strip()}")
        if _answers(port):
            return RedisServer(port, f"started {binary} on 127.0.0.1:{port}", proc)
        time.sleep(0.05)
    proc.kill()
    raise PeerUnavailable(f"{binary} did not answer PING on 127.0.0.1:{port} within 15 s")


def redis_server() -> RedisServer:
    """The machine's Redis at 127.0.0.1:6379, else one started from the binary."""
    try:
        import redis  # noqa: F401
    except ModuleNotFoundError as exc:
        raise PeerUnavailable("the Python package `redis` is not installed") from exc
    if _answers(SERVICE_PORT):
        return RedisServer(SERVICE_PORT, "the machine's service at 127.0.0.1:6379")
    binary = shutil.which("redis-server")
    if binary is None and os.geteuid() == 0 and shutil.which("apt-get"):
        done = subprocess.run(
            ["apt-get", "install", "-y", "redis-server"], capture_output=True, timeout=600
        )
        binary = shutil.which("redis-server")
        if binary is None:
            tail = done.stderr.decode(errors="replace").strip()[-300:]
            raise PeerUnavailable(
                "no Redis answers at 127.0.0.1:6379, no `redis-server` binary on PATH, and "
                f"`apt-get install -y redis-server` failed: {tail}"
            )
    if binary is None:
        raise PeerUnavailable(
            "no Redis answers at 127.0.0.1:6379 and there is no `redis-server` binary on "
            "PATH (install Debian's redis-server)"
        )
    return _start_binary(binary)


def _bits(tag: int) -> list[int]:
    return [b for b in range(64) if (tag >> b) & 1]


class RedisGeoIndex(PeerIndex):
    name = "redis-geosearch"
    description = "Redis GEOADD / ZREM / GEOSEARCH BYRADIUS over loopback, one round trip each"

    def __init__(self, server: RedisServer) -> None:
        super().__init__()
        self.server = server
        self.client = _client(server.port)
        self.prefix = f"lingong:bench:{uuid.uuid4().hex[:12]}:"
        self._keys_used: set[str] = set()

    def _keys(self, tag: int) -> list[str]:
        if tag == ALL_TAGS:
            return [self.prefix + "any"]
        return [f"{self.prefix}bit:{b}" for b in _bits(tag)]

    def _put(self, row: int, lat: float, lng: float, tag: int, new: bool) -> None:
        keys = self._keys(tag)
        if len(keys) == 1:
            self.client.geoadd(keys[0], (lng, lat, row))
        else:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.geoadd(key, (lng, lat, row))
            pipe.execute()
        self._keys_used.update(keys)

    def _retag(self, row: int, old: int, tag: int) -> None:
        old_keys = self._keys(old)
        (pos,) = self.client.geopos(old_keys[0], row)
        pipe = self.client.pipeline(transaction=False)
        for key in old_keys:
            pipe.zrem(key, row)
        for key in self._keys(tag):
            pipe.geoadd(key, (pos[0], pos[1], row))
            self._keys_used.add(key)
        pipe.execute()

    def _delete(self, row: int, tag: int) -> None:
        keys = self._keys(tag)
        if len(keys) == 1:
            self.client.zrem(keys[0], row)
        else:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, row)
            pipe.execute()

    def _search(self, lat: float, lng: float, radius_m: float, tag_mask: int) -> np.ndarray:
        if tag_mask:
            keys = [k for k in [self.prefix + "any", *self._keys(tag_mask)] if k in self._keys_used]
        else:
            keys = sorted(self._keys_used)
        radius = radius_m * REDIS_RADIUS_FACTOR
        if len(keys) == 1:
            found = [
                self.client.geosearch(keys[0], longitude=lng, latitude=lat, radius=radius, unit="m")
            ]
        else:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.geosearch(key, longitude=lng, latitude=lat, radius=radius, unit="m")
            found = pipe.execute()
        rows = np.fromiter((int(m) for part in found for m in part), dtype=np.int64)
        return rows if len(keys) <= 1 else np.unique(rows)

    def close(self) -> None:
        try:
            if self._keys_used:
                self.client.delete(*self._keys_used)
        finally:
            self.client.close()
