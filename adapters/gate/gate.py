"""The inbound gate: bytes from any way in (HTTP, NATS micro, the CLI) -> one command.

Owns: `Gate.admit(caller, route, body, path, key)`, `GateError` (a `Refusal` with the
status every transport answers with), `STATUS` (refusal rule -> status, shared by HTTP
and NATS), `nesting_depth`, `command_id` and `recorded_events` (what a duplicate answers).

`admit`, in order (each step refuses before the next runs):
1. static role check from `engine.authz.PERMISSIONS` (403 `role`): nothing of the body is
   read; the `system` caller may send only `Advance`, which has no route; a `named`
   route (a review verdict) only from a person's account (403 `named_account`);
2. content type, when the transport has one: JSON or +json (415 `content_type`);
3. size (413 `max_body_bytes`) and nesting depth (400 `depth`), both before decoding: a
   count of '[' and '{' bounds the depth; the exact scan runs only when the count is large;
4. strict decode into the route's body, derived from the command (`bodies`): malformed
   JSON 400 `json`; a schema violation 422 naming the field and the rule (`type`,
   `unknown_field`, `required`, `max_length`, `range`, `pattern`, `enum`...); the path
   parameters are checked with the same bounds; a new id that is a phone or ID number is
   refused (422 `id_is_pii`: ids reach logs and URLs);
5. caller fields from the caller (never from the body), `ts_ms` from the server clock
   (never before the last event: the clock function decides), `command_id` =
   "<caller's actor id>:<key>" (a missing key gets a random one), so ids of different
   callers never collide and cannot pre-empt each other.
Region and station scope are not checked here: `authorize` does it against the real state
on the writer thread, failing closed.

Invariants: `admit` is pure apart from the clock and the random key; it never raises
anything but `GateError`; messages echo at most `bodies.ECHO_CHARS` chars of a value.
Limits: `max_body_bytes` (64 KiB), `max_depth` (32), keys of `MAX_KEY_CHARS` (55).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from adapters.gate import bodies
from adapters.gate.routes import Route
from engine.authz import PERMISSIONS, Caller
from engine.commands import Command, Refusal
from engine.idnumbers import find_unmasked_pii
from engine.record import decode_record

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_KEY_CHARS = 55
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
_KEY = re.compile(KEY_PATTERN)
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')

# refusal rule -> status (anything else is 422: refused by a rule, nothing changed)
STATUS: dict[str, int] = {
    "token": 401,
    "role": 403,
    "region": 403,
    "station": 403,
    "actor": 403,
    "distinct_accounts": 403,  # this account took another step of the station's life
    "named_account": 403,
    "exists": 404,
    "unique": 409,
    "json": 400,
    "depth": 400,
    "id_format": 400,
    "max_body_bytes": 413,
    "record_size": 413,
    "content_type": 415,
    "rate_limit": 429,
    "busy": 503,
    "stopped": 503,
    "internal_error": 500,  # the core raised: refused with an error id, engine serving on
}


def status_of(rule: str) -> int:
    return STATUS.get(rule, 422)


class GateError(Refusal):
    """A refusal at the gate, with the status every transport answers with."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(field, rule, message)
        self.status = status

    @classmethod
    def of(cls, ref: Refusal) -> GateError:
        return cls(status_of(ref.rule), ref.field, ref.rule, ref.message)


def nesting_depth(body: bytes, limit: int = MAX_DEPTH) -> int:
    """The nesting depth of JSON `body` when it is at most `limit`, else some value > limit.

    Cheap first: the count of '[' and '{' bounds the depth from above; only a body with
    more than `limit` of them is scanned (brackets inside strings do not count).
    """
    count = body.count(b"[") + body.count(b"{")
    if count <= limit:
        return count
    depth = deepest = 0
    for m in _TOKENS.finditer(body):
        ch = body[m.start()]
        if ch == 0x5B or ch == 0x7B:  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif ch == 0x5D or ch == 0x7D:  # ] }
            depth -= 1
    return deepest


