"""Racing requests, approvals and gifts to one person never take gifts plus active reservations past the limit, on
SQLite and PostgreSQL, from threads and from processes."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from multiprocessing.queues import Queue
from typing import Any
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.commands import ApprovePreclearance, GiveGift
from domain.errors import GiftLimitExceeded, VersionConflict
from domain.gift_recipient import GiftRecipient
from domain.values import PreclearanceStatus, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from tests.conftest import audit_as
from tests.integration import preclearance_workers as workers
from tests.integration.preclearance_workers import TODAY, Clock, Firm, open_firm

LIMIT = Decimal("300.00")


@pytest.fixture
def firm(database_url: str) -> Iterator[Firm]:
    ledger = build_ledger(Settings(database_url=database_url), clock=Clock())
    firm = open_firm(ledger)
    firm.ledger.give_gift(  # registers Bob Smith, so racers do not also race to register him
        firm.account_manager,
        firm.relationship_id,
        GiveGift(
            recipient={"name": "Bob Smith", "employer": "Acme"},
            description="Pen",
            given_on=TODAY,
            category="promotional",
            cost="5.00",
        ),
    )
    yield firm
    ledger.close()


def bob(ledger: Ledger) -> GiftRecipient:
    return ledger.current_recipient(GiftRecipient.id_for("Bob Smith", "Acme"))


def counted(ledger: Ledger) -> Decimal:
    """Bob's gifts plus active reservations today."""
    return sum((g.counted_value for g in bob(ledger).counted_gifts(TODAY)), Decimal("0.00"))


def race(threads: int, work: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(threads)

    def run(number: int) -> Any:
        start.wait(timeout=30)
        return work(number)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, number) for number in range(threads)]
        return [future.exception(timeout=120) or future.result() for future in futures]


def only_refusals(outcomes: list[Any], accepted: type) -> list[Any]:
    unexpected = [o for o in outcomes if not isinstance(o, accepted | GiftLimitExceeded | VersionConflict)]
    assert unexpected == []
    return [o for o in outcomes if isinstance(o, accepted)]


def test_sixteen_racing_auto_band_requests_of_forty_dollars_reserve_exactly_seven(firm: Firm) -> None:
    outcomes = race(16, lambda _: firm.request("40.00"))
    approved = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(approved) == 7, outcomes
    assert all(o.status is PreclearanceStatus.APPROVED for o in approved)
    assert len(only_refusals(outcomes, type(approved[0]))) == 7
    assert counted(firm.ledger) == Decimal("280.00")
    assert len(bob(firm.ledger).reservations) == 7


def test_sixteen_racing_approvals_of_hundred_dollar_requests_approve_exactly_three(firm: Firm) -> None:
    pending = [firm.request("100.00").id for _ in range(16)]
    compliance = audit_as(Role.COMPLIANCE)
    outcomes = race(16, lambda n: firm.ledger.approve_preclearance(compliance, pending[n], ApprovePreclearance()))
    approved = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(approved) == 3, outcomes
    for refusal in (o for o in outcomes if isinstance(o, GiftLimitExceeded)):
        assert (refusal.refusal.reserved, refusal.refusal.headroom) == (LIMIT, Decimal("0.00"))
    assert counted(firm.ledger) == LIMIT
    statuses = [firm.ledger.preclearance(request_id).status for request_id in pending]
    assert statuses.count(PreclearanceStatus.APPROVED) == 3
    assert statuses.count(PreclearanceStatus.PENDING) == 13


def test_eight_approvals_racing_eight_gifts_never_pass_the_limit(firm: Firm) -> None:
    pending = [firm.request("100.00").id for _ in range(8)]
    compliance = audit_as(Role.COMPLIANCE)

    def work(number: int) -> Any:
        if number % 2:
            return firm.ledger.approve_preclearance(compliance, pending[number // 2], ApprovePreclearance())
        return firm.ledger.give_gift(
            firm.account_manager,
            firm.relationship_id,
            GiveGift(
                recipient={"name": "Bob Smith", "employer": "Acme"},
                description=f"Hamper {number}",
                given_on=TODAY,
                category="general",
                cost="100.00",
            ),
        )

    outcomes = race(16, work)
    accepted = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(accepted) == 3, outcomes
    assert all(isinstance(o, GiftLimitExceeded | VersionConflict) for o in outcomes if isinstance(o, Exception))
    person = bob(firm.ledger)
    gifts = sum((g.counted_value for g in person.gifts), Decimal("0.00"))
    reserved = sum((r.counted_value for r in person.reservations), Decimal("0.00"))
    assert gifts + reserved == LIMIT


def test_four_processes_approving_two_requests_each_approve_exactly_three(database_url: str, firm: Firm) -> None:
    pending = [str(firm.request("100.00").id) for _ in range(8)]
    processes = 4
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    report: Queue[Any] = context.Queue()
    running = [
        context.Process(
            target=workers.approve_worker,
            args=(database_url, TODAY.isoformat(), pending[2 * n : 2 * n + 2], start, report),
        )
        for n in range(processes)
    ]
    for process in running:
        process.start()
    try:
        outcomes = [report.get(timeout=120) for _ in range(2 * processes)]
    finally:
        for process in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in running] == [0] * processes
    assert sorted(set(outcomes) - {"approved", "gift_limit_exceeded", "version_conflict"}) == [], outcomes
    assert outcomes.count("approved") == 3, outcomes
    assert counted(firm.ledger) == LIMIT
    approved = [UUID(r) for r in pending if firm.ledger.preclearance(UUID(r)).status is PreclearanceStatus.APPROVED]
    assert len(approved) == 3
