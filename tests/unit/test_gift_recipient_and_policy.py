"""Gifts end to end in memory: the GiftRecipient and CompliancePolicy aggregates, and the limit firm-wide."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import GiftResult, Ledger
from domain.commands import (
    GiveGift,
    OpenRelationship,
    RegisterAccountManager,
    ScheduleGiftLimit,
    SetLimitYear,
)
from domain.compliance_policy import POLICY_ID, CompliancePolicy
from domain.errors import GiftLimitExceeded, InvalidInput, NotFound, PreconditionFailed, RuleViolation
from domain.gift_recipient import GiftReceived, GiftRecipient
from domain.gift_rule import FINRA_SCHEDULE, LimitChange, LimitYearPolicy
from domain.relationship import GiftGiven
from domain.values import Audit, GiftCategory, LimitYearKind, Role
from tests.conftest import audit_as

EXCLUDED_CATEGORIES = [
    "personal",
    "bereavement",
    "promotional",
    "de_minimis",
    "commemorative",
    "disaster_donation",
    "retail_customer",
]


@pytest.fixture
def app() -> Iterator[Ledger]:
    # The clock stands in mid-2027, so that the gifts these tests date in 2027 are not in the future.
    ledger = Ledger(clock=lambda: datetime(2027, 6, 30, 12, tzinfo=UTC))
    yield ledger
    ledger.close()


@pytest.fixture
def compliance() -> Audit:
    return audit_as(Role.COMPLIANCE)


@pytest.fixture
def employer() -> str:
    """A client firm whose staff receive gifts, named afresh for each test."""
    return f"Acme {uuid4().hex[:8]}"


def open_relationship(app: Ledger, audit: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    account_manager_id = app.register_account_manager(audit, RegisterAccountManager(name="Ann Lee", email=email)).id
    return app.open_relationship(
        audit,
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="corporate",
            industry="financial_services",
            tier="major",
            account_manager_id=account_manager_id,
        ),
    ).id


@pytest.fixture
def relationship_id(app: Ledger, manager: Audit) -> UUID:
    return open_relationship(app, manager)


def give(
    app: Ledger,
    audit: Audit,
    relationship_id: UUID,
    *,
    to: str = "Bob Smith",
    at: str,
    on: date = date(2026, 5, 1),
    cost: str = "100.00",
    category: str = "general",
    **more: Any,
) -> GiftResult:
    return app.give_gift(
        audit,
        relationship_id,
        GiveGift(
            # A dict, not a NamedRecipient: a malformed name is refused by the command, as InvalidInput.
            recipient={"name": to, "employer": at},
            description=f"Gift {uuid4().hex[:6]}",
            given_on=on,
            category=category,
            cost=cost,
            **more,
        ),
    )


def refused(app: Ledger, audit: Audit, relationship_id: UUID, *, at: str, **gift: Any) -> GiftLimitExceeded:
    """Gives a gift that the limit must refuse, and checks that nothing was stored on either side."""
    relationship_version = app.relationship(relationship_id).version
    recipient_id = GiftRecipient.id_for(gift.get("to", "Bob Smith"), at)
    try:
        recipient_version: int | None = app.gift_recipient(recipient_id).version
    except NotFound:
        recipient_version = None
    with pytest.raises(GiftLimitExceeded) as caught:
        give(app, audit, relationship_id, at=at, **gift)
    assert app.relationship(relationship_id).version == relationship_version
    if recipient_version is None:
        with pytest.raises(NotFound):
            app.gift_recipient(recipient_id)
    else:
        assert app.gift_recipient(recipient_id).version == recipient_version
    return caught.value


# -- GiftRecipient -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "employer"),
    [
        ("Bob Smith", "Acme Corp"),
        ("bob smith", "ACME corp"),
        ("  Bob   SMITH ", "Acme\tCorp"),
        ("BOB SMITH", "acme corp"),
    ],
)
def test_every_spelling_of_one_person_at_one_employer_has_one_id(name: str, employer: str) -> None:
    assert GiftRecipient.id_for(name, employer) == GiftRecipient.id_for("Bob Smith", "Acme Corp")


def test_the_same_name_at_another_employer_is_another_person() -> None:
    assert GiftRecipient.id_for("Bob Smith", "Acme Corp") != GiftRecipient.id_for("Bob Smith", "Globex")
    assert GiftRecipient.id_for("Bob Smith", "Acme Corp") != GiftRecipient.id_for("Rob Smith", "Acme Corp")


def test_a_recipient_is_registered_under_the_normalised_id_with_white_space_collapsed(manager: Audit) -> None:
    recipient = GiftRecipient.register(manager, name="  Bob   Smith ", employer="Acme  Corp")

    assert recipient.id == GiftRecipient.id_for("bob smith", "acme corp")
    assert (recipient.name, recipient.employer, recipient.gifts) == ("Bob Smith", "Acme Corp", [])


def test_a_recipient_records_an_accepted_gift_with_the_limit_and_limit_year(manager: Audit) -> None:
    recipient = GiftRecipient.register(manager, name="Bob Smith", employer="Acme Corp")
    policy = CompliancePolicy.establish(manager)
    gift_id, relationship_id = uuid4(), uuid4()

    recipient.receive_gift(
        manager,
        gift_id=gift_id,
        relationship_id=relationship_id,
        given_on=date(2026, 3, 1),
        counted_value=Decimal("60.00"),
        policy=policy,
    )

    received = recipient.collect_events()[-1]
    assert isinstance(received, GiftReceived)
    assert (received.gift_id, received.relationship_id) == (gift_id, relationship_id)
    assert (received.counted_value, received.limit, received.limit_year) == (
        Decimal("60.00"),
        Decimal("100.00"),
        "2026",
    )
    assert received.business_time == date(2026, 3, 1)
    assert [g.gift_id for g in recipient.gifts] == [gift_id]


def test_a_recipient_refuses_a_gift_over_the_limit_and_records_nothing(manager: Audit) -> None:
    recipient = GiftRecipient.register(manager, name="Bob Smith", employer="Acme Corp")
    policy = CompliancePolicy.establish(manager)

    with pytest.raises(GiftLimitExceeded):
        recipient.receive_gift(
            manager,
            gift_id=uuid4(),
            relationship_id=uuid4(),
            given_on=date(2026, 3, 1),
            counted_value=Decimal("100.01"),
            policy=policy,
        )

    assert (recipient.version, recipient.gifts) == (1, [])


# -- CompliancePolicy --------------------------------------------------------


def test_the_policy_starts_with_finras_schedule_and_calendar_years(manager: Audit) -> None:
    policy = CompliancePolicy.establish(manager)

    assert policy.id == POLICY_ID
    assert policy.limit_schedule == list(FINRA_SCHEDULE)
    assert policy.limit_year == LimitYearPolicy(kind=LimitYearKind.CALENDAR)


def test_a_scheduled_limit_joins_the_schedule_in_date_order_and_replaces_one_on_the_same_day(
    compliance: Audit,
) -> None:
    policy = CompliancePolicy.establish(compliance)

    policy.schedule_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 9, 1), amount="75.00"), today=date(2026, 1, 1)
    )
    policy.schedule_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 6, 1), amount="50.00"), today=date(2026, 1, 1)
    )
    policy.schedule_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 9, 1), amount="80.00"), today=date(2026, 1, 1)
    )

    assert policy.limit_schedule == [
        *FINRA_SCHEDULE,
        LimitChange(effective_from=date(2026, 6, 1), amount=Decimal("50.00")),
        LimitChange(effective_from=date(2026, 9, 1), amount=Decimal("80.00")),
    ]


@pytest.mark.parametrize("amount", ["0", "-10.00", 50.0, "50.001"])
def test_a_scheduled_limit_must_be_a_positive_exact_amount(compliance: Audit, amount: Any) -> None:
    policy = CompliancePolicy.establish(compliance)

    with pytest.raises(InvalidInput, match="amount"):
        policy.schedule_limit(
            compliance, ScheduleGiftLimit(effective_from=date(2026, 6, 1), amount=amount), today=date(2026, 1, 1)
        )

    assert policy.version == 1


@pytest.mark.parametrize(
    ("kind", "start_month", "field"),
    [
        ("fiscal", None, "limit_year"),
        ("calendar", 4, "limit_year"),
        ("rolling_12_months", 1, "limit_year"),
        # An unknown kind or month is refused by the command itself, before the policy sees it.
        ("fiscal", 13, "start_month"),
        ("lunar", None, "kind"),
    ],
)
def test_an_inconsistent_limit_year_policy_is_refused(
    compliance: Audit, kind: str, start_month: int | None, field: str
) -> None:
    policy = CompliancePolicy.establish(compliance)

    with pytest.raises(InvalidInput, match=field):
        policy.set_limit_year(compliance, SetLimitYear(kind=kind, start_month=start_month))

    assert (policy.version, policy.limit_year) == (1, LimitYearPolicy())


def test_the_ledger_establishes_the_policy_once_as_the_system(app: Ledger) -> None:
    # Reading the policy writes nothing; establishing it stores it once, however often it is asked.
    assert app.gift_policy().pending_events
    app.establish_gift_policy()
    app.establish_gift_policy()
    again = app.gift_policy()

    assert again.id == POLICY_ID
    assert again.version == 1
    assert not again.pending_events
    established = next(iter(app.history(POLICY_ID)))
    assert (established.actor_id, established.actor_role) == ("system:ledger", Role.ADMIN)


def test_a_policy_change_with_a_stale_expected_version_is_refused(app: Ledger, compliance: Audit) -> None:
    app.schedule_gift_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 6, 1), amount="50.00", reason="Lowered by the board")
    )

    with pytest.raises(PreconditionFailed) as caught:
        app.set_limit_year(compliance, SetLimitYear(kind="fiscal", start_month=4), expected_version=1)

    assert caught.value.details() == {"expected_version": 1, "current_version": 2}
    assert app.gift_policy().limit_year == LimitYearPolicy()


# -- the limit through the ledger --------------------------------------------


def test_three_100_dollar_gifts_are_accepted_and_a_fourth_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    for _ in range(3):
        give(app, manager, relationship_id, at=employer, cost="100.00")

    error = refused(app, manager, relationship_id, at=employer, cost="100.00")

    assert error.details() == {
        "limit": "300.00",
        "counted_this_year": "300.00",
        "headroom": "0.00",
        "limit_year": "2026",
    }
    recipient = app.gift_recipient(GiftRecipient.id_for("Bob Smith", employer))
    assert [g.counted_value for g in recipient.gifts] == [Decimal("100.00")] * 3


def test_a_gift_is_stored_on_the_relationship_and_the_recipient_together(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    result = give(app, manager, relationship_id, at=employer, cost="80.00", market_value="95.00")

    given = list(app.history(relationship_id))[-1]
    received = list(app.history(result.recipient_id))[-1]
    assert isinstance(given, GiftGiven)
    assert isinstance(received, GiftReceived)
    assert result.recipient_id == GiftRecipient.id_for("Bob Smith", employer) == given.recipient.recipient_id
    assert result.gift_id == given.gift_id == received.gift_id
    assert result.counted_value == given.counted_value == received.counted_value == Decimal("95.00")
    assert received.relationship_id == relationship_id
    assert (given.cost, given.market_value, given.category) == (Decimal("80.00"), Decimal("95.00"), "general")
    assert app.relationship(relationship_id).gifts_given == 1


def test_gifts_before_2026_03_30_are_limited_to_100_dollars(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    give(app, manager, relationship_id, at=employer, on=date(2026, 3, 29), cost="100.00")

    error = refused(app, manager, relationship_id, at=employer, on=date(2026, 3, 29), cost="0.01")
    # From 2026-03-30 the same calendar year has room up to $300.
    give(app, manager, relationship_id, at=employer, on=date(2026, 3, 30), cost="200.00")

    assert error.details()["limit"] == "100.00"
    assert error.details()["headroom"] == "0.00"


def test_a_firms_lower_limit_applies_from_its_date(
    app: Ledger, manager: Audit, compliance: Audit, relationship_id: UUID, employer: str
) -> None:
    app.schedule_gift_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 7, 1), amount="50.00", reason="Lowered by the board")
    )

    # The day before, FINRA's $300 is still in force.
    give(app, manager, relationship_id, to="Carol Jones", at=employer, on=date(2026, 6, 30), cost="300.00")
    # From that day on, $50.
    give(app, manager, relationship_id, to="Dan Brown", at=employer, on=date(2026, 7, 1), cost="50.00")
    error = refused(app, manager, relationship_id, to="Dan Brown", at=employer, on=date(2026, 7, 2), cost="0.01")

    assert error.details() == {
        "limit": "50.00",
        "counted_this_year": "50.00",
        "headroom": "0.00",
        "limit_year": "2026",
    }


def test_a_fiscal_limit_year_starts_counting_afresh_on_its_start_month(
    app: Ledger, manager: Audit, compliance: Audit, relationship_id: UUID, employer: str
) -> None:
    app.set_limit_year(compliance, SetLimitYear(kind="fiscal", start_month=4))

    give(app, manager, relationship_id, at=employer, on=date(2026, 3, 31), cost="300.00")
    give(app, manager, relationship_id, at=employer, on=date(2026, 4, 1), cost="300.00")
    error = refused(app, manager, relationship_id, at=employer, on=date(2027, 3, 31), cost="0.01")

    assert error.details()["limit_year"] == "2026-04-01/2027-03-31"


def test_a_rolling_limit_year_counts_the_365_days_up_to_the_gift(
    app: Ledger, manager: Audit, compliance: Audit, relationship_id: UUID, employer: str
) -> None:
    app.set_limit_year(compliance, SetLimitYear(kind=LimitYearKind.ROLLING_12_MONTHS))

    give(app, manager, relationship_id, at=employer, on=date(2026, 4, 1), cost="300.00")
    # 2027-01-01 would start a new calendar year, but not a new rolling one.
    error = refused(app, manager, relationship_id, at=employer, on=date(2027, 1, 1), cost="0.01")
    give(app, manager, relationship_id, at=employer, on=date(2027, 4, 1), cost="300.00")

    assert error.details()["limit_year"] == "2026-01-02/2027-01-01"
    assert error.details()["counted_this_year"] == "300.00"


def test_one_person_spelt_differently_is_held_to_one_limit(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    first = give(app, manager, relationship_id, to="Bob  Smith", at=employer, cost="150.00")
    second = give(app, manager, relationship_id, to="bob smith", at=employer.upper(), cost="150.00")

    error = refused(app, manager, relationship_id, to="BOB SMITH", at=f" {employer.lower()} ", cost="0.01")

    assert first.recipient_id == second.recipient_id
    assert error.details()["counted_this_year"] == "300.00"
    assert app.gift_recipient(first.recipient_id).name == "Bob Smith"


def test_the_limit_holds_across_account_managers_and_relationships(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    other_relationship_id = open_relationship(app, manager)
    assert (
        app.relationship(other_relationship_id).account_manager_id
        != app.relationship(relationship_id).account_manager_id
    )

    give(app, manager, relationship_id, at=employer, cost="200.00")
    error = refused(app, manager, other_relationship_id, to="bob SMITH", at=employer, cost="100.01")

    assert error.details()["counted_this_year"] == "200.00"
    assert error.details()["headroom"] == "100.00"
    give(app, manager, other_relationship_id, at=employer, cost="100.00")
    gifts = app.gift_recipient(GiftRecipient.id_for("Bob Smith", employer)).gifts
    assert [g.relationship_id for g in gifts] == [relationship_id, other_relationship_id]


@pytest.mark.parametrize("category", EXCLUDED_CATEGORIES)
def test_an_excluded_gift_is_recorded_but_counts_zero_and_never_uses_up_the_limit(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str, category: str
) -> None:
    for _ in range(3):
        result = give(app, manager, relationship_id, at=employer, cost="5000.00", category=category)
        assert result.counted_value == Decimal("0.00")

    give(app, manager, relationship_id, at=employer, cost="300.00")

    given = [event for event in app.history(relationship_id) if isinstance(event, GiftGiven)]
    assert [(event.category, event.cost, event.counted_value) for event in given] == [
        *[(GiftCategory(category), Decimal("5000.00"), Decimal("0.00"))] * 3,
        (GiftCategory.GENERAL, Decimal("300.00"), Decimal("300.00")),
    ]
    assert len(app.gift_recipient(GiftRecipient.id_for("Bob Smith", employer)).gifts) == 4


def test_an_excluded_gift_is_accepted_even_once_the_limit_is_reached(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    give(app, manager, relationship_id, at=employer, cost="300.00")

    result = give(app, manager, relationship_id, at=employer, cost="40.00", category="bereavement")

    assert result.counted_value == Decimal("0.00")


def test_a_ticket_without_the_representative_counts_its_face_value(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    result = give(app, manager, relationship_id, at=employer, category="ticket", cost="50.00", face_value="120.00")

    assert result.counted_value == Decimal("120.00")


def test_a_ticket_with_the_representative_attending_is_refused_as_entertainment(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    with pytest.raises(RuleViolation, match="entertainment"):
        give(
            app,
            manager,
            relationship_id,
            at=employer,
            category="ticket",
            cost="50.00",
            face_value="120.00",
            representative_attended=True,
        )

    assert app.relationship(relationship_id).version == 1
    with pytest.raises(NotFound):
        app.gift_recipient(GiftRecipient.id_for("Bob Smith", employer))


def test_a_shared_gift_counts_a_share_rounded_to_cents_for_each_recipient(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    others = [{"name": "Carol Diaz", "employer": employer}, {"name": "Dev Patel", "employer": employer}]
    result = give(app, manager, relationship_id, at=employer, cost="100.00", shared_with=others)

    assert result.counted_value == Decimal("33.33")
    given = list(app.history(relationship_id))[-1]
    assert isinstance(given, GiftGiven)
    assert (given.cost, given.recipients_count, given.counted_value) == (Decimal("100.00"), 3, Decimal("33.33"))
    assert [share.recipient.name for share in given.shared_with] == ["Carol Diaz", "Dev Patel"]
    for recipient_id in (result.recipient_id, *result.shared_recipient_ids):
        assert [g.counted_value for g in app.gift_recipient(recipient_id).gifts] == [Decimal("33.33")]


def test_a_refused_first_gift_to_someone_leaves_no_recipient_behind(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str
) -> None:
    error = refused(app, manager, relationship_id, at=employer, cost="300.01")

    assert error.details()["counted_this_year"] == "0.00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cost": "0"}, "cost"),
        ({"cost": 99.99}, "cost"),
        ({"cost": "10.001"}, "cost"),
        ({"market_value": "-1.00"}, "market_value"),
        ({"category": "bribe"}, "category"),
        ({"to": ""}, "name"),
        ({"at": " "}, "employer"),
    ],
)
def test_a_malformed_gift_is_refused_and_nothing_is_stored(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str, change: dict[str, Any], field: str
) -> None:
    app.gift_policy()
    before = app.recorder.max_notification_id()

    with pytest.raises(InvalidInput, match=field):
        give(app, manager, relationship_id, **{"at": employer, **change})

    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("gift", [{"cost": "300.01"}, {"to": ""}], ids=["over-the-limit", "nameless-recipient"])
def test_a_refused_first_gift_stores_nothing_anywhere_in_the_ledger(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str, gift: dict[str, Any]
) -> None:
    before = app.recorder.max_notification_id()

    with pytest.raises((GiftLimitExceeded, InvalidInput)):
        give(app, manager, relationship_id, at=employer, **gift)

    assert app.recorder.max_notification_id() == before


def test_a_gift_shared_by_no_one_is_refused(app: Ledger, manager: Audit, relationship_id: UUID, employer: str) -> None:
    with pytest.raises((InvalidInput, RuleViolation), match="recipients_count"):
        give(app, manager, relationship_id, at=employer, recipients_count=0)

    assert app.relationship(relationship_id).version == 1


def test_a_gift_that_loses_a_race_is_checked_again_against_the_winner(
    app: Ledger, manager: Audit, relationship_id: UUID, employer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival_relationship_id = open_relationship(app, manager)
    receive_gift = GiftRecipient.receive_gift
    checked_for: list[UUID] = []

    def receive_gift_after_a_rival(self: GiftRecipient, audit: Audit, **gift: Any) -> None:
        checked_for.append(gift["relationship_id"])
        # A rival gift to the same person is stored between this gift's read and its write.
        if len(checked_for) == 1:
            give(app, manager, rival_relationship_id, at=employer, cost="200.00")
        receive_gift(self, audit, **gift)

    monkeypatch.setattr(GiftRecipient, "receive_gift", receive_gift_after_a_rival)

    with pytest.raises(GiftLimitExceeded) as caught:
        give(app, manager, relationship_id, at=employer, cost="200.00")

    # The loser's write conflicted, so it was read and checked again, and refused.
    assert checked_for == [relationship_id, rival_relationship_id, relationship_id]
    assert caught.value.details()["counted_this_year"] == "200.00"
    assert app.relationship(relationship_id).version == 1
    gifts = app.gift_recipient(GiftRecipient.id_for("Bob Smith", employer)).gifts
    assert [(g.relationship_id, g.counted_value) for g in gifts] == [(rival_relationship_id, Decimal("200.00"))]
