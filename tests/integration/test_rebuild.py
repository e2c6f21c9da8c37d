"""`ledger rebuild --from-scratch`: killed part-way it leaves the live views intact, and the next run finishes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from datetime import date
from pathlib import Path

from infrastructure.bootstrap import build_ledger, build_projections, build_view_store
from infrastructure.settings import Settings
from infrastructure.sql import NEXT
from projections.runner import Projections
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import LEDGER
from tests.integration.projection_support import (
    TRACKING_NAMES,
    VIEW_TABLES,
    dump_views,
    head,
    next_tables,
    postgres_sessions,
    tracking_positions,
    wait_until,
)

PLAN = SeedPlan(managers=12, relationships=200, events=20_000, random_seed=2026, until=date(2026, 6, 30))
SMALL_PLAN = SeedPlan(managers=3, relationships=15, events=1_000, random_seed=9, until=date(2026, 6, 30))
REPORT = re.compile(r"at position (\d+); ([\d,]+) events in")


def ledger_env(database_url: str, application_name: str) -> dict[str, str]:
    """The command's environment: the store, and a name its PostgreSQL sessions show in pg_stat_activity."""
    return {**os.environ, "LEDGER_DATABASE_URL": database_url, "PGAPPNAME": application_name}


def test_a_rebuild_killed_part_way_leaves_the_live_views_intact_and_a_second_run_completes_it(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url)

    # A ledger of 20,000 seeded events, its views caught up the ordinary way.
    with build_ledger(settings) as ledger:
        seed_ledger(ledger, PLAN, progress=False)
        last = head(ledger)
    with build_ledger(settings) as ledger:
        projections = build_projections(ledger, settings)
        assert projections.catch_up() == last
    view = projections.view
    try:
        before = dump_views(view)
        assert len(before["audit_events"]) == last
        assert tracking_positions(view) == dict.fromkeys(TRACKING_NAMES, last)

        # A rebuild from scratch runs in its own process; once it has committed fresh rows beside the live ones
        # (its `__next` position has moved), it is killed outright.
        output = tmp_path / "killed.log"
        killed_name = f"killed-rebuild-{uuid.uuid4().hex[:8]}"
        with output.open("w") as log:
            rebuild = subprocess.Popen(
                [LEDGER, "rebuild", "--from-scratch"],
                env=ledger_env(database_url, killed_name),
                stdout=log,
                stderr=log,
            )
            try:
                wait_until(
                    lambda: view.position("workload" + NEXT) > 0 or rebuild.poll() is not None,
                    timeout=60,
                    interval=0.002,
                    what="the rebuild to commit its first batch",
                )
                rebuild.send_signal(signal.SIGKILL)
            finally:
                rebuild.wait(timeout=30)
        assert rebuild.returncode == -signal.SIGKILL, output.read_text()
        if database_url.startswith("postgresql"):
            # The server ends the dead client's sessions (rolling back what was in flight) once it notices.
            wait_until(lambda: postgres_sessions(killed_name) == 0, timeout=30, what="the killed sessions to end")
        killed_at = view.position("workload" + NEXT)
        assert 0 < killed_at < last

        # The live views are exactly as they were, at the head of the log; the fresh tables wait beside them.
        assert dump_views(view) == before
        assert tracking_positions(view) == {
            **dict.fromkeys(TRACKING_NAMES, last),
            **{name + NEXT: killed_at for name in TRACKING_NAMES},
        }
        assert sorted(next_tables(view)) == sorted(table.name + NEXT for table in VIEW_TABLES)

        # A second run resumes where the killed one stopped and swaps every fresh table in.
        finished = subprocess.run(
            [LEDGER, "rebuild", "--from-scratch"],
            env=ledger_env(database_url, f"rebuild-{uuid.uuid4().hex[:8]}"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        report = REPORT.search(finished.stdout)
        assert report is not None, finished.stdout
        assert int(report[1]) == last
        assert int(report[2].replace(",", "")) == last - killed_at

        # Every row of every view is what the ordinary catch-up built; nothing is left of the rebuild.
        assert dump_views(view) == before
        assert tracking_positions(view) == dict.fromkeys(TRACKING_NAMES, last)
        assert next_tables(view) == []
    finally:
        view.close()


def test_a_rebuild_that_another_process_finishes_first_ends_cleanly(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    with build_ledger(settings) as ledger:
        seed_ledger(ledger, SMALL_PLAN, progress=False)
        last = head(ledger)
        live = build_projections(ledger, settings)
        live.catch_up()
        before = dump_views(live.view)
        first = Projections(ledger, build_view_store(settings), batch_size=200)
        second = Projections(ledger, build_view_store(settings), batch_size=200)
        batches: list[int] = []

        def meanwhile(reached: int, total: int) -> None:
            # After the first rebuild's first batch, another operator's rebuild runs to the end and swaps in.
            if not batches:
                second.rebuild_from_scratch()
            batches.append(reached)

        try:
            assert first.rebuild_from_scratch(meanwhile) == last
            assert dump_views(live.view) == before
            assert tracking_positions(live.view) == dict.fromkeys(TRACKING_NAMES, last)
            assert next_tables(live.view) == []
        finally:
            for projections in (live, first, second):
                projections.view.close()
