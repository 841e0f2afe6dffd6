"""Deciding commands: validate against the state and turn a command into facts.

Owns: every refusal rule of the registry and the lifecycle (stations, employers,
workers, postings, check-ins, offers, hires, complaints). `decide(state, cmd)` returns
the fact events a command produces; it never mutates the state.

Invariants:
- A refused command raises `Refusal(field, rule, message)` before any event exists, so
  nothing changes.
- Plain personal data is validated here and leaves only as masked strings plus a
  `personal` dict the shell seals (`Decided.personal`); it never enters an event.
- No clock: `ts_ms` comes from the command.

Limits: `MAX_ID` characters per id, `MAX_TEXT` per free text, `MAX_HEADCOUNT` slots per
posting, `MAX_PAY_FEN` per unit, `MAX_SKILLS` skills per worker, `MAX_JOB_SPAN_MS` per job.
"""

from __future__ import annotations

import math
import re

import msgspec

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.geo import check_point, haversine_m, local_midnight_ms
from engine.idnumbers import (
    check_id_number,
    check_mobile,
    check_uscc,
    find_unmasked_pii,
    mask_id_number,
    mask_mobile,
    mask_name,
)
from engine.matching.skills import MAX_SKILLS as MAX_SKILL_CODES
from engine.policy import PRIORITY_GROUPS, TRAVEL_MODES, day_pay_fen
from engine.state import State

MAX_ID = 64
MAX_TEXT = 2000
MAX_TITLE = 100
MAX_HEADCOUNT = 500
MAX_PAY_FEN = 10_000_000  # 100,000 yuan per unit
MAX_SKILLS = 16
MAX_JOB_SPAN_MS = 7 * 24 * 3600 * 1000
MAX_CHECKIN_SPAN_MS = 24 * 3600 * 1000
MAX_PRIORITY_GROUP = 32
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_REGION_RE = re.compile(r"^[1-9][0-9]{5}$")
_SKILL_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


class Decided(msgspec.Struct, kw_only=True):
    """What `decide` returns: the facts, and personal data for the shell to seal."""

    facts: list[e.Event]
    personal: dict[str, dict[str, str]] = {}  # subject id -> plain fields to seal


# ------------------------------------------------------------------ field checks -----


def _id(value: str, field: str) -> str:
    if not value or len(value) > MAX_ID or not _ID_RE.match(value):
        raise Refusal(field, "id_format", f"must be 1-{MAX_ID} chars of [A-Za-z0-9_.:/-]")
    return value


