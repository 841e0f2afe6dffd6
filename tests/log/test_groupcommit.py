"""Group commit: batching, ordering, acknowledgement after fsync, back-pressure, failure."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from adapters.filelog import FileLog
from adapters.groupcommit import GroupCommitter, QueueFull
from adapters.ports import LogFailed, chain_of

WAIT_S = 10.0  # upper bound for anything that should happen promptly


class GatedFsync:
    """An fsync seam that can hold fsyncs back, slow them down, or fail them."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        self.delay_s = delay_s
        self.fail = False
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self.entered.set()
        assert self.open.wait(WAIT_S), "test gate never opened"
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise OSError(errno.EIO, "injected fsync failure")
        os.fsync(fd)


class RecordingLog:
    """Wraps a FileLog and records the size of every append."""

    def __init__(self, log: FileLog) -> None:
        self.inner = log
        self.sizes: list[int] = []

    @property
    def max_frames_per_append(self) -> int:
        return self.inner.max_frames_per_append

    @property
    def max_payload_bytes(self) -> int:
        return self.inner.max_payload_bytes

    def append(self, payloads: Sequence[bytes]) -> int:
        self.sizes.append(len(payloads))
        return self.inner.append(payloads)


def open_log(tmp_path: Path, fsync_fn: GatedFsync | None = None) -> FileLog:
    return FileLog(tmp_path / "log", segment_bytes=64 * 1024, fsync_fn=fsync_fn)


