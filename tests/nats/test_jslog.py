"""The JetStream log: the EventLog contract, chain headers, single writer, leases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.nats.jslog import JetStreamLog
from adapters.ports import EventLog
from tests.log.contract import EventLogContract
from tests.nats.servers import NatsServer


def partition_for(tmp_path: Path) -> str:
    return "t" + hashlib.blake2b(str(tmp_path).encode(), digest_size=8).hexdigest()


class TestJetStreamLogContract(EventLogContract):
    @pytest.fixture(autouse=True)
    def _server(self, nats_server: NatsServer) -> None:
        self.url = nats_server.url

    def make_log(self, tmp_path: Path) -> EventLog:
        return JetStreamLog(self.url, partition_for(tmp_path), wait_lease_s=10)
