"""Free text is personal data until proven otherwise: every string field of every command
is screened; a phone or ID number is refused with the field and rule "no_personal_data",
except in the fields that are sealed on purpose (personal data, contacts, complaint text).

The cases are derived from the command structs (`msgspec.inspect`): a new string field is
covered without touching this file.
"""

from __future__ import annotations

import re

import msgspec
import msgspec.inspect as mi
import pytest

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.rules_common import SEALED_FIELDS
from tests.property import market as mk

PHONE = "13812341234"
ID_NUMBER = "11010519491231002X"


def _string_fields(cls: type) -> list[tuple[str, mi.StrType, bool]]:
    """(name, type, is a tuple of strings) of every string field of `cls`."""
    out = []
    for f in mi.type_info(cls).fields:
        types = f.type.types if isinstance(f.type, mi.UnionType) else (f.type,)
        for t in types:
            if isinstance(t, mi.StrType):
                out.append((f.name, t, False))
            elif isinstance(t, mi.VarTupleType) and isinstance(t.item_type, mi.StrType):
                out.append((f.name, t.item_type, True))
    return out


def _with_pii(t: mi.StrType, pii: str) -> str | None:
    """A value holding `pii` that the field's own bounds admit (None if none can)."""
    for value in (f"联系{pii}", f"x-{pii}", pii):
        if t.max_length is not None and len(value) > t.max_length:
            continue
        if t.pattern is not None and not re.search(t.pattern, value):
            continue
        return value
    return None


CASES = [
    (name, field, many, pii)
    for name, cls in sorted(c.COMMAND_TYPES.items())
    for field, t, many in _string_fields(cls)
    if field not in SEALED_FIELDS.get(cls, ())
    for pii in (PHONE, ID_NUMBER)
    if _with_pii(t, pii) is not None
]


def _caller(name: str) -> object:
    return {"Advance": mk.SYSTEM, "ReviewJob": mk.STAFF_S1}.get(name, mk.ADMIN_ALL)


@pytest.mark.parametrize(
    ("name", "field", "many", "pii"), CASES, ids=[f"{n}.{f}-{p[:3]}" for n, f, _, p in CASES]
)
def test_a_phone_or_id_number_in_any_free_text_field_is_refused(
    name: str, field: str, many: bool, pii: str
) -> None:
    caller = _caller(name)
    cmd = mk.command(name, caller)  # type: ignore[arg-type]
    t = next(t for f, t, _ in _string_fields(type(cmd)) if f == field)
    value = _with_pii(t, pii)
    cmd = msgspec.structs.replace(cmd, **{field: (value,) if many else value})
    engine = mk.market().fresh()
    before = engine.state.digest()
    with pytest.raises(Refusal) as info:
        engine.execute(cmd, caller)  # type: ignore[arg-type]
    assert info.value.rule == "no_personal_data"
    assert info.value.field == (f"{field}[0]" if many else field)
    assert PHONE not in info.value.message and ID_NUMBER not in info.value.message
    assert engine.state.digest() == before


def test_every_command_with_text_is_covered() -> None:
    covered = {name for name, *_ in CASES}
    assert covered >= {
        "SetPolicy",
        "RegisterStation",
        "ChangeStationStatus",
        "RegisterEmployer",
        "SubmitJob",
        "ReviewJob",
        "CancelJob",
        "DeclineOffer",
        "ResolveComplaint",
        "EraseWorker",
    }
    fields = {(n, f) for n, f, *_ in CASES}
    for pair in [("RegisterStation", "name"), ("RegisterStation", "address"),
                 ("ChangeStationStatus", "reason"), ("RegisterEmployer", "name"),
                 ("ReviewJob", "note"), ("CancelJob", "reason"), ("DeclineOffer", "reason"),
                 ("SetPolicy", "note"), ("EraseWorker", "reason"), ("SubmitJob", "title")]:  # fmt: skip
        assert pair in fields


def test_policy_keys_are_screened_too() -> None:
    cmd = msgspec.structs.replace(
        mk.command("SetPolicy"), policy=e.Policy(local_day_pay_fen={PHONE: 30000})
    )
    with pytest.raises(Refusal) as info:
        mk.market().fresh().execute(cmd, mk.ADMIN_ALL)
    assert (info.value.field, info.value.rule) == ("policy.local_day_pay_fen", "no_personal_data")


def test_sealed_fields_may_hold_contact_details() -> None:
    engine = mk.market().fresh()
    text = f"老板不给钱，我的电话{PHONE}"
    complaint = msgspec.structs.replace(mk.command("FileComplaint"), text=text)
    out = engine.execute(complaint, mk.ADMIN_ALL)
    filed = out.events[0]
    assert isinstance(filed, e.ComplaintFiled)
    assert filed.text == "老板不给钱，我的电话138****1234" and filed.worker_id == "W1"
    assert out.personal == {"W1": {"complaint_text": text}}  # sealed by the shell
    worker = mk.command("RegisterWorker")
    assert engine.execute(worker, mk.ADMIN_ALL).personal[worker.worker_id]["mobile"] == PHONE
