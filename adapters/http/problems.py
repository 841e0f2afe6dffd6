"""RFC 9457 problem details: every error the HTTP API returns, in one shape.

Owns: `Problem` (the `application/problem+json` body: `type`, `title`, `status`,
`detail`, plus `field` and `rule` naming the input and the rule it broke), `ApiError`
(raised by handlers), the mapping from engine refusals and framework exceptions to
problems (`problem_handler`), the OpenAPI description of the error responses
(`PROBLEM_RESPONSES`) and `scrub`, which masks any unmasked phone or ID number in text
that leaves the process.

Invariants:
- Every 4xx/5xx response is `application/problem+json` with a non-empty `detail`, a
  `field` ("" when no single input is at fault) and a `rule` (a stable machine word).
- `type` is `urn:lingong:problem:<rule>`; `status` repeats the HTTP status.
- Details never carry personal data: refusal messages are scrubbed, 5xx details are
  generic (the exception text stays out of responses and logs).

Limits: `MAX_DETAIL_CHARS` characters of detail.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec

from adapters.gate.gate import status_of
from adapters.shell.runtime import RuntimeStopped
from adapters.shell.service import ServiceBusy
from engine.idnumbers import find_unmasked_pii, mask_id_number, mask_mobile

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:lingong:problem:"
MAX_DETAIL_CHARS = 500

TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem detail with the refused `field` and the broken `rule`."""

    type: str
    title: str
    status: int
    detail: str
    field: str = ""
    rule: str = ""


class ApiError(Exception):
    """Raised by handlers: becomes a problem response."""

    def __init__(
        self,
        status: int,
        rule: str,
        detail: str,
        field: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.rule = rule
        self.detail = detail
        self.field = field
        self.headers = headers or {}

    @classmethod
    def from_refusal(cls, refusal: dict[str, str]) -> ApiError:
        rule = refusal.get("rule", "refused")
        return cls(
            status_of(rule), rule, refusal.get("message", "refused"), refusal.get("field", "")
        )


_SPACE = re.compile(r"\s+")
# handler argument names -> the names on the wire
FIELD_ALIASES = {"idempotency_key": "Idempotency-Key", "date_from": "from", "date_to": "to"}


def scrub(text: str) -> str:
    """`text` with every unmasked mobile or ID number replaced by its masked form."""
    for found in find_unmasked_pii(text):
        masked = mask_mobile(found) if len(found) == 11 else mask_id_number(found)
        text = text.replace(found, masked)
    return text


def problem(
    status: int, rule: str, detail: str, field: str = "", headers: dict[str, str] | None = None
) -> Response[Problem]:
    detail = scrub(_SPACE.sub(" ", detail).strip())[:MAX_DETAIL_CHARS] or TITLES.get(
        status, "Error"
    )
    body = Problem(
        type=TYPE_PREFIX + (rule or "error"),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        field=field,
        rule=rule or "error",
    )
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation(exc: ValidationException) -> tuple[str, str]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts: list[str] = []
    field = ""
    for item in extra[:5]:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        if key == "data":
            key = "body"
        key = FIELD_ALIASES.get(key, key)
        field = field or key
        parts.append(
            f"{key}: {item.get('message', 'invalid')}" if key else str(item.get("message"))
        )
    return field or "body", "; ".join(parts) or "the request does not match the schema"


def problem_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Exception handler of the app: every exception becomes a problem response."""
    request.scope.setdefault("state", {})
    if isinstance(exc, ApiError):
        if exc.rule:
            request.scope["state"]["lingong_rule"] = exc.rule
        return problem(exc.status, exc.rule, exc.detail, exc.field, exc.headers)
    if isinstance(exc, ValidationException):
        field, detail = _validation(exc)
        request.scope["state"]["lingong_rule"] = "schema"
        return problem(400, "schema", detail, field)
    if isinstance(exc, NotFoundException):
        return problem(404, "route", "no such resource or route", "path")
    if isinstance(exc, MethodNotAllowedException):
        return problem(405, "method", "this method is not allowed on this route", "method")
    if isinstance(exc, HTTPException) and exc.status_code == 413:
        return problem(413, "max_body_bytes", "the request body is too large", "body")
    if isinstance(exc, ClientException) and exc.status_code == 400:
        detail = str(exc.detail)
        if "JSON" in detail or "json" in detail or "decode" in detail.lower():
            return problem(400, "json", "the body is not valid JSON", "body")
        return problem(400, "bad_request", detail, "")
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        return problem(exc.status_code, "http", str(exc.detail), "")
    if isinstance(exc, ServiceBusy):
        return problem(
            503, "queue_full", "the engine is busy; retry shortly", "", {"Retry-After": "1"}
        )
    if isinstance(exc, RuntimeStopped):
        return problem(503, "stopped", "the engine stopped; it recovers on restart", "")
    request.scope["state"]["lingong_error"] = type(exc).__name__
    logger = request.app.state.get("logger")
    if logger is not None:
        logger.error("unhandled", exc_info=exc, extra={"fields": {"event": "unhandled"}})
    return problem(500, "internal", "internal error; it has been logged", "")


def problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


PUBLIC_PROBLEMS: dict[int, ResponseSpec] = {
    400: problem_spec("Malformed request: `field` names the input, `rule` the check"),
    404: problem_spec("No such resource"),
    405: problem_spec("Method not allowed"),
    429: problem_spec("Too many requests (see Retry-After)"),
    503: problem_spec("The engine is busy or stopped"),
}

PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    **PUBLIC_PROBLEMS,
    401: problem_spec("Missing, unknown or revoked bearer token"),
    403: problem_spec("The token's role, region or station does not allow this"),
    409: problem_spec("Conflict: the id is already taken"),
    413: problem_spec("Request body too large"),
    422: problem_spec("Refused: a bound or an engine rule (`field`, `rule`); nothing changed"),
}
