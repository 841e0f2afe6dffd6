"""What the HTTP layer must know about each id to decide who may touch it.

Owns: `ScopeIndex`, a small in-memory projection kept next to the engine: the region of
every worker, station and employer, the region and collecting station of every job, the
job and worker of every hire, the employer of every complaint, the live jobs each station
collected and their sites (so the station boards near a changed job are refreshed), the
workers each station is the contact point of (registered at its counter without a mobile)
with their live offers, and the sealed contact blob of each employer (to reveal it
to a hired worker). Read scopes (`adapters.http.auth.ReadScope`) and the station board
use it without a round trip to the writer thread; commands never do (they are
authorised against the state itself, on the writer thread).

Invariants:
- Fed only from durable records: `listener` is registered with
  `EngineService.on_result` (called on the writer thread after the fsync, before callers
  are answered), `load` runs as a query on the writer thread. Both therefore run in log
  order with each other; every update is idempotent.
- Regions, collecting stations and hire parties never change once recorded, so a value
  read on the event loop thread is never stale, only possibly absent (then the read's
  own query on the writer thread decides: 404 or 403, never data of another region).
- Employer blobs recorded before this process started come from one scan of the log
  (`scan_log`, run once, lazily, in a worker thread); newer ones come from the listener.
  A blob is sealed (AES-GCM); it is unsealed only for a hired worker's contact request.

Limits: memory follows the registry (tens of bytes per worker, about 100 bytes per
employer blob) and the engine's live set: a job, hire or complaint is dropped once it has
left the core (a read of it is answered 404 by the state anyway), found by a sweep of at
most `SWEEP_PER_RESULT` entries of each table per durable command (round robin, on the
writer thread), more than a command adds, so the tables do not grow with history; the
log scan reads every record once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from adapters.log.ports import LogReader
from adapters.log.records import read_records
from adapters.shell.runtime import Result
from engine import events as e
from engine.commands import Command
from engine.state import State

SWEEP_PER_RESULT = 16  # entries of each table checked per durable command
_CLOSED = (e.JobRejected, e.JobCancelled, e.JobExpired, e.JobFilled)
_BOARD = (e.JobPublished, e.HireConfirmed, *_CLOSED)
_OFFER_ENDS = (e.OfferAccepted, e.OfferDeclined, e.OfferExpired, e.OfferWithdrawn)


class ScopeIndex:
    def __init__(self, state_of: Callable[[], State] | None = None) -> None:
        # the engine's state (read on the writer thread only, by the sweep); None: no sweep
        self.state_of = state_of
        self.worker_region: dict[str, str] = {}
        self.station_region: dict[str, str] = {}
        self.employer_region: dict[str, str] = {}
        self.job: dict[str, tuple[str, str]] = {}  # job id -> (region, collecting station)
        self.hire: dict[str, tuple[str, str]] = {}  # hire id -> (job id, worker id)
        self.complaint_employer: dict[str, str] = {}
        self.station_jobs: dict[str, dict[str, None]] = {}  # station -> live job ids
        self.job_point: dict[str, tuple[float, float]] = {}  # live job id -> (lat, lng)
        # workers registered at a station's counter without a mobile, and their live offers
        self.contact: dict[str, str] = {}  # worker id -> station
        self.station_contacts: dict[str, dict[str, None]] = {}  # station -> worker ids
        self.contact_offer: dict[str, str] = {}  # live offer id -> station
        self.employer_blob: dict[str, bytes] = {}
        # the board hub's hook: (collecting stations changed, sites of jobs changed)
        self.on_change: Callable[[set[str], list[tuple[float, float]]], None] | None = None
        self.loaded = threading.Event()
        self._scan_lock = threading.Lock()
        self._scanned = False

    # ------------------------------------------------------------ look-ups ----------

    def job_region(self, job_id: str) -> str | None:
        hit = self.job.get(job_id)
        return None if hit is None else hit[0]

    def job_station(self, job_id: str) -> str | None:
        hit = self.job.get(job_id)
        return None if hit is None else hit[1]

    def hire_job(self, hire_id: str) -> str | None:
        hit = self.hire.get(hire_id)
        return None if hit is None else hit[0]

    # ------------------------------------------------------------ feeding -----------

    def load(self, state: State) -> int:
        """Bulk-load from the state (run as a query on the writer thread)."""
        for row, wid in enumerate(state.worker_ids):
            self.worker_region[wid] = state.worker_region[row]
        for sid, st in state.stations.items():
            self.station_region[sid] = st.region
        for eid, emp in state.employers.items():
            self.employer_region[eid] = emp.region
        for jid, job in state.jobs.items():
            self.job[jid] = (job.region, job.station_id)
            if job.status in ("submitted", "held", "open"):
                self.station_jobs.setdefault(job.station_id, {})[jid] = None
                self.job_point[jid] = (job.lat, job.lng)
        for hid, hire in state.hires.items():
            self.hire[hid] = (hire.job_id, state.worker_ids[hire.worker_row])
        for cid, comp in state.complaints.items():
            self.complaint_employer[cid] = comp.employer_id
        for row, sid in state.contact_station.items():
            self._add_contact(state.worker_ids[row], sid)
            for oid in state.live_offers_of(row):
                self.contact_offer[oid] = sid
        self.loaded.set()
        return state.last_seq

    def listener(self, cmd: Command, result: Result) -> None:
        """`EngineService.on_result` hook: fold the durable events of one command."""
        if not result.ok or not result.events:
            return
        points: list[tuple[float, float]] = []
        changed = self.apply_events(result.events, points)
        if self.state_of is not None:
            self.sweep(self.state_of())
        if (changed or points) and self.on_change is not None:
            self.on_change(changed, points)

    def sweep(self, state: State, budget: int = SWEEP_PER_RESULT) -> int:
        """Drop up to `budget` entries of each table whose thing has left the core (the
        oldest first; a live one goes to the back); returns how many were dropped."""
        dropped = 0
        tables = ((self.job, state.jobs), (self.hire, state.hires),
                  (self.complaint_employer, state.complaints))  # fmt: skip
        for table, live in tables:
            for _ in range(min(budget, len(table))):
                key = next(iter(table))
                value = table.pop(key)
                if key in live:
                    table[key] = value
                else:
                    dropped += 1
        return dropped

    def apply_events(
        self, events: list[e.Event], points: list[tuple[float, float]] | None = None
    ) -> set[str]:
        """Fold events; return the stations whose board changed (their own jobs, their
        status; "*" for every station after a policy change) and append to `points` the
        sites of the jobs that changed (boards of other stations near them change too)."""
        changed: set[str] = set()
        sink: list[tuple[float, float]] = [] if points is None else points
        for ev in events:
            if isinstance(ev, e.WorkerRegistered):
                self.worker_region[ev.worker_id] = ev.region
                if ev.station_id and not ev.phone_masked:
                    self._add_contact(ev.worker_id, ev.station_id)
            elif isinstance(ev, e.WorkerErased) and ev.worker_id in self.contact:
                station = self.contact.pop(ev.worker_id)
                self.station_contacts.get(station, {}).pop(ev.worker_id, None)
            elif isinstance(ev, e.OfferMade) and ev.worker_id in self.contact:
                self.contact_offer[ev.offer_id] = self.contact[ev.worker_id]
                changed.add(self.contact[ev.worker_id])
            elif isinstance(ev, _OFFER_ENDS) and ev.offer_id in self.contact_offer:
                changed.add(self.contact_offer.pop(ev.offer_id))
            elif isinstance(ev, e.StationRegistered):
                self.station_region[ev.station_id] = ev.region
            elif isinstance(ev, e.StationStatusChanged):
                changed.add(ev.station_id)
            elif isinstance(ev, e.PolicySet):
                changed.add("*")  # a board's radius is its region's policy
            elif isinstance(ev, e.EmployerRegistered):
                self.employer_region[ev.employer_id] = ev.region
                if ev.sealed:
                    self.employer_blob[ev.employer_id] = bytes(ev.sealed)
            elif isinstance(ev, e.JobSubmitted):
                self.job[ev.job_id] = (ev.region, ev.station_id)
                self.station_jobs.setdefault(ev.station_id, {})[ev.job_id] = None
                self.job_point[ev.job_id] = (ev.lat, ev.lng)
            elif isinstance(ev, e.HireConfirmed):
                self.hire[ev.hire_id] = (ev.job_id, ev.worker_id)
            elif isinstance(ev, e.ComplaintFiled):
                self.complaint_employer[ev.complaint_id] = ev.employer_id
            if isinstance(ev, _BOARD):
                station = self.job_station(ev.job_id)
                if station is not None:
                    changed.add(station)
                    point = self.job_point.get(ev.job_id)
                    if point is not None:
                        sink.append(point)
                    if isinstance(ev, _CLOSED):
                        self.station_jobs.get(station, {}).pop(ev.job_id, None)
                        self.job_point.pop(ev.job_id, None)
        return changed

    def _add_contact(self, worker_id: str, station_id: str) -> None:
        self.contact[worker_id] = station_id
        self.station_contacts.setdefault(station_id, {})[worker_id] = None

    # ------------------------------------------------------------ employer blobs ----

    def scan_log(self, reader: LogReader, last_seq: int) -> None:
        """Collect employer blobs recorded up to `last_seq` (before this process started
        listening), once, through the one read port."""
        with self._scan_lock:
            if self._scanned:
                return
            for batch in read_records(reader, 1, stop_seq=last_seq):
                for record in batch.records:
                    for ev in record.events:
                        if isinstance(ev, e.EmployerRegistered) and ev.sealed:
                            self.employer_blob.setdefault(ev.employer_id, bytes(ev.sealed))
            self._scanned = True


# ---------------------------------------------------------------- authoritative ------
# The same regions read from the state itself, for queries (run on the writer thread), so a
# read can never see a resource of another region even in the instant before the listener
# has recorded it.


def worker_region_in(state: State, worker_id: str) -> str | None:
    row = state.worker_rows.get(worker_id)
    return None if row is None else state.worker_region[row]


def job_region_in(state: State, job_id: str) -> str | None:
    job = state.jobs.get(job_id)
    return None if job is None else job.region


def hire_region_in(state: State, hire_id: str) -> str | None:
    hire = state.hires.get(hire_id)
    return None if hire is None else job_region_in(state, hire.job_id)


def employer_region_in(state: State, employer_id: str) -> str | None:
    emp = state.employers.get(employer_id)
    return None if emp is None else emp.region


def station_region_in(state: State, station_id: str) -> str | None:
    st = state.stations.get(station_id)
    return None if st is None else st.region
