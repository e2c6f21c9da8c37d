"""The CompliancePolicy aggregate: the firm's dated gift-limit schedule and its limit-year policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel

from domain.commands import ScheduleGiftLimit, SetLimitYear, SetReviewThreshold
from domain.errors import InvalidInput, RuleViolation
from domain.gift_rule import FINRA_SCHEDULE, REGULATORY_SCHEDULE, LimitChange, LimitYearPolicy, limit_in_force
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import Audit, BusinessDate, PositiveMoney, Reason, RecordedMoney

POLICY_ID = uuid5(NAMESPACE_URL, "urn:ledger:compliance-policy")
"""There is one policy per ledger, always under this id."""


def _with_change(schedule: list[LimitChange], change: LimitChange) -> list[LimitChange]:
    kept = [c for c in schedule if c.effective_from != change.effective_from]
    return sorted([*kept, change], key=lambda c: c.effective_from)


class PolicyEstablished(LedgerCreated):
    TOPIC = "ledger:CompliancePolicy.Established"
    limit_schedule: list[LimitChange]
    limit_year: LimitYearPolicy

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.limit_schedule = sorted(self.limit_schedule, key=lambda c: c.effective_from)
        aggregate.limit_year = self.limit_year
        aggregate.review_threshold = DEFAULT_REVIEW_THRESHOLD


class GiftLimitScheduled(LedgerEvent):
    """From `effective_from` on, the limit is `amount` (replacing any change on that same day).

    The firm may only lower the limit: `amount` is at most the regulatory limit in force on `effective_from`
    (recorded beside it). A change effective before the day it was made (`retroactive`) carries its `reason`.
    """

    TOPIC = "ledger:CompliancePolicy.GiftLimitScheduled"
    effective_from: BusinessDate
    amount: PositiveMoney
    reason: Reason | None = None
    regulatory_limit: RecordedMoney | None = None
    retroactive: bool = False

    def apply(self, aggregate: CompliancePolicy) -> None:
        change = LimitChange(effective_from=self.effective_from, amount=self.amount)
        aggregate.limit_schedule = _with_change(aggregate.limit_schedule, change)


class LimitYearPolicyChanged(LedgerEvent):
    TOPIC = "ledger:CompliancePolicy.LimitYearPolicyChanged"
    limit_year: LimitYearPolicy

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.limit_year = self.limit_year


class ReviewThresholdSet(LedgerEvent):
    """Gifts that count nothing (promotional, personal, …) but cost more than `amount` are shown for review."""

    TOPIC = "ledger:CompliancePolicy.ReviewThresholdSet"
    amount: PositiveMoney

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.review_threshold = self.amount


DEFAULT_REVIEW_THRESHOLD = Decimal("100.00")
"""Until the firm sets its own, an uncounted gift costing more than this is a review exception."""


class CompliancePolicy(LedgerAggregate):
    """The gift-limit schedule, how a limit year is drawn, and when an uncounted gift is reviewed; each change is
    an audited event."""

    TOPIC = "ledger:CompliancePolicy"
    snapshot_version = 2  # 2: State gained review_threshold

    class State(BaseModel):
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy
        review_threshold: RecordedMoney

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy
        review_threshold: Decimal

    @classmethod
    def establish(cls, audit: Audit) -> CompliancePolicy:
        """The policy every ledger starts with: FINRA's schedule and calendar years."""
        return cls._start(
            PolicyEstablished,
            audit,
            id=POLICY_ID,
            limit_schedule=list(FINRA_SCHEDULE),
            limit_year=LimitYearPolicy(),
        )

    def schedule_limit(self, audit: Audit, command: ScheduleGiftLimit, *, today: date) -> None:
        """Sets the firm's limit from a date on: never above the regulatory limit then, and with a reason if that
        date has passed (every recipient-year the change pushes over then shows as a breach)."""
        effective_from, reason = command.effective_from, command.reason
        begins = min(change.effective_from for change in REGULATORY_SCHEDULE)
        if effective_from < begins:
            message = f"must be on or after {begins}, when the regulatory gift limit begins"
            raise InvalidInput.of_field("effective_from", message)
        regulatory = limit_in_force(REGULATORY_SCHEDULE, effective_from)
        if command.amount > regulatory:
            msg = (
                f"The firm's gift limit cannot be above the regulatory limit in force on {effective_from} "
                f"(${regulatory}); the firm may only set a lower one."
            )
            raise RuleViolation(msg)
        retroactive = effective_from < today
        if retroactive and not (reason and reason.strip()):
            message = f"a change effective in the past ({effective_from}, before today {today}) needs a reason"
            raise InvalidInput.of_field("reason", message)
        self._record(GiftLimitScheduled, audit, **dict(command), regulatory_limit=regulatory, retroactive=retroactive)

    def set_review_threshold(self, audit: Audit, command: SetReviewThreshold) -> None:
        """Sets the cost above which a gift that counts nothing is shown to compliance for review."""
        self._record(ReviewThresholdSet, audit, **dict(command))

    def set_limit_year(self, audit: Audit, command: SetLimitYear) -> None:
        """Sets how the limit year is drawn (a fiscal year needs its start month, the others none)."""
        self._record(LimitYearPolicyChanged, audit, limit_year=dict(command))
