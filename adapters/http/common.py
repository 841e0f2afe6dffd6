"""Shared pieces of the route modules: dependencies, header parameters, response specs.

Owns: the `ctx` (the app's `Api`) and `who` (the authenticated `Principal`) dependencies,
the `Idempotency-Key` header type, the OpenAPI response specs every command endpoint and
every authenticated read shares, and `not_found`.

Invariants: `who` authenticates (401) and rate-limits (429) before the handler runs and
before the body is decoded; every authenticated route declares the bearer security
scheme so OpenAPI clients send the token.
Limits: none here.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from adapters.http.auth import Principal
from adapters.http.context import Api
from adapters.http.problems import PROBLEM_RESPONSES, ApiError
from adapters.http.views import CommandAccepted
from engine.idnumbers import find_unmasked_pii

BEARER = [{"bearer": []}]
Ctx = NamedDependency[Api]  # the app's Api (dependency "ctx")
Who = NamedDependency[Principal]  # the authenticated caller (dependency "who")

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description=(
            "Client key of this command (1-55 chars of [A-Za-z0-9_.:/-]); a repeat returns "
            "the first result and appends nothing. Absent: the server makes a random one."
        ),
        required=False,
        min_length=1,
        max_length=55,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
    ),
]


def _ctx(request: Request[Any, Any, Any]) -> Api:
    return request.app.state["api"]


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: runs before the body is read; 401/429 end the request here."""
    api: Api = connection.app.state["api"]
    connection.scope.setdefault("state", {})["lingong_who"] = api.principal(connection)


def _who(request: Request[Any, Any, Any]) -> Principal:
    return request.scope["state"]["lingong_who"]


DEPENDENCIES = {
    "ctx": Provide(_ctx, sync_to_thread=False),
    "who": Provide(_who, sync_to_thread=False),
}

COMMAND_RESPONSES = {
    **PROBLEM_RESPONSES,
    200: ResponseSpec(
        data_container=CommandAccepted,
        description="A replay: the command with this Idempotency-Key was accepted before",
        generate_examples=False,
    ),
}

COMMAND: dict[str, Any] = {
    "responses": COMMAND_RESPONSES,
    "security": BEARER,
    "status_code": 201,
    "response_description": "Accepted: the command's record is durable (fsynced)",
    "guards": [authenticated],
}

READ: dict[str, Any] = {
    "responses": PROBLEM_RESPONSES,
    "security": BEARER,
    "guards": [authenticated],
}


def check_new_id(field: str, value: str) -> None:
    """Refuse a new id that is (or holds) a mobile or ID number: ids reach logs and URLs."""
    if find_unmasked_pii(value):
        raise ApiError(422, "id_is_pii", "an id must not be a phone or ID number", field)


def not_found(field: str, what: str) -> ApiError:
    return ApiError(404, "exists", f"no such {what}", field)
