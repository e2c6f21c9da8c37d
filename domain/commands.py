"""The commands: what a caller asks the ledger to do, one typed object from the API's request to the aggregate.

A command holds what the caller says, not which thing it is said of: the ids a
route takes from its path (the relationship, the demo, the year) are the
application method's own parameters. A command is validated once, when it is
made, with the bounds of a new fact (`domain.values`); a malformed one is
refused with `InvalidInput` naming each wrong field. Rules that need the
ledger's state (the relationship is open, the limit has room) are the
aggregates'.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StrictInt, ValidationError, field_validator, model_validator

from domain.exception_kinds import ExceptionKind
from domain.model import validation_failure
from domain.values import (
    ActorName,
    BusinessDate,
    CaseKey,
    CaseOutcome,
    Channel,
    ClientKind,
    Count,
    Frozen,
    GiftCategory,
    Industry,
    IntroductionOutcome,
    LimitYearKind,
    Name,
    NonNegativeMoney,
    PositiveMoney,
    QuarterLabel,
    Rate,
    Reason,
    ReceivedKind,
    RecordedMoney,
    StaffRole,
    Text,
    Tier,
    Timestamp,
    for_new_facts,
)


class Command(Frozen):
    """A request to change the ledger, validated as a new fact when it is made."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise validation_failure(error) from None

    # Only making a command goes through `__init__`. `model_validate` (a stored plan read back with the `STORED`
    # context, a command nested in state) validates directly, as for pydantic's own `__init__`: otherwise pydantic
    # would call this one, without the validation context, and a stored fact would be checked as a new one.
    __init__.__dict__["__pydantic_base_init__"] = True

    @classmethod
    def of(cls, data: BaseModel | Mapping[str, Any]) -> Self:
        """The command from a request body (or plain data) holding the same fields."""
        return cls(**(data.model_dump() if isinstance(data, BaseModel) else data))


class _Reasoned(Command):
    reason: Reason


# -- account managers --


class RegisterAccountManager(Command):
    """Registers an account manager."""

    name: Name
    email: str


class SetQuota(Command):
    """Sets an account manager's quota for a year (the year is the method's parameter)."""

    amount: NonNegativeMoney


class CompensationPlan(Command):
    """Salary, commission and bonus terms for one year (the year is the method's parameter)."""

    base_salary: NonNegativeMoney
    commission_rate: Rate
    accelerator_rate: Rate
    bonus_threshold: Rate
    bonus_amount: NonNegativeMoney

    @field_validator("commission_rate", "accelerator_rate")
    @classmethod
    def _a_fraction(cls, rate: Decimal) -> Decimal:
        if rate > 1:
            msg = "is a fraction of signed value and must be at most 1"
            raise ValueError(msg)
        return rate


class DeactivateAccountManager(_Reasoned):
    """Deactivates an account manager: their relationships stay, but nothing new is given to them."""


MIN_CAPACITY = 1
MAX_CAPACITY = 1_000
"""A capacity is the weighted load (key 4, major 2, standard 1) one person can carry: at least 1 (a capacity of
0 would mean carrying nothing, which is what deactivation says), at most 1,000 (250 key or 1,000 standard
relationships, far past any book one person keeps within its contact cadence)."""


def _capacity_in_range(capacity: int) -> int:
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        msg = f"must be a whole number from {MIN_CAPACITY} to {MAX_CAPACITY}"
        raise ValueError(msg)
    return capacity


Capacity = Annotated[StrictInt, AfterValidator(for_new_facts(_capacity_in_range))]
"""A capacity: a whole number (never `true`, `"20"` or `20.0`) from `MIN_CAPACITY` to `MAX_CAPACITY` for a new
fact; one already recorded is read back as it was."""


class SetCapacity(Command):
    """Sets the weighted load an account manager can carry; the workload says who is over it."""

    capacity: Capacity


# -- relationships --


class OpenRelationship(Command):
    """Opens a relationship with a client, assigned to an active account manager."""

    client_name: Name
    client_kind: ClientKind
    industry: Industry
    tier: Tier
    account_manager_id: UUID


class AssignAccountManager(Command):
    """Gives a relationship to another active account manager."""

    account_manager_id: UUID
    reason: Reason


class ChangeTier(Command):
    """Moves a relationship to another service tier."""

    tier: Tier


class ChangeCadence(Command):
    """Sets how many days may pass between contacts."""

    days: Annotated[int, Field(ge=1, le=365)]


class LogContact(Command):
    """Records a contact with the client, and optionally when to follow up."""

    occurred_at: Timestamp
    channel: Channel
    summary: Text
    next_follow_up_on: BusinessDate | None = None


