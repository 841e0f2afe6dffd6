"""The authorisation matrix: every endpoint x role x region, as data (HTTP and NATS read it).

Each row names an endpoint, the request (aimed at a Xiangyang resource: worker W1/W2/WX,
station S1, jobs J1/J2/JH/JX, hire H1, employer E1, complaint C1), the roles allowed
and how the region applies:
- "own": the resource belongs to Xiangyang, so a Wuhan token (4201) is refused `region`;
- "filter": no single resource; a Wuhan token is served, but sees no Xiangyang data;
- "any": not regional (metrics): every allowed role is served.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

WRITE = frozenset({"front_end", "station_staff", "admin"})
ANSWER = WRITE | {"sms_gateway"}  # offers: also the SMS gateway (replies by text)
READ = frozenset({"front_end", "station_staff", "auditor", "admin"})
CASES = frozenset({"station_staff", "auditor", "admin"})  # complaint cases
_n = itertools.count()


def next_n() -> int:
    """A fresh number for the ids a row's body creates."""
    return next(_n)


class Row(NamedTuple):
    name: str
    method: str
    path: str  # may hold {H1}, {O2}
    body: Callable[[int], Any] | None
    roles: frozenset[str]
    kind: str  # "own" | "filter" | "any"


def _worker(n: int) -> dict:
    return {"worker_id": f"WN{n}", "region": "420602", "skills": ["moving"], "min_pay_fen": 100,
            "birth_year": 1980, "personal": {"mobile": "13800001111"},
            "home": {"lat": 32.009, "lng": 112.122}}  # fmt: skip


def _job(n: int) -> dict:
    return {"job_id": f"JN{n}", "employer_id": "E1", "station_id": "S1", "title": "搬运",
            "skill": "moving", "headcount": 1, "pay_fen": 30000, "start_ms": 1795392000000,
            "end_ms": 1795413600000, "location": {"lat": 32.01, "lng": 112.123}}  # fmt: skip


def _application(n: int) -> dict:
    return {"station_id": f"SA{n}", "name": "檀溪驿站", "kind": "post", "parent_id": "S1",
            "region": "420602", "location": {"lat": 32.0101, "lng": 112.1228}, "area_m2": 40,
            "head": {"name": "王建国"}, "hotline": "0710-3611234", "staff_count": 1}  # fmt: skip


