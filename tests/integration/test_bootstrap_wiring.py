"""`build_system` takes its collaborators: a clock, and stores already built (which stay the caller's to close)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.values import Role
from infrastructure.bootstrap import build_ledger, build_system, build_view_store
from infrastructure.settings import Settings
from tests.conftest import audit_as

T0 = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


def test_the_clock_given_is_the_ledgers_and_the_access_logs(database_url: str) -> None:
    settings = Settings(database_url=database_url, firm_timezone="America/New_York")
    system = build_system(settings, clock=lambda: T0, run_projections=False)
    try:
        assert system.ledger.today() == date(2031, 2, 2)  # 23:05 the evening before, in New York
        audit = audit_as(Role.ADMIN)
        system.access_log.record(audit.principal, method="GET", path="/v1/x", query="", status=200, correlation_id="c")
        assert [entry.at for entry in system.access_log.entries()] == ["2031-02-03T04:05:06.789012+00:00"]
    finally:
        system.close()


def test_stores_given_are_used_and_left_open(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings, clock=lambda: T0)
    view = build_view_store(settings)
    try:
        system = build_system(settings, ledger=ledger, view=view, run_projections=False)
        assert (system.ledger, system.view, system.access_log.clock) == (ledger, view, ledger.clock)
        system.close()
        assert ledger.recorder.max_notification_id() == 1  # still open: the gift policy, stored by build_ledger
        with view.reading() as cursor:
            assert cursor.execute("SELECT 1").fetchone() == (1,)
    finally:
        view.close()
        ledger.close()


def test_a_clock_and_a_ledger_together_are_refused(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    with build_ledger(settings) as ledger, pytest.raises(ValueError, match="clock or a ledger"):
        build_system(settings, ledger=ledger, clock=lambda: T0, run_projections=False)
