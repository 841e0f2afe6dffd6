"""Tests do not depend on how fast the machine is: a scan of every test module.

Owns the rule "no sleeps as synchronisation, no wall-clock deadlines inside assertions"
(issue 11) as a check that runs with the suite:
- every `time.sleep(...)` / `asyncio.sleep(...)` call in tests/ carries `# sleep-ok` and a
  reason on its line (a readiness poll of a starting server, a retry back-off, a fault
  injector's random instant): a sleep used to wait for something is a defect;
- no `assert` reads a clock (`time.time`, `monotonic`, `perf_counter`, `*_ns`), directly or
  through a local name assigned from one (`elapsed = perf_counter() - t0; assert elapsed < 1`).

Limits: a syntactic scan (names assigned from a clock within the same function); it does
not follow values through calls or containers.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLOCKS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}
SLEEPERS = {("time", "sleep"), ("asyncio", "sleep")}


def _dotted(func: ast.expr) -> tuple[str, str] | None:
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return None


def _reads_clock(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _dotted(sub.func)
            if name is not None and name[0] == "time" and name[1] in CLOCKS:
                return True
    return False


def _names(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}


def violations(source: str, filename: str = "<test>") -> list[str]:
    """`file:line: what` for every unmarked sleep and every clock-reading assertion."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in SLEEPERS:
            if "sleep-ok" not in lines[node.lineno - 1]:
                out.append(f"{filename}:{node.lineno}: sleep without '# sleep-ok' and a reason")
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    scopes += [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)]
    for scope in scopes:
        timed: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value:
                if _reads_clock(node.value) or _names(node.value) & timed:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        timed |= _names(target)
        for node in ast.walk(scope):
            if isinstance(node, ast.Assert) and (_reads_clock(node) or _names(node) & timed):
                out.append(f"{filename}:{node.lineno}: assertion on a wall-clock reading")
    return sorted(set(out))


def test_no_test_sleeps_to_synchronise_or_asserts_on_elapsed_time() -> None:
    found: list[str] = []
    for path in sorted(TESTS.rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS)))
    assert found == []


def test_the_scan_finds_what_it_forbids() -> None:
    planted = (
        "import asyncio, time\n"
        "def test_a():\n"
        "    time.sleep(0.5)  # nothing more may come\n"  # sleep-ok (planted text)
        "    started = time.monotonic()\n"
        "    elapsed_s = time.monotonic() - started\n"
        "    assert elapsed_s < 1.0\n"
        "async def test_b():\n"
        "    await asyncio.sleep(0.2)\n"
        "    assert time.perf_counter() > 0\n"
        "def test_c():\n"
        "    time.sleep(0.1)  # sleep-ok: readiness poll\n"
        "    deadline = time.monotonic() + 120\n"
        "    assert 1 + 1 == 2\n"
    )
    assert violations(planted) == [
        "<test>:3: sleep without '# sleep-ok' and a reason",
        "<test>:6: assertion on a wall-clock reading",
        "<test>:8: sleep without '# sleep-ok' and a reason",
        "<test>:9: assertion on a wall-clock reading",
    ]
