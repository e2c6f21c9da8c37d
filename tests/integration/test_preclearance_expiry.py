"""An approval's expiry is written exactly once, however many threads, processes or sweeps notice it, and the
headroom comes back exactly once (on SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from typing import Any
from uuid import UUID

import pytest

from domain.gift_recipient import GiftRecipient, ReservationReleased
from domain.preclearance import GiftPreclearanceExpired
from domain.values import PreclearanceStatus, Role
from infrastructure.bootstrap import build_ledger, build_view_store
from infrastructure.expiry_sweeper import ExpirySweeper
from infrastructure.settings import Settings
from tests.conftest import audit_as
from tests.integration import preclearance_workers as workers
from tests.integration.preclearance_workers import TODAY, Clock, Firm, feed, open_firm

EXPIRED_DAY = TODAY + timedelta(days=31)  # approvals last 30 days by default


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def firm(database_url: str, clock: Clock) -> Iterator[Firm]:
    ledger = build_ledger(Settings(database_url=database_url), clock=clock)
    yield open_firm(ledger)
    ledger.close()


def trail(firm: Firm, request_id: UUID) -> tuple[int, int]:
    """How many expiries the request has, and how many releases its person has."""
    expired = sum(isinstance(e, GiftPreclearanceExpired) for e in firm.ledger.events.get(request_id))
    person_id = GiftRecipient.id_for("Bob Smith", "Acme")
    released = sum(isinstance(e, ReservationReleased) for e in firm.ledger.events.get(person_id))
    return expired, released


def headroom_counted(firm: Firm, clock: Clock) -> Decimal:
    person = firm.ledger.current_recipient(GiftRecipient.id_for("Bob Smith", "Acme"))
    return sum((g.counted_value for g in person.counted_gifts(clock.day)), Decimal("0.00"))


def test_sixteen_threads_expiring_one_request_write_its_expiry_once(firm: Firm, clock: Clock) -> None:
    request_id = firm.request("40.00").id
    clock.day = EXPIRED_DAY
    assert headroom_counted(firm, clock) == Decimal("0.00"), "not counted the day after expiry, written or not"
    start = threading.Barrier(16)

    def expire(_: int) -> Any:
        start.wait(timeout=30)
        return firm.ledger.expire_preclearance(audit_as(Role.ADMIN), request_id)

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(expire, range(16)))
    assert sum(outcome is not None for outcome in outcomes) == 1
    assert trail(firm, request_id) == (1, 1)
    assert firm.ledger.preclearance(request_id).status is PreclearanceStatus.EXPIRED
    assert firm.ledger.current_recipient(GiftRecipient.id_for("Bob Smith", "Acme")).reservations == []


def test_two_processes_expiring_one_request_write_its_expiry_once(database_url: str, firm: Firm, clock: Clock) -> None:
    request_id = firm.request("40.00").id
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    report: Queue[Any] = context.Queue()
    running = [
        context.Process(
            target=workers.expire_worker,
            args=(database_url, EXPIRED_DAY.isoformat(), str(request_id), start, report),
        )
        for _ in range(2)
    ]
    for process in running:
        process.start()
    try:
        outcomes = sorted(report.get(timeout=120) for _ in running)
    finally:
        for process in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert outcomes == ["nothing", "stored"]
    assert trail(firm, request_id) == (1, 1)


def test_the_sweeper_expires_what_is_due_once_and_a_second_sweep_stores_nothing(
    database_url: str, firm: Firm, clock: Clock
) -> None:
    due = firm.request("40.00").id
    clock.day = TODAY + timedelta(days=5)
    later = firm.request("60.00", name="Carol Jones", planned_on=clock.day)  # review band: pending, never expires
    used_later = firm.request("30.00", name="Dan Brown", planned_on=clock.day).id
    view = build_view_store(Settings(database_url=database_url))
    try:
        projection = feed(firm.ledger, view)
        sweeper = ExpirySweeper(firm.ledger, view, interval=60.0, clock=lambda: 0.0)
        clock.day = TODAY + timedelta(days=30)
        assert sweeper.sweep() == 0, "an approval counts through its last day"
        clock.day = EXPIRED_DAY
        assert sweeper.sweep_if_due() == 1
        assert sweeper.sweep_if_due() == 0, "not due again within the interval"
        assert sweeper.sweep() == 0, "the view still shows it approved, but the ledger finds it expired"
        feed(firm.ledger, view, projection)
        assert sweeper.sweep() == 0
        assert trail(firm, due) == (1, 1)
        assert firm.ledger.preclearance(used_later).status is PreclearanceStatus.APPROVED
        assert firm.ledger.preclearance(later.id).status is PreclearanceStatus.PENDING
        assert headroom_counted(firm, clock) == Decimal("0.00")
    finally:
        view.close()
