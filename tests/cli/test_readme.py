"""The README as a newcomer follows it: `make demo`'s command, then every command of
"First steps" in order, as written (paths moved under a temporary folder)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, Run


def _block(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"## {heading}", 1)[1]
    code = re.search(r"```sh\n(.*?)```", section, re.S)
    assert code, f"no sh block under {heading}"
    return [line.split(" #", 1)[0].strip() for line in code.group(1).splitlines()]


def _make_demo_argv() -> list[str]:
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(x for x in recipe.splitlines() if "lingong demo" in x)
    return shlex.split(line.strip())[1:]  # without $(BIN)/lingong


@pytest.mark.slow
def test_first_steps_work_as_written(run: Run, tmp_path: Path, monkeypatch) -> None:
    from lingong.cli import build_parser

    monkeypatch.chdir(tmp_path)  # `.data/...` as in a fresh clone, but here
    code, out, err = run(*_make_demo_argv())
    assert code == 0, err
    lines = [x for x in _block((ROOT / "README.md").read_text(), "First steps") if x]
    assert lines[0].startswith(". .venv/bin/activate")
    ran = 0
    for line in lines[1:]:
        if line.startswith("echo "):
            text, target = re.fullmatch(r"echo '(.*)' > (\S+)", line).groups()
            Path(target).write_text(text)
            continue
        argv = shlex.split(line)
        assert argv[0] == "lingong", line
        if argv[1:3] == ["serve", "--demo"]:  # runs until stopped: tests/cli/test_serve_cli.py
            build_parser().parse_args(argv[1:])
            continue
        code, out, err = run(*argv[1:])
        assert code == 0, (line, err[-2000:])
        assert out.strip(), line
        ran += 1
    assert ran >= 9


def test_command_table_names_real_subcommands() -> None:
    from lingong.cli import build_parser

    text = (ROOT / "README.md").read_text().split("## Commands", 1)[1]
    rows = re.findall(r"^\| `lingong ([^`]*)`", text, re.M)
    assert len(rows) >= 10
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for row in rows:
        words = row.split()
        assert words[0] in sub.choices, row
        for name in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", row):
            options = _options(sub.choices[words[0]])
            assert name in options, f"lingong {words[0]}: no option {name}"


def _options(parser) -> set[str]:  # type: ignore[no-untyped-def]
    out = set()
    for action in parser._actions:
        out.update(action.option_strings)
        if action.__class__.__name__ == "_SubParsersAction":
            for sub in action.choices.values():
                out |= _options(sub)
    return out
