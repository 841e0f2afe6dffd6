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
