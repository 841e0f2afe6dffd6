"""Who may do what: roles, region prefixes, stations, and the per-token rate limit.

Owns: `Principal` (the verified caller), `PERMISSIONS` (action -> roles allowed, the one
table the API and its authorisation tests read), `authenticate` (bearer token -> caller,
rate limited), and `Gate`, which checks an action against the caller's role, region
prefix and station.

The model:
- front_end: regional apps and kiosks; registers people, checks in, posts, answers offers,
  follows hires, files complaints; reads its region.
- station_staff: the same at one station (postings it collected, check-ins at it), plus
  reviewing held postings of its own station (谁收集、谁发布、谁负责), the opening bell
  and flagging employers.
- auditor: reads only (views, hall, stations, reports); never writes.
- admin: manages stations, policies and complaints and may do what front ends do; does
  not review postings (only the collecting station does) and does not see contacts.
- Region: a token for prefix P touches only workers registered in P, jobs whose
  collecting station is in P, stations in P, employers registered in P (a posting needs
  only the station in P: the job is that region's). "" is nationwide.

Invariants: denials raise `ApiError` 403 with rule `role`, `region` or `station`; a
missing, malformed, unknown or revoked token is 401 `token`; an exhausted bucket is 429
`rate_limit` with Retry-After. Token strings never reach logs: only `token_id`.

Limits: one token bucket per token id (`Limits.rate_per_s`, `Limits.burst`) and, for the
public board routes, per client address (`Limits.public_rate_per_s`); at most
`TokenBuckets.MAX_KEYS` buckets are kept.
"""

from __future__ import annotations

import math
import threading
import time

import msgspec

from adapters.http.problems import ApiError
from adapters.http.scope import ScopeIndex
from adapters.http.tokens import TokenStore

WRITERS = frozenset({"front_end", "station_staff", "admin"})
READERS = frozenset({"front_end", "station_staff", "auditor", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # registry
    "register_worker": WRITERS,
    "update_worker": WRITERS,
    "erase_worker": frozenset({"station_staff", "admin"}),  # PIPL art. 47, never a front end
    "register_employer": WRITERS,
    "flag_employer": frozenset({"station_staff", "admin"}),
    "register_station": frozenset({"admin"}),
    "change_station_status": frozenset({"admin"}),
    "set_policy": frozenset({"admin"}),
    # the morning
    "check_in": WRITERS,
    "check_out": WRITERS,
    "submit_job": WRITERS,
    "review_job": frozenset({"station_staff"}),
    "cancel_job": WRITERS,
    "ring_bell": frozenset({"station_staff", "admin"}),
    # offers and hires
    "answer_offer": WRITERS,
    "hire_update": WRITERS,
    "contact": frozenset({"front_end", "station_staff"}),
    "file_complaint": WRITERS,
    "resolve_complaint": frozenset({"admin"}),
    # reads
    "read": READERS,
    "report": frozenset({"auditor", "admin"}),
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


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    role: str
    region: str
    station_id: str = ""

    def covers(self, region: str) -> bool:
        return region.startswith(self.region)


class TokenBuckets:
    """One token bucket per key: `rate` tokens per second up to `burst`.

    At most `MAX_KEYS` keys are kept: beyond, buckets idle long enough to be full again are
    dropped (a full bucket and a missing one behave the same).
    """

    MAX_KEYS = 10_000

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now_s: float | None = None) -> float:
        """0.0 when allowed, else the seconds to wait for the next token."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            if len(self._buckets) >= self.MAX_KEYS and key not in self._buckets:
                self._prune(now)
            level, last = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.rate if self.rate > 0 else math.inf

    def _prune(self, now: float) -> None:
        refill_s = self.burst / self.rate if self.rate > 0 else math.inf
        stale = [k for k, (_, last) in self._buckets.items() if now - last >= refill_s]
        for k in stale:
            del self._buckets[k]


def authenticate(header: str | None, tokens: TokenStore, buckets: TokenBuckets) -> Principal:
    if not header:
        raise ApiError(401, "token", "send Authorization: Bearer <token>", "Authorization")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "token", "use the Bearer scheme", "Authorization")
    rec = tokens.verify(value.strip())
    if rec is None:
        raise ApiError(401, "token", "unknown or revoked token", "Authorization")
    wait_s = buckets.take(rec.token_id)
    if wait_s > 0:
        retry = str(max(1, math.ceil(wait_s))) if math.isfinite(wait_s) else "60"
        raise ApiError(
            429, "rate_limit", "too many requests for this token", "", {"Retry-After": retry}
        )
    return Principal(
        token_id=rec.token_id, role=rec.role, region=rec.region, station_id=rec.station_id
    )


class Gate:
    """Checks one action against a caller; resources are looked up in the `ScopeIndex`.

    A resource the index does not know is let through to the engine, which refuses it as
    unknown (nothing is written); reads of unknown resources are 404 in the handlers.
    """

    def __init__(self, index: ScopeIndex) -> None:
        self.index = index

    def allow(
        self,
        who: Principal,
        action: str,
        *,
        region: str | None = None,
        worker: str | None = None,
        station: str | None = None,
        job: str | None = None,
        hire: str | None = None,
        employer: str | None = None,
        complaint: str | None = None,
    ) -> None:
        if who.role not in PERMISSIONS[action]:
            raise ApiError(403, "role", f"role {who.role} may not {action.replace('_', ' ')}")
        ix = self.index
        bound = action != "read"  # staff read their whole region, write at their station
        if region is not None:
            self._region(who, region, "region")
        if worker:
            self._region(who, ix.worker_region.get(worker), "worker_id")
        if employer:
            self._region(who, ix.employer_region.get(employer), "employer_id")
        if complaint:
            emp = ix.complaint_employer.get(complaint)
            if emp is not None:
                self._region(who, ix.employer_region.get(emp), "complaint_id")
        if station:
            self._region(who, ix.station_region.get(station), "station_id")
            if bound:
                self._station(who, station, "station_id")
        if hire and job is None:
            job = ix.hire_job(hire)
            field = "hire_id"
        else:
            field = "job_id"
        if job:
            self._region(who, ix.job_region(job), field)
            if bound:
                self._station(who, ix.job_station(job), field)

    @staticmethod
    def _region(who: Principal, region: str | None, field: str) -> None:
        if region is not None and not who.covers(region):
            raise ApiError(403, "region", f"outside this token's region ({field})", field)

    @staticmethod
    def _station(who: Principal, station: str | None, field: str) -> None:
        if who.role == "station_staff" and station is not None and station != who.station_id:
            raise ApiError(403, "station", f"not this token's station ({field})", field)
