"""The gift rule of DOMAIN.md as pure functions: the limit in force, counted values, limit years, the check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from domain.errors import GiftLimitExceeded, RuleViolation
from domain.gift_rule import (
    FINRA_SCHEDULE,
    CountedGift,
    LimitChange,
    LimitYear,
    LimitYearPolicy,
    check_within_limit,
    counted_value,
    limit_in_force,
    normalise_person,
)
from domain.values import GiftCategory, LimitYearKind

EXCLUDED_CATEGORIES = [
    GiftCategory.PERSONAL,
    GiftCategory.BEREAVEMENT,
    GiftCategory.PROMOTIONAL,
    GiftCategory.DE_MINIMIS,
    GiftCategory.COMMEMORATIVE,
    GiftCategory.DISASTER_DONATION,
    GiftCategory.RETAIL_CUSTOMER,
]

CALENDAR = LimitYearPolicy()
FISCAL_APRIL = LimitYearPolicy(kind=LimitYearKind.FISCAL, start_month=4)
ROLLING = LimitYearPolicy(kind=LimitYearKind.ROLLING_12_MONTHS)


def gift(given_on: date, amount: str) -> CountedGift:
    return CountedGift(gift_id=uuid4(), given_on=given_on, counted_value=Decimal(amount))


def refusal(
    existing: list[CountedGift],
    new: CountedGift,
    policy: LimitYearPolicy = CALENDAR,
    schedule: tuple[LimitChange, ...] = FINRA_SCHEDULE,
) -> GiftLimitExceeded:
    with pytest.raises(GiftLimitExceeded) as caught:
        check_within_limit(existing, new, schedule, policy)
    return caught.value


# -- the limit in force ------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "limit"),
    [
        (date(2001, 6, 15), "100.00"),
        (date(2026, 3, 29), "100.00"),
        (date(2026, 3, 30), "300.00"),
        (date(2026, 3, 31), "300.00"),
        (date(2030, 1, 1), "300.00"),
    ],
)
def test_the_limit_is_100_dollars_before_2026_03_30_and_300_dollars_from_that_day(day: date, limit: str) -> None:
    assert limit_in_force(FINRA_SCHEDULE, day) == Decimal(limit)


def test_a_firm_lower_limit_applies_from_its_own_date_on() -> None:
    schedule = [*FINRA_SCHEDULE, LimitChange(effective_from=date(2026, 6, 1), amount=Decimal("50.00"))]

    assert limit_in_force(schedule, date(2026, 5, 31)) == Decimal("300.00")
    assert limit_in_force(schedule, date(2026, 6, 1)) == Decimal("50.00")
    assert limit_in_force(schedule, date(2027, 1, 1)) == Decimal("50.00")


def test_the_order_of_the_schedule_does_not_matter() -> None:
    schedule = list(reversed(FINRA_SCHEDULE))

    assert limit_in_force(schedule, date(2026, 3, 29)) == Decimal("100.00")
    assert limit_in_force(schedule, date(2026, 3, 30)) == Decimal("300.00")


def test_a_day_before_the_schedule_starts_has_no_limit_and_is_refused() -> None:
    schedule = [LimitChange(effective_from=date(2020, 1, 1), amount=Decimal("100.00"))]

    with pytest.raises(RuleViolation, match="2020-01-01"):
        limit_in_force(schedule, date(2019, 12, 31))


@pytest.mark.parametrize("amount", ["0", "-1.00", "10.001"])
def test_a_limit_must_be_a_positive_amount_of_cents(amount: str) -> None:
    with pytest.raises(ValidationError):
        LimitChange(effective_from=date(2026, 1, 1), amount=amount)


# -- counted value -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "market_value", "counted"),
    [
        ("80.00", "120.00", "120.00"),
        ("120.00", "80.00", "120.00"),
        ("75.50", None, "75.50"),
    ],
)
def test_a_gift_counts_the_higher_of_cost_and_market_value(cost: str, market_value: str | None, counted: str) -> None:
    value = counted_value(
        category=GiftCategory.GENERAL,
        cost=Decimal(cost),
        market_value=None if market_value is None else Decimal(market_value),
    )

    assert value == Decimal(counted)


def test_a_general_gift_ignores_face_value() -> None:
    value = counted_value(category=GiftCategory.GENERAL, cost=Decimal("40.00"), face_value=Decimal("500.00"))

    assert value == Decimal("40.00")


@pytest.mark.parametrize(
    ("cost", "face_value", "counted"),
    [
        ("90.00", "150.00", "150.00"),
        ("150.00", "90.00", "150.00"),
        ("60.00", None, "60.00"),
    ],
)
def test_a_ticket_without_the_representative_counts_the_higher_of_cost_and_face_value(
    cost: str, face_value: str | None, counted: str
) -> None:
    value = counted_value(
        category=GiftCategory.TICKET,
        cost=Decimal(cost),
        face_value=None if face_value is None else Decimal(face_value),
    )

    assert value == Decimal(counted)


def test_a_ticket_is_valued_at_face_value_not_market_value() -> None:
    value = counted_value(
        category=GiftCategory.TICKET,
        cost=Decimal("80.00"),
        market_value=Decimal("500.00"),
        face_value=Decimal("100.00"),
    )

    assert value == Decimal("100.00")


def test_a_ticket_to_an_event_the_representative_attends_is_refused_as_entertainment() -> None:
    with pytest.raises(RuleViolation, match="entertainment"):
        counted_value(
            category=GiftCategory.TICKET,
            cost=Decimal("90.00"),
            face_value=Decimal("150.00"),
            representative_attended=True,
        )


@pytest.mark.parametrize(
    ("category", "cost", "market_value", "face_value", "recipients", "counted"),
    [
        (GiftCategory.GENERAL, "100.00", None, None, 3, "33.33"),
        (GiftCategory.GENERAL, "200.00", None, None, 3, "66.67"),
        (GiftCategory.GENERAL, "0.05", None, None, 2, "0.03"),
        (GiftCategory.GENERAL, "0.01", None, None, 2, "0.01"),
        (GiftCategory.GENERAL, "90.00", None, None, 2, "45.00"),
        (GiftCategory.GENERAL, "90.00", "120.00", None, 4, "30.00"),
        (GiftCategory.TICKET, "100.00", None, "300.00", 2, "150.00"),
    ],
)
def test_a_shared_gift_counts_its_value_divided_by_the_recipients_rounded_half_up_to_cents(
    category: GiftCategory,
    cost: str,
    market_value: str | None,
    face_value: str | None,
    recipients: int,
    counted: str,
) -> None:
    value = counted_value(
        category=category,
        cost=Decimal(cost),
        market_value=None if market_value is None else Decimal(market_value),
        face_value=None if face_value is None else Decimal(face_value),
        recipients_count=recipients,
    )

    assert value == Decimal(counted)
    assert value.as_tuple().exponent == -2


def test_a_gift_shared_by_no_one_is_refused() -> None:
    with pytest.raises(RuleViolation, match="recipients_count"):
        counted_value(category=GiftCategory.GENERAL, cost=Decimal("10.00"), recipients_count=0)


@pytest.mark.parametrize("category", EXCLUDED_CATEGORIES)
def test_each_excluded_category_counts_zero(category: GiftCategory) -> None:
    value = counted_value(category=category, cost=Decimal("5000.00"), market_value=Decimal("9000.00"))

    assert value == Decimal("0.00")


# -- limit years -------------------------------------------------------------


def test_the_default_limit_year_is_the_calendar_year() -> None:
    assert LimitYearPolicy().kind is LimitYearKind.CALENDAR


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2026, 3, 31), date(2026, 12, 31)])
def test_a_calendar_limit_year_runs_from_january_to_december(day: date) -> None:
    assert CALENDAR.year_of(day) == LimitYear(date(2026, 1, 1), date(2026, 12, 31), "2026")


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 3, 31), date(2025, 4, 1), date(2026, 3, 31)),
        (date(2025, 4, 1), date(2025, 4, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 1), date(2027, 3, 31)),
        (date(2026, 12, 31), date(2026, 4, 1), date(2027, 3, 31)),
    ],
)
def test_a_fiscal_limit_year_starting_in_april_runs_to_the_end_of_march(day: date, start: date, end: date) -> None:
    assert FISCAL_APRIL.year_of(day) == LimitYear(start, end, f"{start.isoformat()}/{end.isoformat()}")


def test_a_fiscal_limit_year_starting_in_march_ends_on_the_29th_of_february_in_a_leap_year() -> None:
    policy = LimitYearPolicy(kind=LimitYearKind.FISCAL, start_month=3)

    assert policy.year_of(date(2023, 3, 1)).end == date(2024, 2, 29)
    assert policy.year_of(date(2024, 3, 1)).end == date(2025, 2, 28)


def test_a_fiscal_limit_year_starting_in_january_spans_the_calendar_year() -> None:
    policy = LimitYearPolicy(kind=LimitYearKind.FISCAL, start_month=1)

    year = policy.year_of(date(2026, 7, 4))

    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2026, 5, 1), date(2025, 5, 2)),
        (date(2027, 3, 31), date(2026, 4, 1)),
        (date(2024, 12, 31), date(2024, 1, 2)),
        (date(2025, 2, 28), date(2024, 3, 1)),
    ],
)
def test_a_rolling_limit_year_is_the_365_days_ending_on_the_gift_date(day: date, start: date) -> None:
    year = ROLLING.year_of(day)

    assert year == LimitYear(start, day, f"{start.isoformat()}/{day.isoformat()}")
    assert (year.end - year.start).days + 1 == 365


def test_a_limit_year_contains_both_its_first_and_its_last_day() -> None:
    year = FISCAL_APRIL.year_of(date(2026, 6, 1))

    assert year.contains(date(2026, 4, 1))
    assert year.contains(date(2027, 3, 31))
    assert not year.contains(date(2026, 3, 31))
    assert not year.contains(date(2027, 4, 1))


def test_a_fiscal_limit_year_needs_a_start_month() -> None:
    with pytest.raises(ValidationError, match="start_month"):
        LimitYearPolicy(kind=LimitYearKind.FISCAL)


@pytest.mark.parametrize("kind", [LimitYearKind.CALENDAR, LimitYearKind.ROLLING_12_MONTHS])
def test_only_a_fiscal_limit_year_takes_a_start_month(kind: LimitYearKind) -> None:
    with pytest.raises(ValidationError, match="start_month"):
        LimitYearPolicy(kind=kind, start_month=4)


@pytest.mark.parametrize("month", [0, 13])
def test_a_fiscal_start_month_is_a_month_of_the_year(month: int) -> None:
    with pytest.raises(ValidationError):
        LimitYearPolicy(kind=LimitYearKind.FISCAL, start_month=month)


def test_a_limit_year_policy_takes_its_kind_as_a_string() -> None:
    policy = LimitYearPolicy.model_validate({"kind": "fiscal", "start_month": 7})

    assert policy.kind is LimitYearKind.FISCAL
    assert policy.year_of(date(2026, 6, 30)).start == date(2025, 7, 1)


# -- the check ---------------------------------------------------------------


def test_gifts_adding_up_exactly_to_the_limit_are_accepted() -> None:
    existing = [gift(date(2026, 5, 1), "100.00"), gift(date(2026, 6, 1), "100.00")]

    check_within_limit(existing, gift(date(2026, 7, 1), "100.00"), FINRA_SCHEDULE, CALENDAR)


def test_a_gift_one_cent_over_the_limit_is_refused_with_the_limit_the_count_and_the_headroom() -> None:
    existing = [gift(date(2026, 5, 1), "150.00"), gift(date(2026, 6, 1), "50.00")]

    error = refusal(existing, gift(date(2026, 7, 1), "100.01"))

    assert error.details() == {
        "limit": "300.00",
        "counted_this_year": "200.00",
        "headroom": "100.00",
        "limit_year": "2026",
    }
    assert error.code == "gift_limit_exceeded"


def test_a_gift_to_someone_already_at_the_limit_is_refused_with_no_headroom() -> None:
    error = refusal([gift(date(2026, 5, 1), "300.00")], gift(date(2026, 5, 2), "0.01"))

    assert error.details()["headroom"] == "0.00"
    assert error.details()["counted_this_year"] == "300.00"


def test_a_single_gift_over_the_limit_is_refused_with_the_whole_limit_as_headroom() -> None:
    error = refusal([], gift(date(2026, 5, 1), "300.01"))

    assert error.details() == {
        "limit": "300.00",
        "counted_this_year": "0.00",
        "headroom": "300.00",
        "limit_year": "2026",
    }


def test_a_gift_before_2026_03_30_is_held_to_100_dollars() -> None:
    error = refusal([gift(date(2026, 1, 15), "60.00")], gift(date(2026, 2, 1), "40.01"))

    assert error.details() == {
        "limit": "100.00",
        "counted_this_year": "60.00",
        "headroom": "40.00",
        "limit_year": "2026",
    }


def test_a_gift_counted_zero_is_accepted_even_at_the_limit() -> None:
    check_within_limit([gift(date(2026, 5, 1), "300.00")], gift(date(2026, 5, 2), "0.00"), FINRA_SCHEDULE, CALENDAR)


def test_gifts_of_another_calendar_year_do_not_count() -> None:
    check_within_limit([gift(date(2026, 12, 31), "300.00")], gift(date(2027, 1, 1), "300.00"), FINRA_SCHEDULE, CALENDAR)


def test_a_firm_lower_limit_refuses_what_finra_would_allow() -> None:
    schedule = (*FINRA_SCHEDULE, LimitChange(effective_from=date(2026, 6, 1), amount=Decimal("50.00")))

    check_within_limit([], gift(date(2026, 6, 1), "50.00"), schedule, CALENDAR)
    error = refusal([], gift(date(2026, 6, 1), "50.01"), schedule=schedule)

    assert error.details()["limit"] == "50.00"


def test_a_fiscal_year_starting_in_april_separates_gifts_on_either_side_of_april_1st() -> None:
    existing = [gift(date(2026, 3, 31), "300.00")]
    new = gift(date(2026, 4, 1), "300.00")

    check_within_limit(existing, new, FINRA_SCHEDULE, FISCAL_APRIL)
    error = refusal(existing, new, policy=CALENDAR)

    assert error.details()["limit_year"] == "2026"


def test_a_fiscal_year_refusal_names_the_fiscal_year() -> None:
    error = refusal([gift(date(2026, 4, 1), "300.00")], gift(date(2027, 3, 31), "0.01"), policy=FISCAL_APRIL)

    assert error.details()["limit_year"] == "2026-04-01/2027-03-31"


def test_a_rolling_year_counts_a_gift_364_days_earlier_but_not_365() -> None:
    existing = [gift(date(2026, 4, 1), "300.00")]

    error = refusal(existing, gift(date(2027, 3, 31), "0.01"), policy=ROLLING)
    check_within_limit(existing, gift(date(2027, 4, 1), "300.00"), FINRA_SCHEDULE, ROLLING)

    assert error.details() == {
        "limit": "300.00",
        "counted_this_year": "300.00",
        "headroom": "0.00",
        "limit_year": "2026-04-01/2027-03-31",
    }


def test_a_backdated_gift_may_not_push_a_later_gifts_rolling_year_over_the_limit() -> None:
    # The new gift's own rolling year (to 2026-05-01) holds only itself, but the
    # year of the gift already given on 2026-06-01 holds both.
    existing = [gift(date(2026, 6, 1), "200.00")]

    error = refusal(existing, gift(date(2026, 5, 1), "150.00"), policy=ROLLING)

    assert error.details() == {
        "limit": "300.00",
        "counted_this_year": "200.00",
        "headroom": "100.00",
        "limit_year": "2025-06-02/2026-06-01",
    }
    assert "2026-06-01" in error.message


def test_a_backdated_gift_may_not_push_a_later_gift_over_a_lower_limit_in_force_on_its_date() -> None:
    schedule = (*FINRA_SCHEDULE, LimitChange(effective_from=date(2026, 6, 1), amount=Decimal("50.00")))
    existing = [gift(date(2026, 7, 1), "50.00")]

    error = refusal(existing, gift(date(2026, 5, 1), "10.00"), schedule=schedule)

    assert error.details() == {
        "limit": "50.00",
        "counted_this_year": "50.00",
        "headroom": "0.00",
        "limit_year": "2026",
    }


def test_a_backdated_gift_is_held_to_the_limit_on_its_own_date_with_the_whole_year_counted() -> None:
    # DOMAIN.md: all gifts in the same limit year, this one included, against the
    # limit in force on this gift's given_on ($100 before 2026-03-30).
    existing = [gift(date(2026, 5, 1), "250.00")]

    error = refusal(existing, gift(date(2026, 2, 1), "10.00"))

    assert error.details() == {
        "limit": "100.00",
        "counted_this_year": "250.00",
        "headroom": "0.00",
        "limit_year": "2026",
    }


def test_a_backdated_gift_within_every_years_limit_is_accepted() -> None:
    existing = [gift(date(2026, 6, 1), "150.00")]

    check_within_limit(existing, gift(date(2026, 5, 1), "150.00"), FINRA_SCHEDULE, ROLLING)


# -- recipients --------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Bob Smith", "bob smith", "  BOB   SMITH ", "Bob\tSmith\n"])
def test_spellings_of_one_name_normalise_alike(spelling: str) -> None:
    assert normalise_person(spelling) == "bob smith"


def test_normalising_case_folds_rather_than_lowercases() -> None:
    assert normalise_person("Straße") == normalise_person("STRASSE") == "strasse"
