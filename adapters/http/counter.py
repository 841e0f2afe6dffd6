"""The station as the contact point of workers registered at its counter without a mobile.

Owns: `BoardOffer` and `contact_offers` (the live offers of the station's counter workers,
shown on its board: no SMS reaches them), `offers_html` (their section of the board page),
`slip_html` and the route
    GET /workers/{worker_id}/offers/{offer_id}/slip   a printable offer slip (HTML)
                                                      every reading role, worker's region
Invariants:
- The board stays free of personal data: a counter worker is shown by the last four
  characters of their worker id (printed on their registration slip), never a name,
  number, whole worker id or offer id (which holds it); titles and employer names are
  scrubbed of phone and ID numbers.
- Every dynamic string is HTML-escaped; the slip says `Cache-Control: no-store`.
- Offers are read from the state on the writer thread; which workers a station speaks for
  comes from the `ScopeIndex` (fed from durable records).
Limits: `MAX_BOARD_OFFERS` offers on a board, soonest expiry first.
"""

from __future__ import annotations

import html

import msgspec
from litestar import Response, get
from litestar.params import FromPath

from adapters.http.common import READ, Req, api_of, not_found
from adapters.http.problems import scrub
from adapters.http.scope import worker_region_in
from engine.geo import local_date, local_minute_of_day
from engine.present import pay_text_of
from engine.state import State

MAX_BOARD_OFFERS = 40


class BoardOffer(msgspec.Struct, kw_only=True):
    worker_tag: str  # "…1234": the last four characters of the worker id
    job_id: str  # (not the offer id: it holds the whole worker id)
    title: str
    pay: str  # "300元/天"
    start: str  # "11月23日 07:00"
    expires: str  # "06:42"
    expires_ms: int


def _hhmm(ts_ms: int) -> str:
    m = local_minute_of_day(ts_ms)
    return f"{m // 60:02d}:{m % 60:02d}"


def _when(ts_ms: int) -> str:
    _, month, day = local_date(ts_ms)
    return f"{month}月{day}日 {_hhmm(ts_ms)}"


def tag_of(worker_id: str) -> str:
    return "…" + worker_id[-4:]


def contact_offers(state: State, worker_ids: list[str]) -> list[BoardOffer]:
    """Live offers of these (counter) workers, soonest expiry first."""
    out: list[BoardOffer] = []
    for wid in worker_ids:
        row = state.worker_rows.get(wid)
        if row is None:
            continue
        for oid in state.live_offers_of(row):
            offer = state.offers.get(oid)
            job = None if offer is None else state.jobs.get(offer.job_id)
            if offer is None or job is None or offer.status != "live":
                continue
            out.append(
                BoardOffer(
                    worker_tag=tag_of(wid),
                    job_id=job.job_id,
                    title=scrub(job.title),
                    pay=pay_text_of(job),
                    start=_when(job.start_ms),
                    expires=_hhmm(offer.expires_ms),
                    expires_ms=offer.expires_ms,
                )
            )
    out.sort(key=lambda o: (o.expires_ms, o.job_id, o.worker_tag))
    return out[:MAX_BOARD_OFFERS]


def offers_html(offers: list[BoardOffer]) -> str:
    """The board's section for counter workers (server-rendered; the page script keeps it
    live from the `offers` of each board event)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(o.worker_tag)}</td><td>{e(o.title)}</td>"
        f'<td class="pay">{e(o.pay)}</td><td>{e(o.start)}</td>'
        f'<td class="left">{e(o.expires)} 前答复</td></tr>'
        for o in offers
    )
    show = "block" if offers else "none"
    return (
        f'<section id="offers" style="display:{show}"><h2 style="font-size:3vw;'
        'color:#f5c400;margin:1.5vw 0 .5vw">请以下编号的求职者到服务台（工作邀约）</h2>'
        f'<table><tbody id="offer-rows">{rows}</tbody></table></section>'
    )


OFFERS_SCRIPT = """
(function(){
  window.__boardOffers = function(list){
    var box=document.getElementById('offers'), rows=document.getElementById('offer-rows');
    if(!box||!rows){return;} rows.textContent='';
    (list||[]).forEach(function(o){var tr=document.createElement('tr');
      [o.worker_tag,o.title,o.pay,o.start,o.expires+' 前答复'].forEach(function(t){
        var td=document.createElement('td');td.textContent=t;tr.appendChild(td);});
      rows.appendChild(tr);});
    box.style.display=(list&&list.length)?'block':'none';};
})();
"""


class SlipData(msgspec.Struct, kw_only=True):
    worker_id: str
    offer_id: str
    title: str
    headcount: int
    pay: str
    start: str
    end: str
    expires: str
    employer: str
    station: str
    status: str


def slip_html(s: SlipData) -> str:
    e = html.escape
    lines = [
        ("求职者编号", s.worker_id),
        ("邀约编号", s.offer_id),
        ("岗位", f"{s.title}（{s.headcount}人）"),
        ("工资", s.pay),
        ("工作时间", f"{s.start} 至 {s.end}"),
        ("用工单位", s.employer),
        ("联系站点", s.station),
        ("答复期限", f"{s.expires} 前到服务台答复（接受或拒绝）"),
    ]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in lines)
    note = (
        ""
        if s.status == "live"
        else f'<p class="warn">此邀约已{e(_STATUS_ZH.get(s.status, s.status))}</p>'
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>工作邀约单</title><style>body{font-family:'Noto Sans CJK SC',sans-serif;"
        "margin:2em}h1{font-size:1.6em}th{text-align:left;padding:.3em 1em .3em 0}"
        "td{padding:.3em 0}.warn{color:#b00;font-weight:bold}@media print{button{display:none}}"
        "</style></head><body><h1>工作邀约单</h1>"
        f"{note}<table>{rows}</table>"
        "<p>请持本单到服务台确认；工作人员为您办理接单。</p>"
        '<button onclick="window.print()">打印</button></body></html>'
    )


_STATUS_ZH = {"accepted": "接受", "declined": "拒绝", "expired": "过期", "withdrawn": "撤回"}


@get(
    "/workers/{worker_id:str}/offers/{offer_id:str}/slip",
    tags=["offers"],
    summary="A printable offer slip (工作邀约单) for a worker answering at the counter",
    media_type="text/html",
    **READ,
)
async def offer_slip(
    request: Req, worker_id: FromPath[str], offer_id: FromPath[str]
) -> Response[str]:
    api = api_of(request)
    who = api.reader(request, worker=worker_id)

    def query(state: State) -> SlipData | None:
        row = state.worker_rows.get(worker_id)
        offer = state.offers.get(offer_id)
        if row is None or offer is None or offer.worker_row != row:
            return None
        job = state.jobs.get(offer.job_id)
        if job is None:
            return None
        emp = state.employers.get(job.employer_id)
        st = state.stations.get(state.contact_station.get(row, "") or job.station_id)
        return SlipData(
            worker_id=worker_id,
            offer_id=offer_id,
            title=scrub(job.title),
            headcount=job.headcount,
            pay=pay_text_of(job),
            start=_when(job.start_ms),
            end=_when(job.end_ms),
            expires=_when(offer.expires_ms),
            employer=scrub(emp.display_name) if emp is not None else "",
            station=st.name if st is not None else "",
            status=offer.status,
        )

    data = await api.read_in_region(
        who, "worker_id", lambda s: worker_region_in(s, worker_id), query
    )
    if data is None:
        raise not_found("offer_id", "offer of this worker")
    return Response(slip_html(data), media_type="text/html", headers={"Cache-Control": "no-store"})


ROUTES = [offer_slip]