def _text(value: str, field: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    if len(value) > limit:
        raise Refusal(field, "max_length", f"at most {limit} characters")
    if required and not value.strip():
        raise Refusal(field, "required", "must not be empty")
    return value


def _region(value: str, field: str = "region") -> str:
    if not _REGION_RE.match(value):
        raise Refusal(field, "region_code", "must be a 6-digit GB/T 2260 region code")
    return value


def _region_prefix(value: str, field: str = "region") -> str:
    if value and not (len(value) in (2, 4, 6) and value.isdigit()):
        raise Refusal(field, "region_prefix", "must be empty or 2, 4 or 6 digits")
    return value


def _ts(cmd: c.Command) -> int:
    if cmd.ts_ms <= 0:
        raise Refusal("ts_ms", "positive", "must be epoch milliseconds > 0")
    return cmd.ts_ms


def _point(p: c.Point, field: str) -> tuple[float, float]:
    return check_point(p.lat, p.lng, p.datum, field=field)


def _fen(value: int, field: str, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not (low <= value <= MAX_PAY_FEN):
        raise Refusal(field, "fen_range", f"must be integer fen in [{low}, {MAX_PAY_FEN}]")
    return value


def _skills(values: tuple[str, ...], field: str = "skills") -> tuple[str, ...]:
    if not values or len(values) > MAX_SKILLS:
        raise Refusal(field, "count", f"1 to {MAX_SKILLS} occupation codes")
    for s in values:
        _skill(s, field)
    if len(set(values)) != len(values):
        raise Refusal(field, "unique", "each occupation code once")
    return tuple(values)


def _skill(value: str, field: str = "skill") -> str:
    if not _SKILL_RE.match(value):
        raise Refusal(field, "occupation_code", "lower-case code like 'moving' or '4-08-09'")
    return value


def _known_skills(state: State, values: tuple[str, ...], field: str) -> None:
    new = [s for s in values if state.skills.bit(s) is None]
    if len(state.skills.to_list()) + len(set(new)) > MAX_SKILL_CODES:
        raise Refusal(field, "skill_limit", f"at most {MAX_SKILL_CODES} distinct occupation codes")


def _minute(value: int, field: str) -> int:
    if not 0 <= value < 1440:
        raise Refusal(field, "minute_of_day", "must be 0..1439")
    return value


def _priority(value: str) -> str:
    if value not in PRIORITY_GROUPS:
        raise Refusal("priority_group", "known_group", f"one of {PRIORITY_GROUPS}")
    return value


def _mode(value: str) -> str:
    if value not in TRAVEL_MODES:
        raise Refusal("travel_mode", "known_mode", f"one of {TRAVEL_MODES}")
    return value


def _station_usable(state: State, station_id: str, field: str = "station_id") -> e.Event | None:
    st = state.stations.get(station_id)
    if st is None:
        raise Refusal(field, "exists", f"no station {station_id!r}")
    if st.status != "approved":
        raise Refusal(field, "station_approved", f"station is {st.status}, not approved")
    return None


def _worker_row(state: State, worker_id: str, field: str = "worker_id") -> int:
    row = state.worker_rows.get(worker_id)
    if row is None or not state.workers.active[row]:
        raise Refusal(field, "exists", f"no registered worker {worker_id!r}")
    return row


def _hire(state: State, hire_id: str, allowed: tuple[str, ...]):
    hire = state.hires.get(hire_id)
    if hire is None:
        raise Refusal("hire_id", "exists", f"no hire {hire_id!r}")
    if hire.status not in allowed:
        raise Refusal("hire_id", "hire_status", f"hire is {hire.status}; needs {allowed}")
    return hire


# ------------------------------------------------------------------ deciders --------


def _set_policy(state: State, cmd: c.SetPolicy, ts: int) -> Decided:
    _region_prefix(cmd.region)
    p = cmd.policy
    checks = (
        ("radius_m", p.radius_m > 0 and p.radius_m <= p.max_reach_m <= 100_000),
        ("overbook", 1.0 <= p.overbook <= 5.0),
        ("offer_ttl_ms", 10_000 <= p.offer_ttl_ms <= 3_600_000),
        ("max_waves", 1 <= p.max_waves <= 50),
        ("push_daily_cap", 0 <= p.push_daily_cap <= 50),
        ("bell_window_ms", 0 <= p.bell_window_ms <= 3_600_000),
        ("pay_low_ratio", 0 < p.pay_low_ratio < 1 < p.pay_high_ratio),
        ("hours_per_day", 1 <= p.hours_per_day <= 12),
        ("max_open_offers_per_worker", 1 <= p.max_open_offers_per_worker <= 10),
        ("acceptance_coef", len(p.acceptance_coef) in (0, 8)),
    )
    for name, ok in checks:
        if not ok:
            raise Refusal(f"policy.{name}", "policy_range", "outside the allowed range")
    if not all(math.isfinite(x) for x in p.acceptance_coef):
        raise Refusal("policy.acceptance_coef", "finite", "coefficients must be finite")
    version = state.policies[cmd.region][0] + 1 if cmd.region in state.policies else 1
    return Decided(
        facts=[e.PolicySet(ts_ms=ts, region=cmd.region, version=version, policy=p, note=cmd.note)]
    )


def _register_station(state: State, cmd: c.RegisterStation, ts: int) -> Decided:
    _id(cmd.station_id, "station_id")
    if cmd.station_id in state.stations:
        raise Refusal("station_id", "unique", "station already registered")
    _text(cmd.name, "name", MAX_TITLE, required=True)
    _region(cmd.region)
    lat, lng = _point(cmd.location, "location")
    if cmd.kind == "hub":
        if cmd.parent_id:
            raise Refusal("parent_id", "hierarchy", "a city hub (总站) has no parent")
    else:
        parent = state.stations.get(cmd.parent_id)
        want = ("hub",) if cmd.kind == "branch" else ("branch", "hub")
        if parent is None:
            raise Refusal("parent_id", "hierarchy", f"a {cmd.kind} needs a parent {want}")
        if parent.kind not in want:
            raise Refusal("parent_id", "hierarchy", f"a {cmd.kind}'s parent must be {want}")
        if parent.region[:4] != cmd.region[:4]:
            raise Refusal("parent_id", "same_city", "parent must be in the same city")
        if parent.status == "revoked":
            raise Refusal("parent_id", "station_approved", "parent station is revoked")
    if cmd.area_m2 < 0:
        raise Refusal("area_m2", "non_negative", "must be >= 0")
    return Decided(
        facts=[
            e.StationRegistered(
                ts_ms=ts,
                station_id=cmd.station_id,
                name=cmd.name,
                kind=cmd.kind,
                market_type=cmd.market_type,
                parent_id=cmd.parent_id,
                region=cmd.region,
                lat=lat,
                lng=lng,
                area_m2=cmd.area_m2,
                address=_text(cmd.address, "address", 200),
            )
        ]
    )


_STATION_MOVES = {
    "applied": ("approved", "revoked"),
    "approved": ("suspended", "revoked"),
    "suspended": ("approved", "revoked"),
    "revoked": (),
}


def _change_station(state: State, cmd: c.ChangeStationStatus, ts: int) -> Decided:
    st = state.stations.get(cmd.station_id)
    if st is None:
        raise Refusal("station_id", "exists", f"no station {cmd.station_id!r}")
    if cmd.status not in _STATION_MOVES[st.status]:
        raise Refusal("status", "station_transition", f"{st.status} cannot become {cmd.status}")
    if cmd.status in ("suspended", "revoked") and not cmd.reason.strip():
        raise Refusal("reason", "required", "suspension and revocation need a reason")
    _text(cmd.reason, "reason", 500)
    ev = e.StationStatusChanged(
        ts_ms=ts, station_id=cmd.station_id, status=cmd.status, reason=cmd.reason
    )
    return Decided(facts=[ev])


def _register_employer(state: State, cmd: c.RegisterEmployer, ts: int) -> Decided:
    _id(cmd.employer_id, "employer_id")
    if cmd.employer_id in state.employers:
        raise Refusal("employer_id", "unique", "employer already registered")
    _region(cmd.region)
    _text(cmd.name, "name", MAX_TITLE, required=True)
    uscc = ""
    if cmd.kind == "organisation":
        uscc = check_uscc(cmd.uscc, field="uscc")
        display = cmd.name
    else:
        if cmd.uscc:
            raise Refusal("uscc", "person_has_no_uscc", "a person registers without USCC")
        display = mask_name(cmd.name)
    mobile = check_mobile(cmd.contact.mobile, field="contact.mobile") if cmd.contact.mobile else ""
    personal = {"contact_name": cmd.contact.name, "contact_mobile": mobile}
    if cmd.kind == "person":
        personal["name"] = cmd.name
    return Decided(
        facts=[
            e.EmployerRegistered(
                ts_ms=ts,
                employer_id=cmd.employer_id,
                kind=cmd.kind,
                display_name=display,
                uscc=uscc,
                region=cmd.region,
                contact_masked=mask_mobile(mobile) if mobile else "",
            )
        ],
        personal={cmd.employer_id: personal},
    )


def _flag_employer(state: State, cmd: c.FlagEmployer, ts: int) -> Decided:
    emp = state.employers.get(cmd.employer_id)
    if emp is None:
        raise Refusal("employer_id", "exists", f"no employer {cmd.employer_id!r}")
    if cmd.reason in emp.flags:
        raise Refusal("reason", "not_already_flagged", f"already flagged for {cmd.reason}")
    return Decided(
        facts=[e.EmployerFlagged(ts_ms=ts, employer_id=cmd.employer_id, reason=cmd.reason)]
    )


def _register_worker(state: State, cmd: c.RegisterWorker, ts: int) -> Decided:
    _id(cmd.worker_id, "worker_id")
    if cmd.worker_id in state.worker_rows:
        raise Refusal("worker_id", "unique", "worker already registered")
    _region(cmd.region)
    _text(cmd.personal.name, "personal.name", 50)
    mobile = check_mobile(cmd.personal.mobile, field="personal.mobile")
    birth_year = cmd.birth_year
    id_masked = ""
    id_number = ""
    if cmd.personal.id_number:
        info = check_id_number(cmd.personal.id_number, now_ms=ts, field="personal.id_number")
        id_number = info.number
        id_masked = mask_id_number(info.number)
        if birth_year and birth_year != info.birth_year:
            raise Refusal("birth_year", "matches_id", "differs from the ID number's birth date")
        birth_year = info.birth_year
    if not 1900 <= birth_year <= 2100:
        raise Refusal("birth_year", "required", "give birth_year or an ID number")
    lat, lng = _point(cmd.home, "home")
    _known_skills(state, cmd.skills, "skills")
    ev = e.WorkerRegistered(
        ts_ms=ts,
        worker_id=cmd.worker_id,
        region=cmd.region,
        skills=_skills(cmd.skills),
        min_pay_fen=_fen(cmd.min_pay_fen, "min_pay_fen", allow_zero=True),
        birth_year=birth_year,
        priority_group=_priority(cmd.priority_group),
        home_lat=lat,
        home_lng=lng,
        travel_mode=_mode(cmd.travel_mode),
        push_opt_in=cmd.push_opt_in,
        quiet_start_min=_minute(cmd.quiet_start_min, "quiet_start_min"),
        quiet_end_min=_minute(cmd.quiet_end_min, "quiet_end_min"),
        phone_masked=mask_mobile(mobile),
        id_masked=id_masked,
    )
    personal = {"name": cmd.personal.name, "mobile": mobile, "id_number": id_number}
    return Decided(facts=[ev], personal={cmd.worker_id: personal})


def _update_worker(state: State, cmd: c.UpdateWorker, ts: int) -> Decided:
    row = _worker_row(state, cmd.worker_id)
    w = state.workers
    if cmd.skills is not None:
        _known_skills(state, _skills(cmd.skills), "skills")
    home = (
        _point(cmd.home, "home")
        if cmd.home is not None
        else (float(w.home_lat[row]), float(w.home_lng[row]))
    )
    ev = e.WorkerUpdated(
        ts_ms=ts,
        worker_id=cmd.worker_id,
        skills=(
            _skills(cmd.skills)
            if cmd.skills is not None
            else tuple(state.skills.codes(int(w.skills[row])))
        ),
        min_pay_fen=(
            _fen(cmd.min_pay_fen, "min_pay_fen", allow_zero=True)
            if cmd.min_pay_fen is not None
            else int(w.min_pay_fen[row])
        ),
        priority_group=(
            _priority(cmd.priority_group)
            if cmd.priority_group is not None
            else state.worker_priority_group(row)
        ),
        home_lat=home[0],
        home_lng=home[1],
        travel_mode=_mode(cmd.travel_mode) if cmd.travel_mode else TRAVEL_MODES[int(w.mode[row])],
        push_opt_in=cmd.push_opt_in if cmd.push_opt_in is not None else bool(w.push_opt_in[row]),
        quiet_start_min=(
            _minute(cmd.quiet_start_min, "quiet_start_min")
            if cmd.quiet_start_min is not None
            else int(w.quiet_start_min[row])
        ),
        quiet_end_min=(
            _minute(cmd.quiet_end_min, "quiet_end_min")
            if cmd.quiet_end_min is not None
            else int(w.quiet_end_min[row])
        ),
    )
    return Decided(facts=[ev])


def _erase_worker(state: State, cmd: c.EraseWorker, ts: int) -> Decided:
    _worker_row(state, cmd.worker_id)
    return Decided(facts=[e.WorkerErased(ts_ms=ts, worker_id=cmd.worker_id)])


def _check_in(state: State, cmd: c.CheckIn, ts: int) -> Decided:
    row = _worker_row(state, cmd.worker_id)
    if cmd.station_id:
        _station_usable(state, cmd.station_id)
        st = state.stations[cmd.station_id]
        lat, lng = (st.lat, st.lng)
    elif cmd.location is None:
        raise Refusal("location", "required", "give a station_id or a location")
    if cmd.location is not None:
        lat, lng = _point(cmd.location, "location")
    until = cmd.available_until_ms or local_midnight_ms(ts) + 24 * 3600 * 1000 - 1
    if until <= ts:
        raise Refusal("available_until_ms", "after_now", "must be later than ts_ms")
    if until - ts > MAX_CHECKIN_SPAN_MS:
        raise Refusal("available_until_ms", "max_span", "a check-in lasts at most 24 h")
    del row
    return Decided(
        facts=[
            e.WorkerCheckedIn(
                ts_ms=ts,
                worker_id=cmd.worker_id,
                station_id=cmd.station_id,
                lat=lat,
                lng=lng,
                available_until_ms=until,
            )
        ]
    )


def _check_out(state: State, cmd: c.CheckOut, ts: int) -> Decided:
    row = _worker_row(state, cmd.worker_id)
    if not state.workers.checked_in[row]:
        raise Refusal("worker_id", "checked_in", "worker is not checked in")
    return Decided(facts=[e.WorkerCheckedOut(ts_ms=ts, worker_id=cmd.worker_id)])


def _submit_job(state: State, cmd: c.SubmitJob, ts: int) -> Decided:
    _id(cmd.job_id, "job_id")
    if cmd.job_id in state.jobs:
        raise Refusal("job_id", "unique", "job already submitted")
    emp = state.employers.get(cmd.employer_id)
    if emp is None:
        raise Refusal("employer_id", "exists", f"no employer {cmd.employer_id!r}")
    _station_usable(state, cmd.station_id)
    station = state.stations[cmd.station_id]
    _text(cmd.title, "title", MAX_TITLE, required=True)
    _text(cmd.description, "description")
    _text(cmd.address, "address", 200)
    _skill(cmd.skill)
    _known_skills(state, (cmd.skill,), "skill")
    if not 1 <= cmd.headcount <= MAX_HEADCOUNT:
        raise Refusal("headcount", "range", f"1 to {MAX_HEADCOUNT}")
    _fen(cmd.pay_fen, "pay_fen")
    if cmd.end_ms <= cmd.start_ms:
        raise Refusal("end_ms", "after_start", "must be later than start_ms")
    if cmd.end_ms - cmd.start_ms > MAX_JOB_SPAN_MS:
        raise Refusal("end_ms", "max_span", "a posting spans at most 7 days")
    if cmd.end_ms <= ts:
        raise Refusal("end_ms", "in_future", "the job is already over")
    for name in ("title", "description", "address"):
        if find_unmasked_pii(getattr(cmd, name)):
            raise Refusal(
                name,
                "no_personal_data",
                "no phone or ID numbers in posting text; the employer's contact is "
                "revealed to a worker after a confirmed hire",
            )
    lat, lng = _point(cmd.location, "location")
    _, policy = state.policy_for(station.region)
    if haversine_m(lat, lng, station.lat, station.lng) > 200_000:
        raise Refusal("location", "near_station", "more than 200 km from the collecting station")
    if day_pay_fen(cmd.pay_fen, cmd.pay_unit, policy) > MAX_PAY_FEN:
        raise Refusal("pay_fen", "fen_range", "daily figure too large")
    ev = e.JobSubmitted(
        ts_ms=ts,
        job_id=cmd.job_id,
        employer_id=cmd.employer_id,
        station_id=cmd.station_id,
        region=station.region,
        title=cmd.title,
        description=cmd.description,
        skill=cmd.skill,
        headcount=cmd.headcount,
        pay_fen=cmd.pay_fen,
        pay_unit=cmd.pay_unit,
        start_ms=cmd.start_ms,
        end_ms=cmd.end_ms,
        lat=lat,
        lng=lng,
        address=cmd.address,
    )
    return Decided(facts=[ev])


def _review_job(state: State, cmd: c.ReviewJob, ts: int) -> Decided:
    job = state.jobs.get(cmd.job_id)
    if job is None:
        raise Refusal("job_id", "exists", f"no job {cmd.job_id!r}")
    if job.status != "held":
        raise Refusal("job_id", "held_for_review", f"job is {job.status}, not held")
    if cmd.station_id != job.station_id:
        raise Refusal("station_id", "collecting_station", "only the collecting station reviews")
    _id(cmd.staff_id, "staff_id")
    _station_usable(state, cmd.station_id)
    ev = e.JobReviewed(
        ts_ms=ts,
        job_id=cmd.job_id,
        staff_id=cmd.staff_id,
        station_id=cmd.station_id,
        approve=cmd.approve,
        note=_text(cmd.note, "note", 500),
    )
    return Decided(facts=[ev])


def _cancel_job(state: State, cmd: c.CancelJob, ts: int) -> Decided:
    job = state.jobs.get(cmd.job_id)
    if job is None:
        raise Refusal("job_id", "exists", f"no job {cmd.job_id!r}")
    if job.status not in ("open", "held", "filled"):
        raise Refusal("job_id", "cancellable", f"job is {job.status}")
    return Decided(facts=[e.JobCancelled(ts_ms=ts, job_id=cmd.job_id, reason=cmd.reason[:200])])


def _advance(state: State, cmd: c.Advance, ts: int) -> Decided:
    if ts < state.last_ts_ms:
        raise Refusal("ts_ms", "monotonic", f"time cannot go back before {state.last_ts_ms}")
    return Decided(facts=[e.Tick(ts_ms=ts)])


def _offer(state: State, offer_id: str, worker_id: str):
    offer = state.offers.get(offer_id)
    if offer is None:
        raise Refusal("offer_id", "exists", f"no offer {offer_id!r}")
    row = _worker_row(state, worker_id)
    if offer.worker_row != row:
        raise Refusal("worker_id", "offer_addressee", "the offer was made to another worker")
    if offer.status != "live":
        raise Refusal("offer_id", "offer_live", f"offer is {offer.status}")
    return offer, row


def _accept(state: State, cmd: c.AcceptOffer, ts: int) -> Decided:
    offer, row = _offer(state, cmd.offer_id, cmd.worker_id)
    if ts >= offer.expires_ms:
        raise Refusal("offer_id", "offer_live", "offer has expired")
    job = state.jobs[offer.job_id]
    if job.status != "open" or job.open_slots <= 0:
        raise Refusal("offer_id", "job_open", f"job is {job.status}")
    if state.workers.overlaps_busy(row, job.start_ms, job.end_ms):
        raise Refusal("offer_id", "no_double_hire", "worker is hired for an overlapping time")
    ends = state.workers.busy_end[row]
    if not any(end == 0 or end <= ts for end in ends):
        raise Refusal("worker_id", "hire_limit", "worker holds the maximum number of hires")
    return Decided(facts=[e.OfferAccepted(ts_ms=ts, offer_id=cmd.offer_id)])


def _decline(state: State, cmd: c.DeclineOffer, ts: int) -> Decided:
    _offer(state, cmd.offer_id, cmd.worker_id)
    ev = e.OfferDeclined(ts_ms=ts, offer_id=cmd.offer_id, reason=_text(cmd.reason, "reason", 200))
    return Decided(facts=[ev])


def _ring_bell(state: State, cmd: c.RingBell, ts: int) -> Decided:
    if bool(cmd.station_id) == bool(cmd.region):
        raise Refusal("station_id", "one_scope", "give exactly one of station_id or region")
    if cmd.station_id:
        _station_usable(state, cmd.station_id)
        scope = cmd.station_id
        region = state.stations[cmd.station_id].region
    else:
        _region_prefix(cmd.region)
        scope = "region:" + cmd.region
        region = cmd.region
    window = state.policy_for(region)[1].bell_window_ms
    if scope in state.bells:
        raise Refusal(
            "station_id" if cmd.station_id else "region", "bell_open", "a bell is already open"
        )
    return Decided(
        facts=[e.BellRung(ts_ms=ts, scope=scope, staff_id=cmd.staff_id, window_ms=window)]
    )


def _arrive(state: State, cmd: c.ConfirmArrival, ts: int) -> Decided:
    _hire(state, cmd.hire_id, ("confirmed",))
    return Decided(facts=[e.WorkerArrived(ts_ms=ts, hire_id=cmd.hire_id)])


def _no_show(state: State, cmd: c.ReportNoShow, ts: int) -> Decided:
    hire = _hire(state, cmd.hire_id, ("confirmed",))
    if ts < hire.start_ms:
        raise Refusal("hire_id", "after_start", "a no-show is reported after the start time")
    return Decided(facts=[e.NoShow(ts_ms=ts, hire_id=cmd.hire_id)])


def _complete(state: State, cmd: c.CompleteWork, ts: int) -> Decided:
    _hire(state, cmd.hire_id, ("confirmed", "arrived"))
    return Decided(facts=[e.WorkCompleted(ts_ms=ts, hire_id=cmd.hire_id)])


def _pay(state: State, cmd: c.PayWage, ts: int) -> Decided:
    _hire(state, cmd.hire_id, ("arrived", "completed"))
    _fen(cmd.amount_fen, "amount_fen")
    ev = e.WagePaid(ts_ms=ts, hire_id=cmd.hire_id, amount_fen=cmd.amount_fen, method=cmd.method)
    return Decided(facts=[ev])


def _complain(state: State, cmd: c.FileComplaint, ts: int) -> Decided:
    _id(cmd.complaint_id, "complaint_id")
    if cmd.complaint_id in state.complaints:
        raise Refusal("complaint_id", "unique", "complaint already filed")
    if cmd.employer_id not in state.employers:
        raise Refusal("employer_id", "exists", f"no employer {cmd.employer_id!r}")
    if cmd.worker_id:
        _worker_row(state, cmd.worker_id)
    if cmd.hire_id:
        hire = state.hires.get(cmd.hire_id)
        if hire is None:
            raise Refusal("hire_id", "exists", f"no hire {cmd.hire_id!r}")
        if hire.employer_id != cmd.employer_id:
            raise Refusal("hire_id", "same_employer", "the hire belongs to another employer")
    ev = e.ComplaintFiled(
        ts_ms=ts,
        complaint_id=cmd.complaint_id,
        kind=cmd.kind,
        employer_id=cmd.employer_id,
        worker_id=cmd.worker_id,
        hire_id=cmd.hire_id,
        text=_text(cmd.text, "text"),
    )
    return Decided(facts=[ev])


def _resolve(state: State, cmd: c.ResolveComplaint, ts: int) -> Decided:
    comp = state.complaints.get(cmd.complaint_id)
    if comp is None:
        raise Refusal("complaint_id", "exists", f"no complaint {cmd.complaint_id!r}")
    if comp.status != "open":
        raise Refusal("complaint_id", "open", f"complaint is {comp.status}")
    ev = e.ComplaintResolved(
        ts_ms=ts,
        complaint_id=cmd.complaint_id,
        upheld=cmd.upheld,
        note=_text(cmd.note, "note", 500),
    )
    return Decided(facts=[ev])


def _rate(state: State, cmd: c.Rate, ts: int) -> Decided:
    _hire(state, cmd.hire_id, ("completed",))
    if not 1 <= cmd.stars <= 5:
        raise Refusal("stars", "range", "1 to 5")
    return Decided(facts=[e.RatingGiven(ts_ms=ts, hire_id=cmd.hire_id, by=cmd.by, stars=cmd.stars)])


_DECIDERS = {
    c.SetPolicy: _set_policy,
    c.RegisterStation: _register_station,
    c.ChangeStationStatus: _change_station,
    c.RegisterEmployer: _register_employer,
    c.FlagEmployer: _flag_employer,
    c.RegisterWorker: _register_worker,
    c.UpdateWorker: _update_worker,
    c.EraseWorker: _erase_worker,
    c.CheckIn: _check_in,
    c.CheckOut: _check_out,
    c.SubmitJob: _submit_job,
    c.ReviewJob: _review_job,
    c.CancelJob: _cancel_job,
    c.Advance: _advance,
    c.AcceptOffer: _accept,
    c.DeclineOffer: _decline,
    c.RingBell: _ring_bell,
    c.ConfirmArrival: _arrive,
    c.ReportNoShow: _no_show,
    c.CompleteWork: _complete,
    c.PayWage: _pay,
    c.FileComplaint: _complain,
    c.ResolveComplaint: _resolve,
    c.Rate: _rate,
}


def decide(state: State, cmd: c.Command) -> Decided:
    """The facts `cmd` produces in `state`, or a `Refusal`. Never mutates `state`."""
    _id(cmd.command_id, "command_id")
    ts = _ts(cmd)
    decider = _DECIDERS.get(type(cmd))
    if decider is None:
        raise Refusal("type", "known_command", f"unknown command {type(cmd).__name__}")
    decided = decider(state, cmd, ts)
    decided.facts = [msgspec.structs.replace(f, cmd_id=cmd.command_id) for f in decided.facts]
    return decided
