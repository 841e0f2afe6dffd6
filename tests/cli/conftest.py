"""The command line as a user runs it: `lingong.cli.main` in-process, or a subprocess.

Shared here: a small demo folder written once per session (in-process, no fsync), and
`run`, which calls `lingong.cli.main(argv)` and returns (exit code, stdout, stderr).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.demo import DemoSummary, run_demo
from sim.morning import Sizes

ROOT = Path(__file__).resolve().parents[2]
SMALL = Sizes(workers=300, postings=80, employers=20, stations_per_city=6)
DATE = "2026-11-23"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> tuple[Path, DemoSummary]:
    data = tmp_path_factory.mktemp("cli-demo") / "data"
    return data, run_demo(data, date=DATE, sizes=SMALL, fsync=False)


@pytest.fixture()
def run(capsys) -> Run:
    from lingong import cli

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def subprocess_cli(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m lingong.cli ARGV` from the repository root (this checkout's modules)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lingong.cli", *argv],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang guard, never what decides pass or fail
    )
