"""The views row by row (workload, pay, gift register, audit index) on SQLite and PostgreSQL; each event once."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.application import SYSTEM, Ledger
from domain.commands import (
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    CompensationPlan,
    CompleteDemo,
    CorrectEntry,
    DeactivateAccountManager,
    GiveGift,
    IntroduceProduct,
    LogContact,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    ProvideEntertainment,
    RegisterAccountManager,
    RescheduleDemo,
    ScheduleDemo,
    ScheduleGiftLimit,
    SetLimitYear,
    SetQuota,
    SignContract,
    TerminateContract,
)
from domain.gift_recipient import GiftRecipient
from domain.recipient_index import INDEX_ID
from domain.values import Audit, Role
from infrastructure.bootstrap import build_ledger, build_projections, build_view_store
from infrastructure.settings import Settings
from projections.audit_index import AuditIndexReader, IndexedEvent
from projections.gift_register import GiftRegisterReader
from projections.gift_register_rows import GiftException, RecipientYear
from projections.pay import Pay, PayReader
from projections.runner import Projections
from projections.workload import RelationshipFacts, WorkloadReader
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import audit_as
from tests.integration.projection_support import (
    LedgerDriver,
    audit_positions,
    dump_views,
    head,
    stored_positions,
    tracking_positions,
)

PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    """Every projection of the test's ledger, on a view store of its own."""
    projections = build_projections(ledger, Settings(database_url=database_url))
    yield projections
    projections.view.close()


def register(ledger: Ledger, name: str) -> UUID:
    email = f"{name.split(maxsplit=1)[0].lower()}.{uuid.uuid4().hex[:8]}@example.com"
    return ledger.register_account_manager(audit_as(Role.MANAGER), RegisterAccountManager(name=name, email=email)).id


def open_relationship(
    ledger: Ledger, manager_id: UUID, client_name: str, tier: str, industry: str = "technology"
) -> UUID:
    return ledger.open_relationship(
        audit_as(Role.MANAGER),
        OpenRelationship(
            client_name=client_name,
            client_kind="corporate",
            industry=industry,
            tier=tier,
            account_manager_id=manager_id,
        ),
    ).id


# -- workload ------------------------------------------------------------------

STAFF = [{"name": "Priya Shah", "role": "technical"}, {"name": "Tom Bell", "role": "design"}]


@dataclass
class WorkloadWorld:
    """Three account managers and their book, seen at `now` (60 days after the relationships were opened)."""

    now: datetime
    ada: UUID
    ben: UUID
    cleo: UUID
    relationships: dict[str, UUID] = field(default_factory=dict)
    demos: dict[str, UUID] = field(default_factory=dict)
    contracts: dict[str, UUID] = field(default_factory=dict)


@pytest.fixture
def world(ledger: Ledger, projections: Projections) -> WorkloadWorld:
    # Relationships are opened now (by the server's clock), so the reading moment is 60 days on.
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=60)
    w = WorkloadWorld(
        now, register(ledger, "Ada Lovelace"), register(ledger, "Ben Okafor"), register(ledger, "Cleo Park")
    )
    m = audit_as(Role.MANAGER)
    rel = w.relationships

    # Ada opens two key, two major and two standard relationships; Ben two standard ones.
    for name, tier in (
        ("Northwind", "key"),
        ("Contoso", "key"),
        ("Globex", "major"),
        ("Fabrikam", "standard"),
        ("Initech", "standard"),
        ("Umbrella", "major"),
    ):
        rel[name] = open_relationship(ledger, w.ada, name, tier)
    for name in ("Hooli", "Stark"):
        rel[name] = open_relationship(ledger, w.ben, name, "standard")

    # Contacts: recent on Northwind, too old for a key client on Contoso, a passed follow-up date on Globex;
    # on Hooli a contact 29 days ago, then an older one logged late that must not replace it.
    ledger.log_contact(
        m,
        rel["Northwind"],
        LogContact(occurred_at=(now - timedelta(days=3)).astimezone(PLUS_TWO), channel="call", summary="Check-in"),
    )
    ledger.log_contact(
        m, rel["Contoso"], LogContact(occurred_at=now - timedelta(days=8), channel="email", summary="Quarterly note")
    )
    follow_up = (now - timedelta(days=2)).date()
    ledger.log_contact(
        m,
        rel["Globex"],
        LogContact(
            occurred_at=now - timedelta(days=2), channel="meeting", summary="Lunch", next_follow_up_on=follow_up
        ),
    )
    ledger.log_contact(
        m, rel["Hooli"], LogContact(occurred_at=now - timedelta(days=29), channel="visit", summary="Site visit")
    )
    older = now - timedelta(days=40)
    ledger.log_contact(
        m,
        rel["Hooli"],
        LogContact(occurred_at=older, channel="call", summary="Logged late", next_follow_up_on=older.date()),
    )
    ledger.log_contact(
        m, rel["Stark"], LogContact(occurred_at=now - timedelta(days=10), channel="call", summary="Intro")
    )

    # Fabrikam is contacted every 90 days; Stark becomes a key client (7 days).
    ledger.change_cadence(m, rel["Fabrikam"], ChangeCadence(days=90))
    ledger.change_tier(m, rel["Stark"], ChangeTier(tier="key"))

    # Demos: two inside the next 14 days, one just after, one just past, one completed, one cancelled,
    # one rescheduled into the window, one on a relationship about to close, one whose location is corrected.
    def demo(name: str, relationship: str, when: datetime, location: str = "Client office") -> int:
        result = ledger.schedule_demo(
            m, rel[relationship], ScheduleDemo(product="Analytics", scheduled_for=when, location=location, staff=STAFF)
        )
        w.demos[name] = result.demo_id
        return result.version

    demo("d1", "Northwind", (now + timedelta(days=1)).astimezone(PLUS_TWO))
    demo("d2", "Northwind", now + timedelta(days=13, hours=23))
    demo("d3", "Contoso", now + timedelta(days=14, hours=1))
    demo("d4", "Globex", now - timedelta(hours=1))
    demo("d5", "Globex", now + timedelta(days=2))
    ledger.complete_demo(m, rel["Globex"], w.demos["d5"], CompleteDemo(outcome="Signed up for a trial"))
    demo("d6", "Umbrella", now + timedelta(days=3))
    ledger.cancel_demo(m, rel["Umbrella"], w.demos["d6"], CancelDemo(reason="Client asked"))
    demo("d7", "Umbrella", now + timedelta(days=20))
    ledger.reschedule_demo(m, rel["Umbrella"], w.demos["d7"], RescheduleDemo(scheduled_for=now + timedelta(days=5)))
    demo("d8", "Initech", now + timedelta(days=4))
    hooli_demo = demo("d9", "Hooli", now + timedelta(days=6), location="Hooli HQ")
    ledger.correct_entry(
        m, rel["Hooli"], CorrectEntry(corrects_version=hooli_demo, reason="Moved", changes={"location": "Hooli Labs"})
    )

    # Proposals: open on Northwind, Globex, Umbrella and Initech; signed on Northwind; signed then terminated on Stark.
    def propose(name: str, relationship: str) -> None:
        result = ledger.propose_contract(
            m,
            rel[relationship],
            ProposeContract(title=name, value="1000.00", starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1)),
        )
        w.contracts[name] = result.contract_id

    for name, relationship in (
        ("p1", "Northwind"),
        ("p2", "Northwind"),
        ("p3", "Globex"),
        ("p4", "Umbrella"),
        ("p5", "Initech"),
        ("p6", "Stark"),
    ):
        propose(name, relationship)
    ledger.sign_contract(m, rel["Northwind"], w.contracts["p2"], SignContract(signed_on=date(2026, 2, 1)))
    ledger.sign_contract(m, rel["Stark"], w.contracts["p6"], SignContract(signed_on=date(2026, 2, 1)))
    ledger.terminate_contract(
        m, rel["Stark"], w.contracts["p6"], TerminateContract(on=date(2026, 3, 1), reason="Merged")
    )

    # Initech closes; Umbrella moves to Ben; Northwind's name is corrected; Cleo leaves.
    ledger.close_relationship(m, rel["Initech"], CloseRelationship(reason="Went in-house"))
    ledger.assign_account_manager(
        m, rel["Umbrella"], AssignAccountManager(account_manager_id=w.ben, reason="Rebalancing")
    )
    ledger.correct_entry(
        m,
        rel["Northwind"],
        CorrectEntry(corrects_version=1, reason="Legal name", changes={"client_name": "Northwind Traders"}),
    )
    ledger.deactivate_account_manager(m, w.cleo, DeactivateAccountManager(reason="Left the firm"))

    projections.catch_up()
    return w


