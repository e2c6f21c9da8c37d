"""The CompliancePolicy aggregate: the firm's dated gift-limit schedule and its limit-year policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel

from domain.gift_rule import FINRA_SCHEDULE, LimitChange, LimitYearPolicy
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import Audit, BusinessDate, LimitYearKind, PositiveMoney

POLICY_ID = uuid5(NAMESPACE_URL, "urn:ledger:compliance-policy")
"""There is one policy per ledger, always under this id."""


def _with_change(schedule: list[LimitChange], change: LimitChange) -> list[LimitChange]:
    kept = [c for c in schedule if c.effective_from != change.effective_from]
    return sorted([*kept, change], key=lambda c: c.effective_from)


class PolicyEstablished(LedgerCreated):
    TOPIC = "ledger:CompliancePolicy.Established"
    limit_schedule: list[LimitChange]
    limit_year: LimitYearPolicy

    def apply(self, aggregate: Any) -> None:
        aggregate.limit_schedule = sorted(self.limit_schedule, key=lambda c: c.effective_from)
        aggregate.limit_year = self.limit_year


class GiftLimitScheduled(LedgerEvent):
    """From `effective_from` on, the limit is `amount` (replacing any change on that same day)."""

    TOPIC = "ledger:CompliancePolicy.GiftLimitScheduled"
    effective_from: BusinessDate
    amount: PositiveMoney

    def apply(self, aggregate: Any) -> None:
        change = LimitChange(effective_from=self.effective_from, amount=self.amount)
        aggregate.limit_schedule = _with_change(aggregate.limit_schedule, change)


class LimitYearPolicyChanged(LedgerEvent):
    TOPIC = "ledger:CompliancePolicy.LimitYearPolicyChanged"
    limit_year: LimitYearPolicy

    def apply(self, aggregate: Any) -> None:
        aggregate.limit_year = self.limit_year


class CompliancePolicy(LedgerAggregate):
    """The gift-limit schedule and how a limit year is drawn; each change is an audited event."""

    TOPIC = "ledger:CompliancePolicy"

    class State(BaseModel):
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy

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

    def schedule_limit(self, audit: Audit, *, effective_from: date, amount: Decimal | str) -> None:
        self._record(GiftLimitScheduled, audit, effective_from=effective_from, amount=amount)

    def set_limit_year(self, audit: Audit, *, kind: LimitYearKind | str, start_month: int | None = None) -> None:
        self._record(
            LimitYearPolicyChanged,
            audit,
            limit_year={"kind": kind, "start_month": start_month},
        )
