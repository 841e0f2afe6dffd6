"""Who is calling and what they may read: bearer tokens, rate limits, read scopes.

Owns: `authenticate` (Authorization header -> the engine's `Caller`, rate limited, once
per request, no dependency injection), `covers`, `READS` (read action -> roles, the one
table the read routes and their authorisation tests use), `ReadScope` (a read checked
against the caller's role, region prefix and station) and the per-token rate limit.

Commands are not authorised here: the route table (`adapters.gate.routes`) and the gate
check the role statically, and `authorize` checks region and station scope against the
real state on the writer thread, failing closed.

The read model:
- front_end, station_staff (their whole region), auditor, admin read views, the hall,
  stations; auditor and admin read reports and metrics; front_end and station_staff
  (own station's hires) read an employer's contact for a hired worker; front_end,
  station_staff and admin read a hire's agreement, station_staff, auditor and admin the
  wage-arrears cases (of their region);
- station_staff (own station), auditor and admin (their region) read the review queue;
- station_staff, auditor and admin read complaint cases (their region);
- sms_gateway reads nothing over HTTP.
- Region: a caller for prefix P sees only resources registered in P; only an admin token
  created with `--nationwide` sees every region.

Invariants: denials raise `ApiError` 403 with rule `role`, `region` or `station`; a
missing, malformed, unknown, revoked or no-longer-valid token is 401 `token`; an exhausted
bucket is 429 `rate_limit` with Retry-After. Token strings never reach logs: only ids.
A read of a resource the scope index does not know is let through to the handler, whose
query on the writer thread answers 404 (never data of another region).

Limits: one token bucket per token id (`Limits.rate_per_s`, `Limits.burst`) and, for the
public board routes, per client address (`Limits.public_rate_per_s`); at most
`TokenBuckets.MAX_KEYS` buckets are kept (newcomers beyond share one overflow bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

import msgspec

from adapters.gate.tokens import TokenStore, caller_of
from adapters.http.problems import ApiError
from adapters.http.scope import ScopeIndex
from engine.authz import Caller

READERS = frozenset({"front_end", "station_staff", "auditor", "admin"})
READS: dict[str, frozenset[str]] = {
    "read": READERS,
    "report": frozenset({"station_staff", "auditor", "admin"}),  # staff: own station only
    "metrics": frozenset({"auditor", "admin"}),
    "contact": frozenset({"front_end", "station_staff"}),
    # a hire's agreement: the worker's and employer's apps, staff of the region, admin
    "agreement": frozenset({"front_end", "station_staff", "admin"}),
    # wage-arrears cases: staff of the region, auditors, admin
    "arrears": frozenset({"station_staff", "auditor", "admin"}),
    "review": frozenset({"station_staff", "auditor", "admin"}),  # the review queue
    "complaints": frozenset({"station_staff", "auditor", "admin"}),
}


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Request limits of the API (see `adapters.http.app`)."""

    max_body_bytes: int = 64 * 1024
    rate_per_s: float = 200.0  # per token
    burst: int = 400
    public_rate_per_s: float = 20.0  # per client address, board routes
    public_burst: int = 60
    max_geojson: int = 5000
    board_clients_per_station: int = 64
    board_clients: int = 512
    board_keepalive_s: float = 15.0


def covers(who: Caller, region: str) -> bool:
    """Whether `who` may see a resource of `region` (fail closed on an empty grant)."""
    return who.nationwide or (bool(who.region) and region.startswith(who.region))


