"""A key passed to `save` (as `idempotency_key`) is marked stored in the very transaction that stores the events."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.application import Ledger
from domain.commands import RegisterAccountManager
from domain.values import Audit, Role
from infrastructure.bootstrap import build_ledger, build_view_store
from infrastructure.idempotency import IdempotencyStore
from infrastructure.settings import Settings
from tests.conftest import audit_as


@pytest.fixture
def ledger_and_keys(database_url: str) -> Iterator[tuple[Ledger, IdempotencyStore]]:
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    yield ledger, IdempotencyStore(view)
    view.close()
    ledger.close()


def event(originator_id: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="test:Event", state=b"{}")


def test_a_key_passed_to_insert_events_is_marked_at_the_last_position(
    ledger_and_keys: tuple[Ledger, IdempotencyStore],
) -> None:
    ledger, keys = ledger_and_keys
    assert keys.reserve("manager-1", "key-1", "fingerprint").stored_at is None
    aggregate = uuid4()

    positions = ledger.recorder.insert_events(
        [event(aggregate, 1), event(aggregate, 2)], idempotency_key=("manager-1", "key-1")
    )

    assert positions
    assert keys.reserve("manager-1", "key-1", "fingerprint").stored_at == max(positions)


def test_without_a_key_nothing_is_marked(ledger_and_keys: tuple[Ledger, IdempotencyStore]) -> None:
    ledger, keys = ledger_and_keys
    keys.reserve("manager-1", "key-1", "fingerprint")

    ledger.recorder.insert_events([event(uuid4(), 1)])
    ledger.recorder.insert_events([event(uuid4(), 1)], idempotency_key=None)

    assert keys.reserve("manager-1", "key-1", "fingerprint").in_progress


def test_only_the_named_principals_key_is_marked(ledger_and_keys: tuple[Ledger, IdempotencyStore]) -> None:
    ledger, keys = ledger_and_keys
    keys.reserve("manager-1", "key-1", "fingerprint")
    keys.reserve("manager-2", "key-1", "fingerprint")

    ledger.recorder.insert_events([event(uuid4(), 1)], idempotency_key=("manager-2", "key-1"))

    assert keys.reserve("manager-1", "key-1", "fingerprint").in_progress
    assert keys.reserve("manager-2", "key-1", "fingerprint").stored_at is not None


def test_a_refused_insert_marks_nothing(ledger_and_keys: tuple[Ledger, IdempotencyStore]) -> None:
    ledger, keys = ledger_and_keys
    aggregate = uuid4()
    ledger.recorder.insert_events([event(aggregate, 1)])
    keys.reserve("manager-1", "key-1", "fingerprint")

    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events([event(aggregate, 1)], idempotency_key=("manager-1", "key-1"))

    assert keys.reserve("manager-1", "key-1", "fingerprint").in_progress


def test_a_command_whose_audit_carries_a_key_marks_it_at_the_commands_position(
    ledger_and_keys: tuple[Ledger, IdempotencyStore],
) -> None:
    ledger, keys = ledger_and_keys
    manager = audit_as(Role.MANAGER)
    audit = Audit(principal=manager.principal, correlation_id=manager.correlation_id, idempotency_key="key-1")
    keys.reserve(audit.principal.id, "key-1", "fingerprint")

    stored = ledger.register_account_manager(audit, RegisterAccountManager(name="Ann Lee", email="ann@example.com"))

    assert keys.reserve(audit.principal.id, "key-1", "fingerprint").stored_at == stored.position


def test_a_command_whose_audit_carries_no_key_marks_nothing(ledger_and_keys: tuple[Ledger, IdempotencyStore]) -> None:
    ledger, keys = ledger_and_keys
    audit = audit_as(Role.MANAGER)
    keys.reserve(audit.principal.id, "key-1", "fingerprint")

    ledger.register_account_manager(audit, RegisterAccountManager(name="Ann Lee", email="ann@example.com"))

    assert keys.reserve(audit.principal.id, "key-1", "fingerprint").in_progress