class IntroduceProduct(Command):
    """Records that a product was introduced to the client, and how it was received."""

    product: Name
    occurred_at: Timestamp
    outcome: IntroductionOutcome


class StaffMember(Frozen):
    """Someone sent to a demo, and what they are there for."""

    name: Name
    role: StaffRole


class ScheduleDemo(Command):
    """Schedules a demo of a product, with the staff it sends."""

    product: Name
    scheduled_for: Timestamp
    location: Text
    staff: Annotated[list[StaffMember], Field(min_length=1, max_length=50)]


class RescheduleDemo(Command):
    """Moves a scheduled demo to another time."""

    scheduled_for: Timestamp


class CompleteDemo(Command):
    """Records that a scheduled demo took place, and its outcome."""

    outcome: Text


class CancelDemo(_Reasoned):
    """Cancels a scheduled demo."""


class ProposeContract(Command):
    """Proposes a contract to the client."""

    title: Name
    value: PositiveMoney
    starts_on: BusinessDate
    ends_on: BusinessDate


class SignContract(Command):
    """Records the signing of a proposed contract: its value is credited to the manager assigned now."""

    signed_on: BusinessDate


class TerminateContract(Command):
    """Ends a signed contract."""

    on: BusinessDate
    reason: Reason


class NamedRecipient(Frozen):
    """A person a gift names, as typed; optionally which known recipient they are, or which look-alikes they are not."""

    name: Name
    employer: Name
    recipient_id: UUID | None = None
    distinct_from: Annotated[list[UUID], Field(max_length=50)] = []


class GiveGift(Command):
    """Records a gift, valued and checked against the limit of everyone who shares it."""

    recipient: NamedRecipient
    shared_with: Annotated[list[NamedRecipient], Field(max_length=99)] = []
    description: Text
    given_on: BusinessDate
    category: GiftCategory
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    recipients_count: Annotated[int, Field(ge=1, le=100)] | None = None
    representative_attended: bool = False
    preclearance_id: UUID | None = None
    """The approved pre-clearance request this gift uses: its reservation is consumed by the gift."""

    @model_validator(mode="after")
    def _everyone_named(self) -> GiveGift:
        named = self.head_count
        if self.recipients_count is not None and self.recipients_count != named:
            msg = (
                f"recipients_count: {self.recipients_count} people share the gift, but {named} are named; "
                "name each person who shares it in shared_with"
            )
            raise ValueError(msg)
        return self

    @property
    def head_count(self) -> int:
        """How many people share the gift: the recipient and everyone in `shared_with`."""
        return 1 + len(self.shared_with)

    @property
    def everyone(self) -> tuple[NamedRecipient, ...]:
        """The recipient, then everyone who shares the gift."""
        return (self.recipient, *self.shared_with)


class ProvideEntertainment(Command):
    """Records business entertainment (not counted towards the gift limit when a representative attends)."""

    occurred_on: BusinessDate
    description: Text
    cost: PositiveMoney
    attendees: Annotated[list[Name], Field(min_length=1, max_length=500)]
    representative_attended: bool


class CorrectEntry(Command):
    """Corrects fields of an earlier event, which stays as it was recorded."""

    corrects_version: int
    reason: Reason
    changes: dict[str, Any]


class ApproveCorrection(Command):
    """Applies a requested correction."""

    reason: Reason | None = None


class RejectCorrection(_Reasoned):
    """Closes a correction request without applying it."""


class CloseRelationship(_Reasoned):
    """Closes a relationship: nothing more is recorded on it until it is reopened."""


class ReopenRelationship(_Reasoned):
    """Reopens a closed relationship."""


# -- gift recipients and the firm's gift policy --


class MergeRecipients(Command):
    """Records that another recipient is the same person: their gifts count with the survivor's from now on."""

    absorbed_id: UUID
    reason: Reason


class ScheduleGiftLimit(Command):
    """Sets the firm's gift limit from a date on (a reason is needed when the date is past)."""

    effective_from: BusinessDate
    amount: PositiveMoney
    reason: Reason | None = None


class SetLimitYear(Command):
    """Sets how the limit year is drawn: calendar, fiscal (from `start_month`) or the rolling 365 days."""

    kind: LimitYearKind
    start_month: Annotated[int, Field(ge=1, le=12)] | None = None


class SetReviewThreshold(Command):
    """Sets the cost above which a gift that counts nothing is shown to compliance for review."""

    amount: PositiveMoney