def workload_row(reader: WorkloadReader, manager_id: UUID, now: datetime) -> dict[str, Any]:
    """One manager's row of the workload, put together from the view's queries as the API does."""
    active = reader.relationships(account_manager_id=str(manager_id), status="open")
    return {
        "active_relationships": len(active),
        "by_tier": dict(Counter(facts.tier.value for facts in active)),
        "weighted_load": sum(facts.tier.weight for facts in active),
        "upcoming_demos": len(reader.upcoming_demos(now, account_manager_id=str(manager_id))),
        "overdue_follow_ups": sum(facts.is_overdue(now) for facts in active),
        "open_proposals": reader.open_proposals().get(str(manager_id), 0),
    }


def test_the_workload_counts_open_relationships_by_tier_and_weighs_key_4_major_2_standard_1(
    world: WorkloadWorld, projections: Projections
) -> None:
    reader = WorkloadReader(projections.view)

    assert workload_row(reader, world.ada, world.now) == {
        "active_relationships": 4,
        "by_tier": {"key": 2, "major": 1, "standard": 1},
        "weighted_load": 11,
        "upcoming_demos": 2,
        "overdue_follow_ups": 2,
        "open_proposals": 2,
    }
    assert workload_row(reader, world.ben, world.now) == {
        "active_relationships": 3,
        "by_tier": {"standard": 1, "key": 1, "major": 1},
        "weighted_load": 7,
        "upcoming_demos": 2,
        "overdue_follow_ups": 2,
        "open_proposals": 1,
    }
    assert workload_row(reader, world.cleo, world.now) == {
        "active_relationships": 0,
        "by_tier": {},
        "weighted_load": 0,
        "upcoming_demos": 0,
        "overdue_follow_ups": 0,
        "open_proposals": 0,
    }
    managers = [(row["account_manager_id"], row["name"], row["active"]) for row in reader.managers()]
    assert managers == [
        (str(world.ada), "Ada Lovelace", 1),
        (str(world.ben), "Ben Okafor", 1),
        (str(world.cleo), "Cleo Park", 0),
    ]
    assert [row["name"] for row in reader.managers(active_only=True)] == ["Ada Lovelace", "Ben Okafor"]


def test_the_workload_lists_scheduled_demos_of_the_next_14_days_on_open_relationships(
    world: WorkloadWorld, projections: Projections
) -> None:
    reader = WorkloadReader(projections.view)
    rel, demos, now = world.relationships, world.demos, world.now

    def expected(
        demo: str, relationship: str, client: str, manager: UUID, when: datetime, location: str
    ) -> dict[str, Any]:
        return {
            "demo_id": str(demos[demo]),
            "relationship_id": str(rel[relationship]),
            "client_name": client,
            "account_manager_id": str(manager),
            "product": "Analytics",
            "scheduled_for": when.astimezone(UTC).isoformat(timespec="microseconds"),
            "location": location,
            "staff": STAFF,
        }

    d1 = expected("d1", "Northwind", "Northwind Traders", world.ada, now + timedelta(days=1), "Client office")
    d7 = expected("d7", "Umbrella", "Umbrella", world.ben, now + timedelta(days=5), "Client office")
    d9 = expected("d9", "Hooli", "Hooli", world.ben, now + timedelta(days=6), "Hooli Labs")
    d2 = expected(
        "d2", "Northwind", "Northwind Traders", world.ada, now + timedelta(days=13, hours=23), "Client office"
    )

    def rows(**filters: Any) -> list[dict[str, Any]]:
        return [{**row, "staff": json.loads(row["staff"])} for row in reader.upcoming_demos(now, **filters)]

    assert rows() == [d1, d7, d9, d2]
    assert rows(account_manager_id=str(world.ada)) == [d1, d2]
    assert rows(account_manager_id=str(world.ben)) == [d7, d9]
    # A fortnight later only the demo just outside today's window is ahead.
    later = reader.upcoming_demos(now + timedelta(days=14))
    assert [row["demo_id"] for row in later] == [str(demos["d3"])]


