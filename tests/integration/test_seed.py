"""`ledger seed` writes a realistic history in batches, the same for the same seed, and only into an empty ledger."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from domain.account_manager import Deactivated, Registered
from domain.application import Ledger
from domain.commands import RegisterAccountManager
from domain.compliance_policy import POLICY_ID
from domain.gift_recipient import GiftReceived, RecipientRegistered
from domain.gift_rule import ZERO, counted_value, limit_in_force
from domain.model import LedgerEvent
from domain.relationship import (
    AccountManagerAssigned,
    ContractSigned,
    DemoScheduled,
    GiftGiven,
    Opened,
)
from domain.values import Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from scripts.cli import app
from scripts.seed import LedgerNotEmptyError, SeedPlan, SeedSummary, seed_ledger
from tests.conftest import audit_as

UNTIL = date(2026, 6, 30)
SMALL = SeedPlan(managers=3, relationships=10, events=600, random_seed=7, until=UNTIL)


@contextmanager
def a_ledger(database_url: str) -> Iterator[Ledger]:
    ledger = build_ledger(Settings(database_url=database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def stored_events(ledger: Ledger) -> list[LedgerEvent]:
    """Every stored event in global order."""
    events: list[LedgerEvent] = []
    start = 1
    while notifications := ledger.recorder.select_notifications(start=start, limit=1_000):
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            assert isinstance(event, LedgerEvent)
            events.append(event)
        start = notifications[-1].id + 1
    return events


def seeded(database_url: str, plan: SeedPlan) -> tuple[SeedSummary, list[LedgerEvent], list[LedgerEvent]]:
    """Seeds a fresh ledger; returns the summary, the events there before, and the events the seed wrote."""
    with a_ledger(database_url) as ledger:
        before = stored_events(ledger)
        summary = seed_ledger(ledger, plan, progress=False)
        return summary, before, stored_events(ledger)[len(before) :]


def test_a_small_plan_writes_at_least_the_planned_events_and_what_the_summary_says(database_url: str) -> None:
    summary, before, written = seeded(database_url, SMALL)

    # A fresh ledger holds at most its gift policy, which does not stop the seed.
    assert all(event.originator_id == POLICY_ID for event in before)
    assert summary.events == len(written) >= SMALL.events
    kinds = Counter(type(event) for event in written)
    assert kinds[Registered] == summary.managers == 3
    assert kinds[Opened] == summary.relationships == 10
    assert kinds[GiftGiven] == summary.gifts_accepted > 0
    # Each gift is received by its recipient and by everyone it is shared with.
    shares = sum(len(event.shared_with) for event in written if isinstance(event, GiftGiven))
    assert kinds[GiftReceived] == summary.gifts_accepted + shares
    assert kinds[ContractSigned] == summary.contracts_signed > 0
    assert kinds[DemoScheduled] == summary.demos_scheduled > 0
    assert kinds[AccountManagerAssigned] == summary.reassignments
    assert "events/s" in summary.describe()

    # Every event carries who did it and under which command; business times are aware and in range.
    for event in written:
        assert event.actor_id.startswith(("seed:", "account_manager:", "system:"))
        assert event.correlation_id
        business_time = event.business_time
        if isinstance(business_time, datetime):
            assert business_time.tzinfo is not None
            assert date(2025, 1, 1) <= business_time.date() <= UNTIL
        elif isinstance(business_time, date):
            assert date(2025, 1, 1) <= business_time <= UNTIL


def test_no_relationship_is_left_with_a_deactivated_manager(database_url: str) -> None:
    summary, _, written = seeded(database_url, SMALL)

    active: dict[UUID, bool] = {}
    holder: dict[UUID, UUID] = {}
    for event in written:
        if isinstance(event, Registered):
            active[event.originator_id] = True
        elif isinstance(event, Deactivated):
            active[event.originator_id] = False
        elif isinstance(event, Opened | AccountManagerAssigned):
            assert active[event.account_manager_id], "assigned to a manager who had already left"
            holder[event.originator_id] = event.account_manager_id
    assert summary.deactivations == list(active.values()).count(False) == 1
    assert all(active[manager_id] for manager_id in holder.values())


def test_the_gift_limit_holds_for_every_recipient(database_url: str) -> None:
    plan = SeedPlan(managers=3, relationships=10, events=3_000, random_seed=11, until=UNTIL)
    summary, _, written = seeded(database_url, plan)
    with a_ledger(database_url) as ledger:
        policy = ledger.gift_policy()

    # Each gift is counted as the rule values it, and recorded on both sides (for everyone who shares it,
    # each of them named) or not at all.
    given = {event.gift_id: event for event in written if isinstance(event, GiftGiven)}
    received = {event.gift_id: event for event in written if isinstance(event, GiftReceived)}
    shares = {share.share_id: gift for gift in given.values() for share in gift.shared_with}
    assert received.keys() == given.keys() | shares.keys()
    assert len(given) == summary.gifts_accepted
    assert shares, "no gift was shared, so sharing was not put to the test"
    for share_id, gift in shares.items():
        assert received[share_id].counted_value == gift.counted_value
    for gift_id, gift in given.items():
        assert gift.recipients_count == 1 + len(gift.shared_with)
        assert gift.counted_value == received[gift_id].counted_value
        assert gift.counted_value == counted_value(
            category=gift.category,
            cost=gift.cost,
            market_value=gift.market_value,
            face_value=gift.face_value,
            recipients_count=gift.recipients_count,
            representative_attended=gift.representative_attended,
        )
    # A gift refused at the limit leaves nothing behind, not even a newly registered recipient.
    assert summary.gifts_refused > 0
    registered = {event.originator_id for event in written if isinstance(event, RecipientRegistered)}
    assert registered == {event.originator_id for event in received.values()}

    # Per recipient and limit year, what is counted up to each gift's day is within the limit on that day.
    by_year: dict[tuple[UUID, str], list[GiftReceived]] = defaultdict(list)
    for receipt in received.values():
        by_year[receipt.originator_id, policy.limit_year.year_of(receipt.given_on).label].append(receipt)
    checked = 0
    for gifts in by_year.values():
        for receipt in gifts:
            so_far = sum((g.counted_value for g in gifts if g.given_on <= receipt.given_on), ZERO)
            assert so_far <= limit_in_force(policy.limit_schedule, receipt.given_on)
            checked += receipt.counted_value > ZERO
    assert checked > 0
    assert any(
        sum((g.counted_value for g in gifts), ZERO) > Decimal("0.8") * limit_in_force(policy.limit_schedule, UNTIL)
        for gifts in by_year.values()
    ), "no recipient came near the limit, so the limit was not put to the test"


def history_but_the_clock(database_url: str, plan: SeedPlan) -> list[tuple[UUID | str, int, str, dict[str, Any]]]:
    """Seeds a fresh ledger; returns every stored event as it was stored, but for the server's `recorded_at`."""
    seeded(database_url, plan)
    with a_ledger(database_url) as ledger:
        notifications = ledger.recorder.select_notifications(start=1, limit=1_000_000)
        history: list[tuple[UUID | str, int, str, dict[str, Any]]] = []
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            assert isinstance(event, LedgerEvent)
            data = event.model_dump(mode="json", exclude={"timestamp"})
            history.append((notification.originator_id, notification.originator_version, notification.topic, data))
        return history


