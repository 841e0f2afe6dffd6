"""Request bodies derived from the commands: the command struct is the single source.

Owns: `body_type(route, with_path=...)` (the msgspec struct a request body decodes into,
built once per route from `msgspec.structs.fields(route.command)`), `to_command` (body +
path + caller + stamped values -> the engine's command), `path_type(route)` (the path
parameters as a struct, to check them with the same bounds) and `refusal_of` (a msgspec
validation error as a `Refusal` naming the field and the rule).

A body holds the command's fields minus `command_id` and `ts_ms` (the server stamps
them), minus the route's caller fields (taken from the token, e.g. ReviewJob.staff_id),
its hidden fields (left at their defaults) and, over HTTP, its path fields. Types and
defaults are the command's own, msgspec.Meta included, except that:
- every struct in a body is a twin of the engine's that forbids unknown fields
  (`<Name>In`, converted back by `to_command`);
- every command field carries its bounds (`engine.bounds`, msgspec.Meta); a field
  declared without Meta (none today: a safety net for a future field) gets a generic
  fence (ints within +-2^53, floats within +-1e15, which also refuses inf and NaN,
  strings of at most 2,000 characters, sequences and maps of at most 64 items). Nothing
  unbounded reaches the engine.

Invariants: decoding is strict (msgspec JSON: no strings for numbers); unknown fields are
refused at every level; error messages echo at most `ECHO_CHARS` characters of any value.
Limits: bodies are also bounded in bytes and nesting depth by `adapters.gate.gate`.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import NODEFAULT, Meta

from adapters.gate.routes import Route
from engine.commands import Command, Refusal

STAMPED = ("command_id", "ts_ms")
ECHO_CHARS = 40
GENERIC: dict[type, Meta] = {
    int: Meta(ge=-(2**53), le=2**53),
    float: Meta(ge=-1e15, le=1e15),
    str: Meta(max_length=2000),
    bytes: Meta(max_length=2000),
}
GENERIC_ITEMS = Meta(max_length=64)

_twins: dict[type, type] = {}  # engine struct -> body twin
_engine_of: dict[type, type] = {}  # body twin -> engine struct
_bodies: dict[tuple[str, bool], type] = {}
_paths: dict[str, type] = {}


# ------------------------------------------------------------------ fences ----------


def fence(tp: Any, owner: str, name: str, declared: bool = False) -> Any:
    """`tp` with bounds everywhere: declared Meta kept, missing ones added."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *metas = get_args(tp)
        has = declared or any(isinstance(m, Meta) for m in metas)
        return Annotated.__class_getitem__((fence(base, owner, name, has), *metas))  # type: ignore[attr-defined]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(fence(a, owner, name, declared) for a in get_args(tp))]  # type: ignore[return-value]  # noqa: UP007
    if tp is type(None) or tp is bool or origin is Literal:
        return tp
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return twin(tp)
    if origin in (tuple, list):
        args = get_args(tp)
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise TypeError(f"{owner}.{name}: only tuple[X, ...] is supported in bodies")
        item = fence(args[0], owner, f"{name}.item")
        seq = tuple[item, ...] if origin is tuple else list[item]  # type: ignore[valid-type]
        return seq if declared else Annotated[seq, GENERIC_ITEMS]
    if origin is dict:
        k, v = get_args(tp)
        mapping = dict[fence(k, owner, f"{name}.key"), fence(v, owner, f"{name}.value")]  # type: ignore[misc]
        return mapping if declared else Annotated[mapping, GENERIC_ITEMS]
    if tp in GENERIC:
        return tp if declared else Annotated[tp, GENERIC[tp]]
    raise TypeError(f"{owner}.{name}: no fence for {tp!r}")


def _field_specs(cls: type, names: typing.Iterable[str]) -> list[tuple[Any, ...]]:
    by_name = {f.name: f for f in msgspec.structs.fields(cls)}
    out: list[tuple[Any, ...]] = []
    for name in names:
        f = by_name[name]
        tp = fence(f.type, cls.__name__, name)
        if f.default is not NODEFAULT:
            out.append((name, tp, f.default))
        elif f.default_factory is not NODEFAULT:
            out.append((name, tp, msgspec.field(default_factory=f.default_factory)))
        else:
            out.append((name, tp))
    return out


