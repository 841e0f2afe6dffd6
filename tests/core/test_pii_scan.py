"""The log scan finds what it looks for, and the demo's log has nothing to find."""

from __future__ import annotations

import tempfile
from pathlib import Path

from adapters.log.filelog import FileLog
from engine import events as e
from engine.record import encode_record, make_record
from sim.demo import run_demo
from sim.morning import Sizes
from tests.pii_scan import scan_log_dir, scan_tree

SMALL = Sizes(workers=300, postings=60, employers=20, stations_per_city=4, tick_ms=30_000)


def test_the_scan_finds_a_planted_number() -> None:
    # outside the pytest base temp folder: the session-wide scan must not see this plant
    with tempfile.TemporaryDirectory(prefix="lingong-plant-") as tmp:
        log = FileLog(Path(tmp) / "log", fsync=False)
        leak = e.JobCancelled(ts_ms=1, cmd_id="x", job_id="J1", reason="电话13812341234")
        log.append([encode_record(make_record("x", [leak]))])
        log.close()
        leaks = scan_log_dir(Path(tmp) / "log")
        assert len(leaks) == 2  # the decoded frame and the raw segment
        assert all("138****1234" in x and "13812341234" not in x for x in leaks)
        assert scan_tree(Path(tmp))[0] == 1


def test_the_demo_writes_no_plain_phone_or_id_number(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, sizes=SMALL, fsync=False)
    assert summary.workers > 100 and summary.complaints >= 0
    folders, leaks = scan_tree(tmp_path)
    assert folders == 1 and leaks == []
