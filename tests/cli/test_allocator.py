"""Long-running commands run under the C allocator (`lingong.cli.LONG_RUNNING`): from the
command line, `lingong bench days` (as `lingong serve`) re-runs itself with
`PYTHONMALLOC=malloc` unless the environment chose an allocator; in-process calls of
`main(argv)` never re-run anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lingong.cli import LONG_RUNNING, _long_running_allocator
from tests.cli.conftest import ROOT

DAYS = ("bench", "days", "--days", "1", "--workers", "300", "--json")


def _days(extra_env: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    env.update({"PYTHONPATH": str(ROOT), **extra_env})
    out = subprocess.run(
        [sys.executable, "-m", "lingong", *DAYS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_bench_days_from_the_command_line_runs_under_the_c_allocator() -> None:
    found = _days({})
    assert found["allocator"] == "malloc"
    assert found["replay_digest_matches"]


def test_an_allocator_the_environment_chose_is_kept() -> None:
    assert _days({"PYTHONMALLOC": "pymalloc"})["allocator"] == "pymalloc"


def test_only_long_running_commands_are_re_run(monkeypatch) -> None:  # noqa: ANN001
    calls: list[list[str]] = []
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.setattr(os, "execve", lambda path, args, env: calls.append(args))
    for argv in (["demo", "--data", "x"], ["bench", "morning"], ["replay", "verify"]):
        _long_running_allocator(argv)
    assert calls == []
    _long_running_allocator(["serve", "--data", "/data", "--port", "8080"])
    _long_running_allocator(["bench", "days", "--days", "30"])
    assert [a[3:5] for a in calls] == [["serve", "--data"], ["bench", "days"]]
    assert ("serve",) in LONG_RUNNING
