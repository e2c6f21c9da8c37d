"""The headers every answer carries, and the API docs served from this server alone (no CDN)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.security_headers import SecurityHeaders
from tests.e2e.conftest import Desk, Tokens, assert_problem, register_manager

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
OTHER_ORIGIN = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def assert_never_cached(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store", response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def directives(response: httpx.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy as a directive name to its sources."""
    policy = response.headers["content-security-policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";") if part.strip())}


# -- X-Content-Type-Options ----------------------------------------------------


def test_every_answer_tells_the_browser_not_to_guess_its_type(client: TestClient, tokens: Tokens) -> None:
    answers = {
        "health": client.get("/health"),
        "docs": client.get("/docs"),
        "a docs file": client.get("/docs/static/swagger-ui.css"),
        "the schema": client.get("/openapi.json"),
        "the dashboard": client.get("/"),
        "a dashboard file": client.get("/dashboard/app.js"),
        "a /v1 answer": client.get("/v1/me", headers=tokens.manager),
        "a 401": client.get("/v1/workload"),
        "a 404": client.get("/nowhere"),
    }

    assert answers["a /v1 answer"].status_code == 200
    assert answers["a 401"].status_code == 401
    assert {what: answer.headers.get("x-content-type-options") for what, answer in answers.items()} == dict.fromkeys(
        answers, "nosniff"
    )


# -- Cache-Control on authenticated answers ------------------------------------


def test_pay_answers_are_never_cached(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)

    pay = client.get(f"/v1/account-managers/{manager_id}/pay/2026", headers=tokens.manager)

    assert pay.status_code == 200, pay.text
    assert_never_cached(pay)


def test_the_gift_register_is_never_cached(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    register = client.get("/v1/compliance/gift-register", params={"year": 2026}, headers=tokens.compliance)

    assert register.status_code == 200, register.text
    assert_never_cached(register)


def test_refusals_under_v1_and_metrics_are_never_cached_either(client: TestClient, tokens: Tokens) -> None:
    unauthenticated = client.get("/v1/workload")
    forbidden = client.get("/v1/audit/verify", headers=tokens.manager)
    invalid = client.get("/v1/account-managers/not-a-uuid/pay/2026", headers=tokens.manager)
    metrics_without_a_token = client.get("/metrics")

    assert_problem(unauthenticated, 401, "unauthenticated")
    assert_problem(forbidden, 403, "forbidden")
    assert_problem(invalid, 422, "validation_error")
    assert_problem(metrics_without_a_token, 401, "unauthenticated")
    for refusal in (unauthenticated, forbidden, invalid, metrics_without_a_token):
        assert_never_cached(refusal)
    assert_never_cached(client.get("/metrics", headers=tokens.admin))


def test_the_pages_and_files_outside_the_api_keep_their_own_caching(client: TestClient) -> None:
    page = client.get("/")
    asset = client.get("/dashboard/app.js")

    assert page.headers["cache-control"] == "no-cache"
    assert "cache-control" not in asset.headers
    assert "etag" in asset.headers
    assert "cache-control" not in client.get("/health").headers


@pytest.mark.parametrize(
    ("given", "sent"),
    [(None, "no-store"), ("max-age=600", "no-store"), ("private, no-store", "private, no-store")],
)
def test_a_routes_own_cache_control_stands_only_if_it_already_forbids_storing(given: str | None, sent: str) -> None:
    def answer(_: object) -> PlainTextResponse:
        return PlainTextResponse("pay", headers={"Cache-Control": given} if given else None)

    app = SecurityHeaders(Starlette(routes=[Route("/v1/pay", answer)]))

    response = TestClient(app).get("/v1/pay")

    assert response.headers.get_list("cache-control") == [sent]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


# -- /docs and /redoc ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_load_only_files_of_this_server(client: TestClient, path: str) -> None:
    page = client.get(path)
    assets = ASSET.findall(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert OTHER_ORIGIN.findall(page.text) == []
    assert assets
    for url in assets:
        assert url.startswith("/docs/static/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert CONTENT_TYPES[url[url.rindex(".") :]] in served.headers["content-type"]


def test_the_swagger_page_runs_its_own_scripts_and_only_its_one_inline_script(client: TestClient) -> None:
    page = client.get("/docs")
    (inline,) = INLINE_SCRIPT.findall(page.text)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()

    assert "SwaggerUIBundle" in inline
    assert '<script src="/docs/static/swagger-ui-bundle.js">' in page.text
    assert '<link type="text/css" rel="stylesheet" href="/docs/static/swagger-ui.css">' in page.text
    policy = directives(page)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]


def test_the_redoc_page_runs_only_its_own_script(client: TestClient) -> None:
    page = client.get("/redoc")

    assert '<script src="/docs/static/redoc.standalone.js">' in page.text
    assert INLINE_SCRIPT.findall(page.text) == []
    policy = directives(page)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]


def test_the_docs_need_no_token_and_stay_out_of_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    assert client.head("/docs").status_code == 200
    assert [path for path in paths if path.startswith(("/docs", "/redoc"))] == []
