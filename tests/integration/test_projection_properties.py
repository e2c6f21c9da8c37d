"""Whatever the commands and wherever the views caught up in between, they equal a rebuild from the first event."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.bootstrap import build_ledger, build_view_store
from infrastructure.settings import Settings
from projections.runner import Projections
from tests.conftest import require_postgres
from tests.integration.projection_support import (
    TRACKING_NAMES,
    LedgerDriver,
    audit_positions,
    dump_views,
    fresh_postgres_url,
    head,
    next_tables,
    stored_positions,
    tracking_positions,
)

Step = tuple[str, int, int]

SYNCS = ("run_once", "catch_up")
"""Steps that bring the incremental views forward instead of running a command."""

command_steps = st.tuples(st.sampled_from(LedgerDriver.KINDS), st.integers(0, 2**24), st.integers(0, 2**24))
sync_steps = st.tuples(st.sampled_from(SYNCS), st.just(0), st.just(0))
histories = st.lists(st.one_of(command_steps, command_steps, command_steps, sync_steps), min_size=15, max_size=60)
batch_sizes = st.integers(1, 12)


@contextlib.contextmanager
def fresh_sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'ledger.sqlite3'}"


def check_incremental_views_equal_a_rebuild(database_url: str, steps: list[Step], batch_size: int) -> None:
    settings_ = Settings(database_url=database_url)
    ledger = build_ledger(settings_)
    incremental = Projections(ledger, build_view_store(settings_), batch_size=batch_size)
    rebuilt = Projections(ledger, build_view_store(settings_))
    try:
        # A starting book so that most commands have something to act on.
        driver = LedgerDriver(ledger)
        for number, kind in enumerate(("register", "register", "open_relationship", "open_relationship")):
            driver.run(kind, number, number * 7 + 1)

        # The commands, with the incremental views brought forward a batch or all the way at random points.
        for kind, a, b in steps:
            if kind == "run_once":
                incremental.run_once()
            elif kind == "catch_up":
                incremental.catch_up()
            else:
                driver.run(kind, a, b)
        incremental.catch_up()
        built_incrementally = dump_views(incremental.view)
        assert tracking_positions(incremental.view) == dict.fromkeys(TRACKING_NAMES, head(ledger))
        assert audit_positions(incremental.view) == stored_positions(ledger)

        # A second projections object rebuilds every view from the first event and swaps it in.
        assert rebuilt.rebuild_from_scratch() == head(ledger)
        assert dump_views(incremental.view) == built_incrementally
        assert next_tables(incremental.view) == []
        assert tracking_positions(incremental.view) == dict.fromkeys(TRACKING_NAMES, head(ledger))
    finally:
        incremental.view.close()
        rebuilt.view.close()
        ledger.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=histories, batch_size=batch_sizes)
def test_views_built_while_commands_run_equal_a_rebuild_from_scratch_on_sqlite(
    steps: list[Step], batch_size: int
) -> None:
    with fresh_sqlite_url() as database_url:
        check_incremental_views_equal_a_rebuild(database_url, steps, batch_size)


@pytest.mark.postgres
def test_views_built_while_commands_run_equal_a_rebuild_from_scratch_on_postgres() -> None:
    require_postgres()

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps=histories, batch_size=batch_sizes)
    def on_a_fresh_schema(steps: list[Step], batch_size: int) -> None:
        with fresh_postgres_url() as database_url:
            check_incremental_views_equal_a_rebuild(database_url, steps, batch_size)

    on_a_fresh_schema()
