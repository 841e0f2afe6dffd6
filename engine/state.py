"""The in-memory state the core folds the log into.

Owns: the registry records (stations, employers, jobs, offers, hires, complaints), the
worker id <-> row map over the columnar `WorkerArrays`, the spatial indexes, the
command-id memory for idempotency, and the state digest.

Invariants:
- Only `engine.fold.apply` mutates a `State`; everything here is derived from the log.
- Iteration that decides anything goes over insertion-ordered dicts or sorted keys,
  never over sets, so two processes folding the same log reach the same digest.
- `digest()` covers every field that can change a later decision.

Live working set: jobs, offers and hires stay only while they can still change a
decision. A hire leaves `settlement_window_ms` (of its job's region policy) after its
end; a job leaves once it is closed (filled, cancelled, expired, rejected) with no live
offer and no hire left, taking its offers along (its published row is reused, lowest
free row first). While its hires stay (its posting holds the terms they agreed to, which
the agreement view and the complaint case read), its offers leave
`CLOSED_OFFER_KEEP_MS` after it closed and it forgets the rows it offered (only matching
an open job reads them). Departures are scheduled in `leaving` and done by the fold of the next
`Tick` (`engine.fold`), so a replay that only folds records leaves the same set. The
log and the projections keep everything.

Time: `due` is the one expiry heap of the decisions `Tick` makes (offer and job
expiries, check-outs at the end of availability, bells closing, wages due, rectification
deadlines); `leaving` the heap of departures. Entries of things that ended early are skipped when popped (each stays at
most until its own due time, so neither heap grows with history); `next_due_ms` tells
the runtime when a `Tick` has work. `leaving` is popped by the fold; `due` by the tick's
reactions, which a replay folding records does not run, so a replay keeps entries an
execution popped. Hence the rule for `due`: an entry skipped when popped stays skippable
for good (it is checked against the thing's current due time), unless the fold that
makes it actionable again schedules the very same entry (a hire's arrival recorded after
its wage fell due): either way a running and a recovered core decide the same events in
the same order.

Review: `held` lists the postings held for review now, in the order held (derived from
the jobs; not part of the digest); a job keeps its hold reasons and the account of its
verdict (`Job.hold_reasons`, `Job.reviewed_by`).

Limits: `MAX_STATIONS` stations (a registration beyond is refused); `MAX_LIVE_JOBS` jobs
(a posting beyond is refused; `held` is a subset), `MAX_LIVE_OFFERS` offers
(waves stop making offers), `MAX_LIVE_HIRES` hires (an accept beyond is refused); the
command-id memory is `engine.idempotency.CommandMemory` (at most 1,000,000 ids of the
last 24 h of log time, fixed layout). Hires per worker at once: `BUSY_SLOTS` of
`WorkerArrays`; arrears cases: one per live hire (a hire with an open case stays in the
core until it is paid, still within `MAX_LIVE_HIRES`). Trainings and policy Q&A are
`engine.training`'s (`State.training`; a session leaves `TRAINING_KEEP_MS` after its
end). Complaints: at most `MAX_LIVE_COMPLAINTS` live cases (filing beyond is refused); a
closed case leaves the core `CLOSED_COMPLAINT_KEEP_MS` after it closed.
"""

from __future__ import annotations

import hashlib
import heapq

import msgspec
import numpy as np

from engine.events import Policy
from engine.idempotency import MAX_REMEMBERED_COMMANDS, CommandMemory
from engine.matching.index import CellIndex
from engine.matching.jobs import JobArrays
from engine.matching.search import KeywordIndex
from engine.matching.waiting import WaitingIndex
from engine.matching.workers import SkillCodes, WorkerArrays
from engine.training import TrainingBook

__all__ = ["MAX_REMEMBERED_COMMANDS", "State"]

