"""engine/ is deterministic: no clock, randomness, environment or file access.

The scan parses every module with `ast` (so comments and strings do not count) and also
greps the raw text for the patterns the project's before-stop hook uses.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"

FORBIDDEN_MODULES = {"time", "random", "secrets", "uuid", "os", "pathlib", "io", "socket", "shutil"}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("np", "random"),
    ("numpy", "random"),
}
FORBIDDEN_NAMES = {"open", "input", "__import__", "eval", "exec"}
RAW = re.compile(
    r"\b(time\.(time|monotonic|perf_counter)|datetime\.(now|utcnow|today)|date\.today|random\.|"
    r"uuid\.uuid[14]|os\.environ|os\.getenv|open\()"
)


def _modules() -> list[Path]:
    files = sorted(ENGINE.rglob("*.py"))
    assert files, "engine/ has no modules"
    return files


def test_engine_imports_nothing_that_reads_the_world() -> None:
    bad: list[str] = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                        bad.append(f"{path.name}:{node.lineno} import {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in FORBIDDEN_MODULES:
                    bad.append(f"{path.name}:{node.lineno} from {node.module} import ...")
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
                    bad.append(f"{path.name}:{node.lineno} {f.id}()")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if (node.value.id, node.attr) in FORBIDDEN_CALLS:
                    bad.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert bad == [], "engine/ must stay deterministic:\n" + "\n".join(bad)


def test_engine_raw_text_has_no_clock_random_env_or_open() -> None:
    hits = []
    for path in _modules():
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RAW.search(line) and "det-ok" not in line:
                hits.append(f"{path.name}:{no}: {line.strip()}")
    assert hits == [], "\n".join(hits)


def test_the_scan_catches_a_planted_violation(tmp_path: Path) -> None:
    planted = "import time\nx = time.time()\nopen('f')\n"
    tree = ast.parse(planted)
    names = [n.names[0].name for n in ast.walk(tree) if isinstance(n, ast.Import)]
    assert names == ["time"]
    assert RAW.search(planted)
