"""The ClientRelationship aggregate: everything an account manager does for one client.

Its events are in `domain.relationship_events`, corrections of them in
`domain.relationship_corrections`; both are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic
from pydantic import BaseModel, ValidationError

from domain.account_manager import AccountManager
from domain.commands import (
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    CompleteDemo,
    GiveGift,
    IntroduceProduct,
    LogContact,
    OpenRelationship,
    ProposeContract,
    ProvideEntertainment,
    ReopenRelationship,
    RescheduleDemo,
    ScheduleDemo,
    SignContract,
    StaffMember,
    TerminateContract,
)
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.model import LedgerAggregate, LedgerEvent, validation_failure
from domain.relationship_corrections import (
    CORRECTABLE,
    CorrectionApproved,
    CorrectionRejected,
    CorrectionRequest,
    CorrectionRequested,
    CorrectionStatus,
    EntryCorrected,
    LatestContact,
    latest_contact,
    moves_pay,
    typed_changes,
)
from domain.relationship_events import (
    AccountManagerAssigned,
    CadenceDays,
    Closed,
    ContactCadenceChanged,
    ContactLogged,
    Contract,
    ContractProposed,
    ContractSigned,
    ContractTerminated,
    Demo,
    DemoCancelled,
    DemoCompleted,
    DemoRescheduled,
    DemoScheduled,
    EntertainmentProvided,
    GiftGiven,
    GiftShare,
    Opened,
    ProductIntroduced,
    Recipient,
    RelationshipEvent,
    Reopened,
    TierChanged,
)
from domain.values import (
    Audit,
    ClientKind,
    ContractStatus,
    DemoStatus,
    Industry,
    IntroductionOutcome,
    RelationshipStatus,
    Tier,
)

__all__ = [
    "AccountManagerAssigned",
    "CadenceDays",
    "ClientRelationship",
    "Closed",
    "ContactCadenceChanged",
    "ContactLogged",
    "Contract",
    "ContractProposed",
    "ContractSigned",
    "ContractTerminated",
    "CorrectionApproved",
    "CorrectionRejected",
    "CorrectionRequest",
    "CorrectionRequested",
    "CorrectionStatus",
    "Demo",
    "DemoCancelled",
    "DemoCompleted",
    "DemoRescheduled",
    "DemoScheduled",
    "EntertainmentProvided",
    "EntryCorrected",
    "GiftGiven",
    "GiftShare",
    "LatestContact",
    "Opened",
    "ProductIntroduced",
    "Recipient",
    "RelationshipEvent",
    "Reopened",
    "StaffMember",
    "TierChanged",
    "latest_contact",
    "moves_pay",
]


class ClientRelationship(LedgerAggregate):
    """One client (a person or a corporation) and everything recorded for them."""

    TOPIC = "ledger:ClientRelationship"
    snapshot_version = 3  # 2: State gained product_versions; 3: correction_requests

    class State(BaseModel):
        client_name: str
        client_kind: ClientKind
        industry: Industry
        tier: Tier
        account_manager_id: UUID
        status: RelationshipStatus
        cadence_days: int | None
        last_contact_at: datetime | None
        last_contact_version: int | None
        next_follow_up_on: date | None
        products: dict[str, IntroductionOutcome]
        product_versions: dict[str, int]
        demos: dict[UUID, Demo]
        contracts: dict[UUID, Contract]
        gifts_given: int
        correction_requests: dict[UUID, CorrectionRequest]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        client_name: str
        client_kind: ClientKind
        industry: Industry
        tier: Tier
        account_manager_id: UUID
        status: RelationshipStatus
        cadence_days: int | None
        last_contact_at: datetime | None
        last_contact_version: int | None
        next_follow_up_on: date | None
        products: dict[str, IntroductionOutcome]
        product_versions: dict[str, int]
        demos: dict[UUID, Demo]
        contracts: dict[UUID, Contract]
        gifts_given: int
        correction_requests: dict[UUID, CorrectionRequest]

    # -- commands --

    @classmethod
    def open(
        cls,
        audit: Audit,
        command: OpenRelationship,
        *,
        account_manager: AccountManager,
        id: UUID | None = None,  # noqa: A002
    ) -> ClientRelationship:
        """Opens a relationship with a client, assigned to `account_manager` (the one the command names)."""
        assert account_manager.id == command.account_manager_id
        account_manager.check_active()
        return cls._start(Opened, audit, id=id or uuid4(), **dict(command))

    def assign(self, audit: Audit, command: AssignAccountManager, *, account_manager: AccountManager) -> None:
        """Gives the relationship to `account_manager` (the one the command names), who must be active."""
        assert account_manager.id == command.account_manager_id
        self.check_open()
        account_manager.check_active()
        if account_manager.id == self.account_manager_id:
            msg = f"{account_manager.name} is already the account manager of {self.client_name}."
            raise RuleViolation(msg)
        self._record(
            AccountManagerAssigned,
            audit,
            account_manager_id=account_manager.id,
            previous_account_manager_id=self.account_manager_id,
            reason=command.reason,
        )

    def change_tier(self, audit: Audit, command: ChangeTier) -> None:
        self.check_open()
        if command.tier == self.tier:
            msg = f"{self.client_name} is already a {self.tier} relationship."
            raise RuleViolation(msg)
        self._record(TierChanged, audit, **dict(command))

    def change_cadence(self, audit: Audit, command: ChangeCadence) -> None:
        self.check_open()
        self._record(ContactCadenceChanged, audit, **dict(command))

    def log_contact(self, audit: Audit, command: LogContact) -> None:
        self.check_open()
        self._record(ContactLogged, audit, **dict(command))

    def introduce_product(self, audit: Audit, command: IntroduceProduct) -> None:
        self.check_open()
        self._record(ProductIntroduced, audit, **dict(command))

    def schedule_demo(self, audit: Audit, command: ScheduleDemo, *, demo_id: UUID | None = None) -> UUID:
        """Schedules a demo, under `demo_id` if given; returns its id."""
        self.check_open()
        demo_id = demo_id or uuid4()
        self._record(DemoScheduled, audit, demo_id=demo_id, **dict(command))
        return demo_id

    def reschedule_demo(self, audit: Audit, demo_id: UUID, command: RescheduleDemo) -> None:
        self.check_demo_scheduled(demo_id, "rescheduled")
        self._record(DemoRescheduled, audit, demo_id=demo_id, **dict(command))

    def complete_demo(self, audit: Audit, demo_id: UUID, command: CompleteDemo) -> None:
        self.check_demo_scheduled(demo_id, "completed")
        self._record(DemoCompleted, audit, demo_id=demo_id, **dict(command))

    def cancel_demo(self, audit: Audit, demo_id: UUID, command: CancelDemo) -> None:
        self.check_demo_scheduled(demo_id, "cancelled")
        self._record(DemoCancelled, audit, demo_id=demo_id, **dict(command))

    def propose_contract(self, audit: Audit, command: ProposeContract, *, contract_id: UUID | None = None) -> UUID:
        """Proposes a contract, under `contract_id` if given; returns its id."""
        self.check_open()
        contract_id = contract_id or uuid4()
        self._record(ContractProposed, audit, contract_id=contract_id, **dict(command))
        return contract_id

    def sign_contract(self, audit: Audit, contract_id: UUID, command: SignContract) -> None:
        """Signs a proposed contract at its proposed value, credited to the account manager assigned now."""
        self.check_open()
        contract = self.contract(contract_id)
        if contract.status is not ContractStatus.PROPOSED:
            msg = (
                f"Contract {contract.title!r} is {contract.status}; "
                "only a proposed contract can be signed, and only once."
            )
            raise RuleViolation(msg)
        self._record(
            ContractSigned,
            audit,
            contract_id=contract_id,
            signed_on=command.signed_on,
            value=contract.value,
            credited_account_manager_id=self.account_manager_id,
        )

    def terminate_contract(self, audit: Audit, contract_id: UUID, command: TerminateContract) -> None:
        self.check_open()
        contract = self.contract(contract_id)
        if contract.status is not ContractStatus.SIGNED:
            msg = f"Contract {contract.title!r} is {contract.status}; only a signed contract can be terminated."
            raise RuleViolation(msg)
        assert contract.signed_on is not None
        if command.on < contract.signed_on:
            msg = (
                f"A contract signed on {contract.signed_on} cannot be terminated on {command.on}, before it was signed."
            )
            raise RuleViolation(msg)
        self._record(ContractTerminated, audit, contract_id=contract_id, **dict(command))

    def give_gift(
        self,
        audit: Audit,
        *,
        gift_id: UUID,
        gift: GiveGift,
        recipient: Recipient,
        shared_with: list[GiftShare],
        counted_value: Decimal,
    ) -> None:
        """Records `gift`, worth `counted_value` to `recipient` and to each person it is `shared_with`.

        Its one caller, `domain.gift_giving.record_gift`, has checked that the relationship is open (before
        looking anyone up), valued the gift and had everyone receive it under the limit; so this does not check
        again.
        """
        self._record(
            GiftGiven,
            audit,
            gift_id=gift_id,
            recipient=recipient,
            description=gift.description,
            given_on=gift.given_on,
            category=gift.category,
            cost=gift.cost,
            market_value=gift.market_value,
            face_value=gift.face_value,
            recipients_count=gift.head_count,
            representative_attended=gift.representative_attended,
            counted_value=counted_value,
            shared_with=shared_with,
        )

    def provide_entertainment(self, audit: Audit, command: ProvideEntertainment) -> None:
        self.check_open()
        self._record(EntertainmentProvided, audit, **dict(command))

    def correct_entry(
        self,
        audit: Audit,
        *,
        original: LedgerEvent,
        reason: str,
        changes: dict[str, Any],
        history: Iterable[LedgerEvent] = (),
    ) -> None:
        """Corrects fields of the earlier event `original`; a contact's correction also needs the `history`."""
        self.check_open()
        self._record(EntryCorrected, audit, reason=reason, **self._correction(original, changes, history))

    def request_correction(
        self,
        audit: Audit,
        *,
        original: LedgerEvent,
        reason: str,
        changes: dict[str, Any],
        requested_by: UUID,
        request_id: UUID | None = None,
    ) -> UUID:
        """Records a correction `requested_by` an account manager, to be applied only if a manager approves it."""
        self.check_open()
        correction = self._correction(original, changes)
        del correction["latest_contact"]  # worked out again from the history when approved
        request_id = request_id or uuid4()
        self._record(
            CorrectionRequested, audit, request_id=request_id, reason=reason, requested_by=requested_by, **correction
        )
        return request_id

    def approve_correction(
        self,
        audit: Audit,
        *,
        request_id: UUID,
        original: LedgerEvent,
        history: Iterable[LedgerEvent],
        reason: str | None = None,
    ) -> None:
        """Applies an open request, checked again against the relationship as it is now (`history` is all of it)."""
        request = self.open_correction_request(request_id)
        self.check_open()
        history = list(history)
        for event in history:
            if (
                isinstance(event, EntryCorrected)
                and event.corrects_version == request.corrects_version
                and event.originator_version > request.requested_version
            ):
                msg = (
                    f"Version {request.corrects_version} has been corrected again (version "
                    f"{event.originator_version}) since this request was made; reject it and ask again."
                )
                raise RuleViolation(msg)
        correction = self._correction(original, request.changes, history)
        self._record(CorrectionApproved, audit, request_id=request_id, reason=reason)
        self._record(EntryCorrected, audit, reason=request.reason, **correction)

    def reject_correction(self, audit: Audit, *, request_id: UUID, reason: str) -> None:
        self.open_correction_request(request_id)
        self.check_open()
        self._record(CorrectionRejected, audit, request_id=request_id, reason=reason)

    def _correction(
        self, original: LedgerEvent, changes: dict[str, Any], history: Iterable[LedgerEvent] = ()
    ) -> dict[str, Any]:
        """The fields of the `EntryCorrected` that would apply `changes` to `original`, every rule checked."""
        assert original.originator_id == self.id
        corrected_type = get_topic(type(original))
        event_class = CORRECTABLE.get(corrected_type)
        if event_class is None:
            msg = (
                f"Version {original.originator_version} is a {type(original).__name__}, which cannot be "
                "corrected; record a new event instead."
            )
            raise RuleViolation(msg)
        self.check_correction(event_class, original, changes)
        normalised = self.validated_changes(original, changes)
        target = getattr(original, event_class.target_field) if event_class.target_field else None
        latest = None
        if isinstance(original, ContactLogged):
            typed = typed_changes(ContactLogged, normalised)
            latest = latest_contact(history, (original.originator_version, typed))
        return {
            "corrects_version": original.originator_version,
            "corrected_type": corrected_type,
            "target": None if target is None else str(target),
            "changes": normalised,
            "latest_contact": latest,
        }

    def close(self, audit: Audit, command: CloseRelationship) -> None:
        self.check_open()
        self._record(Closed, audit, **dict(command))

    def reopen(self, audit: Audit, command: ReopenRelationship) -> None:
        if self.status is not RelationshipStatus.CLOSED:
            msg = f"{self.client_name} is open; only a closed relationship can be reopened."
            raise RuleViolation(msg)
        self._record(Reopened, audit, **dict(command))

    # -- checks --

    def check_open(self) -> None:
        if self.status is RelationshipStatus.CLOSED:
            msg = f"The relationship with {self.client_name} is closed; reopen it before recording anything on it."
            raise RuleViolation(msg)

    def check_demo_scheduled(self, demo_id: UUID, action: str) -> None:
        self.check_open()
        demo = self.demos.get(demo_id)
        if demo is None:
            msg = f"No demo {demo_id} on the relationship with {self.client_name}."
            raise NotFound(msg)
        if demo.status is not DemoStatus.SCHEDULED:
            msg = f"The {demo.product} demo is {demo.status}; only a scheduled demo can be {action}."
            raise RuleViolation(msg)

    def correction_request(self, request_id: UUID) -> CorrectionRequest:
        request = self.correction_requests.get(request_id)
        if request is None:
            msg = f"No correction request {request_id} on the relationship with {self.client_name}."
            raise NotFound(msg)
        return request

    def open_correction_request(self, request_id: UUID) -> CorrectionRequest:
        request = self.correction_request(request_id)
        if request.status is not CorrectionStatus.OPEN:
            msg = f"Correction request {request_id} has been {request.status} already; a request is decided once."
            raise RuleViolation(msg)
        return request

    def contract(self, contract_id: UUID) -> Contract:
        contract = self.contracts.get(contract_id)
        if contract is None:
            msg = f"No contract {contract_id} on the relationship with {self.client_name}."
            raise NotFound(msg)
        return contract

    def check_correction(
        self, event_class: type[RelationshipEvent], original: LedgerEvent, changes: dict[str, Any]
    ) -> None:
        if not changes:
            msg = "A correction must change at least one field."
            raise InvalidInput(msg, [{"field": "changes", "message": "must not be empty"}])
        if "credited_account_manager_id" in changes:
            msg = "The credit of a signing never moves to another manager: no correction can change it."
            raise RuleViolation(msg)
        unknown = sorted(set(changes) - event_class.correctable_fields)
        if unknown:
            allowed = ", ".join(sorted(event_class.correctable_fields))
            msg = f"{event_class.__name__} cannot have {', '.join(unknown)} corrected; correctable fields: {allowed}."
            raise InvalidInput(msg, [{"field": f"changes.{name}", "message": "not correctable"} for name in unknown])
        contract_id = getattr(original, "contract_id", None)
        if (
            isinstance(original, ContractProposed)
            and self.contract(original.contract_id).status is not ContractStatus.PROPOSED
        ):
            msg = "The contract has been signed since it was proposed; correct the signature instead."
            raise RuleViolation(msg)
        if contract_id is not None and self.contract(contract_id).status is ContractStatus.TERMINATED:
            msg = "The contract has been terminated; its terms can no longer be corrected."
            raise RuleViolation(msg)

    @staticmethod
    def validated_changes(original: LedgerEvent, changes: dict[str, Any]) -> dict[str, Any]:
        merged = {**original.model_dump(), **changes}
        try:
            corrected = type(original).model_validate(merged)
        except ValidationError as error:
            raise validation_failure(error) from None
        return corrected.model_dump(mode="json", include=set(changes))
