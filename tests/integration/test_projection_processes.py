"""Four writer processes and two `ledger projections run` processes at once on PostgreSQL: every event shows once."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import pytest

from domain.application import Ledger
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from projections.runner import Projections
from tests.conftest import LEDGER
from tests.integration.projection_support import (
    TRACKING_NAMES,
    LedgerDriver,
    audit_positions,
    dump_views,
    head,
    next_tables,
    stored_positions,
    tracking_positions,
    wait_until,
    write_commands,
)

pytestmark = pytest.mark.postgres

WRITERS = 4
COMMANDS_EACH = 48
READY = "Projections following"


@pytest.fixture
def ledger(postgres_url: str) -> Iterator[Ledger]:
    """A ledger on a fresh PostgreSQL schema (this file runs on PostgreSQL only)."""
    app = build_ledger(Settings(database_url=postgres_url))
    yield app
    app.close()


@pytest.fixture
def projections(ledger: Ledger, postgres_url: str) -> Iterator[Projections]:
    projections = build_projections(ledger, Settings(database_url=postgres_url))
    yield projections
    projections.view.close()


def start_projection_process(postgres_url: str, log: IO[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGER_DATABASE_URL": postgres_url}
    return subprocess.Popen(
        [LEDGER, "projections", "run", "--poll-interval", "0.05"], env=env, stdout=log, stderr=log, text=True
    )


def kill_if_running(process: subprocess.Popen[str]) -> None:
    """Leaves no process behind when the test fails before stopping it."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def test_four_writers_and_two_projection_processes_at_once_reflect_every_event_exactly_once(
    ledger: Ledger, projections: Projections, postgres_url: str, tmp_path: Path
) -> None:
    # A starting book that every writer shares, so that they race on the same relationships and recipients.
    driver = LedgerDriver(ledger)
    for number, kind in enumerate(("register", "register", "register", *["open_relationship"] * 4)):
        assert driver.run(kind, number, number * 5 + 2)
    view = projections.view

    with ExitStack() as stack:
        # Two projection processes and four writer processes start at once; each writer then runs a few dozen
        # random commands as soon as all four have their ledger.
        logs = [tmp_path / f"projections-{number}.log" for number in range(2)]
        followers: list[subprocess.Popen[str]] = []
        for path in logs:
            follower = start_projection_process(postgres_url, stack.enter_context(path.open("w")))
            stack.callback(kill_if_running, follower)
            followers.append(follower)
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(WRITERS)
        report = context.Queue()
        writers = [
            context.Process(
                target=write_commands,
                args=(
                    postgres_url,
                    random.randrange(2**32),
                    COMMANDS_EACH,
                    [str(m) for m in driver.managers],
                    [str(r) for r in driver.relationships],
                    start,
                    report,
                ),
            )
            for _ in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        outcomes = [report.get(timeout=120) for _ in writers]
        for writer in writers:
            writer.join(timeout=30)
        failures = [error for _, _, error in outcomes if error]
        assert not failures, failures[0]
        assert sum(stored for _, stored, _ in outcomes) > WRITERS * COMMANDS_EACH // 3
        for follower, path in zip(followers, logs, strict=True):
            assert follower.poll() is None, path.read_text()

        # Both projection processes follow the log to its head.
        last = head(ledger)
        wait_until(
            lambda: min(tracking_positions(view).values()) >= last,
            timeout=60,
            interval=0.05,
            what=f"the projection processes to reach position {last}",
        )

        # Once both say they are following, SIGTERM stops each cleanly, without a batch that failed on the way.
        wait_until(
            lambda: all(READY in path.read_text() for path in logs), timeout=30, what="both projection processes"
        )
        for follower in followers:
            follower.send_signal(signal.SIGTERM)
        for follower, path in zip(followers, logs, strict=True):
            assert follower.wait(timeout=30) == 0, path.read_text()
            text = path.read_text()
            assert "Projections stopped" in text
            assert "could not process a batch" not in text, text

    # Every stored event is in the audit index exactly once, and nothing beyond.
    stored = stored_positions(ledger)
    assert audit_positions(view) == stored
    assert stored[-1] == ledger.recorder.max_notification_id() == last
    assert tracking_positions(view) == dict.fromkeys(TRACKING_NAMES, last)

    # The views equal a clean rebuild from the first event.
    followed = dump_views(view)
    Projections(ledger, view).rebuild_from_scratch()
    assert dump_views(view) == followed
    assert next_tables(view) == []
    assert all(followed[table] for table in ("wl_managers", "wl_relationships", "gr_gifts", "audit_events"))
