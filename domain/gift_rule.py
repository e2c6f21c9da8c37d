"""FINRA Rule 3220 as pure functions: counted values, limit years, the limit in force, the check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Protocol
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from domain.errors import GiftLimitExceeded, GiftRefusal, RuleViolation
from domain.values import Frozen, GiftCategory, LimitYearKind, RecordedMoney, round_cents

ZERO = Decimal("0.00")


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        msg = "must be greater than zero"
        raise ValueError(msg)
    return amount


class LimitChange(Frozen):
    """From `effective_from` on, gifts to one person may add up to `amount` per limit year."""

    effective_from: date
    amount: Annotated[RecordedMoney, AfterValidator(_positive)]


FINRA_SCHEDULE: tuple[LimitChange, ...] = (
    # Rule 3220's long-standing $100, then $300 from Regulatory Notice 26-05.
    LimitChange(effective_from=date(1970, 1, 1), amount=Decimal("100.00")),
    LimitChange(effective_from=date(2026, 3, 30), amount=Decimal("300.00")),
)
REGULATORY_SCHEDULE = FINRA_SCHEDULE
"""The regulator's limits: the firm's own schedule starts as this and may only go below it."""


@dataclass(frozen=True)
class LimitYear:
    """The span of days whose gifts are added up against one limit."""

    start: date
    end: date
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class LimitYearPolicy(Frozen):
    """How the limit year is drawn: the calendar year, a fiscal year, or the 365 days to the gift."""

    kind: LimitYearKind = LimitYearKind.CALENDAR
    start_month: Annotated[int, Field(ge=1, le=12)] | None = None

    @model_validator(mode="after")
    def _start_month_only_for_fiscal(self) -> LimitYearPolicy:
        if self.kind is LimitYearKind.FISCAL and self.start_month is None:
            msg = "a fiscal limit year needs start_month (1-12)"
            raise ValueError(msg)
        if self.kind is not LimitYearKind.FISCAL and self.start_month is not None:
            msg = f"start_month applies only to a fiscal limit year, not {self.kind.value}"
            raise ValueError(msg)
        return self

    def year_of(self, day: date) -> LimitYear:
        """The limit year that a gift given on `day` is counted in."""
        if self.kind is LimitYearKind.CALENDAR:
            return LimitYear(date(day.year, 1, 1), date(day.year, 12, 31), str(day.year))
        if self.kind is LimitYearKind.FISCAL:
            assert self.start_month is not None
            start_year = day.year if day.month >= self.start_month else day.year - 1
            start = date(start_year, self.start_month, 1)
            end = _add_year(start) - timedelta(days=1)
            return LimitYear(start, end, f"{start.isoformat()}/{end.isoformat()}")
        start = day - timedelta(days=364)
        return LimitYear(start, day, f"{start.isoformat()}/{day.isoformat()}")


def _add_year(day: date) -> date:
    return date(day.year + 1, day.month, day.day)


def limit_in_force(schedule: Sequence[LimitChange], day: date) -> Decimal:
    """The limit on `day`: the latest change that took effect on or before it."""
    in_force = [change for change in schedule if change.effective_from <= day]
    if not in_force:
        first = min(change.effective_from for change in schedule)
        msg = f"No gift limit is in force on {day}: the schedule starts on {first}."
        raise RuleViolation(msg)
    return max(in_force, key=lambda change: change.effective_from).amount


def counted_value(
    *,
    category: GiftCategory,
    cost: Decimal,
    market_value: Decimal | None = None,
    face_value: Decimal | None = None,
    recipients_count: int = 1,
    representative_attended: bool = False,
) -> Decimal:
    """What one recipient's gift counts towards the limit, under the valuation rules of Rule 3220."""
    if category is GiftCategory.TICKET and representative_attended:
        msg = (
            "A ticket to an event the representative attends is entertainment, not a gift: "
            "record it as entertainment instead."
        )
        raise RuleViolation(msg)
    if recipients_count < 1:
        msg = "recipients_count must be at least 1."
        raise RuleViolation(msg)
    if not category.is_counted:
        return ZERO
    if category is GiftCategory.TICKET:
        value = max(cost, face_value if face_value is not None else cost)
    else:
        value = max(cost, market_value if market_value is not None else cost)
    return round_cents(value / recipients_count)


