"""Per-person encryption keys and sealed personal fields (crypto-shredding erasure).

Owns:
- `KeyStore`: one random AES-256 key per subject (a worker: registration data and the
  text of their complaints; an employer's contact), kept in its own directory OUTSIDE the
  event log, one small file per subject;
- `KeyStorePort`: what a key store offers (`key`, `sync`, `erase`, `close`); the file
  store here, and `adapters.nats.keys.KvKeyStore` (keys that follow the JetStream log);
- `load_kek`: the operator's key-encryption key (a file or an environment value of 64 hex
  digits) for key stores that keep keys off this machine;
- `Sealer`: AES-256-GCM sealing of a subject's personal fields into the opaque blob that
  events carry, and unsealing for the few places that need the plain values (for example
  revealing an employer's contact to a worker after a confirmed hire).

Invariants:
- A key file's name is the BLAKE2b-256 hex digest of the subject id, so the directory
  listing does not show subject ids. The file holds a 4-byte magic and the 32-byte key.
- A key file appears complete or not at all: it is written to a temporary file, fsynced,
  hard-linked into place (which never replaces an existing key, so two concurrent
  creators agree on one key) and the directory is fsynced.
- `erase` unlinks the key file and fsyncs the directory before returning True. From then
  on every blob sealed for that subject is unreadable (`Sealer.unseal` returns None) while
  the log, whose hash chain covers the blobs and not the keys, still verifies.
- A sealed blob is: version byte, 12-byte random nonce, AES-GCM ciphertext + 16-byte tag.
  The associated data binds it to its subject (version byte + UTF-8 subject id), so a blob
  moved to another subject, or altered in any bit, fails authentication (`SealError`).
- The key directory may not be, nor lie inside, the event log's directory (the log is
  replicated and archived; keys must be deletable).

Limits:
- The number of key files is not bounded here; subject ids are 1..128 characters.
- Unlinking gives erasure only as far as the storage does: copy-on-write filesystems,
  SSD wear levelling and backups of the key directory can keep old key bytes. Backups of
  the key directory must expire; the log's backups need not.
- No key cache: every seal/unseal reads the key file (small, in the page cache), which
  keeps erasure immediate across processes.
- The subject-id hash is unkeyed: someone who can list the key directory and guess a
  subject id can tell whether that subject still has a key.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import threading
from pathlib import Path
from typing import Protocol

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_SUBJECT_ID_CHARS = 128
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
SEAL_VERSION = 1
_VERSION_BYTE = bytes([SEAL_VERSION])
_KEY_MAGIC = b"LGK1"
_KEY_SUFFIX = ".key"

_fields_encoder = msgspec.msgpack.Encoder()
_fields_decoder = msgspec.msgpack.Decoder(dict[str, str])


class SealError(Exception):
    """A sealed blob is malformed or failed authentication (tampered or wrong subject)."""


class KeyStoreError(Exception):
    """A key file exists but is not a valid key (corruption): never silently replaced."""


def _check_subject(subject_id: str) -> bytes:
    if not isinstance(subject_id, str) or not subject_id:
        raise ValueError("subject id must be a non-empty string")
    if len(subject_id) > MAX_SUBJECT_ID_CHARS:
        raise ValueError(f"subject id longer than {MAX_SUBJECT_ID_CHARS} characters")
    return subject_id.encode("utf-8")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


SYNCFS_MIN_KEYS = 16


def _syncfs(directory: Path) -> bool:
    """syncfs(2) on the filesystem holding `directory`; False where unavailable."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(directory, os.O_RDONLY)
    try:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs failed: {os.strerror(err)}")
    finally:
        os.close(fd)
    return True


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def subject_name(subject_id: str) -> str:
    """The name a subject's key is stored under: BLAKE2b-256 hex of its id."""
    return hashlib.blake2b(_check_subject(subject_id), digest_size=32).hexdigest()


def kek_fingerprint(kek: bytes) -> bytes:
    """8 bytes that tell two key-encryption keys apart without revealing them."""
    return hashlib.blake2b(kek, digest_size=8, person=b"lingong-kek").digest()


KEK_ENV = "LINGONG_KEK"


def load_kek(path: str | os.PathLike[str] | None, env_value: str | None = None) -> bytes | None:
    """The key-encryption key from `path` (a file holding 64 hex digits) or, without a
    path, from `env_value` (the value of $LINGONG_KEK); None when neither is given.

    Raises ValueError naming the source and the rule when the key is malformed."""
    if path is not None:
        source = f"key-encryption key file {path}"
        try:
            text = Path(path).read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise ValueError(f"{source}: cannot be read ({exc.strerror})") from None
    elif env_value:
        source, text = f"${KEK_ENV}", env_value
    else:
        return None
    text = text.strip()
    if len(text) != 2 * KEY_BYTES or any(ch not in "0123456789abcdefABCDEF" for ch in text):
        raise ValueError(
            f"{source}: must be {2 * KEY_BYTES} hexadecimal digits (a 256-bit key; make one "
            "with `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`)"
        )
    return bytes.fromhex(text)


class KeyStorePort(Protocol):
    """Per-subject keys: the file store here or a replicated one (`adapters.nats.keys`)."""

    sync_mode: str

    def key(self, subject_id: str, create: bool = False) -> bytes | None: ...

    def sync(self) -> int: ...

    def erase(self, subject_id: str) -> bool: ...

    def close(self) -> None: ...


