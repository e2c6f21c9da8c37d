"""Request bodies (`XCreate`, `XSet`, ...): the HTTP contract of every command, each building its domain command.

Money is a JSON string with at most two decimal places ("1250.00"); a JSON
number is refused, so a float never becomes money. Times are RFC 3339 with an
offset; a naive time is refused. Parsing is strict: whole numbers and booleans
must be JSON numbers and booleans (not `"10"` or `1`), dates `YYYY-MM-DD`, digits
ASCII; names and texts must show a visible character. Dates, times, amounts and
texts are bounded by the domain's own types (`domain.values`), so what the API
takes is exactly what a new fact may hold. `command()` turns a body into the
command the ledger takes (`domain.commands`), with the same fields.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from domain.commands import (
    MAX_CAPACITY,
    MIN_CAPACITY,
    ApproveCorrection,
    AssignAccountManager,
    ChangeCadence,
    ChangeTier,
    Command,
    CompensationPlan,
    CompleteDemo,
    CorrectEntry,
    DeactivateAccountManager,
    GiveGift,
    IntroduceProduct,
    LogContact,
    MergeRecipients,
    OpenRelationship,
    ProposeContract,
    ProvideEntertainment,
    RegisterAccountManager,
    RescheduleDemo,
    ScheduleDemo,
    ScheduleGiftLimit,
    SetCapacity,
    SetLimitYear,
    SetQuota,
    SetReviewThreshold,
    SignContract,
    TerminateContract,
)
from domain.values import (
    BusinessDate,
    Channel,
    ClientKind,
    GiftCategory,
    Industry,
    IntroductionOutcome,
    LimitYearKind,
    Name,
    Role,
    StaffRole,
    Text,
    Tier,
    Timestamp,
    bounded_money,
    bounded_rate,
)

ReasonedCommand = TypeVar("ReasonedCommand", bound=Command)

_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?")
_RATE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,8})?")


def _text_not_number(value: object) -> object:
    # A JSON number would be a float on the way in: money and rates are strings.
    if not isinstance(value, str):
        msg = 'must be a decimal string such as "1250.00", not a JSON number'
        raise ValueError(msg)
    return value


def _money(value: str) -> str:
    if not _MONEY.fullmatch(value):
        msg = 'must be a decimal string with at most two places, such as "1250.00"'
        raise ValueError(msg)
    bounded_money(Decimal(value))
    return value


def _rate(value: str) -> str:
    if not _RATE.fullmatch(value):
        msg = 'must be a non-negative decimal string, such as "0.05"'
        raise ValueError(msg)
    bounded_rate(Decimal(value))
    return value


MoneyText = Annotated[str, BeforeValidator(_text_not_number), AfterValidator(_money), Field(examples=["1250.00"])]
RateText = Annotated[str, BeforeValidator(_text_not_number), AfterValidator(_rate), Field(examples=["0.05"])]
Day = Annotated[BusinessDate, Field(examples=["2026-05-01"])]
Moment = Annotated[Timestamp, Field(examples=["2026-05-01T09:30:00+02:00"])]


def _no_numbers(changes: dict[str, Any]) -> dict[str, Any]:
    # Every correctable field is text, a date or time, money (a string), a choice, or a list of them.
    for name, value in changes.items():
        if isinstance(value, (bool, int, float)):
            msg = (
                f"{name}: must be given as a string (money, dates and times are strings), not a JSON number or boolean"
            )
            raise ValueError(msg)
    return changes


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class AccountManagerCreate(Body):
    name: Name
    email: Annotated[str, Field(min_length=3, max_length=320, examples=["ann.lee@example.com"])]

    def command(self) -> RegisterAccountManager:
        return RegisterAccountManager.of(self)


class QuotaSet(Body):
    amount: MoneyText

    def command(self) -> SetQuota:
        return SetQuota.of(self)


class CompensationPlanSet(Body):
    base_salary: MoneyText
    commission_rate: RateText
    accelerator_rate: RateText
    bonus_threshold: RateText
    bonus_amount: MoneyText

    def command(self) -> CompensationPlan:
        return CompensationPlan.of(self)


class CapacitySet(Body):
    capacity: Annotated[
        StrictInt,
        Field(
            ge=MIN_CAPACITY,
            le=MAX_CAPACITY,
            description="The weighted load (key 4, major 2, standard 1) they can carry.",
            examples=[24],
        ),
    ]

    def command(self) -> SetCapacity:
        return SetCapacity.of(self)


class Deactivation(Body):
    reason: Text

    def command(self) -> DeactivateAccountManager:
        return DeactivateAccountManager.of(self)


class RelationshipCreate(Body):
    client_name: Name
    client_kind: ClientKind
    industry: Industry
    tier: Tier
    account_manager_id: UUID

    def command(self) -> OpenRelationship:
        return OpenRelationship.of(self)


class AssignmentCreate(Body):
    account_manager_id: UUID
    reason: Text

    def command(self) -> AssignAccountManager:
        return AssignAccountManager.of(self)


class TierSet(Body):
    tier: Tier

    def command(self) -> ChangeTier:
        return ChangeTier.of(self)


class CadenceSet(Body):
    days: Annotated[StrictInt, Field(ge=1, le=365)]

    def command(self) -> ChangeCadence:
        return ChangeCadence.of(self)


class ContactCreate(Body):
    occurred_at: Moment
    channel: Channel
    summary: Text
    next_follow_up_on: Day | None = None

    def command(self) -> LogContact:
        return LogContact.of(self)


class ProductIntroductionCreate(Body):
    product: Name
    occurred_at: Moment
    outcome: IntroductionOutcome

    def command(self) -> IntroduceProduct:
        return IntroduceProduct.of(self)


class StaffMemberIn(Body):
    name: Name
    role: StaffRole


class DemoCreate(Body):
    product: Name
    scheduled_for: Moment
    location: Text
    staff: Annotated[list[StaffMemberIn], Field(min_length=1, max_length=50)]

    def command(self) -> ScheduleDemo:
        return ScheduleDemo.of(self)


class DemoReschedule(Body):
    scheduled_for: Moment

    def command(self) -> RescheduleDemo:
        return RescheduleDemo.of(self)


class DemoCompletion(Body):
    outcome: Text

    def command(self) -> CompleteDemo:
        return CompleteDemo.of(self)


class Reasoned(Body):
    reason: Text

    def command(self, kind: type[ReasonedCommand]) -> ReasonedCommand:
        """The command this reason is given for: a cancellation, closure, reopening or rejection."""
        return kind.of(self)


class ContractCreate(Body):
    title: Name
    value: MoneyText
    starts_on: Day
    ends_on: Day

    def command(self) -> ProposeContract:
        return ProposeContract.of(self)


class ContractSignature(Body):
    signed_on: Day

    def command(self) -> SignContract:
        return SignContract.of(self)


class ContractTermination(Body):
    on: Day
    reason: Text

    def command(self) -> TerminateContract:
        return TerminateContract.of(self)


class GiftRecipientIn(Body):
    """A person a gift names. Someone new who resembles known recipients is refused (`likely_same_recipient`)
    until `recipient_id` says which one they are, or `distinct_from` lists those they are not."""

    name: Name
    employer: Name
    recipient_id: UUID | None = Field(default=None, description="This is that known recipient.")
    distinct_from: Annotated[list[UUID], Field(max_length=50)] = Field(
        default_factory=list, description="This is someone new, not any of these look-alikes (recorded)."
    )


class GiftCreate(Body):
    recipient: GiftRecipientIn
    shared_with: Annotated[list[GiftRecipientIn], Field(max_length=99)] = Field(
        default_factory=list, description="Everyone else who shares the gift; each is held to their own limit."
    )
    description: Text
    given_on: Day
    category: GiftCategory
    cost: MoneyText
    market_value: MoneyText | None = None
    face_value: MoneyText | None = None
    recipients_count: Annotated[StrictInt, Field(ge=1, le=100)] | None = Field(
        default=None, description="How many share the gift; if sent, 1 + the number named in `shared_with`."
    )
    representative_attended: StrictBool = False
    preclearance_id: UUID | None = Field(
        default=None, description="The approved pre-clearance request this gift uses (its reservation is consumed)."
    )

    def command(self) -> GiveGift:
        return GiveGift.of(self)


class EntertainmentCreate(Body):
    occurred_on: Day
    description: Text
    cost: MoneyText
    attendees: Annotated[list[Name], Field(min_length=1, max_length=500)]
    representative_attended: StrictBool

    def command(self) -> ProvideEntertainment:
        return ProvideEntertainment.of(self)


class CorrectionCreate(Body):
    corrects_version: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
    reason: Text
    changes: Annotated[dict[str, Any], AfterValidator(_no_numbers)]

    def command(self) -> CorrectEntry:
        return CorrectEntry.of(self)


class GiftLimitCreate(Body):
    effective_from: Day
    amount: MoneyText
    reason: Text | None = Field(default=None, description="Why; required when `effective_from` is before today.")

    def command(self) -> ScheduleGiftLimit:
        return ScheduleGiftLimit.of(self)


class RecipientMergeCreate(Body):
    absorbed_id: UUID = Field(description="The recipient found to be the same person; their gifts count here.")
    reason: Text

    def command(self) -> MergeRecipients:
        return MergeRecipients.of(self)


class ReviewThresholdSet(Body):
    amount: MoneyText

    def command(self) -> SetReviewThreshold:
        return SetReviewThreshold.of(self)


class LimitYearSet(Body):
    kind: LimitYearKind
    start_month: Annotated[StrictInt, Field(ge=1, le=12)] | None = None

    def command(self) -> SetLimitYear:
        return SetLimitYear.of(self)


TokenName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._@:-]+$",
        description="1 to 100 characters of `A-Z a-z 0-9 . _ - @ :`; the `actor_id` on every event the token stores.",
        examples=["ann.lee@crm"],
    ),
]


class TokenCreate(Body):
    """A new API token: its name is never reused, even after revocation."""

    name: TokenName
    role: Role
    account_manager_id: UUID | None = Field(default=None, description="For (and only for) an account_manager token.")
    expires_at: Moment | None = Field(default=None, description="When the token stops working (RFC 3339, future).")


class CorrectionApproval(Body):
    reason: Text | None = None

    def command(self) -> ApproveCorrection:
        return ApproveCorrection.of(self)