MAX_LIVE_JOBS = 200_000
MAX_LIVE_OFFERS = 1_000_000
MAX_LIVE_HIRES = 1_000_000
MAX_LIVE_COMPLAINTS = 200_000  # live cases: a complaint beyond is refused
NOTHING: tuple = ()  # the lists of a closed job that will never offer again (shared)
CLOSED_JOB = ("filled", "cancelled", "expired", "rejected")
LIVE_COMPLAINT = ("open", "accepted", "investigating")
# kinds of `State.due` entries (due ms, kind, key), in the order a tick handles a ms
DUE_OFFER, DUE_JOB, DUE_CHECKOUT, DUE_BELL, DUE_WAGE, DUE_RECTIFY, DUE_COMPLAINT = range(7)
MAX_STATIONS = 100_000  # stations ever registered (a registration beyond is refused)
# kinds of `State.leaving` entries
LEAVE_HIRE, LEAVE_JOB, LEAVE_COMPLAINT, LEAVE_OFFERS, LEAVE_TRAINING = range(5)
CLOSED_COMPLAINT_KEEP_MS = (
    7 * 86_400_000
)  # a closed case stays listed this long (the stores: for good)
# a closed job's offers stay this long (a late reply is told the offer closed, as a
# command retried within the command-id memory's 24 h), then leave even if it has hires
CLOSED_OFFER_KEEP_MS = 86_400_000
# ~0.17 km edge. A query of radius r runs at the finest resolution <= this whose disk
# has k <= 4 (1.5 km: resolution 8, k = 4, as with 8); the finer cells only add the
# small queries of the push audience's nearest-first steps (318-699 m, matcher).
# Candidate sets only: no decision depends on it.
WORKER_INDEX_RESOLUTION = 9
JOB_INDEX_RESOLUTION = 7


class Station(msgspec.Struct, kw_only=True):
    station_id: str
    name: str
    kind: str
    market_type: str
    parent_id: str
    region: str
    lat: float
    lng: float
    status: str = "applied"
    registered_ms: int = 0
    # the application (ApplyStation) and its life (engine.station_life)
    address: str = ""
    area_m2: int = 0
    hotline: str = ""
    open_min: int = 0
    close_min: int = 0
    services: tuple[str, ...] = ()
    staff_count: int = 0
    accounts: dict[str, str] = {}  # step ("apply", "review", ...) -> account that took it
    filing_no: str = ""
    rectify_due_ms: int = 0  # while rectifying: the deadline
    children: list[str] = []  # stations registered below this one, in order


class Employer(msgspec.Struct, kw_only=True):
    employer_id: str
    kind: str
    region: str
    flags: list[str] = []  # open flag reasons, in the order raised
    display_name: str = ""


# The live tables' records are kept out of the cyclic collector (`gc=False`: no GC header,
# never traversed): they hold numbers, strings and lists of those, never a cycle.
class Job(msgspec.Struct, kw_only=True, gc=False):
    job_id: str
    row: int
    employer_id: str
    station_id: str
    region: str
    title: str
    skill: str
    headcount: int
    pay_fen: int
    pay_unit: str
    day_pay_fen: int
    start_ms: int
    end_ms: int
    lat: float
    lng: float
    submitted_ms: int
    status: str = "submitted"  # submitted, held, open, filled, rejected, cancelled, expired
    published_ms: int = 0
    expires_ms: int = 0
    hired: int = 0
    wave: int = 0
    live_offers: list[str] = []  # offer ids, in the order made
    offered_rows: list[int] = []  # every worker row ever offered or declined (excluded)
    first_hire_ms: int = 0
    filled_ms: int = 0
    description: str = ""
    address: str = ""
    expected_pieces: int = 0
    insurance_payer: str = ""
    insurance_policy_no: str = ""
    terms_v: int = 0  # 1: its hires record an agreement and are wage-checked
    arrears_hold: bool = False  # held because of the employer's open arrears case
    held_ms: int = 0  # when it was held for review (0: never)
    hold_reasons: tuple[str, ...] = ()  # the review's reason codes (engine.reasons: Chinese)
    reviewed_by: str = ""  # the account that gave the review verdict

    @property
    def open_slots(self) -> int:
        return self.headcount - self.hired


