"""The job as a worker sees it (岗位信息): one formatter for every outlet.

Owns: `JobCard` (title, description, address, headcount, pay in its own unit with the
expected total, time window in Asia/Shanghai, distance and travel time by mode, the
navigation links), `job_card` that builds it, and the small text helpers the outlets
share (`pay_text`, `yuan_text`, `time_text`, `distance_text`, `minutes_text`). Used by
the worker's HTTP job view (`adapters.http.views`), the station board
(`adapters.http.board_page`) and the SMS texts (`adapters.nats.sms_text`).

Invariants:
- Pure: no clock, no state beyond the arguments.
- Pay keeps its unit: 元/天, 元/小时, 元/件; an hourly rate is never turned into a daily
  one. Money is integer fen shown exactly: 50 fen per piece is "0.50 元/件", 300 yuan
  "300 元/天". A piece rate with expected pieces shows the expected total.
- Free text (title, description, address) is shown with any phone or ID number masked
  (postings are screened on the way in; this guards older logs).
- The origin (a worker's position) only yields a distance and travel times: it is never
  written into the card (the navigation links start from the phone's own position).
- Travel times use the job region's policy speeds (`Policy.speeds`) and the matcher's
  detour factor, so the job view says what the matcher assumed.

Limits: description cut to `MAX_DESCRIPTION_CHARS` characters in a card.
"""

from __future__ import annotations

import msgspec

from engine.agreement import agreed_total_fen
from engine.events import Policy
from engine.geo import haversine_m, local_date, local_minute_of_day
from engine.idnumbers import mask_pii_in_text
from engine.matching.nav import nav_links
from engine.matching.params import DETOUR
from engine.state import Job

MAX_DESCRIPTION_CHARS = 2000
UNIT_ZH = {"day": "天", "hour": "小时", "piece": "件"}
MODE_ZH = {"walk": "步行", "bike": "自行车", "ebike": "电动车", "bus": "公交", "car": "驾车"}
MODES = ("walk", "bike", "ebike", "bus", "car")
INSURANCE_ZH = {
    "": "未注明",
    "employer": "用工方缴纳",
    "station": "零工市场缴纳",
    "worker": "劳动者自缴",
    "none": "无",
}


class Travel(msgspec.Struct, frozen=True, kw_only=True):
    mode: str
    mode_zh: str
    travel_s: int
    text: str  # "电动车 12 分钟"


