"""The file log: the EventLog contract plus what is specific to segment files."""

from __future__ import annotations

import errno
import os
import struct
import threading
import zlib
from hashlib import blake2b
from pathlib import Path

import pytest

import adapters.log.filelog as filelog
from adapters.log.filelog import (
    BLOCK_HEADER_BYTES,
    SEGMENT_HEADER_BYTES,
    FileLog,
    LogFailed,
    LogLocked,
    inspect_log,
    read_log_batches,
    segment_name,
    verify_log,
)
from adapters.log.ports import GENESIS_HASH, chain_of
from tests.log.contract import EventLogContract, payload_for

SMALL_SEGMENT_BYTES = 1024


class TestFileLogContract(EventLogContract):
    def make_log(self, tmp_path: Path) -> FileLog:
        # Small segments so that every contract test also crosses segment boundaries.
        return FileLog(tmp_path / "log", segment_bytes=SMALL_SEGMENT_BYTES)


def fill(log: FileLog, sizes: list[int]) -> list[bytes]:
    written = []
    for size in sizes:
        start = log.next_seq
        batch = [payload_for(seq) for seq in range(start, start + size)]
        log.append(batch)
        written.extend(batch)
    return written


class CountingFsync:
    """An fsync seam that counts calls and can be told to fail from the n-th call on."""

    def __init__(self, fail_from: int | None = None) -> None:
        self.calls = 0
        self.fail_from = fail_from

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.fail_from is not None and self.calls >= self.fail_from:
            raise OSError(errno.EIO, "injected fsync failure")
        os.fsync(fd)


# -- segments ------------------------------------------------------------------------


def test_segments_roll_over_named_by_first_seq(tmp_path: Path) -> None:
    log = FileLog(tmp_path, segment_bytes=SMALL_SEGMENT_BYTES)
    written = fill(log, [3] * 60)
    names = log.segments
    log.close()
    assert len(names) > 20
    on_disk = sorted(n for n in os.listdir(tmp_path) if n.endswith(".seg"))
    assert on_disk == names
    info = inspect_log(tmp_path)
    assert info["frames"] == len(written) and info["segment_count"] == len(names)
    expected_first = 1
    for seg in info["segments"]:
        assert seg["name"] == segment_name(seg["first_seq"]) == f"{seg['first_seq']:020d}.seg"
        assert seg["first_seq"] == expected_first
        assert seg["frames"] % 3 == 0  # appends never straddle segments
        assert seg["bytes"] <= SMALL_SEGMENT_BYTES or seg["frames"] == 3  # one append alone
        expected_first = seg["last_seq"] + 1
    assert expected_first == len(written) + 1


def test_an_append_bigger_than_a_segment_gets_a_segment_of_its_own(tmp_path: Path) -> None:
    with FileLog(tmp_path, segment_bytes=SMALL_SEGMENT_BYTES) as log:
        log.append([b"a"])
        log.append([b"x" * 3000])
        log.append([b"b"])
        assert log.segments == [segment_name(1), segment_name(2), segment_name(3)]
    sizes = [s["bytes"] for s in inspect_log(tmp_path)["segments"]]
    assert sizes[1] == SEGMENT_HEADER_BYTES + BLOCK_HEADER_BYTES + 4 + 5 + 3000


def test_on_disk_layout_matches_the_documented_format(tmp_path: Path) -> None:
    with FileLog(tmp_path) as log:
        log.append([b"hello", b"world!"])
        log.append([b"\x93\x01\xa1x\x90"])
    data = (tmp_path / segment_name(1)).read_bytes()
    magic, version, reserved, first_seq, chain_in, crc, pad = struct.unpack_from(
        "<8sIIQ32sII", data, 0
    )
    assert (magic, version, reserved, first_seq, chain_in, pad) == (
        b"LINGLOG\x00",
        2,
        0,
        1,
        GENESIS_HASH,
        0,
    )
    assert crc == zlib.crc32(data[:56])
    pos, prev, seq = 64, GENESIS_HASH, 1
    for payloads in ([b"hello", b"world!"], [b"\x93\x01\xa1x\x90"]):
        hcrc, bcrc, first, count, body_bytes, chain = struct.unpack_from("<IIQII32s", data, pos)
        body = data[pos + 56 : pos + 56 + body_bytes]
        assert hcrc == zlib.crc32(data[pos + 4 : pos + 56]) and bcrc == zlib.crc32(body)
        assert (first, count) == (seq, len(payloads))
        n = len(payloads)
        assert struct.unpack_from(f"<{n}I", body) == tuple(map(len, payloads))
        assert body[4 * n : 4 * n + 5] == b"\xdd" + n.to_bytes(4, "big")  # msgpack array32
        assert body[4 * n + 5 :] == b"".join(payloads)
        for payload in payloads:
            prev = blake2b(prev + payload, digest_size=32).digest()
        assert chain == prev
        pos, seq = pos + 56 + body_bytes, seq + n
    assert pos == len(data)


