"""The station board (信息发布屏): what a hall screen shows, and its HTML page.

Owns: `BoardView`/`BoardJob` (the open jobs near one station in display form, with the
station's address, hotline and opening hours), `board_view` (built from the state on
the writer thread: every open job within the station's radius, whoever collected it,
found through the matcher's H3 index of open jobs, and the jobs it collected itself), `board_radius_m`, `station_contact`
and `render_page` (the page:
large Chinese type, server-rendered first, then kept live by an EventSource on
`/board/{station_id}/events`).

Invariants:
- The job as `engine.present.job_card` formats it for every outlet (issue 14): title and
  job address (phone and ID numbers masked), pay in its own unit (元/天, 元/小时, 元/件:
  never converted) with the expected total, headcount still needed, time window and
  start in Asia/Shanghai, distance and walking time from the station, the collecting
  station's name. No employer contact; workers only as the last four characters of the
  id of those registered at the station's counter without a mobile, for their offers
  (`offers`). The station's own address, hotline and hours are public service
  information (shown as declared; absent ones shown as "—").
- Every dynamic string is HTML-escaped on the server and set with `textContent` in the
  browser (no markup from data).

Limits: the radius is the region policy's `radius_m` (at most `MAX_BOARD_RADIUS_M`);
`MAX_BOARD_JOBS` jobs listed, nearest first, then the soonest start; `count` is all of
them (the walk is bounded by the open jobs within the radius plus the station's own).
"""

from __future__ import annotations

import html

import msgspec

from adapters.http.assets import FAVICON_LINK
from adapters.http.counter import OFFERS_SCRIPT, BoardOffer, offers_html
from adapters.http.problems import scrub
from engine.geo import local_date, local_minute_of_day
from engine.present import JobCard, job_card
from engine.state import Job, State, Station

MAX_BOARD_JOBS = 60
MAX_BOARD_RADIUS_M = 20_000
KIND_ZH = {"hub": "零工总站", "branch": "零工分站", "post": "零工驿站"}


class BoardJob(msgspec.Struct, kw_only=True):
    job_id: str
    title: str
    address: str  # the job's place
    pay: str  # "300 元/天", "25 元/小时", "0.50 元/件"
    total: str  # "预计 800 件，约 400 元"
    left: int
    start: str
    time: str  # "11月23日 07:00–15:00"
    distance: str  # "300 米 · 步行 6 分钟"
    start_ms: int
    distance_m: int
    station_id: str  # the collecting station (谁收集、谁发布、谁负责)
    station: str  # its name


class BoardView(msgspec.Struct, kw_only=True):
    station_id: str
    station_name: str
    kind: str
    status: str
    updated: str
    count: int  # open jobs within the radius (all of them; `jobs` lists the nearest)
    jobs: list[BoardJob]
    radius_m: int
    radius: str  # "1.5 公里"
    address: str = ""  # the station's address, hotline and opening hours ("" if none)
    hotline: str = ""
    hours: str = ""
    lat: float = 0.0  # the station's site, WGS-84 (public: it is on the map)
    lng: float = 0.0
    # live offers of workers registered at this station's counter without a mobile
    # (`adapters.http.counter`): the board is how they hear of them
    offers: list[BoardOffer] = []


