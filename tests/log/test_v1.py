"""Logs written before format v2 still verify, and the v2 writer continues them.

`tests/log/data/v1/log` was written by the code before log format v2 (see its README):
v1 segments (a crc per frame) holding schema 1 records (events as msgpack maps).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest

from adapters.log.filelog import FileLog, inspect_log, verify_log
from adapters.log.reader import open_log_reader
from adapters.log.records import read_records
from engine import events as e
from engine.record import record_codec
from replay.cli import main as replay_main

V1_LOG = Path(__file__).parent / "data" / "v1" / "log"
V1_HEAD = "5669b01a0ffdfc5946b61784aa14ceab4374be21ee57050fc8e15a4d96daa1bb"


def test_replay_verify_still_verifies_the_v1_log(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_main(["verify", str(V1_LOG), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["failure"] is None
    assert (report["records"], report["events"], report["last_seq"]) == (3044, 3121, 3044)
    assert report["head_hash"] == V1_HEAD and report["segments"] == 3


def test_v1_records_decode_and_reencode_smaller_as_schema_2() -> None:
    v1_bytes = v2_bytes = 0
    offer_v1: list[int] = []
    offer_v2: list[int] = []
    codec = record_codec()
    for batch in read_records(open_log_reader(V1_LOG)):
        for i, rec in enumerate(batch.records):
            old = batch.payload(i)
            assert old[1] == 1  # schema 1 on disk
            assert rec.v == e.SCHEMA_VERSION == 2  # upcast when read
            new = e.encode_record(rec)
            assert e.decode_record(new) == rec == e.decode_record(old)
            v1_bytes, v2_bytes = v1_bytes + len(old), v2_bytes + len(new)
            for ev in rec.events:
                if isinstance(ev, e.OfferMade):
                    offer_v1.append(len(msgspec.msgpack.encode(ev)))
                    t = msgspec.structs.astuple(ev)
                    offer_v2.append(len(codec._encoder.encode((30, t[0], *t[2:]))))
    assert v2_bytes < 0.55 * v1_bytes  # (v2 records also carry command, actor, digest)
    assert offer_v1 and sum(offer_v2) < 0.55 * sum(offer_v1)  # about 254 -> 126 bytes


def test_the_v2_writer_continues_a_v1_log_in_a_v2_segment(tmp_path: Path) -> None:
    log_dir = shutil.copytree(V1_LOG, tmp_path / "log")
    records = [r for b in read_records(open_log_reader(log_dir)) for r in b.records]
    with FileLog(log_dir) as log:
        assert (log.last_seq, log.head_hash.hex()) == (3044, V1_HEAD)
        assert log.recovery is None
        again = [e.encode_record(r) for r in records[:3]]  # schema 2 payloads
        assert log.append(again) == 3047
    info = inspect_log(log_dir)
    assert [s["format_version"] for s in info["segments"]] == [1, 1, 1, 2]
    assert info["ok"] and info["last_seq"] == 3047
    assert verify_log(log_dir).ok
    reader = open_log_reader(log_dir)
    back = [r for b in read_records(reader, 3040, verify_chain=True) for r in b.records]
    assert back == records[3039:] + records[:3]
    with FileLog(log_dir) as log:  # reopening keeps writing v2
        log.append([e.encode_record(records[3])])
        assert [p for _, p in log.read(3047)][1][1] == 2
