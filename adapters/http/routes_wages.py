"""The agreement of a hire and the wage-arrears cases, as the people involved see them.

Owns the routes
    GET /hires/{hire_id}/agreement[?format=html]   the agreement (JSON, or a printable
                                                   page)   front_end, station_staff, admin
    GET /arrears[?status=open|closed|all&station_id=]   arrears cases of the caller's
                                                   region   station_staff, auditor, admin
and their response shapes (`AgreementView`, `ArrearsView`, `ArrearsList`).

Invariants:
- Fail closed: the role is checked first (`READS["agreement"]`, `READS["arrears"]`), then
  the hire's region against the caller's on the writer thread (403 outside, 404 for an
  unknown hire, never data of another region); staff read the agreements of their whole
  region (the issue: "station staff of the region"), the worker's and employer's apps
  (front_end tokens) those of theirs.
- The agreement is rebuilt from the hire and its posting and hashed again: `verified`
  says whether it still matches the sha256 recorded in the log (`AgreementRecorded`).
- No plain personal data: the worker and employer appear by id and display name (a
  person's name masked at registration); free text is scrubbed of phone and ID numbers;
  every dynamic string of the page is HTML-escaped. The page says `Cache-Control:
  no-store`.
- An agreement exists while the hire is in the core (its settlement window; longer while
  an arrears case is open); afterwards the log and the stores keep it.

Limits: at most `limit` (1..500) cases per list, newest first.
"""

from __future__ import annotations

import html
from typing import Annotated, Literal

import msgspec
from litestar import Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.http.auth import covers
from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.problems import scrub
from adapters.http.scope import hire_region_in
from engine.agreement import terms_of, terms_sha256
from engine.events import AgreementTerms
from engine.present import (
    expected_total_text,
    insurance_text,
    pay_text_of,
    time_text,
    yuan_text,
)
from engine.state import State

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="page size")]
STATUS_ZH = {
    "confirmed": "已确认",
    "arrived": "已到岗",
    "no_show": "未到岗",
    "completed": "已完工",
}


class AgreementView(msgspec.Struct, kw_only=True):
    hire_id: str
    sha256: str  # as recorded in the log
    verified: bool  # the terms rebuilt now hash to the recorded sha256
    terms: AgreementTerms
    employer_name: str
    pay_text: str
    total_text: str
    time_text: str
    insurance_text: str
    status: str
    paid_fen: int
    arrears_case: str  # the open arrears case ("" none)


class ArrearsView(msgspec.Struct, kw_only=True):
    case_id: str
    hire_id: str
    job_id: str
    employer_id: str
    employer_name: str
    station_id: str
    reason: str
    status: str
    agreed_fen: int
    paid_fen: int
    owed_fen: int
    opened_ms: int
    closed_ms: int


class ArrearsList(msgspec.Struct, kw_only=True):
    count: int
    cases: list[ArrearsView]


def _clean(terms: AgreementTerms) -> AgreementTerms:
    return msgspec.structs.replace(
        terms,
        title=scrub(terms.title),
        duties=scrub(terms.duties),
        address=scrub(terms.address),
        insurance_policy_no=scrub(terms.insurance_policy_no),
    )


def agreement_view(state: State, hire_id: str) -> AgreementView | None:
    hire = state.hires.get(hire_id)
    if hire is None or hire.agreed_fen < 0:
        return None
    job = state.jobs[hire.job_id]
    terms = terms_of(job, hire_id, state.worker_ids[hire.worker_row])
    emp = state.employers.get(hire.employer_id)
    return AgreementView(
        hire_id=hire_id,
        sha256=hire.agreement_sha256,
        verified=terms_sha256(terms) == hire.agreement_sha256,
        terms=_clean(terms),
        employer_name=scrub(emp.display_name) if emp is not None else "",
        pay_text=pay_text_of(terms),
        total_text=expected_total_text(job),
        time_text=time_text(terms.start_ms, terms.end_ms),
        insurance_text=scrub(insurance_text(terms.insurance_payer, terms.insurance_policy_no)),
        status=hire.status,
        paid_fen=hire.paid_fen,
        arrears_case=hire.arrears_case,
    )


