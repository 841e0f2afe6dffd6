"""Every reader of a log goes through the one read port (folder or nats:// URL alike)."""

from __future__ import annotations

from pathlib import Path

from adapters.http.scope import ScopeIndex
from adapters.log.reader import open_log_reader
from adapters.log.records import read_records
from adapters.stores.source import read_records as store_records
from engine import events as e

V1_LOG = Path(__file__).parent / "data" / "v1" / "log"


def test_scope_index_collects_employer_blobs_through_the_reader() -> None:
    reader = open_log_reader(V1_LOG)
    expected = {
        ev.employer_id: bytes(ev.sealed)
        for b in read_records(reader, 1, stop_seq=500)
        for rec in b.records
        for ev in rec.events
        if isinstance(ev, e.EmployerRegistered) and ev.sealed
    }
    assert expected  # the demo registers employers early
    index = ScopeIndex()
    index.scan_log(reader, 500)
    assert index.employer_blob == expected
    index.scan_log(reader, reader.last_seq)  # once per process
    assert index.employer_blob == expected


def test_store_source_reads_through_the_port() -> None:
    reader = open_log_reader(V1_LOG)
    mine = [(s, r) for b in read_records(reader, 2990) for s, r in b.pairs()]
    theirs = [(s, r) for b in store_records(str(V1_LOG), 2990, 16) for s, r, _ in b]
    assert mine == theirs and mine[-1][0] == reader.last_seq
