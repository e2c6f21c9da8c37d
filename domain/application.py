"""The ledger's application service: one method per command of DOMAIN.md.

Each method takes the audit context, the ids of what it acts on, and one
command (domain/commands.py); it checks who may act, loads what it needs,
lets the aggregates apply their rules, and stores every change in one
transaction, re-running the whole attempt if a concurrent writer won the race.
The reads are in domain/ledger_queries.py; the library's machinery in
domain/application_base.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import RecordConflictError

from domain.account_manager import AccountManager
from domain.application_base import FIRM_TIMEZONE, CommandResult
from domain.attestation_commands import AttestationCommands
from domain.case_commands import CaseCommands
from domain.command_base import CommandBase
from domain.commands import (
    ApproveCorrection,
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    CompensationPlan,
    CompleteDemo,
    CorrectEntry,
    DeactivateAccountManager,
    IntroduceProduct,
    LogContact,
    MergeRecipients,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    ProvideEntertainment,
    RegisterAccountManager,
    RejectCorrection,
    ReopenRelationship,
    RescheduleDemo,
    ScheduleDemo,
    ScheduleGiftLimit,
    ScheduleProgrammeRules,
    SetCapacity,
    SetLimitYear,
    SetQuota,
    SetReviewThreshold,
    SignContract,
    TerminateContract,
)
from domain.errors import NotFound
from domain.gift_commands import GiftCommands, GiftResult
from domain.gift_recipient import GiftRecipient
from domain.ledger_queries import SYSTEM
from domain.model import LedgerEvent
from domain.permissions import Action, check_allowed, check_may_correct_signing, needs_approval
from domain.preclearance_commands import PreclearanceCommands
from domain.received_gift_commands import ReceivedGiftCommands
from domain.relationship import ClientRelationship, ContactLogged, ContractSigned, EntertainmentProvided, moves_pay
from domain.values import Audit

__all__ = [
    "FIRM_TIMEZONE",
    "SYSTEM",
    "CommandResult",
    "ContractProposedResult",
    "CorrectionResult",
    "DemoScheduledResult",
    "GiftResult",
    "Ledger",
    "NamedRecipient",
]


@dataclass(frozen=True)
class DemoScheduledResult(CommandResult):
    demo_id: UUID


@dataclass(frozen=True)
class ContractProposedResult(CommandResult):
    contract_id: UUID


@dataclass(frozen=True)
class CorrectionResult(CommandResult):
    request_id: UUID | None = None
    """Set when the correction was only stored as a request, awaiting a manager's approval."""