def test_concurrent_submitters_each_get_their_own_contiguous_frames(tmp_path: Path) -> None:
    fsync = GatedFsync(delay_s=0.002)  # slow fsync: submissions pile up and share batches
    log = open_log(tmp_path, fsync)
    committer = GroupCommitter(log, max_batch=256)
    submitted: list[tuple[Future[int], list[bytes]]] = []
    lock = threading.Lock()

    def producer(pid: int) -> None:
        for i in range(60):
            payloads = [f"p{pid}-{i}-{k}".encode() for k in range(1 + (i + pid) % 5)]
            future = committer.submit(payloads)
            with lock:
                submitted.append((future, payloads))

    threads = [threading.Thread(target=producer, args=(p,)) for p in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    committer.close()
    frames = dict(log.read())
    assert sorted(frames) == list(range(1, log.last_seq + 1))
    assert log.last_seq == sum(len(p) for _, p in submitted)
    for future, payloads in submitted:
        last = future.result(timeout=0)
        assert [frames[s] for s in range(last - len(payloads) + 1, last + 1)] == payloads
    assert committer.batches < len(submitted)  # fsyncs were shared
    assert committer.frames == log.last_seq
    assert log.head_hash == chain_of([frames[s] for s in sorted(frames)])
    log.close()


def test_futures_resolve_only_after_the_fsync_and_in_order(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = open_log(tmp_path, fsync)
    committer = GroupCommitter(log)
    fsync.open.clear()
    fsync.entered.clear()
    first = committer.submit([b"a"])
    assert fsync.entered.wait(WAIT_S)  # the writer is inside the first fsync
    later = [committer.submit([b"b", b"c"]), committer.submit([b"d"])]
    time.sleep(0.05)
    assert not first.done() and not any(f.done() for f in later)
    assert log.last_seq == 0  # not acknowledged by the log either
    order: list[int] = []
    for f in [first, *later]:
        f.add_done_callback(lambda fut: order.append(fut.result()))
    fsync.open.set()
    assert [f.result(WAIT_S) for f in [first, *later]] == [1, 3, 4]
    committer.close()
    assert order == [1, 3, 4]
    assert not first.cancel()  # submitted frames cannot be cancelled
    log.close()


def test_max_batch_bounds_each_append_but_never_splits_a_submission(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = open_log(tmp_path, fsync)
    recorder = RecordingLog(log)
    committer = GroupCommitter(recorder, max_batch=10)  # type: ignore[arg-type]
    fsync.open.clear()
    futures = [committer.submit([b"x"] * 4) for _ in range(9)]
    futures.append(committer.submit([b"y"] * 25))  # larger than max_batch: appended alone
    fsync.open.set()
    committer.close()
    assert [f.result(0) for f in futures] == [4 * (i + 1) for i in range(9)] + [61]
    assert all(size <= 10 for size in recorder.sizes[:-1])
    assert recorder.sizes[-1] == 25
    assert sum(recorder.sizes) == 61
    log.close()


def test_bounded_queue_blocks_then_raises_queue_full(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = open_log(tmp_path, fsync)
    committer = GroupCommitter(log, max_queue=10)
    fsync.open.clear()
    fsync.entered.clear()
    in_flight = committer.submit([b"f"])
    assert fsync.entered.wait(WAIT_S)  # the writer is stuck in fsync; the queue fills
    queued = [committer.submit([b"q"] * 5) for _ in range(2)]
    assert committer.queued_frames == 10
    with pytest.raises(QueueFull):
        committer.submit([b"z"], block=False)
    started = time.monotonic()
    with pytest.raises(QueueFull, match="0.1 s"):
        committer.submit([b"z"], timeout=0.1)
    assert time.monotonic() - started >= 0.1
    # A blocked submitter proceeds once the writer drains the queue.
    result: list[int] = []
    waiter = threading.Thread(target=lambda: result.append(committer.append([b"w"], WAIT_S)))
    waiter.start()
    time.sleep(0.05)
    assert not result
    fsync.open.set()
    waiter.join(WAIT_S)
    assert result == [12]
    assert in_flight.result(0) == 1 and [f.result(0) for f in queued] == [6, 11]
    committer.close()
    log.close()


def test_fsync_failure_fails_pending_and_later_submissions(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = open_log(tmp_path, fsync)
    committer = GroupCommitter(log)
    assert committer.append([b"ok"], WAIT_S) == 1
    fsync.open.clear()
    fsync.entered.clear()
    failing = committer.submit([b"doomed"])
    assert fsync.entered.wait(WAIT_S)
    queued = [committer.submit([b"queued"]) for _ in range(3)]
    fsync.fail = True
    fsync.open.set()
    for future in [failing, *queued]:
        with pytest.raises(LogFailed):
            future.result(WAIT_S)
    with pytest.raises(LogFailed):
        committer.submit([b"later"])
    assert isinstance(committer.failure, LogFailed)
    assert log.failed and log.last_seq == 1
    committer.close()  # returns: the writer thread has stopped
    log.close()


def test_close_drains_everything_queued(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = open_log(tmp_path, fsync)
    committer = GroupCommitter(log, max_batch=7)
    fsync.open.clear()
    futures = [committer.submit([f"{i}".encode()]) for i in range(50)]
    closer = threading.Thread(target=committer.close)
    closer.start()
    time.sleep(0.02)
    with pytest.raises(ValueError, match="closed"):
        committer.submit([b"too late"])
    fsync.open.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert [f.result(0) for f in futures] == list(range(1, 51))
    assert [p for _, p in log.read()] == [f"{i}".encode() for i in range(50)]
    log.close()


def test_bad_submissions_are_refused_without_harming_others(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "log", max_payload_bytes=100, max_frames_per_append=8)
    with GroupCommitter(log, max_queue=20) as committer:
        with pytest.raises(ValueError, match="at least one"):
            committer.submit([])
        with pytest.raises(ValueError, match="max_payload_bytes=100"):
            committer.submit([b"x" * 101])
        with pytest.raises(ValueError, match="max_frames_per_append=8"):
            committer.submit([b"x"] * 9)
        with pytest.raises(TypeError, match="bytes"):
            committer.submit(["text"])  # type: ignore[list-item]
        assert committer.append([b"fine"], WAIT_S) == 1
    with pytest.raises(ValueError, match="max_queue"):
        GroupCommitter(log, max_queue=0)
    log.close()


def test_group_commit_and_direct_appends_can_be_mixed(tmp_path: Path) -> None:
    log = FileLog(tmp_path / "log", fsync=False, segment_bytes=4096)
    committer = GroupCommitter(log, max_batch=32)
    via_committer: list[tuple[Future[int], list[bytes]]] = []
    direct: list[tuple[int, list[bytes]]] = []

    def submitter() -> None:
        for i in range(200):
            payloads = [f"g{i}-{k}".encode() for k in range(1 + i % 3)]
            via_committer.append((committer.submit(payloads), payloads))

    def appender() -> None:
        for i in range(100):
            payloads = [f"d{i}-{k}".encode() for k in range(1 + i % 2)]
            direct.append((log.append(payloads), payloads))

    threads = [threading.Thread(target=submitter), threading.Thread(target=appender)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    committer.close()
    frames = dict(log.read())
    assert sorted(frames) == list(range(1, log.last_seq + 1))
    resolved = [(f.result(0), p) for f, p in via_committer]
    for last, payloads in resolved + direct:
        assert [frames[s] for s in range(last - len(payloads) + 1, last + 1)] == payloads
    assert len(frames) == sum(len(p) for _, p in resolved + direct)
    log.close()
