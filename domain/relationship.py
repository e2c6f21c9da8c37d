"""The ClientRelationship aggregate: everything an account manager does for one client."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.account_manager import AccountManager
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent, validation_failure
from domain.values import (
    STORED,
    Audit,
    BusinessDate,
    Channel,
    ClientKind,
    ContractStatus,
    DemoStatus,
    Frozen,
    GiftCategory,
    Industry,
    IntroductionOutcome,
    Name,
    NonNegativeMoney,
    PositiveMoney,
    Reason,
    RecordedMoney,
    RelationshipStatus,
    StaffRole,
    Text,
    Tier,
    Timestamp,
)

CadenceDays = Annotated[int, Field(ge=1, le=365)]


class StaffMember(Frozen):
    """Someone sent to a demo, and what they are there for."""

    name: Name
    role: StaffRole


class Demo(BaseModel):
    """A demo as the relationship knows it now."""

    product: str
    scheduled_for: datetime
    location: str
    staff: list[StaffMember]
    status: DemoStatus = DemoStatus.SCHEDULED
    outcome: str | None = None


class Contract(BaseModel):
    """A contract as the relationship knows it now."""

    title: str
    value: RecordedMoney
    starts_on: date
    ends_on: date
    status: ContractStatus = ContractStatus.PROPOSED
    signed_on: date | None = None
    credited_account_manager_id: UUID | None = None
    terminated_on: date | None = None


class Recipient(Frozen):
    """The person who receives a gift, as given, with the id the firm tracks them under."""

    recipient_id: UUID
    name: Name
    employer: Name


class CorrectionStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class CorrectionRequest(BaseModel):
    """A correction an account manager asked for, open until a manager approves or rejects it."""

    request_id: UUID
    requested_version: int
    requested_at: datetime
    requested_by: UUID
    requester_id: str
    corrects_version: int
    corrected_type: str
    target: str | None
    reason: str
    changes: dict[str, Any]
    status: CorrectionStatus = CorrectionStatus.OPEN
    decided_version: int | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None


class GiftShare(Frozen):
    """Another person who shares a gift: their own record of it is kept under `share_id`."""

    share_id: UUID
    recipient: Recipient


# -- Events ------------------------------------------------------------------


class RelationshipEvent(LedgerEvent):
    """An event of a client relationship."""

    target_field: ClassVar[str | None] = None
    """The field naming what the event is about (a contract, a demo), so a correction can find it."""
    pay_fields: ClassVar[frozenset[str]] = frozenset()
    """The correctable fields that move pay: an account manager's correction of them is only a request."""

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        """Evolves current state for a correction of an event of this type (none by default)."""


