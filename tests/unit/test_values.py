"""Value types: money and rates as exact decimals, aware times, the choices and the audit context."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import TypeAdapter, ValidationError

from domain.values import (
    STORED,
    Audit,
    BusinessDate,
    GiftCategory,
    Money,
    NonNegativeMoney,
    PositiveMoney,
    Principal,
    Rate,
    Role,
    Tier,
    Timestamp,
    round_cents,
    utc_now,
)

MONEY = TypeAdapter(Money)
POSITIVE_MONEY = TypeAdapter(PositiveMoney)
NON_NEGATIVE_MONEY = TypeAdapter(NonNegativeMoney)
RATE = TypeAdapter(Rate)
TIMESTAMP = TypeAdapter(Timestamp)


# -- money -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "amount"),
    [
        ("1250.00", "1250.00"),
        ("1250", "1250.00"),
        ("0.5", "0.50"),
        ("-3.10", "-3.10"),
        (Decimal("7.1"), "7.10"),
        (42, "42.00"),
    ],
)
def test_money_is_an_exact_decimal_with_two_places(given: Any, amount: str) -> None:
    value = MONEY.validate_python(given)

    assert value == Decimal(amount)
    assert str(value) == amount


@pytest.mark.parametrize("given", [12.5, 0.1, True])
def test_money_given_as_a_float_or_a_bool_is_refused(given: Any) -> None:
    with pytest.raises(ValidationError, match="float"):
        MONEY.validate_python(given)


@pytest.mark.parametrize("given", ["1.005", "0.001", "1.500", Decimal("3.141")])
def test_money_with_more_than_two_places_is_refused(given: Any) -> None:
    with pytest.raises(ValidationError, match="at most two decimal places"):
        MONEY.validate_python(given)


@pytest.mark.parametrize(
    "given",
    [
        "twelve",
        "",
        "1,250.00",
        "$5",
        " 12.34 ",
        "100.00\n",
        "1e3",
        "NaN",
        "Infinity",
        "\u0661\u0660\u0660.\u0660\u0660",  # Arabic-Indic digits
        "\uff11\uff10\uff10",  # full-width digits
    ],
)
def test_money_that_is_not_a_number_written_with_ascii_digits_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="not a decimal number"):
        MONEY.validate_python(given)


@pytest.mark.parametrize("given", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_money_must_be_finite(given: Decimal) -> None:
    with pytest.raises(ValidationError, match="finite"):
        MONEY.validate_python(given)


@pytest.mark.parametrize("given", ["1e30", 10**30])
def test_an_amount_too_large_to_hold_in_cents_is_refused_as_invalid(given: Any) -> None:
    with pytest.raises(ValidationError):
        MONEY.validate_python(given)


def test_positive_money_refuses_zero_and_below() -> None:
    assert POSITIVE_MONEY.validate_python("0.01") == Decimal("0.01")
    for given in ["0", "0.00", "-0.01"]:
        with pytest.raises(ValidationError, match="greater than zero"):
            POSITIVE_MONEY.validate_python(given)


def test_non_negative_money_allows_zero_but_not_below() -> None:
    assert NON_NEGATIVE_MONEY.validate_python("0") == Decimal("0.00")
    with pytest.raises(ValidationError, match="must not be negative"):
        NON_NEGATIVE_MONEY.validate_python("-0.01")


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("2.675", "2.68"),
        ("2.674999", "2.67"),
        ("33.3333", "33.33"),
        ("-0.005", "-0.01"),
        ("10", "10.00"),
    ],
)
def test_amounts_round_half_up_to_cents(amount: str, rounded: str) -> None:
    assert str(round_cents(Decimal(amount))) == rounded


# -- rates -------------------------------------------------------------------


@pytest.mark.parametrize(("given", "rate"), [("0.05", "0.05"), ("0.0125", "0.0125"), ("0", "0"), (1, "1")])
def test_a_rate_is_an_exact_non_negative_decimal(given: Any, rate: str) -> None:
    assert RATE.validate_python(given) == Decimal(rate)


@pytest.mark.parametrize(
    ("given", "message"),
    [(0.05, "float"), ("-0.01", "must not be negative"), ("NaN", "finite"), ("five percent", "not a decimal")],
)
def test_a_rate_that_is_a_float_negative_or_not_a_number_is_refused(given: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RATE.validate_python(given)


# -- times -------------------------------------------------------------------


def test_a_time_with_its_offset_is_accepted() -> None:
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))

    assert TIMESTAMP.validate_python(moment) == moment
    assert TIMESTAMP.validate_python("2026-05-01T09:30:00-04:00") == moment


@pytest.mark.parametrize("given", [datetime(2026, 5, 1, 9, 30), "2026-05-01T09:30:00"])
def test_a_naive_time_is_refused(given: Any) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        TIMESTAMP.validate_python(given)


def test_the_server_clock_reads_utc() -> None:
    now = utc_now()

    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(minutes=1)


# -- choices -----------------------------------------------------------------


@pytest.mark.parametrize(("tier", "days", "weight"), [(Tier.KEY, 7, 4), (Tier.MAJOR, 14, 2), (Tier.STANDARD, 30, 1)])
def test_each_tier_has_its_follow_up_cadence_and_load_weight(tier: Tier, days: int, weight: int) -> None:
    assert tier.default_cadence_days == days
    assert tier.weight == weight


def test_only_general_gifts_and_tickets_count_towards_the_limit() -> None:
    counted = {category for category in GiftCategory if category.is_counted}

    assert counted == {GiftCategory.GENERAL, GiftCategory.TICKET}


def test_roles_are_the_five_of_the_role_table() -> None:
    assert {role.value for role in Role} == {"account_manager", "manager", "compliance", "auditor", "admin"}


# -- who is acting -----------------------------------------------------------


def test_an_audit_context_stamps_events_with_the_actor_and_the_request() -> None:
    manager_id = uuid4()
    audit = Audit(
        principal=Principal(id="user-7", role=Role.ACCOUNT_MANAGER, account_manager_id=manager_id),
        correlation_id="req-42",
    )

    assert audit.event_fields() == {
        "actor_id": "user-7",
        "actor_role": Role.ACCOUNT_MANAGER,
        "correlation_id": "req-42",
    }


def test_a_principal_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Principal.model_validate({"id": "user-7", "role": "manager", "is_root": True})


def test_a_principal_cannot_be_changed_once_made() -> None:
    principal = Principal(id="user-7", role=Role.AUDITOR)

    with pytest.raises(ValidationError, match="frozen"):
        principal.role = Role.ADMIN  # type: ignore[misc]


def test_a_principal_refuses_an_unknown_role() -> None:
    with pytest.raises(ValidationError):
        Principal.model_validate({"id": "user-7", "role": "superuser"})


def test_a_stored_amount_is_read_as_python_wrote_it_while_a_new_one_must_be_plain_digits() -> None:
    # Rates of more than six places were once accepted, and Python writes small decimals with an exponent.
    rate = RATE

    assert rate.validate_python("1E-7", context=STORED) == Decimal("1E-7")
    with pytest.raises(ValidationError, match="digits 0-9"):
        rate.validate_python("1E-7")


def test_a_business_date_outside_1900_to_2199_is_refused_for_a_new_fact_but_read_back_when_stored() -> None:
    day = TypeAdapter(BusinessDate)

    assert day.validate_python("9999-12-31", context=STORED) == date(9999, 12, 31)
    with pytest.raises(ValidationError, match="between 1900-01-01 and 2199-12-31"):
        day.validate_python("9999-12-31")
