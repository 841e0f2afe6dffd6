"""Bearer tokens: who is calling, with which role, for which region and station.

Owns: `TokenStore`, the token file `DATA/tokens.json` (create, revoke, list, verify),
`Token` (the stored record), `caller_of` (a verified token -> the engine's `Caller`) and
`stations_in_log` (the stations a data folder's log registered, to bind tokens to). A
token string is `lg1.<id>.<secret>`: `id` is 8 hex digits (shown by `lingong token list`,
used in logs, command ids and to revoke), `secret` 32 random bytes in URL-safe base64.
HTTP and NATS callers both present it (`Authorization: Bearer <token>`).

Named accounts: a token issued to a person carries the person's `name` and an
`account_id` (`acct-<8 hex>`, or one the operator gives to issue another token to the
same person). The name stays in this file (0600), never in the log: the caller's actor id,
which the log records (record actor, `ReviewJob.staff_id`, command ids), is the account
id; staff see the name masked (`mask_name`: 张*明). Reviews need a named account (the
gate refuses `ReviewJob` from an unnamed token, `named_account`).

Invariants:
- Only the SHA-256 digest of the whole token string is stored; the token itself is
  printed once by `lingong token create` and never written anywhere.
- The file is replaced atomically (temporary file, fsync, rename, directory fsync) under
  an advisory lock (`tokens.lock`), so concurrent CLI runs and a running server never see
  a half-written file. A running server re-reads it when its mtime or size changes
  (checked at most every `RELOAD_S`, and at once for an unknown token id), so a
  revocation takes effect within that time and a new token works at once.
- Grants: roles are `ROLES`; a region is a 2-, 4- or 6-digit GB/T 2260 prefix; only an
  admin token may be nationwide (region "") and only when created with `nationwide`; a
  `station_staff` token names an existing, not revoked station inside its region (checked
  against the stations the caller passes, read from the log). A stored token whose grant
  breaks these rules (an older file) authenticates nobody: `caller_of` fails closed.
- Verification compares digests with `hmac.compare_digest`.
- An account id is never a token id's shape (8 hex digits) and has no ':' (it prefixes
  command ids); one account has one name; a name is 1-50 characters without control
  characters and is not a phone or ID number.

Limits: the whole file is read on each reload (thousands of tokens are fine);
`stations_in_log` reads the whole log once.
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
from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec

from adapters.log.reader import open_log_reader
from adapters.log.records import read_records
from engine import events as e
from engine.authz import Caller
from engine.bounds import MAX_NAME
from engine.idnumbers import find_unmasked_pii

ROLES = ("front_end", "station_staff", "auditor", "admin", "sms_gateway")
TOKEN_FILE = "tokens.json"
LOCK_FILE = "tokens.lock"
TOKEN_PREFIX = "lg1"
SECRET_BYTES = 32
RELOAD_S = 1.0
MAX_TOKEN_CHARS = 128
_REGION = re.compile(r"^(\d{2}|\d{4}|\d{6})$")
_STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
_TOKEN = re.compile(r"^lg1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$")
_ACCOUNT = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{8}$")
ACCOUNT_PREFIX = "acct-"


class Token(msgspec.Struct, kw_only=True):
    token_id: str
    digest: str  # SHA-256 hex of the token string
    role: str
    region: str
    station_id: str = ""
    note: str = ""
    created_ms: int = 0
    revoked_ms: int = 0
    nationwide: bool = False
    account_id: str = ""  # the person's account ("" for a machine token)
    name: str = ""  # the person's name (personal data: only here, shown masked)

    @property
    def active(self) -> bool:
        return self.revoked_ms == 0

    @property
    def actor_id(self) -> str:
        """What the log records for this token's commands: the account, else the token."""
        return self.account_id or self.token_id


