"""Chinese names of complaint kinds and case steps, as staff and workers read them.

Owns: `KIND_NAMES`, `STATUS_NAMES`, `kind_name`, `status_name` (the one wording shared by
the HTTP views, the SMS texts and the reports).
Invariants: every `engine.events.ComplaintKind` and every complaint status of
`engine.state.Complaint` has a name (pinned by tests); unknown values are shown as given.
Limits: none; static tables.
"""

from __future__ import annotations

KIND_NAMES: dict[str, str] = {
    "wage_arrears": "拖欠工资",
    "safety": "安全问题",
    "fraud": "欺诈",
    "discrimination": "就业歧视",
}
STATUS_NAMES: dict[str, str] = {
    "open": "待受理",
    "accepted": "已受理",
    "investigating": "调查处理中",
    "resolved": "已办结",
    "rejected": "不予受理",
    "upheld": "已办结（投诉属实）",
    "dismissed": "已办结（投诉不属实）",
}


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)
