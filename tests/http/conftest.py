"""Fixtures of the HTTP tests: a fresh two-region world behind the app per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.world import Env, make_env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = make_env(tmp_path_factory.mktemp("http"))
    try:
        yield e
    finally:
        e.close()


@pytest.fixture(scope="session")
def chromium_bin() -> str:
    """Debian's Chromium for the browser tests, installed when missing (fails, never skips)."""
    from tests.http.browser import ensure_chromium

    try:
        return ensure_chromium()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"cannot install or find chromium: {exc}")
