"""The one read port: `open_log_reader(url)` and the file log's lock-free `FileLogReader`."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.log.filelog import FileLog
from adapters.log.ports import EventLog, LogCorrupt, LogReader
from adapters.log.reader import FileLogReader, open_log_reader, parse_nats_url
from adapters.log.records import RecordError, read_records
from tests.log.contract import payload_for

V1_LOG = Path(__file__).parent / "data" / "v1" / "log"


def _fill(path: Path, sizes: list[int]) -> list[bytes]:
    written: list[bytes] = []
    with FileLog(path, segment_bytes=2048) as log:
        for size in sizes:
            batch = [payload_for(seq) for seq in range(log.next_seq, log.next_seq + size)]
            log.append(batch)
            written.extend(batch)
    return written


def test_file_log_and_file_reader_are_log_readers(tmp_path: Path) -> None:
    with FileLog(tmp_path / "log") as log:
        assert isinstance(log, LogReader) and isinstance(log, EventLog)
        reader = open_log_reader(tmp_path / "log")
        assert isinstance(reader, LogReader) and not isinstance(reader, EventLog)
        assert open_log_reader(reader) is reader  # a reader passes through


def test_reader_sees_what_the_writer_wrote(tmp_path: Path) -> None:
    written = _fill(tmp_path / "log", [5, 1, 30, 7, 2])
    with FileLog(tmp_path / "log") as log:
        head, last = log.head_hash, log.last_seq
    for url in (tmp_path / "log", str(tmp_path), f"file://{tmp_path / 'log'}"):
        reader = open_log_reader(url)
        assert isinstance(reader, FileLogReader)
        assert (reader.last_seq, reader.head_hash) == (last, head)
        assert reader.location == str(tmp_path / "log")
        assert len(reader.segments) > 1 and reader.torn_tail is None
        for verify_chain in (True, False):
            frames = [f for b in reader.read_batches(1, 7, verify_chain=verify_chain) for f in b]
            assert frames == list(enumerate(written, start=1))
        assert [p for _, p in reader.read(40)] == written[39:]
        reader.close()


def test_reader_reads_up_to_the_tail_found_when_called(tmp_path: Path) -> None:
    _fill(tmp_path / "log", [3, 3])
    reader = open_log_reader(tmp_path / "log")
    assert reader.last_seq == 6
    with FileLog(tmp_path / "log") as log:
        log.append([b"late"])
        # the first read after opening stops at the tail found on opening
        assert [s for b in reader.read_batches() for s, _ in b] == [1, 2, 3, 4, 5, 6]
        # a later read finds the new tail
        assert [s for b in reader.read_batches(6) for s, _ in b] == [6, 7]
        assert reader.last_seq == 7 and reader.head_hash == log.head_hash


def test_reader_stops_before_a_torn_tail_and_reports_it(tmp_path: Path) -> None:
    written = _fill(tmp_path / "log", [4, 4])
    segment = sorted((tmp_path / "log").glob("*.seg"))[-1]
    segment.write_bytes(segment.read_bytes() + bytes(100))
    before = segment.read_bytes()
    reader = open_log_reader(tmp_path / "log")
    assert reader.last_seq == 8 and reader.torn_tail is not None and reader.torn_tail_bytes == 100
    assert [p for _, p in reader.read()] == written
    assert segment.read_bytes() == before  # a reader never modifies anything


def test_reader_names_corruption(tmp_path: Path) -> None:
    _fill(tmp_path / "log", [4, 4])
    segment = sorted((tmp_path / "log").glob("*.seg"))[-1]
    data = bytearray(segment.read_bytes())
    data[-1] ^= 1
    segment.write_bytes(bytes(data))
    with pytest.raises(LogCorrupt) as info:
        open_log_reader(tmp_path / "log")
    assert info.value.segment == segment.name


def test_readers_never_create_folders(tmp_path: Path) -> None:
    missing = tmp_path / "nothing" / "log"
    with pytest.raises(FileNotFoundError, match="no log folder"):
        open_log_reader(missing)
    assert not (tmp_path / "nothing").exists()
    with pytest.raises(ValueError, match="log URL"):
        open_log_reader("s3://bucket/log")


def test_parse_nats_url() -> None:
    assert parse_nats_url("nats://h:4222/LINGONG_LOG/320100") == (
        "nats://h:4222",
        "LINGONG_LOG",
        "320100",
    )
    assert parse_nats_url("nats://a:1,nats://b:2/S?partition=p-1") == (
        "nats://a:1,nats://b:2",
        "S",
        "p-1",
    )
    assert parse_nats_url("tls://h:4222/S") == ("tls://h:4222", "S", "")
    for bad in ("nats://h:4222", "nats://h:4222/", "nats://h/S/p/q", "nats://h/S.x"):
        with pytest.raises(ValueError, match="nats://host:port/STREAM"):
            parse_nats_url(bad)


def test_read_records_decodes_batches_and_respects_stop_seq() -> None:
    reader = open_log_reader(V1_LOG)
    batches = list(read_records(reader, 10, stop_seq=2000, max_frames=500))
    seqs = [s for b in batches for s, _ in b.frames]
    assert seqs == list(range(10, 2001))
    assert all(len(b.frames) == len(b.records) <= 500 for b in batches)
    assert [s for s, _ in batches[0].pairs()][:2] == [10, 11]
    assert list(read_records(reader, 5, stop_seq=4)) == []


def test_read_records_names_a_frame_that_does_not_decode(tmp_path: Path) -> None:
    with FileLog(tmp_path / "log") as log:
        log.append([b"\x93\x01\xa1x\x90", b"not msgpack \xc1"])
        with pytest.raises(RecordError, match="record seq 2"):
            list(read_records(log))


def test_read_records_regroups_whole_blocks_into_batches(tmp_path: Path) -> None:
    """A v2 block (one append) is decoded whole; batches still hold max_frames records."""
    from engine import events as e

    records = [r for b in read_records(open_log_reader(V1_LOG), 1, stop_seq=120) for r in b.records]
    payloads = [e.encode_record(r) for r in records]
    with FileLog(tmp_path / "log", segment_bytes=4096) as log:
        at = 0
        for size in (1, 30, 2, 50, 7, 30):
            log.append(payloads[at : at + size])
            at += size
    reader = open_log_reader(tmp_path / "log")
    for from_seq, stop_seq, size in ((1, None, 7), (5, 100, 13), (31, 33, 1000), (2, 119, 1)):
        batches = list(read_records(reader, from_seq, stop_seq=stop_seq, max_frames=size))
        last = stop_seq or 120
        assert [len(b) for b in batches[:-1]] == [size] * (len(batches) - 1)
        got = [(s, r) for b in batches for s, r in b.pairs()]
        assert got == list(
            zip(range(from_seq, last + 1), records[from_seq - 1 : last], strict=True)
        )
        assert [p for b in batches for _, p in b.frames] == payloads[from_seq - 1 : last]
