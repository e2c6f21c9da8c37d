"""Pre-clearance of gifts: the bands at their edges, approvals, denials, withdrawals, use by a gift and expiry by
the firm's date."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Ledger
from domain.commands import (
    ApprovePreclearance,
    DenyPreclearance,
    GiveGift,
    OpenRelationship,
    RegisterAccountManager,
    RequestPreclearance,
    ScheduleProgrammeRules,
    WithdrawPreclearance,
)
from domain.errors import Forbidden, GiftLimitExceeded, InvalidInput, PreclearanceRequired, RuleViolation
from domain.gift_recipient import GiftRecipient
from domain.preclearance import GiftPreclearanceExpired, band_of
from domain.values import Audit, PreclearanceBand, PreclearanceStatus, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from tests.conftest import audit_as

TODAY = date(2026, 6, 10)  # the limit is $300 from 2026-03-30
MONEY = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


class Clock:
    """A settable clock: noon UTC on `day`."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 12, tzinfo=UTC)


@dataclass
class Firm:
    ledger: Ledger
    clock: Clock
    manager: Audit
    account_manager: Audit
    compliance: Audit
    relationship_id: UUID

    def request(self, cost: str, *, name: str = "Bob Smith", sharers: int = 0, **extra: Any) -> Any:
        command = RequestPreclearance(
            relationship_id=self.relationship_id,
            recipient={"name": name, "employer": "Acme"},
            shared_with=[{"name": f"Sharer {chr(65 + n)}", "employer": "Acme"} for n in range(sharers)],
            description="Dinner",
            purpose="Thank the client",
            planned_on=extra.pop("planned_on", self.clock.day),
            category=extra.pop("category", "general"),
            cost=cost,
            **extra,
        )
        return self.ledger.request_preclearance(self.account_manager, command)

    def give(self, cost: str, *, name: str = "Bob Smith", sharers: int = 0, **extra: Any) -> Any:
        gift = GiveGift(
            recipient={"name": name, "employer": "Acme"},
            shared_with=[{"name": f"Sharer {chr(65 + n)}", "employer": "Acme"} for n in range(sharers)],
            description="Dinner",
            given_on=extra.pop("given_on", self.clock.day),
            category="general",
            cost=cost,
            **extra,
        )
        return self.ledger.give_gift(self.account_manager, self.relationship_id, gift)

    def approve(self, request_id: UUID, who: Audit | None = None) -> Any:
        return self.ledger.approve_preclearance(who or self.compliance, request_id, ApprovePreclearance())

    def counted(self, name: str = "Bob Smith") -> list[Decimal]:
        person = self.ledger.current_recipient(GiftRecipient.id_for(name, "Acme"))
        return [g.counted_value for g in person.counted_gifts(self.clock.day)]


@pytest.fixture
def firm(database_url: str) -> Iterator[Firm]:
    clock = Clock(TODAY)
    ledger = build_ledger(Settings(database_url=database_url), clock=clock)
    manager = audit_as(Role.MANAGER)
    am_id = ledger.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="a@b.example")).id
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
        audit_as(Role.COMPLIANCE),
        relationship_id,
    )
    ledger.close()


# -- bands --


@given(counted=MONEY, headroom=MONEY, auto=MONEY)
def test_the_band_is_auto_exactly_within_both_the_auto_band_and_the_headroom(
    counted: Decimal, headroom: Decimal, auto: Decimal
) -> None:
    expected = PreclearanceBand.AUTO if counted <= auto and counted <= headroom else PreclearanceBand.REVIEW
    assert band_of(counted, headroom, auto) is expected


def test_a_request_at_the_auto_band_is_approved_and_reserved_and_a_cent_more_waits_for_compliance(firm: Firm) -> None:
    at = firm.request("50.00")
    assert (at.status, at.band, at.expires_on) == (
        PreclearanceStatus.APPROVED,
        PreclearanceBand.AUTO,
        TODAY + timedelta(30),
    )
    over = firm.request("50.01", name="Carol Jones")
    assert (over.status, over.band, over.expires_on) == (PreclearanceStatus.PENDING, PreclearanceBand.REVIEW, None)
    assert firm.counted() == [Decimal("50.00")]
    assert firm.counted("Carol Jones") == [], "a pending request reserves nothing"