class JobCard(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    title: str
    description: str
    address: str
    headcount: int
    open_slots: int
    pay_fen: int
    pay_unit: str
    pay_text: str  # "300 元/天", "25 元/小时", "0.50 元/件"
    expected_pieces: int
    expected_total_fen: int  # the agreed total of one hire (0: a piece rate without count)
    expected_total_text: str  # "共1天，预计 300 元" ...
    start_ms: int
    end_ms: int
    time_text: str  # "11月23日 07:00–15:00" (Asia/Shanghai)
    insurance_text: str
    lat: float
    lng: float
    distance_m: int | None = None
    distance_text: str = ""
    travel: list[Travel] = []  # every mode, the worker's own first
    amap: str = ""
    baidu: str = ""


def yuan_text(fen: int) -> str:
    """Exact yuan of integer fen: 30000 -> "300", 50 -> "0.50", 2550 -> "25.50"."""
    whole, cents = divmod(int(fen), 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}"


def pay_text(pay_fen: int, pay_unit: str) -> str:
    return f"{yuan_text(pay_fen)} 元/{UNIT_ZH.get(pay_unit, pay_unit)}"


def pay_text_of(posting: object) -> str:
    """`pay_text` of anything carrying a posting's pay (a `Job`, agreement terms, ...)."""
    return pay_text(posting.pay_fen, posting.pay_unit)  # type: ignore[attr-defined]


def _hhmm(ts_ms: int) -> str:
    minute = local_minute_of_day(ts_ms)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _md(ts_ms: int) -> str:
    _, month, day = local_date(ts_ms)
    return f"{month}月{day}日"


def time_text(start_ms: int, end_ms: int) -> str:
    """ "11月23日 07:00–15:00", or "11月23日 07:00 至 11月25日 15:00" across days."""
    if local_date(start_ms) == local_date(end_ms - 1):
        return f"{_md(start_ms)} {_hhmm(start_ms)}–{_hhmm(end_ms)}"
    return f"{_md(start_ms)} {_hhmm(start_ms)} 至 {_md(end_ms)} {_hhmm(end_ms)}"


def distance_text(metres: int) -> str:
    if metres < 1000:
        return f"{max(0, int(metres))} 米"
    return f"{metres / 1000:.1f} 公里"


def minutes_text(travel_s: int) -> str:
    minutes = max(1, (int(travel_s) + 59) // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟" if minutes % 60 else f"{minutes // 60} 小时"


def expected_total_text(job: Job) -> str:
    total = agreed_total_fen(
        job.pay_fen, job.pay_unit, job.start_ms, job.end_ms, job.expected_pieces
    )
    if job.pay_unit == "piece":
        if job.expected_pieces <= 0:
            return "按件计酬，件数未定"
        return f"预计 {job.expected_pieces} 件，约 {yuan_text(total)} 元"
    if job.pay_unit == "hour":
        hours = (job.end_ms - job.start_ms) / 3_600_000
        shown = f"{hours:g}"
        return f"共 {shown} 小时，预计 {yuan_text(total)} 元"
    days = total // job.pay_fen if job.pay_fen else 0
    return f"共 {days} 天，预计 {yuan_text(total)} 元"


def insurance_text(payer: str, policy_no: str) -> str:
    """Who pays the daily injury insurance (单工伤保险), with its policy number if any."""
    text = INSURANCE_ZH.get(payer, payer)
    return f"{text}（保单号 {mask_pii_in_text(policy_no)}）" if policy_no else text


def travel_times(distance_m: float, policy: Policy, first: str = "walk") -> list[Travel]:
    """Door-to-door time by each mode at the policy's speeds, `first` mode first."""
    speeds = policy.speeds
    by_mode = {
        "walk": speeds.walk_mps,
        "bike": speeds.bike_mps,
        "ebike": speeds.ebike_mps,
        "bus": speeds.bus_mps,
        "car": speeds.car_mps,
    }
    order = [first] + [m for m in MODES if m != first] if first in MODES else list(MODES)
    out = []
    for mode in order:
        seconds = round(distance_m * DETOUR / by_mode[mode])
        out.append(
            Travel(
                mode=mode,
                mode_zh=MODE_ZH[mode],
                travel_s=seconds,
                text=f"{MODE_ZH[mode]} {minutes_text(seconds)}",
            )
        )
    return out


def job_card(
    job: Job,
    policy: Policy,
    origin: tuple[float, float] | None = None,
    mode: str = "walk",
) -> JobCard:
    """The card of `job` under its region's `policy`, seen from `origin` (WGS-84 lat,
    lng; None: no distance) by a worker travelling by `mode`."""
    total = agreed_total_fen(
        job.pay_fen, job.pay_unit, job.start_ms, job.end_ms, job.expected_pieces
    )
    title = mask_pii_in_text(job.title)
    distance_m: int | None = None
    travel: list[Travel] = []
    if origin is not None:
        d = haversine_m(origin[0], origin[1], job.lat, job.lng)
        distance_m = round(d)
        travel = travel_times(d, policy, mode)
    # the links carry no origin: the map app starts from the phone's own position, and a
    # worker's location (行踪轨迹) is never returned by any outlet
    links = nav_links(
        job.lat, job.lng, job.address or title, None, None, mode if mode in MODES else "walk"
    )
    return JobCard(
        job_id=job.job_id,
        title=title,
        description=mask_pii_in_text(job.description[:MAX_DESCRIPTION_CHARS]),
        address=mask_pii_in_text(job.address),
        headcount=job.headcount,
        open_slots=job.open_slots,
        pay_fen=job.pay_fen,
        pay_unit=job.pay_unit,
        pay_text=pay_text(job.pay_fen, job.pay_unit),
        expected_pieces=job.expected_pieces,
        expected_total_fen=total,
        expected_total_text=expected_total_text(job),
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        time_text=time_text(job.start_ms, job.end_ms),
        insurance_text=insurance_text(job.insurance_payer, job.insurance_policy_no),
        lat=job.lat,
        lng=job.lng,
        distance_m=distance_m,
        distance_text="" if distance_m is None else distance_text(distance_m),
        travel=travel,
        amap=str(links["amap"]),
        baidu=str(links["baidu"]),
    )
