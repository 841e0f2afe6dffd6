"""The station board (信息发布屏): what a hall screen shows, and its HTML page.

Owns: `BoardView`/`BoardJob` (the open jobs of one station in display form),
`board_view` (built from the state on the writer thread) and `render_page` (the page:
large Chinese type, server-rendered first, then kept live by an EventSource on
`/board/{station_id}/events`).

Invariants:
- The job as `engine.present.job_card` formats it for every outlet: title and address
  (phone and ID numbers masked), pay in its own unit (元/天, 元/小时, 元/件: never
  converted) with the expected total, headcount still needed, time window in
  Asia/Shanghai, distance and walking time from the station. No employer contact, no
  worker.
- Every dynamic string is HTML-escaped on the server and set with `textContent` in the
  browser (no markup from data).

Limits: `MAX_BOARD_JOBS` jobs, soonest start first, then the best pay.
"""

from __future__ import annotations

import html

import msgspec

from engine.geo import local_date, local_minute_of_day
from engine.present import job_card
from engine.state import State

MAX_BOARD_JOBS = 60
KIND_ZH = {"hub": "零工总站", "branch": "零工分站", "post": "零工驿站"}


class BoardJob(msgspec.Struct, kw_only=True):
    job_id: str
    title: str
    address: str
    pay: str  # "300 元/天", "25 元/小时", "0.50 元/件"
    total: str  # "预计 800 件，约 400 元"
    left: int
    start: str
    time: str  # "11月23日 07:00–15:00"
    distance: str  # "300 米 · 步行 6 分钟"
    start_ms: int
    distance_m: int


class BoardView(msgspec.Struct, kw_only=True):
    station_id: str
    station_name: str
    kind: str
    status: str
    updated: str
    count: int
    jobs: list[BoardJob]


def local_hhmm(ts_ms: int) -> str:
    minute = local_minute_of_day(ts_ms)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def start_text(start_ms: int, now_ms: int) -> str:
    """'今天 08:00', '明天 07:30' or '11月25日 06:00' (Asia/Shanghai)."""
    day = local_date(start_ms)
    if day == local_date(now_ms):
        prefix = "今天"
    elif day == local_date(now_ms + 86_400_000):
        prefix = "明天"
    elif start_ms < now_ms:
        prefix = "已开工"
    else:
        prefix = f"{day[1]}月{day[2]}日"
    return f"{prefix} {local_hhmm(start_ms)}"


def board_view(state: State, station_id: str, job_ids: list[str], now_ms: int) -> BoardView | None:
    st = state.stations.get(station_id)
    if st is None:
        return None
    rows: list[tuple[int, int, str, BoardJob]] = []
    for jid in job_ids:
        job = state.jobs.get(jid)
        if job is None or job.status != "open" or job.open_slots <= 0:
            continue
        card = job_card(job, state.policy_for(job.region)[1], (st.lat, st.lng), "walk")
        d = card.distance_m or 0
        rows.append(
            (
                job.start_ms,
                -job.day_pay_fen,  # order only: the board shows the pay in its own unit
                jid,
                BoardJob(
                    job_id=jid,
                    title=card.title,
                    address=card.address,
                    pay=card.pay_text,
                    total=card.expected_total_text,
                    left=job.open_slots,
                    start=start_text(job.start_ms, now_ms),
                    time=card.time_text,
                    distance=f"{card.distance_text} · {card.travel[0].text}",
                    start_ms=job.start_ms,
                    distance_m=d,
                ),
            )
        )
    rows.sort(key=lambda r: r[:3])
    return BoardView(
        station_id=station_id,
        station_name=st.name,
        kind=KIND_ZH.get(st.kind, ""),
        status=st.status,
        updated=local_hhmm(now_ms),
        count=len(rows),
        jobs=[r[3] for r in rows[:MAX_BOARD_JOBS]],
    )


