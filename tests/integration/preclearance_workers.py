"""What the pre-clearance integration tests share: a firm with one relationship on a clocked ledger, feeding the
pre-clearance view, and the worker functions spawned processes run."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any
from uuid import UUID

from domain.application import Ledger
from domain.commands import ApprovePreclearance, OpenRelationship, RegisterAccountManager, RequestPreclearance
from domain.errors import DomainError
from domain.values import Audit, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from infrastructure.sql import ViewStore
from projections.preclearance import PreclearanceProjection
from tests.conftest import audit_as

TODAY = date(2026, 6, 10)  # the limit is $300 from 2026-03-30


class Clock:
    """A settable clock: noon UTC on `day` (a day the firm's zone agrees on)."""

    def __init__(self, day: date = TODAY) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 12, tzinfo=UTC)


@dataclass
class Firm:
    ledger: Ledger
    account_manager: Audit
    relationship_id: UUID

    def request(self, cost: str, *, name: str = "Bob Smith", planned_on: date = TODAY) -> Any:
        return self.ledger.request_preclearance(
            self.account_manager, request_command(self.relationship_id, cost, name, planned_on)
        )


def request_command(
    relationship_id: UUID, cost: str, name: str = "Bob Smith", planned_on: date = TODAY
) -> RequestPreclearance:
    return RequestPreclearance(
        relationship_id=relationship_id,
        recipient={"name": name, "employer": "Acme"},
        description="Dinner",
        purpose="Thank the client",
        planned_on=planned_on,
        category="general",
        cost=cost,
    )


def open_firm(ledger: Ledger) -> Firm:
    """An account manager with one open relationship on `ledger`."""
    manager = audit_as(Role.MANAGER)
    am_id = ledger.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="a@b.example")).id
    relationship_id = ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name="Client", client_kind="corporate", industry="technology", tier="major", account_manager_id=am_id
        ),
    ).id
    return Firm(ledger, audit_as(Role.ACCOUNT_MANAGER, account_manager_id=am_id), relationship_id)


def feed(ledger: Ledger, view: ViewStore, projection: PreclearanceProjection | None = None) -> PreclearanceProjection:
    """Applies every event of the log to the pre-clearance view (tables created if missing)."""
    projection = projection or PreclearanceProjection(view)
    with view.transaction() as cursor:
        projection.create_tables(cursor)
    start = projection.position() + 1
    while True:
        found = ledger.recorder.select_notifications(start=start, limit=500)
        if not found:
            return projection
        projection.process_batch([(n.id, ledger.decode(n)) for n in found])
        start = found[-1].id + 1


# -- spawned workers -----------------------------------------------------------


def approve_worker(database_url: str, day: str, request_ids: list[str], barrier: Barrier, out: Queue[Any]) -> None:
    """Approves each request after every process is ready; puts "approved" or the refusal's code for each."""
    try:
        clock = Clock(date.fromisoformat(day))
        ledger = build_ledger(Settings(database_url=database_url), clock=clock)
        compliance = audit_as(Role.COMPLIANCE)
        barrier.wait(timeout=60)
        for request_id in request_ids:
            try:
                ledger.approve_preclearance(compliance, UUID(request_id), ApprovePreclearance())
                out.put("approved")
            except DomainError as error:
                out.put(error.code)
        ledger.close()
    except Exception:  # reported to the parent, which fails the test
        out.put(traceback.format_exc())


def expire_worker(database_url: str, day: str, request_id: str, barrier: Barrier, out: Queue[Any]) -> None:
    """Expires the request after every process is ready; puts "stored" or "nothing"."""
    try:
        ledger = build_ledger(Settings(database_url=database_url), clock=Clock(date.fromisoformat(day)))
        barrier.wait(timeout=60)
        result = ledger.expire_preclearance(audit_as(Role.ADMIN), UUID(request_id))
        out.put("nothing" if result is None else "stored")
        ledger.close()
    except Exception:  # reported to the parent, which fails the test
        out.put(traceback.format_exc())
