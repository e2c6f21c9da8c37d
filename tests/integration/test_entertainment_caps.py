"""Entertainment caps on both stores: per attendee per event and per attendee per limit year, under the caps in
force on each event's day, moved by corrections, and at the calendar's and the money's edges."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.commands import (
    CorrectEntry,
    OpenRelationship,
    ProvideEntertainment,
    RegisterAccountManager,
    ScheduleProgrammeRules,
)
from domain.exception_kinds import ExceptionKind, attendee_key, event_key
from domain.gift_recipient import GiftRecipient
from domain.values import Audit, Role
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from projections.entertainment import exception_rows
from projections.exception_rows import ExceptionContext, ExceptionRow
from projections.runner import Projections
from tests.conftest import audit_as

NOW = datetime(2199, 12, 31, 12, tzinfo=UTC)  # every business day up to 2199 may be recorded


@dataclass
class Firm:
    ledger: Ledger
    projections: Projections
    manager: Audit
    relationship_id: UUID

    def entertain(self, day: date, cost: str, *attendees: str) -> int:
        """Records entertainment; answers the relationship's version it is at."""
        command = ProvideEntertainment(
            occurred_on=day,
            description="Dinner",
            cost=cost,
            attendees=list(attendees) or ["Alice Ames"],
            representative_attended=True,
        )
        return self.ledger.provide_entertainment(self.manager, self.relationship_id, command).version

    def correct(self, version: int, **changes: object) -> None:
        command = CorrectEntry(corrects_version=version, reason="Receipt", changes=changes)
        self.ledger.correct_entry(self.manager, self.relationship_id, command)

    def schedule(self, effective_from: date, **rules: object) -> None:
        command = ScheduleProgrammeRules(effective_from=effective_from, reason="Policy", **rules)
        self.ledger.schedule_programme_rules(audit_as(Role.COMPLIANCE), command)

    def exceptions(self, year: int, kind: ExceptionKind | None = None) -> list[ExceptionRow]:
        self.projections.catch_up()
        policy = self.ledger.gift_policy()
        context = ExceptionContext(
            year=year,
            window=policy.limit_year.year_of(date(year, 1, 1)),
            today=NOW.date(),
            now=NOW,
            zone=UTC,
            policy=policy,
        )
        rows = exception_rows(self.projections.view, context)
        return [row for row in rows if kind is None or row.kind is kind]


@pytest.fixture
def firm(database_url: str) -> Iterator[Firm]:
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings, clock=lambda: NOW)
    projections = build_projections(ledger, settings, ["entertainment"])
    manager = audit_as(Role.MANAGER)
    am_id = ledger.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="a@b.example")).id
    relationship_id = ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name="Acme", client_kind="corporate", industry="technology", tier="major", account_manager_id=am_id
        ),
    ).id
    yield Firm(ledger, projections, manager, relationship_id)
    projections.view.close()
    ledger.close()


def attendee(name: str) -> str:
    return str(GiftRecipient.id_for(name, "Acme"))


def test_the_event_cap_holds_at_the_cap_and_is_passed_a_cent_over(firm: Firm) -> None:
    firm.entertain(date(2026, 3, 2), "500.00", "Alice Ames", "Bob Bell")  # 250.00 each: at the cap
    firm.entertain(date(2026, 3, 3), "750.01", "Carl Cole", "Dan Dorn", "Eve East")  # 250.0033: 250.00 each
    over = firm.entertain(date(2026, 3, 4), "500.02", "Fay Ford", "Gus Gale")  # 250.01 each
    rows = firm.exceptions(2026, ExceptionKind.ENTERTAINMENT_EVENT_CAP)
    assert [(row.key, row.amount, row.threshold, row.occurred_on) for row in rows] == [
        (event_key(firm.relationship_id, over), Decimal("250.01"), Decimal("250.00"), date(2026, 3, 4))
    ]
    assert rows[0].related_ids == (attendee("Fay Ford"), attendee("Gus Gale"))
    assert rows[0].relationship_id == str(firm.relationship_id)
    assert firm.exceptions(2026, ExceptionKind.ENTERTAINMENT_YEAR_CAP) == []


def test_the_year_cap_names_the_event_that_crosses_it_and_every_later_one_that_year(firm: Firm) -> None:
    for month in (1, 2, 3, 4):
        firm.entertain(date(2026, month, 10), "250.00")  # Alice reaches exactly 1,000.00
    assert firm.exceptions(2026) == []
    crossing = firm.entertain(date(2026, 5, 10), "0.02", "Alice Ames", "Bob Bell")  # 0.01 each
    later = firm.entertain(date(2026, 6, 10), "10.00")
    firm.entertain(date(2027, 1, 10), "10.00")  # a new limit year starts from nothing
    rows = firm.exceptions(2026, ExceptionKind.ENTERTAINMENT_YEAR_CAP)
    alice = attendee("Alice Ames")
    assert [(row.key, row.amount, row.threshold, row.recipient_id, row.name) for row in rows] == [
        (
            attendee_key(firm.relationship_id, crossing, alice),
            Decimal("1000.01"),
            Decimal("1000.00"),
            alice,
            "Alice Ames",
        ),
        (attendee_key(firm.relationship_id, later, alice), Decimal("1010.01"), Decimal("1000.00"), alice, "Alice Ames"),
    ]
    assert firm.exceptions(2027) == []


