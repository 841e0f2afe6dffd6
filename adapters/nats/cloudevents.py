"""Subjects, CloudEvents headers and the id -> region map of published events.

Owns: the event stream's name and subjects, CloudEvents 1.0 binary-mode headers (the
event itself is the JSON body), stable event ids, per-worker push subjects, and
`RegionMap`, which finds the region of every event from the records themselves.

Subjects:
    lingong.evt.<prov2>.<city4>.<county6>.<Type>   every fact and decision (stream LINGONG_EVT)
    lingong.push.<worker token>                    OfferMade and PushSent again, for the one
                                                   worker (core NATS: live apps, at most once)
Region-less events use the padded prefix they have (a PolicySet for "42" -> 42.4200.420000;
the national default "" -> 00.0000.000000); a Tick uses the publisher's default region.

Invariants:
- An event id is `<partition>-<epoch>-<seq>-<index>`: the log partition, the first 8 hex
  digits of the log's chain after frame 1 (tells apart two logs of one partition name),
  the record's seq and the event's index in the record. It depends only on the log's
  content, so a republished event has the same id: `ce-id` = `Nats-Msg-Id` = that id, and
  the stream or any subscriber drops repeats by it.
- Bodies never carry the `sealed` blob (encrypted personal data): subscribers get the
  masked fields only.
- `RegionMap` only learns from events, so it gives the same answer live, after a restart
  and during a replay; ids never change region.

Limits: id tokens in subjects and KV keys escape every character outside [A-Za-z0-9_-]
as `~XX` (hex), which keeps them injective (`~` is not an id character). `RegionMap`
keeps at most `MAX_IDS` jobs, hires and complaints each (the registries of stations,
employers and workers are kept whole), the least recently mentioned dropped first: an
event of one dropped (rare: a payment months after its job) gets the default region, as
any event of something that had left the core does after a restart (`from_state`), so the
map does not grow with history.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict

import msgspec

from engine import events as e

EVT_STREAM = "LINGONG_EVT"
EVT_PREFIX = "lingong.evt"
PUSH_PREFIX = "lingong.push"
CE_TYPE_PREFIX = "cn.lingong."
NO_REGION = "000000"
PUSH_TYPES = (e.OfferMade, e.PushSent, e.ComplaintStatusChanged)  # to the worker's app
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_json = msgspec.json.Encoder()
_event_json = msgspec.json.Decoder(e.AnyEvent)


def token(value: str) -> str:
    """An id as one subject token / KV key part (escape outside [A-Za-z0-9_-] as ~XX)."""
    if all(ch in _SAFE for ch in value) and value:
        return value
    return "".join(ch if ch in _SAFE else "".join(f"~{b:02X}" for b in ch.encode()) for ch in value)


def pad_region(prefix: str) -> str:
    """A region prefix ("", "42", "4206", "420602") as 6 digits."""
    if not prefix.isdigit():
        return NO_REGION
    return (prefix + NO_REGION)[:6]


def event_subject(region: str, type_name: str) -> str:
    r = pad_region(region)
    return f"{EVT_PREFIX}.{r[:2]}.{r[:4]}.{r}.{type_name}"


def push_subject(worker_id: str) -> str:
    return f"{PUSH_PREFIX}.{token(worker_id)}"


def event_id(partition: str, epoch: str, seq: int, index: int) -> str:
    return f"{partition}-{epoch}-{seq}-{index}"


def parse_event_id(value: str) -> tuple[str, str, int, int]:
    """(partition, epoch, seq, index) of an event id."""
    partition, epoch, seq, index = value.rsplit("-", 3)
    return partition, epoch, int(seq), int(index)


@functools.lru_cache(maxsize=4096)
def _utc_second(secs: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


def rfc3339(ts_ms: int) -> str:
    """Epoch ms as RFC 3339 UTC with milliseconds: 2026-11-23T00:30:00.000Z."""
    secs, ms = divmod(ts_ms, 1000)
    return f"{_utc_second(secs)}.{ms:03d}Z"


def event_body(ev: e.Event) -> bytes:
    """The event as JSON (tagged with its type), without any sealed personal data."""
    if getattr(ev, "sealed", b""):
        ev = msgspec.structs.replace(ev, sealed=b"")
    return _json.encode(ev)


def decode_body(data: bytes) -> e.Event:
    return _event_json.decode(data)


def ce_headers(ev: e.Event, *, ev_id: str, source: str) -> dict[str, str]:
    """CloudEvents 1.0 binary-mode headers (plus Nats-Msg-Id = ce-id).

    Only the required attributes, time and content type: every header costs the Python
    client ~5 us per message on both ends, and the rest is in the subject (region, type),
    the id (seq) and the body (the entity ids)."""
    return {
        "ce-specversion": "1.0",
        "ce-id": ev_id,
        "ce-source": source,
        "ce-type": CE_TYPE_PREFIX + type(ev).__name__,
        "ce-time": rfc3339(ev.ts_ms),
        "content-type": "application/json",
        "Nats-Msg-Id": ev_id,
    }


MAX_IDS = 1_000_000  # jobs, hires and complaints each, in a `RegionMap`


class _Recent(OrderedDict):
    """A dict of at most `cap` keys; a read or a write makes a key the newest, and a write
    beyond the cap drops the oldest (`dropped` counts them)."""

    def __init__(self, cap: int = MAX_IDS) -> None:
        super().__init__()
        self.cap = cap
        self.dropped = 0

    def get(self, key, default=None):  # noqa: ANN001, ANN201
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:  # noqa: ANN001
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.cap:
            self.popitem(last=False)
            self.dropped += 1


def _recent(items: dict[str, str]) -> _Recent:
    out = _Recent()
    for k, v in items.items():
        out[k] = v
    return out


class RegionMap:
    """The region of every id the log has mentioned, learnt from the events themselves."""

    def __init__(self, default_region: str = NO_REGION) -> None:
        self.default = pad_region(default_region)
        self.stations: dict[str, str] = {}
        self.employers: dict[str, str] = {}
        self.workers: dict[str, str] = {}
        self.jobs: _Recent = _Recent()
        self.offers: dict[str, str] = {}  # offer id -> job id (live offers only)
        self.hires: _Recent = _Recent()  # hire id -> job id
        self.complaints: _Recent = _Recent()  # complaint id -> region

    @classmethod
    def from_state(cls, state, default_region: str = NO_REGION) -> RegionMap:
        """Seed from an engine `State` (ids never change region, so a later state serves
        earlier events too)."""
        m = cls(default_region)
        m.stations = {k: s.region for k, s in state.stations.items()}
        m.employers = {k: x.region for k, x in state.employers.items()}
        m.workers = dict(zip(state.worker_ids, state.worker_region, strict=True))
        m.jobs = _recent({k: j.region for k, j in state.jobs.items()})
        m.offers = {k: o.job_id for k, o in state.offers.items()}
        m.hires = _recent({k: h.job_id for k, h in state.hires.items()})
        m.complaints = _recent(
            {k: m.employers.get(c.employer_id, m.default) for k, c in state.complaints.items()}
        )
        return m

    def _job(self, job_id: str) -> str:
        return self.jobs.get(job_id, self.default)

    def observe(self, ev: e.Event) -> str:
        """The event's region; learns the ids it introduces (call in log order)."""
        match ev:
            case e.StationRegistered():
                self.stations[ev.station_id] = ev.region
                return ev.region
            case e.EmployerRegistered():
                self.employers[ev.employer_id] = ev.region
                return ev.region
            case e.WorkerRegistered():
                self.workers[ev.worker_id] = ev.region
                return ev.region
            case e.JobSubmitted():
                self.jobs[ev.job_id] = ev.region
                return ev.region
            case e.PolicySet():
                return ev.region
            case e.OfferMade():
                self.offers[ev.offer_id] = ev.job_id
                return self._job(ev.job_id)
            case e.OfferAccepted() | e.OfferDeclined() | e.OfferExpired() | e.OfferWithdrawn():
                return self._job(self.offers.pop(ev.offer_id, ""))
            case e.HireConfirmed():
                self.hires[ev.hire_id] = ev.job_id
                return self._job(ev.job_id)
            case e.ComplaintFiled():
                region = self.employers.get(ev.employer_id, self.default)
                self.complaints[ev.complaint_id] = region
                return region
            case e.ComplaintResolved() | e.ComplaintStatusChanged() | e.ComplaintOverdue():
                return self.complaints.get(ev.complaint_id, self.default)
            case e.WorkerCheckedIn() if ev.station_id:
                return self.stations.get(ev.station_id, self.default)
            case e.AgreementRecorded():
                return self._job(ev.terms.job_id)
            case e.BellRung() | e.BellClosed():
                if ev.scope.startswith("region:"):
                    return ev.scope[len("region:") :]
                return self.stations.get(ev.scope, self.default)
        job_id = getattr(ev, "job_id", "")
        if job_id:
            return self._job(job_id)
        hire_id = getattr(ev, "hire_id", "")
        if hire_id:
            return self._job(self.hires.get(hire_id, ""))
        for ids, name in (
            (self.workers, "worker_id"),
            (self.stations, "station_id"),
            (self.employers, "employer_id"),
        ):
            key = getattr(ev, name, "")
            if key:
                return ids.get(key, self.default)
        return self.default
