"""Correction requests in the views on SQLite and PostgreSQL: pay moves only on approval; a rebuild gives the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.commands import (
    ApproveCorrection,
    CorrectEntry,
    OpenRelationship,
    ProposeContract,
    RegisterAccountManager,
    RejectCorrection,
    SignContract,
)
from domain.values import Role
from infrastructure.bootstrap import build_projections
from infrastructure.settings import Settings
from projections.pay import PayReader
from projections.runner import Projections
from projections.workload import WorkloadReader
from tests.conftest import audit_as
from tests.integration.projection_support import dump_views, head

MANAGER = audit_as(Role.MANAGER)


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    projections = build_projections(ledger, Settings(database_url=database_url))
    yield projections
    projections.view.close()


def signed_contract(ledger: Ledger) -> tuple[UUID, UUID, int]:
    """An account manager, their relationship, and the version of a 1200.00 signing credited to them."""
    email = f"ann.{uuid.uuid4().hex[:8]}@example.com"
    manager_id = ledger.register_account_manager(MANAGER, RegisterAccountManager(name="Ann Lee", email=email)).id
    relationship_id = ledger.open_relationship(
        MANAGER,
        OpenRelationship(
            client_name="Globex",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=manager_id,
        ),
    ).id
    own = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=manager_id)
    contract_id = ledger.propose_contract(
        own,
        relationship_id,
        ProposeContract(title="Retainer", value="1200.00", starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31)),
    ).contract_id
    version = ledger.sign_contract(own, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20))).version
    return manager_id, relationship_id, version


def request(ledger: Ledger, manager_id: UUID, relationship_id: UUID, version: int, value: str) -> UUID:
    own = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=manager_id)
    result = ledger.correct_entry(
        own, relationship_id, CorrectEntry(corrects_version=version, reason="Typo", changes={"value": value})
    )
    assert result.request_id is not None
    return result.request_id


def test_pay_moves_only_when_a_request_is_approved_and_the_queue_follows_each_decision(
    ledger: Ledger, projections: Projections
) -> None:
    manager_id, relationship_id, version = signed_contract(ledger)
    pay, workload = PayReader(projections.view), WorkloadReader(projections.view)

    # Two requests: neither moves pay.
    approved = request(ledger, manager_id, relationship_id, version, "1500.00")
    rejected = request(ledger, manager_id, relationship_id, version, "9000000.00")
    projections.catch_up()
    assert pay.pay(str(manager_id), 2026).signed_value == Decimal("1200.00")
    assert [row["request_id"] for row in workload.correction_requests(status="open")] == [str(approved), str(rejected)]

    # One rejected: still nothing moves, and it leaves the open queue.
    ledger.reject_correction(MANAGER, relationship_id, rejected, RejectCorrection(reason="No"))
    projections.catch_up()
    assert pay.pay(str(manager_id), 2026).signed_value == Decimal("1200.00")
    assert [row["request_id"] for row in workload.correction_requests(status="open")] == [str(approved)]

    # The other approved: pay moves.
    ledger.approve_correction(MANAGER, relationship_id, approved, ApproveCorrection())
    projections.catch_up()
    assert pay.pay(str(manager_id), 2026).signed_value == Decimal("1500.00")
    assert workload.correction_requests(status="open") == []
    decided = {row["request_id"]: row for row in workload.correction_requests(requested_by=str(manager_id))}
    assert (decided[str(approved)]["status"], decided[str(rejected)]["status"]) == ("approved", "rejected")
    assert decided[str(rejected)]["decided_by"] == MANAGER.principal.id
    facts = workload.relationships(account_manager_id=str(manager_id))
    assert facts[0].version == ledger.relationship(relationship_id).version


def test_a_rebuild_from_scratch_gives_the_same_requests_and_pay(
    ledger: Ledger, projections: Projections, database_url: str
) -> None:
    manager_id, relationship_id, version = signed_contract(ledger)
    approved = request(ledger, manager_id, relationship_id, version, "1500.00")
    rejected = request(ledger, manager_id, relationship_id, version, "1600.00")
    request(ledger, manager_id, relationship_id, version, "1700.00")
    ledger.approve_correction(MANAGER, relationship_id, approved, ApproveCorrection())
    ledger.reject_correction(MANAGER, relationship_id, rejected, RejectCorrection(reason="No"))
    assert projections.catch_up() == head(ledger)
    live = dump_views(projections.view)

    rebuilt = build_projections(ledger, Settings(database_url=database_url))
    try:
        rebuilt.rebuild_from_scratch()
    finally:
        rebuilt.view.close()

    assert dump_views(projections.view) == live
    assert len(live["wl_correction_requests"]) == 3
