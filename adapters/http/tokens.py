"""Bearer tokens: who is calling, with which role, for which region and station.

Owns: `TokenStore`, the token file `DATA/tokens.json` (create, revoke, list, verify) and
`Token`, the stored record. A token string is `lg1.<id>.<secret>`: `id` is 8 hex digits
(shown by `lingong token list`, used in logs and to revoke), `secret` 32 random bytes in
URL-safe base64.

Invariants:
- Only the SHA-256 digest of the whole token string is stored; the token itself is
  printed once by `lingong token create` and never written anywhere.
- The file is replaced atomically (temporary file, fsync, rename, directory fsync) under
  an advisory lock (`tokens.lock`), so concurrent CLI runs and a running server never see
  a half-written file. A running server re-reads it when its mtime or size changes
  (checked at most every `RELOAD_S`), so a revocation takes effect within that time.
- Roles are `ROLES`; a region is "" (nationwide) or a 2-, 4- or 6-digit GB/T 2260
  prefix; a `station_staff` token names its station.
- Verification compares digests with `hmac.compare_digest`.

Limits: the whole file is read on each reload (thousands of tokens are fine).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

ROLES = ("front_end", "station_staff", "auditor", "admin")
TOKEN_FILE = "tokens.json"
LOCK_FILE = "tokens.lock"
TOKEN_PREFIX = "lg1"
SECRET_BYTES = 32
RELOAD_S = 1.0
MAX_TOKEN_CHARS = 128
_REGION = re.compile(r"^(\d{2}|\d{4}|\d{6})?$")
_STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
_TOKEN = re.compile(r"^lg1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$")


class Token(msgspec.Struct, kw_only=True):
    token_id: str
    digest: str  # SHA-256 hex of the token string
    role: str
    region: str
    station_id: str = ""
    note: str = ""
    created_ms: int = 0
    revoked_ms: int = 0

    @property
    def active(self) -> bool:
        return self.revoked_ms == 0


class TokenFile(msgspec.Struct, kw_only=True):
    version: int = 1
    tokens: list[Token] = []


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_grant(role: str, region: str, station_id: str) -> None:
    """Raise ValueError unless (role, region, station) is a valid grant."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not _REGION.match(region):
        raise ValueError("region must be empty (nationwide) or 2, 4 or 6 digits")
    if role == "station_staff" and not station_id:
        raise ValueError("a station_staff token needs --station")
    if station_id and not _STATION.match(station_id):
        raise ValueError("station id must be 1-64 chars of [A-Za-z0-9_.:/-]")
    if station_id and role != "station_staff":
        raise ValueError("only station_staff tokens are bound to a station")


class TokenStore:
    """The tokens of one data folder."""

    def __init__(self, data_dir: str | Path) -> None:
        self.directory = Path(data_dir)
        self.path = self.directory / TOKEN_FILE
        self._by_id: dict[str, Token] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_s = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ reading -----------

    def _load(self) -> TokenFile:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return TokenFile()
        return msgspec.json.decode(raw, type=TokenFile)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_s < RELOAD_S:
            return
        with self._lock:
            self._checked_s = now
            try:
                st = self.path.stat()
                stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp and not force:
                return
            self._by_id = {t.token_id: t for t in self._load().tokens}
            self._stamp = stamp

    def verify(self, token: str) -> Token | None:
        """The active token record for a presented token string, or None."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        m = _TOKEN.match(token)
        if m is None:
            return None
        self._refresh()
        rec = self._by_id.get(m.group(1))
        if rec is None or not rec.active:
            return None
        if not hmac.compare_digest(rec.digest, digest_of(token)):
            return None
        return rec

    def list(self) -> list[Token]:
        self._refresh(force=True)
        return list(self._by_id.values())

    # ------------------------------------------------------------ writing -----------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, content: TokenFile) -> None:
        data = json.dumps(msgspec.to_builtins(content), ensure_ascii=False, indent=1).encode()
        tmp = self.path.with_name(f"{TOKEN_FILE}.{os.urandom(6).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def create(
        self, role: str, region: str, station_id: str = "", note: str = ""
    ) -> tuple[str, Token]:
        """A new token: returns (token string, record). The string is not kept."""
        check_grant(role, region, station_id)
        with self._locked():
            content = self._load()
            known = {t.token_id for t in content.tokens}
            token_id = os.urandom(4).hex()
            while token_id in known:
                token_id = os.urandom(4).hex()
            secret = base64.urlsafe_b64encode(os.urandom(SECRET_BYTES)).rstrip(b"=").decode()
            token = f"{TOKEN_PREFIX}.{token_id}.{secret}"
            rec = Token(
                token_id=token_id,
                digest=digest_of(token),
                role=role,
                region=region,
                station_id=station_id,
                note=note[:200],
                created_ms=time.time_ns() // 1_000_000,
            )
            content.tokens.append(rec)
            self._write(content)
        self._refresh(force=True)
        return token, rec

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False when there is no such active token."""
        with self._locked():
            content = self._load()
            for rec in content.tokens:
                if rec.token_id == token_id and rec.active:
                    rec.revoked_ms = time.time_ns() // 1_000_000
                    self._write(content)
                    break
            else:
                return False
        self._refresh(force=True)
        return True
