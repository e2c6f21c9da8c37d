"""Fixtures shared by every test: a fresh ledger on SQLite and on PostgreSQL, and principals."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.application import Ledger
from domain.values import Audit, Principal, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings

LEDGER = Path(sys.executable).with_name("ledger")
"""The `ledger` command of the environment running the tests."""
POSTGRES_ADMIN_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skips a PostgreSQL test where the server is down, except in CI, where that is a failure."""
    if postgres_available():
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}, and CI=true forbids skipping its tests")
    pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A ledger URL on a fresh PostgreSQL schema, dropped afterwards."""
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{POSTGRES_ADMIN_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty ledger: once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = build_ledger(Settings(database_url=database_url))
    yield app
    app.close()


def audit_as(role: Role, *, account_manager_id: uuid.UUID | None = None, actor_id: str | None = None) -> Audit:
    """An audit context for a principal of `role`, under a fresh correlation id."""
    principal = Principal(
        id=actor_id or f"{role.value}-{uuid.uuid4().hex[:8]}",
        role=role,
        account_manager_id=account_manager_id,
    )
    return Audit(principal=principal, correlation_id=f"corr-{uuid.uuid4().hex}")


@pytest.fixture
def manager() -> Audit:
    return audit_as(Role.MANAGER)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: the PostgreSQL tests must run, never skip."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped and exitstatus == pytest.ExitCode.OK:
        print(f"\nCI=true: {len(skipped)} test(s) were skipped; in CI every test must run.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