class Ledger(
    GiftCommands,
    PreclearanceCommands,
    ReceivedGiftCommands,
    AttestationCommands,
    CaseCommands,
    CommandBase,
):
    """The event-sourced relationship ledger: commands in, audited events stored, history out."""

    # -- account managers --

    def register_account_manager(self, audit: Audit, command: RegisterAccountManager) -> CommandResult:
        """Registers an account manager (managers and admins)."""
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)
        return self._stored(audit, AccountManager.register(audit, command))

    def set_quota(
        self,
        audit: Audit,
        account_manager_id: UUID,
        year: int,
        command: SetQuota,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets an active account manager's quota for `year`."""
        return self._on_account_manager(
            audit, account_manager_id, expected_version, lambda m: m.set_quota(audit, year, command)
        )

    def set_compensation_plan(
        self,
        audit: Audit,
        account_manager_id: UUID,
        year: int,
        plan: CompensationPlan,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets an active account manager's salary, commission and bonus terms for `year`."""
        return self._on_account_manager(
            audit, account_manager_id, expected_version, lambda m: m.set_compensation_plan(audit, year, plan)
        )

    def set_capacity(
        self,
        audit: Audit,
        account_manager_id: UUID,
        command: SetCapacity,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets the weighted load an active account manager can carry (managers and admins)."""
        return self._on_account_manager(
            audit, account_manager_id, expected_version, lambda m: m.set_capacity(audit, command)
        )

    def deactivate_account_manager(
        self,
        audit: Audit,
        account_manager_id: UUID,
        command: DeactivateAccountManager,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Deactivates an account manager: their principal can do nothing more, and nothing new is given to them."""
        return self._on_account_manager(
            audit, account_manager_id, expected_version, lambda m: m.deactivate(audit, command)
        )

    # -- relationships --

    def open_relationship(self, audit: Audit, command: OpenRelationship) -> CommandResult:
        """Opens a relationship, assigned to an active account manager (an account manager: to themself)."""
        self._check_may(audit, Action.OPEN_RELATIONSHIP, command.account_manager_id)
        manager = self._load(AccountManager, command.account_manager_id)
        return self._stored(audit, ClientRelationship.open(audit, command, account_manager=manager))

    def assign_account_manager(
        self,
        audit: Audit,
        relationship_id: UUID,
        command: AssignAccountManager,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Gives the relationship to another active account manager (managers and admins)."""
        check_allowed(audit.principal, Action.ASSIGN)

        def attempt() -> CommandResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            manager = self._load(AccountManager, command.account_manager_id)
            relationship.assign(audit, command, account_manager=manager)
            return self._stored(audit, relationship)

        return self._retrying(attempt)

    def change_tier(
        self, audit: Audit, relationship_id: UUID, command: ChangeTier, *, expected_version: int | None = None
    ) -> CommandResult:
        """Moves the relationship to another service tier."""
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.change_tier(audit, command))

    def change_cadence(
        self, audit: Audit, relationship_id: UUID, command: ChangeCadence, *, expected_version: int | None = None
    ) -> CommandResult:
        """Sets how many days may pass between contacts with the client."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.change_cadence(audit, command)
        )

    def log_contact(
        self, audit: Audit, relationship_id: UUID, command: LogContact, *, expected_version: int | None = None
    ) -> CommandResult:
        """Records a contact with the client."""
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.log_contact(audit, command))

    def introduce_product(
        self, audit: Audit, relationship_id: UUID, command: IntroduceProduct, *, expected_version: int | None = None
    ) -> CommandResult:
        """Records that a product was introduced to the client, and how it was received."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.introduce_product(audit, command)
        )

    def schedule_demo(
        self, audit: Audit, relationship_id: UUID, command: ScheduleDemo, *, expected_version: int | None = None
    ) -> DemoScheduledResult:
        """Schedules a demo with the staff it sends."""
        demo_id = uuid4()
        result = self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.schedule_demo(audit, command, demo_id=demo_id)
        )
        return DemoScheduledResult(**vars(result), demo_id=demo_id)

    def reschedule_demo(
        self,
        audit: Audit,
        relationship_id: UUID,
        demo_id: UUID,
        command: RescheduleDemo,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Moves a scheduled demo to another time."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.reschedule_demo(audit, demo_id, command)
        )

    def complete_demo(
        self,
        audit: Audit,
        relationship_id: UUID,
        demo_id: UUID,
        command: CompleteDemo,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records that a scheduled demo took place, and its outcome."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.complete_demo(audit, demo_id, command)
        )

    def cancel_demo(
        self,
        audit: Audit,
        relationship_id: UUID,
        demo_id: UUID,
        command: CancelDemo,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Cancels a scheduled demo."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.cancel_demo(audit, demo_id, command)
        )

    def propose_contract(
        self, audit: Audit, relationship_id: UUID, command: ProposeContract, *, expected_version: int | None = None
    ) -> ContractProposedResult:
        """Proposes a contract to the client."""
        contract_id = uuid4()
        result = self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.propose_contract(audit, command, contract_id=contract_id),
        )
        return ContractProposedResult(**vars(result), contract_id=contract_id)

    def sign_contract(
        self,
        audit: Audit,
        relationship_id: UUID,
        contract_id: UUID,
        command: SignContract,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records a proposed contract's signing (not dated after today): its value is credited to the manager."""
        self.check_not_after_today("signed_on", command.signed_on)
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.sign_contract(audit, contract_id, command)
        )

    def terminate_contract(
        self,
        audit: Audit,
        relationship_id: UUID,
        contract_id: UUID,
        command: TerminateContract,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Ends a signed contract."""
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.terminate_contract(audit, contract_id, command)
        )

    def provide_entertainment(
        self,
        audit: Audit,
        relationship_id: UUID,
        command: ProvideEntertainment,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records business entertainment (not dated after today)."""
        self.check_not_after_today("occurred_on", command.occurred_on)
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.provide_entertainment(audit, command)
        )

    def correct_entry(
        self, audit: Audit, relationship_id: UUID, command: CorrectEntry, *, expected_version: int | None = None
    ) -> CorrectionResult:
        """Applies a correction at once, or, for an account manager's that moves pay, stores it as a request."""
        request_ids: list[UUID | None] = []

        def correct(relationship: ClientRelationship) -> None:
            original = self._event_at(relationship, command.corrects_version)
            if isinstance(original, ContractSigned):
                check_may_correct_signing(audit.principal, original.credited_account_manager_id)
            self._check_corrected_dates(original, command.changes)
            if needs_approval(audit.principal, moves_pay=moves_pay(original, command.changes)):
                assert audit.principal.account_manager_id is not None  # checked by check_allowed
                request_ids.append(
                    relationship.request_correction(
                        audit,
                        original=original,
                        reason=command.reason,
                        changes=command.changes,
                        requested_by=audit.principal.account_manager_id,
                    )
                )
                return
            request_ids.append(None)
            history = self.history(relationship_id) if isinstance(original, ContactLogged) else ()
            relationship.correct_entry(
                audit, original=original, reason=command.reason, changes=command.changes, history=history
            )

        result = self._on_relationship(audit, relationship_id, expected_version, correct)
        return CorrectionResult(**vars(result), request_id=request_ids[-1])

    def approve_correction(
        self,
        audit: Audit,
        relationship_id: UUID,
        request_id: UUID,
        command: ApproveCorrection,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies a requested correction, checked again against the relationship as it is now (managers, admins)."""
        check_allowed(audit.principal, Action.DECIDE_CORRECTION)

        def approve(relationship: ClientRelationship) -> None:
            request = relationship.open_correction_request(request_id)
            original = self._event_at(relationship, request.corrects_version)
            relationship.approve_correction(
                audit,
                request_id=request_id,
                original=original,
                history=self.history(relationship_id),
                reason=command.reason,
            )

        return self._on_relationship(audit, relationship_id, expected_version, approve)

    def reject_correction(
        self,
        audit: Audit,
        relationship_id: UUID,
        request_id: UUID,
        command: RejectCorrection,
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Closes a correction request without applying it (managers, admins)."""
        check_allowed(audit.principal, Action.DECIDE_CORRECTION)
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.reject_correction(audit, request_id=request_id, reason=command.reason),
        )

    def close_relationship(
        self, audit: Audit, relationship_id: UUID, command: CloseRelationship, *, expected_version: int | None = None
    ) -> CommandResult:
        """Closes the relationship: nothing more is recorded on it until it is reopened."""
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.close(audit, command))

    def reopen_relationship(
        self, audit: Audit, relationship_id: UUID, command: ReopenRelationship, *, expected_version: int | None = None
    ) -> CommandResult:
        """Reopens a closed relationship."""
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.reopen(audit, command))

    # -- gift recipients and the compliance policy --

    def merge_recipients(
        self, audit: Audit, survivor_id: UUID, command: MergeRecipients, *, expected_version: int | None = None
    ) -> CommandResult:
        """Counts the absorbed recipient's gifts as the survivor's from now on (compliance): the same person.

        No stored gift changes; a limit year the two together are over shows as a breach.
        """
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)

        def attempt() -> CommandResult:
            survivor = self._load(GiftRecipient, survivor_id, expected_version)
            absorbed = self._load(GiftRecipient, command.absorbed_id)
            survivor.absorb(audit, other=absorbed, reason=command.reason)
            return self._stored(audit, survivor, absorbed)

        return self._retrying(attempt)

    def establish_gift_policy(self) -> None:
        """Stores the default gift policy if none is stored yet (idempotent, safe to race)."""
        policy = self.gift_policy()
        if policy.pending_events:
            with contextlib.suppress(RecordConflictError):
                self.save(policy)

    def schedule_gift_limit(
        self, audit: Audit, command: ScheduleGiftLimit, *, expected_version: int | None = None
    ) -> CommandResult:
        """Sets the firm's gift limit from a date on: at most the regulatory limit, with a reason if in the past."""
        return self._on_policy(audit, expected_version, lambda p: p.schedule_limit(audit, command, today=self.today()))

    def set_limit_year(
        self, audit: Audit, command: SetLimitYear, *, expected_version: int | None = None
    ) -> CommandResult:
        """Sets how the limit year is drawn: calendar, fiscal or the rolling 365 days."""
        return self._on_policy(audit, expected_version, lambda p: p.set_limit_year(audit, command))

    def set_review_threshold(
        self, audit: Audit, command: SetReviewThreshold, *, expected_version: int | None = None
    ) -> CommandResult:
        """Sets the cost above which an uncounted gift (promotional, personal, …) is a review exception."""
        return self._on_policy(audit, expected_version, lambda p: p.set_review_threshold(audit, command))

    def schedule_programme_rules(
        self, audit: Audit, command: ScheduleProgrammeRules, *, expected_version: int | None = None
    ) -> CommandResult:
        """Sets the programme's rules (pre-clearance, entertainment caps, gifts received, attestations) from a date
        on; rules left out keep their value then, and a date in the past needs a reason."""
        return self._on_policy(
            audit, expected_version, lambda p: p.schedule_programme(audit, command, today=self.today())
        )

    # -- how commands run --

    def _on_relationship(
        self,
        audit: Audit,
        relationship_id: UUID,
        expected_version: int | None,
        command: Callable[[ClientRelationship], Any],
    ) -> CommandResult:
        def attempt() -> CommandResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            command(relationship)
            return self._stored(audit, relationship)

        return self._retrying(attempt)

    def _on_account_manager(
        self,
        audit: Audit,
        account_manager_id: UUID,
        expected_version: int | None,
        command: Callable[[AccountManager], Any],
    ) -> CommandResult:
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)

        def attempt() -> CommandResult:
            manager = self._load(AccountManager, account_manager_id, expected_version)
            command(manager)
            return self._stored(audit, manager)

        return self._retrying(attempt)

    def _event_at(self, relationship: ClientRelationship, version: int) -> LedgerEvent:
        if not 1 <= version <= relationship.version:
            msg = (
                f"The relationship has versions 1 to {relationship.version}; there is no version {version} to correct."
            )
            raise NotFound(msg)
        return self.event_version(relationship.id, version)

    def _check_corrected_dates(self, original: LedgerEvent, changes: dict[str, Any]) -> None:
        """A correction may not date a signing or an entertainment after today either."""
        dated = {ContractSigned: "signed_on", EntertainmentProvided: "occurred_on"}.get(type(original))
        if dated is None or dated not in changes:
            return
        corrected = ClientRelationship.validated_changes(original, {dated: changes[dated]})
        self.check_not_after_today(f"changes.{dated}", date.fromisoformat(corrected[dated]))
