"""A view that cannot apply an event (a bug, a poison event): it stops just before it, the others go on, it is retried.

On SQLite and PostgreSQL. The bug is simulated by one view's handler raising
for the events of one relationship until the test "ships the fix".
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.commands import LogContact, OpenRelationship, RegisterAccountManager
from domain.relationship import ContactLogged
from domain.values import Role
from infrastructure.bootstrap import build_projections
from infrastructure.settings import Settings
from projections.base import Batch, Handler, LedgerProjection
from projections.failures import Backoff, ProjectionFailed
from projections.runner import NAMES, ProjectionRunner, Projections
from projections.workload import WorkloadProjection
from scripts.cli import main
from tests.conftest import audit_as
from tests.integration.projection_support import audit_positions, dump_views, head, stored_positions, wait_until

POISON = "date value out of range"


class Bug:
    """Makes a view's handler of one event type raise for the events of one aggregate, until `fixed`."""

    def __init__(self, projection: type[LedgerProjection], aggregate_id: UUID) -> None:
        self.aggregate_id = aggregate_id
        self.original = projection.handlers[ContactLogged]
        self.fixed = False
        self.raised: list[float] = []
        """When the handler raised (monotonic seconds)."""

    def __call__(self, view: Any, event: Any, batch: Batch, position: int) -> None:
        if event.originator_id == self.aggregate_id and not self.fixed:
            self.raised.append(time.monotonic())
            raise OverflowError(POISON)
        self.original(view, event, batch, position)

    def bursts(self, gap: float) -> list[float]:
        """The start of each burst of raises (one attempt raises several times as the batch is narrowed down)."""
        return [moment for n, moment in enumerate(self.raised) if n == 0 or moment - self.raised[n - 1] > gap]


def break_contacts_of(projection: type[LedgerProjection], aggregate_id: UUID, monkeypatch: pytest.MonkeyPatch) -> Bug:
    """Every instance of `projection` (as a command line builds them) gets the bug."""
    bug = Bug(projection, aggregate_id)
    handlers: dict[type[Any], Handler] = projection.handlers
    event_type: type[Any] = ContactLogged
    handler: Handler = bug
    monkeypatch.setitem(handlers, event_type, handler)
    return bug


