"""The ledger's own dashboard: a page at `/` and its static files under `/dashboard/`, built on the public API only.

Nothing here reads the ledger: the page asks `/v1` with the token the user
pastes in, like any other front-end. Neither route is in the OpenAPI schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
ASSETS_PATH = "/dashboard"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Everything from the page's own origin, nothing from anywhere else: the browser enforces it too."""

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The dashboard's single page; the hash after `/#/` says which view it shows."""
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"},
    )


def install(app: FastAPI) -> None:
    """Serves the page at `/` and its scripts and styles under `/dashboard/`."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC), name="dashboard")
