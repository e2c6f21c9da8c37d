"""Value types shared by the aggregates: money, rates, choices, and who is acting."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
)

CENT = Decimal("0.01")
MONEY_CEILING = Decimal("1e15")
"""No stored amount has ever reached a quadrillion: the format's own limit, checked on every read too."""

# -- What the write side accepts, every view can hold forever ---------------------
#
# The bounds below apply to new facts. Facts already stored are read as they were
# recorded (the mapper validates them with the `STORED` context), so tightening a
# bound never makes history unreadable.

STORED: dict[str, Any] = {"stored": True}
"""The validation context of a fact already recorded: the bounds for new facts are not applied to it."""

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
"""Business dates and times lie in these years (times once in UTC): any date the firm could mean, and far
enough from the calendar's ends (years 1 and 9999) that no offset, cadence or limit year can overflow."""
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

MONEY_BOUND = Decimal("10000000000")
"""Amounts are below ten billion (at most 9,999,999,999.99): above any single contract, quota, salary or gift an
account manager records, yet small enough that more than nine million of them summed in whole cents still fit the
64-bit integers both stores add with."""
RATE_BOUND = Decimal(10)
"""Rates and thresholds are at most 10 (1,000 %), with at most six decimal places."""

T = TypeVar("T")


def for_new_facts(check: Callable[[T], T]) -> Callable[[T, ValidationInfo], T]:
    """A validator applied to new facts only: a fact read back with the `STORED` context is taken as recorded."""

    def validate(value: T, info: ValidationInfo) -> T:
        if info.context is not None and info.context.get("stored"):
            return value
        return check(value)

    validate.__name__ = check.__name__
    return validate


def round_cents(amount: Decimal) -> Decimal:
    """Rounds an amount half-up to cents, the ledger's one rounding rule for money."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""A decimal as people write it: ASCII digits, an optional sign and point; no spaces, exponents or other digits."""


def _exact_decimal(value: Any, info: ValidationInfo) -> Any:
    # Floats cannot hold cents exactly, so they are refused rather than converted.
    if isinstance(value, (bool, float)):
        msg = 'must be a decimal string such as "1250.00", not a float'
        raise ValueError(msg)
    if isinstance(value, str):
        # A stored fact may hold a decimal as Python wrote it ("1E-7"); a new one is written the plain way.
        stored = info.context is not None and info.context.get("stored")
        if not stored and not _DECIMAL_TEXT.fullmatch(value):
            msg = f'{value[:40]!r} is not a decimal number written with the digits 0-9, such as "1250.00"'
            raise ValueError(msg)
        try:
            return Decimal(value)
        except InvalidOperation:
            msg = f"{value[:40]!r} is not a decimal number"
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


def bounded_money(value: Decimal) -> Decimal:
    """`value`, if a new fact may hold it: below `MONEY_BOUND`."""
    if abs(value) >= MONEY_BOUND:
        msg = "must be less than 10,000,000,000.00"
        raise ValueError(msg)
    return value


def bounded_rate(value: Decimal) -> Decimal:
    """`value`, if a new fact may hold it: at most `RATE_BOUND`, with at most six places."""
    if value > RATE_BOUND:
        msg = "must be at most 10"
        raise ValueError(msg)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        msg = "must have at most six decimal places"
        raise ValueError(msg)
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    AfterValidator(_two_places),
    AfterValidator(for_new_facts(bounded_money)),
]
"""An amount in the firm's base currency: a decimal with at most two places, never a float, below `MONEY_BOUND`."""

RecordedMoney = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_two_places)]
"""An amount as state holds it once recorded: the format of `Money`, without the bound for new facts."""

PositiveMoney = Annotated[Money, AfterValidator(_positive)]
NonNegativeMoney = Annotated[Money, AfterValidator(_not_negative)]

Rate = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    AfterValidator(_finite),
    AfterValidator(_not_negative),
    AfterValidator(for_new_facts(bounded_rate)),
]
"""A non-negative decimal ratio such as a commission rate ("0.05"), never a float, at most `RATE_BOUND`."""


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _date_as_written(value: Any) -> Any:
    # A date is a day: `YYYY-MM-DD`, not a time at midnight, a number of seconds or other digits.
    if isinstance(value, datetime) or not isinstance(value, (str, date)):
        msg = "must be a date written YYYY-MM-DD"
        raise ValueError(msg)
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        msg = f"{value[:40]!r} is not a date written YYYY-MM-DD"
        raise ValueError(msg)
    return value


def _moment_as_written(value: Any) -> Any:
    # A time is RFC 3339 text with its offset: a number of seconds since 1970 says nothing of the offset meant.
    if not isinstance(value, (str, datetime)):
        msg = "must be an RFC 3339 time with its timezone offset, such as 2026-05-01T09:30:00+02:00"
        raise ValueError(msg)
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        msg = f"{value[:40]!r} is not an RFC 3339 time with its timezone offset, such as 2026-05-01T09:30:00+02:00"
        raise ValueError(msg)
    return value


def _date_in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        msg = f"must be between {EARLIEST} and {LATEST}"
        raise ValueError(msg)
    return value


def _moment_in_range(value: datetime) -> datetime:
    # Compared without converting: converting a time at the calendar's edge to UTC can itself overflow.
    if not EARLIEST_MOMENT <= value <= LATEST_MOMENT:
        msg = f"must be between {EARLIEST_MOMENT.isoformat()} and {LATEST_MOMENT.isoformat()} once in UTC"
        raise ValueError(msg)
    return value


def _year_in_range(value: int) -> int:
    if not EARLIEST.year <= value <= LATEST.year:
        msg = f"must be a year from {EARLIEST.year} to {LATEST.year}"
        raise ValueError(msg)
    return value


