"""The first run on a machine says it is compiling (stderr, one line), and only then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lingong.firstrun import NOTICE
from tests.cli.conftest import DATE, subprocess_cli


@pytest.mark.slow
def test_cold_cache_notice_once_then_silent(tmp_path: Path) -> None:
    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # a machine that never compiled
    data = tmp_path / "data"
    small = ["--workers", "100", "--postings", "30", "--date", DATE, "--no-stores"]

    cold = subprocess_cli("demo", "--data", str(data), *small, "--json", env=cache)
    assert cold.returncode == 0, cold.stderr
    json.loads(cold.stdout)  # --json: the notice never reaches stdout
    notices = [line for line in cold.stderr.splitlines() if "compiling" in line]
    assert notices == [NOTICE]
    assert cold.stderr.splitlines()[0] == NOTICE  # said before the wait, not after
    assert list((tmp_path / "numba").rglob("*.nbi"))  # numba's cache is warm now

    warm = subprocess_cli("replay", "rebuild", str(data), "--quiet", env=cache)
    assert warm.returncode == 0, warm.stderr
    assert "compiling" not in warm.stderr + warm.stdout

    # a command that does not run the engine says nothing, even on a cold machine
    other = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-other")}
    inspect = subprocess_cli("log", "inspect", str(data / "log"), env=other)
    assert inspect.returncode == 0 and "compiling" not in inspect.stderr
