"""The firm's dated programme rules on the CompliancePolicy: defaults, scheduling, merging, retroactive reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Ledger
from domain.commands import ScheduleGiftLimit, ScheduleProgrammeRules
from domain.compliance_policy import (
    DEFAULT_PROGRAMME,
    POLICY_ID,
    CompliancePolicy,
    ProgrammeRules,
    ProgrammeRulesScheduled,
)
from domain.errors import Forbidden, InvalidInput, PreconditionFailed
from domain.model import LedgerSnapshot, StaleSnapshotError
from domain.values import EARLIEST, LATEST, Audit, Role
from tests.conftest import audit_as

TODAY = date(2027, 6, 30)
BEGINS = date(1970, 1, 1)


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger(clock=lambda: datetime(2027, 6, 30, 16, tzinfo=UTC))
    yield ledger
    ledger.close()


@pytest.fixture
def compliance() -> Audit:
    return audit_as(Role.COMPLIANCE)


def schedule(app: Ledger, audit: Audit, **fields: Any) -> int:
    return app.schedule_programme_rules(audit, ScheduleProgrammeRules(**fields)).version


def test_a_policy_starts_with_the_default_programme_that_turns_nothing_on() -> None:
    policy = CompliancePolicy.establish(audit_as(Role.COMPLIANCE))
    rules = policy.programme_on(date(2026, 1, 1))

    assert policy.programme == list(DEFAULT_PROGRAMME)
    assert rules == ProgrammeRules()
    assert (rules.preclearance_required, rules.attestations_required) == (False, False)
    assert (rules.auto_approve_up_to, rules.approval_valid_days) == (Decimal("50.00"), 30)
    assert (rules.entertainment_cap_per_event, rules.entertainment_cap_per_year) == (
        Decimal("250.00"),
        Decimal("1000.00"),
    )
    assert (rules.received_review_threshold, rules.attestation_due_days) == (Decimal("100.00"), 30)
    assert policy.programme_on(date(1900, 1, 1)) == ProgrammeRules(), "before the first change: the defaults"


def test_a_change_sets_the_rules_it_names_from_its_day_and_keeps_the_others(app: Ledger, compliance: Audit) -> None:
    schedule(app, compliance, effective_from="2027-07-01", preclearance_required=True, auto_approve_up_to="25.00")
    policy = app.gift_policy()

    assert policy.programme_on(date(2027, 6, 30)) == ProgrammeRules()
    assert policy.programme_on(date(2027, 7, 1)) == ProgrammeRules(
        preclearance_required=True, auto_approve_up_to=Decimal("25.00")
    )
    assert policy.programme_on(LATEST) == policy.programme_on(date(2027, 7, 1))


def test_a_later_change_starts_from_the_rules_in_force_on_its_own_day(app: Ledger, compliance: Audit) -> None:
    schedule(app, compliance, effective_from="2027-07-01", preclearance_required=True)
    schedule(app, compliance, effective_from="2027-09-01", attestations_required=True, attestation_due_days=15)
    # A change between the two starts from the first one's rules; the second keeps what it was given.
    schedule(app, compliance, effective_from="2027-08-01", approval_valid_days=10)
    policy = app.gift_policy()

    august, september = policy.programme_on(date(2027, 8, 1)), policy.programme_on(date(2027, 9, 1))
    assert (august.preclearance_required, august.approval_valid_days, august.attestations_required) == (True, 10, False)
    assert (september.preclearance_required, september.approval_valid_days) == (True, 30)
    assert (september.attestations_required, september.attestation_due_days) == (True, 15)
    assert [c.effective_from for c in policy.programme] == [
        date(1970, 1, 1),
        date(2027, 7, 1),
        date(2027, 8, 1),
        date(2027, 9, 1),
    ]


def test_a_change_on_the_same_day_replaces_the_one_before(app: Ledger, compliance: Audit) -> None:
    schedule(app, compliance, effective_from="2027-07-01", preclearance_required=True, auto_approve_up_to="25.00")
    schedule(app, compliance, effective_from="2027-07-01", auto_approve_up_to="75.00")
    policy = app.gift_policy()

    assert [c.effective_from for c in policy.programme] == [date(1970, 1, 1), date(2027, 7, 1)]
    # The rules left out are those in force on that day: the first change's, which the second replaces.
    assert policy.programme_on(date(2027, 7, 1)) == ProgrammeRules(
        preclearance_required=True, auto_approve_up_to=Decimal("75.00")
    )


def test_an_entertainment_cap_sent_as_null_is_no_cap_and_one_left_out_is_kept(app: Ledger, compliance: Audit) -> None:
    schedule(app, compliance, effective_from="2027-07-01", entertainment_cap_per_event=None)
    rules = app.gift_policy().programme_on(date(2027, 7, 1))

    assert (rules.entertainment_cap_per_event, rules.entertainment_cap_per_year) == (None, Decimal("1000.00"))


@pytest.mark.parametrize(
    "field", ["preclearance_required", "auto_approve_up_to", "approval_valid_days", "attestation_due_days"]
)
def test_a_rule_that_always_has_a_value_cannot_be_sent_as_null(field: str) -> None:
    with pytest.raises(InvalidInput, match=f"{field}: must not be null"):
        ScheduleProgrammeRules(effective_from="2027-07-01", **{field: None})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auto_approve_up_to", "-0.01"),
        ("approval_valid_days", 0),
        ("approval_valid_days", 366),
        ("attestation_due_days", -1),
        ("attestation_due_days", 91),
        ("entertainment_cap_per_event", "0.00"),
        ("entertainment_cap_per_year", "10000000000.00"),
        ("received_review_threshold", "1.001"),
        ("auto_approve_up_to", 1.5),
    ],
)
def test_a_rule_out_of_its_bounds_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        ScheduleProgrammeRules(effective_from="2027-07-01", **{field: value})
    assert [error["field"] for error in caught.value.errors] == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approval_valid_days", 1),
        ("approval_valid_days", 365),
        ("attestation_due_days", 0),
        ("attestation_due_days", 90),
    ],
)
def test_the_bounds_themselves_are_accepted(app: Ledger, compliance: Audit, field: str, value: int) -> None:
    schedule(app, compliance, effective_from="2027-07-01", **{field: value})

    assert getattr(app.gift_policy().programme_on(date(2027, 7, 1)), field) == value


def test_a_change_effective_in_the_past_needs_a_reason_and_is_marked_retroactive(
    app: Ledger, compliance: Audit
) -> None:
    before = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as caught:
        schedule(app, compliance, effective_from="2027-06-29", preclearance_required=True)
    assert caught.value.errors == [
        {
            "field": "reason",
            "message": "a change effective in the past (2027-06-29, before today 2027-06-30) needs a reason",
        }
    ]
    assert app.recorder.max_notification_id() == before, "nothing stored"

    schedule(app, compliance, effective_from="2027-06-29", preclearance_required=True, reason="Board decision of May")
    schedule(app, compliance, effective_from="2027-06-30", attestations_required=True)  # today is not the past

    events = [e for e in app.history(POLICY_ID) if isinstance(e, ProgrammeRulesScheduled)]
    assert [(e.effective_from, e.retroactive, e.reason) for e in events] == [
        (date(2027, 6, 29), True, "Board decision of May"),
        (date(2027, 6, 30), False, None),
    ]
    assert events[0].TOPIC == "ledger:CompliancePolicy.ProgrammeRulesScheduled"


def test_today_is_the_firms_day_not_utcs() -> None:
    # 02:00 UTC on 1 July is still 30 June in New York: 30 June is today, not the past.
    ledger = Ledger(clock=lambda: datetime(2027, 7, 1, 2, tzinfo=UTC))
    try:
        ledger.schedule_programme_rules(
            audit_as(Role.COMPLIANCE), ScheduleProgrammeRules(effective_from="2027-06-30", preclearance_required=True)
        )
        with pytest.raises(InvalidInput, match="reason"):
            ledger.schedule_programme_rules(
                audit_as(Role.COMPLIANCE), ScheduleProgrammeRules(effective_from="2027-06-29")
            )
    finally:
        ledger.close()


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.MANAGER, Role.AUDITOR])
def test_only_compliance_and_admins_schedule_programme_rules(app: Ledger, role: Role) -> None:
    with pytest.raises(Forbidden, match=role.value):
        app.schedule_programme_rules(audit_as(role), ScheduleProgrammeRules(effective_from="2027-07-01"))
    schedule(app, audit_as(Role.ADMIN), effective_from="2027-07-01", preclearance_required=True)


def test_a_stale_expected_version_is_refused(app: Ledger, compliance: Audit) -> None:
    version = schedule(app, compliance, effective_from="2027-07-01", preclearance_required=True)
    app.schedule_gift_limit(compliance, ScheduleGiftLimit(effective_from="2027-08-01", amount="200.00"))

    with pytest.raises(PreconditionFailed):
        app.schedule_programme_rules(
            compliance, ScheduleProgrammeRules(effective_from="2027-09-01"), expected_version=version
        )


def test_a_change_before_the_programme_begins_is_refused(app: Ledger, compliance: Audit) -> None:
    with pytest.raises(InvalidInput) as caught:
        schedule(app, compliance, effective_from="1969-12-31", reason="Long ago")
    assert caught.value.errors == [
        {"field": "effective_from", "message": "must be on or after 1970-01-01, when the programme's rules begin"}
    ]
    schedule(app, compliance, effective_from="1970-01-01", reason="From the start", preclearance_required=True)
    assert app.gift_policy().programme_on(date(1970, 1, 1)).preclearance_required


@given(
    st.lists(
        st.tuples(st.dates(min_value=BEGINS, max_value=LATEST), st.integers(min_value=1, max_value=365)),
        max_size=8,
    ),
    st.dates(min_value=EARLIEST, max_value=LATEST),
)
def test_the_rules_on_a_day_are_those_of_the_latest_change_on_or_before_it(
    changes: list[tuple[date, int]], day: date
) -> None:
    policy = CompliancePolicy.establish(audit_as(Role.COMPLIANCE))
    reason = "Backdated on purpose"
    for effective_from, days in changes:
        policy.schedule_programme(
            audit_as(Role.COMPLIANCE),
            ScheduleProgrammeRules(effective_from=effective_from, approval_valid_days=days, reason=reason),
            today=TODAY,
        )
    latest = dict(changes)  # the last change on a day wins
    in_force = [d for d in latest if d <= day]

    expected = latest[max(in_force)] if in_force else 30
    assert policy.programme_on(day).approval_valid_days == expected
    assert [c.effective_from for c in policy.programme] == sorted({BEGINS, *latest})


# -- stored policies from before the programme --


def test_a_snapshot_from_before_the_programme_is_passed_over_and_the_events_replayed(
    app: Ledger, compliance: Audit
) -> None:
    app.schedule_gift_limit(compliance, ScheduleGiftLimit(effective_from="2027-08-01", amount="200.00"))
    policy = app.gift_policy()
    current = app.mapper.to_stored_event(LedgerSnapshot.take(policy))
    state = json.loads(current.state)
    del state["state"]["programme"]
    state["state_version"] = 2
    old = StoredEvent(
        originator_id=current.originator_id,
        originator_version=current.originator_version,
        topic=current.topic,
        state=json.dumps(state).encode(),
    )
    snapshot = app.mapper.to_domain_event(old)
    assert isinstance(snapshot, LedgerSnapshot)
    with pytest.raises(StaleSnapshotError):
        snapshot.mutate(None)

    assert app.snapshots is not None
    app.snapshots.recorder.insert_events([old])
    app.forget_cached_aggregates()
    loaded = app.gift_policy()

    assert loaded.version == policy.version
    assert loaded.programme == list(DEFAULT_PROGRAMME)
    assert loaded.limit_schedule == policy.limit_schedule
