"""A station's life as the seeds describe it: 申报, 审核, 批准, 备案, 限期整改, 撤销.

Owns: the deciders of `ApplyStation`, `ReviewStation`, `ApproveStation`, `FileStation`,
`OrderRectification`, `ConfirmRectification` and `RevokeStation`; `conditions`, the
check of an application's materials against the region's `StationConditions` for its
kind (failures in Chinese); `open_minutes`.

The seeds: Xiangyang art. 8-11 (a 驿站 applies with its materials, the county's public
employment service reviews, the county bureau approves, the city's employment office
files), art. 9 (conditions: >= 30 m², hotline, staff, services), art. 17 (限期整改; not
rectified in time: revoked, and filed); Linfen 三(一)-(四) (a county market's floor area,
services, staff, hotline).

Invariants:
- Each step is one `StationStatusChanged` fact naming the step and the account (`by`,
  the caller's actor id, checked by `engine.authz`); the application is a
  `StationRegistered` fact carrying its materials (the 负责人's name masked, the plain
  name and mobile sealed by the shell under "station:<id>").
- Review, approval and filing are taken by three DISTINCT accounts, none of them the
  applicant's; a rectification is confirmed by another account than the one that
  ordered it. Refused with rule "distinct_accounts", naming the step already taken.
- A review passes only when every condition of the region's CURRENT policy is met.
- The rectification deadline is data (`due_ms` = order time + days); the engine revokes
  a station still rectifying at its deadline (`engine.react`, from the due heap).
- Deciders never mutate the state; a refusal raises before any event exists.

Limits: `engine.state.MAX_STATIONS` stations; deadlines of at most the policy's
`max_rectify_days` (<= 365).
"""

from __future__ import annotations

import msgspec

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.idnumbers import check_mobile, mask_name
from engine.rules_common import Decided, required_text
from engine.rules_registry import register_station
from engine.state import State, Station

DAY_MS = 86_400_000

KIND_CN = {"hub": "总站", "branch": "分站", "post": "驿站"}
SERVICE_CN = {
    "registration": "求职登记",
    "posting": "信息发布",
    "training_signup": "培训报名",
    "policy_advice": "政策咨询",
    "rights_advice": "劳务维权咨询",
    "matching_room": "对接洽谈",
    "rest_area": "休息候工",
    "drinking_water": "饮水",
    "first_aid": "急救药箱",
}
STATUS_CN = {
    "applied": "已申报待审核",
    "reviewed": "审核合格待批准",
    "returned": "审核不合格已退回",
    "approved": "已批准",
    "rectifying": "限期整改中",
    "suspended": "已暂停",
    "revoked": "已撤销",
}
STEP_CN = {
    "apply": "申报",
    "review": "审核",
    "approval": "批准",
    "filing": "备案",
    "rectification_order": "限期整改",
    "rectified": "整改确认",
    "revocation": "撤销",
}


def open_minutes(open_min: int, close_min: int) -> int:
    """Minutes open per day; a closing time before the opening one runs past midnight."""
    if open_min == close_min:
        return 0
    return close_min - open_min if close_min > open_min else 1440 - open_min + close_min


def _hm(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h}小时" + (f"{m}分" if m else "")


def conditions(
    policy: e.Policy,
    *,
    kind: str,
    area_m2: int,
    hotline: str,
    open_min: int,
    close_min: int,
    services: tuple[str, ...],
    staff_count: int,
) -> tuple[str, ...]:
    """The conditions for a station of `kind` that these materials do not meet (Chinese,
    one sentence each; empty when all are met)."""
    cond = {
        "hub": policy.hub_conditions,
        "branch": policy.branch_conditions,
        "post": policy.post_conditions,
    }[kind]
    what = KIND_CN[kind]
    out: list[str] = []
    if area_m2 < cond.min_area_m2:
        out.append(f"服务场所面积{area_m2}平方米，低于{what}要求的{cond.min_area_m2}平方米")
    if cond.hotline_required and not hotline.strip():
        out.append("未公布服务热线")
    minutes = open_minutes(open_min, close_min)
    if cond.min_open_minutes and minutes == 0:
        out.append("未填写开放时间")
    elif minutes < cond.min_open_minutes:
        out.append(f"每日开放{_hm(minutes)}，少于要求的{_hm(cond.min_open_minutes)}")
    if staff_count < cond.min_staff:
        out.append(f"工作人员{staff_count}人，少于要求的{cond.min_staff}人")
    missing = [SERVICE_CN[s] for s in cond.services if s not in services]
    if missing:
        out.append("缺少服务项目：" + "、".join(missing))
    return tuple(out)


def station_conditions(state: State, st: Station) -> tuple[str, ...]:
    """`conditions` of a registered station under its region's current policy."""
    _, policy = state.policy_for(st.region)
    return conditions(
        policy,
        kind=st.kind,
        area_m2=st.area_m2,
        hotline=st.hotline,
        open_min=st.open_min,
        close_min=st.close_min,
        services=st.services,
        staff_count=st.staff_count,
    )


# ------------------------------------------------------------------ helpers ---------


def _station(state: State, station_id: str) -> Station:
    st = state.stations.get(station_id)
    if st is None:
        raise Refusal("station_id", "exists", f"no station {c.clip(station_id)!r}")
    return st


def _status(st: Station, allowed: tuple[str, ...], step: str) -> None:
    if st.status not in allowed:
        raise Refusal(
            "station_id",
            "station_transition",
            f"站点当前{STATUS_CN[st.status]}，不能办理{STEP_CN[step]}"
            f"（须为：{'、'.join(STATUS_CN[a] for a in allowed)}）",
        )