BusinessDate = Annotated[
    date, AfterValidator(for_new_facts(_date_in_range)), BeforeValidator(for_new_facts(_date_as_written))
]
"""A day in business terms (a signing, a gift, a follow-up), within `EARLIEST` and `LATEST`."""

Timestamp = Annotated[
    AwareDatetime, AfterValidator(for_new_facts(_moment_in_range)), BeforeValidator(for_new_facts(_moment_as_written))
]
"""A point in time with its offset (a naive time is refused), within `EARLIEST` and `LATEST` once in UTC."""

ReadingMoment = Annotated[AwareDatetime, BeforeValidator(_moment_as_written)]
"""A moment to read the ledger at (RFC 3339 with its offset); any such moment, held within the business range by
`clamped` before it is used, since nothing was recorded outside it."""


def clamped(moment: datetime) -> datetime:
    """`moment` held within `EARLIEST_MOMENT` and `LATEST_MOMENT` (compared as instants: nothing overflows)."""
    return min(max(moment, EARLIEST_MOMENT), LATEST_MOMENT)


Year = Annotated[int, Field(ge=1, le=9999), AfterValidator(for_new_facts(_year_in_range))]
"""A calendar year of quotas and plans, from `EARLIEST` to `LATEST`."""

# -- Texts ----------------------------------------------------------------------
#
# A name or a text must show something: stored, it is what a person reads in the
# trail, and a name made of a zero-width space would pass for a different person.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format (zero-width, bidirectional, soft hyphen, byte-order mark), surrogate and separator characters."""
_LINE_BREAKS = frozenset("\n\r\t")
_VISIBLE_CATEGORIES = frozenset("LMNPS")


_DROP_LINE_BREAKS = str.maketrans("", "", "\n\r\t")


def _visible_text(value: str, *, multiline: bool) -> str:
    value = value.strip()
    if value.isascii() and (value.translate(_DROP_LINE_BREAKS) if multiline else value).isprintable():
        # The usual case, decided without looking at each character: in ASCII only the control characters are
        # refused and not printable, and a stripped, non-empty printable text starts with a visible character.
        if value:
            return value
        msg = "must contain a visible character"
        raise ValueError(msg)
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES and not (multiline and character in _LINE_BREAKS):
            msg = f"must not contain the invisible or control character U+{ord(character):04X}"
            raise ValueError(msg)
    if not any(unicodedata.category(character)[0] in _VISIBLE_CATEGORIES for character in value):
        msg = "must contain a visible character"
        raise ValueError(msg)
    return value


def _visible_line(value: str) -> str:
    return _visible_text(value, multiline=False)


def _visible_lines(value: str) -> str:
    return _visible_text(value, multiline=True)


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(for_new_facts(_visible_line))]
"""A one-line name (a person, a firm, a product): stripped, with a visible character and nothing invisible."""

Text = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(for_new_facts(_visible_lines))]
"""A free text (a summary, a description): stripped, with a visible character; line breaks and tabs allowed."""

Reason = Text
"""Why something was done, as a person wrote it."""


def utc_now() -> datetime:
    """The server's clock in UTC, the only source of `recorded_at`."""
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
    idempotency_key: str | None = None
    """The request's Idempotency-Key, if it sent one: marked in the transaction that stores the command's events
    (never stored on the events themselves)."""

    def event_fields(self) -> dict[str, Any]:
        """The keyword arguments that stamp an event with this audit context."""
        return {
            "actor_id": self.principal.id,
            "actor_role": self.principal.role,
            "correlation_id": self.correlation_id,
        }


# -- Gifts and entertainment as compliance runs them (pre-clearance, cases, attestations) --


class PreclearanceBand(StrEnum):
    """How a pre-clearance request is decided: approved at once (`auto`) or by compliance (`review`)."""

    AUTO = "auto"
    REVIEW = "review"


class PreclearanceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    USED = "used"
    EXPIRED = "expired"


class ReleaseCause(StrEnum):
    """Why a reservation of headroom stopped counting before a gift used it."""

    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class ReceivedKind(StrEnum):
    GIFT = "gift"
    ENTERTAINMENT = "entertainment"


class CaseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class CaseOutcome(StrEnum):
    NO_ISSUE = "no_issue"
    EMPLOYEE_REMINDED = "employee_reminded"
    GIFT_RETURNED = "gift_returned"
    REIMBURSED_BY_EMPLOYEE = "reimbursed_by_employee"
    DISCIPLINARY_ACTION = "disciplinary_action"
    REPORTED_TO_REGULATOR = "reported_to_regulator"
    OTHER = "other"


Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
"""How many of something a person attests to: a whole number from 0 to 1,000,000."""

QUARTER_LABEL = re.compile(r"[0-9]{4}-Q[1-4]")


def _quarter_label(value: str) -> str:
    if not QUARTER_LABEL.fullmatch(value):
        msg = f"{value[:40]!r} is not a quarter written YYYY-Qn (n from 1 to 4), such as 2026-Q1"
        raise ValueError(msg)
    _year_in_range(int(value[:4]))
    return value


QuarterLabel = Annotated[str, AfterValidator(for_new_facts(_quarter_label))]
"""A calendar quarter written `YYYY-Qn`, in the years of `EARLIEST` to `LATEST`."""

CaseKey = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9/_-]+$")]
"""The key of an exception within its kind (ids joined by `/`): 1 to 300 of `A-Z a-z 0-9 / _ -`."""

ActorName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@:-]+$")]
"""A principal's name as API tokens spell it: 1 to 100 of `A-Z a-z 0-9 . _ - @ :`."""
