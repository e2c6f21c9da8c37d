"""The pay view: quotas, compensation plans and signed contracts, with pay worked out on reading.

The manager credited with a contract is the one assigned when it was signed
(recorded on `ContractSigned`), who keeps the credit after a reassignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.account_manager import CompensationPlanSet, QuotaSet
from domain.relationship import ContractSigned, EntryCorrected
from domain.values import round_cents
from infrastructure.sql import Table, ViewStore
from projections.base import Batch, LedgerProjection, cents, day_text, handles, money

QUOTAS = Table(
    "pay_quotas",
    (("account_manager_id", "text"), ("year", "int"), ("amount_cents", "int")),
    key=("account_manager_id", "year"),
)
PLANS = Table(
    "pay_plans",
    (
        ("account_manager_id", "text"),
        ("year", "int"),
        ("base_salary_cents", "int"),
        ("commission_rate", "text"),
        ("accelerator_rate", "text"),
        ("bonus_threshold", "text"),
        ("bonus_amount_cents", "int"),
    ),
    key=("account_manager_id", "year"),
)
SIGNED = Table(
    "pay_signed_contracts",
    (
        ("contract_id", "text"),
        ("relationship_id", "text"),
        ("account_manager_id", "text"),
        ("signed_on", "text"),
        ("value_cents", "int"),
    ),
    key=("contract_id",),
    indexes=(("account_manager_id", "signed_on"),),
)


class PayProjection(LedgerProjection):
    """The facts pay is worked out from."""

    name = "pay"
    tables = (QUOTAS, PLANS, SIGNED)

    @handles(QuotaSet)
    def on_quota_set(self, event: QuotaSet, batch: Batch, position: int) -> None:
        batch.put(
            "pay_quotas",
            {"account_manager_id": str(event.originator_id), "year": event.year, "amount_cents": cents(event.amount)},
        )

    @handles(CompensationPlanSet)
    def on_compensation_plan_set(self, event: CompensationPlanSet, batch: Batch, position: int) -> None:
        batch.put(
            "pay_plans",
            {
                "account_manager_id": str(event.originator_id),
                "year": event.year,
                "base_salary_cents": cents(event.base_salary),
                "commission_rate": str(event.commission_rate),
                "accelerator_rate": str(event.accelerator_rate),
                "bonus_threshold": str(event.bonus_threshold),
                "bonus_amount_cents": cents(event.bonus_amount),
            },
        )

    @handles(ContractSigned)
    def on_contract_signed(self, event: ContractSigned, batch: Batch, position: int) -> None:
        batch.put(
            "pay_signed_contracts",
            {
                "contract_id": str(event.contract_id),
                "relationship_id": str(event.originator_id),
                "account_manager_id": str(event.credited_account_manager_id),
                "signed_on": day_text(event.signed_on),
                "value_cents": cents(event.value),
            },
        )

    @handles(EntryCorrected)
    def on_entry_corrected(self, event: EntryCorrected, batch: Batch, position: int) -> None:
        if event.corrected_type != ContractSigned.TOPIC or event.target is None:
            return
        changes: dict[str, Any] = {}
        if "value" in event.changes:
            changes["value_cents"] = cents(Decimal(event.changes["value"]))
        if "signed_on" in event.changes:
            changes["signed_on"] = event.changes["signed_on"]
        batch.update("pay_signed_contracts", (event.target,), **changes)


@dataclass(frozen=True)
class Pay:
    """An account manager's pay for a year, by the formulas of DOMAIN.md, rounded half-up to cents."""

    account_manager_id: str
    year: int
    signed_value: Decimal
    quota: Decimal
    attainment: Decimal | None
    base_salary: Decimal
    commission: Decimal
    bonus: Decimal
    total: Decimal


@dataclass(frozen=True)
class CreditedContract:
    """A signed contract that counts in a manager's pay: which, on which relationship, signed when, for how much."""

    contract_id: str
    relationship_id: str
    signed_on: str
    value: Decimal


