"""The AccountManager aggregate: who carries a quota, a pay plan and a capacity, and whether they are active."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel

from domain.commands import (
    Capacity,
    CompensationPlan,
    DeactivateAccountManager,
    RegisterAccountManager,
    SetCapacity,
    SetQuota,
)
from domain.errors import RuleViolation
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import (
    STORED,
    Audit,
    Money,
    Name,
    NonNegativeMoney,
    Rate,
    Reason,
    Year,
    for_new_facts,
)

__all__ = ["DEFAULT_CAPACITY", "AccountManager", "CompensationPlan", "Name", "Reason", "Year", "capacity_or_default"]

DEFAULT_CAPACITY = 20
"""The weighted load an account manager can carry until their manager sets another: five key relationships, ten
major or twenty standard. The weights follow the contact cadences (a key client every 7 days, major 14, standard 30),
so 20 is about twenty contacts a month that cannot slip, beside demos and proposals."""


def capacity_or_default(capacity: int | None) -> int:
    """The capacity in force: the one set, or `DEFAULT_CAPACITY` where none was."""
    return DEFAULT_CAPACITY if capacity is None else capacity


def _email(value: str) -> str:
    local, at, domain = value.strip().partition("@")
    if not (at and local and "." in domain and " " not in value.strip()):
        msg = f"{value!r} is not an email address"
        raise ValueError(msg)
    return value.strip()


def _printable_ascii(value: str) -> str:
    # An address is typed and compared as it is: nothing invisible may hide in it.
    if not (value.isascii() and value.isprintable()):
        msg = "must be printable ASCII (an internationalised address in its punycode form)"
        raise ValueError(msg)
    return value


Email = Annotated[str, AfterValidator(_email), AfterValidator(for_new_facts(_printable_ascii))]


class Registered(LedgerCreated):
    TOPIC = "ledger:AccountManager.Registered"
    name: Name
    email: Email

    def apply(self, aggregate: AccountManager) -> None:
        aggregate.name = self.name
        aggregate.email = self.email
        aggregate.active = True
        aggregate.quotas = {}
        aggregate.plans = {}
        aggregate.capacity = None


class QuotaSet(LedgerEvent):
    TOPIC = "ledger:AccountManager.QuotaSet"
    year: Year
    amount: NonNegativeMoney

    def apply(self, aggregate: AccountManager) -> None:
        aggregate.quotas[self.year] = self.amount


class CompensationPlanSet(LedgerEvent):
    TOPIC = "ledger:AccountManager.CompensationPlanSet"
    year: Year
    base_salary: NonNegativeMoney
    commission_rate: Rate
    accelerator_rate: Rate
    bonus_threshold: Rate
    bonus_amount: NonNegativeMoney

    def apply(self, aggregate: AccountManager) -> None:
        aggregate.plans[self.year] = CompensationPlan.model_validate(
            self.model_dump(include=set(CompensationPlan.model_fields)), context=STORED
        )


class CapacitySet(LedgerEvent):
    TOPIC = "ledger:AccountManager.CapacitySet"
    capacity: Capacity

    def apply(self, aggregate: AccountManager) -> None:
        aggregate.capacity = self.capacity


class Deactivated(LedgerEvent):
    TOPIC = "ledger:AccountManager.Deactivated"
    reason: Reason

    def apply(self, aggregate: AccountManager) -> None:
        aggregate.active = False


class AccountManager(LedgerAggregate):
    """An account manager: registered once, given quotas and plans per year and a capacity, deactivated when they
    leave."""

    TOPIC = "ledger:AccountManager"

    class State(BaseModel):
        name: str
        email: str
        active: bool
        quotas: dict[int, Money]
        plans: dict[int, CompensationPlan]
        capacity: int | None = None
        """Set by their manager; None (and in snapshots taken before capacities) until then."""

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        name: str
        email: str
        active: bool
        quotas: dict[int, Decimal]
        plans: dict[int, CompensationPlan]
        capacity: int | None

    @classmethod
    def register(cls, audit: Audit, command: RegisterAccountManager, *, id: UUID | None = None) -> AccountManager:  # noqa: A002
        return cls._start(Registered, audit, id=id or uuid4(), **dict(command))

    def set_quota(self, audit: Audit, year: int, command: SetQuota) -> None:
        self.check_active()
        self._record(QuotaSet, audit, year=year, **dict(command))

    def set_compensation_plan(self, audit: Audit, year: int, plan: CompensationPlan) -> None:
        self.check_active()
        self._record(CompensationPlanSet, audit, year=year, **dict(plan))

    def set_capacity(self, audit: Audit, command: SetCapacity) -> None:
        self.check_active()
        self._record(CapacitySet, audit, **dict(command))

    def deactivate(self, audit: Audit, command: DeactivateAccountManager) -> None:
        self.check_active()
        self._record(Deactivated, audit, **dict(command))

    def check_active(self) -> None:
        if not self.active:
            msg = f"Account manager {self.name} ({self.id}) is deactivated; nothing more can be recorded for them."
            raise RuleViolation(msg)

    def quota_for(self, year: int) -> Decimal | None:
        return self.quotas.get(year)

    @property
    def capacity_in_force(self) -> int:
        """The weighted load they can carry: the capacity set, or the default."""
        return capacity_or_default(self.capacity)