def command_id(caller: Caller, key: str | None) -> str:
    """`<actor id>:<key>`; a random key when none is given (a retry is then a new command)."""
    if key is None:
        return f"{caller.actor_id}:h-{uuid.uuid4().hex}"
    if len(key) > MAX_KEY_CHARS or not _KEY.match(key):
        raise GateError(
            400,
            "Idempotency-Key",
            "id_format",
            f"Idempotency-Key must be 1-{MAX_KEY_CHARS} chars of [A-Za-z0-9_.:/-]",
        )
    return f"{caller.actor_id}:{key}"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class Gate:
    """Admits commands for one engine; `now_ms` is the server's clock."""

    def __init__(
        self,
        now_ms: Callable[[], int],
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.now_ms = now_ms
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self._decoders: dict[tuple[str, bool], msgspec.json.Decoder[Any]] = {}

    def decoder(self, route: Route, with_path: bool) -> msgspec.json.Decoder[Any]:
        key = (route.name, with_path)
        dec = self._decoders.get(key)
        if dec is None:
            dec = self._decoders[key] = msgspec.json.Decoder(
                bodies.body_type(route, with_path=with_path)
            )
        return dec

    def admit(
        self,
        caller: Caller,
        route: Route,
        body: bytes,
        path: Mapping[str, str] | None = None,
        key: str | None = None,
        *,
        content_type: str | None = None,
    ) -> Command:
        """The command `caller` asks for; `path` None means path fields are in the body."""
        if caller.role not in PERMISSIONS.get(route.name, ()):  # "system": only Advance
            raise GateError(
                403, "Authorization", "role", f"role {caller.role} may not {route.name}"
            )
        if route.named and not caller.named:
            raise GateError(
                403,
                "Authorization",
                "named_account",
                f"{route.name} is given by a named staff account (lingong token create --name ...)",
            )
        data = body.strip() if len(body) <= self.max_body_bytes else body
        if data and content_type is not None and not _is_json(content_type):
            raise GateError(415, "Content-Type", "content_type", "send application/json")
        if len(data) > self.max_body_bytes:
            raise GateError(
                413, "body", "max_body_bytes", f"the body exceeds {self.max_body_bytes} bytes"
            )
        if nesting_depth(data, self.max_depth) > self.max_depth:
            raise GateError(400, "body", "depth", f"the body nests deeper than {self.max_depth}")
        cid = command_id(caller, key)
        parts: list[msgspec.Struct] = [self._decode(route, data or b"{}", path is None)]
        if path is not None:
            parts.append(self._path(route, path))
        for part in parts:
            _check_ids(part)
        stamped: dict[str, Any] = {"command_id": cid, "ts_ms": self.now_ms()}
        for field, attr in route.caller_fields:
            stamped[field] = getattr(caller, attr)
        return bodies.to_command(route, *parts, **stamped)

    def _decode(self, route: Route, data: bytes, with_path: bool) -> msgspec.Struct:
        try:
            return self.decoder(route, with_path).decode(data)
        except msgspec.ValidationError as exc:
            raise GateError.of(_unprocessable(bodies.refusal_of(exc))) from None
        except msgspec.DecodeError:
            raise GateError(400, "body", "json", "the body is not valid JSON") from None

    def _path(self, route: Route, path: Mapping[str, str]) -> msgspec.Struct:
        try:
            return msgspec.convert(
                {k: path.get(k, "") for k in route.path_fields}, bodies.path_type(route)
            )
        except msgspec.ValidationError as exc:
            raise GateError.of(_unprocessable(bodies.refusal_of(exc))) from None


def _unprocessable(ref: Refusal) -> Refusal:
    return ref if status_of(ref.rule) == 422 else Refusal(ref.field, "schema", ref.message)


def _check_ids(part: msgspec.Struct) -> None:
    for name in part.__struct_fields__:
        if name.endswith("_id"):
            value = getattr(part, name)
            if isinstance(value, str) and value and find_unmasked_pii(value):
                raise GateError(422, name, "id_is_pii", "an id must not be a phone or ID number")


def recorded_events(read: Callable[[int], Iterable[tuple[int, bytes]]], seq: int) -> list[Any]:
    """The events of the record at `seq` (the first answer of a retried command)."""
    for got, payload in read(seq):
        if got == seq:
            return list(decode_record(payload).events)
        break
    return []