def yuan(fen: int) -> str:
    whole, rest = divmod(fen, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


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


def distance_text(metres: int) -> str:
    if metres < 1000:
        return f"{metres} 米"
    return f"{metres / 1000:.1f} 公里"


def board_radius_m(state: State, station: Station) -> int:
    """The board's radius: the reach every worker has under the region's policy
    (`Policy.radius_m`, "all within it reachable"), at most `MAX_BOARD_RADIUS_M`."""
    _, policy = state.policy_for(station.region)
    return max(1, min(int(policy.radius_m), MAX_BOARD_RADIUS_M))


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "、".join(v.strip() for v in value if v.strip())
    return ""


def _minute(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1440:
        return value
    return None


def _hhmm_of(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def station_contact(station: Station) -> tuple[str, str, str]:
    """(address, hotline, hours) of a station, "" for what it has not declared.

    Read from the station record or its application materials (`materials`), whichever
    carries them, under the names the registry may use; opening hours may be text or a
    pair of minutes of the day. The hotline is the station's public service number."""
    sources = [station, getattr(station, "materials", None)]
    found: dict[str, str] = {}
    for key, names in _CONTACT_FIELDS.items():
        for src in sources:
            if src is None or key in found:
                continue
            for name in names:
                text = _text(getattr(src, name, None))
                if text:
                    found[key] = text
                    break
    if "hours" not in found:  # minutes of the day; 0-0 (the default) is "not declared"
        for src in sources:
            for names in _MINUTE_FIELDS:
                if src is None or "hours" in found:
                    continue
                start, end = (_minute(getattr(src, n, None)) for n in names)
                if start is not None and end is not None and end > start:
                    found["hours"] = f"{_hhmm_of(start)}–{_hhmm_of(end)}"
    return (
        _clip(scrub(found.get("address", "")), 80),
        _clip(found.get("hotline", ""), 40),  # public on purpose: the station's number
        _clip(scrub(found.get("hours", "")), 60),
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MINUTE_FIELDS = (("open_min", "close_min"), ("open_minute", "close_minute"))
_CONTACT_FIELDS = {
    "address": ("address", "site_address", "addr"),
    "hotline": ("hotline", "service_phone", "phone_public", "telephone"),
    "hours": ("hours", "opening_hours", "open_hours", "service_hours"),
}


def board_view(state: State, station_id: str, now_ms: int) -> BoardView | None:
    """Every open job with room within the station's radius, whoever collected it, and
    the station's own open jobs wherever they are; nearest first (then soonest start, then row); at most `MAX_BOARD_JOBS` listed,
    `count` says how many there are."""
    st = state.stations.get(station_id)
    if st is None:
        return None
    radius_m = board_radius_m(state, st)
    near = [state.job_ids[int(r)] for r in state.open_jobs.query(st.lat, st.lng, float(radius_m))]
    own = state.jobs_by_station.get(station_id, {})
    rows: list[tuple[int, int, int, Job, JobCard]] = []
    for jid in dict.fromkeys([*near, *own]):
        job = state.jobs.get(jid)
        if job is None or job.status != "open" or job.open_slots <= 0:
            continue
        card = job_card(job, state.policy_for(job.region)[1], (st.lat, st.lng), "walk")
        d = card.distance_m or 0
        if d <= radius_m or job.station_id == station_id:
            rows.append((d, job.start_ms, job.row, job, card))
    rows.sort(key=lambda r: r[:3])
    jobs: list[BoardJob] = []
    for d, _, _, job, card in rows[:MAX_BOARD_JOBS]:
        via = state.stations.get(job.station_id)
        jobs.append(
            BoardJob(
                job_id=job.job_id,
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
                station_id=job.station_id,
                station=via.name if via is not None else "",
            )
        )
    address, hotline, hours = station_contact(st)
    return BoardView(
        station_id=station_id,
        station_name=st.name,
        kind=KIND_ZH.get(st.kind, ""),
        status=st.status,
        updated=local_hhmm(now_ms),
        count=len(rows),
        jobs=jobs,
        radius_m=radius_m,
        radius=distance_text(radius_m),
        address=address,
        hotline=hotline,
        hours=hours,
        lat=st.lat,
        lng=st.lng,
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
td.via{font-size:2.4vw;color:#cfe3ff}
#contact{font-size:2.4vw;color:#ffd27d;margin-bottom:1vw}
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
      cell(tr,'dist',j.distance);cell(tr,'via',j.station);rows.appendChild(tr);});
    empty.style.display = b.jobs.length ? 'none' : 'block';
    document.getElementById('count').textContent = b.count;
    document.getElementById('updated').textContent = b.updated;
    ['address','hotline','hours'].forEach(function(k){
      var el=document.getElementById(k);el.textContent=b[k]||'—';});
    if (window.__boardOffers) { window.__boardOffers(b.offers); }
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
        f'<td class="start">{e(job.start)}</td><td class="dist">{e(job.distance)}</td>'
        f'<td class="via">{e(job.station)}</td></tr>'
    )


def render_page(view: BoardView) -> str:
    e = html.escape
    rows = "".join(_row(j) for j in view.jobs)
    empty_style = "none" if view.jobs else "block"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(view.station_name)} · 岗位信息</title>{FAVICON_LINK}"
        f"<style>{_STYLE}</style></head>"
        f'<body data-station="{e(view.station_id)}" data-live="0">'
        f"<header><h1>{e(view.station_name)} · 今日岗位</h1>"
        f'<div id="meta">{e(view.kind)} · 方圆 {e(view.radius)}内共 '
        f'<span id="count">{view.count}</span> 个岗位 · '
        f'更新 <span id="updated">{e(view.updated)}</span></div></header>'
        '<div id="contact">地址：<span id="address">'
        f'{e(view.address or "—")}</span> · 服务热线：<span id="hotline">'
        f'{e(view.hotline or "—")}</span> · 服务时间：<span id="hours">'
        f"{e(view.hours or '—')}</span></div>"
        "<table><thead><tr><th>岗位</th><th>工资</th><th>预计收入</th><th>人数</th><th>开工时间</th>"
        "<th>距本站</th><th>发布站点</th></tr></thead>"
        f'<tbody id="rows">{rows}</tbody></table>'
        f'<div id="empty" style="display:{empty_style}">暂无岗位，请稍候</div>'
        f"{offers_html(view.offers)}"
        '<footer><span id="live">○ 正在连接…</span> · 到服务台登记求职，工作人员帮您对接'
        "</footer>"
        f"<script>{OFFERS_SCRIPT}{_SCRIPT}</script></body></html>"
    )