def test_a_request_for_exactly_the_headroom_is_accepted_and_a_cent_more_refused_with_the_figures(firm: Firm) -> None:
    firm.give("250.00")
    assert firm.request("50.00").status is PreclearanceStatus.APPROVED
    firm.give("100.00", name="Carol Jones")
    before = firm.ledger.recorder.max_notification_id()
    with pytest.raises(GiftLimitExceeded) as refused:
        firm.request("200.01", name="Carol Jones")
    assert refused.value.refusal.headroom == Decimal("200.00")
    assert firm.ledger.recorder.max_notification_id() == before, "a refusal stores nothing"
    assert firm.request("200.00", name="Carol Jones").status is PreclearanceStatus.PENDING


def test_with_less_headroom_than_the_auto_band_a_small_request_is_refused_and_a_smaller_one_approved(
    firm: Firm,
) -> None:
    firm.give("270.00")
    with pytest.raises(GiftLimitExceeded):
        firm.request("40.00")
    assert firm.request("30.00").status is PreclearanceStatus.APPROVED
    with pytest.raises(GiftLimitExceeded) as refused:
        firm.request("0.01")
    assert refused.value.refusal.reserved == Decimal("30.00")


def test_a_request_counting_nothing_is_approved_and_reserves_nothing(firm: Firm) -> None:
    result = firm.request("500.00", category="promotional")
    assert (result.status, result.counted_value) == (PreclearanceStatus.APPROVED, Decimal("0.00"))
    assert firm.ledger.preclearance(result.id).reservations == []


def test_shared_requests_band_on_each_persons_share(firm: Firm) -> None:
    shared = firm.request("100.00", sharers=1)
    assert (shared.band, shared.counted_value) == (PreclearanceBand.AUTO, Decimal("50.00"))
    assert len(firm.ledger.preclearance(shared.id).reservations) == 2
    assert firm.counted("Sharer A") == [Decimal("50.00")]
    more = firm.request("100.02", name="Carol Jones", sharers=1)
    assert (more.band, more.counted_value) == (PreclearanceBand.REVIEW, Decimal("50.01"))


def test_a_request_too_far_ahead_or_in_the_past_is_refused(firm: Firm) -> None:
    with pytest.raises(InvalidInput, match="planned_on"):
        firm.request("40.00", planned_on=TODAY + timedelta(31))
    with pytest.raises(InvalidInput, match="planned_on"):
        firm.request("40.00", planned_on=TODAY - timedelta(2))
    assert firm.request("40.00", planned_on=TODAY + timedelta(30)).status is PreclearanceStatus.APPROVED


def test_a_ticket_the_representative_attends_is_not_a_gift(firm: Firm) -> None:
    with pytest.raises(RuleViolation, match="entertainment"):
        firm.request("40.00", category="ticket", representative_attended=True)


# -- decisions --


def test_compliance_approves_a_pending_request_and_the_approval_re_checks_the_limit(firm: Firm) -> None:
    first = firm.request("200.00")
    second = firm.request("200.00")
    approved = firm.approve(first.id)
    assert (approved.status, approved.expires_on) == (PreclearanceStatus.APPROVED, TODAY + timedelta(30))
    with pytest.raises(GiftLimitExceeded) as refused:
        firm.approve(second.id)
    assert refused.value.refusal.reserved == Decimal("200.00")
    assert firm.ledger.preclearance(second.id).status is PreclearanceStatus.PENDING


def test_only_compliance_or_an_admin_other_than_the_requester_decides(firm: Firm) -> None:
    pending = firm.request("200.00")
    for role in (Role.ACCOUNT_MANAGER, Role.MANAGER, Role.AUDITOR):
        with pytest.raises(Forbidden):
            firm.approve(pending.id, audit_as(role))
    admin = audit_as(Role.ADMIN)
    own = firm.ledger.request_preclearance(
        admin,
        RequestPreclearance(
            relationship_id=firm.relationship_id,
            recipient={"name": "Carol Jones", "employer": "Acme"},
            description="Dinner",
            purpose="Thanks",
            planned_on=TODAY,
            category="general",
            cost="120.00",
        ),
    )
    with pytest.raises(RuleViolation, match="someone else"):
        firm.approve(own.id, admin)
    assert firm.approve(own.id).status is PreclearanceStatus.APPROVED


