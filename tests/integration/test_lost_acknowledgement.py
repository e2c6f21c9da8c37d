"""A COMMIT whose acknowledgement is lost: the retry finds its own events and the command lands exactly once.

The connection can drop after PostgreSQL has committed and before the client
hears so. These tests make that happen against the real server: the first
insert runs and commits, then the call fails as a dropped connection does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent

from domain.application import Ledger
from domain.commands import LogContact
from domain.relationship import ContactLogged
from domain.values import Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from infrastructure.storage import AppendOnlyPostgresRecorder
from tests.conftest import audit_as
from tests.integration.test_concurrent_commands import open_relationship

pytestmark = pytest.mark.postgres

REAL_INSERT: Callable[..., Sequence[int] | None] = AppendOnlyPostgresRecorder._insert_once


@pytest.fixture
def ledger_and_url(postgres_url: str) -> Iterator[tuple[Ledger, str]]:
    ledger = build_ledger(Settings(database_url=postgres_url))
    yield ledger, postgres_url
    ledger.close()


def first_insert_fails(ledger: Ledger, before_failing: Callable[[Sequence[StoredEvent]], object]) -> list[int]:
    """Makes the ledger's next insert run `before_failing`, then raise as a dropped connection does.

    Returns the number of events of each insert attempt, as they happen.
    """
    recorder = ledger.recorder
    assert isinstance(recorder, AppendOnlyPostgresRecorder)
    attempts: list[int] = []

    def insert_once(self: AppendOnlyPostgresRecorder, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        attempts.append(len(stored_events))
        if len(attempts) == 1:
            before_failing(stored_events)
            raise OperationalError("server closed the connection unexpectedly")
        return REAL_INSERT(self, stored_events, **kwargs)

    recorder._insert_once = insert_once
    return attempts


def contact_summaries(ledger: Ledger, relationship_id: UUID) -> list[str]:
    return [event.summary for event in ledger.history(relationship_id) if isinstance(event, ContactLogged)]


def log_contact(ledger: Ledger, relationship_id: UUID, summary: str, hour: int) -> Any:
    return ledger.log_contact(
        audit_as(Role.MANAGER),
        relationship_id,
        LogContact(occurred_at=datetime(2026, 6, 1, hour, 0, tzinfo=UTC), channel="call", summary=summary),
    )


def test_a_command_whose_commit_was_acknowledged_too_late_is_stored_once_and_reported_at_its_position(
    ledger_and_url: tuple[Ledger, str],
) -> None:
    ledger, _ = ledger_and_url
    relationship_id = open_relationship(ledger)
    committed: list[Sequence[int] | None] = []
    attempts = first_insert_fails(ledger, lambda events: committed.append(REAL_INSERT(ledger.recorder, events)))

    result = log_contact(ledger, relationship_id, "The call whose acknowledgement was lost", hour=9)

    assert attempts == [1, 1], "tried twice: once committed but unacknowledged, once finding its own event"
    assert contact_summaries(ledger, relationship_id) == ["The call whose acknowledgement was lost"]
    assert committed == [[result.position]], "the command reports the position its first attempt committed at"
    assert ledger.relationship(relationship_id).version == result.version


def test_a_retry_that_meets_someone_elses_events_is_a_conflict_and_the_command_runs_again(
    ledger_and_url: tuple[Ledger, str],
) -> None:
    ledger, url = ledger_and_url
    relationship_id = open_relationship(ledger)
    other = build_ledger(Settings(database_url=url))
    try:
        # Our insert never reached the server; meanwhile another writer took the same version.
        attempts = first_insert_fails(
            ledger, lambda _: log_contact(other, relationship_id, "Someone else's contact", hour=8)
        )
        result = log_contact(ledger, relationship_id, "Our contact", hour=9)
    finally:
        other.close()

    assert len(attempts) == 3, "lost; a conflict with the other write; the command again on the fresh state"
    assert contact_summaries(ledger, relationship_id) == ["Someone else's contact", "Our contact"]
    assert ledger.relationship(relationship_id).version == result.version
