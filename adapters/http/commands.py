"""The command endpoints: one handler per route of the gate's table, made by one factory.

Owns: `make_handler(route)` (a Litestar handler that takes only the `Request`: no
signature model for bodies, no dependency injection; it hands the raw body, the path
parameters and the `Idempotency-Key` to `Api.command`, i.e. to the gate), `ROUTES` (one
handler per entry of `adapters.gate.routes.ROUTES`) and `document` (the OpenAPI request
bodies, generated with `msgspec.json.schema_components` from the bodies the gate decodes,
plus the `Idempotency-Key` header, attached to the operations Litestar generated).

Invariants: the body schema in `/schema` is built from the very struct the gate decodes
into, so the document and the decoder cannot disagree; every command operation has the
bearer security requirement, problem responses (400, 401, 403, 404, 409, 413, 415, 422,
429, 500, 503) and the route's status (201; 200 for an update or an erasure); a replay
answers the same status.
Limits: none beyond the gate's.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, Reference, RequestBody

from adapters.gate import bodies
from adapters.gate import routes as table
from adapters.gate.routes import Route
from adapters.http.common import BEARER, COMMAND_DESCRIPTION, COMMAND_RESPONSES, IDEMPOTENCY_KEY
from adapters.http.views import CommandAccepted

SCHEMA_REF = "#/components/schemas/{name}"


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")


def make_handler(route: Route) -> HTTPRouteHandler:
    async def handler(request: Request[Any, Any, Any]) -> Response[CommandAccepted]:
        return await request.app.state["api"].command(request, route)

    handler.__name__ = handler.__qualname__ = _snake(route.name)
    handler.__doc__ = f"{route.summary}.\n\nCommand `{route.name}` (engine/commands.py)."
    return HTTPRouteHandler(
        path=route.litestar_path,
        http_method=route.method,
        status_code=route.status,
        tags=[route.tag],
        summary=route.summary,
        operation_id=route.name,
        responses=COMMAND_RESPONSES,
        security=BEARER,
        response_description=COMMAND_DESCRIPTION,
    )(handler)


ROUTES = [make_handler(r) for r in table.ROUTES]


def document(openapi: OpenAPI) -> None:
    """Attach the body schemas and the Idempotency-Key header to the command operations."""
    types = [bodies.body_type(r) for r in table.ROUTES]
    refs, components = msgspec.json.schema_components(types, ref_template=SCHEMA_REF)
    schemas = openapi.components.schemas
    if schemas is None:
        schemas = openapi.components.schemas = {}
    clash = set(components) & set(schemas)
    if clash:
        raise RuntimeError(f"OpenAPI component names taken twice: {sorted(clash)}")
    schemas.update(components)  # type: ignore[arg-type]  # plain JSON Schema dicts
    paths = openapi.paths or {}
    for route, ref, body in zip(table.ROUTES, refs, types, strict=True):
        item = paths[route.path]
        operation = getattr(item, route.method.lower())
        required = any(
            f.required for f in msgspec.structs.fields(body)
        )  # a body of optional fields may be left out
        operation.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=Reference(ref=ref["$ref"]))},
            required=required,
            description=f"The `{route.name}` command without the fields the server sets",
        )
        operation.parameters = [*(operation.parameters or []), IDEMPOTENCY_KEY]
