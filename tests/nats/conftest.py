"""Fixtures of the NATS tests: one real JetStream server shared by the session.

Tests isolate themselves by partition / stream / bucket names, so one server serves them
all; tests that kill servers start their own (`tests.nats.servers`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nats.servers import NatsServer, start_server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = start_server(tmp_path_factory.mktemp("nats-server"))
    try:
        yield server
    finally:
        server.kill()