def test_a_relationship_is_overdue_without_contact_within_its_cadence_or_once_its_follow_up_date_has_passed(
    world: WorkloadWorld, projections: Projections
) -> None:
    facts = {f.client_name: f for f in WorkloadReader(projections.view).relationships()}
    now = world.now

    assert {name: f.is_overdue(now) for name, f in facts.items()} == {
        "Northwind Traders": False,  # key, contacted 3 days ago
        "Contoso": True,  # key, contacted 8 days ago
        "Globex": True,  # major, contacted 2 days ago, but the follow-up date has passed
        "Fabrikam": False,  # never contacted, but on a 90-day cadence
        "Initech": False,  # closed
        "Umbrella": True,  # major, never contacted in 60 days
        "Hooli": False,  # standard, contacted 29 days ago (the older contact logged late changes nothing)
        "Stark": True,  # contacted 10 days ago, now a key client
    }
    # The latest contact and follow-up date are what overdue is worked out from.
    contacts = {name: (f.last_contact_at, f.next_follow_up_on, f.cadence) for name, f in facts.items()}
    assert contacts == {
        "Northwind Traders": (now - timedelta(days=3), None, 7),
        "Contoso": (now - timedelta(days=8), None, 7),
        "Globex": (now - timedelta(days=2), (now - timedelta(days=2)).date(), 14),
        "Fabrikam": (None, None, 90),
        "Initech": (None, None, 30),
        "Umbrella": (None, None, 14),
        "Hooli": (now - timedelta(days=29), None, 30),
        "Stark": (now - timedelta(days=10), None, 7),
    }
    # A week earlier Contoso and Stark were within their cadence; Globex's follow-up date was still ahead.
    week_before = now - timedelta(days=7)
    assert sorted(name for name, f in facts.items() if f.is_overdue(week_before)) == ["Umbrella"]


def test_open_proposals_count_for_the_current_manager_on_open_relationships_only(
    world: WorkloadWorld, projections: Projections
) -> None:
    # p1 and p3 are Ada's; p4 moved to Ben with Umbrella; p2 is signed, p6 terminated, p5 on closed Initech.
    assert WorkloadReader(projections.view).open_proposals() == {str(world.ada): 2, str(world.ben): 1}


def test_the_relationship_list_filters_by_manager_tier_and_status_in_the_order_opened(
    world: WorkloadWorld, projections: Projections, ledger: Ledger
) -> None:
    reader = WorkloadReader(projections.view)
    rel = world.relationships

    def names(facts: list[RelationshipFacts]) -> list[str]:
        return [f.client_name for f in facts]

    everything = reader.relationships()
    assert [
        (f.client_name, f.tier.value, f.status, f.account_manager_id, f.cadence_days, f.industry) for f in everything
    ] == [
        ("Northwind Traders", "key", "open", str(world.ada), None, "technology"),
        ("Contoso", "key", "open", str(world.ada), None, "technology"),
        ("Globex", "major", "open", str(world.ada), None, "technology"),
        ("Fabrikam", "standard", "open", str(world.ada), 90, "technology"),
        ("Initech", "standard", "closed", str(world.ada), None, "technology"),
        ("Umbrella", "major", "open", str(world.ben), None, "technology"),
        ("Hooli", "standard", "open", str(world.ben), None, "technology"),
        ("Stark", "key", "open", str(world.ben), None, "technology"),
    ]
    # Each row carries its relationship's id, opening time and current version.
    for facts in everything:
        relationship = ledger.relationship(UUID(facts.relationship_id))
        assert (facts.relationship_id, facts.opened_at, facts.version) == (
            str(relationship.id),
            relationship.created_on,
            relationship.version,
        )
    assert [f.relationship_id for f in everything] == [str(rel[name]) for name in rel]

    assert names(reader.relationships(account_manager_id=str(world.ada))) == [
        "Northwind Traders",
        "Contoso",
        "Globex",
        "Fabrikam",
        "Initech",
    ]
    assert names(reader.relationships(account_manager_id=str(world.ada), status="open")) == [
        "Northwind Traders",
        "Contoso",
        "Globex",
        "Fabrikam",
    ]
    assert names(reader.relationships(tier="key")) == ["Northwind Traders", "Contoso", "Stark"]
    assert names(reader.relationships(status="closed")) == ["Initech"]
    assert names(reader.relationships(account_manager_id=str(world.ben), tier="major")) == ["Umbrella"]
    assert reader.relationships(account_manager_id=str(world.cleo)) == []

    # Paging: after the third relationship's position, the next three.
    first = reader.relationships(limit=3)
    assert names(first) == ["Northwind Traders", "Contoso", "Globex"]
    assert names(reader.relationships(after_position=first[-1].position, limit=3)) == [
        "Fabrikam",
        "Initech",
        "Umbrella",
    ]


def test_the_workload_shows_each_relationships_current_version_after_every_kind_of_event(
    ledger: Ledger, projections: Projections
) -> None:
    m = audit_as(Role.MANAGER)
    relationship_id = open_relationship(ledger, register(ledger, "Ada Lovelace"), "Northwind", "key")
    ledger.introduce_product(
        m,
        relationship_id,
        IntroduceProduct(product="Analytics", occurred_at=datetime(2026, 5, 4, 9, tzinfo=UTC), outcome="interested"),
    )
    ledger.give_gift(
        m,
        relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Jane Roe", employer="Acme Bank"),
            description="Pen",
            given_on=date(2026, 5, 4),
            category="general",
            cost="20.00",
        ),
    )
    ledger.provide_entertainment(
        m,
        relationship_id,
        ProvideEntertainment(
            occurred_on=date(2026, 5, 5),
            description="Dinner",
            cost="180.00",
            attendees=["Jane Roe"],
            representative_attended=True,
        ),
    )
    projections.catch_up()

    (facts,) = WorkloadReader(projections.view).relationships()
    assert facts.version == ledger.relationship(relationship_id).version == 4


