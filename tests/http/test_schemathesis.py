"""Schemathesis against the served OpenAPI schema, in-process (ASGI), bounded.

For every operation, positive and negative examples: no 5xx; statuses, content types
and bodies as documented; every 4xx is problem+json that explains itself (type, title,
status, detail, field, rule); and a refused request appends nothing to the log
(`runtime.log.last_seq` compared around each call; there is no ticker).
Examples are derandomized so CI is stable; to explore, raise `LINGONG_FUZZ_EXAMPLES` and
set `LINGONG_FUZZ_RANDOM=1`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.http.app import create_app
from adapters.http.auth import Limits
from tests.http.world import Env, make_env

EXAMPLES = int(os.environ.get("LINGONG_FUZZ_EXAMPLES", "6"))
RANDOM = os.environ.get("LINGONG_FUZZ_RANDOM", "") == "1"  # explore beyond the fixed examples
PROBLEM_KEYS = {"type", "title", "status", "detail", "field", "rule"}
TIMES: dict[str, float] = {}
UNLIMITED = Limits(rate_per_s=1e9, burst=10**9, public_rate_per_s=1e9, public_burst=10**9)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    env = make_env(tmp_path_factory.mktemp("fuzz"), limits=UNLIMITED)
    try:
        yield env
    finally:
        env.close()


def _token_for(env: Env, path: str) -> str:
    if path.endswith("/review") or path.endswith("/contact"):
        return env.tokens["station_staff/4206"]
    return env.tokens["admin/*"]


def _check_problem(response, status: int) -> None:
    assert response.headers["content-type"][0].startswith("application/problem+json"), (
        response.headers
    )
    body = response.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["type"] == "urn:lingong:problem:" + body["rule"]
    assert body["detail"] and body["title"] and body["rule"]


def _fuzz(env: Env, operation, mode: GenerationMode) -> bool:
    headers = {"Authorization": f"Bearer {_token_for(env, operation.path)}"}
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        before = env.seq
        # when schemathesis removes the bearer token on purpose, send none: expect 401
        unauthenticated = case.operation.schema.is_security_param_negated(case)
        sent = {} if unauthenticated else headers
        response = case.call(headers=sent)
        status = response.status_code
        assert status < 500, response.text
        if status >= 400:
            _check_problem(response, status)
            assert env.seq == before, f"{status} but the log grew"
        if unauthenticated:
            assert status == 401, response.text
        case.validate_response(response, checks=checks, headers=sent)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        return False  # nothing in this operation can be made invalid (a bare string path)
    except Exception as exc:
        exc.add_note(f"operation {operation.label} ({mode.value})")
        raise
    return True


def test_schemathesis_every_operation(fuzz_env: Env) -> None:
    # schemathesis runs its own app (and lifespan) over the same engine service
    app = create_app(fuzz_env.service, data_dir=fuzz_env.data_dir, limits=UNLIMITED,
                     log_stream=fuzz_env.logs)  # fmt: skip
    try:
        _run_all(fuzz_env, app)
    finally:
        shutdown_lifespans()


def _run_all(fuzz_env: Env, app) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 38
    negated = 0
    for operation in operations:
        started = time.perf_counter()
        _fuzz(fuzz_env, operation, GenerationMode.POSITIVE)
        negated += _fuzz(fuzz_env, operation, GenerationMode.NEGATIVE)
        TIMES[operation.label] = time.perf_counter() - started
    assert negated >= 30  # most operations have something to get wrong
    # the engine is still healthy and consistent after the fuzzing
    health = fuzz_env.client.get("/healthz")
    assert health.status_code == 200 and health.json()["seq"] == fuzz_env.seq
