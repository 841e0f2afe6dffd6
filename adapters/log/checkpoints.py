"""Signed checkpoints: the log's chain head, seq and time, signed with a key outside the log.

Owns: the checkpoint line format, `SigningKey` (an Ed25519 key in a file the operator
controls; the runtime also signs its snapshots with it), `Checkpointer` (what the runtime
calls after each append: a checkpoint at every local day boundary, and `write` on demand), `load_checkpoints` (an anchors file,
every signature checked) and `AnchorCheck` (what `replay verify --anchors` runs beside its
one pass over the log).

Why: a forger who rewrites the log and recomputes the whole hash chain leaves a log that
verifies on its own. A checkpoint signed before the forgery pins (seq, chain head) at that
moment; a log that was cut, reordered or changed at or before that seq cannot reproduce the
head, and a log that ends before the seq was cut. The signature makes the anchors file
itself unforgeable without the key (an auditor pins the public key with
`--anchor-key`; otherwise the key printed with the file is the one trusted).

Files (DATA is the runtime's data folder):

    DATA/checkpoints/checkpoints.jsonl     one JSON line per checkpoint, appended, fsynced
    DATA/checkpoints/signing-key.pub       the public key (hex), for auditors
    DATA/keys/checkpoint-signing.key       the private key (raw 32 bytes, mode 0600), or
                                           a path the operator gives

    {"kind": "lingong-checkpoint", "v": 1, "seq": N, "head": "<hex>", "ts_ms": T,
     "reason": "day 2026-11-23" | "demand", "key": "<public key hex>", "sig": "<hex>"}

The signature covers b"LINGCKPT", version, seq, head, ts_ms and the reason (fixed layout).

Invariants: a checkpoint is written only after the records it covers are durable (the
runtime calls after its append returned); a failing checkpoint write is logged, counted
(`failures`) and retried after the next append, never stops the engine. Time is the
engine's (the last event's ts_ms), so checkpoints replay identically.
Limits: one line per local day plus those on demand (about 300 bytes each); reading an
anchors file holds it in memory. Ed25519 via `cryptography`.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.log.ports import GENESIS_HASH, HASH_BYTES

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FILE = "checkpoints.jsonl"
PUBLIC_KEY_FILE = "signing-key.pub"
KEY_FILE = "checkpoint-signing.key"
MAX_REASON_CHARS = 64
MAX_ANCHOR_LINES = 1_000_000
_LAYOUT = struct.Struct("<8sIQ32sq")
LOCAL_OFFSET_MS = 8 * 3600 * 1000  # Asia/Shanghai, as the engine's local days
MS_PER_DAY = 86_400_000

logger = logging.getLogger("lingong.checkpoints")


class CheckpointError(Exception):
    """An anchors file that cannot be trusted (bad line, bad signature, unknown key)."""


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    kind: str = "lingong-checkpoint"
    v: int = 1
    seq: int
    head: str
    ts_ms: int
    reason: str
    key: str
    sig: str

    def signed_bytes(self) -> bytes:
        return _signed_bytes(self.seq, bytes.fromhex(self.head), self.ts_ms, self.reason)

    def describe(self) -> str:
        return f"checkpoint at seq {self.seq} ({self.reason}, signed by key {self.key[:16]}…)"


def _signed_bytes(seq: int, head: bytes, ts_ms: int, reason: str) -> bytes:
    return _LAYOUT.pack(b"LINGCKPT", 1, seq, head, ts_ms) + reason.encode("utf-8")


def local_date(ts_ms: int) -> str:
    """The Asia/Shanghai calendar date of `ts_ms` (YYYY-MM-DD)."""
    import datetime as dt

    day = (ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


class SigningKey:
    """An Ed25519 private key in a file (created, mode 0600, on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._key: Ed25519PrivateKey | None = None

    def _load(self) -> Ed25519PrivateKey:
        if self._key is None:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                raw = Ed25519PrivateKey.generate().private_bytes_raw()
                tmp = self.path.with_name(self.path.name + ".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, raw)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.link(tmp, self.path)  # never replaces a key another process made
                tmp.unlink()
            raw = self.path.read_bytes()
            if len(raw) != 32:
                raise CheckpointError(f"{self.path} is not a raw 32-byte Ed25519 private key")
            self._key = Ed25519PrivateKey.from_private_bytes(raw)
        return self._key

    @property
    def public_hex(self) -> str:
        pub = self._load().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return pub.hex()

    def sign_message(self, message: bytes) -> bytes:
        """A raw Ed25519 signature of `message` (the runtime's snapshots)."""
        return self._load().sign(message)

    def verifies(self, message: bytes, signature: bytes) -> bool:
        """True when `signature` is this key's signature of `message`."""
        try:
            self._load().public_key().verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def sign(self, seq: int, head: bytes, ts_ms: int, reason: str) -> Checkpoint:
        if len(head) != HASH_BYTES or seq < 0 or len(reason) > MAX_REASON_CHARS:
            raise ValueError("checkpoint needs seq >= 0, a 32-byte head, a short reason")
        sig = self._load().sign(_signed_bytes(seq, head, ts_ms, reason))
        return Checkpoint(
            seq=seq, head=head.hex(), ts_ms=ts_ms, reason=reason, key=self.public_hex, sig=sig.hex()
        )


class Checkpointer:
    """Writes signed checkpoints of one log to DATA/checkpoints (see the module docstring)."""

    def __init__(self, data_dir: str | os.PathLike[str], key_path: str | None = None) -> None:
        self.folder = Path(data_dir) / CHECKPOINT_DIR
        self.file = self.folder / CHECKPOINT_FILE
        self.key = SigningKey(key_path or Path(data_dir) / "keys" / KEY_FILE)
        self.failures = 0
        self.written = 0
        self._day: int | None = None  # local day of the last checkpoint (or first append)
        _cut_torn_line(self.file)
        last = _last_line(self.file)
        if last is not None:
            self._day = (last.ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY

    def publish_key(self) -> None:
        """Write the public key file for auditors if it is missing (checkpoints and
        snapshots are checked against it)."""
        pub = self.folder / PUBLIC_KEY_FILE
        if not pub.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            pub.write_text(self.key.public_hex + "\n", encoding="ascii")

    def after_append(self, seq: int, head: bytes, ts_ms: int) -> Checkpoint | None:
        """Called after every durable append: a checkpoint when the local day changed."""
        day = (ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY
        if self._day is None:
            self._day = day  # the log's first day: its end is the first boundary
            return None
        if day <= self._day:
            return None
        ended = local_date(self._day * MS_PER_DAY - LOCAL_OFFSET_MS)
        return self.write(seq, head, ts_ms, f"day {ended}")

    def write(self, seq: int, head: bytes, ts_ms: int, reason: str = "demand") -> Checkpoint | None:
        """Sign and durably append a checkpoint; None (logged, counted) if that failed."""
        try:
            cp = self.key.sign(seq, head, ts_ms, reason)
            self._append(cp)
        except (OSError, CheckpointError) as exc:
            self.failures += 1
            logger.warning("checkpoint at seq %d not written (will retry): %s", seq, exc)
            return None
        self._day = max(self._day or 0, (ts_ms + LOCAL_OFFSET_MS) // MS_PER_DAY)
        self.written += 1
        return cp

    def _append(self, cp: Checkpoint) -> None:
        created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        pub = self.folder / PUBLIC_KEY_FILE
        if not pub.exists():
            pub.write_text(cp.key + "\n", encoding="ascii")
        line = msgspec.json.encode(cp) + b"\n"
        fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dir_fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _cut_torn_line(path: Path) -> None:
    """Drop a last line that a crash left without its newline (it was never complete)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        logger.warning("%s: dropping a torn last line of %d bytes", path, len(data) - cut)
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, cut)
            os.fsync(fd)
        finally:
            os.close(fd)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            if no > MAX_ANCHOR_LINES:
                raise CheckpointError(f"{path}: more than {MAX_ANCHOR_LINES} lines")
            if line.strip():
                yield no, line


def _last_line(path: Path) -> Checkpoint | None:
    if not path.exists():
        return None
    last = None
    for _, line in _lines(path):
        last = line
    try:
        return msgspec.json.decode(last, type=Checkpoint) if last else None
    except msgspec.DecodeError:
        return None  # a torn last line: the next checkpoint is written after it


def verifies_with(public_hex: str, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the signature of `message` by the key `public_hex`."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_checkpoints(path: str | os.PathLike[str], key_hex: str | None = None) -> list[Checkpoint]:
    """Every checkpoint of an anchors file, each signature checked (against `key_hex` when
    given, else against the key each line names, which must be one key for the file).
    Raises CheckpointError naming the line; FileNotFoundError for a missing file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no anchors file at {p}")
    out: list[Checkpoint] = []
    keys: set[str] = set()
    for no, line in _lines(p):
        try:
            cp = msgspec.json.decode(line, type=Checkpoint)
            head = bytes.fromhex(cp.head)
            pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex or cp.key))
        except (msgspec.DecodeError, ValueError) as exc:
            raise CheckpointError(f"{p} line {no}: not a checkpoint ({exc})") from None
        if cp.kind != "lingong-checkpoint" or cp.v != 1 or len(head) != HASH_BYTES:
            raise CheckpointError(f"{p} line {no}: not a version 1 lingong checkpoint")
        if key_hex is not None and cp.key != key_hex:
            raise CheckpointError(f"{p} line {no}: signed by {cp.key[:16]}…, not the pinned key")
        try:
            pub.verify(bytes.fromhex(cp.sig), cp.signed_bytes())
        except (InvalidSignature, ValueError):
            raise CheckpointError(f"{p} line {no}: the signature does not verify") from None
        keys.add(cp.key)
        out.append(cp)
    if len(keys) > 1:
        raise CheckpointError(f"{p}: checkpoints signed by {len(keys)} keys; pin one")
    return out


class AnchorCheck:
    """Follows the chain over the payloads of a verify pass and compares it with the
    checkpoints as their seqs go by (only up to the last checkpoint's seq)."""

    def __init__(self, checkpoints: list[Checkpoint]) -> None:
        self.pending = sorted(checkpoints, key=lambda c: c.seq)
        self.checked = 0
        self._chain = GENESIS_HASH
        self._seq = 0
        self.bad: Checkpoint | None = None  # a checkpoint of the empty log that fails
        while self.pending and self.pending[0].seq == 0 and self.bad is None:
            self.bad = self._compare(self.pending.pop(0))

    @property
    def last_seq(self) -> int:
        return self.pending[-1].seq if self.pending else 0

    def feed(self, seq: int, payload: bytes) -> Checkpoint | None:
        """The next frame; returns the checkpoint it contradicts, if any."""
        if not self.pending:
            return None
        self._chain = blake2b(self._chain + payload, digest_size=HASH_BYTES).digest()
        self._seq = seq
        while self.pending and self.pending[0].seq == seq:
            bad = self._compare(self.pending.pop(0))
            if bad is not None:
                return bad
        return None

    def _compare(self, cp: Checkpoint) -> Checkpoint | None:
        self.checked += 1
        return None if self._chain.hex() == cp.head else cp

    def describe_mismatch(self, cp: Checkpoint) -> str:
        return (
            f"{cp.describe()} does not match the log: the chain at seq {cp.seq} is "
            f"{self._chain.hex()}, the checkpoint says {cp.head}; records at or before "
            f"seq {cp.seq} were deleted, reordered or changed after it was signed"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "pending": len(self.pending)}