# -- pay -----------------------------------------------------------------------


def pay_text(pay: Pay) -> dict[str, str | None]:
    """Pay as the decimal strings it is shown as, so that every amount is checked to the cent."""
    return {
        "signed_value": str(pay.signed_value),
        "quota": str(pay.quota),
        "attainment": None if pay.attainment is None else str(pay.attainment),
        "base_salary": str(pay.base_salary),
        "commission": str(pay.commission),
        "bonus": str(pay.bonus),
        "total": str(pay.total),
    }


def test_pay_is_commission_plus_accelerator_above_quota_plus_bonus_credited_to_the_manager_at_signing(
    ledger: Ledger, projections: Projections
) -> None:
    m = audit_as(Role.MANAGER)
    ada, ben = register(ledger, "Ada Lovelace"), register(ledger, "Ben Okafor")
    reader = PayReader(projections.view)

    # Ada: a 10,000 quota, 5 % commission, 3 % accelerator, 2,500 bonus at 110 %. Ben: no quota, 5 %.
    ledger.set_quota(m, ada, 2026, SetQuota(amount="10000.00"))
    ada_plan = {
        "base_salary": "50000.00",
        "commission_rate": "0.05",
        "accelerator_rate": "0.03",
        "bonus_threshold": "1.1",
        "bonus_amount": "2500.00",
    }
    ledger.set_compensation_plan(m, ada, 2026, CompensationPlan.of(ada_plan))
    ben_plan = {
        "base_salary": "40000.00",
        "commission_rate": "0.05",
        "accelerator_rate": "0",
        "bonus_threshold": "1",
        "bonus_amount": "1000.00",
    }
    ledger.set_compensation_plan(m, ben, 2026, CompensationPlan.of(ben_plan))
    wayne = open_relationship(ledger, ada, "Wayne Enterprises", "key")

    def propose(value: str) -> UUID:
        return ledger.propose_contract(
            m,
            wayne,
            ProposeContract(
                title=f"Contract for {value}", value=value, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1)
            ),
        ).contract_id

    def sign(contract_id: UUID, signed_on: date) -> int:
        return ledger.sign_contract(m, wayne, contract_id, SignContract(signed_on=signed_on)).version

    # Ada signs one contract on New Year's Eve 2025 and two in 2026, exactly her quota: no accelerator, no bonus.
    sign(propose("2344.90"), date(2025, 12, 31))
    c1 = propose("4000.00")
    c1_signed = sign(c1, date(2026, 3, 1))
    c2 = propose("6000.00")
    c2_signed = sign(c2, date(2026, 6, 15))
    c3 = propose("12344.90")
    projections.catch_up()
    assert pay_text(reader.pay(str(ada), 2026)) == {
        "signed_value": "10000.00",
        "quota": "10000.00",
        "attainment": "1.0000",
        "base_salary": "50000.00",
        "commission": "500.00",
        "bonus": "0.00",
        "total": "50500.00",
    }
    assert pay_text(reader.pay(str(ada), 2025)) == {
        "signed_value": "2344.90",
        "quota": "0.00",
        "attainment": None,
        "base_salary": "0.00",
        "commission": "0.00",
        "bonus": "0.00",
        "total": "0.00",
    }

    # Wayne moves to Ben, who signs the contract Ada proposed: his credit; Ada keeps hers.
    ledger.assign_account_manager(
        m, wayne, AssignAccountManager(account_manager_id=ben, reason="Ada moves to key accounts")
    )
    sign(c3, date(2026, 7, 1))
    projections.catch_up()
    assert pay_text(reader.pay(str(ada), 2026))["signed_value"] == "10000.00"
    # 5 % of 12,344.90 is 617.245: rounded half-up, 617.25; no quota, so no bonus and no attainment.
    assert pay_text(reader.pay(str(ben), 2026)) == {
        "signed_value": "12344.90",
        "quota": "0.00",
        "attainment": None,
        "base_salary": "40000.00",
        "commission": "617.25",
        "bonus": "0.00",
        "total": "40617.25",
    }
    assert reader.signed_values(2026) == {str(ada): Decimal("10000.00"), str(ben): Decimal("12344.90")}

    # The June signature's value is corrected to 7,344.90: Ada passes 110 % of quota.
    ledger.correct_entry(
        m, wayne, CorrectEntry(corrects_version=c2_signed, reason="Typo in value", changes={"value": "7344.90"})
    )
    projections.catch_up()
    # 0.05 x 11,344.90 + 0.03 x 1,344.90 = 567.245 + 40.347 = 607.592.
    assert pay_text(reader.pay(str(ada), 2026)) == {
        "signed_value": "11344.90",
        "quota": "10000.00",
        "attainment": "1.1345",
        "base_salary": "50000.00",
        "commission": "607.59",
        "bonus": "2500.00",
        "total": "53107.59",
    }

    # The March signature's date is corrected into 2025: it leaves 2026's pay and joins 2025's.
    ledger.correct_entry(
        m,
        wayne,
        CorrectEntry(corrects_version=c1_signed, reason="Signed before year end", changes={"signed_on": "2025-12-15"}),
    )
    projections.catch_up()
    # 0.05 x 7,344.90 = 367.245, rounded half-up.
    assert pay_text(reader.pay(str(ada), 2026)) == {
        "signed_value": "7344.90",
        "quota": "10000.00",
        "attainment": "0.7345",
        "base_salary": "50000.00",
        "commission": "367.25",
        "bonus": "0.00",
        "total": "50367.25",
    }
    assert reader.pay(str(ada), 2025).signed_value == Decimal("6344.90")

    # Ada's quota is lowered to 7,000 (the accelerator applies above it, the bonus needs 7,700); Ben's contract
    # is terminated, which leaves what he signed.
    ledger.set_quota(m, ada, 2026, SetQuota(amount="7000.00"))
    ledger.terminate_contract(m, wayne, c3, TerminateContract(on=date(2026, 9, 1), reason="Client merged"))
    projections.catch_up()
    # 367.245 + 0.03 x 344.90 = 367.245 + 10.347 = 377.592.
    assert pay_text(reader.pay(str(ada), 2026)) == {
        "signed_value": "7344.90",
        "quota": "7000.00",
        "attainment": "1.0493",
        "base_salary": "50000.00",
        "commission": "377.59",
        "bonus": "0.00",
        "total": "50377.59",
    }
    assert pay_text(reader.pay(str(ben), 2026))["total"] == "40617.25"
    assert reader.quotas(2026) == {str(ada): Decimal("7000.00")}
    assert reader.pay(str(ada), 2026) == Pay(
        account_manager_id=str(ada),
        year=2026,
        signed_value=Decimal("7344.90"),
        quota=Decimal("7000.00"),
        attainment=Decimal("1.0493"),
        base_salary=Decimal("50000.00"),
        commission=Decimal("377.59"),
        bonus=Decimal("0.00"),
        total=Decimal("50377.59"),
    )


