"""Attestation lateness at the quarter's edges in the firm's time zone (`LEDGER_FIRM_TIMEZONE`), with an injected
clock, on SQLite and PostgreSQL: on time to the last second of the due day there, overdue after it, expected only of
those active at the quarter's end and only when required, and the counts attested beside those recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain.application import Ledger
from domain.attestation import attestation_id
from domain.commands import (
    DeactivateAccountManager,
    GiveGift,
    OpenRelationship,
    ProvideEntertainment,
    RecordReceivedGift,
    RegisterAccountManager,
    ScheduleProgrammeRules,
    SubmitAttestation,
)
from domain.errors import RuleViolation
from domain.exception_kinds import ExceptionKind, attestation_key
from domain.values import Audit, Role
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from projections.attestations import AttestationRow, AttestationsReader, Counts, exception_rows
from projections.exception_rows import ExceptionContext
from projections.runner import Projections
from tests.conftest import audit_as

Q1 = "2026-Q1"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Firm:
    ledger: Ledger
    projections: Projections
    clock: Clock
    manager: Audit

    def at(self, text: str) -> None:
        self.clock.now = datetime.fromisoformat(text).astimezone(UTC)

    def register(self, name: str) -> UUID:
        command = RegisterAccountManager(name=name, email=f"{name.lower().replace(' ', '.')}@example.com")
        return self.ledger.register_account_manager(self.manager, command).id

    def require(self, **rules: object) -> None:
        command = ScheduleProgrammeRules(effective_from=date(2026, 3, 31), reason="Programme", **rules)
        self.ledger.schedule_programme_rules(audit_as(Role.COMPLIANCE), command)

    def attest(self, account_manager_id: UUID, quarter: str = Q1, gifts_given: int = 0) -> bool:
        command = SubmitAttestation(
            quarter=quarter,
            gifts_given=gifts_given,
            entertainment_given=0,
            gifts_received=0,
            entertainment_received=0,
            statement="All recorded.",
        )
        who = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id)
        return self.ledger.submit_attestation(who, account_manager_id, command).late

    def context(self) -> ExceptionContext:
        policy = self.ledger.gift_policy()
        return ExceptionContext(
            year=2026,
            window=policy.limit_year.year_of(date(2026, 1, 1)),
            today=self.ledger.today(),
            now=self.clock(),
            zone=self.ledger.firm_timezone,
            policy=policy,
        )

    def rows(self, quarter: str = Q1) -> dict[UUID, AttestationRow]:
        self.projections.catch_up()
        context = self.context()
        found = AttestationsReader(self.projections.view).quarter(
            quarter, context.today, context.now, context.zone, context.policy
        )
        return {UUID(row.account_manager_id): row for row in found}

    def late_keys(self) -> list[str]:
        self.projections.catch_up()
        found = exception_rows(self.projections.view, self.context())
        assert all(row.kind is ExceptionKind.LATE_ATTESTATION for row in found)
        return sorted(row.key for row in found)


def _firm(database_url: str, monkeypatch: pytest.MonkeyPatch, zone: str) -> Iterator[Firm]:
    clock = Clock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    monkeypatch.setattr("domain.model.utc_now", clock)  # events are recorded at the injected clock's time
    settings = Settings.from_env({Settings.variable_of("database_url"): database_url, "LEDGER_FIRM_TIMEZONE": zone})
    ledger = build_ledger(settings, clock=clock)
    projections = build_projections(ledger, settings, ["attestations", "entertainment", "received_gifts"])
    yield Firm(ledger, projections, clock, audit_as(Role.MANAGER))
    projections.view.close()
    ledger.close()


@pytest.fixture
def firm(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Firm]:
    yield from _firm(database_url, monkeypatch, "America/New_York")


def test_due_on_the_30th_of_april_in_new_york_on_time_to_its_last_second(firm: Firm) -> None:
    on_time, late, missing = firm.register("Ann Lee"), firm.register("Ben Ode"), firm.register("Cy Park")
    firm.at("2026-04-10T12:00:00+00:00")
    firm.require(attestations_required=True)
    firm.at("2026-05-01T03:59:59+00:00")  # 23:59:59 on 30 April in New York
    assert firm.attest(on_time) is False
    assert {m: r.status for m, r in firm.rows().items()} == {on_time: "submitted", late: "due", missing: "due"}
    assert firm.late_keys() == []
    firm.at("2026-05-01T04:00:00+00:00")  # midnight: 1 May in New York
    assert firm.attest(late) is True
    rows = firm.rows()
    assert {m: r.status for m, r in rows.items()} == {on_time: "submitted", late: "late", missing: "overdue"}
    assert {r.due_on for r in rows.values()} == {date(2026, 4, 30)}
    assert firm.late_keys() == sorted([attestation_key(late, Q1), attestation_key(missing, Q1)])


def test_a_quarter_can_be_attested_from_the_first_moment_after_it_in_the_firms_zone(firm: Firm) -> None:
    manager_id = firm.register("Ann Lee")
    firm.at("2026-07-01T03:59:00+00:00")
    with pytest.raises(RuleViolation, match="has not ended"):
        firm.attest(manager_id, "2026-Q2")
    firm.at("2026-07-01T04:00:00+00:00")
    assert firm.attest(manager_id, "2026-Q2") is False


def test_the_zone_is_the_firms_setting(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for firm in _firm(database_url, monkeypatch, "Asia/Tokyo"):
        manager_id = firm.register("Ann Lee")
        firm.at("2026-06-30T14:59:59+00:00")  # 23:59:59 on 30 June in Tokyo
        with pytest.raises(RuleViolation, match="has not ended"):
            firm.attest(manager_id, "2026-Q2")
        firm.at("2026-06-30T15:00:00+00:00")
        assert firm.attest(manager_id, "2026-Q2") is False


def test_nothing_is_late_when_attestations_are_not_required(firm: Firm) -> None:
    missing, submitted = firm.register("Ann Lee"), firm.register("Ben Ode")
    firm.at("2026-06-01T12:00:00+00:00")
    assert firm.attest(submitted) is False
    assert {m: r.status for m, r in firm.rows().items()} == {missing: "not_required", submitted: "submitted"}
    assert firm.late_keys() == []


def test_only_those_active_at_the_quarters_end_are_expected(firm: Firm) -> None:
    left_early, left_after, joined_after = firm.register("Ann Lee"), firm.register("Ben Ode"), None
    firm.at("2026-03-31T03:59:00+00:00")  # 30 March in New York
    firm.ledger.deactivate_account_manager(firm.manager, left_early, DeactivateAccountManager(reason="Left"))
    firm.at("2026-04-01T04:00:00+00:00")  # 1 April in New York: after the quarter
    firm.ledger.deactivate_account_manager(firm.manager, left_after, DeactivateAccountManager(reason="Left"))
    joined_after = firm.register("Cy Park")
    firm.require(attestations_required=True)
    firm.at("2026-06-01T12:00:00+00:00")
    assert {m: r.status for m, r in firm.rows().items()} == {left_after: "overdue"}
    assert firm.late_keys() == [attestation_key(left_after, Q1)]
    assert joined_after not in firm.rows()


def test_the_counts_attested_stand_beside_those_recorded_in_the_quarter(firm: Firm) -> None:
    manager_id = firm.register("Ann Lee")
    mine = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=manager_id)
    relationship_id = firm.ledger.open_relationship(
        firm.manager,
        OpenRelationship(
            client_name="Acme",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=manager_id,
        ),
    ).id
    firm.at("2026-04-10T12:00:00+00:00")
    for day, sharers in ((date(2026, 1, 5), []), (date(2026, 3, 31), [{"name": "Dee Ray", "employer": "Acme"}])):
        gift = GiveGift(
            recipient={"name": "Bob Smith", "employer": "Acme"},
            shared_with=sharers,
            description="Book",
            given_on=day,
            category="general",
            cost="40.00",
        )
        firm.ledger.give_gift(mine, relationship_id, gift)
    firm.ledger.give_gift(
        mine,
        relationship_id,
        GiveGift(
            recipient={"name": "Bob Smith", "employer": "Acme"},
            description="Pen",
            given_on=date(2026, 4, 1),  # the next quarter
            category="general",
            cost="10.00",
        ),
    )
    firm.ledger.provide_entertainment(
        mine,
        relationship_id,
        ProvideEntertainment(
            occurred_on=date(2026, 2, 2),
            description="Dinner",
            cost="90.00",
            attendees=["Bob Smith"],
            representative_attended=True,
        ),
    )
    for kind, day in (
        ("gift", date(2026, 3, 1)),
        ("entertainment", date(2026, 3, 2)),
        ("entertainment", date(2026, 3, 3)),
    ):
        firm.ledger.record_received_gift(
            mine,
            RecordReceivedGift(
                relationship_id=relationship_id,
                kind=kind,
                giver={"name": "Bob Smith", "employer": "Acme"},
                description="Tickets",
                received_on=day,
                cost="30.00",
            ),
        )
    firm.attest(manager_id, gifts_given=5)
    row = firm.rows()[manager_id]
    assert row.recorded == Counts(gifts_given=2, entertainment_given=1, gifts_received=1, entertainment_received=2)
    assert row.attested == Counts(gifts_given=5, entertainment_given=0, gifts_received=0, entertainment_received=0)


def test_sixteen_racing_attestations_of_one_quarter_store_one(firm: Firm) -> None:
    manager_id = firm.register("Ann Lee")
    firm.at("2026-04-02T12:00:00+00:00")
    barrier = threading.Barrier(16)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            firm.attest(manager_id)
        except RuleViolation as refusal:
            return "already attested" if "already attested" in str(refusal) else str(refusal)
        return "stored"

    with ThreadPoolExecutor(16) as pool:
        outcomes = sorted(pool.map(attempt, range(16)))
    assert outcomes == ["already attested"] * 15 + ["stored"]
    events = list(firm.ledger.history(attestation_id(manager_id, Q1)))
    assert [type(event).__name__ for event in events] == ["AttestationSubmitted"]
