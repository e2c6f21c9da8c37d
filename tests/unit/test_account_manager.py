"""The AccountManager aggregate: registration, quotas and plans per year, deactivation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from domain.account_manager import AccountManager, CompensationPlan, CompensationPlanSet, QuotaSet, Registered
from domain.application import Ledger
from domain.commands import CompensationPlan as CompensationPlanCommand
from domain.commands import DeactivateAccountManager, RegisterAccountManager, SetQuota
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.values import Audit, Role
from tests.conftest import audit_as

PLAN: dict[str, Any] = {
    "base_salary": "90000.00",
    "commission_rate": "0.05",
    "accelerator_rate": "0.02",
    "bonus_threshold": "1.10",
    "bonus_amount": "10000.00",
}


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def unique_email() -> str:
    return f"am-{uuid4().hex[:10]}@example.com"


def register(app: Ledger, audit: Audit, name: str = "Ann Lee") -> UUID:
    return app.register_account_manager(audit, RegisterAccountManager(name=name, email=unique_email())).id


def history_length(app: Ledger, aggregate_id: UUID) -> int:
    return len(list(app.history(aggregate_id)))


# -- the aggregate -----------------------------------------------------------


def test_a_registered_account_manager_is_active_with_no_quotas_or_plans(manager: Audit) -> None:
    email = unique_email()

    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=f"  {email} "))

    assert (account_manager.name, account_manager.email) == ("Ann Lee", email)
    assert account_manager.active
    assert account_manager.quotas == {}
    assert account_manager.plans == {}
    assert account_manager.version == 1
    assert [type(event) for event in account_manager.collect_events()] == [Registered]


def test_an_account_manager_can_be_registered_under_a_given_id(manager: Audit) -> None:
    wanted = uuid4()

    assert (
        AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()), id=wanted).id
        == wanted
    )


@pytest.mark.parametrize("email", ["ann", "ann@example", "@example.com", "ann lee@example.com", "ann@"])
def test_an_account_manager_needs_a_real_email_address(manager: Audit, email: str) -> None:
    with pytest.raises(InvalidInput, match="email"):
        AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=email))


def test_an_account_manager_needs_a_name(manager: Audit) -> None:
    with pytest.raises(InvalidInput, match="name"):
        AccountManager.register(manager, RegisterAccountManager(name="", email=unique_email()))


def test_a_quota_is_set_per_year(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))

    account_manager.set_quota(manager, 2026, SetQuota(amount="1200000.00"))
    account_manager.set_quota(manager, 2027, SetQuota(amount="1500000"))

    assert account_manager.quota_for(2026) == Decimal("1200000.00")
    assert account_manager.quota_for(2027) == Decimal("1500000.00")
    assert account_manager.quota_for(2025) is None


def test_a_later_quota_for_the_same_year_replaces_the_earlier_one(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))

    account_manager.set_quota(manager, 2026, SetQuota(amount="100000.00"))
    account_manager.set_quota(manager, 2026, SetQuota(amount="80000.00"))

    assert account_manager.quota_for(2026) == Decimal("80000.00")
    assert [type(event) for event in account_manager.collect_events()] == [Registered, QuotaSet, QuotaSet]


def test_a_quota_of_zero_is_allowed(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))

    account_manager.set_quota(manager, 2026, SetQuota(amount="0"))

    assert account_manager.quota_for(2026) == Decimal("0.00")


@pytest.mark.parametrize(
    ("year", "amount"),
    [(2026, "-1.00"), (2026, 1000.0), (2026, "1000.001"), (1899, "1000.00"), (10_000, "1000.00")],
)
def test_a_negative_float_or_fractional_cent_quota_or_an_impossible_year_is_refused(
    manager: Audit, year: int, amount: Any
) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))

    with pytest.raises(InvalidInput):
        account_manager.set_quota(manager, year, SetQuota(amount=amount))

    assert account_manager.version == 1
    assert account_manager.quotas == {}


def test_a_compensation_plan_is_set_per_year(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))
    plan = CompensationPlan.model_validate(PLAN)

    account_manager.set_compensation_plan(manager, 2026, plan)

    assert account_manager.plans == {2026: plan}
    assert account_manager.plans[2026].commission_rate == Decimal("0.05")
    assert account_manager.plans[2026].base_salary == Decimal("90000.00")
    assert isinstance(account_manager.collect_events()[-1], CompensationPlanSet)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commission_rate", "1.01"),
        ("accelerator_rate", "1.5"),
        ("commission_rate", "-0.01"),
        ("bonus_threshold", "-1"),
        ("commission_rate", 0.05),
        ("base_salary", "-1.00"),
        ("bonus_amount", "100.001"),
        ("base_salary", 90000.0),
    ],
)
def test_a_plan_with_an_invalid_rate_or_amount_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        CompensationPlan.model_validate({**PLAN, field: value})


def test_a_plan_may_pay_the_whole_signed_value_as_commission() -> None:
    plan = CompensationPlan.model_validate({**PLAN, "commission_rate": "1", "accelerator_rate": "1"})

    assert (plan.commission_rate, plan.accelerator_rate) == (Decimal(1), Decimal(1))


def test_a_plan_refuses_unknown_terms() -> None:
    with pytest.raises(ValidationError, match="extra"):
        CompensationPlan.model_validate({**PLAN, "stock_options": "100"})


def test_a_deactivated_account_manager_refuses_further_commands(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))
    account_manager.deactivate(manager, DeactivateAccountManager(reason="left the firm"))

    with pytest.raises(RuleViolation, match="deactivated"):
        account_manager.set_quota(manager, 2026, SetQuota(amount="1000.00"))
    with pytest.raises(RuleViolation, match="deactivated"):
        account_manager.set_compensation_plan(manager, 2026, CompensationPlan.model_validate(PLAN))
    with pytest.raises(RuleViolation, match="deactivated"):
        account_manager.deactivate(manager, DeactivateAccountManager(reason="again"))

    assert not account_manager.active
    assert account_manager.version == 2


def test_deactivation_needs_a_reason(manager: Audit) -> None:
    account_manager = AccountManager.register(manager, RegisterAccountManager(name="Ann Lee", email=unique_email()))

    with pytest.raises(InvalidInput, match="reason"):
        account_manager.deactivate(manager, DeactivateAccountManager(reason=""))

    assert account_manager.active


# -- through the application service -----------------------------------------


def test_quota_and_plan_set_through_the_ledger_are_stored(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)

    app.set_quota(manager, account_manager_id, 2026, SetQuota(amount="750000.00"))
    result = app.set_compensation_plan(manager, account_manager_id, 2026, CompensationPlanCommand.of(PLAN))

    stored = app.account_manager(account_manager_id)
    assert result.version == 3
    assert stored.quota_for(2026) == Decimal("750000.00")
    assert stored.plans[2026] == CompensationPlan.model_validate(PLAN)


def test_an_invalid_plan_given_to_the_ledger_is_refused_and_nothing_is_stored(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)

    with pytest.raises(InvalidInput, match="commission_rate"):
        app.set_compensation_plan(
            manager, account_manager_id, 2026, CompensationPlanCommand.of({**PLAN, "commission_rate": "2"})
        )

    assert history_length(app, account_manager_id) == 1
    assert app.account_manager(account_manager_id).plans == {}


def test_a_deactivated_account_manager_refuses_a_quota_through_the_ledger(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)
    app.deactivate_account_manager(manager, account_manager_id, DeactivateAccountManager(reason="retired"))

    with pytest.raises(RuleViolation, match="deactivated"):
        app.set_quota(manager, account_manager_id, 2026, SetQuota(amount="1000.00"))

    assert history_length(app, account_manager_id) == 2
    assert not app.account_manager(account_manager_id).active


def test_an_admin_may_manage_account_managers_too(app: Ledger) -> None:
    admin = audit_as(Role.ADMIN)

    account_manager_id = register(app, admin)
    app.set_quota(admin, account_manager_id, 2026, SetQuota(amount="1.00"))

    assert app.account_manager(account_manager_id).quota_for(2026) == Decimal("1.00")


def test_a_quota_for_an_unknown_account_manager_is_not_found(app: Ledger, manager: Audit) -> None:
    with pytest.raises(NotFound, match="account manager"):
        app.set_quota(manager, uuid4(), 2026, SetQuota(amount="1000.00"))
