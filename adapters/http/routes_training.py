"""Training sessions and policy Q&A for workers and staff: the lists (reads).

Owns the routes (all reading roles, results limited to the token's region)
    GET /trainings      sessions of the region (optionally one station's), upcoming first,
                        with places left; staff see who signed up only for their station
    GET /policy-qa      the policy Q&A entries of the region (optionally one station's),
                        newest first
The commands (publish, sign up, complete, publish an answer) are in the one route table
(`adapters.gate.routes`); their rules are `engine.training`'s.

Invariants: read on the writer thread (`Api.read`), so a list never mixes two states;
only the caller's region; a sign-up list (worker ids, no personal data) only for staff of
the host station and admins; text is what the engine screened (no phone or ID numbers).
Limits: at most `limit` (<= 200) items per page; each scan visits every session or entry
of the state once (bounded by `engine.training.MAX_TRAININGS`, `MAX_POLICY_ENTRIES`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.params import QueryParameter

from adapters.http.auth import covers
from adapters.http.common import READ, Req, api_of
from engine.geo import local_date, local_minute_of_day
from engine.reference import occupations
from engine.state import State

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
StationQ = Annotated[str, QueryParameter(max_length=64)]


def local_time(ts_ms: int) -> str:
    """ "2026-11-23 09:00" in Asia/Shanghai."""
    y, m, d = local_date(ts_ms)
    minute = local_minute_of_day(ts_ms)
    return f"{y:04d}-{m:02d}-{d:02d} {minute // 60:02d}:{minute % 60:02d}"


class TrainingView(msgspec.Struct, kw_only=True):
    training_id: str
    station_id: str
    region: str
    title: str
    skill: str
    skill_name: str
    address: str
    start: str  # local time, Asia/Shanghai
    end: str
    start_ms: int
    end_ms: int
    capacity: int
    signed_up: int
    completed: int
    places_left: int
    open: bool  # sign-ups still accepted
    signed: list[str] | None = None  # worker ids: the host station's staff and admins


class TrainingList(msgspec.Struct, kw_only=True):
    trainings: list[TrainingView]


class PolicyEntryView(msgspec.Struct, kw_only=True):
    entry_id: str
    station_id: str
    region: str
    topic: str
    question: str
    answer: str
    published: str


class PolicyEntryList(msgspec.Struct, kw_only=True):
    entries: list[PolicyEntryView]


@get("/trainings", tags=["training"], summary="Training sessions of the region (培训报名)", **READ)
async def trainings(request: Req, station: StationQ = "", limit: Limit = 50) -> TrainingList:
    ctx = api_of(request)
    who = ctx.reader(request)
    now = ctx.now_ms()

    def query(state: State) -> TrainingList:
        rows = []
        for tid, tr in state.training.trainings.items():
            if not covers(who, tr.region) or (station and tr.station_id != station):
                continue
            rows.append((tr.end_ms <= now, tr.start_ms, tid, tr))
        rows.sort(key=lambda r: r[:3])
        out = []
        for ended, _, tid, tr in rows[:limit]:
            done = sum(1 for v in tr.signed.values() if v)
            host = who.role == "admin" or (
                who.role == "station_staff" and who.station_id == tr.station_id
            )
            code = occupations.from_legacy(tr.skill) if tr.skill else None
            out.append(
                TrainingView(
                    training_id=tid, station_id=tr.station_id, region=tr.region, title=tr.title,
                    skill=code or tr.skill, skill_name=occupations.name(code) if code else "",
                    address=tr.address, start=local_time(tr.start_ms), end=local_time(tr.end_ms),
                    start_ms=tr.start_ms, end_ms=tr.end_ms, capacity=tr.capacity,
                    signed_up=len(tr.signed), completed=done,
                    places_left=max(0, tr.capacity - len(tr.signed)),
                    open=not ended and len(tr.signed) < tr.capacity,
                    signed=sorted(tr.signed) if host else None,
                )
            )  # fmt: skip
        return TrainingList(trainings=out)

    return await ctx.read(query)


@get("/policy-qa", tags=["training"], summary="Policy Q&A of the region (政策咨询)", **READ)
async def policy_qa(request: Req, station: StationQ = "", limit: Limit = 50) -> PolicyEntryList:
    ctx = api_of(request)
    who = ctx.reader(request)

    def query(state: State) -> PolicyEntryList:
        rows = [
            (-entry.ts_ms, eid, entry)
            for eid, entry in state.training.entries.items()
            if covers(who, entry.region) and (not station or entry.station_id == station)
        ]
        rows.sort(key=lambda r: r[:2])
        return PolicyEntryList(
            entries=[
                PolicyEntryView(
                    entry_id=eid,
                    station_id=en.station_id,
                    region=en.region,
                    topic=en.topic,
                    question=en.question,
                    answer=en.answer,
                    published=local_time(en.ts_ms),
                )  # fmt: skip
                for _, eid, en in rows[:limit]
            ]
        )

    return await ctx.read(query)


ROUTES = [trainings, policy_qa]
