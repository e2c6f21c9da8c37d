"""The gift register as an exception source, and a known recipient's headroom, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.application import GiftResult, Ledger
from domain.commands import GiveGift, OpenRelationship, RegisterAccountManager
from domain.errors import NotFound
from domain.exception_kinds import ExceptionKind, case_id_for
from domain.values import Audit
from infrastructure.bootstrap import build_projections
from infrastructure.settings import Settings
from projections.exception_rows import ExceptionContext
from projections.exception_sources import SOURCES
from projections.gift_register import GiftRegisterReader, exception_rows
from projections.runner import Projections

DAY = date(2026, 5, 1)


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    projections = build_projections(ledger, Settings(database_url=database_url))
    yield projections
    projections.view.close()


def open_relationship(ledger: Ledger, manager: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    account_manager_id = ledger.register_account_manager(
        manager, RegisterAccountManager(name="Ann Lee", email=email)
    ).id
    return ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=account_manager_id,
        ),
    ).id


def give(ledger: Ledger, manager: Audit, relationship_id: UUID, employer: str, cost: str, on: date) -> GiftResult:
    return ledger.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient={"name": "Bob Smith", "employer": employer},
            description="Dinner",
            given_on=on,
            category="general",
            cost=cost,
        ),
    )


def context(ledger: Ledger, today: date) -> ExceptionContext:
    policy = ledger.gift_policy()
    return ExceptionContext(
        year=2026,
        window=policy.limit_year.year_of(DAY),
        today=today,
        now=datetime(2026, 12, 31, 12, tzinfo=UTC),
        zone=ZoneInfo("America/New_York"),
        policy=policy,
    )


def test_the_registers_exceptions_come_as_rows_keyed_by_their_gift_with_their_case_id(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    first = give(ledger, manager, relationship_id, employer, "200.00", DAY)
    second = give(ledger, manager, relationship_id, employer, "50.00", date(2026, 5, 3))
    projections.catch_up()

    rows = exception_rows(projections.view, context(ledger, date(2026, 12, 31)))

    found = sorted((row.kind.value, row.key) for row in rows)
    assert found == sorted(
        [
            ("near_limit", str(second.gift_id)),
            ("split", str(first.gift_id)),
            ("split", str(second.gift_id)),
        ]
    )
    near = next(row for row in rows if row.kind is ExceptionKind.NEAR_LIMIT)
    assert (near.amount, near.threshold, near.occurred_on) == (Decimal("250.00"), Decimal("300.00"), date(2026, 5, 3))
    assert (near.recipient_id, near.name, near.employer) == (str(second.recipient_id), "Bob Smith", employer)
    assert near.relationship_id == str(relationship_id)
    assert near.gift is not None
    assert near.gift.gift_id == str(second.gift_id)
    assert near.case_id == case_id_for(ExceptionKind.NEAR_LIMIT, str(second.gift_id))
    assert "80 %" in near.summary
    split = next(row for row in rows if row.kind is ExceptionKind.SPLIT and row.key == str(first.gift_id))
    assert split.related_ids == (str(second.gift_id),)
    # Every source answers for the same year; the shells find nothing yet.
    everything = [row for source in SOURCES for row in source(projections.view, context(ledger, date(2026, 12, 31)))]
    assert sorted((row.kind.value, row.key) for row in everything) == found


def test_a_known_recipients_headroom_equals_the_headroom_found_by_name(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    gift = give(ledger, manager, relationship_id, employer, "120.00", DAY)
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    by_id = reader.headroom_of(str(gift.recipient_id), DAY, DAY)

    assert by_id == reader.headroom("Bob Smith", employer, DAY)
    assert (by_id.counted, by_id.headroom, by_id.reserved, by_id.limit) == (
        Decimal("120.00"),
        Decimal("180.00"),
        Decimal("0.00"),
        Decimal("300.00"),
    )
    with pytest.raises(NotFound):
        reader.headroom_of(str(uuid4()), DAY, DAY)
