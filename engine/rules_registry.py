"""Deciding registry commands: policies, stations, employers and workers.

Owns: the deciders of `SetPolicy`, `RegisterStation`, `ChangeStationStatus`,
`RegisterEmployer`, `FlagEmployer`, `RegisterWorker`, `UpdateWorker`, `EraseWorker`.

Invariants:
- Deciders never mutate the state; a refusal raises before any event exists.
- Plain personal data (names, mobiles, ID numbers, employer contacts) leaves only as
  masked strings plus `Decided.personal`, which the shell seals; it never enters an event.
- A policy is accepted only if `engine.policy.check_policy` (the matcher's own builders)
  accepts it.
- Bounds are already checked (`engine.commands.check`); only state-dependent and
  cross-field rules are here.

Limits: see `engine.bounds`.
"""

from __future__ import annotations

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.idnumbers import (
    check_id_number,
    check_mobile,
    check_uscc,
    mask_id_number,
    mask_mobile,
    mask_name,
)
from engine.policy import TRAVEL_MODES, PolicyError, check_policy
from engine.rules_common import (
    Decided,
    known_skills,
    point,
    required_text,
    unique_skills,
    worker_row,
)
from engine.state import MAX_STATIONS, State


def set_policy(state: State, cmd: c.SetPolicy, ts: int) -> Decided:
    try:
        check_policy(cmd.policy)
    except PolicyError as exc:
        raise Refusal(f"policy.{exc.field}", "policy_range", exc.message) from None
    version = state.policies[cmd.region][0] + 1 if cmd.region in state.policies else 1
    ev = e.PolicySet(
        ts_ms=ts,
        region=cmd.region,
        version=version,
        policy=cmd.policy,
        note=cmd.note,
        fairness_exception_reason=cmd.fairness_exception_reason,
    )
    return Decided(facts=[ev])


def register_station(state: State, cmd: c.RegisterStation, ts: int) -> Decided:
    if cmd.station_id in state.stations:
        raise Refusal("station_id", "unique", "station already registered")
    if len(state.stations) >= MAX_STATIONS:
        raise Refusal("station_id", "max_stations", f"at most {MAX_STATIONS} stations")
    required_text(cmd.name, "name")
    lat, lng = point(cmd.location, "location")
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
    ev = e.StationRegistered(
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
        address=cmd.address,
    )
    return Decided(facts=[ev])


_STATION_MOVES = {  # an admin's direct changes (the application's steps: station_life)
    "applied": ("approved", "revoked"),
    "reviewed": ("approved", "revoked"),
    "approved": ("suspended", "revoked"),
    "rectifying": ("suspended", "revoked"),
    "suspended": ("approved", "revoked"),
    "returned": (),
    "revoked": (),
}


def change_station(state: State, cmd: c.ChangeStationStatus, ts: int) -> Decided:
    st = state.stations.get(cmd.station_id)
    if st is None:
        raise Refusal("station_id", "exists", f"no station {c.clip(cmd.station_id)!r}")
    if cmd.status not in _STATION_MOVES[st.status]:
        raise Refusal("status", "station_transition", f"{st.status} cannot become {cmd.status}")
    if cmd.status in ("suspended", "revoked") and not cmd.reason.strip():
        raise Refusal("reason", "required", "suspension and revocation need a reason")
    ev = e.StationStatusChanged(
        ts_ms=ts, station_id=cmd.station_id, status=cmd.status, reason=cmd.reason
    )
    return Decided(facts=[ev])


def register_employer(state: State, cmd: c.RegisterEmployer, ts: int) -> Decided:
    if cmd.employer_id in state.employers:
        raise Refusal("employer_id", "unique", "employer already registered")
    required_text(cmd.name, "name")
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
    ev = e.EmployerRegistered(
        ts_ms=ts,
        employer_id=cmd.employer_id,
        kind=cmd.kind,
        display_name=display,
        uscc=uscc,
        region=cmd.region,
        contact_masked=mask_mobile(mobile) if mobile else "",
    )
    return Decided(facts=[ev], personal={cmd.employer_id: personal})


