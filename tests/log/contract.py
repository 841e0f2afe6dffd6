"""The `EventLog` contract, written once and run against every log backend.

Subclass `EventLogContract` in a `Test*` class and implement `make_log(tmp_path)`: it
must open the log stored under `tmp_path`, creating it when absent and reopening it
(with everything acknowledged so far) when a previous instance was closed.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.log.ports import GENESIS_HASH, EventLog, chain_hash, chain_of


def payload_for(seq: int, rng: random.Random | None = None) -> bytes:
    """A deterministic payload of varying length (0..300 bytes) derived from seq."""
    size = (seq * 7919) % 301 if rng is None else rng.randrange(0, 301)
    unit = seq.to_bytes(8, "little")
    return (unit * (size // 8 + 1))[:size]


class EventLogContract:
    """Backend-independent behaviour of an `EventLog`."""

    def make_log(self, tmp_path: Path) -> EventLog:
        raise NotImplementedError("a contract subclass must open its backend here")

    # -- helpers ---------------------------------------------------------------------

    def fill(self, log: EventLog, sizes: list[int]) -> list[bytes]:
        written: list[bytes] = []
        for size in sizes:
            start = log.next_seq
            batch = [payload_for(seq) for seq in range(start, start + size)]
            assert log.append(batch) == start + size - 1
            written.extend(batch)
        return written

    # -- the contract ----------------------------------------------------------------

    def test_is_an_event_log(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            assert isinstance(log, EventLog)
        finally:
            log.close()

    def test_empty_log(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            assert (log.last_seq, log.next_seq, log.head_hash) == (0, 1, GENESIS_HASH)
            assert list(log.read()) == []
            assert list(log.read_batches()) == []
            assert log.append([]) == 0
            assert log.last_seq == 0
        finally:
            log.close()

    def test_round_trip_exact_bytes_and_seqs(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            special = [b"", b"\x00" * 5, bytes(range(256)), b"\xff" * 1000]
            assert log.append(special) == 4
            written = special + self.fill(log, [1, 2, 3, 50, 1, 7])
            got = list(log.read())
            assert [seq for seq, _ in got] == list(range(1, len(written) + 1))
            assert [payload for _, payload in got] == written
            assert all(type(payload) is bytes for _, payload in got)
            assert log.last_seq == len(written) and log.next_seq == len(written) + 1
            assert log.head_hash == chain_of(written)
        finally:
            log.close()

    def test_append_returns_last_seq_of_each_call(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            expected_last = 0
            for size in [1, 3, 1, 10, 2]:
                expected_last += size
                assert log.append([b"p"] * size) == expected_last
                assert log.last_seq == expected_last
        finally:
            log.close()

    def test_bytes_like_payloads_accepted_and_other_types_refused(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            log.append([bytearray(b"ba"), memoryview(b"mv")])
            assert [p for _, p in log.read()] == [b"ba", b"mv"]
            with pytest.raises(TypeError, match="bytes"):
                log.append([b"ok", "text"])  # type: ignore[list-item]
            assert log.last_seq == 2  # nothing of the refused append was written
        finally:
            log.close()

    def test_head_hash_is_the_blake2b_chain(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            log.append([b"a", b"b"])
            expected = chain_hash(chain_hash(GENESIS_HASH, b"a"), b"b")
            assert log.head_hash == expected
            assert len(expected) == 32
        finally:
            log.close()

    def test_reopen_continues_seq_and_chain(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        written = self.fill(log, [5, 1, 30])
        head = log.head_hash
        log.close()
        log = self.make_log(tmp_path)
        try:
            assert log.last_seq == len(written)
            assert log.head_hash == head
            written += self.fill(log, [4, 20])
            assert log.head_hash == chain_of(written)
        finally:
            log.close()
        log = self.make_log(tmp_path)
        try:
            assert [p for _, p in log.read()] == written
            assert log.head_hash == chain_of(written)
        finally:
            log.close()

    def test_many_small_appends(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            rng = random.Random(7)
            written = self.fill(log, [rng.randint(1, 12) for _ in range(150)])
            got = list(log.read())
            assert [p for _, p in got] == written
            assert [s for s, _ in got] == list(range(1, len(written) + 1))
        finally:
            log.close()

    def test_read_from_any_seq(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            written = self.fill(log, [3, 40, 1, 60, 9])
            n = len(written)
            for from_seq in [1, 2, 3, 4, 44, 45, n - 1, n]:
                got = list(log.read(from_seq))
                assert [s for s, _ in got] == list(range(from_seq, n + 1))
                assert [p for _, p in got] == written[from_seq - 1 :]
            assert list(log.read(n + 1)) == []
            assert list(log.read(n + 100)) == []
            with pytest.raises(ValueError, match="from_seq"):
                log.read(0)
        finally:
            log.close()

    def test_read_batches_equals_read(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            self.fill(log, [17, 1, 33, 2, 64])
            for verify_chain in (True, False):
                for from_seq in (1, 5, 18, 50):
                    everything = list(log.read(from_seq, verify_chain=verify_chain))
                    for max_frames in (1, 3, 16, 4096):
                        batches = list(
                            log.read_batches(from_seq, max_frames, verify_chain=verify_chain)
                        )
                        assert all(1 <= len(b) <= max_frames for b in batches)
                        assert [x for b in batches for x in b] == everything
            with pytest.raises(ValueError, match="max_frames"):
                log.read_batches(1, 0)
        finally:
            log.close()

    def test_read_sees_only_frames_acknowledged_before_the_call(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            self.fill(log, [10])
            reader = log.read()
            self.fill(log, [10])
            assert [s for s, _ in reader] == list(range(1, 11))
            assert log.last_seq == 20
        finally:
            log.close()

    def test_payload_limit_refused_with_clear_error(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            log.append([b"before"])
            limit = log.max_payload_bytes
            assert log.append([b"x" * limit]) == 2  # exactly at the limit is fine
            with pytest.raises(ValueError, match=f"max_payload_bytes={limit}"):
                log.append([b"ok", b"x" * (limit + 1)])
            assert log.last_seq == 2  # nothing of the refused append was written
            assert log.append([b"after"]) == 3
            assert [p for _, p in log.read(3)] == [b"after"]
        finally:
            log.close()

    def test_frame_count_limit_refused_with_clear_error(self, tmp_path: Path) -> None:
        log = self.make_log(tmp_path)
        try:
            limit = log.max_frames_per_append
            with pytest.raises(ValueError, match=f"max_frames_per_append={limit}"):
                log.append([b""] * (limit + 1))
            assert log.last_seq == 0
            assert log.append([b"after"]) == 1
        finally:
            log.close()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        batches=st.lists(
            st.lists(st.binary(max_size=200), min_size=0, max_size=20), min_size=1, max_size=15
        ),
        reopen_after=st.integers(min_value=0, max_value=15),
    )
    def test_property_round_trip(self, batches: list[list[bytes]], reopen_after: int) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            log = self.make_log(Path(tmp))
            written: list[bytes] = []
            try:
                for i, batch in enumerate(batches):
                    if i == reopen_after:
                        log.close()
                        log = self.make_log(Path(tmp))
                    assert log.append(batch) == len(written) + len(batch)
                    written.extend(batch)
                assert [p for _, p in log.read()] == written
                assert log.head_hash == chain_of(written)
            finally:
                log.close()
