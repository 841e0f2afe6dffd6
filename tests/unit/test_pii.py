"""adapters.shell.pii: per-person keys outside the log, AES-GCM sealing, erasure by key deletion."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.shell.pii import (
    KEY_BYTES,
    MAX_SUBJECT_ID_CHARS,
    KeyStore,
    KeyStoreError,
    Sealer,
    SealError,
)

FIELDS = {"name": "张三", "mobile": "13812341234", "id_number": "11010519491231002X"}


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys", log_directory=tmp_path / "log")


@pytest.fixture
def sealer(keystore: KeyStore) -> Sealer:
    return Sealer(keystore)


def test_round_trip(sealer: Sealer) -> None:
    blob = sealer.seal("w-1", FIELDS)
    assert sealer.unseal("w-1", blob) == FIELDS
    assert sealer.unseal("w-1", bytearray(blob)) == FIELDS
    assert sealer.seal("w-1", {}) != b""
    assert sealer.unseal("w-1", sealer.seal("w-1", {})) == {}


def test_blob_contains_no_plaintext(sealer: Sealer) -> None:
    blob = sealer.seal("worker-13812341234", FIELDS)
    for value in [*FIELDS.values(), *FIELDS.keys(), "worker-13812341234"]:
        assert value.encode("utf-8") not in blob
    assert "张".encode() not in blob


def test_nonce_is_fresh_each_time(sealer: Sealer) -> None:
    a = sealer.seal("w-1", FIELDS)
    b = sealer.seal("w-1", FIELDS)
    assert a != b
    assert a[1:13] != b[1:13]
    assert sealer.unseal("w-1", a) == sealer.unseal("w-1", b) == FIELDS


def test_erase_makes_blobs_unreadable(keystore: KeyStore, sealer: Sealer) -> None:
    blob = sealer.seal("w-1", FIELDS)
    other = sealer.seal("w-2", {"name": "李四"})
    assert "w-1" in keystore
    assert keystore.erase("w-1") is True
    assert "w-1" not in keystore
    assert sealer.unseal("w-1", blob) is None
    assert keystore.erase("w-1") is False  # idempotent
    assert sealer.unseal("w-2", other) == {"name": "李四"}  # others untouched
    # Sealing again makes a NEW key: the old blob stays unreadable forever.
    sealer.seal("w-1", FIELDS)
    with pytest.raises(SealError):
        sealer.unseal("w-1", blob)


def test_erased_key_is_gone_from_disk(keystore: KeyStore, sealer: Sealer) -> None:
    sealer.seal("w-1", FIELDS)
    key = keystore.key("w-1")
    assert key is not None and len(key) == KEY_BYTES
    keystore.erase("w-1")
    for path in keystore.directory.iterdir():
        assert key not in path.read_bytes()
    assert list(keystore.directory.iterdir()) == []


@pytest.mark.parametrize("position", [0, 1, 12, 13, -17, -1])
def test_tampered_blob_raises(sealer: Sealer, position: int) -> None:
    blob = bytearray(sealer.seal("w-1", FIELDS))
    blob[position] ^= 0x01
    with pytest.raises(SealError):
        sealer.unseal("w-1", bytes(blob))


@given(st.data())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
def test_any_bit_flip_is_detected(sealer: Sealer, data: st.DataObject) -> None:
    blob = bytearray(sealer.seal("w-1", FIELDS))
    index = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    blob[index] ^= 1 << bit
    with pytest.raises(SealError):
        sealer.unseal("w-1", bytes(blob))


def test_truncated_or_extended_blob_raises(sealer: Sealer) -> None:
    blob = sealer.seal("w-1", FIELDS)
    for bad in (b"", blob[:10], blob[:-1], blob + b"\x00"):
        with pytest.raises(SealError):
            sealer.unseal("w-1", bad)


def test_blob_is_bound_to_its_subject(sealer: Sealer) -> None:
    blob = sealer.seal("w-1", FIELDS)
    sealer.seal("w-2", FIELDS)
    with pytest.raises(SealError):
        sealer.unseal("w-2", blob)  # wrong key and wrong associated data
    # Same key, different subject in the associated data: still refused.
    ks = sealer.keystore
    ks.path_for("w-3").write_bytes(ks.path_for("w-1").read_bytes())
    with pytest.raises(SealError):
        sealer.unseal("w-3", blob)


def test_unknown_subject_unseals_to_none(sealer: Sealer) -> None:
    blob = sealer.seal("w-1", FIELDS)
    assert sealer.unseal("never-seen", blob) is None


def test_key_files_do_not_name_the_subject(keystore: KeyStore, sealer: Sealer) -> None:
    sealer.seal("worker-13812341234", FIELDS)
    names = [p.name for p in keystore.directory.iterdir()]
    expected = hashlib.blake2b(b"worker-13812341234", digest_size=32).hexdigest() + ".key"
    assert names == [expected]
    assert "13812341234" not in names[0]
    assert oct(os.stat(keystore.directory / names[0]).st_mode & 0o777) == oct(0o600)


def test_keys_persist_across_instances(tmp_path: Path) -> None:
    blob = Sealer(KeyStore(tmp_path / "keys")).seal("w-1", FIELDS)
    assert Sealer(KeyStore(tmp_path / "keys")).unseal("w-1", blob) == FIELDS


def test_key_creation_is_idempotent_and_leaves_no_temp_files(keystore: KeyStore) -> None:
    assert keystore.key("w-1") is None
    first = keystore.key("w-1", create=True)
    assert first is not None and keystore.key("w-1", create=True) == first
    assert [p.suffix for p in keystore.directory.iterdir()] == [".key"]


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    stores = [KeyStore(tmp_path / "keys") for _ in range(8)]  # separate locks
    results: list[bytes | None] = [None] * len(stores)

    def create(i: int) -> None:
        results[i] = stores[i].key("w-1", create=True)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0] is not None


def test_corrupt_key_file_is_an_error_not_a_new_key(keystore: KeyStore) -> None:
    keystore.key("w-1", create=True)
    keystore.path_for("w-1").write_bytes(b"LGK1short")
    with pytest.raises(KeyStoreError):
        keystore.key("w-1", create=True)


def test_keys_directory_is_not_the_log_directory(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    for bad in (log_dir, log_dir / "keys", tmp_path):
        with pytest.raises(ValueError, match="outside the event log"):
            KeyStore(bad, log_directory=log_dir)
    ks = KeyStore(tmp_path / "keys", log_directory=log_dir)
    Sealer(ks).seal("w-1", FIELDS)
    assert list(log_dir.iterdir()) == []  # nothing about keys lands in the log directory
    assert ks.directory != log_dir.resolve()


@pytest.mark.parametrize("subject", ["", "x" * (MAX_SUBJECT_ID_CHARS + 1)])
def test_subject_id_limits(sealer: Sealer, subject: str) -> None:
    with pytest.raises(ValueError):
        sealer.seal(subject, FIELDS)
    assert sealer.unseal("x" * MAX_SUBJECT_ID_CHARS, sealer.seal("x" * 128, FIELDS)) == FIELDS


def test_fields_must_be_strings(sealer: Sealer) -> None:
    with pytest.raises(TypeError):
        sealer.seal("w-1", {"age": 5})  # type: ignore[dict-item]


_text = st.characters(exclude_categories=["Cs"])  # lone surrogates are not UTF-8


@given(
    st.text(_text, min_size=1, max_size=MAX_SUBJECT_ID_CHARS),
    st.dictionaries(st.text(_text, max_size=20), st.text(_text, max_size=50), max_size=5),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
def test_round_trip_any_fields(sealer: Sealer, subject: str, fields: dict[str, str]) -> None:
    assert sealer.unseal(subject, sealer.seal(subject, fields)) == fields


def test_deferred_sync_makes_keys_durable_in_one_pass(tmp_path) -> None:  # noqa: ANN001
    from adapters.shell.pii import KeyStore

    ks = KeyStore(tmp_path / "keys", sync="deferred")
    for i in range(5):
        assert ks.key(f"W{i}", create=True) is not None
    assert ks.sync() == 5
    assert ks.sync() == 0
    for i in range(40):  # a large batch goes through one syncfs on Linux
        ks.key(f"B{i}", create=True)
    assert ks.sync() == 40 and ks.key("B39") is not None
    ks.erase("W0")
    ks.key("W9", create=True)
    ks.erase("W9")  # erased before its sync: sync skips it
    assert ks.sync() == 1
    import pytest

    with pytest.raises(ValueError):
        KeyStore(tmp_path / "k2", sync="sometimes")
