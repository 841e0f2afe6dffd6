"""Shared pieces of the route modules: response specs, the `Idempotency-Key` header, helpers.

Owns: the OpenAPI response specs every command endpoint and every authenticated read
shares, the bearer security requirement, the `Idempotency-Key` header parameter of the
command operations, `api_of` and `not_found`.

Invariants: handlers take the `Request` and reach the app's `Api` through `api_of`; the
caller is resolved by `Api.caller` (401/429 before anything else happens: in the
handler for commands, in the `authenticated` guard for reads, before their query
parameters are parsed), never by dependency injection; every authenticated route declares the bearer security scheme so
OpenAPI clients send the token.
Limits: none here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import OpenAPIType, Parameter, Schema

from adapters.gate.gate import KEY_PATTERN, MAX_KEY_CHARS
from adapters.http.context import Api
from adapters.http.problems import PROBLEM_RESPONSES, ApiError, problem_spec
from adapters.http.views import CommandAccepted

BEARER = [{"bearer": []}]
Req = Request[Any, Any, Any]

IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in="header",  # type: ignore[arg-type]
    required=False,
    description=(
        f"Client key of this command (1-{MAX_KEY_CHARS} chars of [A-Za-z0-9_.:/-]); an "
        "identical retry returns the first result (`duplicate: true`) and appends nothing; "
        "the same key with another request is 422 `idempotency_key_reused`. Absent: the "
        "server makes a random one (returned in the `Idempotency-Key` response header)."
    ),
    schema=Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_CHARS, pattern=KEY_PATTERN
    ),
)

COMMAND_RESPONSES = {
    **PROBLEM_RESPONSES,
    415: problem_spec("The body is not JSON (send Content-Type: application/json)"),
    500: problem_spec(
        "A bug in the engine (rule `internal_error`): the command was refused and not "
        "recorded; `detail` names the error id (E-<seq>-<hex>) of the logged traceback"
    ),
}

COMMAND_DESCRIPTION = "Accepted: the command's record is durable (fsynced)"


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard of the reads: authenticate (401/429) before the query parameters are parsed."""
    connection.app.state["api"].caller(connection)


READ: dict[str, Any] = {
    "responses": PROBLEM_RESPONSES,
    "security": BEARER,
    "guards": [authenticated],
}


def api_of(request: Req) -> Api:
    return request.app.state["api"]


def not_found(field: str, what: str) -> ApiError:
    return ApiError(404, "exists", f"no such {what}", field)


__all__ = [
    "BEARER",
    "COMMAND_DESCRIPTION",
    "COMMAND_RESPONSES",
    "CommandAccepted",
    "IDEMPOTENCY_KEY",
    "READ",
    "Req",
    "api_of",
    "not_found",
]