class ScheduleProgrammeRules(Command):
    """Sets the firm's gifts-and-entertainment programme rules from a date on (a reason is needed when the date is
    past). A field left out keeps the value in force on `effective_from`; an entertainment cap sent as null means
    no cap."""

    effective_from: BusinessDate
    reason: Reason | None = None
    preclearance_required: bool | None = None
    auto_approve_up_to: NonNegativeMoney | None = None
    approval_valid_days: Annotated[int, Field(ge=1, le=365)] | None = None
    entertainment_cap_per_event: PositiveMoney | None = None
    entertainment_cap_per_year: PositiveMoney | None = None
    received_review_threshold: NonNegativeMoney | None = None
    attestations_required: bool | None = None
    attestation_due_days: Annotated[int, Field(ge=0, le=90)] | None = None

    def rule_changes(self) -> dict[str, Any]:
        """The programme rules this command sets (those it was given), by field name."""
        return {name: getattr(self, name) for name in self.model_fields_set - {"effective_from", "reason"}}

    @model_validator(mode="after")
    def _switches_not_null(self) -> ScheduleProgrammeRules:
        for name in _PROGRAMME_FIELDS_NEVER_NULL & self.model_fields_set:
            if getattr(self, name) is None:
                msg = f"{name}: must not be null (leave it out to keep the value in force)"
                raise ValueError(msg)
        return self


_PROGRAMME_FIELDS_NEVER_NULL = frozenset(
    {
        "preclearance_required",
        "auto_approve_up_to",
        "approval_valid_days",
        "received_review_threshold",
        "attestations_required",
        "attestation_due_days",
    }
)
"""The programme rules that always have a value (only the entertainment caps may be none)."""


# -- pre-clearance of gifts --


class RequestPreclearance(Command):
    """Asks before giving: the gift as it is planned, for everyone who would share it."""

    relationship_id: UUID
    recipient: NamedRecipient
    shared_with: Annotated[list[NamedRecipient], Field(max_length=99)] = []
    description: Text
    purpose: Text
    planned_on: BusinessDate
    category: GiftCategory
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    representative_attended: bool = False

    @property
    def head_count(self) -> int:
        """How many people would share the gift: the recipient and everyone in `shared_with`."""
        return 1 + len(self.shared_with)

    @property
    def everyone(self) -> tuple[NamedRecipient, ...]:
        """The recipient, then everyone who would share the gift."""
        return (self.recipient, *self.shared_with)


class ApprovePreclearance(Command):
    """Approves a pending request (compliance): its counted value is reserved against each person's year."""

    reason: Reason | None = None


class DenyPreclearance(_Reasoned):
    """Denies a pending request (compliance), saying why."""


class WithdrawPreclearance(_Reasoned):
    """Withdraws a pending or approved request; an approval's reservations are released."""


# -- gifts and entertainment received --


class Giver(Frozen):
    """Who gave a gift received: a person and their employer, as typed."""

    name: Name
    employer: Name


class RecordReceivedGift(Command):
    """Records a gift or entertainment an account manager received from a client."""

    relationship_id: UUID
    account_manager_id: UUID | None = None
    kind: ReceivedKind
    giver: Giver
    description: Text
    received_on: BusinessDate
    category: GiftCategory = GiftCategory.GENERAL
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    shared_by: Annotated[int, Field(ge=1, le=100)] = 1


# -- attestations --


class SubmitAttestation(Command):
    """An account manager attests that every gift and entertainment of a quarter, given and received, is recorded."""

    quarter: QuarterLabel
    gifts_given: Count
    entertainment_given: Count
    gifts_received: Count
    entertainment_received: Count
    statement: Text


# -- compliance cases --


class CaseSubject(Frozen):
    """What compliance saw of an exception when it opened a case about it."""

    summary: Text
    occurred_on: BusinessDate | None = None
    recipient_id: UUID | None = None
    account_manager_id: UUID | None = None
    relationship_id: UUID | None = None
    gift_id: UUID | None = None
    request_id: UUID | None = None
    received_gift_id: UUID | None = None
    quarter: str | None = None
    amount: RecordedMoney | None = None
    threshold: RecordedMoney | None = None


class OpenCase(Command):
    """Opens the case about an exception (opening it again names the same case and stores nothing)."""

    kind: ExceptionKind
    key: CaseKey
    note: Text | None = None
    subject: CaseSubject


class AssignCase(Command):
    """Gives an open case to a compliance officer or an admin (a token's name)."""

    assignee: ActorName
    reason: Reason | None = None


class NoteCase(Command):
    """Adds a note to a case."""

    note: Text


class ResolveCase(_Reasoned):
    """Resolves an open case with its outcome."""

    outcome: CaseOutcome


class ReopenCase(_Reasoned):
    """Reopens a resolved case."""
