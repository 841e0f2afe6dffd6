"""The route table pins the commands, their permissions, their bodies and every way in."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from adapters.gate import bodies
from adapters.gate.routes import INTERNAL, ROUTES, route_of
from engine import commands as c
from engine.authz import PERMISSIONS


def test_every_command_has_exactly_one_route_or_is_internal() -> None:
    routed = [r.name for r in ROUTES]
    assert len(routed) == len(set(routed))
    assert set(routed) | INTERNAL == set(c.COMMAND_TYPES)
    assert not set(routed) & INTERNAL
    with pytest.raises(KeyError):
        route_of("Advance")


def test_every_command_has_a_permissions_row() -> None:
    assert set(PERMISSIONS) == set(c.COMMAND_TYPES)
    for name, roles in PERMISSIONS.items():
        assert roles, name
    assert PERMISSIONS["Advance"] == frozenset({"system"})  # time only from the server


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_route_fields_are_command_fields(route) -> None:
    fields = set(route.command.__struct_fields__)
    assert set(route.path_fields) <= fields
    assert {f for f, _ in route.caller_fields} <= fields
    assert set(route.hidden) <= fields
    assert {a for _, a in route.caller_fields} <= {"actor_id", "station_id", "region"}
    assert route.method in ("POST", "PATCH", "DELETE")
    # one (method, path) per route
    assert sum(1 for r in ROUTES if (r.method, r.path) == (route.method, route.path)) == 1


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_bodies_are_the_command_minus_what_the_server_sets(route) -> None:
    http = set(bodies.body_type(route).__struct_fields__)
    nats = set(bodies.body_type(route, with_path=True).__struct_fields__)
    server = {"command_id", "ts_ms", *(f for f, _ in route.caller_fields), *route.hidden}
    assert nats == set(route.command.__struct_fields__) - server
    assert http == nats - set(route.path_fields)
    # ReviewJob: the reviewer's station and staff id come from the token only
    if route.name == "ReviewJob":
        assert "station_id" not in nats and "staff_id" not in nats


def _walk(tp: object, seen: set[type]) -> None:
    """Every scalar in a body type is bounded; every struct forbids unknown fields."""
    from typing import Annotated, Literal, Union, get_args, get_origin

    origin = get_origin(tp)
    if origin is Annotated:
        base, *metas = get_args(tp)
        assert any(isinstance(m, msgspec.Meta) for m in metas), tp
        _walk_inner(base, seen)
        return
    if tp is type(None) or tp is bool or origin is Literal:
        return
    if origin is Union:
        for a in get_args(tp):
            _walk(a, seen)
        return
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        if tp in seen:
            return
        seen.add(tp)
        assert tp.__struct_config__.forbid_unknown_fields, tp
        for f in msgspec.structs.fields(tp):
            _walk(f.type, seen)
        return
    raise AssertionError(f"unbounded: {tp!r}")


def _walk_inner(tp: object, seen: set[type]) -> None:
    from typing import get_args, get_origin

    if get_origin(tp) in (tuple, list, dict):
        for a in get_args(tp):
            if a is not Ellipsis:
                _walk(a, seen)  # items are bounded on their own
        return
    if tp not in (str, int, float, bytes):  # a scalar right under its Meta is bounded
        _walk(tp, seen)


def _declared(tp: object, where: str, out: list[str], bounded: bool = False) -> None:
    """Append to `out` every value in `tp` that the engine declares without msgspec.Meta."""
    import types
    from typing import Annotated, Literal, Union, get_args, get_origin

    origin = get_origin(tp)
    if origin is Annotated:
        base, *metas = get_args(tp)
        _declared(base, where, out, bounded or any(isinstance(m, msgspec.Meta) for m in metas))
    elif origin is Union or origin is types.UnionType:
        for a in get_args(tp):
            _declared(a, where, out, bounded)
    elif tp is type(None) or tp is bool or origin is Literal:
        return
    elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        for f in msgspec.structs.fields(tp):
            _declared(f.type, f"{tp.__name__}.{f.name}", out)
    elif origin in (tuple, list, dict):
        if not bounded:
            out.append(where)
        for i, a in enumerate(get_args(tp)):
            if a is not Ellipsis:
                _declared(a, f"{where}[{i}]", out)
    elif not bounded:
        out.append(where)


def test_every_command_field_declares_its_bounds() -> None:
    """The engine's own Meta (engine.bounds) bounds every field: the gate's generic fence
    (bodies.GENERIC) is only a safety net and stays unused."""
    unbounded: list[str] = []
    for cls in c.COMMAND_TYPES.values():
        _declared(cls, cls.__name__, unbounded)
    assert unbounded == []

    class Loose(msgspec.Struct):  # the walk itself finds what lacks a Meta
        n: int
        tags: tuple[Annotated[str, msgspec.Meta(max_length=3)], ...]
        ok: Annotated[str, msgspec.Meta(max_length=3)] | None = None

    found: list[str] = []
    _declared(Loose, "Loose", found)
    assert found == ["Loose.n", "Loose.tags"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_every_body_field_is_bounded(route) -> None:
    seen: set[type] = set()
    _walk(bodies.body_type(route, with_path=True), seen)
    _walk(bodies.path_type(route), seen)