def flag_employer(state: State, cmd: c.FlagEmployer, ts: int) -> Decided:
    emp = state.employers.get(cmd.employer_id)
    if emp is None:
        raise Refusal("employer_id", "exists", f"no employer {c.clip(cmd.employer_id)!r}")
    if cmd.reason in emp.flags:
        raise Refusal("reason", "not_already_flagged", f"already flagged for {cmd.reason}")
    ev = e.EmployerFlagged(ts_ms=ts, employer_id=cmd.employer_id, reason=cmd.reason)
    return Decided(facts=[ev])


def register_worker(state: State, cmd: c.RegisterWorker, ts: int) -> Decided:
    if cmd.worker_id in state.worker_rows:
        raise Refusal("worker_id", "unique", "worker already registered")
    if cmd.station_id and cmd.station_id not in state.stations:
        raise Refusal("station_id", "exists", f"no station {c.clip(cmd.station_id)!r}")
    mobile = ""
    if cmd.personal.mobile or not cmd.station_id:  # at a station's counter it is optional
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
    lat, lng = point(cmd.home, "home")
    skills = unique_skills(cmd.skills)
    known_skills(state, skills, "skills")
    ev = e.WorkerRegistered(
        ts_ms=ts,
        worker_id=cmd.worker_id,
        region=cmd.region,
        skills=skills,
        min_pay_fen=cmd.min_pay_fen,
        birth_year=birth_year,
        priority_group=cmd.priority_group,
        home_lat=lat,
        home_lng=lng,
        travel_mode=cmd.travel_mode,
        push_opt_in=cmd.push_opt_in,
        quiet_start_min=cmd.quiet_start_min,
        quiet_end_min=cmd.quiet_end_min,
        phone_masked=mask_mobile(mobile),
        id_masked=id_masked,
        station_id=cmd.station_id,
    )
    personal = {"name": cmd.personal.name, "mobile": mobile, "id_number": id_number}
    return Decided(facts=[ev], personal={cmd.worker_id: personal})


def update_worker(state: State, cmd: c.UpdateWorker, ts: int) -> Decided:
    row = worker_row(state, cmd.worker_id)
    w = state.workers
    if cmd.skills is not None:
        known_skills(state, unique_skills(cmd.skills), "skills")
    home = (
        point(cmd.home, "home")
        if cmd.home is not None
        else (float(w.home_lat[row]), float(w.home_lng[row]))
    )

    def keep(new, old):  # noqa: ANN001, ANN202
        return old if new is None else new

    ev = e.WorkerUpdated(
        ts_ms=ts,
        worker_id=cmd.worker_id,
        skills=keep(cmd.skills, tuple(state.skills.codes(int(w.skills[row])))),
        min_pay_fen=keep(cmd.min_pay_fen, int(w.min_pay_fen[row])),
        priority_group=keep(cmd.priority_group, state.worker_priority_group(row)),
        home_lat=home[0],
        home_lng=home[1],
        travel_mode=keep(cmd.travel_mode, TRAVEL_MODES[int(w.mode[row])]),
        push_opt_in=keep(cmd.push_opt_in, bool(w.push_opt_in[row])),
        quiet_start_min=keep(cmd.quiet_start_min, int(w.quiet_start_min[row])),
        quiet_end_min=keep(cmd.quiet_end_min, int(w.quiet_end_min[row])),
    )
    return Decided(facts=[ev])


def erase_worker(state: State, cmd: c.EraseWorker, ts: int) -> Decided:
    worker_row(state, cmd.worker_id)
    required_text(cmd.reason, "reason")
    return Decided(facts=[e.WorkerErased(ts_ms=ts, worker_id=cmd.worker_id, reason=cmd.reason)])
