"""Commands racing on one relationship each land exactly once, in order, with nothing lost or doubled."""

from __future__ import annotations

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.application import CommandResult, Ledger
from domain.commands import LogContact, OpenRelationship, RegisterAccountManager
from domain.errors import PreconditionFailed, VersionConflict
from domain.relationship import ContactLogged
from domain.values import Audit, Role
from tests.conftest import audit_as

FIRST_CONTACT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def open_relationship(ledger: Ledger) -> UUID:
    manager = audit_as(Role.MANAGER)
    account_manager = ledger.register_account_manager(
        manager, RegisterAccountManager(name="Raj Patel", email=f"raj.{uuid.uuid4().hex[:6]}@example.com")
    )
    return ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name=f"Client {uuid.uuid4().hex[:8]}",
            client_kind="corporate",
            industry="technology",
            tier="key",
            account_manager_id=account_manager.id,
        ),
    ).id


def test_eight_threads_logging_ten_contacts_each_on_one_relationship_store_all_eighty(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)
    threads, contacts_each = 8, 10
    start = threading.Barrier(threads)

    told_to_try_again: list[str] = []

    def log_contact(audit: Audit, thread: int, number: int) -> CommandResult:
        summary = f"thread {thread} contact {number}"
        # VersionConflict means the ledger re-ran the command until it gave up, stored nothing, and asks the
        # caller to try again, as a client of the API would; the summaries below prove nothing was doubled.
        for _ in range(5):
            try:
                return ledger.log_contact(
                    audit,
                    relationship_id,
                    LogContact(
                        occurred_at=FIRST_CONTACT + timedelta(minutes=thread * contacts_each + number),
                        channel="call",
                        summary=summary,
                    ),
                )
            except VersionConflict:
                told_to_try_again.append(summary)
        raise AssertionError(f"{summary} never got through")

    def log_contacts(thread: int) -> list[CommandResult]:
        audit = audit_as(Role.MANAGER)
        start.wait(timeout=30)
        return [log_contact(audit, thread, number) for number in range(contacts_each)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [result for batch in pool.map(log_contacts, range(threads), timeout=120) for result in batch]

    total = threads * contacts_each
    # Each command was told a different version, and together they are exactly versions 2 to 81.
    assert sorted(result.version for result in results) == list(range(2, 2 + total))
    relationship = ledger.relationship(relationship_id)
    assert relationship.version == 1 + total

    history = list(ledger.history(relationship_id))
    assert [event.originator_version for event in history] == list(range(1, 2 + total))
    contacts = [event for event in history if isinstance(event, ContactLogged)]
    assert len(contacts) == total, f"told to try again: {told_to_try_again}"
    summaries = {event.summary for event in contacts}
    assert summaries == {f"thread {t} contact {n}" for t in range(threads) for n in range(contacts_each)}
    # Within one thread, its contacts were stored in the order it logged them.
    for thread in range(threads):
        own = [event.summary for event in contacts if event.summary.startswith(f"thread {thread} ")]
        assert own == [f"thread {thread} contact {n}" for n in range(contacts_each)]

    # Global positions follow versions: a later version of the relationship is always later in the log.
    positions = ledger.recorder.select_positions(relationship_id)  # type: ignore[attr-defined]
    assert sorted(positions) == list(range(1, 2 + total))
    in_version_order = [positions[version] for version in sorted(positions)]
    assert all(earlier < later for earlier, later in itertools.pairwise(in_version_order))
    # Each command reported the position its event was stored at.
    assert {result.version: result.position for result in results} == {
        version: position for version, position in positions.items() if version > 1
    }
    # The relationship remembers the latest contact by when it happened, whoever stored it last.
    assert relationship.last_contact_at == FIRST_CONTACT + timedelta(minutes=total - 1)


def test_of_writers_that_all_expect_the_same_version_exactly_one_wins(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)
    writers = 8
    start = threading.Barrier(writers)

    def log_expecting_version_one(writer: int) -> CommandResult | PreconditionFailed:
        audit = audit_as(Role.MANAGER)
        start.wait(timeout=30)
        try:
            return ledger.log_contact(
                audit,
                relationship_id,
                LogContact(occurred_at=FIRST_CONTACT, channel="email", summary=f"writer {writer}"),
                expected_version=1,
            )
        except PreconditionFailed as stale:
            return stale

    with ThreadPoolExecutor(max_workers=writers) as pool:
        outcomes = list(pool.map(log_expecting_version_one, range(writers), timeout=120))

    won = [outcome for outcome in outcomes if isinstance(outcome, CommandResult)]
    lost = [outcome for outcome in outcomes if isinstance(outcome, PreconditionFailed)]
    assert len(won) == 1
    assert won[0].version == 2
    assert len(lost) == writers - 1
    assert all((stale.expected, stale.actual) == (1, 2) for stale in lost)
    history = list(ledger.history(relationship_id))
    assert len(history) == 2
    (contact,) = [event for event in history if isinstance(event, ContactLogged)]
    assert contact.summary == f"writer {outcomes.index(won[0])}"


def test_threads_working_on_different_relationships_do_not_disturb_each_other(ledger: Ledger) -> None:
    relationships = 4
    relationship_ids = [open_relationship(ledger) for _ in range(relationships)]
    contacts_each = 5
    start = threading.Barrier(relationships)

    def log_contacts(relationship_id: UUID) -> list[CommandResult]:
        audit = audit_as(Role.MANAGER)
        start.wait(timeout=30)
        return [
            ledger.log_contact(
                audit,
                relationship_id,
                LogContact(
                    occurred_at=FIRST_CONTACT + timedelta(hours=number),
                    channel="meeting",
                    summary=f"{relationship_id} contact {number}",
                ),
            )
            for number in range(contacts_each)
        ]

    with ThreadPoolExecutor(max_workers=relationships) as pool:
        batches = list(pool.map(log_contacts, relationship_ids, timeout=120))

    for relationship_id, batch in zip(relationship_ids, batches, strict=True):
        # With no one else writing to it, each relationship's commands got consecutive versions.
        assert [result.version for result in batch] == list(range(2, 2 + contacts_each))
        summaries = [e.summary for e in ledger.history(relationship_id) if isinstance(e, ContactLogged)]
        assert summaries == [f"{relationship_id} contact {number}" for number in range(contacts_each)]
    # Every event got its own global position.
    all_positions = [
        position
        for relationship_id in relationship_ids
        for position in ledger.recorder.select_positions(relationship_id).values()  # type: ignore[attr-defined]
    ]
    assert len(set(all_positions)) == len(all_positions) == relationships * (1 + contacts_each)
