"""Value types shared by the aggregates: money, rates, choices, and who is acting."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict

CENT = Decimal("0.01")
MONEY_CEILING = Decimal("1e15")
"""Amounts are below a quadrillion: far above any real figure, well within exact arithmetic."""


def round_cents(amount: Decimal) -> Decimal:
    """Rounds an amount half-up to cents, the ledger's one rounding rule for money."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _exact_decimal(value: Any) -> Any:
    # Floats cannot hold cents exactly, so they are refused rather than converted.
    if isinstance(value, (bool, float)):
        msg = 'must be a decimal string such as "1250.00", not a float'
        raise ValueError(msg)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            msg = f"{value!r} is not a decimal number"
            raise ValueError(msg) from None
    return value


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        msg = "must be a finite amount"
        raise ValueError(msg)
    if abs(value) >= MONEY_CEILING:
        msg = "must be less than 1,000,000,000,000,000"
        raise ValueError(msg)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        msg = "must have at most two decimal places"
        raise ValueError(msg)
    return value.quantize(CENT)


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        msg = "must be greater than zero"
        raise ValueError(msg)
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        msg = "must not be negative"
        raise ValueError(msg)
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        msg = "must be a finite number"
        raise ValueError(msg)
    return value


Money = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_two_places)]
"""An amount in the firm's base currency: a decimal with at most two places, never a float."""

PositiveMoney = Annotated[Money, AfterValidator(_positive)]
NonNegativeMoney = Annotated[Money, AfterValidator(_not_negative)]

Rate = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_finite), AfterValidator(_not_negative)]
"""A non-negative decimal ratio such as a commission rate ("0.05"), never a float."""

Timestamp = AwareDatetime
"""A point in time with its offset; a naive time is refused."""


def utc_now() -> datetime:
    """The server's clock in UTC, the only source of `recorded_at`."""
    from datetime import UTC

    return datetime.now(UTC)


class Role(StrEnum):
    ACCOUNT_MANAGER = "account_manager"
    MANAGER = "manager"
    COMPLIANCE = "compliance"
    AUDITOR = "auditor"
    ADMIN = "admin"


class ClientKind(StrEnum):
    INDIVIDUAL = "individual"
    CORPORATE = "corporate"


class Industry(StrEnum):
    ADVERTISING = "advertising"
    PUBLIC_RELATIONS = "public_relations"
    FINANCIAL_SERVICES = "financial_services"
    TECHNOLOGY = "technology"
    OTHER = "other"


class Tier(StrEnum):
    KEY = "key"
    MAJOR = "major"
    STANDARD = "standard"

    @property
    def default_cadence_days(self) -> int:
        """Days between contacts before a relationship of this tier is overdue."""
        return {Tier.KEY: 7, Tier.MAJOR: 14, Tier.STANDARD: 30}[self]

    @property
    def weight(self) -> int:
        """How much a relationship of this tier counts in an account manager's load."""
        return {Tier.KEY: 4, Tier.MAJOR: 2, Tier.STANDARD: 1}[self]


class Channel(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    OTHER = "other"


class IntroductionOutcome(StrEnum):
    INTERESTED = "interested"
    DECLINED = "declined"
    PENDING = "pending"


class StaffRole(StrEnum):
    TECHNICAL = "technical"
    DESIGN = "design"
    SUPPORT = "support"
    OTHER = "other"


class RelationshipStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DemoStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ContractStatus(StrEnum):
    PROPOSED = "proposed"
    SIGNED = "signed"
    TERMINATED = "terminated"


class GiftCategory(StrEnum):
    GENERAL = "general"
    TICKET = "ticket"
    PERSONAL = "personal"
    BEREAVEMENT = "bereavement"
    PROMOTIONAL = "promotional"
    DE_MINIMIS = "de_minimis"
    COMMEMORATIVE = "commemorative"
    DISASTER_DONATION = "disaster_donation"
    RETAIL_CUSTOMER = "retail_customer"

    @property
    def is_counted(self) -> bool:
        """Whether gifts of this category count towards the recipient's limit."""
        return self in (GiftCategory.GENERAL, GiftCategory.TICKET)


class LimitYearKind(StrEnum):
    CALENDAR = "calendar"
    FISCAL = "fiscal"
    ROLLING_12_MONTHS = "rolling_12_months"


class Frozen(BaseModel):
    """A frozen, strictly-shaped value: unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Principal(Frozen):
    """Who is acting: a token's subject, their role, and for an account manager their id."""

    id: str
    role: Role
    account_manager_id: UUID | None = None


class Audit(Frozen):
    """The audit fields every stored event carries: who acted, and under which request."""

    principal: Principal
    correlation_id: str

    def event_fields(self) -> dict[str, Any]:
        """The keyword arguments that stamp an event with this audit context."""
        return {
            "actor_id": self.principal.id,
            "actor_role": self.principal.role,
            "correlation_id": self.correlation_id,
        }
