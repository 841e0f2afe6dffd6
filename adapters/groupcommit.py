"""Group commit: many producers share one fsync per batch in front of an `EventLog`.

Owns: a bounded queue of submitted payload lists and the single writer thread that drains
it into `log.append`, plus the futures that acknowledge each submission.

Invariants:
- A submission's future resolves to the seq of its last frame only after the `append`
  (and so the fsync) that covers it returned. Futures resolve in submission order.
- One submission's frames are contiguous in the log and are appended by one `append`
  call (never split across appends, so never across a crash boundary either).
- The writer takes everything queued, up to `max_batch` frames (at least one submission,
  however large), and appends it as one batch: one fsync for all of it.
- After the log raises (e.g. `LogFailed` on an fsync error), every future of that batch
  and every queued one fails with that error, and every later `submit` raises
  `LogFailed`. Nothing is retried: the page cache cannot be trusted after an fsync error.
- Futures cannot be cancelled: once submitted, frames may already be on their way to disk.

Limits: at most `max_queue` frames waiting (not counting the batch being written);
`submit` blocks for room (up to `timeout` seconds) or raises `QueueFull`. One submission
may hold at most `log.max_frames_per_append` frames, each at most `log.max_payload_bytes`.

The synchronous alternative is to call `log.append(batch)` directly from one thread; both
paths may even be mixed, as the file log serialises appends with its own lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

from adapters.ports import EventLog, LogFailed

__all__ = ["GroupCommitter", "QueueFull"]


class QueueFull(Exception):
    """The group-commit queue had no room for a submission within the timeout."""


class GroupCommitter:
    """Thread-safe front of an `EventLog` that batches appends from many threads."""

    def __init__(
        self,
        log: EventLog,
        *,
        max_batch: int = 4096,
        max_queue: int = 100_000,
        name: str = "lingong-group-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        self._log = log
        self._max_batch = min(max_batch, log.max_frames_per_append)
        self._max_queue = max_queue
        self._queue: deque[tuple[list[bytes], Future[int]]] = deque()
        self._queued_frames = 0
        self._cond = threading.Condition()
        self._closing = False
        self._failure: BaseException | None = None
        self.batches = 0  # appends issued (one fsync each): for metrics and tests
        self.frames = 0  # frames acknowledged
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def log(self) -> EventLog:
        return self._log

    @property
    def queued_frames(self) -> int:
        """Frames waiting in the queue (not counting the batch being written)."""
        return self._queued_frames

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the committer, if any."""
        return self._failure

    def submit(
        self, payloads: Sequence[bytes], *, block: bool = True, timeout: float | None = None
    ) -> Future[int]:
        """Queue `payloads` for the next batch; the future resolves to their last seq.

        With `block` (the default) waits up to `timeout` seconds (None: forever) for room
        in the queue, otherwise raises `QueueFull` at once. Raises `LogFailed` after the
        log failed and `ValueError` for an empty, oversized or closed submission.
        """
        frames = list(payloads)
        count = len(frames)
        if count == 0:
            raise ValueError("submit needs at least one payload")
        if count > self._log.max_frames_per_append:
            raise ValueError(
                f"submission of {count} frames exceeds "
                f"max_frames_per_append={self._log.max_frames_per_append}"
            )
        if count > self._max_queue:
            raise ValueError(f"submission of {count} frames exceeds max_queue={self._max_queue}")
        limit = self._log.max_payload_bytes
        for i, payload in enumerate(frames):
            if not isinstance(payload, bytes | bytearray | memoryview):
                raise TypeError(f"payload {i} must be bytes, not {type(payload).__name__}")
            if len(payload) > limit:
                raise ValueError(
                    f"payload {i} of {len(payload)} bytes exceeds max_payload_bytes={limit}"
                )
        future: Future[int] = Future()
        future.set_running_or_notify_cancel()  # not cancellable from here on
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._raise_if_stopped()
                if self._queued_frames + count <= self._max_queue:
                    break
                if not block:
                    raise QueueFull(f"group-commit queue full ({self._queued_frames} frames)")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise QueueFull(
                        f"group-commit queue still full after {timeout} s "
                        f"({self._queued_frames} frames)"
                    )
                self._cond.wait(remaining)
            self._queue.append((frames, future))
            self._queued_frames += count
            self._cond.notify_all()
        return future

    def append(self, payloads: Sequence[bytes], timeout: float | None = None) -> int:
        """Submit and wait: the seq of the last frame, once it is durable."""
        return self.submit(payloads, timeout=timeout).result(timeout)

    def _raise_if_stopped(self) -> None:
        if self._failure is not None:
            raise LogFailed(
                f"group commit stopped: the log failed ({self._failure})"
            ) from self._failure
        if self._closing:
            raise ValueError("group committer is closed")

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return  # closing and drained
                batch: list[tuple[list[bytes], Future[int]]] = []
                frames = 0
                while self._queue:
                    count = len(self._queue[0][0])
                    if batch and frames + count > self._max_batch:
                        break
                    batch.append(self._queue.popleft())
                    frames += count
                self._queued_frames -= frames
                self._cond.notify_all()  # room for blocked submitters
            payloads: list[bytes] = []
            for items, _ in batch:
                payloads.extend(items)
            try:
                last_seq = self._log.append(payloads)
            except BaseException as exc:  # every error stops the committer
                self._fail(exc, batch)
                return
            self.batches += 1
            self.frames += frames
            seq = last_seq - frames
            for items, future in batch:
                seq += len(items)
                future.set_result(seq)

    def _fail(self, exc: BaseException, batch: list[tuple[list[bytes], Future[int]]]) -> None:
        with self._cond:
            self._failure = exc
            pending = batch + list(self._queue)
            self._queue.clear()
            self._queued_frames = 0
            self._cond.notify_all()
        for _, future in pending:
            future.set_exception(exc)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting submissions, write everything queued, stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"group-commit writer still busy after {timeout} s")

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