TABLE: list[Row] = [
    Row("register_worker", "POST", "/workers", _worker, WRITE, "own"),
    Row("get_worker", "GET", "/workers/W1", None, READ, "own"),
    Row("update_worker", "PATCH", "/workers/W1", lambda n: {"min_pay_fen": 15000}, WRITE, "own"),
    Row(
        "erase_worker",
        "POST",
        "/workers/WX/erasure",
        lambda n: {"reason": "本人申请删除"},  # recorded with the erasure
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # PIPL art. 47: never a front end
    Row(
        "register_employer",
        "POST",
        "/employers",
        lambda n: {"employer_id": f"EN{n}", "kind": "person", "name": "王五", "region": "420602"},
        WRITE,
        "own",
    ),  # fmt: skip
    Row("get_employer", "GET", "/employers/E1", None, READ, "own"),
    Row(
        "flag_employer",
        "POST",
        "/employers/E1/flags",
        lambda n: {"reason": "fraud"},
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "register_station",
        "POST",
        "/stations",
        lambda n: {
            "station_id": f"SN{n}",
            "name": "新站",
            "kind": "hub",
            "region": "420602",
            "location": {"lat": 32.02, "lng": 112.13},
        },
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "station_status",
        "POST",
        "/stations/S1/status",
        lambda n: {"status": "approved"},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "set_policy",
        "POST",
        "/policies",
        lambda n: {"region": "420602", "policy": {}},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row("check_in", "POST", "/workers/W2/check-in", lambda n: {"station_id": "S1"}, WRITE, "own"),
    Row("check_out", "POST", "/workers/W1/check-out", None, WRITE, "own"),
    Row("submit_job", "POST", "/jobs", _job, WRITE, "own"),
    Row("get_job", "GET", "/jobs/J1", None, READ, "own"),
    Row(  # the review queue (before review_job approves JH): staff and region readers
        "review_queue",
        "GET",
        "/jobs?status=held",
        None,
        frozenset({"station_staff", "auditor", "admin"}),
        "filter",
    ),
    Row(
        "review_job",
        "POST",
        "/jobs/JH/review",
        lambda n: {"approve": True},
        frozenset({"station_staff"}),
        "own",
    ),  # fmt: skip
    Row("cancel_job", "POST", "/jobs/JX/cancel", lambda n: {"reason": "不需要了"}, WRITE, "own"),
    Row(
        "ring_bell", "POST", "/stations/S1/bell", None, frozenset({"station_staff", "admin"}), "own"
    ),  # fmt: skip
    Row("list_offers", "GET", "/workers/W2/offers", None, READ, "own"),
    Row("accept_offer", "POST", "/workers/W2/offers/{O2}/accept", None, ANSWER, "own"),
    Row("decline_offer", "POST", "/workers/W2/offers/{O2}/decline", lambda n: {}, ANSWER, "own"),
    Row("list_hires", "GET", "/workers/W1/hires", None, READ, "own"),
    Row("offer_slip", "GET", "/workers/W2/offers/{O2}/slip", None, READ, "own"),
    Row("get_hire", "GET", "/hires/{H1}", None, READ, "own"),
    Row(
        "contact",
        "GET",
        "/workers/W1/hires/{H1}/contact",
        None,
        frozenset({"front_end", "station_staff"}),
        "own",
    ),  # fmt: skip
    Row("worker_job", "GET", "/workers/W2/jobs/J2", None, READ, "own"),
    Row("agreement", "GET", "/hires/{H1}/agreement", None, WRITE, "own"),  # parties + staff
    Row(
        "arrears",
        "GET",
        "/arrears?station_id=S1&status=all",
        None,
        frozenset({"station_staff", "auditor", "admin"}),
        "own",
    ),  # fmt: skip
    Row("arrival", "POST", "/hires/{H1}/arrival", None, WRITE, "own"),
    Row("no_show", "POST", "/hires/{H1}/no-show", None, WRITE, "own"),
    Row("completion", "POST", "/hires/{H1}/completion", None, WRITE, "own"),
    Row("wage", "POST", "/hires/{H1}/wage", lambda n: {"amount_fen": 30000}, WRITE, "own"),
    Row(
        "rating", "POST", "/hires/{H1}/rating", lambda n: {"by": "worker", "stars": 5}, WRITE, "own"
    ),  # fmt: skip
    Row(
        "file_complaint",
        "POST",
        "/complaints",
        lambda n: {
            "complaint_id": f"CN{n}",
            "kind": "safety",
            "employer_id": "E1",
            "worker_id": "W1",
            "hire_id": "J1/W1",
        },
        WRITE,
        "own",
    ),  # fmt: skip
    Row(
        "resolve_complaint",
        "POST",
        "/complaints/C1/resolution",
        lambda n: {"upheld": False},
        frozenset({"admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "complaint_status",
        "POST",
        "/complaints/C1/status",
        lambda n: {"status": "accepted", "note": "已受理"},
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row("get_complaint", "GET", "/complaints/C1", None, CASES, "own"),
    Row("list_complaints", "GET", "/complaints?status=any", None, CASES, "filter"),
    Row("station", "GET", "/stations/S1", None, READ, "own"),
    Row(
        "navigation", "GET", "/jobs/J2/navigation?from_lat=32.0&from_lng=112.12", None, READ, "own"
    ),  # fmt: skip
    Row(
        "report",
        "GET",
        "/reports/progress?month=2026-11&region=420602",
        None,
        frozenset({"station_staff", "auditor", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "publish_training",
        "POST",
        "/stations/S1/trainings",
        lambda n: {
            "training_id": f"TN{n}",
            "title": "叉车培训",
            "start_ms": 1795392000000,
            "end_ms": 1795413600000,
            "capacity": 20,
        },
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "sign_up_training",
        "POST",
        "/trainings/T0/sign-ups",
        lambda n: {"worker_id": "W2", "channel": "counter"},  # 422 channel for app and SMS
        ANSWER,
        "own",
    ),  # fmt: skip
    Row(
        "complete_training",
        "POST",
        "/trainings/T0/completions",
        lambda n: {"worker_id": "W2"},
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row(
        "publish_policy_answer",
        "POST",
        "/stations/S1/policy-qa",
        lambda n: {
            "entry_id": f"QN{n}",
            "topic": "社保补贴",
            "question": "怎样申请？",
            "answer": "到街道社保窗口申请。",
        },
        frozenset({"station_staff", "admin"}),
        "own",
    ),  # fmt: skip
    Row("trainings", "GET", "/trainings", None, READ, "filter"),
    Row("policy_qa", "GET", "/policy-qa", None, READ, "filter"),
    Row("hall", "GET", "/hall?lat=32.009&lng=112.122&radius_m=5000", None, READ, "filter"),
    Row("search", "GET", "/search?q=%E6%90%AC&lat=32.009&lng=112.122", None, READ, "filter"),
    Row("stations", "GET", "/stations?status=any", None, READ, "filter"),
    Row("metrics", "GET", "/metrics", None, frozenset({"auditor", "admin"}), "any"),
    Row("skills", "GET", "/skills?q=%E6%90%AC%E8%BF%90", None, READ, "any"),
    # a station's life: the bodies of the steps on S1 are refused by the rules (422) after
    # the role and region checks, so the shared world keeps its approved S1
    Row("station_application", "GET", "/stations/S1/application", None, READ, "own"),
    Row("apply_station", "POST", "/stations/applications", _application,
        frozenset({"front_end", "admin"}), "own"),
    Row("review_station", "POST", "/stations/S1/review", lambda n: {"passed": True},
        frozenset({"admin"}), "own"),
    Row("approve_station", "POST", "/stations/S1/approval", lambda n: {}, frozenset({"admin"}),
        "own"),
    Row("file_station", "POST", "/stations/S1/filing", lambda n: {"filing_no": " "},
        frozenset({"admin"}), "own"),
    Row("order_rectification", "POST", "/stations/S1/rectification-order",
        lambda n: {"items": "热线无人接听", "days": 365}, frozenset({"admin"}), "own"),
    Row("confirm_rectification", "POST", "/stations/S1/rectification", lambda n: {},
        frozenset({"admin"}), "own"),
    Row("revoke_station", "POST", "/stations/S1/revocation", lambda n: {"reason": "  "},
        frozenset({"admin"}), "own"),
]  # fmt: skip
