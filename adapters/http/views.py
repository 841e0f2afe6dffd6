"""Response shapes of the API and the read-only functions that build them from the state.

Owns: the msgspec structs the API returns (and OpenAPI documents) and the pure functions
`worker_view`, `job_view`, `offer_view`, `hire_view`, `station_feature`, run as queries on
the writer thread (`EngineService.aread`), and `clean_events`, which turns a command's
durable events into what its caller may see.

Invariants:
- No plain personal data: events carry masked forms only and `sealed` blobs are dropped;
  free text written by employers (titles, addresses) passes `scrub`, so a phone number
  typed into a title is shown masked. A worker's location (行踪轨迹) is never returned.
- Coordinates are WGS-84; GeoJSON positions are [lng, lat] (RFC 7946).
- `clean_events` shows a caller only events about the command's own subject: offers,
  pushes and hires of other workers are counted, never listed. Hold and rejection
  reasons come with their plain Chinese (`reason_texts`, `JobView.hold_reasons`); the
  machine codes stay beside them.

Limits: lists are cut by the handlers' page sizes.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from adapters.http.problems import scrub
from engine import events as e
from engine.carry import carry
from engine.geo import wgs84_to_gcj02
from engine.matching.workers import MODES
from engine.present import JobCard, job_card
from engine.reasons import reasons_text
from engine.reference.occupations import label as skill_label
from engine.state import Hire, Job, Offer, State


class CommandAccepted(msgspec.Struct, kw_only=True):
    """A command was accepted and is durable (or was a replay of an accepted one)."""

    command_id: str
    seq: int
    duplicate: bool = False
    events: list[dict[str, Any]] = []
    counts: dict[str, int] = {}


class WorkerView(msgspec.Struct, kw_only=True):
    worker_id: str
    region: str
    active: bool
    skills: list[str]
    min_pay_fen: int
    priority_group: str
    travel_mode: str
    push_opt_in: bool
    checked_in: bool
    station_id: str
    available_until_ms: int
    open_offers: int
    completions: int
    no_shows: int
    # the station that is the contact point of a worker registered at its counter without
    # a mobile ("" otherwise): offers reach them by the station board and a printed slip
    contact_station: str = ""
    skill_names: list[str] = []  # the 大典 names of `skills`


class JobView(msgspec.Struct, kw_only=True):
    job_id: str
    employer_id: str
    employer_name: str
    station_id: str
    region: str
    title: str
    skill: str
    status: str
    headcount: int
    hired: int
    open_slots: int
    pay_fen: int
    pay_unit: str
    day_pay_fen: int
    start_ms: int
    end_ms: int
    lat: float
    lng: float
    published_ms: int
    expires_ms: int
    distance_m: int | None = None
    description: str = ""
    address: str = ""
    expected_pieces: int = 0
    held_ms: int = 0  # when the review held it (0: never held)
    hold_reasons: list[str] = []  # why, in plain Chinese (what staff read)
    hold_codes: list[str] = []  # the same as the machine codes the log keeps
    reviewed_by: str = ""  # the staff account that gave the verdict
    reviewer_name: str = ""  # that person's name, masked (张*明)
    skill_name: str = ""  # the 大典 name (装卸搬运工), also for legacy English codes


class JobList(msgspec.Struct, kw_only=True):
    count: int
    jobs: list[JobView]


class OfferView(msgspec.Struct, kw_only=True):
    offer_id: str
    job_id: str
    status: str
    expires_ms: int
    job: JobView | None = None
    # the job as the worker sees it (engine.present): description, address, pay in its
    # own unit, time window, distance and travel time from where they are, map links
    card: JobCard | None = None


class HireView(msgspec.Struct, kw_only=True):
    hire_id: str
    job_id: str
    worker_id: str
    employer_id: str
    title: str
    status: str
    start_ms: int
    end_ms: int
    pay_fen: int
    paid_fen: int
    confirmed_ms: int


class EmployerView(msgspec.Struct, kw_only=True):
    employer_id: str
    kind: str
    region: str
    display_name: str
    flags: list[str]
    live_jobs: int


class ContactView(msgspec.Struct, kw_only=True):
    """An employer's contact, revealed to a worker holding a confirmed hire."""

    hire_id: str
    employer_id: str
    employer_name: str
    contact_name: str
    contact_mobile: str


class NavView(msgspec.Struct, kw_only=True):
    job_id: str
    amap: str
    baidu: str
    mode: str
    distance_m: int | None
    travel_s: int | None


class PointGeometry(msgspec.Struct, kw_only=True):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]  # [lng, lat], WGS-84 (RFC 7946)


class StationProperties(msgspec.Struct, kw_only=True):
    name: str
    kind: str
    market_type: str
    parent_id: str
    region: str
    status: str
    gcj02: tuple[float, float]  # [lng, lat] for Amap/Tencent base maps


class StationFeature(msgspec.Struct, kw_only=True):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: StationProperties


class StationCollection(msgspec.Struct, kw_only=True):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[StationFeature]


# ---------------------------------------------------------------- builders ----------


