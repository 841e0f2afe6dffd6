"""Session-wide checks of the whole test suite.

- No event-log segment written by any test (every DATA folder under the pytest base temp
  folder) holds an unmasked phone or ID number: free text is screened or sealed before it
  reaches a log (issue 11). The scan runs once, when the session ends; a leak fails the
  run with the segment or frame named (the number itself masked).
- Hypothesis runs without its per-example deadline: how long an example takes depends on
  the machine's load, and no test may depend on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.pii_scan import scan_tree

settings.register_profile("lingong", deadline=None)
settings.load_profile("lingong")


@pytest.fixture(scope="session", autouse=True)
def no_plain_pii_in_any_log_segment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    folders, leaks = scan_tree(tmp_path_factory.getbasetemp())
    if leaks:
        shown = "\n".join(leaks[:20])
        pytest.fail(
            f"unmasked phone or ID numbers in {len(leaks)} places of {folders} logs:\n{shown}"
        )
