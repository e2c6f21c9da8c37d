"""What is recorded on a client relationship: its events, and the demos, contracts and gift recipients they hold.

Corrections of these events, and requests for them, are in `domain.relationship_corrections`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from domain.commands import StaffMember
from domain.model import LedgerCreated, LedgerEvent
from domain.values import (
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

if TYPE_CHECKING:
    from domain.relationship import ClientRelationship


CadenceDays = Annotated[int, Field(ge=1, le=365)]


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
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
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

    def apply(self, aggregate: ClientRelationship) -> None:
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
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        for name, value in changes.items():
            setattr(aggregate, name, value)


class AccountManagerAssigned(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.AccountManagerAssigned"
    account_manager_id: UUID
    previous_account_manager_id: UUID
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.account_manager_id = self.account_manager_id


class TierChanged(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.TierChanged"
    tier: Tier

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.tier = self.tier


class ContactCadenceChanged(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContactCadenceChanged"
    days: CadenceDays

    def apply(self, aggregate: ClientRelationship) -> None:
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

    def apply(self, aggregate: ClientRelationship) -> None:
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

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.products[self.product] = self.outcome
        aggregate.product_versions[self.product] = self.originator_version

    @classmethod
    def apply_correction(
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        # Only the latest introduction of a product says where it stands now.
        if target is not None and "outcome" in changes and aggregate.product_versions.get(target) == corrects_version:
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
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.demos[UUID(target)], changes)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # Version 1 stored staff as plain names; their role was not recorded.
        state["staff"] = [{"name": name, "role": StaffRole.OTHER.value} for name in state["staff"]]

    def apply(self, aggregate: ClientRelationship) -> None:
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

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.demos[self.demo_id].scheduled_for = self.scheduled_for


class DemoCompleted(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.DemoCompleted"
    correctable_fields: ClassVar = frozenset({"outcome"})
    demo_id: UUID
    outcome: Text

    target_field: ClassVar = "demo_id"

    def apply(self, aggregate: ClientRelationship) -> None:
        demo = aggregate.demos[self.demo_id]
        demo.status = DemoStatus.COMPLETED
        demo.outcome = self.outcome

    @classmethod
    def apply_correction(
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.demos[UUID(target)], changes)


class DemoCancelled(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.DemoCancelled"
    demo_id: UUID
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
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

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.contracts[self.contract_id] = Contract(
            title=self.title, value=self.value, starts_on=self.starts_on, ends_on=self.ends_on
        )

    @classmethod
    def apply_correction(
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
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

    def apply(self, aggregate: ClientRelationship) -> None:
        contract = aggregate.contracts[self.contract_id]
        contract.status = ContractStatus.SIGNED
        contract.signed_on = self.signed_on
        contract.value = self.value
        contract.credited_account_manager_id = self.credited_account_manager_id

    target_field: ClassVar = "contract_id"

    @classmethod
    def apply_correction(
        cls, aggregate: ClientRelationship, corrects_version: int, target: str | None, changes: dict[str, Any]
    ) -> None:
        _update(aggregate.contracts[UUID(target)], changes)


class ContractTerminated(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.ContractTerminated"
    business_time_field: ClassVar = "on"
    contract_id: UUID
    on: BusinessDate
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
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

    def apply(self, aggregate: ClientRelationship) -> None:
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


class Closed(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.Closed"
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.status = RelationshipStatus.CLOSED


class Reopened(RelationshipEvent):
    TOPIC = "ledger:ClientRelationship.Reopened"
    reason: Reason

    def apply(self, aggregate: ClientRelationship) -> None:
        aggregate.status = RelationshipStatus.OPEN


def _update(entity: BaseModel, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(entity, name, value)