class Offer(msgspec.Struct, kw_only=True, gc=False):
    offer_id: str
    job_id: str
    worker_row: int
    expires_ms: int
    status: str = "live"  # live, accepted, declined, expired, withdrawn


class Hire(msgspec.Struct, kw_only=True, gc=False):
    hire_id: str
    job_id: str
    worker_row: int
    employer_id: str
    start_ms: int
    end_ms: int
    pay_fen: int
    status: str = "confirmed"  # confirmed, arrived, no_show, completed
    paid_fen: int = 0
    confirmed_ms: int = 0
    agreed_fen: int = -1  # the agreement's total (-1: no agreement, an old posting)
    agreement_sha256: str = ""
    arrears_case: str = ""  # the open arrears case of this hire ("" none)
    wage_due_ms: int = 0  # when its wage is due (its agreement's end + wage_due_ms; 0: none)


class ArrearsCase(msgspec.Struct, kw_only=True, gc=False):
    """A wage-arrears case (欠薪): open until the hire is paid in full; stays (closed)
    while its hire is in the core, the log and the stores keep it for good."""

    case_id: str
    hire_id: str
    job_id: str
    employer_id: str
    station_id: str
    reason: str  # partial, unpaid
    agreed_fen: int
    paid_fen: int
    opened_ms: int
    status: str = "open"  # open, closed
    closed_ms: int = 0


class Complaint(msgspec.Struct, kw_only=True, gc=False):
    complaint_id: str
    kind: str
    employer_id: str
    # open, accepted, investigating (the case is live); resolved, rejected (closed by a
    # step); upheld, dismissed (closed by the older `ResolveComplaint`)
    status: str = "open"
    worker_id: str = ""  # the complainant
    hire_id: str = ""
    station_id: str = ""  # the station answering the case ("" unknown)
    region: str = ""  # the job's region (the answering station's), else the employer's
    filed_ms: int = 0
    due_ms: int = 0  # 限时办结 deadline (set by the fold of ComplaintFiled)
    changed_ms: int = 0
    overdue: bool = False  # was still live at its deadline

    @property
    def live(self) -> bool:
        return self.status in LIVE_COMPLAINT