# -- gift register -------------------------------------------------------------


@dataclass
class GiftWorld:
    ada: UUID
    ben: UUID
    acme: UUID
    globex: UUID
    gifts: dict[str, UUID] = field(default_factory=dict)
    recipients: dict[str, UUID] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    """The relationship's version at each gift, to correct it by."""


@pytest.fixture
def gift_world(ledger: Ledger, projections: Projections) -> GiftWorld:
    m = audit_as(Role.MANAGER)
    ada, ben = register(ledger, "Ada Lovelace"), register(ledger, "Ben Okafor")
    w = GiftWorld(
        ada,
        ben,
        open_relationship(ledger, ada, "Acme Bank", "key", "financial_services"),
        open_relationship(ledger, ben, "Globex Capital", "major", "financial_services"),
    )

    def give(
        name: str,
        relationship: UUID,
        person: tuple[str, str],
        given_on: date,
        category: str,
        cost: str,
        description: str,
        **more: Any,
    ) -> int:
        result = ledger.give_gift(
            m,
            relationship,
            GiveGift(
                recipient=NamedRecipient(name=person[0], employer=person[1]),
                description=description,
                given_on=given_on,
                category=category,
                cost=cost,
                **more,
            ),
        )
        w.gifts[name] = result.gift_id
        w.versions[name] = result.version
        w.recipients[person[0].split()[0].lower()] = result.recipient_id
        return result.version

    # Jane Roe (Acme Bank): 50 and 35 four days apart under the $100 limit; then from Ben's time on the
    # relationship, 100 under the $300 limit (her name spelt differently) and a wedding gift that counts 0.
    give("g1", w.acme, ("Jane Roe", "Acme Bank"), date(2026, 2, 2), "general", "50.00", "Pen set")
    give("g2", w.acme, ("Jane Roe", "Acme Bank"), date(2026, 2, 6), "general", "30.00", "Wine", market_value="35.00")
    ledger.assign_account_manager(m, w.acme, AssignAccountManager(account_manager_id=ben, reason="Ada moves on"))
    give("g3", w.acme, ("  jane   ROE", "acme bank"), date(2026, 6, 1), "general", "100.00", "Hamper")
    give("g4", w.acme, ("Jane Roe", "Acme Bank"), date(2026, 6, 3), "personal", "250.00", "Wedding gift")
    # John Doe (Globex Capital): tickets worth their face value, then a hamper shared with two colleagues.
    give(
        "g5",
        w.globex,
        ("John Doe", "Globex Capital"),
        date(2026, 5, 1),
        "ticket",
        "200.00",
        "Concert tickets",
        face_value="250.00",
    )
    give(
        "g6",
        w.globex,
        ("John Doe", "Globex Capital"),
        date(2026, 5, 20),
        "general",
        "100.00",
        "Team hamper",
        shared_with=[
            {"name": "Sam Smith", "employer": "Globex Capital"},
            {"name": "Pat Lee", "employer": "Globex Capital"},
        ],
    )

    # Mary Major (Initrode): the whole 2025 limit on 30 December.
    give("g7", w.globex, ("Mary Major", "Initrode"), date(2025, 12, 30), "general", "100.00", "Crystal vase")
    projections.catch_up()
    return w


Gift = tuple[str, str, str | None, date, str | None, str | None, Decimal, Decimal, Decimal | None, str | None]


def gift_rows(entry: RecipientYear) -> list[Gift]:
    return [
        (
            g.gift_id,
            g.relationship_id or "",
            g.account_manager_id,
            g.given_on,
            g.category,
            g.description,
            g.cost,
            g.counted_value,
            g.limit,
            g.limit_year,
        )
        for g in entry.gifts
    ]