def test_a_block_of_msgpack_payloads_is_one_msgpack_array(tmp_path: Path) -> None:
    import msgspec

    values = [[1, "a"], {"k": 2}, "three", 4.5]
    with FileLog(tmp_path) as log:
        log.append([msgspec.msgpack.encode(v) for v in values])
    data = (tmp_path / segment_name(1)).read_bytes()
    body = data[64 + 56 :]
    assert msgspec.msgpack.decode(body[4 * len(values) :]) == values


def test_leftover_temporary_segment_is_removed_on_open(tmp_path: Path) -> None:
    with FileLog(tmp_path) as log:
        log.append([b"a"])
    stray = tmp_path / (segment_name(2) + ".tmp")
    stray.write_bytes(b"half a header")
    with FileLog(tmp_path) as log:
        assert not stray.exists()
        assert log.append([b"b"]) == 2


# -- durability seams ----------------------------------------------------------------


def test_one_fsync_per_append_and_directory_fsync_on_new_segment(tmp_path: Path) -> None:
    fsync = CountingFsync()
    log = FileLog(tmp_path, segment_bytes=SMALL_SEGMENT_BYTES, fsync_fn=fsync)
    opened = fsync.calls
    assert opened >= 2  # first segment: its header, and the directory entry
    log.append([b"x" * 10] * 3)
    assert fsync.calls == opened + 1
    segments = len(log.segments)
    while len(log.segments) == segments:
        before = fsync.calls
        log.append([b"y" * 100])
    assert fsync.calls == before + 3  # new segment header + directory + the frames
    log.close()


def test_fsync_failure_fails_the_log_for_good(tmp_path: Path) -> None:
    fsync = CountingFsync()
    log = FileLog(tmp_path, fsync_fn=fsync)
    log.append([b"one", b"two"])
    fsync.fail_from = fsync.calls + 1
    with pytest.raises(LogFailed, match="I/O error") as info:
        log.append([b"three"])
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.EIO
    assert log.failed and log.last_seq == 2  # the failed append was not acknowledged
    fsync.fail_from = None  # even if fsync would work again, the log stays failed
    for _ in range(3):
        with pytest.raises(LogFailed, match="accepts no more appends"):
            log.append([b"four"])
    with pytest.raises(LogFailed):
        log.append([])
    assert [p for _, p in log.read()] == [b"one", b"two"]  # acknowledged frames still readable
    log.close()
    with FileLog(tmp_path) as reopened:  # a restart recovers; the unacked frame may be there
        assert reopened.last_seq in (2, 3)
        assert [p for _, p in reopened.read()][:2] == [b"one", b"two"]


def test_fsync_failure_while_rolling_a_segment_fails_the_log(tmp_path: Path) -> None:
    fsync = CountingFsync()
    log = FileLog(tmp_path, segment_bytes=SMALL_SEGMENT_BYTES, fsync_fn=fsync)
    log.append([b"x" * 900])
    fsync.fail_from = fsync.calls + 2  # the new segment's header works, the directory fails
    with pytest.raises(LogFailed):
        log.append([b"y" * 900])
    with pytest.raises(LogFailed):
        log.append([b"z"])
    log.close()


def test_write_failure_fails_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = FileLog(tmp_path)
    log.append([b"one"])

    def no_space(fd: int, data: bytes | bytearray) -> None:
        raise OSError(errno.ENOSPC, "injected: no space left")

    monkeypatch.setattr(filelog, "write_all", no_space)
    with pytest.raises(LogFailed, match="no space"):
        log.append([b"two"])
    monkeypatch.undo()
    with pytest.raises(LogFailed):
        log.append([b"three"])
    log.close()


def test_module_level_fsync_seam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = FileLog(tmp_path)
    log.append([b"one"])
    monkeypatch.setattr(filelog, "_fsync_file", CountingFsync(fail_from=1))
    with pytest.raises(LogFailed):
        log.append([b"two"])
    assert log.failed
    log.close()


def test_any_exception_between_write_and_fsync_fails_the_log(tmp_path: Path) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    log = FileLog(tmp_path, fsync_fn=CountingFsync())
    log.append([b"one"])
    log._fsync_fn = interrupted  # e.g. Ctrl-C while the frames are half way to disk
    with pytest.raises(KeyboardInterrupt):
        log.append([b"two"])
    with pytest.raises(LogFailed, match="failed earlier"):
        log.append([b"three"])
    log.close()


def test_fsync_disabled_makes_no_fsync_calls(tmp_path: Path) -> None:
    fsync = CountingFsync()
    with FileLog(tmp_path, fsync=False, fsync_fn=fsync, segment_bytes=SMALL_SEGMENT_BYTES) as log:
        fill(log, [5] * 20)
    assert fsync.calls == 0
    assert verify_log(tmp_path).frames == 100