def _distinct(st: Station, by: str, step: str, earlier: tuple[str, ...]) -> None:
    if not by:
        raise Refusal("by", "required", "the account taking the step (stamped from the caller)")
    for other in earlier:
        if st.accounts.get(other) == by:
            raise Refusal(
                "by",
                "distinct_accounts",
                f"同一账号不能办理两个环节：该账号已办理本站的“{STEP_CN[other]}”，"
                f"“{STEP_CN[step]}”须由另一账号办理",
            )


def _step(st: Station, cmd: c.Command, ts: int, status: str, step: str, **kw: object) -> Decided:
    ev = e.StationStatusChanged(
        ts_ms=ts,
        station_id=st.station_id,
        status=status,  # type: ignore[arg-type]
        by=cmd.by,  # type: ignore[attr-defined]
        step=step,
        **kw,  # type: ignore[arg-type]
    )
    return Decided(facts=[ev])


# ------------------------------------------------------------------ deciders --------


def apply_station(state: State, cmd: c.ApplyStation, ts: int) -> Decided:
    if not cmd.by:
        raise Refusal("by", "required", "the applying account (stamped from the caller)")
    base = register_station(
        state,
        c.RegisterStation(
            command_id=cmd.command_id,
            ts_ms=ts,
            station_id=cmd.station_id,
            name=cmd.name,
            kind=cmd.kind,
            market_type=cmd.market_type,
            parent_id=cmd.parent_id,
            region=cmd.region,
            location=cmd.location,
            area_m2=cmd.area_m2,
            address=cmd.address,
        ),
        ts,
    ).facts[0]
    head = required_text(cmd.head.name, "head.name").strip()
    if cmd.head.id_number:
        raise Refusal("head.id_number", "not_collected", "申报材料不收集负责人身份证号")
    mobile = check_mobile(cmd.head.mobile, field="head.mobile") if cmd.head.mobile else ""
    if len(set(cmd.services)) != len(cmd.services):
        raise Refusal("services", "unique", "each service once")
    ev = msgspec.structs.replace(
        base,
        applicant=cmd.by,
        head_masked=mask_name(head),
        hotline=cmd.hotline.strip(),
        open_min=cmd.open_min,
        close_min=cmd.close_min,
        services=tuple(cmd.services),
        staff_count=cmd.staff_count,
    )
    personal = {"station:" + cmd.station_id: {"head_name": head, "head_mobile": mobile}}
    return Decided(facts=[ev], personal=personal)


def review_station(state: State, cmd: c.ReviewStation, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("applied",), "review")
    _distinct(st, cmd.by, "review", ("apply",))
    if cmd.passed:
        failures = station_conditions(state, st)
        if failures:
            raise Refusal(
                "passed",
                "station_conditions",
                "不符合设立条件，不能审核通过：" + "；".join(failures),
            )
    elif not cmd.note.strip():
        raise Refusal("note", "required", "审核不合格须写明理由")
    return _step(st, cmd, ts, "reviewed" if cmd.passed else "returned", "review", reason=cmd.note)


def approve_station(state: State, cmd: c.ApproveStation, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("reviewed",), "approval")
    _distinct(st, cmd.by, "approval", ("apply", "review"))
    return _step(st, cmd, ts, "approved", "approval", reason=cmd.note)


def file_station(state: State, cmd: c.FileStation, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("approved", "rectifying"), "filing")
    if st.filing_no:
        raise Refusal("station_id", "not_filed", f"本站已备案（备案号{c.clip(st.filing_no)}）")
    _distinct(st, cmd.by, "filing", ("apply", "review", "approval"))
    return _step(
        st, cmd, ts, st.status, "filing", filing_no=required_text(cmd.filing_no, "filing_no")
    )


def order_rectification(state: State, cmd: c.OrderRectification, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("approved",), "rectification_order")
    _distinct(st, cmd.by, "rectification_order", ())
    _, policy = state.policy_for(st.region)
    if cmd.days > policy.max_rectify_days:
        raise Refusal(
            "days", "max_rectify_days", f"整改期限最长{policy.max_rectify_days}天（本地区政策）"
        )
    items = required_text(cmd.items, "items")
    return _step(
        st,
        cmd,
        ts,
        "rectifying",
        "rectification_order",
        reason=items,
        due_ms=ts + cmd.days * DAY_MS,
    )


def confirm_rectification(state: State, cmd: c.ConfirmRectification, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("rectifying",), "rectified")
    if ts >= st.rectify_due_ms:
        raise Refusal("station_id", "deadline_passed", "整改期限已过，本站将被撤销")
    _distinct(st, cmd.by, "rectified", ("rectification_order",))
    return _step(st, cmd, ts, "approved", "rectified", reason=cmd.note)


def revoke_station(state: State, cmd: c.RevokeStation, ts: int) -> Decided:
    st = _station(state, cmd.station_id)
    _status(st, ("applied", "reviewed", "approved", "rectifying", "suspended"), "revocation")
    _distinct(st, cmd.by, "revocation", ())
    return _step(st, cmd, ts, "revoked", "revocation", reason=required_text(cmd.reason, "reason"))


DECIDERS = {
    c.ApplyStation: apply_station,
    c.ReviewStation: review_station,
    c.ApproveStation: approve_station,
    c.FileStation: file_station,
    c.OrderRectification: order_rectification,
    c.ConfirmRectification: confirm_rectification,
    c.RevokeStation: revoke_station,
}
