"""The texts of lingong's SMS messages, and reading a worker's SMS reply.

Owns: short Chinese messages for offers, 1.5 km pushes, reply confirmations and the steps
of a worker's complaint (投诉进展) (pay is formatted by the one job formatter,
`engine.present`: its own unit, never converted), reply parsing ("1" / "2", full-width
digits too; "报名 <培训编号>" signs up for a training session), and the quiet-hours test
in Asia/Shanghai local time.

Invariants: every message starts with the signature 【零工】 and stays within one
70-character SMS segment (titles are cut to `MAX_TITLE_CHARS`); money is shown in yuan
from integer fen without rounding errors; no personal data is ever put in a text.

Limits: `MAX_TITLE_CHARS` characters of a job title.
"""

from __future__ import annotations

import unicodedata

import msgspec

from engine.geo import local_minute_of_day
from engine.present import pay_text as _card_pay_text
from engine.present import yuan_text
from engine.reference.complaints import kind_name, status_name

SIGNATURE = "【零工】"
MAX_TITLE_CHARS = 16
SEGMENT_CHARS = 70
UNITS = {"day": "天", "hour": "小时", "piece": "件"}


class JobInfo(msgspec.Struct, kw_only=True):
    """What a text needs of a job (from its JobSubmitted event or the `q.job` query)."""

    job_id: str
    title: str
    headcount: int
    pay_fen: int
    pay_unit: str = "day"
    start_ms: int = 0
    expected_pieces: int = 0  # a piece rate's expected pieces: the text shows the total


def yuan(fen: int) -> str:
    return yuan_text(fen)


def pay_text(pay_fen: int, unit: str, expected_pieces: int = 0) -> str:
    """The pay in its own unit (`engine.present`): "300 元/天", "25 元/小时", "0.50 元/件",
    a piece rate with expected pieces followed by its total ("约400元")."""
    text = _card_pay_text(pay_fen, unit)
    if unit == "piece" and expected_pieces > 0:
        text += f" 约{yuan_text(pay_fen * expected_pieces)}元"
    return text


def distance_text(distance_m: int) -> str:
    if distance_m < 1000:
        return f"{max(0, int(distance_m))}米"
    return f"{distance_m / 1000:.1f}公里"


def job_line(job: JobInfo) -> str:
    title = job.title.strip()[:MAX_TITLE_CHARS]
    heads = f"{job.headcount}人"
    if not title.endswith(heads):
        title = f"{title} {heads}"
    return f"{title} {pay_text(job.pay_fen, job.pay_unit, job.expected_pieces)}"


def _fit(text: str) -> str:
    return text if len(text) <= SEGMENT_CHARS else text[: SEGMENT_CHARS - 1] + "…"


def offer_text(job: JobInfo, distance_m: int) -> str:
    """【零工】搬家 3人 300元/天 距您 1.2公里 回复1接单 2拒绝"""
    return _fit(f"{SIGNATURE}{job_line(job)} 距您 {distance_text(distance_m)} 回复1接单 2拒绝")


def push_text(job: JobInfo, distance_m: int) -> str:
    """A 1.5 km push: no offer to accept yet, so no reply code."""
    return _fit(f"{SIGNATURE}附近新岗位 {job_line(job)} 距您 {distance_text(distance_m)}")


def accepted_text(title: str) -> str:
    return _fit(f"{SIGNATURE}已接单：{title[:MAX_TITLE_CHARS]}，请按时到岗")


def declined_text(title: str) -> str:
    return _fit(f"{SIGNATURE}已拒绝：{title[:MAX_TITLE_CHARS]}")


def failed_text(reason: str) -> str:
    return _fit(f"{SIGNATURE}操作未成功：{reason}")


def complaint_text(kind: str, status: str) -> str:
    """A step of the worker's complaint: 【零工】您的投诉（拖欠工资）已受理 ... The staff's
    note is not texted (free text: read it at the station or in the app)."""
    tail = {
        "accepted": "，我们将在办结时限内处理",
        "investigating": "，正在调查处理",
        "resolved": "，详情可到服务站查询",
        "rejected": "，如有异议请到服务站咨询",
    }.get(status, "")
    return _fit(f"{SIGNATURE}您的投诉（{kind_name(kind)}）{status_name(status)}{tail}")


HELP_TEXT = f"{SIGNATURE}回复1接单，回复2拒绝"
NOTHING_TEXT = f"{SIGNATURE}您目前没有待回复的工作邀约"


_SIGN_UP_WORDS = ("报名", "bm")
MAX_TRAINING_ID_CHARS = 64


def parse_sign_up(text: str) -> str | None:
    """The training id of a sign-up reply: "报名 T1", "报名T1", "BM T1" (full-width too);
    None for anything else. The id must look like an engine id (letters, digits, _.:-)."""
    t = unicodedata.normalize("NFKC", text).strip()
    low = t.lower()
    for word in _SIGN_UP_WORDS:
        if low.startswith(word):
            rest = t[len(word) :].strip()
            ok = 0 < len(rest) <= MAX_TRAINING_ID_CHARS and rest[0].isascii() and rest[0].isalnum()
            if ok and all(ch.isascii() and (ch.isalnum() or ch in "_.:-") for ch in rest):
                return rest
            return None
    return None


def signed_up_text(title: str) -> str:
    return _fit(f"{SIGNATURE}已报名培训：{title[:MAX_TITLE_CHARS]}，请按时参加")


NO_TRAINING_TEXT = f"{SIGNATURE}没有找到这个培训，请核对报名编号"


def parse_reply(text: str) -> str | None:
    """ "accept" for 1 / 接单 / 接, "decline" for 2 / 拒绝 / 不去, else None."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    if t in ("1", "接单", "接", "y", "yes"):
        return "accept"
    if t in ("2", "拒绝", "不去", "n", "no"):
        return "decline"
    return None


def in_quiet_hours(now_ms: int, start_min: int, end_min: int) -> bool:
    """Is the local (Asia/Shanghai) time inside [start, end)? A window may wrap midnight;
    start == end means no quiet hours."""
    if start_min == end_min:
        return False
    minute = local_minute_of_day(now_ms)
    if start_min < end_min:
        return start_min <= minute < end_min
    return minute >= start_min or minute < end_min