def test_an_event_entered_late_for_an_earlier_day_counts_in_its_days_order(firm: Firm) -> None:
    firm.entertain(date(2026, 6, 1), "600.00", "Alice Ames", "Bob Bell")  # 300 each: event cap
    firm.entertain(date(2026, 7, 1), "240.00")
    firm.entertain(date(2026, 8, 1), "240.00")
    early = firm.entertain(date(2026, 1, 5), "240.00")  # recorded last, took place first
    rows = firm.exceptions(2026, ExceptionKind.ENTERTAINMENT_YEAR_CAP)
    assert [(row.occurred_on, row.amount) for row in rows] == [(date(2026, 8, 1), Decimal("1020.00"))]
    assert early not in {int(row.key.split("/")[1]) for row in rows}


def test_the_caps_in_force_on_the_events_day_decide_and_a_cap_may_be_lifted(firm: Firm) -> None:
    firm.schedule(date(2026, 6, 1), entertainment_cap_per_event="100.00")
    firm.schedule(date(2026, 9, 1), entertainment_cap_per_event=None, entertainment_cap_per_year=None)
    firm.entertain(date(2026, 5, 31), "150.00")
    on_the_day = firm.entertain(date(2026, 6, 1), "150.00")
    firm.entertain(date(2026, 9, 1), "5000.00")  # no caps from September
    rows = firm.exceptions(2026)
    assert [(row.kind, row.key, row.threshold) for row in rows] == [
        (ExceptionKind.ENTERTAINMENT_EVENT_CAP, event_key(firm.relationship_id, on_the_day), Decimal("100.00"))
    ]


def test_a_correction_moves_the_exceptions(firm: Firm) -> None:
    over = firm.entertain(date(2026, 3, 1), "300.00")
    assert [row.key for row in firm.exceptions(2026)] == [event_key(firm.relationship_id, over)]
    firm.correct(over, cost="200.00")
    assert firm.exceptions(2026) == []
    firm.correct(over, attendees=["Alice Ames"], cost="600.00")
    assert [row.amount for row in firm.exceptions(2026)] == [Decimal("600.00")]
    firm.correct(over, attendees=["Alice Ames", "Bob Bell", "Carl Cole"])
    assert firm.exceptions(2026) == []
    for month in (4, 5, 6, 7, 8):
        firm.entertain(date(2026, month, 1), "200.00")
    assert [row.occurred_on for row in firm.exceptions(2026, ExceptionKind.ENTERTAINMENT_YEAR_CAP)] == [
        date(2026, 8, 1)
    ]  # Alice's third of it and four dinners make 1,000.00, at the cap; the fifth crosses it
    firm.correct(over, occurred_on="2025-12-31")  # out of 2026: five dinners make 1,000.00 again
    assert firm.exceptions(2026) == []
    assert firm.exceptions(2025) == []


def test_the_calendars_edges_and_the_largest_amounts_are_read_at_both_ends(firm: Firm) -> None:
    first = firm.entertain(date(1900, 1, 1), "9999999999.99")
    last = firm.entertain(date(2199, 12, 31), "9999999999.99", "Alice Ames", "Bob Bell")
    early, late = firm.exceptions(1900), firm.exceptions(2199)
    assert [(row.kind, row.key, row.amount) for row in early] == [
        (ExceptionKind.ENTERTAINMENT_EVENT_CAP, event_key(firm.relationship_id, first), Decimal("9999999999.99")),
        (
            ExceptionKind.ENTERTAINMENT_YEAR_CAP,
            attendee_key(firm.relationship_id, first, attendee("Alice Ames")),
            Decimal("9999999999.99"),
        ),
    ]
    assert [(row.kind, row.amount) for row in late] == [
        (ExceptionKind.ENTERTAINMENT_EVENT_CAP, Decimal("5000000000.00")),
        (ExceptionKind.ENTERTAINMENT_YEAR_CAP, Decimal("5000000000.00")),
        (ExceptionKind.ENTERTAINMENT_YEAR_CAP, Decimal("5000000000.00")),
    ]
    assert {row.key for row in late} >= {attendee_key(firm.relationship_id, last, attendee("Bob Bell"))}