_STYLE = """
*{box-sizing:border-box;margin:0;padding:0}
body{background:#0b1f3a;color:#fff;font-family:"Noto Sans CJK SC","Noto Sans SC",
"Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;padding:2vw}
header{display:flex;justify-content:space-between;align-items:baseline;
border-bottom:.4vw solid #f5c400;padding-bottom:1vw;margin-bottom:1vw}
h1{font-size:4.2vw;letter-spacing:.2vw}
#meta{font-size:2.2vw;color:#cfe3ff}
table{width:100%;border-collapse:collapse}
th{font-size:2.4vw;color:#f5c400;text-align:left;padding:.6vw 1vw;font-weight:normal}
td{font-size:3.4vw;padding:1vw;border-bottom:.15vw solid #24406b}
td.pay{color:#7dffa8;font-weight:bold;white-space:nowrap}
td.left{color:#ffd27d;white-space:nowrap}
td.total{font-size:2.4vw;color:#cfe3ff}
td.start,td.dist{white-space:nowrap}
#empty{font-size:3.4vw;color:#9db7da;padding:4vw 1vw}
footer{margin-top:1.5vw;font-size:2vw;color:#9db7da}
#live.on{color:#7dffa8}
"""

_SCRIPT = """
(function(){
  var sid = document.body.dataset.station;
  var rows = document.getElementById('rows');
  var empty = document.getElementById('empty');
  var live = document.getElementById('live');
  function cell(tr, cls, text){var td=document.createElement('td');td.className=cls;
    td.textContent=text;tr.appendChild(td);}
  function render(b){
    rows.textContent='';
    b.jobs.forEach(function(j){
      var tr=document.createElement('tr');tr.dataset.job=j.job_id;
      cell(tr,'title',j.address ? j.title+'（'+j.address+'）' : j.title);
      cell(tr,'pay',j.pay);cell(tr,'total',j.total);
      cell(tr,'left','还需 '+j.left+' 人');cell(tr,'start',j.start);
      cell(tr,'dist',j.distance);rows.appendChild(tr);});
    empty.style.display = b.jobs.length ? 'none' : 'block';
    document.getElementById('count').textContent = b.count;
    document.getElementById('updated').textContent = b.updated;
  }
  var es = new EventSource('/board/' + encodeURIComponent(sid) + '/events');
  es.addEventListener('board', function(ev){render(JSON.parse(ev.data));
    live.className='on';live.textContent='● 实时更新';document.body.dataset.live='1';});
  es.onerror = function(){live.className='';live.textContent='○ 正在重新连接…';};
})();
"""


def _row(job: BoardJob) -> str:
    e = html.escape
    title = f"{job.title}（{job.address}）" if job.address else job.title
    return (
        f'<tr data-job="{e(job.job_id)}"><td class="title">{e(title)}</td>'
        f'<td class="pay">{e(job.pay)}</td><td class="total">{e(job.total)}</td>'
        f'<td class="left">还需 {job.left} 人</td>'
        f'<td class="start">{e(job.start)}</td><td class="dist">{e(job.distance)}</td></tr>'
    )


def render_page(view: BoardView) -> str:
    e = html.escape
    rows = "".join(_row(j) for j in view.jobs)
    empty_style = "none" if view.jobs else "block"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(view.station_name)} · 岗位信息</title><style>{_STYLE}</style></head>"
        f'<body data-station="{e(view.station_id)}" data-live="0">'
        f"<header><h1>{e(view.station_name)} · 今日岗位</h1>"
        f'<div id="meta">{e(view.kind)} · 共 <span id="count">{view.count}</span> 个岗位 · '
        f'更新 <span id="updated">{e(view.updated)}</span></div></header>'
        "<table><thead><tr><th>岗位</th><th>工资</th><th>预计收入</th><th>人数</th><th>开工时间</th>"
        "<th>距本站</th></tr></thead>"
        f'<tbody id="rows">{rows}</tbody></table>'
        f'<div id="empty" style="display:{empty_style}">暂无岗位，请稍候</div>'
        '<footer><span id="live">○ 正在连接…</span> · 到服务台登记求职，工作人员帮您对接'
        "</footer>"
        f"<script>{_SCRIPT}</script></body></html>"
    )
