"""`--json` means JSON and nothing else does: one JSON document on stdout with it, text
for people without it, for every subcommand that has the flag."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def _json_options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _json_options(sub, (*path, name))
        elif "--json" in action.option_strings:
            yield path, action


def test_every_json_option_is_a_flag() -> None:
    from lingong.cli import build_parser

    found = list(_json_options(build_parser()))
    assert len(found) >= 15
    for path, action in found:
        assert action.nargs == 0, f"lingong {' '.join(path)} --json takes a value"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _commands(data: Path, tmp: Path) -> list[list[str]]:
    policy = tmp / "policy.json"
    policy.write_text('{"weights": {"older": 1.0}}')
    d = str(data)
    return [
        ["log", "inspect", f"{d}/log"],
        ["replay", "verify", d, "--quiet"],
        ["replay", "rebuild", d, "--until", "2000", "--quiet"],
        ["replay", "explain", d, "--job", "J0000001", "--limit", "3", "--quiet"],
        ["replay", "whatif", d, "--policy", str(policy), "--quiet"],
        ["replay", "fairness", d, "--quiet"],
        ["project", "--data", d],
        ["report", "wages", "--data", d, "--format", "csv", "--out", str(tmp / "w.csv")],
        ["policy", "train", "--data", d, "--dry-run"],
        ["token", "create", "--role", "auditor", "--region", "4206", "--data", d],
        ["token", "list", "--data", d],
        ["bench", "log", "--events", "2000", "--batch", "500"],
        ["bench", "fold", "--workers", "200", "--postings", "40"],
        ["bench", "bell", "--workers", "60", "--jobs", "20"],
        ["bench", "posting", "--workers", "500", "--postings", "60"],
    ]


@pytest.mark.slow
def test_json_only_with_json(run: Run, small_demo, tmp_path: Path) -> None:
    data, _ = small_demo
    for argv in _commands(data, tmp_path):
        code, out, err = run(*argv, "--json")
        assert code == 0, (argv, err)
        assert _is_json(out), (argv, out[:300])  # one document, nothing else
        code, out, err = run(*argv)
        assert code == 0, (argv, err)
        assert out.strip() and not _is_json(out), (argv, out[:300])