class State:
    """Everything the core knows. Build with `State()`; mutate only through `apply`."""

    def __init__(self) -> None:
        self.policies: dict[str, tuple[int, Policy]] = {"": (0, Policy())}
        # region prefix -> slot (the order policies were first set; "" is 0): the
        # `JobArrays.policy` column holds the slot of each job's region policy
        self.policy_slot: dict[str, int] = {"": 0}
        self.policy_epoch = 0  # bumped by every PolicySet (caches of policy vectors)
        self.policy_cache: tuple | None = None  # engine.matcher.policy_table's, not state
        self.stations: dict[str, Station] = {}
        self.employers: dict[str, Employer] = {}
        self.worker_rows: dict[str, int] = {}
        self.worker_ids: list[str] = []
        self.worker_region: list[str] = []
        self.worker_station: list[str] = []  # station of the current check-in ("" none)
        self.worker_registered_at: list[str] = []  # registering station ("" none)
        self.priority_groups: dict[int, str] = {}  # row -> group name, only when not ""
        # row -> station: workers registered at a station's counter without a mobile; the
        # station is their contact point (board, printed slip), no SMS
        self.contact_station: dict[int, str] = {}
        self.workers = WorkerArrays()
        self.skills = SkillCodes()
        self.checked_in = CellIndex(WORKER_INDEX_RESOLUTION)
        # the same workers by (cell, skill) with packed score inputs: the offer waves'
        # exact threshold top-k (engine.matching.threshold)
        self.waiting = WaitingIndex()
        # the 1.5 km push audience's candidates (engine.matcher.push_audience): active
        # opted-in workers at home, and those of them checked in at their position
        self.push_index = CellIndex(WORKER_INDEX_RESOLUTION)
        self.push_checked_in = CellIndex(WORKER_INDEX_RESOLUTION)
        self.jobs: dict[str, Job] = {}
        self.job_ids: list[str] = []  # job row -> id
        self.job_arrays = JobArrays()
        self.open_jobs = CellIndex(JOB_INDEX_RESOLUTION)
        self.keywords = KeywordIndex()
        self.offers: dict[str, Offer] = {}
        self.hires: dict[str, Hire] = {}
        self.hires_by_worker: dict[int, list[str]] = {}
        self.complaints: dict[str, Complaint] = {}
        self.complaints_by_employer: dict[str, list[str]] = {}
        self.training = TrainingBook()  # training sessions and policy Q&A ids
        # arrears cases of hires in the core (at most one per hire); open ones by employer
        self.arrears: dict[str, ArrearsCase] = {}
        self.arrears_open: dict[str, list[str]] = {}
        self.live_complaints = 0  # complaints whose case is open (MAX_LIVE_COMPLAINTS)
        self.overdue_complaints = 0  # of those, past their deadline (a Tick said so)
        self.jobs_by_employer: dict[str, list[str]] = {}
        self.jobs_by_station: dict[str, dict[str, None]] = {}  # not yet closed, by station
        self.held: dict[str, None] = {}  # jobs held for review, in the order held
        self.checked_in_at: dict[str, dict[int, None]] = {}  # station -> rows checked in
        self.offers_by_job: dict[str, list[str]] = {}  # every offer of a job in the core
        self.hires_by_job: dict[str, int] = {}  # job id -> its hires still in the core
        # live (submitted, held or open) postings by (employer, skill, title): duplicates
        self.live_postings: dict[tuple[str, str, str], list[str]] = {}
        self.live_by_worker: dict[int, list[str]] = {}
        # min-heaps of (due ms, kind, key); stale entries are skipped when popped
        self.due: list[tuple[int, int, str | int]] = []
        self.leaving: list[tuple[int, int, str]] = []
        self.bells: dict[str, int] = {}  # open bell windows: scope -> closes at ms
        # command id -> (seq of its record, command digest); b"" for records written
        # before digests existed
        self.commands = CommandMemory()
        self.last_seq = 0
        self.last_ts_ms = 0
        self.events_applied = 0
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------ look-ups ----------

    def policy_for(self, region: str) -> tuple[int, Policy]:
        """The policy of the longest matching region prefix ("" is the default)."""
        return self.policies[self.policy_key(region)]

    def sync_push_checked_in(self, row: int) -> None:
        """Index `row` in `push_checked_in` at its position, tagged with its skills, iff it
        is active, opted in to pushes and checked in (call after its columns change)."""
        w = self.workers
        idx = self.push_checked_in
        if w.active[row] and w.push_opt_in[row] and w.checked_in[row]:
            lat, lng, tag = float(w.lat[row]), float(w.lng[row]), int(w.skills[row])
            if row in idx:
                idx.move(row, lat, lng)
                idx.set_tag(row, tag)
            else:
                idx.add(row, lat, lng, tag=tag)
        else:
            idx.discard(row)

    def set_policy(self, region: str, version: int, policy: Policy) -> None:
        """Install a region's policy (the fold of `PolicySet`; what-if replays too)."""
        new = region not in self.policies
        self.policies[region] = (version, policy)
        self.policy_epoch += 1
        if new:  # a more specific prefix may now apply to open jobs
            self.policy_slot[region] = len(self.policy_slot)
            ja = self.job_arrays
            for row in self.open_jobs.rows().tolist():
                ja.policy[row] = self.policy_slot_for(self.jobs[self.job_ids[row]].region)

    def policy_key(self, region: str) -> str:
        """The longest region prefix with a policy ("" is the default)."""
        for cut in (6, 4, 2):
            if len(region) >= cut and region[:cut] in self.policies:
                return region[:cut]
        return ""

    def policy_slot_for(self, region: str) -> int:
        """Slot of the policy that applies to `region` (see `policy_slot`)."""
        return self.policy_slot[self.policy_key(region)]

    def in_bell(self, station_id: str) -> bool:
        """True while an opening-bell window covers this station (itself or its region)."""
        if not self.bells or not station_id:
            return False
        if station_id in self.bells:
            return True
        region = self.stations[station_id].region
        return any(
            scope.startswith("region:") and region.startswith(scope[7:]) for scope in self.bells
        )

    def live_jobs_of(self, employer_id: str) -> list[str]:
        return self.jobs_by_employer.get(employer_id, [])

    def live_postings_like(self, job: Job) -> list[str]:
        return self.live_postings.get((job.employer_id, job.skill, job.title), [])

    def posting_opened(self, job: Job) -> None:
        self.live_postings.setdefault((job.employer_id, job.skill, job.title), []).append(
            job.job_id
        )

    def posting_closed(self, job: Job) -> None:
        key = (job.employer_id, job.skill, job.title)
        ids = self.live_postings.get(key)
        if ids is not None and job.job_id in ids:
            ids.remove(job.job_id)
            if not ids:
                del self.live_postings[key]

    def live_offers_of(self, row: int) -> list[str]:
        return self.live_by_worker.get(row, [])

    def worker_priority_group(self, row: int) -> str:
        return self.priority_groups.get(row, "")

    def remember_command(self, cmd_id: str, seq: int, digest: bytes = b"") -> None:
        self.commands.remember(cmd_id, seq, digest, self.last_ts_ms)

    def schedule(self, due_ms: int, kind: int, key: str | int) -> None:
        heapq.heappush(self.due, (due_ms, kind, key))

    def schedule_leave(self, at_ms: int, kind: int, key: str) -> None:
        heapq.heappush(self.leaving, (at_ms, kind, key))

    def next_due_ms(self) -> int | None:
        """When the next `Tick` has something to do (None: nothing scheduled). May be
        early (an entry whose thing ended already): the tick then does nothing."""
        times = [h[0][0] for h in (self.due, self.leaving) if h]
        return min(times) if times else None

    # ------------------------------------------------------------ digest ------------

    def digest(self) -> str:
        """BLAKE2b over a canonical encoding of everything that can change a decision."""
        h = hashlib.blake2b(digest_size=32)
        enc = msgspec.msgpack.Encoder(order="sorted")
        h.update(enc.encode(sorted(self.policies.items())))
        for table in (self.stations, self.employers, self.jobs, self.offers, self.hires):
            h.update(enc.encode(sorted(table.items())))
        h.update(enc.encode(sorted(self.complaints.items())))
        h.update(enc.encode(sorted(self.arrears.items())))
        if not self.training.empty():  # (so a state without any keeps its digest)
            h.update(enc.encode(self.training.digest_items()))
        h.update(enc.encode(sorted(self.bells.items())))
        h.update(enc.encode(self.worker_ids))
        h.update(enc.encode(self.worker_region))
        h.update(enc.encode(self.worker_station))
        h.update(enc.encode(self.worker_registered_at))
        h.update(enc.encode(self.skills.to_list()))
        h.update(enc.encode(sorted(self.priority_groups.items())))
        h.update(enc.encode(sorted(self.contact_station.items())))
        for name, column in self.workers.columns().items():
            h.update(name.encode())
            h.update(np.ascontiguousarray(column).tobytes())
        h.update(enc.encode([self.last_seq, self.last_ts_ms]))
        return h.hexdigest()

    def summary(self) -> dict[str, int]:
        n = len(self.worker_ids)
        return {
            "seq": self.last_seq,
            "events": self.events_applied,
            "stations": len(self.stations),
            "employers": len(self.employers),
            "workers": n,
            "checked_in": int(self.workers.checked_in[:n].sum()),
            "jobs": len(self.jobs),
            "open_jobs": sum(1 for j in self.jobs.values() if j.status == "open"),
            "offers": len(self.offers),
            "hires": len(self.hires),
            "complaints": len(self.complaints),
            "arrears_open": sum(len(v) for v in self.arrears_open.values()),
        }