# -- lifecycle -----------------------------------------------------------------------


def test_single_writer_lock(tmp_path: Path) -> None:
    log = FileLog(tmp_path)
    with pytest.raises(LogLocked, match=f"pid {os.getpid()}"):
        FileLog(tmp_path)
    log.append([b"a"])
    log.close()
    with FileLog(tmp_path) as again:  # released by close
        assert again.last_seq == 1


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    log = FileLog(tmp_path)
    log.append([b"a"])
    log.close()
    log.close()
    assert log.closed
    with pytest.raises(ValueError, match="closed"):
        log.append([b"b"])
    with pytest.raises(ValueError, match="closed"):
        log.read()


def test_constructor_validates_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="segment_bytes"):
        FileLog(tmp_path, segment_bytes=10)
    with pytest.raises(ValueError, match="max_payload_bytes"):
        FileLog(tmp_path, max_payload_bytes=filelog.MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(ValueError, match="max_frames_per_append"):
        FileLog(tmp_path, max_frames_per_append=0)
    with FileLog(tmp_path, max_payload_bytes=10, max_frames_per_append=2) as log:
        with pytest.raises(ValueError, match="max_payload_bytes=10"):
            log.append([b"x" * 11])
        with pytest.raises(ValueError, match="max_frames_per_append=2"):
            log.append([b"x"] * 3)


def test_concurrent_appenders_get_contiguous_disjoint_seqs(tmp_path: Path) -> None:
    log = FileLog(tmp_path, fsync=False, segment_bytes=4096)
    results: dict[int, list[tuple[int, list[bytes]]]] = {}

    def worker(wid: int) -> None:
        mine = []
        for i in range(50):
            batch = [f"w{wid}-{i}-{k}".encode() for k in range(1 + (i % 4))]
            mine.append((log.append(batch), batch))
        results[wid] = mine

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    frames = dict(log.read())
    assert sorted(frames) == list(range(1, log.last_seq + 1))
    for mine in results.values():
        for last, batch in mine:
            assert [frames[s] for s in range(last - len(batch) + 1, last + 1)] == batch
    log.close()


# -- read-only tools -----------------------------------------------------------------


def test_verify_inspect_and_read_only_reader(tmp_path: Path) -> None:
    assert verify_log(tmp_path).frames == 0  # an empty directory is an empty log
    log = FileLog(tmp_path, segment_bytes=SMALL_SEGMENT_BYTES)
    written = fill(log, [4, 9, 1, 30, 2])
    # Another process may read while the writer holds the lock.
    got = [x for b in read_log_batches(tmp_path, 1, 5) for x in b]
    assert got == list(log.read())
    got = [x for b in read_log_batches(tmp_path, 20, verify_chain=False) for x in b]
    assert [p for _, p in got] == written[19:]
    report = verify_log(tmp_path)
    assert report.ok and report.problem is None and report.torn_tail is None
    assert report.frames == report.last_seq == len(written)
    assert report.segments == len(log.segments)
    assert report.head_hash == log.head_hash == chain_of(written)
    info = inspect_log(tmp_path)
    assert info["head_hash"] == log.head_hash.hex()
    assert info["ok"] and info["problem"] is None and info["last_seq"] == len(written)
    assert sum(s["frames"] for s in info["segments"]) == len(written)
    log.close()
    with pytest.raises(FileNotFoundError):
        verify_log(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        read_log_batches(tmp_path / "nope")


def test_bulk_reads_take_one_read_per_segment_in_large_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk replay path, checked by what it does rather than with a stopwatch (its speed
    is measured by `lingong bench log`): one read() per segment, and frames handed out in
    batches of up to `max_frames`, not one at a time."""
    reads: list[str] = []
    real_read_file = filelog._read_file

    def counting_read_file(path: Path, nbytes: int | None = None) -> bytes:
        reads.append(path.name)
        return real_read_file(path, nbytes)

    with FileLog(tmp_path, fsync=False, segment_bytes=1 << 20) as log:
        payload = b"p" * 120
        for _ in range(10):
            log.append([payload] * 2000)
        segments = list(log.segments)
        monkeypatch.setattr(filelog, "_read_file", counting_read_file)
        batches = list(log.read_batches(verify_chain=False))
    frames = [frame for batch in batches for frame in batch]
    assert [seq for seq, _ in frames] == list(range(1, 20_001))
    assert all(p == payload for _, p in frames)
    assert len(segments) > 1 and reads == segments  # each segment read once, in order
    assert max(len(b) for b in batches) == 4096  # the default max_frames
    assert len(batches) <= 20_000 // 4096 + len(segments)
