"""Functions that the concurrency tests run in spawned processes: each builds its own ledger on the test's store."""

from __future__ import annotations

import traceback
import uuid
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Lock
from uuid import UUID

from domain.application import Ledger
from domain.commands import GiveGift, NamedRecipient
from domain.errors import GiftLimitExceeded, VersionConflict
from domain.values import Audit, Principal, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings

GIVEN = "given"
REFUSED = "refused"
GAVE_UP = "gave_up"
FAILED = "failed"

Outcome = tuple[str, str]
"""One attempt's end: (GIVEN, gift id), (REFUSED, counted this year), (GAVE_UP, message) or (FAILED, traceback)."""


def give_gifts_together(
    database_url: str,
    relationship_id: str,
    recipient_name: str,
    recipient_employer: str,
    attempts: int,
    startup: Lock,
    start: Barrier,
    report: Queue[tuple[int, list[Outcome]]],
) -> None:
    """Waits for every process at `start`, then tries `attempts` $100 gifts to one person, and reports each outcome."""
    worker = uuid.uuid4().int
    outcomes: list[Outcome] = []
    try:
        # Ledgers start one at a time: started at once on PostgreSQL they deadlock creating the
        # append-only trigger (a bug of its own, see test_append_only.py); the race under test is the gifts'.
        with startup:
            ledger = build_ledger(Settings(database_url=database_url))
        try:
            # Connect and warm up before the barrier, so the race is between commands, not imports.
            ledger.relationship(UUID(relationship_id))
            ledger.gift_policy()
            start.wait(timeout=60)
            for number in range(attempts):
                outcomes.append(_give(ledger, UUID(relationship_id), recipient_name, recipient_employer, number))
        finally:
            ledger.close()
    except BaseException:  # reported to the test, which fails on it
        start.abort()  # release the other workers at once rather than at the barrier's timeout
        outcomes.append((FAILED, traceback.format_exc()))
    report.put((worker, outcomes))


def _give(ledger: Ledger, relationship_id: UUID, recipient_name: str, recipient_employer: str, number: int) -> Outcome:
    audit = Audit(
        principal=Principal(id=f"worker-{uuid.uuid4().hex[:8]}", role=Role.MANAGER),
        correlation_id=f"corr-{uuid.uuid4().hex}",
    )
    try:
        result = ledger.give_gift(
            audit,
            relationship_id,
            GiveGift(
                recipient=NamedRecipient(name=recipient_name, employer=recipient_employer),
                description=f"Hamper number {number}",
                given_on=date(2026, 5, 1),
                category="general",
                cost="100.00",
            ),
        )
    except GiftLimitExceeded as refused:
        return (REFUSED, str(refused.refusal.counted_this_year))
    except VersionConflict as conflict:
        return (GAVE_UP, conflict.message)
    return (GIVEN, str(result.gift_id))