def twin(cls: type) -> type:
    """The body twin of an engine struct: same fields, fenced, unknown fields refused."""
    if cls in _twins:
        return _twins[cls]
    names = [f.name for f in msgspec.structs.fields(cls)]
    tw = msgspec.defstruct(
        f"{cls.__name__}In",
        _field_specs(cls, names),
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
        module=__name__,
    )
    _twins[cls] = tw
    _engine_of[tw] = cls
    return tw


# ------------------------------------------------------------------ bodies ----------


def body_fields(route: Route, *, with_path: bool) -> list[str]:
    skip = {*STAMPED, *route.hidden, *(f for f, _ in route.caller_fields)}
    if not with_path:
        skip.update(route.path_fields)
    return [f.name for f in msgspec.structs.fields(route.command) if f.name not in skip]


def body_type(route: Route, *, with_path: bool = False) -> type:
    """The body struct of a route (`with_path`: path fields in the body, for NATS/CLI)."""
    key = (route.name, with_path)
    if key not in _bodies:
        _bodies[key] = msgspec.defstruct(
            f"{route.name}{'Request' if with_path else 'Body'}",
            _field_specs(route.command, body_fields(route, with_path=with_path)),
            kw_only=True,
            frozen=True,
            forbid_unknown_fields=True,
            module=__name__,
        )
    return _bodies[key]


def path_type(route: Route) -> type:
    """The route's path parameters as a struct with the command's bounds."""
    if route.name not in _paths:
        _paths[route.name] = msgspec.defstruct(
            f"{route.name}Path",
            _field_specs(route.command, route.path_fields),
            kw_only=True,
            frozen=True,
            forbid_unknown_fields=True,
            module=__name__,
        )
    return _paths[route.name]


def _engine(value: Any) -> Any:
    cls = _engine_of.get(type(value))
    if cls is not None:
        return cls(**{n: _engine(getattr(value, n)) for n in value.__struct_fields__})
    if type(value) is tuple or type(value) is list:
        return type(value)(_engine(v) for v in value)
    if type(value) is dict:
        return {k: _engine(v) for k, v in value.items()}
    return value


def to_command(route: Route, *parts: msgspec.Struct, **values: Any) -> Command:
    """The route's command from decoded body/path structs plus stamped/caller values."""
    kwargs: dict[str, Any] = {}
    for part in parts:
        for name in part.__struct_fields__:
            kwargs[name] = _engine(getattr(part, name))
    kwargs.update(values)
    return route.command(**kwargs)


# ------------------------------------------------------------------ errors ----------

_QUOTED = re.compile(r"('|`)([^'`]{0,%s})[^'`]*\1" % ECHO_CHARS)  # noqa: UP031
_RULES = (
    ("unknown field", "unknown_field"),
    ("missing required field", "required"),
    ("Invalid enum value", "enum"),
    ("matching regex", "pattern"),
    ("of length <=", "max_length"),
    ("of length >=", "min_length"),
    ("` >", "range"),
    ("` <", "range"),
    ("out of range", "range"),
    ("Expected `", "type"),
)


def _cap(text: str) -> str:
    text = _QUOTED.sub(
        lambda m: f"{m[1]}{m[2]}{'…' if len(m[0]) > len(m[2]) + 2 else ''}{m[1]}", text
    )
    return text if len(text) <= 300 else text[:300] + "…"


def refusal_of(exc: msgspec.ValidationError, prefix: str = "") -> Refusal:
    """A validation error as `Refusal(field, rule, message)`; values echoed capped."""
    text = str(exc)
    loc = ""
    if " - at `$" in text:
        text, _, loc = text.rpartition(" - at `")
        loc = loc.rstrip("`").removeprefix("$").lstrip(".")
    rule = next((r for marker, r in _RULES if marker in text), "schema")
    field = loc
    if rule in ("unknown_field", "required") and "`" in text:
        key = text[text.index("`") + 1 : text.rindex("`")][:ECHO_CHARS]
        field = f"{loc}.{key}" if loc else key
    field = (prefix + field if field else prefix.rstrip(".")) or "body"
    return Refusal(field[:80], rule, _cap(text))


def request_of(cmd: Command, route: Route) -> bytes:
    """The JSON body a client sends for `cmd` with the path fields in it (NATS, CLI).

    The inverse of `Gate.admit(..., path=None)`: the command's fields minus what the
    server sets (`command_id`, `ts_ms`, caller fields, hidden fields); a client uses
    `cmd.command_id` as its Idempotency-Key.
    """
    names = body_fields(route, with_path=True)
    return msgspec.json.encode({n: getattr(cmd, n) for n in names})