class Counted(Protocol):
    """Anything the limit can count: when it was given and what it counts."""

    @property
    def given_on(self) -> date: ...

    @property
    def counted_value(self) -> Decimal: ...


@dataclass(frozen=True)
class CountedGift:
    """A gift as the limit sees it: when it was given and what it counts. `reserved`: not a gift yet but an
    approved pre-clearance holding headroom (`given_on` is then the day the gift is planned for)."""

    gift_id: UUID
    given_on: date
    counted_value: Decimal
    reserved: bool = False


@dataclass(frozen=True)
class LimitInForce:
    """The limit a gift is checked against, and the limit year it is counted in."""

    limit: Decimal
    year: LimitYear


def limit_years_reached(
    existing: Iterable[Counted], day: date, schedule: Sequence[LimitChange], policy: LimitYearPolicy
) -> list[tuple[date, LimitYear, Decimal]]:
    """Every limit year a gift given on `day` counts in, each with the day it is drawn from and the limit in force
    then: the gift's own year, then the year of each later gift that reaches back to `day`, in date order."""
    later = sorted(
        (gift for gift in existing if gift.given_on > day and policy.year_of(gift.given_on).contains(day)),
        key=lambda gift: gift.given_on,
    )
    return [
        (anchor, policy.year_of(anchor), limit_in_force(schedule, anchor))
        for anchor in [day, *(gift.given_on for gift in later)]
    ]


def headroom_on(
    existing: Iterable[Counted], day: date, schedule: Sequence[LimitChange], policy: LimitYearPolicy
) -> Decimal:
    """The most a gift given on `day` may count and still be accepted by `check_within_limit`."""
    gifts = list(existing)
    rooms = (
        limit - sum((g.counted_value for g in gifts if year.contains(g.given_on)), ZERO)
        for _, year, limit in limit_years_reached(gifts, day, schedule, policy)
    )
    return max(ZERO, min(rooms))


def check_within_limit(
    existing: Iterable[CountedGift],
    new: CountedGift,
    schedule: Sequence[LimitChange],
    policy: LimitYearPolicy,
) -> LimitInForce:
    """Refuses `new` if it takes any limit year it falls in past the limit in force; else returns the limit and the
    limit year `new` is counted under.

    The gift's own limit year is checked against the limit on its date; so is the
    limit year of every later gift that the new one falls in (a gift recorded late
    must not push an accepted gift's year over its limit).
    """
    own = LimitInForce(limit=limit_in_force(schedule, new.given_on), year=policy.year_of(new.given_on))
    if new.counted_value == ZERO:
        return own
    earlier = list(existing)
    held = [g for g in earlier if g.reserved]
    gifts = [*earlier, new]
    for anchor, year, limit in limit_years_reached(gifts, new.given_on, schedule, policy):
        total = sum((g.counted_value for g in gifts if year.contains(g.given_on)), ZERO)
        if total > limit:
            reserved = sum((g.counted_value for g in held if year.contains(g.given_on)), ZERO)
            already = total - new.counted_value - reserved
            headroom = max(ZERO, limit - already - reserved)
            where = "" if anchor == new.given_on else f" (including a gift already given on {anchor})"
            holding = f", and ${reserved} is reserved by approved pre-clearance requests" if reserved else ""
            msg = (
                f"Gift limit exceeded: this gift counts ${new.counted_value}, and ${already} is "
                f"already counted for the limit year {year.label}{where}{holding}; the limit in force on "
                f"{anchor} is ${limit}, so ${headroom} of headroom is left."
            )
            raise GiftLimitExceeded(
                msg,
                GiftRefusal(
                    limit=limit,
                    counted_this_year=already,
                    headroom=headroom,
                    limit_year=year.label,
                    reserved=reserved,
                ),
            )
    return own


def normalise_person(text: str) -> str:
    """Case-folded with white space collapsed, so spellings of one name compare equal."""
    return " ".join(text.casefold().split())
