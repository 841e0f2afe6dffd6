"""Readers never create folders: a missing or stray data folder is refused (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Run

POLICY = '{"weights": {"older": 1.0}}'


def _readers(data: Path, policy: Path, out: Path) -> list[list[str]]:
    d = str(data)
    return [
        ["log", "inspect", d],
        ["log", "inspect", f"{d}/log"],
        ["replay", "verify", d],
        ["replay", "rebuild", d],
        ["replay", "explain", d, "--job", "J0000001"],
        ["replay", "whatif", d, "--policy", str(policy)],
        ["replay", "fairness", d],
        ["project", "--data", d],
        ["report", "supply-demand", "--data", d, "--format", "csv", "--out", str(out)],
        ["policy", "train", "--data", d],
    ]


@pytest.mark.parametrize("kind", ["missing", "empty", "stray"])
def test_readers_refuse_and_create_nothing(run: Run, tmp_path: Path, kind: str) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(POLICY)
    data = tmp_path / "data"
    if kind != "missing":
        data.mkdir()
    if kind == "stray":
        (data / "notes.txt").write_text("not a log")
    before = sorted(p.name for p in data.iterdir()) if data.exists() else None
    for argv in _readers(data, policy, tmp_path / "out" / "r.csv"):
        code, out, err = run(*argv)
        assert code == 2, (argv, out, err)
        assert err.startswith("lingong ") and str(data) in err, (argv, err)
        after = sorted(p.name for p in data.iterdir()) if data.exists() else None
        assert after == before, argv  # no folder, no file, no store created
    assert not (tmp_path / "out").exists()


def test_stores_from_a_log_url_need_only_an_existing_folder(run: Run, tmp_path: Path) -> None:
    """With `--log URL` the data folder holds only the stores: it must exist (readers never
    create it), but needs no `log/` (the JetStream log is elsewhere)."""
    data = tmp_path / "stores"
    url = "nats://127.0.0.1:1/LINGONG_LOG/4206"  # nothing listens: the reader's own error
    for argv in (
        ["project", "--data", data, "--log", url],
        ["report", "roster", "--data", data, "--log", url, "--format", "csv",
         "--out", tmp_path / "r.csv"],
    ):  # fmt: skip
        code, _, err = run(*argv)
        assert code == 2 and "no data folder" in err, err
        assert not data.exists()
