"""Gifts received (valuation, who may record them, review above the threshold) and quarterly attestations (who may
attest, only once a quarter is over in the firm's time zone, only once)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Ledger
from domain.attestation import Attestation, attestation_id
from domain.commands import (
    DeactivateAccountManager,
    OpenRelationship,
    RecordReceivedGift,
    RegisterAccountManager,
    ScheduleProgrammeRules,
    SubmitAttestation,
)
from domain.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from domain.received_gift import received_value
from domain.values import Audit, GiftCategory, ReceivedKind, Role
from tests.conftest import audit_as

MONEY = st.decimals(min_value="0.01", max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False)


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Firm:
    ledger: Ledger
    clock: Clock
    manager: Audit
    account_manager: Audit
    account_manager_id: UUID
    other_id: UUID
    relationship_id: UUID

    def receive(self, cost: str = "80.00", *, who: Audit | None = None, **extra: Any) -> Any:
        command = RecordReceivedGift(
            relationship_id=self.relationship_id,
            kind=extra.pop("kind", "gift"),
            giver={"name": "Bob Smith", "employer": "Acme"},
            description="Wine",
            received_on=extra.pop("received_on", date(2026, 6, 10)),
            cost=cost,
            **extra,
        )
        return self.ledger.record_received_gift(who or self.account_manager, command)

    def attest(self, quarter: str = "2026-Q1", *, who: Audit | None = None, manager_id: UUID | None = None) -> Any:
        command = SubmitAttestation(
            quarter=quarter,
            gifts_given=3,
            entertainment_given=1,
            gifts_received=0,
            entertainment_received=2,
            statement="Everything given and received is recorded.",
        )
        return self.ledger.submit_attestation(
            who or self.account_manager, manager_id or self.account_manager_id, command
        )


@pytest.fixture
def firm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Firm]:
    clock = Clock(datetime(2026, 6, 10, 16, tzinfo=UTC))
    monkeypatch.setattr("domain.model.utc_now", clock)  # events are recorded at the firm's clock, too
    ledger = Ledger(clock=clock)
    manager = audit_as(Role.MANAGER)
    am_id = ledger.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="a@b.example")).id
    other_id = ledger.register_account_manager(manager, RegisterAccountManager(name="Ben Ode", email="b@b.example")).id
    relationship_id = ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name="Client", client_kind="corporate", industry="technology", tier="major", account_manager_id=am_id
        ),
    ).id
    yield Firm(
        ledger,
        clock,
        manager,
        audit_as(Role.ACCOUNT_MANAGER, account_manager_id=am_id),
        am_id,
        other_id,
        relationship_id,
    )
    ledger.close()


# -- valuation --


@pytest.mark.parametrize(
    ("kind", "category", "cost", "market", "face", "shared_by", "expected"),
    [
        ("gift", "general", "80.00", None, None, 1, "80.00"),
        ("gift", "general", "80.00", "120.00", None, 1, "120.00"),
        ("gift", "general", "80.00", "60.00", None, 1, "80.00"),
        ("gift", "ticket", "80.00", "500.00", "150.00", 1, "150.00"),
        ("gift", "promotional", "80.00", None, None, 1, "80.00"),  # no category is zeroed
        ("gift", "personal", "100.00", None, None, 3, "33.33"),
        ("gift", "general", "0.05", None, None, 2, "0.03"),  # half-up
        ("entertainment", "general", "300.00", "900.00", None, 4, "75.00"),  # cost per person only
    ],
)
def test_a_gift_received_is_valued_like_a_gift_given_without_zeroing_any_category(
    kind: str, category: str, cost: str, market: str | None, face: str | None, shared_by: int, expected: str
) -> None:
    value = received_value(
        kind=ReceivedKind(kind),
        category=GiftCategory(category),
        cost=Decimal(cost),
        market_value=None if market is None else Decimal(market),
        face_value=None if face is None else Decimal(face),
        shared_by=shared_by,
    )
    assert value == Decimal(expected)


@given(cost=MONEY, market=MONEY, shared_by=st.integers(1, 100))
def test_a_gift_received_is_worth_the_higher_value_shared(cost: Decimal, market: Decimal, shared_by: int) -> None:
    value = received_value(
        kind=ReceivedKind.GIFT, category=GiftCategory.GENERAL, cost=cost, market_value=market, shared_by=shared_by
    )
    assert abs(value * shared_by - max(cost, market)) <= Decimal("0.005") * shared_by


def test_the_result_says_whether_compliance_reviews_it_at_the_threshold_and_a_cent_over(firm: Firm) -> None:
    at = firm.receive("100.00")
    over = firm.receive("100.01")
    assert (at.value, at.review) == (Decimal("100.00"), False)
    assert (over.value, over.review) == (Decimal("100.01"), True)


def test_the_threshold_in_force_on_the_day_received_decides(firm: Firm) -> None:
    firm.ledger.schedule_programme_rules(
        audit_as(Role.COMPLIANCE),
        ScheduleProgrammeRules(effective_from=date(2026, 6, 1), reason="Stricter", received_review_threshold="20.00"),
    )
    assert firm.receive("25.00", received_on=date(2026, 5, 31)).review is False
    assert firm.receive("25.00", received_on=date(2026, 6, 1)).review is True


# -- who records --


def test_an_account_manager_records_only_what_they_received_on_their_relationships(firm: Firm) -> None:
    result = firm.receive()
    assert getattr(next(iter(firm.ledger.history(result.id))), "account_manager_id", None) == firm.account_manager_id
    with pytest.raises(Forbidden):
        firm.receive(account_manager_id=firm.other_id)
    other = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=firm.other_id)
    with pytest.raises(Forbidden):
        firm.receive(who=other)


def test_a_manager_names_the_receiver_by_default_the_relationships_account_manager(firm: Firm) -> None:
    default = firm.receive(who=firm.manager)
    named = firm.receive(who=firm.manager, account_manager_id=firm.other_id)
    events = [next(iter(firm.ledger.history(result.id))) for result in (default, named)]
    assert [getattr(event, "account_manager_id", None) for event in events] == [firm.account_manager_id, firm.other_id]
    with pytest.raises(NotFound):
        firm.receive(who=firm.manager, account_manager_id=uuid4())
    firm.ledger.deactivate_account_manager(firm.manager, firm.other_id, DeactivateAccountManager(reason="Left"))
    with pytest.raises(RuleViolation):
        firm.receive(who=firm.manager, account_manager_id=firm.other_id)


def test_read_only_roles_record_nothing_and_the_day_may_not_be_after_tomorrow(firm: Firm) -> None:
    for role in (Role.AUDITOR, Role.COMPLIANCE):
        with pytest.raises(Forbidden):
            firm.receive(who=audit_as(role))
    with pytest.raises(InvalidInput):
        firm.receive(received_on=date(2026, 6, 12))
    with pytest.raises(NotFound):
        firm.ledger.record_received_gift(
            firm.manager,
            RecordReceivedGift(
                relationship_id=uuid4(),
                kind="gift",
                giver={"name": "Bob", "employer": "Acme"},
                description="Wine",
                received_on=date(2026, 6, 10),
                cost="1.00",
            ),
        )


# -- attestations --


def test_an_account_manager_attests_an_ended_quarter_once(firm: Firm) -> None:
    result = firm.attest()
    assert (result.id, result.quarter, result.due_on, result.late) == (
        attestation_id(firm.account_manager_id, "2026-Q1"),
        "2026-Q1",
        date(2026, 4, 30),
        False,  # not required (the default): never late
    )
    with pytest.raises(RuleViolation, match="already attested to 2026-Q1"):
        firm.attest()
    with pytest.raises(RuleViolation, match="already attested"):
        firm.attest(who=audit_as(Role.ADMIN))
    assert firm.ledger._load(Attestation, result.id).version == 1


def test_a_quarter_is_attested_only_once_it_has_ended_in_the_firms_time_zone(firm: Firm) -> None:
    firm.clock.now = datetime(2026, 7, 1, 3, 59, tzinfo=UTC)  # still 30 June in New York
    with pytest.raises(RuleViolation, match="has not ended"):
        firm.attest("2026-Q2")
    firm.clock.now = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert firm.attest("2026-Q2").late is False


def test_the_due_day_and_requirement_come_from_the_rules_on_the_quarters_last_day(firm: Firm) -> None:
    firm.ledger.schedule_programme_rules(
        audit_as(Role.COMPLIANCE),
        ScheduleProgrammeRules(
            effective_from=date(2026, 3, 31), reason="Programme", attestations_required=True, attestation_due_days=90
        ),
    )
    result = firm.attest()
    assert (result.due_on, result.late) == (date(2026, 6, 29), False)
    event = next(iter(firm.ledger.history(result.id)))
    assert getattr(event, "required", None) is True
    firm.ledger.schedule_programme_rules(
        audit_as(Role.COMPLIANCE),
        ScheduleProgrammeRules(effective_from=date(2026, 3, 31), reason="Shorter", attestation_due_days=30),
    )
    admin = audit_as(Role.ADMIN)
    late_one = firm.attest(who=admin, manager_id=firm.other_id)
    assert (late_one.due_on, late_one.late) == (date(2026, 4, 30), True)


def test_only_the_account_manager_themself_or_an_admin_attests(firm: Firm) -> None:
    for who in (
        audit_as(Role.ACCOUNT_MANAGER, account_manager_id=firm.other_id),
        firm.manager,
        audit_as(Role.COMPLIANCE),
        audit_as(Role.AUDITOR),
    ):
        with pytest.raises(Forbidden):
            firm.attest(who=who)
    assert firm.attest(who=audit_as(Role.ADMIN)).quarter == "2026-Q1"
    with pytest.raises(NotFound):
        firm.attest(who=audit_as(Role.ADMIN), manager_id=uuid4())


def test_a_deactivated_account_manager_attests_nothing(firm: Firm) -> None:
    firm.ledger.deactivate_account_manager(firm.manager, firm.other_id, DeactivateAccountManager(reason="Left"))
    with pytest.raises(RuleViolation, match="deactivated"):
        firm.attest(who=audit_as(Role.ADMIN), manager_id=firm.other_id)
    with pytest.raises(Forbidden):
        firm.attest(who=audit_as(Role.ACCOUNT_MANAGER, account_manager_id=firm.other_id), manager_id=firm.other_id)


def test_a_malformed_or_out_of_range_quarter_is_invalid_input() -> None:
    for label in ("2026-Q5", "26-Q1", "1899-Q4", "2200-Q1"):
        with pytest.raises((InvalidInput, ValueError)):
            SubmitAttestation(
                quarter=label,
                gifts_given=0,
                entertainment_given=0,
                gifts_received=0,
                entertainment_received=0,
                statement="x",
            )