def test_a_denial_needs_a_pending_request(firm: Firm) -> None:
    pending = firm.request("200.00")
    denied = firm.ledger.deny_preclearance(firm.compliance, pending.id, DenyPreclearance(reason="Too lavish"))
    assert denied.status is PreclearanceStatus.DENIED
    with pytest.raises(RuleViolation, match="denied"):
        firm.approve(pending.id)
    auto = firm.request("20.00")
    with pytest.raises(RuleViolation, match="approved"):
        firm.ledger.deny_preclearance(firm.compliance, auto.id, DenyPreclearance(reason="No"))


def test_withdrawing_an_approval_releases_its_reservations_once(firm: Firm) -> None:
    approved = firm.request("40.00", sharers=1)
    withdrawn = firm.ledger.withdraw_preclearance(firm.account_manager, approved.id, WithdrawPreclearance(reason="Off"))
    assert withdrawn.status is PreclearanceStatus.WITHDRAWN
    assert firm.counted() == []
    assert firm.counted("Sharer A") == []
    with pytest.raises(RuleViolation, match="withdrawn"):
        firm.ledger.withdraw_preclearance(firm.account_manager, approved.id, WithdrawPreclearance(reason="Again"))


# -- use by a gift --


def test_a_gift_using_an_approval_consumes_its_reservation_and_uses_it_once(firm: Firm) -> None:
    approved = firm.approve(firm.request("250.00").id)
    gift = firm.give("250.00", preclearance_id=approved.id)
    assert firm.counted() == [Decimal("250.00")], "the gift replaces the reservation: never counted twice"
    request = firm.ledger.preclearance(approved.id)
    assert (request.status, request.gift_id) == (PreclearanceStatus.USED, gift.gift_id)
    with pytest.raises(RuleViolation, match="used"):
        firm.give("10.00", preclearance_id=approved.id)


def test_a_gift_cannot_use_an_approval_for_more_other_people_or_a_later_day(firm: Firm) -> None:
    approved = firm.request("40.00")
    with pytest.raises(RuleViolation, match="per person"):
        firm.give("40.01", preclearance_id=approved.id)
    with pytest.raises(RuleViolation, match="other people"):
        firm.give("40.00", name="Carol Jones", preclearance_id=approved.id)
    with pytest.raises(RuleViolation, match="before the request"):
        firm.give("40.00", given_on=TODAY - timedelta(2), preclearance_id=approved.id)
    pending = firm.request("200.00", name="Carol Jones")
    with pytest.raises(RuleViolation, match="pending"):
        firm.give("200.00", name="Carol Jones", preclearance_id=pending.id)


def test_when_required_a_gift_above_the_auto_band_needs_an_approval(firm: Firm) -> None:
    firm.ledger.schedule_programme_rules(
        firm.compliance, ScheduleProgrammeRules(effective_from=TODAY, preclearance_required=True)
    )
    with pytest.raises(PreclearanceRequired) as required:
        firm.give("50.01")
    assert (required.value.counted_value, required.value.auto_approve_up_to) == (Decimal("50.01"), Decimal("50.00"))
    firm.give("50.00")
    firm.give("100.00", sharers=1)  # $50.00 each
    firm.give("60.00", given_on=TODAY - timedelta(1))  # the rules in force on given_on decide: not yet required
    approved = firm.approve(firm.request("90.00", name="Carol Jones").id)
    firm.give("90.00", name="Carol Jones", preclearance_id=approved.id)


# -- expiry --


def test_an_approval_expires_by_the_firms_date_and_its_expiry_is_written_once(firm: Firm) -> None:
    approved = firm.request("40.00")
    firm.clock.day = TODAY + timedelta(30)
    assert firm.counted() == [Decimal("40.00")], "counted through its last day"
    assert firm.ledger.expire_preclearance(audit_as(Role.ADMIN), approved.id) is None
    firm.clock.day = TODAY + timedelta(31)
    assert firm.counted() == [], "not counted the day after, written or not"
    assert firm.ledger.preclearance(approved.id).status_on(firm.clock.day) is PreclearanceStatus.EXPIRED
    with pytest.raises(RuleViolation, match="expired"):
        firm.give("40.00", preclearance_id=approved.id)
    assert firm.ledger.expire_preclearance(audit_as(Role.ADMIN), approved.id) is not None
    assert firm.ledger.expire_preclearance(audit_as(Role.ADMIN), approved.id) is None
    events = list(firm.ledger.events.get(approved.id))
    assert sum(isinstance(e, GiftPreclearanceExpired) for e in events) == 1
    person = firm.ledger.current_recipient(GiftRecipient.id_for("Bob Smith", "Acme"))
    assert person.reservations == []
