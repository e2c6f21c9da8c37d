"""A real `ledger serve --demo` and headless Chromium (Debian's, driven by Playwright) for the dashboard's tests.

Chromium is `/usr/bin/chromium` unless `LEDGER_CHROMIUM` names another. Each test's
page is photographed when the test ends, into `<screenshots>/<test name>.png`, where the
`screenshots` fixture is `test-output/browser` under the project root unless a module
overrides it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.test_served import Server, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "browser"
TIMEOUT_MS = 15_000


@dataclass
class DemoLedger:
    """The served demo ledger: its address, the tokens it printed (by role), and a client to ask the API."""

    server: Server
    tokens: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, role: str, path: str, **params: Any) -> Any:
        """GET /v1{path} as the demo token of `role`; fails the test unless it answers 200."""
        response = httpx.get(
            f"{self.base_url}/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def every(self, role: str, path: str, **params: Any) -> list[Any]:
        """Every item of a paged list."""
        items: list[Any] = []
        cursor = None
        while True:
            page = self.api(role, path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@contextmanager
def served_demo(database_url: str, folder: Path) -> Iterator[DemoLedger]:
    """`ledger serve --demo` on the (new, empty) store at `database_url`, run in `folder`; stopped afterwards."""
    server = start_server(database_url, folder, "--demo")
    try:
        server.wait_until_healthy()
        printed = dict(re.findall(r"^\s+(\w+)\s+(ldg_\S+)$", server.output(), re.MULTILINE))
        assert f"Dashboard at {server.base_url}/" in server.output()
        yield DemoLedger(server, printed)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoLedger]:
    """`ledger serve --demo` on a new SQLite file, with the tokens it printed."""
    folder = tmp_path_factory.mktemp("dashboard")
    with served_demo(f"sqlite:///{folder / 'ledger.sqlite3'}", folder) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system's packages (no browser is downloaded)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set LEDGER_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots() -> Path:
    """The folder each test's screenshot goes to (a module may override it, to keep its photographs apart)."""
    return SCREENSHOTS


@contextmanager
def photographed_tab(browser: Browser, base_url: str, screenshot: Path, **context_options: Any) -> Iterator[Page]:
    """A fresh browser tab (its own session storage) on `base_url`, saved to `screenshot` when done, failing if the
    page threw. `context_options` go to Playwright's `new_context` (a `timezone_id`, say)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base_url, **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(screenshot), full_page=True)
        context.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def page(browser: Browser, demo: DemoLedger, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser tab (its own session storage) on the dashboard; photographed when the test ends."""
    with photographed_tab(browser, demo.base_url, screenshots / f"{request.node.name}.png") as tab:
        yield tab