class PayReader:
    """Queries over the pay view."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def signed_values(self, year: int) -> dict[str, Decimal]:
        """Signed value per credited account manager for contracts signed in `year`."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT account_manager_id, SUM(value_cents) FROM pay_signed_contracts "
                "WHERE signed_on >= ? AND signed_on <= ? GROUP BY account_manager_id",
                (day_text(date(year, 1, 1)), day_text(date(year, 12, 31))),
            ).fetchall()
        return {manager: money(total) for manager, total in rows}

    def quotas(self, year: int) -> dict[str, Decimal]:
        with self.view.reading() as cursor:
            rows = cursor.execute("SELECT account_manager_id, amount_cents FROM pay_quotas WHERE year = ?", (year,))
            return {manager: money(amount) for manager, amount in rows.fetchall()}

    def credited_contracts(self, account_manager_id: str, year: int) -> list[CreditedContract]:
        """The contracts signed in `year` credited to the manager (what their signed value adds up), by signing date."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT contract_id, relationship_id, signed_on, value_cents FROM pay_signed_contracts "
                "WHERE account_manager_id = ? AND signed_on >= ? AND signed_on <= ? ORDER BY signed_on, contract_id",
                (account_manager_id, day_text(date(year, 1, 1)), day_text(date(year, 12, 31))),
            ).fetchall()
        return [CreditedContract(c, r, signed_on, money(cents_)) for c, r, signed_on, cents_ in rows]

    def pay(self, account_manager_id: str, year: int) -> Pay:
        with self.view.reading() as cursor:
            signed = cursor.execute(
                "SELECT SUM(value_cents) FROM pay_signed_contracts "
                "WHERE account_manager_id = ? AND signed_on >= ? AND signed_on <= ?",
                (account_manager_id, day_text(date(year, 1, 1)), day_text(date(year, 12, 31))),
            ).fetchone()
            quota = cursor.execute(
                "SELECT amount_cents FROM pay_quotas WHERE account_manager_id = ? AND year = ?",
                (account_manager_id, year),
            ).fetchone()
            plan = cursor.execute(
                "SELECT base_salary_cents, commission_rate, accelerator_rate, bonus_threshold, bonus_amount_cents "
                "FROM pay_plans WHERE account_manager_id = ? AND year = ?",
                (account_manager_id, year),
            ).fetchone()
        return compute_pay(
            account_manager_id,
            year,
            signed_value=money(signed[0] if signed else 0),
            quota=money(quota[0] if quota else 0),
            plan=plan,
        )


def compute_pay(
    account_manager_id: str, year: int, *, signed_value: Decimal, quota: Decimal, plan: tuple[Any, ...] | None
) -> Pay:
    """Pay by DOMAIN.md: commission on signed value plus the accelerator above quota; a bonus past the threshold."""
    if plan is None:
        base_salary = commission_rate = accelerator_rate = bonus_threshold = bonus_amount = Decimal(0)
    else:
        base_salary = money(plan[0])
        commission_rate, accelerator_rate, bonus_threshold = (Decimal(plan[1]), Decimal(plan[2]), Decimal(plan[3]))
        bonus_amount = money(plan[4])
    commission = round_cents(commission_rate * signed_value + accelerator_rate * max(Decimal(0), signed_value - quota))
    earned_bonus = quota > 0 and signed_value >= quota * bonus_threshold
    bonus = round_cents(bonus_amount) if earned_bonus else round_cents(Decimal(0))
    return Pay(
        account_manager_id=account_manager_id,
        year=year,
        signed_value=round_cents(signed_value),
        quota=round_cents(quota),
        attainment=(signed_value / quota).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if quota > 0 else None,
        base_salary=round_cents(base_salary),
        commission=commission,
        bonus=bonus,
        total=round_cents(base_salary + commission + bonus),
    )
