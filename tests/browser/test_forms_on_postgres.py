"""Each person's day in the dashboard once more, against `ledger serve --demo` on PostgreSQL.

The forms modules below run on SQLite, each against its own `ledger serve --demo`. Here their tests are collected
a second time (pytest collects every `test_*` function in a module's namespace, wherever it was written), with this
module's `demo`: again one demo ledger per module they come from, but each on a fresh PostgreSQL schema, dropped
afterwards. A test added to one of those modules runs here too, with no change to this file.

Screenshots go to `test-output/browser/postgres/`, so they never overwrite the SQLite run's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from tests.browser import test_compliance_forms as compliance_forms
from tests.browser import test_manager_admin_forms as manager_admin_forms
from tests.browser import test_reading_the_day as reading_the_day
from tests.browser import test_relationship_forms as relationship_forms
from tests.browser.conftest import SCREENSHOTS, DemoLedger, served_demo
from tests.conftest import POSTGRES_ADMIN_URL, require_postgres

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")


pytestmark = pytest.mark.postgres

DAYS: tuple[ModuleType, ...] = (
    relationship_forms,  # the account manager's
    manager_admin_forms,  # the manager's and the admin's
    compliance_forms,  # the compliance officer's
    reading_the_day,  # everyone's landing page, timeline, lists and audit feed
)
"""The modules whose tests run here as well, each as on SQLite: none of them depends on SQLite."""


def named_tests(module: ModuleType) -> dict[str, Callable[..., None]]:
    """The functions pytest collects from `module`, by name (this helper's own name must not start with `test`)."""
    return {name: test for name, test in vars(module).items() if name.startswith("test_") and callable(test)}


def collect_again(modules: tuple[ModuleType, ...]) -> dict[str, Callable[..., None]]:
    """Every test of `modules` by name, refusing two of one name (one would silently hide the other here)."""
    collected: dict[str, Callable[..., None]] = {}
    for module in modules:
        tests = named_tests(module)
        clashes = collected.keys() & tests.keys()
        assert not clashes, f"{module.__name__} has tests named as another module's: {sorted(clashes)}"
        collected |= tests
    return collected


globals().update(collect_again(DAYS))


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A ledger URL on a new PostgreSQL schema, dropped afterwards (as `tests/conftest.py`'s `postgres_url`)."""
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_ADMIN_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class DemosOnPostgres:
    """One `ledger serve --demo` on a fresh schema per module of `DAYS`, started when its first test asks, and all
    stopped (their schemas dropped) by `close`: the tests share a demo exactly as on SQLite, where each module has
    its own module-scoped one."""

    def __init__(self, folders: pytest.TempPathFactory) -> None:
        self.folders = folders
        self.served: dict[str, DemoLedger] = {}
        self.stack = ExitStack()

    def of(self, module_name: str) -> DemoLedger:
        if module_name not in self.served:
            url = self.stack.enter_context(fresh_postgres_schema())
            folder = self.folders.mktemp("dashboard-postgres")
            served = self.stack.enter_context(served_demo(url, folder))
            assert served.server.wait_until_healthy()["store"] == "postgresql"
            self.served[module_name] = served
        return self.served[module_name]

    def close(self) -> None:
        self.stack.close()


@pytest.fixture(scope="module")
def demos_on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemosOnPostgres]:
    demos = DemosOnPostgres(tmp_path_factory)
    try:
        yield demos
    finally:
        demos.close()


@pytest.fixture
def demo(demos_on_postgres: DemosOnPostgres, request: pytest.FixtureRequest) -> DemoLedger:
    """The demo ledger on PostgreSQL of the module the running test was written in."""
    return demos_on_postgres.of(request.function.__module__)


@pytest.fixture
def screenshots() -> Path:
    return SCREENSHOTS / "postgres"


berlin = reading_the_day.berlin  # its tab of a viewer in Berlin, photographed into this module's `screenshots`