def test_the_gift_register_shows_each_gift_with_its_counted_value_and_each_recipients_total_limit_and_headroom(
    gift_world: GiftWorld, projections: Projections
) -> None:
    w, g = gift_world, {name: str(gift_id) for name, gift_id in gift_world.gifts.items()}
    acme, globex, ada, ben = str(w.acme), str(w.globex), str(w.ada), str(w.ben)
    reader = GiftRegisterReader(projections.view)

    register_2026 = reader.register(2026, date(2026, 7, 1))
    assert [
        (e.recipient_id, e.name, e.employer, e.limit_year, e.limit, e.counted_total, e.headroom) for e in register_2026
    ] == [
        (
            str(w.recipients["jane"]),
            "Jane Roe",
            "Acme Bank",
            "2026",
            Decimal("300.00"),
            Decimal("185.00"),
            Decimal("115.00"),
        ),
        (
            str(w.recipients["john"]),
            "John Doe",
            "Globex Capital",
            "2026",
            Decimal("300.00"),
            Decimal("283.33"),
            Decimal("16.67"),
        ),
        # John's two colleagues who shared the hamper: a third each, against their own limits.
        (
            str(GiftRecipient.id_for("Pat Lee", "Globex Capital")),
            "Pat Lee",
            "Globex Capital",
            "2026",
            Decimal("300.00"),
            Decimal("33.33"),
            Decimal("266.67"),
        ),
        (
            str(GiftRecipient.id_for("Sam Smith", "Globex Capital")),
            "Sam Smith",
            "Globex Capital",
            "2026",
            Decimal("300.00"),
            Decimal("33.33"),
            Decimal("266.67"),
        ),
    ]
    jane, john, _, _ = register_2026
    assert gift_rows(jane) == [
        (
            g["g1"],
            acme,
            ada,
            date(2026, 2, 2),
            "general",
            "Pen set",
            Decimal("50.00"),
            Decimal("50.00"),
            Decimal("100.00"),
            "2026",
        ),
        (
            g["g2"],
            acme,
            ada,
            date(2026, 2, 6),
            "general",
            "Wine",
            Decimal("30.00"),
            Decimal("35.00"),
            Decimal("100.00"),
            "2026",
        ),
        (
            g["g3"],
            acme,
            ben,
            date(2026, 6, 1),
            "general",
            "Hamper",
            Decimal("100.00"),
            Decimal("100.00"),
            Decimal("300.00"),
            "2026",
        ),
        (
            g["g4"],
            acme,
            ben,
            date(2026, 6, 3),
            "personal",
            "Wedding gift",
            Decimal("250.00"),
            Decimal("0.00"),
            Decimal("300.00"),
            "2026",
        ),
    ]
    assert gift_rows(john) == [
        (
            g["g5"],
            globex,
            ben,
            date(2026, 5, 1),
            "ticket",
            "Concert tickets",
            Decimal("200.00"),
            Decimal("250.00"),
            Decimal("300.00"),
            "2026",
        ),
        (
            g["g6"],
            globex,
            ben,
            date(2026, 5, 20),
            "general",
            "Team hamper",
            Decimal("100.00"),
            Decimal("33.33"),
            Decimal("300.00"),
            "2026",
        ),
    ]

    # 2025 was under the $100 limit, which Mary's vase used up.
    (mary,) = reader.register(2025, date(2026, 7, 1))
    assert (mary.name, mary.limit_year, mary.limit, mary.counted_total, mary.headroom) == (
        "Mary Major",
        "2025",
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
    )
    assert [row[0] for row in gift_rows(mary)] == [g["g7"]]

    # One recipient's year alone.
    only_jane = reader.register(2026, date(2026, 7, 1), recipient_id=str(w.recipients["jane"]))
    assert [e.name for e in only_jane] == ["Jane Roe"]
    assert gift_rows(only_jane[0]) == gift_rows(jane)


def test_a_corrected_gift_description_shows_in_the_register(
    gift_world: GiftWorld, ledger: Ledger, projections: Projections
) -> None:
    ledger.correct_entry(
        audit_as(Role.MANAGER),
        gift_world.acme,
        CorrectEntry(
            corrects_version=gift_world.versions["g1"],
            reason="Described wrongly",
            changes={"description": "Engraved pen set"},
        ),
    )
    projections.catch_up()

    (jane,) = GiftRegisterReader(projections.view).register(
        2026, date(2026, 7, 1), recipient_id=str(gift_world.recipients["jane"])
    )
    assert [(g.gift_id, g.description) for g in jane.gifts] == [
        (str(gift_world.gifts["g1"]), "Engraved pen set"),
        (str(gift_world.gifts["g2"]), "Wine"),
        (str(gift_world.gifts["g3"]), "Hamper"),
        (str(gift_world.gifts["g4"]), "Wedding gift"),
    ]


ExceptionRow = tuple[str, str, str, Decimal, Decimal, tuple[str, ...]]


def exception_rows(exceptions: list[GiftException]) -> list[ExceptionRow]:
    return [(e.kind, e.name, e.gift.gift_id, e.counted_total, e.limit, e.related_gift_ids) for e in exceptions]


def test_gift_exceptions_flag_totals_past_80_percent_of_the_limit_and_gifts_to_one_person_within_7_days(
    gift_world: GiftWorld, projections: Projections
) -> None:
    g = {name: str(gift_id) for name, gift_id in gift_world.gifts.items()}
    reader = GiftRegisterReader(projections.view)

    # The order of the exceptions is no part of the contract.
    assert sorted(exception_rows(reader.exceptions(2026, date(2026, 7, 1)))) == sorted(
        [
            # Jane: 50 + 35 = 85 passes 80 of the $100 limit; the two are four days apart. The hamper brings her
            # to 185, under 80 % of $300; the wedding gift two days later counts nothing, so it splits nothing,
            # but at $250 it costs more than the $100 review threshold.
            ("near_limit", "Jane Roe", g["g2"], Decimal("85.00"), Decimal("100.00"), ()),
            ("review", "Jane Roe", g["g4"], Decimal("185.00"), Decimal("300.00"), ()),
            ("split", "Jane Roe", g["g1"], Decimal("185.00"), Decimal("100.00"), (g["g2"],)),
            ("split", "Jane Roe", g["g2"], Decimal("185.00"), Decimal("100.00"), (g["g1"],)),
            # John: 250 of $300 at once, then 283.33; his two gifts are 19 days apart.
            ("near_limit", "John Doe", g["g5"], Decimal("250.00"), Decimal("300.00"), ()),
            ("near_limit", "John Doe", g["g6"], Decimal("283.33"), Decimal("300.00"), ()),
        ]
    )
    assert exception_rows(reader.exceptions(2025, date(2026, 7, 1))) == [
        ("near_limit", "Mary Major", g["g7"], Decimal("100.00"), Decimal("100.00"), ()),
    ]