class World:
    """A manager with two relationships; contacts on `poisoned` are the events the buggy view cannot apply."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        email = f"ann.{uuid.uuid4().hex[:8]}@example.com"
        self.manager = ledger.register_account_manager(
            audit_as(Role.MANAGER), RegisterAccountManager(name="Ann Lee", email=email)
        ).id
        self.healthy = self.open("Globex")
        self.poisoned = self.open("Initech")

    def open(self, client_name: str) -> UUID:
        return self.ledger.open_relationship(
            audit_as(Role.MANAGER),
            OpenRelationship(
                client_name=client_name,
                client_kind="corporate",
                industry="technology",
                tier="major",
                account_manager_id=self.manager,
            ),
        ).id

    def contact(self, relationship_id: UUID, day: int = 0) -> int:
        """Logs a contact; returns its position in the log."""
        return self.ledger.log_contact(
            audit_as(Role.MANAGER),
            relationship_id,
            LogContact(
                occurred_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=day),
                channel="call",
                summary=f"Call {day}",
                next_follow_up_on=None,
            ),
        ).position

    def contacts(self, count: int) -> int:
        """Logs `count` contacts on the healthy relationship; returns the last position."""
        return max(self.contact(self.healthy, day) for day in range(count))


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    built = build_projections(ledger, Settings(database_url=database_url))
    # Small batches: the bad event is several batches behind the head, so the others must not wait at its batch.
    built.batch_size = 3
    yield built
    built.view.close()


def before(ledger: Ledger, position: int) -> int:
    """The stored position just before `position`."""
    return max(p for p in stored_positions(ledger) if p < position)


def test_a_failing_view_stays_just_before_the_bad_event_while_the_others_reach_the_head_and_recovers_once_fixed(
    ledger: Ledger, projections: Projections, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = World(ledger)
    world.contacts(4)
    bad = world.contact(world.poisoned)
    world.contacts(7)
    bug = Bug(WorkloadProjection, world.poisoned)
    workload = next(p for p in projections.projections if p.name == "workload")
    handlers: dict[type[Any], Handler] = {**WorkloadProjection.handlers, ContactLogged: bug}
    monkeypatch.setattr(workload, "handlers", handlers)
    projections.backoff = Backoff(first=0.1, most=0.4)
    others = [name for name in NAMES if name != "workload"]
    runner = ProjectionRunner(projections, poll_interval=0.01).start()
    try:
        # The other views reach the head; the workload view is tried again and again.
        wait_until(
            lambda: (
                all(projections.positions()[name] == head(ledger) for name in others) and len(bug.bursts(gap=0.05)) >= 5
            ),
            timeout=30,
            what="the other views to reach the head while the workload view is retried",
        )
        # Events written while it fails reach the other views too.
        last = world.contacts(5)
        wait_until(
            lambda: all(projections.positions()[name] == last for name in others),
            timeout=30,
            what="the other views to follow new events",
        )
        failing = projections.failures()
        stuck_at = projections.positions()["workload"]

        # The fix ships: the view goes past the event and catches up.
        bug.fixed = True
        runner.nudge()
        wait_until(
            lambda: projections.positions()["workload"] == head(ledger) and not projections.failures(),
            timeout=30,
            what="the workload view to recover",
        )
    finally:
        runner.stop()

    assert stuck_at == before(ledger, bad), "never past the bad event, and nothing before it held back"
    assert set(failing) == {"workload"}
    failure = failing["workload"]
    assert (failure.view, failure.position, failure.event_position) == ("workload", before(ledger, bad), bad)
    assert POISON in failure.error
    assert failure.error.startswith("OverflowError")
    assert failure.attempts >= 5
    # Tried again only after a back-off that doubles from 0.1 s up to 0.4 s (never sooner; later under load).
    starts = bug.bursts(gap=0.05)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert [projections.backoff.delay(n) for n in range(1, 5)] == [0.1, 0.2, 0.4, 0.4]
    assert all(gap >= projections.backoff.delay(n) - 0.005 for n, gap in enumerate(gaps, start=1)), gaps
    # Said once, with its stack, not once per attempt.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "projections.runner"]
    assert len(errors) == 1
    assert "workload" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    # Exactly once: every event in the audit index once, and the views equal a clean rebuild.
    assert audit_positions(projections.view) == stored_positions(ledger)
    followed = dump_views(projections.view)
    projections.rebuild_from_scratch()
    assert dump_views(projections.view) == followed


def test_catching_up_by_hand_takes_the_others_to_the_head_and_raises_naming_the_view_the_event_and_the_error(
    ledger: Ledger, projections: Projections, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(ledger)
    world.contacts(2)
    bad = world.contact(world.poisoned)
    world.contacts(6)
    break_contacts_of(WorkloadProjection, world.poisoned, monkeypatch)

    with pytest.raises(ProjectionFailed) as raised:
        projections.catch_up()

    assert raised.value.failure.view == "workload"
    assert raised.value.failure.event_position == bad
    assert str(raised.value) == (
        f"The workload view cannot apply the event at position {bad}, so it stays at position "
        f"{before(ledger, bad)}: OverflowError: {POISON}"
    )
    positions = projections.positions()
    assert positions["workload"] == before(ledger, bad)
    others = {name: position for name, position in positions.items() if name != "workload"}
    assert others, "the other views are there to compare"
    assert others == dict.fromkeys(others, head(ledger)), "every other view caught up"
    assert projections.failures() == {}, "only the runner reports failures; catching up by hand raises instead"


@pytest.mark.parametrize(
    "command",
    [["rebuild"], ["rebuild", "workload"], ["rebuild", "--from-scratch"], ["replay"]],
    ids=["rebuild", "rebuild-one", "from-scratch", "replay"],
)
def test_ledger_rebuild_and_replay_exit_1_with_one_line_naming_the_view_the_position_and_the_error(
    ledger: Ledger,
    database_url: str,
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = World(ledger)
    bad = world.contact(world.poisoned)
    world.contacts(3)
    break_contacts_of(WorkloadProjection, world.poisoned, monkeypatch)
    if command == ["replay"]:
        moment = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        command = ["replay", "--as-of", moment, "--out", str(tmp_path / "replay.sqlite3")]
    monkeypatch.setenv("LEDGER_DATABASE_URL", database_url)
    monkeypatch.setattr(sys, "argv", ["ledger", *command])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 1
    reason = capsys.readouterr().err.strip().splitlines()[-1]
    assert reason.startswith("ledger: The workload view")
    assert f"event at position {bad}" in reason
    assert f"stays at position {before(ledger, bad)}" in reason
    assert reason.endswith(f"OverflowError: {POISON}")