class TokenFile(msgspec.Struct, kw_only=True):
    version: int = 1
    tokens: list[Token] = []


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_grant(
    role: str,
    region: str,
    station_id: str = "",
    *,
    nationwide: bool = False,
    stations: Mapping[str, str] | None = None,
) -> None:
    """Raise ValueError unless (role, region, station, nationwide) is a valid grant.

    `stations` maps the known stations to their regions ("" for a revoked one); a
    station_staff grant needs it.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if nationwide:
        if role != "admin":
            raise ValueError("only admin tokens may be nationwide")
        if region:
            raise ValueError("a nationwide token has no region (drop --region)")
    elif not _REGION.match(region):
        raise ValueError("region must be 2, 4 or 6 digits (nationwide: admin with --nationwide)")
    if role == "station_staff" and not station_id:
        raise ValueError("a station_staff token needs --station")
    if station_id and role != "station_staff":
        raise ValueError("only station_staff tokens are bound to a station")
    if station_id:
        if not _STATION.match(station_id):
            raise ValueError("station id must be 1-64 chars of [A-Za-z0-9_.:/-]")
        if stations is None or station_id not in stations:
            raise ValueError(
                f"no station {station_id!r} (register it first: lingong station register)"
            )
        if not stations[station_id]:
            raise ValueError(f"station {station_id!r} is revoked")
        if not stations[station_id].startswith(region):
            raise ValueError(f"station {station_id!r} lies outside region {region}")


def mask_name(name: str) -> str:
    """张三明 -> 张*明, 张三 -> 张*, 欧阳小明 -> 欧**明; '' stays ''."""
    n = len(name)
    if n <= 1:
        return "*" * n
    if n == 2:
        return name[0] + "*"
    return name[0] + "*" * (n - 2) + name[-1]


def check_name(name: str) -> str:
    """The cleaned name of a person; ValueError saying what is wrong."""
    name = name.strip()
    if not name:
        raise ValueError("a named account needs --name (the person the token is issued to)")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("a name has no control characters")
    if find_unmasked_pii(name):
        raise ValueError("a name must not be a phone or ID number")
    return name


def check_account_id(account_id: str) -> None:
    """ValueError unless `account_id` may name an account."""
    if not _ACCOUNT.match(account_id) or _TOKEN_ID.match(account_id):
        raise ValueError(
            "an account id is 3-64 chars of [A-Za-z0-9_.-] starting with a letter "
            "(not 8 hex digits)"
        )
    if find_unmasked_pii(account_id):
        raise ValueError("an account id must not be a phone or ID number")


def caller_of(rec: Token) -> Caller | None:
    """The caller a verified token stands for; None when its grant is no longer valid."""
    if rec.role not in ROLES or (rec.nationwide and rec.role != "admin"):
        return None
    if not rec.nationwide and not _REGION.match(rec.region):
        return None  # e.g. an older "" (all regions) grant without the explicit flag
    if (rec.role == "station_staff") != bool(rec.station_id):
        return None
    if bool(rec.account_id) != bool(rec.name):
        return None  # an account is a person: both or neither
    if rec.account_id and (not _ACCOUNT.match(rec.account_id) or _TOKEN_ID.match(rec.account_id)):
        return None  # an edited file: the account would not be told from a token id
    return Caller(
        actor_id=rec.actor_id,
        role=rec.role,  # type: ignore[arg-type]
        region=rec.region,
        station_id=rec.station_id,
        nationwide=rec.nationwide,
        named=bool(rec.account_id),
    )


def stations_in_log(log_dir: str | Path) -> dict[str, str]:
    """Station id -> region ("" once revoked) of every station the log registered.

    Reads without the writer lock, so it works while a server holds the folder.
    """
    out: dict[str, str] = {}
    try:
        reader = open_log_reader(log_dir)  # the one read port (never creates anything)
    except FileNotFoundError:
        return out
    with reader:
        for batch in read_records(reader):
            for rec in batch.records:
                for ev in rec.events:
                    if isinstance(ev, e.StationRegistered):
                        out[ev.station_id] = ev.region
                    elif isinstance(ev, e.StationStatusChanged) and ev.status == "revoked":
                        out[ev.station_id] = ""
    return out


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

    def _refresh(self, force: bool = False, stat: bool = False) -> None:
        """Re-read the file if it changed (checked at most every RELOAD_S unless `stat`)."""
        now = time.monotonic()
        if not force and not stat and now - self._checked_s < RELOAD_S:
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
        if rec is None:  # perhaps made since the last check: look at the file now (one stat)
            self._refresh(stat=True)
            rec = self._by_id.get(m.group(1))
        if rec is None or not rec.active:
            return None
        if not hmac.compare_digest(rec.digest, digest_of(token)):
            return None
        return rec

    def list(self) -> list[Token]:
        self._refresh(force=True)
        return list(self._by_id.values())

    def masked_names(self, account_ids: set[str] | list[str]) -> dict[str, str]:
        """Account id -> the person's name masked, for the accounts known here."""
        self._refresh()
        names = {t.account_id: t.name for t in self._by_id.values() if t.account_id}
        return {a: mask_name(names[a]) for a in account_ids if a in names}

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
        self,
        role: str,
        region: str,
        station_id: str = "",
        note: str = "",
        *,
        nationwide: bool = False,
        stations: Mapping[str, str] | None = None,
        name: str = "",
        account_id: str = "",
    ) -> tuple[str, Token]:
        """A new token: returns (token string, record). The string is not kept.

        With `name` (and optionally `account_id`) the token is issued to a person: a new
        account `acct-<8 hex>`, or the given one. Another token of an existing account
        takes the account's name (a different name is refused).
        """
        check_grant(role, region, station_id, nationwide=nationwide, stations=stations)
        name = check_name(name) if name else ""
        if account_id:
            check_account_id(account_id)
        with self._locked():
            content = self._load()
            known = {t.token_id for t in content.tokens}
            accounts = {t.account_id: t.name for t in content.tokens if t.account_id}
            if account_id and account_id in accounts:
                if name and name != accounts[account_id]:
                    raise ValueError(f"account {account_id} belongs to another name")
                name = accounts[account_id]
            elif account_id and not name:
                raise ValueError(f"no account {account_id}: give --name to open it")
            elif name and not account_id:
                account_id = ACCOUNT_PREFIX + os.urandom(4).hex()
                while account_id in accounts:
                    account_id = ACCOUNT_PREFIX + os.urandom(4).hex()
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
                nationwide=nationwide,
                account_id=account_id,
                name=name,
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