def test_two_gifts_to_one_person_within_7_days_across_the_year_end_are_flagged_as_a_split(
    gift_world: GiftWorld, ledger: Ledger, projections: Projections
) -> None:
    # Mary had $100 on 30 December 2025; three days later, in a new limit year, another $100.
    new_year = ledger.give_gift(
        audit_as(Role.MANAGER),
        gift_world.globex,
        GiveGift(
            recipient=NamedRecipient(name="Mary Major", employer="Initrode"),
            description="Another vase",
            given_on=date(2026, 1, 2),
            category="general",
            cost="100.00",
        ),
    )
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    splits_2026 = [e for e in reader.exceptions(2026, date(2026, 7, 1)) if e.kind == "split" and e.name == "Mary Major"]
    assert [(e.gift.gift_id, e.related_gift_ids) for e in splits_2026] == [
        (str(new_year.gift_id), (str(gift_world.gifts["g7"]),))
    ]
    splits_2025 = [e for e in reader.exceptions(2025, date(2026, 7, 1)) if e.kind == "split"]
    assert [(e.gift.gift_id, e.related_gift_ids) for e in splits_2025] == [
        (str(gift_world.gifts["g7"]), (str(new_year.gift_id),))
    ]


def test_the_register_draws_its_limit_year_and_limit_from_the_policy_in_force(
    gift_world: GiftWorld, ledger: Ledger, projections: Projections
) -> None:
    compliance = audit_as(Role.COMPLIANCE)
    g = {name: str(gift_id) for name, gift_id in gift_world.gifts.items()}

    # Compliance moves to fiscal years starting in April, and lowers the limit to $250 from 15 June 2026.
    ledger.set_limit_year(compliance, SetLimitYear(kind="fiscal", start_month=4))
    ledger.schedule_gift_limit(
        compliance, ScheduleGiftLimit(effective_from=date(2026, 6, 15), amount="250.00", reason="Lowered")
    )
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    register_2026 = reader.register(2026, date(2026, 7, 1))
    assert [
        (e.name, e.limit_year, e.limit, e.counted_total, e.headroom, [row[0] for row in gift_rows(e)])
        for e in register_2026
        if e.name in ("Jane Roe", "John Doe")
    ] == [
        (
            "Jane Roe",
            "2026-04-01/2027-03-31",
            Decimal("250.00"),
            Decimal("100.00"),
            Decimal("150.00"),
            [g["g3"], g["g4"]],
        ),
        (
            "John Doe",
            "2026-04-01/2027-03-31",
            Decimal("250.00"),
            Decimal("283.33"),
            Decimal("0.00"),
            [g["g5"], g["g6"]],
        ),
    ]
    sharers = [(e.name, e.limit, e.counted_total) for e in register_2026 if e.name not in ("Jane Roe", "John Doe")]
    assert sharers == [
        ("Pat Lee", Decimal("250.00"), Decimal("33.33")),
        ("Sam Smith", Decimal("250.00"), Decimal("33.33")),
    ]
    # Each gift keeps the limit year and limit it was accepted under.
    assert {row[9] for e in register_2026 for row in gift_rows(e)} == {"2026"}
    # Fiscal 2025 runs from April 2025 to March 2026: Mary's vase and Jane's February gifts.
    assert [(e.name, e.limit, [row[0] for row in gift_rows(e)]) for e in reader.register(2025, date(2026, 7, 1))] == [
        ("Jane Roe", Decimal("300.00"), [g["g1"], g["g2"]]),
        ("Mary Major", Decimal("300.00"), [g["g7"]]),
    ]


# -- audit index ---------------------------------------------------------------


def positions_by_version(ledger: Ledger) -> dict[tuple[str, int], int]:
    """The global position of each (aggregate id, version) in the log."""
    found: dict[tuple[str, int], int] = {}
    start = 1
    while notifications := ledger.recorder.select_notifications(start=start, limit=1_000):
        for n in notifications:
            found[str(n.originator_id), n.originator_version] = n.id
        start = notifications[-1].id + 1
    return found


def test_the_audit_index_lists_each_actors_and_each_aggregates_events_in_order_with_the_four_audit_fields(
    ledger: Ledger, projections: Projections
) -> None:
    manager_actor, ada_actor = f"manager-{uuid.uuid4().hex[:8]}", f"ada-{uuid.uuid4().hex[:8]}"

    def as_manager() -> Audit:
        return audit_as(Role.MANAGER, actor_id=manager_actor)

    # A manager registers Ada; Ada opens a relationship for herself, logs a contact (in her client's time zone)
    # and gives a gift (three events in one request); the manager then changes the relationship's tier.
    registering = as_manager()
    ada = ledger.register_account_manager(
        registering, RegisterAccountManager(name="Ada Lovelace", email=f"ada.{uuid.uuid4().hex[:8]}@example.com")
    ).id
    audits = [audit_as(Role.ACCOUNT_MANAGER, account_manager_id=ada, actor_id=ada_actor) for _ in range(3)]
    relationship = ledger.open_relationship(
        audits[0],
        OpenRelationship(
            client_name="Northwind",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=ada,
        ),
    ).id
    ledger.log_contact(
        audits[1],
        relationship,
        LogContact(occurred_at=datetime(2026, 5, 4, 11, 0, tzinfo=PLUS_TWO), channel="call", summary="Check-in"),
    )
    gift = ledger.give_gift(
        audits[2],
        relationship,
        GiveGift(
            recipient=NamedRecipient(name="Jane Roe", employer="Acme Bank"),
            description="Pen",
            given_on=date(2026, 5, 1),
            category="general",
            cost="20.00",
        ),
    )
    tiering = as_manager()
    ledger.change_tier(tiering, relationship, ChangeTier(tier="key"))
    projections.catch_up()

    positions = positions_by_version(ledger)
    recorded = {
        (str(event.originator_id), event.originator_version): event.recorded_at.astimezone(UTC).isoformat(
            timespec="microseconds"
        )
        for aggregate_id in (ada, relationship, gift.recipient_id, INDEX_ID)
        for event in ledger.history(aggregate_id)
    }

    def row(
        aggregate_id: UUID, aggregate_type: str, version: int, event_type: str, audit: Audit, occurred_at: str | None
    ) -> IndexedEvent:
        key = (str(aggregate_id), version)
        return IndexedEvent(
            positions[key],
            str(aggregate_id),
            aggregate_type,
            version,
            event_type,
            audit.principal.id,
            audit.principal.role.value,
            audit.correlation_id,
            recorded[key],
            occurred_at,
        )

    registered = row(ada, "AccountManager", 1, "Registered", registering, None)
    opened = row(relationship, "ClientRelationship", 1, "Opened", audits[0], None)
    contact = row(relationship, "ClientRelationship", 2, "ContactLogged", audits[1], "2026-05-04T11:00:00+02:00")
    given = row(relationship, "ClientRelationship", 3, "GiftGiven", audits[2], "2026-05-01")
    recipient = row(gift.recipient_id, "GiftRecipient", 1, "Registered", audits[2], None)
    received = row(gift.recipient_id, "GiftRecipient", 2, "GiftReceived", audits[2], "2026-05-01")
    tier_changed = row(relationship, "ClientRelationship", 4, "TierChanged", tiering, None)
    # The first new recipient starts the ledger's recipient index (the ledger's own act, under the request's id).
    started = row(
        INDEX_ID, "RecipientIndex", 1, "Started", Audit(principal=SYSTEM, correlation_id=audits[2].correlation_id), None
    )
    indexed = row(INDEX_ID, "RecipientIndex", 2, "RecipientIndexed", audits[2], None)

    reader = AuditIndexReader(projections.view)
    assert reader.by_aggregate(str(INDEX_ID)) == [started, indexed]
    assert reader.by_actor(ada_actor) == sorted(
        [opened, contact, given, recipient, received, indexed], key=lambda e: e.position
    )
    assert reader.by_actor(manager_actor) == [registered, tier_changed]
    assert reader.by_aggregate(str(relationship)) == [opened, contact, given, tier_changed]
    assert reader.by_aggregate(str(gift.recipient_id)) == [recipient, received]
    # Paging: after a position, at most `limit`.
    assert reader.by_aggregate(str(relationship), after=contact.position, limit=1) == [given]
    assert (
        reader.by_actor(ada_actor, limit=2)
        == sorted([opened, contact, given, recipient, received, indexed], key=lambda e: e.position)[:2]
    )
    assert reader.by_actor(f"nobody-{uuid.uuid4().hex[:8]}") == []


