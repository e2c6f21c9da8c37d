"""Swagger UI at `/docs` and ReDoc at `/redoc`, from the files the `fastapi-offline` package installs.

Nothing is loaded from another origin, so the pages work without internet and
run no foreign script beside the API; each page's Content-Security-Policy makes
the browser hold to that too. Neither page nor its files is in the OpenAPI
schema, and none needs a token (the schema they show is public as well).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).with_name("static")
"""swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png, as the package ships them."""
ASSETS_PATH = "/docs/static"
SWAGGER_JS = f"{ASSETS_PATH}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS_PATH}/swagger-ui.css"
REDOC_JS = f"{ASSETS_PATH}/redoc.standalone.js"
FAVICON = f"{ASSETS_PATH}/favicon.png"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """The CSP sources (`'sha256-...'`) that allow exactly the inline scripts of this page and no other."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]


def content_security_policy(*, script_src: str, style_src: str, worker_src: str = "'none'") -> str:
    """Everything from the page's own origin, nothing from anywhere else, as on the dashboard."""
    return (
        f"default-src 'self'; script-src {script_src}; style-src {style_src}; img-src 'self' data:; "
        f"connect-src 'self'; worker-src {worker_src}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


@dataclass(frozen=True)
class Page:
    """A docs page, rendered once when the app is built, and the policy it is served with."""

    html: str
    content_security_policy: str

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, headers={"Content-Security-Policy": self.content_security_policy})


def swagger_page(app: FastAPI) -> Page:
    """Swagger UI on the app's schema; its one inline script (FastAPI's, which starts Swagger UI) allowed by hash."""
    assert app.openapi_url is not None
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=FAVICON,
        # Swagger UI would otherwise offer to send the schema to the public validator.
        swagger_ui_parameters={"validatorUrl": None},
    )
    html = bytes(page.body).decode()
    policy = content_security_policy(script_src=" ".join(["'self'", *script_hashes(html)]), style_src="'self'")
    return Page(html, policy)


def redoc_page(app: FastAPI) -> Page:
    """ReDoc on the app's schema. It styles itself with `<style>` elements and searches in a worker it makes
    from a `blob:` URL, so the policy allows both; the Redocly logo it would fetch from Redocly's CDN is
    refused by the browser, and ReDoc then leaves the logo out."""
    assert app.openapi_url is not None
    page = get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    policy = content_security_policy(script_src="'self'", style_src="'self' 'unsafe-inline'", worker_src="blob:")
    return Page(bytes(page.body).decode(), policy)


def install(app: FastAPI) -> None:
    """Serves `/docs`, `/redoc` and their files under `/docs/static/` (call with FastAPI's own docs turned off)."""
    swagger = swagger_page(app)
    redoc = redoc_page(app)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/docs", methods=["GET", "HEAD"])
    async def docs() -> HTMLResponse:
        """The API's reference, to read and to try out (Swagger UI)."""
        return swagger.response()

    @router.api_route("/redoc", methods=["GET", "HEAD"])
    async def redoc_docs() -> HTMLResponse:
        """The API's reference, to read (ReDoc)."""
        return redoc.response()

    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs")
