"""Kill the projector with SIGKILL in the middle of its work, restart it: no row lost, none
doubled. A real subprocess (`python -m adapters.stores project`) projects the session's
log in small batches; we kill it as soon as it has committed a few batches (it is then
inside the next one), check that the store stopped at a batch boundary, run it again to
the end and compare every table's row count with counts computed from the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.stores import registry_store, reporting_store
from adapters.stores.projector import REGISTRY, REPORTING
from tests.stores import logfacts as lf

ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_BATCHES = 3


def _cmd(data: Path, only: str, pg_dsn: str | None, batch: int) -> list[str]:
    cmd = [sys.executable, "-m", "adapters.stores", "project", "--data", str(data), "--only", only,
           "--batch-frames", str(batch), "--progress"]  # fmt: skip
    return cmd + (["--pg-dsn", pg_dsn] if pg_dsn else [])


def _kill_mid_run(cmd: list[str]) -> int:
    """Start `cmd`, SIGKILL it after KILL_AFTER_BATCHES committed batches; batches seen."""
    seen = 0
    with subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if " seq=" in line:
                seen += 1
                if seen >= KILL_AFTER_BATCHES:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        proc.wait(timeout=60)
        err = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, err
    return seen


@pytest.mark.parametrize("only", ["registry", "reporting"])
@pytest.mark.parametrize("backend", ["files", "postgres"])
def test_sigkill_mid_projection_then_restart(
    only: str, backend: str, data_dir: Path, demo_dir: Path, request: pytest.FixtureRequest
):
    pg_dsn = request.getfixturevalue("pg_dsn") if backend == "postgres" else None
    world = lf.world(lf.read_all(demo_dir / "log"))
    last = max(world_seq for world_seq, _ in lf.read_all(demo_dir / "log"))
    batch = max(20, last // 40)
    seen = _kill_mid_run(_cmd(data_dir, only, pg_dsn, batch))
    assert seen == KILL_AFTER_BATCHES

    proj = REGISTRY if only == "registry" else REPORTING
    opener = registry_store if only == "registry" else reporting_store
    with opener(data_dir, pg_dsn=pg_dsn) as store:
        pos = store.position(proj.name)[0]
        partial = {t.name: store.count(t.name) for t in proj.tables}
    assert 0 < pos < last, "killed before the first or after the last commit"
    assert pos % batch == 0 or pos == last  # the store stopped at a batch boundary
    if only == "reporting":  # facts of exactly the first `pos` records, no more
        upto = lf.fact_counts(lf.world([r for r in lf.read_all(demo_dir / "log") if r[0] <= pos]))
        assert partial == upto

    done = subprocess.run(_cmd(data_dir, only, pg_dsn, batch), cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"seq={last} " in done.stdout
    with opener(data_dir, pg_dsn=pg_dsn) as store:
        assert store.position(proj.name)[0] == last
        got = {t.name: store.count(t.name) for t in proj.tables}
    if only == "registry":
        expected = lf.registry_counts(world)
        assert {k: got[k] for k in expected} == expected
    else:
        assert got == lf.fact_counts(world)