class Opened(LedgerCreated, RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.Opened"
    correctable_fields: ClassVar = frozenset({"client_name", "client_kind", "industry"})
    client_name: Name
    client_kind: ClientKind
    industry: Industry
    tier: Tier
    account_manager_id: UUID

    def apply(self, aggregate: Any) -> None:
        aggregate.client_name = self.client_name
        aggregate.client_kind = self.client_kind
        aggregate.industry = self.industry
        aggregate.tier = self.tier
        aggregate.account_manager_id = self.account_manager_id
        aggregate.status = RelationshipStatus.OPEN
        aggregate.cadence_days = None
        aggregate.last_contact_at = None
        aggregate.last_contact_version = None
        aggregate.next_follow_up_on = None
        aggregate.products = {}
        aggregate.product_versions = {}
        aggregate.demos = {}
        aggregate.contracts = {}
        aggregate.gifts_given = 0
        aggregate.correction_requests = {}

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        for name, value in changes.items():
            setattr(aggregate, name, value)


class AccountManagerAssigned(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.AccountManagerAssigned"
    account_manager_id: UUID
    previous_account_manager_id: UUID
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        aggregate.account_manager_id = self.account_manager_id


class TierChanged(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.TierChanged"
    tier: Tier

    def apply(self, aggregate: Any) -> None:
        aggregate.tier = self.tier


class ContactCadenceChanged(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContactCadenceChanged"
    days: CadenceDays

    def apply(self, aggregate: Any) -> None:
        aggregate.cadence_days = self.days


class ContactLogged(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContactLogged"
    business_time_field: ClassVar = "occurred_at"
    correctable_fields: ClassVar = frozenset({"occurred_at", "channel", "summary", "next_follow_up_on"})
    occurred_at: Timestamp
    channel: Channel
    summary: Text
    next_follow_up_on: BusinessDate | None = None

    @field_validator("next_follow_up_on")
    @classmethod
    def _follow_up_not_before_contact(cls, follow_up: date | None, info: ValidationInfo) -> date | None:
        occurred_at = info.data.get("occurred_at")
        if follow_up is not None and occurred_at is not None and follow_up < occurred_at.date():
            msg = "cannot be before the contact itself"
            raise ValueError(msg)
        return follow_up

    def apply(self, aggregate: Any) -> None:
        if aggregate.last_contact_at is None or self.occurred_at >= aggregate.last_contact_at:
            aggregate.last_contact_at = self.occurred_at
            aggregate.last_contact_version = self.originator_version
            aggregate.next_follow_up_on = self.next_follow_up_on


class ProductIntroduced(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ProductIntroduced"
    business_time_field: ClassVar = "occurred_at"
    correctable_fields: ClassVar = frozenset({"occurred_at", "outcome"})
    product: Name
    occurred_at: Timestamp
    outcome: IntroductionOutcome

    target_field: ClassVar = "product"

    def apply(self, aggregate: Any) -> None:
        aggregate.products[self.product] = self.outcome
        aggregate.product_versions[self.product] = self.originator_version

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        # Only the latest introduction of a product says where it stands now.
        if "outcome" in changes and aggregate.product_versions.get(target) == corrects_version:
            aggregate.products[target] = changes["outcome"]


class DemoScheduled(RelationshipEvent):
    """A demo was scheduled. Version 2 records each staff member's role (version 1 kept names only)."""

    TOPIC = "ledger:ClientRelationship.DemoScheduled"
    class_version: ClassVar = 2
    correctable_fields: ClassVar = frozenset({"product", "location", "staff"})
    demo_id: UUID
    product: Name
    scheduled_for: Timestamp
    location: Text
    staff: list[StaffMember] = Field(min_length=1)

    target_field: ClassVar = "demo_id"

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.demos[UUID(target)], changes)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # Version 1 stored staff as plain names; their role was not recorded.
        state["staff"] = [{"name": name, "role": StaffRole.OTHER.value} for name in state["staff"]]

    def apply(self, aggregate: Any) -> None:
        aggregate.demos[self.demo_id] = Demo(
            product=self.product,
            scheduled_for=self.scheduled_for,
            location=self.location,
            staff=list(self.staff),
        )


class DemoRescheduled(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.DemoRescheduled"
    demo_id: UUID
    scheduled_for: Timestamp

    def apply(self, aggregate: Any) -> None:
        aggregate.demos[self.demo_id].scheduled_for = self.scheduled_for


class DemoCompleted(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.DemoCompleted"
    correctable_fields: ClassVar = frozenset({"outcome"})
    demo_id: UUID
    outcome: Text

    target_field: ClassVar = "demo_id"

    def apply(self, aggregate: Any) -> None:
        demo = aggregate.demos[self.demo_id]
        demo.status = DemoStatus.COMPLETED
        demo.outcome = self.outcome

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.demos[UUID(target)], changes)


class DemoCancelled(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.DemoCancelled"
    demo_id: UUID
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        aggregate.demos[self.demo_id].status = DemoStatus.CANCELLED


class ContractProposed(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContractProposed"
    correctable_fields: ClassVar = frozenset({"title", "value", "starts_on", "ends_on"})
    contract_id: UUID
    title: Name
    value: PositiveMoney
    starts_on: BusinessDate
    ends_on: BusinessDate

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, ends_on: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on <= starts_on:
            msg = f"must be after starts_on ({starts_on})"
            raise ValueError(msg)
        return ends_on

    target_field: ClassVar = "contract_id"

    def apply(self, aggregate: Any) -> None:
        aggregate.contracts[self.contract_id] = Contract(
            title=self.title, value=self.value, starts_on=self.starts_on, ends_on=self.ends_on
        )

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.contracts[UUID(target)], changes)


class ContractSigned(RelationshipEvent):
    """A proposed contract was signed; the manager assigned at signing keeps the credit."""

    TOPIC = "ledger:ClientRelationship.ContractSigned"
    business_time_field: ClassVar = "signed_on"
    correctable_fields: ClassVar = frozenset({"signed_on", "value"})
    pay_fields: ClassVar = frozenset({"signed_on", "value"})
    contract_id: UUID
    signed_on: BusinessDate
    value: PositiveMoney
    credited_account_manager_id: UUID

    def apply(self, aggregate: Any) -> None:
        contract = aggregate.contracts[self.contract_id]
        contract.status = ContractStatus.SIGNED
        contract.signed_on = self.signed_on
        contract.value = self.value
        contract.credited_account_manager_id = self.credited_account_manager_id

    target_field: ClassVar = "contract_id"

    @classmethod
    def apply_correction(
        cls, aggregate: Any, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.contracts[UUID(target)], changes)


class ContractTerminated(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContractTerminated"
    business_time_field: ClassVar = "on"
    contract_id: UUID
    on: BusinessDate
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        contract = aggregate.contracts[self.contract_id]
        contract.status = ContractStatus.TERMINATED
        contract.terminated_on = self.on


class GiftGiven(RelationshipEvent):
    """A gift was given; `counted_value` is what it counts towards the recipient's limit."""

    TOPIC = "ledger:ClientRelationship.GiftGiven"
    business_time_field: ClassVar = "given_on"
    correctable_fields: ClassVar = frozenset({"description"})
    target_field: ClassVar = "gift_id"
    gift_id: UUID
    recipient: Recipient
    description: Text
    given_on: BusinessDate
    category: GiftCategory
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    recipients_count: Annotated[int, Field(ge=1, le=10_000)] = 1
    representative_attended: bool = False
    counted_value: NonNegativeMoney
    shared_with: list[GiftShare] = []
    """Everyone else who shares the gift (each counts `counted_value`); before 2026-11 only a count was kept."""

    def apply(self, aggregate: Any) -> None:
        aggregate.gifts_given += 1


class EntertainmentProvided(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.EntertainmentProvided"
    business_time_field: ClassVar = "occurred_on"
    correctable_fields: ClassVar = frozenset({"occurred_on", "description", "cost", "attendees"})
    occurred_on: BusinessDate
    description: Text
    cost: PositiveMoney
    attendees: list[Name] = Field(min_length=1)
    representative_attended: bool

    @model_validator(mode="after")
    def _representative_attends(self) -> EntertainmentProvided:
        if not self.representative_attended:
            msg = "entertainment the representative does not attend is a gift: record it as a gift of category 'ticket'"
            raise ValueError(msg)
        return self


class LatestContact(Frozen):
    """The contact that is the relationship's latest, by when it happened."""

    version: int
    occurred_at: AwareDatetime
    next_follow_up_on: date | None


class EntryCorrected(RelationshipEvent):
    """An earlier event is corrected: `changes` holds the corrected values of its fields.

    Where a contact is corrected, `latest_contact` records which contact is the
    latest afterwards, worked out from the whole history when the correction was made.
    """

    TOPIC = "ledger:ClientRelationship.EntryCorrected"
    corrects_version: Annotated[int, Field(ge=1)]
    corrected_type: str
    target: str | None = None
    reason: Reason
    changes: dict[str, Any]
    latest_contact: LatestContact | None = None

    def apply(self, aggregate: Any) -> None:
        corrected_class = _CORRECTABLE[self.corrected_type]
        typed = _typed_changes(corrected_class, self.changes)
        corrected_class.apply_correction(aggregate, self.corrects_version, self.target, typed)
        if self.latest_contact is not None:
            aggregate.last_contact_version = self.latest_contact.version
            aggregate.last_contact_at = self.latest_contact.occurred_at
            aggregate.next_follow_up_on = self.latest_contact.next_follow_up_on


def latest_contact(history: Iterable[LedgerEvent], correction: tuple[int, dict[str, Any]]) -> LatestContact | None:
    """The latest contact once `correction` (a version and its typed changes) is applied to `history`."""
    contacts: dict[int, dict[str, Any]] = {}
    corrections = [*_contact_corrections(history, contacts), correction]
    for version, changes in corrections:
        contacts[version] = {**contacts[version], **changes}
    if not contacts:
        return None
    # Ties go to the contact logged later, as when contacts are logged.
    version, contact = max(contacts.items(), key=lambda item: (item[1]["occurred_at"], item[0]))
    return LatestContact(
        version=version, occurred_at=contact["occurred_at"], next_follow_up_on=contact["next_follow_up_on"]
    )


def _contact_corrections(
    history: Iterable[LedgerEvent], contacts: dict[int, dict[str, Any]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for event in history:
        if isinstance(event, ContactLogged):
            contacts[event.originator_version] = {
                "occurred_at": event.occurred_at,
                "next_follow_up_on": event.next_follow_up_on,
            }
        elif isinstance(event, EntryCorrected) and event.corrected_type == ContactLogged.TOPIC:
            yield event.corrects_version, _typed_changes(ContactLogged, event.changes)


class CorrectionRequested(RelationshipEvent):
    """An account manager asked for a correction that moves pay; nothing changes until a manager approves it."""

    TOPIC = "ledger:ClientRelationship.CorrectionRequested"
    request_id: UUID
    corrects_version: Annotated[int, Field(ge=1)]
    corrected_type: str
    target: str | None = None
    reason: Reason
    changes: dict[str, Any]
    requested_by: UUID

    def apply(self, aggregate: Any) -> None:
        aggregate.correction_requests[self.request_id] = CorrectionRequest(
            request_id=self.request_id,
            requested_version=self.originator_version,
            requested_at=self.recorded_at,
            requested_by=self.requested_by,
            requester_id=self.actor_id,
            corrects_version=self.corrects_version,
            corrected_type=self.corrected_type,
            target=self.target,
            reason=self.reason,
            changes=self.changes,
        )


class CorrectionApproved(RelationshipEvent):
    """A manager approved a correction request; the `EntryCorrected` stored right after it applies the correction."""

    TOPIC = "ledger:ClientRelationship.CorrectionApproved"
    request_id: UUID
    reason: Reason | None = None

    def apply(self, aggregate: Any) -> None:
        _decide(aggregate, self, CorrectionStatus.APPROVED, self.reason)


class CorrectionRejected(RelationshipEvent):
    """A manager rejected a correction request: nothing it asked for is applied."""

    TOPIC = "ledger:ClientRelationship.CorrectionRejected"
    request_id: UUID
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        _decide(aggregate, self, CorrectionStatus.REJECTED, self.reason)


def _decide(
    aggregate: Any, event: CorrectionApproved | CorrectionRejected, status: CorrectionStatus, reason: str | None
) -> None:
    request = aggregate.correction_requests[event.request_id]
    request.status = status
    request.decided_version = event.originator_version
    request.decided_at = event.recorded_at
    request.decided_by = event.actor_id
    request.decision_reason = reason


def moves_pay(original: LedgerEvent, changes: dict[str, Any]) -> bool:
    """Whether correcting these fields of `original` would change what someone is paid."""
    pay_fields: frozenset[str] = getattr(type(original), "pay_fields", frozenset())
    return not pay_fields.isdisjoint(changes)


class Closed(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.Closed"
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        aggregate.status = RelationshipStatus.CLOSED


class Reopened(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.Reopened"
    reason: Reason

    def apply(self, aggregate: Any) -> None:
        aggregate.status = RelationshipStatus.OPEN


_CORRECTABLE: dict[str, type[RelationshipEvent]] = {
    cls.TOPIC: cls
    for cls in (
        Opened,
        ContactLogged,
        ProductIntroduced,
        DemoScheduled,
        DemoCompleted,
        ContractProposed,
        ContractSigned,
        GiftGiven,
        EntertainmentProvided,
    )
}


def _update(entity: BaseModel, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(entity, name, value)


@lru_cache
def _field_adapter(event_class: type[RelationshipEvent], name: str) -> TypeAdapter[Any]:
    annotation = event_class.model_fields[name].annotation
    assert annotation is not None
    return TypeAdapter(annotation)


def _typed_changes(event_class: type[RelationshipEvent], changes: dict[str, Any]) -> dict[str, Any]:
    # Stored changes are JSON values (validated when the correction was made);
    # they are typed again here so that state holds dates, decimals and enums.
    return {
        name: _field_adapter(event_class, name).validate_python(value, context=STORED)
        for name, value in changes.items()
    }


# -- The aggregate -----------------------------------------------------------


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
        *,
        client_name: str,
        client_kind: ClientKind | str,
        industry: Industry | str,
        tier: Tier | str,
        account_manager: AccountManager,
        id: UUID | None = None,  # noqa: A002
    ) -> ClientRelationship:
        account_manager.check_active()
        return cls._start(
            Opened,
            audit,
            id=id or uuid4(),
            client_name=client_name,
            client_kind=client_kind,
            industry=industry,
            tier=tier,
            account_manager_id=account_manager.id,
        )

    def assign(self, audit: Audit, *, account_manager: AccountManager, reason: str) -> None:
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
            reason=reason,
        )

    def change_tier(self, audit: Audit, *, tier: Tier | str) -> None:
        self.check_open()
        if tier == self.tier:
            msg = f"{self.client_name} is already a {self.tier} relationship."
            raise RuleViolation(msg)
        self._record(TierChanged, audit, tier=tier)

    def change_cadence(self, audit: Audit, *, days: int) -> None:
        self.check_open()
        self._record(ContactCadenceChanged, audit, days=days)

    def log_contact(
        self,
        audit: Audit,
        *,
        occurred_at: datetime,
        channel: Channel | str,
        summary: str,
        next_follow_up_on: date | None = None,
    ) -> None:
        self.check_open()
        self._record(
            ContactLogged,
            audit,
            occurred_at=occurred_at,
            channel=channel,
            summary=summary,
            next_follow_up_on=next_follow_up_on,
        )

    def introduce_product(
        self, audit: Audit, *, product: str, occurred_at: datetime, outcome: IntroductionOutcome | str
    ) -> None:
        self.check_open()
        self._record(ProductIntroduced, audit, product=product, occurred_at=occurred_at, outcome=outcome)

    def schedule_demo(
        self,
        audit: Audit,
        *,
        product: str,
        scheduled_for: datetime,
        location: str,
        staff: list[StaffMember] | list[dict[str, Any]],
        demo_id: UUID | None = None,
    ) -> UUID:
        self.check_open()
        demo_id = demo_id or uuid4()
        self._record(
            DemoScheduled,
            audit,
            demo_id=demo_id,
            product=product,
            scheduled_for=scheduled_for,
            location=location,
            staff=staff,
        )
        return demo_id

    def reschedule_demo(self, audit: Audit, *, demo_id: UUID, scheduled_for: datetime) -> None:
        self.check_demo_scheduled(demo_id, "rescheduled")
        self._record(DemoRescheduled, audit, demo_id=demo_id, scheduled_for=scheduled_for)

    def complete_demo(self, audit: Audit, *, demo_id: UUID, outcome: str) -> None:
        self.check_demo_scheduled(demo_id, "completed")
        self._record(DemoCompleted, audit, demo_id=demo_id, outcome=outcome)

    def cancel_demo(self, audit: Audit, *, demo_id: UUID, reason: str) -> None:
        self.check_demo_scheduled(demo_id, "cancelled")
        self._record(DemoCancelled, audit, demo_id=demo_id, reason=reason)

    def propose_contract(
        self,
        audit: Audit,
        *,
        title: str,
        value: Decimal | str,
        starts_on: date,
        ends_on: date,
        contract_id: UUID | None = None,
    ) -> UUID:
        self.check_open()
        contract_id = contract_id or uuid4()
        self._record(
            ContractProposed,
            audit,
            contract_id=contract_id,
            title=title,
            value=value,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        return contract_id

    def sign_contract(self, audit: Audit, *, contract_id: UUID, signed_on: date) -> None:
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
            signed_on=signed_on,
            value=contract.value,
            credited_account_manager_id=self.account_manager_id,
        )

    def terminate_contract(self, audit: Audit, *, contract_id: UUID, on: date, reason: str) -> None:
        self.check_open()
        contract = self.contract(contract_id)
        if contract.status is not ContractStatus.SIGNED:
            msg = f"Contract {contract.title!r} is {contract.status}; only a signed contract can be terminated."
            raise RuleViolation(msg)
        assert contract.signed_on is not None
        if on < contract.signed_on:
            msg = f"A contract signed on {contract.signed_on} cannot be terminated on {on}, before it was signed."
            raise RuleViolation(msg)
        self._record(ContractTerminated, audit, contract_id=contract_id, on=on, reason=reason)

    def give_gift(self, audit: Audit, *, gift_id: UUID, **gift: Any) -> None:
        """Records a gift; the caller has valued it and had the recipient accept it under the limit."""
        self.check_open()
        self._record(GiftGiven, audit, gift_id=gift_id, **gift)

    def provide_entertainment(
        self,
        audit: Audit,
        *,
        occurred_on: date,
        description: str,
        cost: Decimal | str,
        attendees: list[str],
        representative_attended: bool,
    ) -> None:
        self.check_open()
        self._record(
            EntertainmentProvided,
            audit,
            occurred_on=occurred_on,
            description=description,
            cost=cost,
            attendees=attendees,
            representative_attended=representative_attended,
        )

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
        event_class = _CORRECTABLE.get(corrected_type)
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
            typed = _typed_changes(ContactLogged, normalised)
            latest = latest_contact(history, (original.originator_version, typed))
        return {
            "corrects_version": original.originator_version,
            "corrected_type": corrected_type,
            "target": None if target is None else str(target),
            "changes": normalised,
            "latest_contact": latest,
        }

    def close(self, audit: Audit, *, reason: str) -> None:
        self.check_open()
        self._record(Closed, audit, reason=reason)

    def reopen(self, audit: Audit, *, reason: str) -> None:
        if self.status is not RelationshipStatus.CLOSED:
            msg = f"{self.client_name} is open; only a closed relationship can be reopened."
            raise RuleViolation(msg)
        self._record(Reopened, audit, reason=reason)

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
