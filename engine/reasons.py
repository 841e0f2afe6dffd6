"""Hold and rejection reasons of postings in plain Chinese, for the staff who review them.

Owns: `reason_text(code)`: the machine codes the review writes into `JobHeldForReview` /
`JobRejected.reasons` (`pay_far_below_local:6000<30000x0.5`, `employer_flagged:fraud`,
`duplicate_of:J7`, `discrimination:sex:限男性`, `review:<note>` ...) turned into what a
station's staff read ("日薪60.00元，低于本地参考日薪300.00元的一半"). The codes stay in the
events (the log and the audits read them); only what people see is translated.

Invariants: pure; never raises: an unknown or malformed code is shown as it is, prefixed
"其他原因：". Money is integer fen, shown as yuan with two decimals.
Limits: a code is at most a few hundred characters (event fields are bounded).
"""

from __future__ import annotations

from engine.screen import finding_text, parse_finding

FLAGS = {
    "wage_arrears": "拖欠工资",
    "fraud": "欺诈",
    "safety": "安全问题",
    "discrimination": "就业歧视",
}


def yuan(fen: int) -> str:
    """12345 -> '123.45' (fen as yuan, two decimals)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _ratio(r: float) -> str:
    if r == 0.5:
        return "的一半"
    if r == int(r):
        return f"的{int(r)}倍"
    return f"的{r * 100:g}%"


def _pay(kind: str, rest: str) -> str | None:
    sep = "<" if kind != "pay_far_above_local" else ">"
    day_s, _, level_s = rest.partition(sep)
    try:
        day = int(day_s)
        if kind == "pay_below_floor":
            return f"日薪{yuan(day)}元，低于最低日薪{yuan(int(level_s))}元，不予发布"
        level_txt, _, ratio_s = level_s.partition("x")
        level, ratio = int(level_txt), float(ratio_s)
    except ValueError:
        return None
    if kind == "pay_far_below_local":
        return f"日薪{yuan(day)}元，低于本地参考日薪{yuan(level)}元{_ratio(ratio)}"
    return f"日薪{yuan(day)}元，高于本地参考日薪{yuan(level)}元{_ratio(ratio)}"


def reason_text(code: str) -> str:
    """The plain Chinese of one reason code."""
    finding = parse_finding(code)
    if finding is not None:
        return "招聘条件涉嫌就业歧视：" + finding_text(*finding)
    kind, _, rest = code.partition(":")
    if kind in ("pay_far_below_local", "pay_far_above_local", "pay_below_floor"):
        text = _pay(kind, rest)
        if text is not None:
            return text
    elif kind == "employer_flagged":
        return f"用人单位被标记为“{FLAGS.get(rest, rest)}”，需人工审核"
    elif kind == "arrears_case":  # issue 14: a live posting held while wages are owed
        return "用人单位有未结清的欠薪案件，在招岗位暂停发布，结清后自动恢复"
    elif kind == "duplicate_of":
        return f"与该用人单位在招岗位 {rest} 重复"
    elif kind in ("station_revoked", "station_suspended"):  # held when its station went down
        what = "撤销" if kind == "station_revoked" else "暂停"
        return f"采集站点已{what}，岗位暂停推送，待审核"
    elif kind == "review":
        if rest == "job_over":
            return "审核通过时岗位已结束，未发布"
        return "审核未通过" + ("" if rest in ("", "rejected") else f"：{rest}")
    return f"其他原因：{code}"


def reasons_text(codes: tuple[str, ...] | list[str]) -> list[str]:
    return [reason_text(c) for c in codes]