_PAGE_STYLE = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:46em;"
    "margin:2em auto;color:#111}h1{text-align:center;font-size:1.6em}"
    "table{width:100%;border-collapse:collapse}th,td{border:1px solid #444;padding:.5em;"
    "text-align:left;vertical-align:top}th{width:9em;background:#f2f2f2}"
    ".sig{margin-top:3em;display:flex;justify-content:space-between}"
    ".hash{font-family:monospace;word-break:break-all;font-size:.85em}"
    "@media print{.noprint{display:none}body{margin:0}}"
)


def agreement_page(view: AgreementView) -> str:
    """The printable agreement (零工用工协议), every value HTML-escaped."""
    e = html.escape
    t = view.terms
    rows = [
        ("协议编号", view.hire_id),
        ("岗位", t.title),
        ("工作内容", t.duties or "（未填写）"),
        ("工作地点", t.address or f"{t.lat:.5f}, {t.lng:.5f}"),
        ("工作时间", view.time_text),
        ("工资标准", view.pay_text),
        ("预计工资", view.total_text),
        ("工伤保险", view.insurance_text),
        ("用工方", f"{view.employer_name}（{t.employer_id}）"),
        ("劳动者", t.worker_id),
        ("发布站点", t.station_id),
        ("当前状态", STATUS_ZH.get(view.status, view.status)),
        ("已付工资", f"{yuan_text(view.paid_fen)} 元"),
    ]
    if view.arrears_case:
        rows.append(("欠薪处理", f"已立案 {view.arrears_case}，由发布站点跟进"))
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    check = "与日志记录一致" if view.verified else "与日志记录不一致，请联系站点"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>零工用工协议 {e(view.hire_id)}</title><style>{_PAGE_STYLE}</style></head>"
        f"<body><h1>零工用工协议</h1><table>{body}</table>"
        f'<p>协议指纹（SHA-256）：<span class="hash">{e(view.sha256)}</span>（{check}）</p>'
        '<div class="sig"><span>用工方（签字）：__________</span>'
        "<span>劳动者（签字）：__________</span></div>"
        '<p class="noprint"><button onclick="window.print()">打印</button></p>'
        "</body></html>"
    )


@get(
    "/hires/{hire_id:str}/agreement",
    tags=["hires"],
    summary="The agreement of a hire (签订协议): terms, hash, printable page",
    **READ,
)
async def get_agreement(
    request: Req, hire_id: FromPath[str], format: FromQuery[Literal["json", "html"]] = "json"
) -> Response[AgreementView]:
    api = api_of(request)
    who = api.reader(request, "agreement", hire=hire_id)
    view = await api.read_in_region(
        who, "hire_id", lambda s: hire_region_in(s, hire_id), lambda s: agreement_view(s, hire_id)
    )
    if view is None:
        raise not_found("hire_id", "agreement of a hire")
    headers = {"Cache-Control": "no-store"}
    if format == "html":
        page = agreement_page(view)
        return Response(page, media_type="text/html", headers=headers)  # type: ignore[return-value]
    return Response(view, headers=headers)


@get(
    "/arrears",
    tags=["hires"],
    summary="Wage-arrears cases (欠薪) of the caller's region, for station staff",
    **READ,
)
async def list_arrears(
    request: Req,
    status: FromQuery[Literal["open", "closed", "all"]] = "open",
    station_id: FromQuery[str | None] = None,
    limit: Limit = 100,
) -> ArrearsList:
    api = api_of(request)
    who = api.reader(request, "arrears", station=station_id)

    def query(state: State) -> ArrearsList:
        found: list[ArrearsView] = []
        for case in reversed(state.arrears.values()):
            if status != "all" and case.status != status:
                continue
            if station_id is not None and case.station_id != station_id:
                continue
            job = state.jobs.get(case.job_id)
            if job is None or not covers(who, job.region):
                continue
            emp = state.employers.get(case.employer_id)
            found.append(
                ArrearsView(
                    case_id=case.case_id,
                    hire_id=case.hire_id,
                    job_id=case.job_id,
                    employer_id=case.employer_id,
                    employer_name=scrub(emp.display_name) if emp is not None else "",
                    station_id=case.station_id,
                    reason=case.reason,
                    status=case.status,
                    agreed_fen=case.agreed_fen,
                    paid_fen=case.paid_fen,
                    owed_fen=max(0, case.agreed_fen - case.paid_fen),
                    opened_ms=case.opened_ms,
                    closed_ms=case.closed_ms,
                )
            )
        return ArrearsList(count=len(found), cases=found[:limit])

    return await api.service.aread(query)


ROUTES = [get_agreement, list_arrears]
