"""What every decider shares: the `Decided` result, state look-ups that refuse, and the
free-text screen.

Owns: `Decided`, the look-ups that turn a missing or unusable resource into a `Refusal`
(`station_usable`, `worker_row`, `hire`), semantic field checks that no bound can express
(`required_text`, `unique_skills`, `known_skills`, `point`), and `screen_free_text`.

Invariants:
- Bounds (lengths, ranges, patterns, enums) are not checked here: they are declared on
  the command fields (`engine.bounds`) and checked by `engine.commands.check` before any
  decider runs. What is here depends on the state or on several fields.
- Free text is personal data until proven otherwise: every string of every command
  (ids, names, notes, reasons, addresses, titles, skill codes, policy keys) is screened
  with `engine.idnumbers.find_unmasked_pii`; a phone or ID number is refused with rule
  "no_personal_data". Exempt are the fields that carry personal data on purpose and are
  sealed by the shell: `personal`, `contact`, a station's `head` (负责人, sealed under
  "station:<id>"), complaint `text` and the `note` of a complaint step (sealed under the
  complainant worker's key, the event keeps it masked).

Limits: the screen looks at strings of at least `MIN_PII_CHARS` characters only (no
shorter string can hold a mobile or ID number).
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.geo import check_point
from engine.idnumbers import find_unmasked_pii
from engine.matching.skills import MAX_SKILLS as MAX_SKILL_CODES
from engine.reference import occupations
from engine.state import Hire, State

MIN_PII_CHARS = 11  # a mainland mobile has 11 digits, an ID number 18 characters


class Decided(msgspec.Struct, kw_only=True):
    """What `decide` returns: the facts, and personal data for the shell to seal."""

    facts: list[e.Event]
    personal: dict[str, dict[str, str]] = {}  # subject id -> plain fields to seal


# ------------------------------------------------------------------ free text ------

# fields that carry personal data on purpose: the shell seals them, events mask them
SEALED_FIELDS: dict[type, frozenset[str]] = {
    c.RegisterWorker: frozenset({"personal"}),
    c.RegisterEmployer: frozenset({"contact"}),
    c.FileComplaint: frozenset({"text"}),
    c.ApplyStation: frozenset({"head"}),  # 负责人: sealed under "station:<id>"
    c.ChangeComplaintStatus: frozenset({"note"}),
}


_FIELDS: dict[type, tuple[str, ...]] = {}  # per command type: the fields to screen


def screen_free_text(cmd: c.Command) -> None:
    """Refuse a phone or ID number in any string of `cmd` outside the sealed fields."""
    cls = type(cmd)
    names = _FIELDS.get(cls)
    if names is None:
        skip = SEALED_FIELDS.get(cls, frozenset())
        names = _FIELDS[cls] = tuple(n for n in cls.__struct_fields__ if n not in skip)
    for name in names:
        value = getattr(cmd, name)
        kind = type(value)
        if kind is str:
            if len(value) >= MIN_PII_CHARS:
                _screen(value, name)
        elif kind not in _NO_TEXT:
            _screen(value, name)


# values that cannot hold free text: numbers, flags, coordinates (their datum is an enum)
_NO_TEXT = frozenset({int, float, bool, type(None), c.Point})


def _screen(value: Any, path: str) -> None:
    if isinstance(value, str):
        if len(value) >= MIN_PII_CHARS and find_unmasked_pii(value):
            raise Refusal(
                path,
                "no_personal_data",
                "no phone or ID numbers here: this text is stored and shown to others; "
                "contact details go only in the personal fields, which are sealed",
            )
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            _screen(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _screen(key, path)
            _screen(item, f"{path}.{key}")
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _screen(getattr(value, name), f"{path}.{name}")


# ------------------------------------------------------------------ field checks -----


def required_text(value: str, field: str) -> str:
    if not value.strip():
        raise Refusal(field, "required", "must not be empty")
    return value


def point(p: c.Point, field: str) -> tuple[float, float]:
    return check_point(p.lat, p.lng, p.datum, field=field)


def unique_skills(values: tuple[str, ...], field: str = "skills") -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise Refusal(field, "unique", "each occupation code once")
    return tuple(values)


def known_skills(state: State, values: tuple[str, ...], field: str) -> None:
    """Skills are 国家职业分类大典 codes (`engine.reference.occupations`; a code of the
    大典's form must be in the shipped list) or the legacy English codes of older logs
    (matched as recorded); at most `MAX_SKILL_CODES` distinct codes in the core."""
    for value in values:
        if occupations.looks_like_code(value) and not occupations.is_known(value):
            raise Refusal(
                field, "occupation_code_unknown", f"not in {occupations.CODE_LIST_VERSION}"
            )
    new = [s for s in values if state.skills.bit(s) is None]
    if len(state.skills.to_list()) + len(set(new)) > MAX_SKILL_CODES:
        raise Refusal(field, "skill_limit", f"at most {MAX_SKILL_CODES} distinct occupation codes")


# ------------------------------------------------------------------ look-ups ---------


def station_usable(state: State, station_id: str, field: str = "station_id") -> None:
    st = state.stations.get(station_id)
    if st is None:
        raise Refusal(field, "exists", f"no station {c.clip(station_id)!r}")
    if st.status not in ("approved", "rectifying"):  # a station rectifying still serves
        raise Refusal(field, "station_approved", f"station is {st.status}, not approved")


def worker_row(state: State, worker_id: str, field: str = "worker_id") -> int:
    row = state.worker_rows.get(worker_id)
    if row is None or not state.workers.active[row]:
        raise Refusal(field, "exists", f"no registered worker {c.clip(worker_id)!r}")
    return row


def hire(state: State, hire_id: str, allowed: tuple[str, ...]) -> Hire:
    found = state.hires.get(hire_id)
    if found is None:
        raise Refusal("hire_id", "exists", f"no hire {c.clip(hire_id)!r}")
    if found.status not in allowed:
        raise Refusal("hire_id", "hire_status", f"hire is {found.status}; needs {allowed}")
    return found