def test_the_same_seed_writes_the_same_history_into_two_fresh_ledgers(tmp_path: Path) -> None:
    plan = SeedPlan(managers=3, relationships=10, events=1_500, random_seed=42, until=UNTIL, batch_size=400)

    first = history_but_the_clock(f"sqlite:///{tmp_path / 'first.sqlite3'}", plan)
    second = history_but_the_clock(f"sqlite:///{tmp_path / 'second.sqlite3'}", plan)
    other = history_but_the_clock(f"sqlite:///{tmp_path / 'other.sqlite3'}", replace(plan, random_seed=43))

    assert len(first) > plan.events
    assert first == second
    assert first != other


def test_a_ledger_with_history_is_refused_and_nothing_is_written(database_url: str) -> None:
    with a_ledger(database_url) as ledger:
        ledger.register_account_manager(
            audit_as(Role.MANAGER),
            RegisterAccountManager(name="Ann Lee", email=f"ann.{uuid.uuid4().hex[:6]}@example.com"),
        )
        position = ledger.recorder.max_notification_id()

        with pytest.raises(LedgerNotEmptyError, match="already holds events"):
            seed_ledger(ledger, SMALL, progress=False)

        assert ledger.recorder.max_notification_id() == position


def test_the_seed_command_prints_a_summary_and_refuses_to_seed_twice(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    arguments = ["seed", "--managers", "2", "--relationships", "5", "--events", "300"]

    result = runner.invoke(app, arguments, env=env)

    assert result.exit_code == 0, result.output
    assert "Seeded " in result.stdout
    assert "2 account managers" in result.stdout
    assert "5 relationships" in result.stdout

    again = runner.invoke(app, arguments, env=env)

    assert again.exit_code != 0
    assert isinstance(again.exception, LedgerNotEmptyError)
