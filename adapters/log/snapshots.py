"""Atomic snapshot files: the engine state at a seq, with its digest, checked on load.

Owns: the snapshot file format, atomic writing, choosing the newest valid snapshot, and
retention. What the state bytes mean (and computing the digest) belongs to the engine;
the rule "state at seq N + the log after N == a full replay" is checked by the caller
that restores the state and compares digests.

File `{seq:020d}.snap` (integers little-endian):

    0  8s   magic b"LINGSNAP"
    8  u32  format version (1: unsigned; 2: signed)
    12 u32  digest_bytes: length of the UTF-8 digest string
    16 u64  seq: the last log seq folded into the state
    24 u64  state_bytes: length of the state body
    32 32s  checksum = BLAKE2b(bytes 0..31 || digest || state || signature, digest_size=32)
    64 ...  digest (UTF-8), then the state body
    version 2 only: the signature, then its length (u32) as the file's last 4 bytes

The signature is the writer's (the runtime signs `signed_message(seq, digest, state)`
with its checkpoint key, `adapters.log.checkpoints.SigningKey`); this module only stores
it and hands it to the reader's `accept`, which decides whether to trust the snapshot.

Invariants:
- A snapshot is written to a temporary file, fsynced, renamed over its final name and the
  directory fsynced: a reader sees the whole old file, the whole new one, or nothing.
- `latest_snapshot` returns only a snapshot whose magic, version, seq (header == name),
  lengths and checksum all check out, and that the caller's `accept` (if given) accepts.
  Corrupt, truncated or refused newer files are skipped (and reported through logging
  and `scan_snapshots`), falling back to older ones.
- After a write, only the newest `keep` snapshots (by seq) remain; the one just written is
  never removed.

Limits: the state is held in memory whole, on write and on load. Digest <= 1024 bytes,
signature <= 1024 bytes.
"""

from __future__ import annotations

import logging
import os
import re
import struct
from collections.abc import Callable
from hashlib import blake2b
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "DEFAULT_KEEP",
    "Snapshot",
    "SnapshotScan",
    "latest_snapshot",
    "list_snapshots",
    "scan_snapshots",
    "signed_message",
    "snapshot_name",
    "write_snapshot",
]

MAGIC = b"LINGSNAP"
FORMAT_VERSION = 1  # unsigned
SIGNED_VERSION = 2
DEFAULT_KEEP = 3
MAX_DIGEST_BYTES = 1024
MAX_SIGNATURE_BYTES = 1024
SNAPSHOT_SUFFIX = ".snap"
_HEADER = struct.Struct("<8sIIQQ")  # magic, version, digest_bytes, seq, state_bytes
HEADER_BYTES = _HEADER.size + 32  # 64
_NAME_RE = re.compile(r"^(\d{20})\.snap$")

logger = logging.getLogger("lingong.snapshots")


class Snapshot(NamedTuple):
    """A loaded snapshot; unpacks as (seq, digest, state)."""

    seq: int
    digest: str
    state: bytes


class SnapshotScan(NamedTuple):
    """The newest valid snapshot (or None) and the corrupt files skipped to find it."""

    latest: Snapshot | None
    corrupt: list[tuple[Path, str]]


def snapshot_name(seq: int) -> str:
    return f"{seq:020d}{SNAPSHOT_SUFFIX}"


# accept(snapshot, signature) -> None to trust it, else the reason it is refused
Accept = Callable[[Snapshot, bytes], "str | None"]


def _checksum(head: bytes, digest: bytes, state: bytes, signature: bytes = b"") -> bytes:
    h = blake2b(head, digest_size=32)
    h.update(digest)
    h.update(state)
    h.update(signature)
    return h.digest()


def signed_message(seq: int, digest: str, state: bytes) -> bytes:
    """What a snapshot's signature covers: its seq, its digest and a hash of its state."""
    raw = digest.encode("utf-8")
    return b"".join((b"LINGSNAP-SIG-1", struct.pack("<QI", seq, len(raw)), raw,
                     blake2b(state, digest_size=32).digest()))  # fmt: skip


