"""The dashboard's files as the server hands them out: the page at `/`, its assets, and nothing from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.dashboard import STATIC

ASSETS = sorted(path.name for path in STATIC.iterdir() if path.is_file())
CONTENT_TYPES = {".html": "text/html", ".js": "javascript", ".css": "text/css"}
URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}""")
NAMESPACES = {"http://www.w3.org/2000/svg"}  # an identifier that createElementNS needs, never fetched


def test_the_page_at_the_root_is_the_dashboard_and_needs_no_token(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Relationship ledger</title>" in response.text
    assert '<script type="module" src="/dashboard/app.js">' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_the_api_and_operations_stay_where_they_were_and_the_dashboard_is_not_in_the_schema(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()

    assert client.get("/health").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/v1/workload").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert "/v1/me" in schema["paths"]
    assert not [path for path in schema["paths"] if not path.startswith("/v1/") and path not in ("/health", "/metrics")]


@pytest.mark.parametrize("name", ASSETS)
def test_each_asset_is_served_with_its_content_type(client: TestClient, name: str) -> None:
    response = client.get(f"/dashboard/{name}")

    assert response.status_code == 200
    assert CONTENT_TYPES[Path(name).suffix] in response.headers["content-type"]
    assert response.content == (STATIC / name).read_bytes()


@pytest.mark.parametrize("name", ASSETS)
def test_no_asset_reaches_outside_the_pages_own_origin(name: str) -> None:
    text = (STATIC / name).read_text()
    for namespace in NAMESPACES:
        text = text.replace(namespace, "")

    assert URL.findall(text) == [], f"{name} refers to another origin"


def test_every_module_the_page_imports_is_an_asset() -> None:
    imported = set()
    for name in ASSETS:
        imported |= set(re.findall(r"""from\s+["']\./([\w.-]+)["']""", (STATIC / name).read_text()))

    assert imported
    assert imported <= set(ASSETS)