def worker_view(state: State, worker_id: str) -> WorkerView | None:
    row = state.worker_rows.get(worker_id)
    if row is None:
        return None
    w = state.workers
    return WorkerView(
        worker_id=worker_id,
        region=state.worker_region[row],
        active=bool(w.active[row]),
        skills=state.skills.codes(int(w.skills[row])),
        min_pay_fen=int(w.min_pay_fen[row]),
        priority_group=state.worker_priority_group(row),
        travel_mode=MODES[int(w.mode[row])],
        push_opt_in=bool(w.push_opt_in[row]),
        checked_in=bool(w.checked_in[row]),
        station_id=state.worker_station[row] if w.checked_in[row] else "",
        available_until_ms=int(w.available_until_ms[row]) if w.checked_in[row] else 0,
        open_offers=int(w.open_offers[row]),
        completions=int(w.completions[row]),
        no_shows=int(w.no_shows[row]),
        contact_station=state.contact_station.get(row, ""),
        skill_names=[skill_label(x) for x in state.skills.codes(int(w.skills[row]))],
    )


def job_view(state: State, job: Job, distance_m: int | None = None) -> JobView:
    emp = state.employers.get(job.employer_id)
    return carry(  # the job's own fields by name; what the view adds or scrubs, here
        job,
        JobView,
        employer_name=scrub(emp.display_name) if emp is not None else "",
        title=scrub(job.title),
        skill_name=skill_label(job.skill),
        open_slots=job.open_slots,
        distance_m=distance_m,
        description=scrub(job.description),
        address=scrub(job.address),
        expected_pieces=job.expected_pieces,
        held_ms=job.held_ms,
        hold_reasons=reasons_text(job.hold_reasons),
        hold_codes=list(job.hold_reasons),
        reviewed_by=job.reviewed_by,
    )


def worker_card(state: State, job: Job, row: int) -> JobCard:
    """`job` as the worker of `row` sees it: distance from their current position (the
    check-in location, else home) by their own travel mode first."""
    w = state.workers
    origin = (float(w.lat[row]), float(w.lng[row]))
    return job_card(job, state.policy_for(job.region)[1], origin, MODES[int(w.mode[row])])


def offer_view(state: State, offer: Offer) -> OfferView:
    job = state.jobs.get(offer.job_id)
    return OfferView(
        offer_id=offer.offer_id,
        job_id=offer.job_id,
        status=offer.status,
        expires_ms=offer.expires_ms,
        job=job_view(state, job) if job is not None else None,
        card=worker_card(state, job, offer.worker_row) if job is not None else None,
    )


def hire_view(state: State, hire: Hire) -> HireView:
    job = state.jobs.get(hire.job_id)
    return HireView(
        hire_id=hire.hire_id,
        job_id=hire.job_id,
        worker_id=state.worker_ids[hire.worker_row],
        employer_id=hire.employer_id,
        title=scrub(job.title) if job is not None else "",
        status=hire.status,
        start_ms=hire.start_ms,
        end_ms=hire.end_ms,
        pay_fen=hire.pay_fen,
        paid_fen=hire.paid_fen,
        confirmed_ms=hire.confirmed_ms,
    )


def employer_view(state: State, employer_id: str) -> EmployerView | None:
    emp = state.employers.get(employer_id)
    if emp is None:
        return None
    return EmployerView(
        employer_id=emp.employer_id,
        kind=emp.kind,
        region=emp.region,
        display_name=scrub(emp.display_name),
        flags=list(emp.flags),
        live_jobs=len(state.live_jobs_of(employer_id)),
    )


def station_feature(state: State, station_id: str) -> StationFeature | None:
    st = state.stations.get(station_id)
    if st is None:
        return None
    g_lat, g_lng = wgs84_to_gcj02(st.lat, st.lng)
    return StationFeature(
        id=st.station_id,
        geometry=PointGeometry(coordinates=(st.lng, st.lat)),
        properties=StationProperties(
            name=st.name,
            kind=st.kind,
            market_type=st.market_type,
            parent_id=st.parent_id,
            region=st.region,
            status=st.status,
            gcj02=(round(g_lng, 7), round(g_lat, 7)),
        ),
    )


# ---------------------------------------------------------------- events ------------

_DROP = ("sealed", "features", "cmd_id")


class Subject(msgspec.Struct, kw_only=True):
    worker: str | None = None
    jobs: set[str] = set()
    offers: set[str] = set()


def _visible(ev: e.Event, subj: Subject) -> bool:
    worker = getattr(ev, "worker_id", None)
    if worker is not None:
        if worker != subj.worker:
            return False
        if isinstance(ev, e.OfferMade):
            subj.offers.add(ev.offer_id)
        if isinstance(ev, e.OfferMade | e.HireConfirmed):
            subj.jobs.add(ev.job_id)
        return True
    offer = getattr(ev, "offer_id", None)
    if offer is not None:
        return offer in subj.offers
    job = getattr(ev, "job_id", None)
    if job is not None:
        return job in subj.jobs
    return True


def clean_events(events: list[e.Event], subj: Subject) -> tuple[list[dict[str, Any]], dict]:
    """(events the caller may see as plain dicts, counts of every event type)."""
    shown: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for ev in events:
        name = type(ev).__name__
        counts[name] = counts.get(name, 0) + 1
        if not _visible(ev, subj):
            continue
        body = msgspec.to_builtins(ev)
        for key in _DROP:
            body.pop(key, None)
        for key in ("title", "description", "address", "text", "note", "display_name"):
            if isinstance(body.get(key), str):
                body[key] = scrub(body[key])
        if isinstance(ev, e.JobHeldForReview | e.JobRejected):
            body["reason_texts"] = reasons_text(ev.reasons)  # what staff read
        shown.append(body)
    return shown, counts
