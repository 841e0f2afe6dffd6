"""Shared logs for the replay tests: built once per session (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.replay.util import payloads, write_demo, write_log


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    """(log folder, summary) of a small synthetic morning written by another process."""
    data = tmp_path_factory.mktemp("demo")
    info = write_demo(data, hash_seed="0")
    return data / "log", info


@pytest.fixture(scope="session")
def demo_payloads(demo) -> list[bytes]:
    return payloads(demo[0])


@pytest.fixture(scope="session")
def segmented(demo_payloads, tmp_path_factory) -> Path:
    """The same records in many small segments, one frame per append."""
    return write_log(
        tmp_path_factory.mktemp("seg") / "log", demo_payloads, segment_bytes=64 * 1024, batch=1
    )
