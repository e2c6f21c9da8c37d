"""Schemathesis against /openapi.json: no request, however odd, gets a 500; every answer matches its schema, carries
`X-Correlation-ID`, and every error is an RFC 9457 problem with its `status` and `code`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.core.result import Err

from api.app import create_app
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings

PROBLEM_JSON = "application/problem+json"


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """500 is never an answer: every failure the API knows of is a problem with its own code (503 included)."""
    if response.status_code == 500:
        msg = f"500 Internal Server Error for {case.method} {case.formatted_path}"
        raise AssertionError(msg)
    return None


def _header(response: Any, name: str) -> str | None:
    # Schemathesis keeps headers with lowercase names, each a list of values.
    values = response.headers.get(name.lower())
    return str(values[0]) if values else None


@schemathesis.check
def correlation_id_on_every_response(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every response, of every status, carries `X-Correlation-ID` (API.md's conventions)."""
    if not _header(response, "X-Correlation-ID"):
        msg = f"{response.status_code} without X-Correlation-ID for {case.method} {case.formatted_path}"
        raise AssertionError(msg)
    return None


@schemathesis.check
def every_error_is_a_problem(ctx: Any, response: Any, case: Any) -> bool | None:
    """A status of 400 or more answers `application/problem+json` with the `status` it was sent with and a `code`."""
    if response.status_code < 400:
        return None
    where = f"{response.status_code} for {case.method} {case.formatted_path}"
    content_type = _header(response, "Content-Type") or ""
    if not content_type.startswith(PROBLEM_JSON):
        msg = f"{where} is {content_type or 'without a content type'}, not {PROBLEM_JSON}: {response.text[:300]}"
        raise AssertionError(msg)
    try:
        body = response.json()
    except ValueError:
        msg = f"{where}: the problem is not JSON: {response.text[:300]}"
        raise AssertionError(msg) from None
    if not isinstance(body, dict) or body.get("status") != response.status_code or not body.get("code"):
        msg = f"{where}: a problem needs the same `status` and a `code`: {response.text[:300]}"
        raise AssertionError(msg)
    return None


CHECKS = [
    no_internal_error,
    correlation_id_on_every_response,
    every_error_is_a_problem,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed_system(request: pytest.FixtureRequest) -> Iterator[System]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    system = build_system(Settings(database_url=url))
    yield system
    system.close()


def test_no_generated_request_gets_a_500_and_every_response_matches_the_schema(fuzzed_system: System) -> None:
    token = fuzzed_system.tokens.issue(role=Role.ADMIN, name="schemathesis").token
    # A short min_position wait: generated positions are far ahead of the log, and
    # answering `projection_lagging` after 5 s each would only slow the run down.
    app = create_app(fuzzed_system, min_position_wait=0.01)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the schema itself: {result.err()}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            check()
        except BaseException as failure:
            failures.append(f"{operation.label}: {str(failure)[:1500]}")
    assert not failures, "\n\n".join(failures)
