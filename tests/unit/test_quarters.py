"""Calendar quarters in the firm's time zone: their days, their labels, when an attestation is due and late."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.quarters import Quarter, late
from domain.values import EARLIEST, LATEST, STORED, QuarterLabel

NEW_YORK = ZoneInfo("America/New_York")
LABELS = TypeAdapter(QuarterLabel)


@pytest.mark.parametrize(
    ("quarter", "start", "end", "label"),
    [
        (Quarter(2026, 1), date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        (Quarter(2026, 2), date(2026, 4, 1), date(2026, 6, 30), "2026-Q2"),
        (Quarter(2026, 3), date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        (Quarter(2026, 4), date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
        (Quarter(1900, 1), date(1900, 1, 1), date(1900, 3, 31), "1900-Q1"),
        (Quarter(2199, 4), date(2199, 10, 1), date(2199, 12, 31), "2199-Q4"),
    ],
)
def test_a_quarter_has_its_first_and_last_day_and_label(quarter: Quarter, start: date, end: date, label: str) -> None:
    assert (quarter.start, quarter.end, quarter.label) == (start, end, label)
    assert Quarter.parse(label) == quarter


def test_a_leap_year_first_quarter_ends_on_31_march_all_the_same() -> None:
    assert (Quarter(2028, 1).end - Quarter(2028, 1).start).days + 1 == 91
    assert (Quarter(2027, 1).end - Quarter(2027, 1).start).days + 1 == 90


@given(st.dates(min_value=EARLIEST, max_value=LATEST))
def test_every_day_is_in_exactly_the_quarter_of_it(day: date) -> None:
    quarter = Quarter.of(day)

    assert quarter.start <= day <= quarter.end
    assert Quarter.of(quarter.start) == Quarter.of(quarter.end) == quarter
    assert Quarter.of(quarter.start - timedelta(days=1)) == quarter.previous()
    assert Quarter.parse(quarter.label) == quarter


@pytest.mark.parametrize(
    "label", ["2026-Q0", "2026-Q5", "2026Q1", "26-Q1", "2026-q1", "2026-Q1 ", "\uff12\uff10\uff12\uff16-Q1", ""]
)
def test_a_malformed_label_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="YYYY-Qn"):
        Quarter.parse(label)
    with pytest.raises(ValidationError):
        LABELS.validate_python(label)


@pytest.mark.parametrize("label", ["1899-Q4", "2200-Q1", "0000-Q1", "9999-Q4"])
def test_a_new_label_outside_the_business_years_is_refused_but_a_stored_one_reads(label: str) -> None:
    with pytest.raises(ValidationError, match="year from 1900 to 2199"):
        LABELS.validate_python(label)
    assert LABELS.validate_python(label, context=STORED) == label


def test_a_quarter_is_numbered_1_to_4() -> None:
    with pytest.raises(ValueError, match="1 to 4"):
        Quarter(2026, 5)


@pytest.mark.parametrize(
    ("due_days", "due_on"), [(0, date(2026, 3, 31)), (30, date(2026, 4, 30)), (90, date(2026, 6, 29))]
)
def test_an_attestation_is_due_some_days_after_the_quarter_ends(due_days: int, due_on: date) -> None:
    assert Quarter(2026, 1).due_on(due_days) == due_on


# -- lateness at the edge of the firm's day (§4: Q1 + 30 days in New York) --

DUE = Quarter(2026, 1).due_on(30)


def test_submitted_before_midnight_in_new_york_on_the_due_day_is_on_time() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)

    assert date(2026, 4, 30) == DUE
    assert not late(datetime(2026, 5, 1, 3, 59, 59, tzinfo=UTC), DUE, NEW_YORK, now)
    assert late(datetime(2026, 5, 1, 4, 0, 0, tzinfo=UTC), DUE, NEW_YORK, now)


def test_a_missing_attestation_is_late_once_the_due_day_has_passed_in_new_york() -> None:
    assert not late(None, DUE, NEW_YORK, datetime(2026, 5, 1, 3, 59, 59, tzinfo=UTC))
    assert late(None, DUE, NEW_YORK, datetime(2026, 5, 1, 4, 0, 0, tzinfo=UTC))


def test_the_same_moment_is_on_time_in_new_york_and_late_in_utc() -> None:
    moment = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)

    assert not late(moment, DUE, NEW_YORK, moment)
    assert late(moment, DUE, UTC, moment)


def test_a_quarter_has_ended_only_once_its_last_day_has_passed_in_the_firms_zone() -> None:
    # Q2 cannot be attested at 2026-07-01T03:59Z (still 30 June in New York) and can at 04:00Z.
    still_june = datetime(2026, 7, 1, 3, 59, tzinfo=UTC).astimezone(NEW_YORK).date()
    july = datetime(2026, 7, 1, 4, 0, tzinfo=UTC).astimezone(NEW_YORK).date()

    assert not still_june > Quarter(2026, 2).end
    assert july > Quarter(2026, 2).end
    assert Quarter.of(july).previous() == Quarter(2026, 2)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=90),
)
def test_late_is_exactly_after_the_due_day_in_the_zone(moment: datetime, due_days: int) -> None:
    quarter = Quarter.of(moment.astimezone(NEW_YORK).date()).previous()
    due_on = quarter.due_on(due_days)

    assert late(moment, due_on, NEW_YORK, moment) == (moment.astimezone(NEW_YORK).date() > due_on)
    assert late(None, due_on, NEW_YORK, moment) == late(moment, due_on, NEW_YORK, datetime(1999, 1, 1, tzinfo=UTC))