class KeyStore:
    """Per-subject AES-256 keys, one file each, in a directory outside the event log."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        log_directory: str | os.PathLike[str] | None = None,
        sync: str = "immediate",
    ) -> None:
        """`sync`: "immediate" fsyncs each new key at once; "deferred" leaves that to
        `sync()` (the runtime calls it once per group commit, before the log append that
        needs the keys); "none" never fsyncs (tests and benchmarks without durability)."""
        if sync not in ("immediate", "deferred", "none"):
            raise ValueError(f"sync must be immediate, deferred or none, not {sync!r}")
        self.sync_mode = sync
        self._unsynced: list[Path] = []
        self.directory = Path(directory).resolve()
        if log_directory is not None:
            log_dir = Path(log_directory).resolve()
            if _is_within(self.directory, log_dir) or _is_within(log_dir, self.directory):
                raise ValueError(
                    "the key directory must be outside the event log directory "
                    "(keys are erased, the log is kept)"
                )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path_for(self, subject_id: str) -> Path:
        """Key file of `subject_id` (whether or not it exists)."""
        return self.directory / (subject_name(subject_id) + _KEY_SUFFIX)

    def _read(self, path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) != len(_KEY_MAGIC) + KEY_BYTES or not data.startswith(_KEY_MAGIC):
            raise KeyStoreError(f"key file {path.name} is corrupt ({len(data)} bytes)")
        return data[len(_KEY_MAGIC) :]

    def key(self, subject_id: str, create: bool = False) -> bytes | None:
        """The subject's 32-byte key; with `create`, make one first if there is none."""
        path = self.path_for(subject_id)
        existing = self._read(path)
        if existing is not None or not create:
            return existing
        with self._lock:
            existing = self._read(path)
            if existing is not None:
                return existing
            return self._create(path)

    def _create(self, path: Path) -> bytes:
        new_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        tmp = path.with_name(f"{path.name}.{os.urandom(8).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(_KEY_MAGIC + new_key)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self.sync_mode == "immediate":
                    os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # atomic and never replaces an existing key
            except FileExistsError:  # another process won the race: use its key
                winner = self._read(path)
                if winner is None:  # erased in between: retry is the caller's business
                    raise KeyStoreError(f"key file {path.name} vanished during creation") from None
                return winner
        finally:
            tmp.unlink(missing_ok=True)
        if self.sync_mode == "immediate":
            _fsync_dir(self.directory)
        elif self.sync_mode == "deferred":
            self._unsynced.append(path)
        return new_key

    def sync(self) -> int:
        """Make every key created since the last call durable (files, then the directory).

        A batch larger than `SYNCFS_MIN_KEYS` is flushed with one `syncfs(2)` of the key
        directory's filesystem (Linux), instead of one fsync per key file.
        """
        with self._lock:
            pending, self._unsynced = self._unsynced, []
        if not pending:
            return 0
        if len(pending) >= SYNCFS_MIN_KEYS and _syncfs(self.directory):
            return len(pending)
        for path in pending:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # erased before it was synced
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(self.directory)
        return len(pending)

    def erase(self, subject_id: str) -> bool:
        """Delete the subject's key durably; True if there was one."""
        path = self.path_for(subject_id)
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            _fsync_dir(self.directory)
        return True

    def __contains__(self, subject_id: str) -> bool:
        return self.path_for(subject_id).exists()

    def close(self) -> None:
        """Nothing to release (files are opened per call)."""


class Sealer:
    """Seals a subject's personal fields with that subject's key (AES-256-GCM)."""

    def __init__(self, keystore: KeyStorePort) -> None:
        self.keystore = keystore

    @staticmethod
    def _aad(subject: bytes) -> bytes:
        return _VERSION_BYTE + subject

    def seal(self, subject_id: str, fields: dict[str, str]) -> bytes:
        """Encrypt `fields` for `subject_id`, creating the subject's key if needed."""
        subject = _check_subject(subject_id)
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
        ):
            raise TypeError("fields must be a dict[str, str]")
        key = self.keystore.key(subject_id, create=True)
        assert key is not None
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, _fields_encoder.encode(fields), self._aad(subject))
        return _VERSION_BYTE + nonce + sealed

    def unseal(self, subject_id: str, blob: bytes) -> dict[str, str] | None:
        """The fields sealed in `blob`, or None when the subject's key has been erased.

        Raises `SealError` when the blob is malformed, altered, or sealed for another
        subject.
        """
        subject = _check_subject(subject_id)
        blob = bytes(blob)
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise SealError("sealed blob too short")
        if blob[:1] != _VERSION_BYTE:
            raise SealError(f"unknown sealed blob version {blob[0]}")
        key = self.keystore.key(subject_id)
        if key is None:
            return None
        nonce = blob[1 : 1 + NONCE_BYTES]
        try:
            plain = AESGCM(key).decrypt(nonce, blob[1 + NONCE_BYTES :], self._aad(subject))
        except InvalidTag:
            raise SealError(
                "sealed blob failed authentication (tampered, or sealed for another subject)"
            ) from None
        return _fields_decoder.decode(plain)