class TokenBuckets:
    """One token bucket per key: `rate` tokens per second up to `burst`.

    At most `MAX_KEYS` keys are kept, in the order last used. A new key beyond first drops
    the least recently used buckets that are idle long enough to be full again (a full
    bucket and a missing one behave the same: from the oldest, so the work is what is
    dropped, never a scan of all); if none is, the new key shares one overflow bucket with
    every other key that found no room, until room frees up. So a client rotating its
    addresses (an IPv6 prefix holds billions) neither grows the table nor gets more than
    the overflow's rate, and the clients already known keep their own buckets.
    """

    MAX_KEYS = 10_000
    OVERFLOW = "\x00overflow"  # not a key any caller can have

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._overflow: tuple[float, float] | None = None
        self._lock = threading.Lock()

    def take(self, key: str, now_s: float | None = None) -> float:
        """0.0 when allowed, else the seconds to wait for the next token."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            found = self._buckets.get(key)
            if found is None and len(self._buckets) >= self.MAX_KEYS:
                self._prune(now)
                if len(self._buckets) >= self.MAX_KEYS:
                    level, last = self._overflow or (self.burst, now)
                    level, wait = self._spend(level, last, now)
                    self._overflow = (level, now)
                    return wait
            level, last = found or (self.burst, now)
            level, wait = self._spend(level, last, now)
            self._buckets[key] = (level, now)
            self._buckets.move_to_end(key)
            return wait

    def _spend(self, level: float, last: float, now: float) -> tuple[float, float]:
        level = min(self.burst, level + (now - last) * self.rate)
        if level >= 1.0:
            return level - 1.0, 0.0
        return level, (1.0 - level) / self.rate if self.rate > 0 else math.inf

    def _prune(self, now: float) -> None:
        """Drop the least recently used buckets that are full again (oldest first)."""
        refill_s = self.burst / self.rate if self.rate > 0 else math.inf
        while self._buckets:
            key, (_, last) = next(iter(self._buckets.items()))
            if now - last < refill_s:
                return
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def authenticate(header: str | None, tokens: TokenStore, buckets: TokenBuckets) -> Caller:
    if not header:
        raise ApiError(401, "token", "send Authorization: Bearer <token>", "Authorization")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "token", "use the Bearer scheme", "Authorization")
    rec = tokens.verify(value.strip())
    who = None if rec is None else caller_of(rec)
    if who is None:
        raise ApiError(401, "token", "unknown, revoked or invalid token", "Authorization")
    wait_s = buckets.take(who.actor_id)
    if wait_s > 0:
        retry = str(max(1, math.ceil(wait_s))) if math.isfinite(wait_s) else "60"
        raise ApiError(
            429, "rate_limit", "too many requests for this token", "", {"Retry-After": retry}
        )
    return who


class ReadScope:
    """Checks one read against a caller; resources are looked up in the `ScopeIndex`."""

    def __init__(self, index: ScopeIndex) -> None:
        self.index = index

    def allow(
        self,
        who: Caller,
        action: str,
        *,
        region: str | None = None,
        worker: str | None = None,
        station: str | None = None,
        job: str | None = None,
        hire: str | None = None,
        employer: str | None = None,
    ) -> None:
        if who.role not in READS[action]:
            raise ApiError(403, "role", f"role {who.role} may not {action}")
        ix = self.index
        if region is not None:
            self._region(who, region, "region")
        if worker:
            self._region(who, ix.worker_region.get(worker), "worker_id")
        if employer:
            self._region(who, ix.employer_region.get(employer), "employer_id")
        if station:
            self._region(who, ix.station_region.get(station), "station_id")
            if action == "report":
                self._station(who, station, "station_id")
        if hire:
            job = ix.hire_job(hire)
            if job is not None:
                self._region(who, ix.job_region(job), "hire_id")
                if action == "contact":  # staff: hires of their own station's jobs only
                    self._station(who, ix.job_station(job), "hire_id")
        elif job:
            self._region(who, ix.job_region(job), "job_id")

    @staticmethod
    def _region(who: Caller, region: str | None, field: str) -> None:
        if region is not None and not covers(who, region):
            raise ApiError(403, "region", f"outside this token's region ({field})", field)

    @staticmethod
    def _station(who: Caller, station: str | None, field: str) -> None:
        if who.role == "station_staff" and station is not None and station != who.station_id:
            raise ApiError(403, "station", f"not this token's station ({field})", field)