# -- exactly once --------------------------------------------------------------


def drive(ledger: Ledger, commands: int, seed: int) -> LedgerDriver:
    """A few managers and relationships, then `commands` random commands."""
    driver = LedgerDriver(ledger)
    rng = random.Random(seed)
    for kind in ("register", "register", "open_relationship", "open_relationship", "open_relationship"):
        driver.run(kind, rng.getrandbits(24), rng.getrandbits(24))
    for _ in range(commands):
        driver.run(rng.choice(LedgerDriver.KINDS), rng.getrandbits(24), rng.getrandbits(24))
    return driver


def test_catching_up_twice_changes_no_row(ledger: Ledger, projections: Projections) -> None:
    drive(ledger, 80, seed=11)
    reached = projections.catch_up()
    before, positions = dump_views(projections.view), tracking_positions(projections.view)
    assert reached == head(ledger)

    assert projections.catch_up() == reached
    assert projections.run_once() == 0
    assert dump_views(projections.view) == before
    assert tracking_positions(projections.view) == positions
    assert audit_positions(projections.view) == stored_positions(ledger)


def test_applying_a_batch_again_changes_no_row_and_a_longer_one_applies_only_its_new_events(
    ledger: Ledger, projections: Projections, database_url: str
) -> None:
    drive(ledger, 60, seed=12)
    projections.catch_up()
    before = dump_views(projections.view)
    items = projections.read(0, 10_000)

    # The same events again, through each projection's own entry point: nothing changes.
    for projection in projections.projections:
        assert projection.process_batch(items) == head(ledger)
    assert dump_views(projections.view) == before

    # More commands; then one batch from the first event on: only the new events are applied.
    drive(ledger, 40, seed=13)
    longer = projections.read(0, 10_000)
    assert len(longer) > len(items)
    for projection in projections.projections:
        assert projection.process_batch(longer) == head(ledger)
    applied_once = dump_views(projections.view)
    assert audit_positions(projections.view) == stored_positions(ledger)

    # What a rebuild from the first event gives, beside the live views, is the same.
    rebuilt = build_projections(ledger, Settings(database_url=database_url))
    try:
        rebuilt.rebuild_from_scratch()
    finally:
        rebuilt.view.close()
    assert dump_views(projections.view) == applied_once


def test_two_projections_following_one_store_at_once_give_the_same_rows_as_one(
    ledger: Ledger, database_url: str
) -> None:
    settings = Settings(database_url=database_url)
    plan = SeedPlan(managers=3, relationships=15, events=1_500, random_seed=5, until=date(2026, 6, 30), batch_size=40)
    start = threading.Barrier(3)
    writing_done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            start.wait(timeout=30)
            seed_ledger(ledger, plan, progress=False)
        except BaseException as error:
            errors.append(error)
        finally:
            writing_done.set()

    def follow(projections: Projections) -> None:
        try:
            start.wait(timeout=30)
            deadline = time.monotonic() + 60
            while not (writing_done.is_set() and projections.position() >= head(ledger)):
                assert time.monotonic() < deadline, "the follower never caught up"
                projections.run_once()
        except BaseException as error:
            errors.append(error)

    # Two followers, each with its own ledger, view store and batch size, as two processes would have.
    with ExitStack() as stack:
        followers = []
        for batch_size in (23, 41):
            follower_ledger = stack.enter_context(build_ledger(settings))
            follower = Projections(follower_ledger, build_view_store(settings), batch_size=batch_size)
            stack.callback(follower.view.close)
            followers.append(follower)

        # The seed writes in small batches while both followers process whatever has arrived.
        threads = [threading.Thread(target=write), *(threading.Thread(target=follow, args=(p,)) for p in followers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in threads)

        view = followers[0].view
        together = dump_views(view)
        # Every event is in the audit index exactly once.
        assert len(stored_positions(ledger)) > plan.events
        assert audit_positions(view) == stored_positions(ledger)

        # One projections object rebuilding from the first event swaps in exactly the same rows.
        Projections(ledger, view).rebuild_from_scratch()
        assert dump_views(view) == together
