"""Corrections that move pay (issue 13, finding 6): an account manager's are requests a manager decides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

import pytest

from domain.application import Ledger
from domain.commands import (
    ApproveCorrection,
    AssignAccountManager,
    CloseRelationship,
    CorrectEntry,
    OpenRelationship,
    ProposeContract,
    RegisterAccountManager,
    RejectCorrection,
    ReopenRelationship,
    SignContract,
    TerminateContract,
)
from domain.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from domain.model import LedgerSnapshot
from domain.relationship import (
    ClientRelationship,
    CorrectionApproved,
    CorrectionRejected,
    CorrectionRequested,
    CorrectionStatus,
    EntryCorrected,
)
from domain.values import Audit, Role
from tests.conftest import audit_as

SIGNED_ON = date(2026, 5, 20)


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def register(app: Ledger, manager: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    return app.register_account_manager(manager, RegisterAccountManager(name=f"Manager {email[:13]}", email=email)).id


def as_account_manager(account_manager_id: UUID) -> Audit:
    return audit_as(Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id)


class Desk:
    """An account manager with a relationship and a contract signed while they held it."""

    def __init__(self, app: Ledger, manager: Audit) -> None:
        self.account_manager_id = register(app, manager)
        self.own = as_account_manager(self.account_manager_id)
        self.relationship_id = app.open_relationship(
            manager,
            OpenRelationship(
                client_name=f"Client {uuid4().hex[:8]}",
                client_kind="corporate",
                industry="financial_services",
                tier="major",
                account_manager_id=self.account_manager_id,
            ),
        ).id
        self.contract_id = app.propose_contract(
            self.own,
            self.relationship_id,
            ProposeContract(title="Retainer", value="1200.00", starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31)),
        ).contract_id
        self.signed_version = app.sign_contract(
            self.own, self.relationship_id, self.contract_id, SignContract(signed_on=SIGNED_ON)
        ).version


@pytest.fixture
def desk(app: Ledger, manager: Audit) -> Desk:
    return Desk(app, manager)


def stored_events(app: Ledger) -> int:
    return app.recorder.max_notification_id() or 0


def refuses(error: type[Exception], app: Ledger, command: Callable[[], object], match: str | None = None) -> None:
    """Runs a command that must be refused with `error`, and checks that it stored nothing."""
    before = stored_events(app)
    with pytest.raises(error, match=match):
        command()
    assert stored_events(app) == before


def contract_terms(app: Ledger, desk: Desk) -> tuple[Decimal, date | None]:
    contract = app.relationship(desk.relationship_id).contracts[desk.contract_id]
    return contract.value, contract.signed_on


def request_value(app: Ledger, desk: Desk, value: str = "9000000.00") -> UUID:
    result = app.correct_entry(
        desk.own,
        desk.relationship_id,
        CorrectEntry(corrects_version=desk.signed_version, reason="Typo", changes={"value": value}),
    )
    assert result.request_id is not None
    return result.request_id


def test_an_account_managers_correction_of_a_signed_contracts_value_is_only_a_request(app: Ledger, desk: Desk) -> None:
    result = app.correct_entry(
        desk.own,
        desk.relationship_id,
        CorrectEntry(corrects_version=desk.signed_version, reason="Typo in the value", changes={"value": "9000000.00"}),
    )

    assert result.request_id is not None
    assert contract_terms(app, desk) == (Decimal("1200.00"), SIGNED_ON)
    stored = list(app.history(desk.relationship_id))[-1]
    assert isinstance(stored, CorrectionRequested)
    assert (stored.request_id, stored.corrects_version, stored.changes, stored.requested_by) == (
        result.request_id,
        desk.signed_version,
        {"value": "9000000.00"},
        desk.account_manager_id,
    )
    assert stored.actor_role is Role.ACCOUNT_MANAGER
    request = app.relationship(desk.relationship_id).correction_request(result.request_id)
    assert request.status is CorrectionStatus.OPEN


def test_an_account_managers_correction_of_a_signing_date_is_only_a_request(app: Ledger, desk: Desk) -> None:
    result = app.correct_entry(
        desk.own,
        desk.relationship_id,
        CorrectEntry(
            corrects_version=desk.signed_version, reason="Signed the year before", changes={"signed_on": "2025-12-30"}
        ),
    )

    assert result.request_id is not None
    assert contract_terms(app, desk) == (Decimal("1200.00"), SIGNED_ON)


def test_an_account_managers_correction_that_moves_no_pay_applies_at_once(app: Ledger, manager: Audit) -> None:
    desk = Desk(app, manager)
    proposed = app.propose_contract(
        desk.own,
        desk.relationship_id,
        ProposeContract(title="Extension", value="500.00", starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31)),
    )

    result = app.correct_entry(
        desk.own,
        desk.relationship_id,
        CorrectEntry(
            corrects_version=proposed.version, reason="Typo", changes={"value": "550.00", "title": "Extension 2026"}
        ),
    )

    assert result.request_id is None
    assert isinstance(list(app.history(desk.relationship_id))[-1], EntryCorrected)
    assert app.relationship(desk.relationship_id).contracts[proposed.contract_id].value == Decimal("550.00")


def test_a_managers_correction_of_a_signing_applies_at_once_and_says_who_made_it(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    result = app.correct_entry(
        manager,
        desk.relationship_id,
        CorrectEntry(corrects_version=desk.signed_version, reason="Typo", changes={"value": "1100.00"}),
    )

    assert result.request_id is None
    assert contract_terms(app, desk) == (Decimal("1100.00"), SIGNED_ON)
    stored = list(app.history(desk.relationship_id))[-1]
    assert isinstance(stored, EntryCorrected)
    assert (stored.actor_id, stored.actor_role) == (manager.principal.id, Role.MANAGER)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_an_approved_request_applies_the_correction_after_the_approval(app: Ledger, desk: Desk, role: Role) -> None:
    request_id = request_value(app, desk, "1500.00")
    approver = audit_as(role)

    result = app.approve_correction(
        approver, desk.relationship_id, request_id, ApproveCorrection(reason="Checked the contract")
    )

    assert contract_terms(app, desk) == (Decimal("1500.00"), SIGNED_ON)
    approved, corrected = list(app.history(desk.relationship_id))[-2:]
    assert isinstance(approved, CorrectionApproved)
    assert isinstance(corrected, EntryCorrected)
    assert (approved.request_id, approved.reason) == (request_id, "Checked the contract")
    assert (corrected.corrects_version, corrected.changes, corrected.reason) == (
        desk.signed_version,
        {"value": "1500.00"},
        "Typo",
    )
    assert corrected.actor_id == approver.principal.id
    assert result.version == corrected.originator_version
    request = app.relationship(desk.relationship_id).correction_request(request_id)
    assert (request.status, request.decided_by, request.decided_version) == (
        CorrectionStatus.APPROVED,
        approver.principal.id,
        approved.originator_version,
    )


def test_a_rejected_request_changes_nothing(app: Ledger, manager: Audit, desk: Desk) -> None:
    request_id = request_value(app, desk)

    app.reject_correction(manager, desk.relationship_id, request_id, RejectCorrection(reason="The contract says 1200"))

    assert contract_terms(app, desk) == (Decimal("1200.00"), SIGNED_ON)
    rejected = list(app.history(desk.relationship_id))[-1]
    assert isinstance(rejected, CorrectionRejected)
    assert rejected.reason == "The contract says 1200"
    request = app.relationship(desk.relationship_id).correction_request(request_id)
    assert (request.status, request.decision_reason) == (CorrectionStatus.REJECTED, "The contract says 1200")


def test_a_request_is_decided_once(app: Ledger, manager: Audit, desk: Desk) -> None:
    approved = request_value(app, desk, "1500.00")
    rejected = request_value(app, desk, "1600.00")
    app.approve_correction(manager, desk.relationship_id, approved, ApproveCorrection())
    app.reject_correction(manager, desk.relationship_id, rejected, RejectCorrection(reason="No"))

    for request_id in (approved, rejected):
        refuses(
            RuleViolation,
            app,
            partial(app.approve_correction, manager, desk.relationship_id, request_id, ApproveCorrection()),
            "once",
        )
        refuses(
            RuleViolation,
            app,
            partial(app.reject_correction, manager, desk.relationship_id, request_id, RejectCorrection(reason="No")),
            "once",
        )
    assert contract_terms(app, desk) == (Decimal("1500.00"), SIGNED_ON)


def test_approving_a_request_whose_signing_was_corrected_since_is_refused(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    request_id = request_value(app, desk, "1500.00")
    app.correct_entry(
        manager,
        desk.relationship_id,
        CorrectEntry(corrects_version=desk.signed_version, reason="Fix", changes={"value": "1300.00"}),
    )

    refuses(
        RuleViolation,
        app,
        lambda: app.approve_correction(manager, desk.relationship_id, request_id, ApproveCorrection()),
        "corrected again",
    )
    assert contract_terms(app, desk) == (Decimal("1300.00"), SIGNED_ON)


def test_approving_a_request_whose_contract_was_terminated_since_is_refused(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    request_id = request_value(app, desk, "1500.00")
    app.terminate_contract(
        manager, desk.relationship_id, desk.contract_id, TerminateContract(on=date(2026, 8, 1), reason="Ended")
    )

    refuses(
        RuleViolation,
        app,
        lambda: app.approve_correction(manager, desk.relationship_id, request_id, ApproveCorrection()),
        "terminated",
    )
    app.reject_correction(manager, desk.relationship_id, request_id, RejectCorrection(reason="Terminated meanwhile"))


def test_an_account_manager_cannot_ask_to_correct_a_signing_credited_to_another_manager(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    successor = register(app, manager)
    app.assign_account_manager(
        manager, desk.relationship_id, AssignAccountManager(account_manager_id=successor, reason="Cover")
    )

    for changes in ({"value": "1.00"}, {"value": "9000000.00"}, {"signed_on": "2026-01-02"}):
        refuses(
            Forbidden,
            app,
            partial(
                app.correct_entry,
                as_account_manager(successor),
                desk.relationship_id,
                CorrectEntry(corrects_version=desk.signed_version, reason="Mine now", changes=changes),
            ),
            "credited to another",
        )
    assert contract_terms(app, desk) == (Decimal("1200.00"), SIGNED_ON)


def test_a_manager_may_correct_a_signing_credited_to_a_manager_no_longer_assigned(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    successor = register(app, manager)
    app.assign_account_manager(
        manager, desk.relationship_id, AssignAccountManager(account_manager_id=successor, reason="Cover")
    )

    result = app.correct_entry(
        manager,
        desk.relationship_id,
        CorrectEntry(corrects_version=desk.signed_version, reason="Typo", changes={"value": "1250.00"}),
    )

    assert result.request_id is None
    contract = app.relationship(desk.relationship_id).contracts[desk.contract_id]
    assert (contract.value, contract.credited_account_manager_id) == (Decimal("1250.00"), desk.account_manager_id)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.ACCOUNT_MANAGER])
def test_no_correction_moves_the_credit_of_a_signing(app: Ledger, manager: Audit, desk: Desk, role: Role) -> None:
    other = register(app, manager)
    audit = desk.own if role is Role.ACCOUNT_MANAGER else audit_as(role)

    refuses(
        RuleViolation,
        app,
        lambda: app.correct_entry(
            audit,
            desk.relationship_id,
            CorrectEntry(
                corrects_version=desk.signed_version,
                reason="Give it to the other",
                changes={"credited_account_manager_id": str(other)},
            ),
        ),
        "credit",
    )
    contract = app.relationship(desk.relationship_id).contracts[desk.contract_id]
    assert contract.credited_account_manager_id == desk.account_manager_id


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.AUDITOR])
def test_only_managers_and_admins_decide_requests(app: Ledger, manager: Audit, desk: Desk, role: Role) -> None:
    request_id = request_value(app, desk)
    for audit in (desk.own, audit_as(role)):
        refuses(
            Forbidden,
            app,
            partial(app.approve_correction, audit, desk.relationship_id, request_id, ApproveCorrection()),
        )
        refuses(
            Forbidden,
            app,
            partial(app.reject_correction, audit, desk.relationship_id, request_id, RejectCorrection(reason="No")),
        )
    assert contract_terms(app, desk) == (Decimal("1200.00"), SIGNED_ON)


def test_an_unknown_request_is_not_found(app: Ledger, manager: Audit, desk: Desk) -> None:
    refuses(NotFound, app, lambda: app.approve_correction(manager, desk.relationship_id, uuid4(), ApproveCorrection()))
    refuses(
        NotFound,
        app,
        lambda: app.reject_correction(manager, desk.relationship_id, uuid4(), RejectCorrection(reason="No")),
    )


def test_a_request_is_validated_like_a_correction(app: Ledger, desk: Desk) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.correct_entry(
            desk.own,
            desk.relationship_id,
            CorrectEntry(corrects_version=desk.signed_version, reason="Typo", changes={"value": "-5.00"}),
        ),
    )


def test_requests_on_a_closed_relationship_are_decided_only_once_it_is_reopened(
    app: Ledger, manager: Audit, desk: Desk
) -> None:
    request_id = request_value(app, desk, "1500.00")
    app.close_relationship(manager, desk.relationship_id, CloseRelationship(reason="Paused"))

    refuses(
        RuleViolation,
        app,
        lambda: app.approve_correction(manager, desk.relationship_id, request_id, ApproveCorrection()),
        "closed",
    )
    app.reopen_relationship(manager, desk.relationship_id, ReopenRelationship(reason="Back"))
    app.approve_correction(manager, desk.relationship_id, request_id, ApproveCorrection())

    assert contract_terms(app, desk) == (Decimal("1500.00"), SIGNED_ON)


def test_a_snapshot_keeps_the_requests_and_their_decisions(app: Ledger, manager: Audit, desk: Desk) -> None:
    decided = request_value(app, desk, "1500.00")
    request_value(app, desk, "1600.00")
    app.reject_correction(manager, desk.relationship_id, decided, RejectCorrection(reason="No"))
    relationship = app.relationship(desk.relationship_id)

    restored = LedgerSnapshot.take(relationship).mutate(None)

    assert isinstance(restored, ClientRelationship)
    assert restored.correction_requests == relationship.correction_requests