def write_snapshot(
    directory: str | os.PathLike[str],
    seq: int,
    digest: str,
    state: bytes,
    *,
    keep: int = DEFAULT_KEEP,
    fsync: bool = True,
    signature: bytes = b"",
) -> Path:
    """Atomically write the snapshot of `state` at `seq` (signed, format 2, when a
    `signature` is given); prune to the newest `keep`."""
    if seq < 0:
        raise ValueError(f"snapshot seq must be >= 0, got {seq}")
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    digest_raw = digest.encode("utf-8")
    if len(digest_raw) > MAX_DIGEST_BYTES:
        raise ValueError(f"digest of {len(digest_raw)} bytes exceeds {MAX_DIGEST_BYTES}")
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise ValueError(f"signature of {len(signature)} bytes exceeds {MAX_SIGNATURE_BYTES}")
    state = bytes(state)
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    version = SIGNED_VERSION if signature else FORMAT_VERSION
    head = _HEADER.pack(MAGIC, version, len(digest_raw), seq, len(state))
    tail = signature + struct.pack("<I", len(signature)) if signature else b""
    check = _checksum(head, digest_raw, state, signature)
    data = b"".join((head, check, digest_raw, state, tail))
    final = path / snapshot_name(seq)
    tmp = path / f".{final.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with memoryview(data) as view:
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, final)
    if fsync:
        dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    _prune(path, keep, final)
    return final


def _prune(path: Path, keep: int, written: Path) -> None:
    for _, old in list_snapshots(path)[keep:]:
        if old != written:
            old.unlink(missing_ok=True)
    for entry in os.scandir(path):
        name = entry.name
        if name.startswith(".") and name.endswith(".tmp") and SNAPSHOT_SUFFIX in name:
            pid = name.rsplit(".", 2)[-2]
            if pid != str(os.getpid()):  # a temp file left by a crashed writer
                Path(entry.path).unlink(missing_ok=True)


def list_snapshots(directory: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """(seq, path) of every snapshot file by name, newest first; not checked."""
    path = Path(directory)
    if not path.is_dir():
        return []
    found = []
    for entry in os.scandir(path):
        m = _NAME_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), path / entry.name))
    found.sort(reverse=True)
    return found


def _load(seq: int, file: Path) -> tuple[Snapshot, bytes]:
    """Read and check one snapshot file: (snapshot, signature, b"" if unsigned); raises
    ValueError saying what is wrong."""
    data = file.read_bytes()
    if len(data) < HEADER_BYTES:
        raise ValueError(f"truncated: {len(data)} bytes, header needs {HEADER_BYTES}")
    magic, version, digest_bytes, head_seq, state_bytes = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise ValueError(f"bad magic {magic!r}")
    if version not in (FORMAT_VERSION, SIGNED_VERSION):
        raise ValueError(f"unsupported format version {version}")
    if head_seq != seq:
        raise ValueError(f"header seq {head_seq} does not match the file name")
    body_end = HEADER_BYTES + digest_bytes + state_bytes
    signature = b""
    if version == SIGNED_VERSION:
        if len(data) < body_end + 4:
            raise ValueError(f"file has {len(data)} bytes, header promises more")
        (sig_bytes,) = struct.unpack_from("<I", data, len(data) - 4)
        if sig_bytes > MAX_SIGNATURE_BYTES or len(data) != body_end + sig_bytes + 4:
            raise ValueError(f"file has {len(data)} bytes, not what its lengths promise")
        signature = data[body_end : body_end + sig_bytes]
    elif len(data) != body_end:
        raise ValueError(f"file has {len(data)} bytes, header promises {body_end}")
    digest_raw = data[HEADER_BYTES : HEADER_BYTES + digest_bytes]
    state = data[HEADER_BYTES + digest_bytes : body_end]
    checksum = _checksum(data[: _HEADER.size], digest_raw, state, signature)
    if checksum != data[_HEADER.size : HEADER_BYTES]:
        raise ValueError("checksum mismatch")
    try:
        digest = digest_raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"digest is not UTF-8: {exc}") from None
    return Snapshot(seq, digest, state), signature


def scan_snapshots(
    directory: str | os.PathLike[str],
    *,
    max_seq: int | None = None,
    accept: Accept | None = None,
) -> SnapshotScan:
    """The newest valid snapshot (seq <= max_seq if given) that `accept` (if given)
    accepts, and the corrupt or refused ones skipped to find it."""
    corrupt: list[tuple[Path, str]] = []
    for seq, file in list_snapshots(directory):
        if max_seq is not None and seq > max_seq:
            continue
        try:
            snap, signature = _load(seq, file)
        except (OSError, ValueError) as exc:
            corrupt.append((file, str(exc)))
            continue
        refused = None if accept is None else accept(snap, signature)
        if refused is None:
            return SnapshotScan(snap, corrupt)
        corrupt.append((file, refused))
    return SnapshotScan(None, corrupt)


def latest_snapshot(
    directory: str | os.PathLike[str],
    *,
    max_seq: int | None = None,
    accept: Accept | None = None,
) -> Snapshot | None:
    """The newest valid (and accepted) snapshot, or None; corrupt or refused newer ones
    are logged and skipped."""
    latest, corrupt = scan_snapshots(directory, max_seq=max_seq, accept=accept)
    for file, reason in corrupt:
        logger.warning("skipping corrupt snapshot %s: %s", file, reason)
    return latest
