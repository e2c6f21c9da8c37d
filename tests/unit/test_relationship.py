"""The ClientRelationship aggregate through the ledger: every invariant of DOMAIN.md, and corrections."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import Ledger
from domain.commands import (
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
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
    ReopenRelationship,
    RescheduleDemo,
    ScheduleDemo,
    SignContract,
    TerminateContract,
)
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.relationship import (
    AccountManagerAssigned,
    ContractSigned,
    EntryCorrected,
    StaffMember,
)
from domain.values import (
    Audit,
    ContractStatus,
    DemoStatus,
    IntroductionOutcome,
    RelationshipStatus,
    StaffRole,
    Tier,
)

MONDAY = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
STAFF: list[dict[str, Any]] = [{"name": "Dee Tech", "role": "technical"}, {"name": "Ray Design", "role": "design"}]


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def register(app: Ledger, audit: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    return app.register_account_manager(audit, RegisterAccountManager(name=f"Manager {email[:13]}", email=email)).id


@pytest.fixture
def account_manager_id(app: Ledger, manager: Audit) -> UUID:
    return register(app, manager)


@pytest.fixture
def relationship_id(app: Ledger, manager: Audit, account_manager_id: UUID) -> UUID:
    return open_relationship(app, manager, account_manager_id)


def open_relationship(app: Ledger, audit: Audit, account_manager_id: UUID, tier: str = "standard") -> UUID:
    return app.open_relationship(
        audit,
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="corporate",
            industry="financial_services",
            tier=tier,
            account_manager_id=account_manager_id,
        ),
    ).id


def stored_events(app: Ledger) -> int:
    """How many events the whole ledger holds: a refused command must leave it unchanged."""
    return app.recorder.max_notification_id() or 0


def propose(app: Ledger, audit: Audit, relationship_id: UUID, value: str = "1200.00") -> UUID:
    return app.propose_contract(
        audit,
        relationship_id,
        ProposeContract(title="Retainer", value=value, starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31)),
    ).contract_id


def schedule(app: Ledger, audit: Audit, relationship_id: UUID) -> UUID:
    return app.schedule_demo(
        audit,
        relationship_id,
        ScheduleDemo(product="Analytics", scheduled_for=MONDAY + timedelta(days=7), location="Client HQ", staff=STAFF),
    ).demo_id


def refuses(error: type[Exception], app: Ledger, command: Callable[[], object], match: str | None = None) -> None:
    """Runs a command that must be refused with `error`, and checks that it stored nothing."""
    before = stored_events(app)
    with pytest.raises(error, match=match):
        command()
    assert stored_events(app) == before


# -- opening -----------------------------------------------------------------


def test_a_relationship_opens_with_its_client_and_account_manager(
    app: Ledger, manager: Audit, account_manager_id: UUID
) -> None:
    result = app.open_relationship(
        manager,
        OpenRelationship(
            client_name="Globex Corporation",
            client_kind="corporate",
            industry="advertising",
            tier="key",
            account_manager_id=account_manager_id,
        ),
    )

    relationship = app.relationship(result.id)
    assert result.version == relationship.version == 1
    assert relationship.client_name == "Globex Corporation"
    assert relationship.tier is Tier.KEY
    assert relationship.account_manager_id == account_manager_id
    assert relationship.status is RelationshipStatus.OPEN
    assert (relationship.contracts, relationship.demos, relationship.gifts_given) == ({}, {}, 0)


def test_a_relationship_cannot_be_opened_for_a_deactivated_account_manager(
    app: Ledger, manager: Audit, account_manager_id: UUID
) -> None:
    app.deactivate_account_manager(manager, account_manager_id, DeactivateAccountManager(reason="left"))

    refuses(RuleViolation, app, lambda: open_relationship(app, manager, account_manager_id), "deactivated")


@pytest.mark.parametrize(
    ("field", "value"),
    [("client_kind", "partnership"), ("industry", "mining"), ("tier", "gold"), ("client_name", "")],
)
def test_a_relationship_with_an_unknown_choice_or_no_name_is_refused(
    app: Ledger, manager: Audit, account_manager_id: UUID, field: str, value: str
) -> None:
    given = {"client_name": "Initech", "client_kind": "individual", "industry": "other", "tier": "major"}

    refuses(
        InvalidInput,
        app,
        lambda: app.open_relationship(
            manager, OpenRelationship(account_manager_id=account_manager_id, **{**given, field: value})
        ),
        field,
    )


# -- assignment --------------------------------------------------------------


def test_a_relationship_is_reassigned_to_another_active_account_manager(
    app: Ledger, manager: Audit, account_manager_id: UUID, relationship_id: UUID
) -> None:
    successor = register(app, manager)

    app.assign_account_manager(
        manager, relationship_id, AssignAccountManager(account_manager_id=successor, reason="rebalancing")
    )

    assert app.relationship(relationship_id).account_manager_id == successor
    last = list(app.history(relationship_id))[-1]
    assert isinstance(last, AccountManagerAssigned)
    assert (last.account_manager_id, last.previous_account_manager_id) == (successor, account_manager_id)


def test_only_an_active_account_manager_can_be_assigned(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    successor = register(app, manager)
    app.deactivate_account_manager(manager, successor, DeactivateAccountManager(reason="on leave"))

    refuses(
        RuleViolation,
        app,
        lambda: app.assign_account_manager(
            manager, relationship_id, AssignAccountManager(account_manager_id=successor, reason="cover")
        ),
        "deactivated",
    )


def test_assigning_the_current_account_manager_again_is_refused(
    app: Ledger, manager: Audit, account_manager_id: UUID, relationship_id: UUID
) -> None:
    refuses(
        RuleViolation,
        app,
        lambda: app.assign_account_manager(
            manager, relationship_id, AssignAccountManager(account_manager_id=account_manager_id, reason="no-op")
        ),
        "already",
    )


def test_assigning_an_unknown_account_manager_is_not_found(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        NotFound,
        app,
        lambda: app.assign_account_manager(
            manager, relationship_id, AssignAccountManager(account_manager_id=uuid4(), reason="x")
        ),
    )


# -- tier and cadence --------------------------------------------------------


def test_the_tier_and_the_contact_cadence_can_be_changed(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))
    app.change_cadence(manager, relationship_id, ChangeCadence(days=10))

    relationship = app.relationship(relationship_id)
    assert (relationship.tier, relationship.cadence_days) == (Tier.KEY, 10)


def test_changing_to_the_same_tier_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        RuleViolation, app, lambda: app.change_tier(manager, relationship_id, ChangeTier(tier="standard")), "already"
    )


@pytest.mark.parametrize("days", [0, 366, -7])
def test_a_contact_cadence_outside_one_day_to_a_year_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID, days: int
) -> None:
    refuses(InvalidInput, app, lambda: app.change_cadence(manager, relationship_id, ChangeCadence(days=days)), "days")


# -- contacts and product introductions --------------------------------------


def test_the_latest_contact_sets_the_last_contact_and_the_next_follow_up(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    app.log_contact(
        manager,
        relationship_id,
        LogContact(occurred_at=MONDAY, channel="call", summary="Intro", next_follow_up_on=date(2026, 5, 11)),
    )
    # A contact that happened earlier, recorded later, is not the latest contact.
    app.log_contact(
        manager,
        relationship_id,
        LogContact(
            occurred_at=MONDAY - timedelta(days=3),
            channel="email",
            summary="Cold email",
            next_follow_up_on=date(2026, 5, 5),
        ),
    )

    relationship = app.relationship(relationship_id)
    assert relationship.last_contact_at == MONDAY
    assert relationship.next_follow_up_on == date(2026, 5, 11)
    assert relationship.last_contact_version == 2


def test_a_contact_at_a_naive_time_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.log_contact(
            manager, relationship_id, LogContact(occurred_at=datetime(2026, 5, 4, 15, 0), channel="call", summary="x")
        ),
        "occurred_at",
    )


def test_a_follow_up_before_the_contact_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.log_contact(
            manager,
            relationship_id,
            LogContact(occurred_at=MONDAY, channel="meeting", summary="Lunch", next_follow_up_on=date(2026, 5, 3)),
        ),
        "next_follow_up_on",
    )


def test_a_contact_on_an_unknown_channel_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.log_contact(manager, relationship_id, LogContact(occurred_at=MONDAY, channel="fax", summary="x")),
        "channel",
    )


def test_a_product_introduction_records_its_outcome(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Analytics", occurred_at=MONDAY, outcome="pending")
    )
    app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Analytics", occurred_at=MONDAY, outcome="interested")
    )
    app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Hosting", occurred_at=MONDAY, outcome="declined")
    )

    assert app.relationship(relationship_id).products == {
        "Analytics": IntroductionOutcome.INTERESTED,
        "Hosting": IntroductionOutcome.DECLINED,
    }


def test_a_product_introduction_at_a_naive_time_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.introduce_product(
            manager,
            relationship_id,
            IntroduceProduct(product="Analytics", occurred_at=datetime(2026, 5, 4), outcome="pending"),
        ),
    )


# -- demos -------------------------------------------------------------------


def test_a_demo_is_scheduled_with_the_staff_it_sends(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    demo_id = schedule(app, manager, relationship_id)

    demo = app.relationship(relationship_id).demos[demo_id]
    assert demo.status is DemoStatus.SCHEDULED
    assert demo.scheduled_for == MONDAY + timedelta(days=7)
    assert demo.staff == [
        StaffMember(name="Dee Tech", role=StaffRole.TECHNICAL),
        StaffMember(name="Ray Design", role=StaffRole.DESIGN),
    ]


def test_a_scheduled_demo_can_be_rescheduled_and_then_completed(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    demo_id = schedule(app, manager, relationship_id)

    app.reschedule_demo(manager, relationship_id, demo_id, RescheduleDemo(scheduled_for=MONDAY + timedelta(days=9)))
    app.complete_demo(manager, relationship_id, demo_id, CompleteDemo(outcome="They want a pilot"))

    demo = app.relationship(relationship_id).demos[demo_id]
    assert demo.scheduled_for == MONDAY + timedelta(days=9)
    assert (demo.status, demo.outcome) == (DemoStatus.COMPLETED, "They want a pilot")


def test_a_scheduled_demo_can_be_cancelled(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    demo_id = schedule(app, manager, relationship_id)

    app.cancel_demo(manager, relationship_id, demo_id, CancelDemo(reason="Client travelling"))

    assert app.relationship(relationship_id).demos[demo_id].status is DemoStatus.CANCELLED


def _complete(app: Ledger, audit: Audit, relationship_id: UUID, demo_id: UUID) -> object:
    return app.complete_demo(audit, relationship_id, demo_id, CompleteDemo(outcome="Done"))


def _cancel(app: Ledger, audit: Audit, relationship_id: UUID, demo_id: UUID) -> object:
    return app.cancel_demo(audit, relationship_id, demo_id, CancelDemo(reason="Off"))


def _reschedule(app: Ledger, audit: Audit, relationship_id: UUID, demo_id: UUID) -> object:
    return app.reschedule_demo(
        audit, relationship_id, demo_id, RescheduleDemo(scheduled_for=MONDAY + timedelta(days=30))
    )


DemoCommand = Callable[[Ledger, Audit, UUID, UUID], object]


@pytest.mark.parametrize("first", [_complete, _cancel], ids=["completed", "cancelled"])
@pytest.mark.parametrize(
    "then", [_complete, _cancel, _reschedule], ids=["then-completed", "then-cancelled", "then-rescheduled"]
)
def test_a_demo_no_longer_scheduled_can_be_neither_completed_cancelled_nor_rescheduled(
    app: Ledger, manager: Audit, relationship_id: UUID, first: DemoCommand, then: DemoCommand
) -> None:
    demo_id = schedule(app, manager, relationship_id)
    first(app, manager, relationship_id, demo_id)

    refuses(RuleViolation, app, lambda: then(app, manager, relationship_id, demo_id), "only a scheduled demo")


@pytest.mark.parametrize("command", [_complete, _cancel, _reschedule], ids=["complete", "cancel", "reschedule"])
def test_an_unknown_demo_is_not_found(app: Ledger, manager: Audit, relationship_id: UUID, command: DemoCommand) -> None:
    refuses(NotFound, app, lambda: command(app, manager, relationship_id, uuid4()), "No demo")


def test_a_demo_at_a_naive_time_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    demo_id = schedule(app, manager, relationship_id)
    naive = datetime(2026, 5, 20, 10, 0)

    refuses(
        InvalidInput,
        app,
        lambda: app.schedule_demo(
            manager, relationship_id, ScheduleDemo(product="Analytics", scheduled_for=naive, location="HQ", staff=STAFF)
        ),
        "scheduled_for",
    )
    refuses(
        InvalidInput,
        app,
        lambda: app.reschedule_demo(manager, relationship_id, demo_id, RescheduleDemo(scheduled_for=naive)),
    )


@pytest.mark.parametrize("staff", [[], [{"name": "Dee", "role": "juggler"}], [{"name": "", "role": "design"}]])
def test_a_demo_needs_staff_with_known_roles(
    app: Ledger, manager: Audit, relationship_id: UUID, staff: list[dict[str, Any]]
) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.schedule_demo(
            manager,
            relationship_id,
            ScheduleDemo(product="Analytics", scheduled_for=MONDAY, location="HQ", staff=staff),
        ),
        "staff",
    )


# -- contracts ---------------------------------------------------------------


def test_a_proposed_contract_is_signed_and_credited_to_the_manager_at_signing(
    app: Ledger, manager: Audit, account_manager_id: UUID, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id, value="1250.00")

    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20)))
    # The credit stays with the manager who was assigned when the contract was signed.
    app.assign_account_manager(
        manager, relationship_id, AssignAccountManager(account_manager_id=register(app, manager), reason="promotion")
    )

    contract = app.relationship(relationship_id).contracts[contract_id]
    assert contract.status is ContractStatus.SIGNED
    assert contract.signed_on == date(2026, 5, 20)
    assert contract.value == Decimal("1250.00")
    assert contract.credited_account_manager_id == account_manager_id
    signed = [event for event in app.history(relationship_id) if isinstance(event, ContractSigned)]
    assert [(event.value, event.credited_account_manager_id) for event in signed] == [
        (Decimal("1250.00"), account_manager_id)
    ]


def test_a_contract_can_be_signed_only_once(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    contract_id = propose(app, manager, relationship_id)
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20)))

    refuses(
        RuleViolation,
        app,
        lambda: app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 21))),
        "only once",
    )


def test_a_contract_that_was_never_proposed_cannot_be_signed(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    refuses(
        NotFound,
        app,
        lambda: app.sign_contract(manager, relationship_id, uuid4(), SignContract(signed_on=date(2026, 5, 20))),
        "No contract",
    )


def test_a_proposed_contract_cannot_be_terminated(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    contract_id = propose(app, manager, relationship_id)

    refuses(
        RuleViolation,
        app,
        lambda: app.terminate_contract(
            manager, relationship_id, contract_id, TerminateContract(on=date(2026, 7, 1), reason="x")
        ),
        "only a signed contract",
    )


def test_a_signed_contract_is_terminated_once_and_then_cannot_be_signed_again(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id)
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20)))

    app.terminate_contract(
        manager, relationship_id, contract_id, TerminateContract(on=date(2026, 9, 1), reason="Budget cut")
    )

    contract = app.relationship(relationship_id).contracts[contract_id]
    assert (contract.status, contract.terminated_on) == (ContractStatus.TERMINATED, date(2026, 9, 1))
    refuses(
        RuleViolation,
        app,
        lambda: app.terminate_contract(
            manager, relationship_id, contract_id, TerminateContract(on=date(2026, 9, 2), reason="again")
        ),
    )
    refuses(
        RuleViolation,
        app,
        lambda: app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 9, 3))),
    )


def test_a_contract_cannot_be_terminated_before_it_was_signed(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id)
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20)))

    refuses(
        RuleViolation,
        app,
        lambda: app.terminate_contract(
            manager, relationship_id, contract_id, TerminateContract(on=date(2026, 5, 19), reason="x")
        ),
        "before it was signed",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than zero"),
        ("-500.00", "greater than zero"),
        ("1250.005", "at most two decimal places"),
        (1250.0, "float"),
        ("a lot", "not a decimal number"),
    ],
)
def test_a_contract_value_must_be_a_positive_amount_of_cents_given_exactly(
    app: Ledger, manager: Audit, relationship_id: UUID, value: Any, message: str
) -> None:
    refuses(InvalidInput, app, lambda: propose(app, manager, relationship_id, value=value), message)


def test_a_contract_value_too_large_for_cents_is_refused_as_invalid_input(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    refuses(InvalidInput, app, lambda: propose(app, manager, relationship_id, value="1e30"))


@pytest.mark.parametrize("ends_on", [date(2026, 6, 1), date(2026, 5, 31)])
def test_a_contract_must_end_after_it_starts(app: Ledger, manager: Audit, relationship_id: UUID, ends_on: date) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.propose_contract(
            manager,
            relationship_id,
            ProposeContract(title="Retainer", value="10.00", starts_on=date(2026, 6, 1), ends_on=ends_on),
        ),
        "ends_on",
    )


# -- entertainment -----------------------------------------------------------


def test_entertainment_the_representative_attends_is_recorded(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    result = app.provide_entertainment(
        manager,
        relationship_id,
        ProvideEntertainment(
            occurred_on=date(2026, 5, 8),
            description="Dinner",
            cost="480.00",
            attendees=["Bob Smith", "Ann Lee"],
            representative_attended=True,
        ),
    )

    assert result.version == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"representative_attended": False}, "ticket"),
        ({"cost": "0"}, "cost"),
        ({"cost": 99.5}, "cost"),
        ({"attendees": []}, "attendees"),
    ],
)
def test_entertainment_without_the_representative_or_a_positive_cost_or_attendees_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID, change: dict[str, Any], message: str
) -> None:
    given: dict[str, Any] = {
        "occurred_on": date(2026, 5, 8),
        "description": "Dinner",
        "cost": "480.00",
        "attendees": ["Bob Smith"],
        "representative_attended": True,
    }

    refuses(
        InvalidInput,
        app,
        lambda: app.provide_entertainment(manager, relationship_id, ProvideEntertainment(**{**given, **change})),
        message,
    )


# -- closing -----------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    """A closed relationship with a scheduled demo, a proposed contract and a signed one."""

    relationship_id: UUID
    demo_id: UUID
    proposed_id: UUID
    signed_id: UUID


@pytest.fixture
def closed(app: Ledger, manager: Audit, relationship_id: UUID) -> Closed:
    demo_id = schedule(app, manager, relationship_id)
    proposed_id = propose(app, manager, relationship_id)
    signed_id = propose(app, manager, relationship_id)
    app.sign_contract(manager, relationship_id, signed_id, SignContract(signed_on=date(2026, 5, 20)))
    app.close_relationship(manager, relationship_id, CloseRelationship(reason="Client acquired"))
    return Closed(relationship_id, demo_id, proposed_id, signed_id)


ClosedCommand = Callable[[Ledger, Audit, Closed], object]

COMMANDS_ON_A_CLOSED_RELATIONSHIP: dict[str, ClosedCommand] = {
    "change tier": lambda app, a, c: app.change_tier(a, c.relationship_id, ChangeTier(tier="key")),
    "change cadence": lambda app, a, c: app.change_cadence(a, c.relationship_id, ChangeCadence(days=3)),
    "log contact": lambda app, a, c: app.log_contact(
        a, c.relationship_id, LogContact(occurred_at=MONDAY, channel="call", summary="x")
    ),
    "introduce product": lambda app, a, c: app.introduce_product(
        a, c.relationship_id, IntroduceProduct(product="P", occurred_at=MONDAY, outcome="pending")
    ),
    "schedule demo": lambda app, a, c: schedule(app, a, c.relationship_id),
    "reschedule demo": lambda app, a, c: _reschedule(app, a, c.relationship_id, c.demo_id),
    "complete demo": lambda app, a, c: _complete(app, a, c.relationship_id, c.demo_id),
    "cancel demo": lambda app, a, c: _cancel(app, a, c.relationship_id, c.demo_id),
    "propose contract": lambda app, a, c: propose(app, a, c.relationship_id),
    "sign contract": lambda app, a, c: app.sign_contract(
        a, c.relationship_id, c.proposed_id, SignContract(signed_on=date(2026, 6, 1))
    ),
    "terminate contract": lambda app, a, c: app.terminate_contract(
        a, c.relationship_id, c.signed_id, TerminateContract(on=date(2026, 9, 1), reason="x")
    ),
    "give gift": lambda app, a, c: app.give_gift(
        a,
        c.relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Bob Smith", employer="Acme"),
            description="Wine",
            given_on=date(2026, 6, 1),
            category="general",
            cost="50.00",
        ),
    ),
    "provide entertainment": lambda app, a, c: app.provide_entertainment(
        a,
        c.relationship_id,
        ProvideEntertainment(
            occurred_on=date(2026, 6, 1),
            description="Dinner",
            cost="80.00",
            attendees=["Bob"],
            representative_attended=True,
        ),
    ),
    "correct entry": lambda app, a, c: app.correct_entry(
        a, c.relationship_id, CorrectEntry(corrects_version=1, reason="typo", changes={"client_name": "Renamed"})
    ),
    "close": lambda app, a, c: app.close_relationship(a, c.relationship_id, CloseRelationship(reason="again")),
}


@pytest.mark.parametrize("command", COMMANDS_ON_A_CLOSED_RELATIONSHIP.values(), ids=COMMANDS_ON_A_CLOSED_RELATIONSHIP)
def test_nothing_is_recorded_on_a_closed_relationship(
    app: Ledger, manager: Audit, closed: Closed, command: ClosedCommand
) -> None:
    refuses(RuleViolation, app, lambda: command(app, manager, closed), "closed")


def test_a_closed_relationship_cannot_be_reassigned(app: Ledger, manager: Audit, closed: Closed) -> None:
    successor = register(app, manager)

    refuses(
        RuleViolation,
        app,
        lambda: app.assign_account_manager(
            manager, closed.relationship_id, AssignAccountManager(account_manager_id=successor, reason="x")
        ),
        "closed",
    )


def test_a_reopened_relationship_takes_records_again(app: Ledger, manager: Audit, closed: Closed) -> None:
    app.reopen_relationship(manager, closed.relationship_id, ReopenRelationship(reason="Client is back"))

    app.complete_demo(manager, closed.relationship_id, closed.demo_id, CompleteDemo(outcome="Went well"))

    relationship = app.relationship(closed.relationship_id)
    assert relationship.status is RelationshipStatus.OPEN
    assert relationship.demos[closed.demo_id].status is DemoStatus.COMPLETED


def test_only_a_closed_relationship_can_be_reopened(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        RuleViolation,
        app,
        lambda: app.reopen_relationship(manager, relationship_id, ReopenRelationship(reason="x")),
        "only a closed",
    )


def test_closing_needs_a_reason(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.close_relationship(manager, relationship_id, CloseRelationship(reason="")),
        "reason",
    )


# -- corrections -------------------------------------------------------------


def correct(app: Ledger, audit: Audit, relationship_id: UUID, version: int, **changes: Any) -> int:
    return app.correct_entry(
        audit, relationship_id, CorrectEntry(corrects_version=version, reason="Typed it wrong", changes=changes)
    ).version


def test_a_correction_of_a_proposed_contract_changes_its_terms_and_is_stored_as_an_event(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id, value="1200.00")

    version = correct(app, manager, relationship_id, 2, value="1500.00", ends_on=date(2027, 12, 31))

    contract = app.relationship(relationship_id).contracts[contract_id]
    assert (contract.value, contract.ends_on) == (Decimal("1500.00"), date(2027, 12, 31))
    correction = list(app.history(relationship_id))[version - 1]
    assert isinstance(correction, EntryCorrected)
    assert correction.corrects_version == 2
    assert correction.corrected_type == "ledger:ClientRelationship.ContractProposed"
    assert correction.target == str(contract_id)
    assert correction.reason == "Typed it wrong"
    assert correction.changes == {"value": "1500.00", "ends_on": "2027-12-31"}


def test_a_correction_of_the_latest_contact_changes_the_next_follow_up(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    version = app.log_contact(
        manager,
        relationship_id,
        LogContact(occurred_at=MONDAY, channel="call", summary="x", next_follow_up_on=date(2026, 5, 11)),
    ).version

    correct(app, manager, relationship_id, version, next_follow_up_on=date(2026, 5, 18))

    assert app.relationship(relationship_id).next_follow_up_on == date(2026, 5, 18)


def test_a_correction_of_an_earlier_contacts_follow_up_leaves_the_latest_in_force(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    earlier = app.log_contact(
        manager,
        relationship_id,
        LogContact(occurred_at=MONDAY, channel="call", summary="x", next_follow_up_on=date(2026, 5, 11)),
    ).version
    app.log_contact(
        manager,
        relationship_id,
        LogContact(
            occurred_at=MONDAY + timedelta(days=2), channel="visit", summary="y", next_follow_up_on=date(2026, 5, 20)
        ),
    )

    correct(app, manager, relationship_id, earlier, next_follow_up_on=date(2026, 5, 12))

    assert app.relationship(relationship_id).next_follow_up_on == date(2026, 5, 20)


def test_moving_the_latest_contact_earlier_makes_the_other_contact_the_latest(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    # Two contacts: May 4 (recorded first, the latest) and May 1.
    latest = app.log_contact(
        manager,
        relationship_id,
        LogContact(occurred_at=MONDAY, channel="call", summary="x", next_follow_up_on=date(2026, 5, 11)),
    ).version
    other = app.log_contact(
        manager,
        relationship_id,
        LogContact(
            occurred_at=MONDAY - timedelta(days=3), channel="email", summary="y", next_follow_up_on=date(2026, 5, 8)
        ),
    ).version
    # The May 4 contact really happened on April 27.
    correct(app, manager, relationship_id, latest, occurred_at=MONDAY - timedelta(days=7))

    relationship = app.relationship(relationship_id)
    assert relationship.last_contact_at == MONDAY - timedelta(days=3)
    assert relationship.last_contact_version == other
    assert relationship.next_follow_up_on == date(2026, 5, 8)


def test_moving_an_earlier_contact_later_brings_its_follow_up_into_force(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    app.log_contact(
        manager,
        relationship_id,
        LogContact(occurred_at=MONDAY, channel="call", summary="x", next_follow_up_on=date(2026, 5, 11)),
    )
    earlier = app.log_contact(
        manager,
        relationship_id,
        LogContact(
            occurred_at=MONDAY - timedelta(days=3), channel="email", summary="y", next_follow_up_on=date(2026, 5, 25)
        ),
    ).version
    # The May 1 contact really happened on May 6, after the other one.
    correct(app, manager, relationship_id, earlier, occurred_at=MONDAY + timedelta(days=2))

    relationship = app.relationship(relationship_id)
    assert relationship.last_contact_at == MONDAY + timedelta(days=2)
    assert relationship.last_contact_version == earlier
    assert relationship.next_follow_up_on == date(2026, 5, 25)


def test_a_correction_of_the_opening_renames_the_client(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    correct(app, manager, relationship_id, 1, client_name="Globex Corp.", industry="technology")

    relationship = app.relationship(relationship_id)
    assert (relationship.client_name, relationship.industry) == ("Globex Corp.", "technology")


def test_corrections_of_a_product_introduction_and_of_a_demo_change_their_state(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    introduced = app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Analytics", occurred_at=MONDAY, outcome="pending")
    ).version
    demo_id = schedule(app, manager, relationship_id)
    completed = app.complete_demo(manager, relationship_id, demo_id, CompleteDemo(outcome="Meh")).version

    correct(app, manager, relationship_id, introduced, outcome="declined")
    correct(app, manager, relationship_id, introduced + 1, location="Client lab")
    correct(app, manager, relationship_id, completed, outcome="They want a pilot")

    relationship = app.relationship(relationship_id)
    assert relationship.products == {"Analytics": IntroductionOutcome.DECLINED}
    assert (relationship.demos[demo_id].location, relationship.demos[demo_id].outcome) == (
        "Client lab",
        "They want a pilot",
    )


def test_a_correction_of_an_earlier_introduction_leaves_the_latest_outcome_in_force(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    earlier = app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Analytics", occurred_at=MONDAY, outcome="pending")
    ).version
    app.introduce_product(
        manager,
        relationship_id,
        IntroduceProduct(product="Analytics", occurred_at=MONDAY + timedelta(days=7), outcome="interested"),
    )

    correct(app, manager, relationship_id, earlier, outcome="declined")

    assert app.relationship(relationship_id).products == {"Analytics": IntroductionOutcome.INTERESTED}


def test_a_correction_of_a_signature_changes_the_signed_value(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id, value="1200.00")
    signed = app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20))).version

    correct(app, manager, relationship_id, signed, value="1100.00", signed_on=date(2026, 5, 21))

    contract = app.relationship(relationship_id).contracts[contract_id]
    assert (contract.value, contract.signed_on) == (Decimal("1100.00"), date(2026, 5, 21))


def test_a_correction_of_a_signed_contracts_proposal_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contract_id = propose(app, manager, relationship_id, value="1200.00")
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20)))

    refuses(RuleViolation, app, lambda: correct(app, manager, relationship_id, 2, value="9000.00"), "signature")
    assert app.relationship(relationship_id).contracts[contract_id].value == Decimal("1200.00")


def test_a_terminated_contract_can_no_longer_be_corrected(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    contract_id = propose(app, manager, relationship_id)
    signed = app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 5, 20))).version
    app.terminate_contract(
        manager, relationship_id, contract_id, TerminateContract(on=date(2026, 8, 1), reason="Ended")
    )

    refuses(RuleViolation, app, lambda: correct(app, manager, relationship_id, signed, value="1.00"), "terminated")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contract_id": str(uuid4())}, "contract_id"),
        ({"value": "900.00", "status": "signed"}, "status"),
        ({"actor_id": "someone-else"}, "actor_id"),
    ],
)
def test_a_correction_of_a_field_that_is_not_correctable_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID, changes: dict[str, Any], field: str
) -> None:
    propose(app, manager, relationship_id)

    refuses(InvalidInput, app, lambda: correct(app, manager, relationship_id, 2, **changes), field)


def test_the_tier_given_at_opening_is_not_correctable(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(InvalidInput, app, lambda: correct(app, manager, relationship_id, 1, tier="key"), "tier")


def test_a_gifts_value_is_not_correctable_but_its_description_is(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    version = app.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Bob Smith", employer=f"Acme {uuid4().hex[:6]}"),
            description="Wine",
            given_on=date(2026, 5, 1),
            category="general",
            cost="50.00",
        ),
    ).version

    refuses(InvalidInput, app, lambda: correct(app, manager, relationship_id, version, cost="5.00"), "cost")
    assert correct(app, manager, relationship_id, version, description="Two bottles of wine") == version + 1


def test_a_correction_must_change_something(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(InvalidInput, app, lambda: correct(app, manager, relationship_id, 1), "at least one field")


@pytest.mark.parametrize("version", [0, 2, 99])
def test_a_correction_of_a_version_that_does_not_exist_is_not_found(
    app: Ledger, manager: Audit, relationship_id: UUID, version: int
) -> None:
    refuses(NotFound, app, lambda: correct(app, manager, relationship_id, version, client_name="X"), "no version")


def test_an_event_of_a_type_that_cannot_be_corrected_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    tier_changed = app.change_tier(manager, relationship_id, ChangeTier(tier="major")).version
    corrected = correct(app, manager, relationship_id, 1, client_name="Renamed")

    refuses(RuleViolation, app, lambda: correct(app, manager, relationship_id, tier_changed, tier="key"), "TierChanged")
    refuses(
        RuleViolation,
        app,
        lambda: correct(app, manager, relationship_id, corrected, reason="x"),
        "EntryCorrected",
    )


@pytest.mark.parametrize(
    ("setup", "changes", "field"),
    [
        ("contract", {"ends_on": date(2026, 5, 1)}, "ends_on"),
        ("contract", {"value": 1300.0}, "value"),
        ("contract", {"value": "0.00"}, "value"),
        ("contact", {"occurred_at": datetime(2026, 5, 4, 9, 0)}, "occurred_at"),
        ("contact", {"next_follow_up_on": date(2026, 5, 1)}, "next_follow_up_on"),
        ("contact", {"channel": "carrier pigeon"}, "channel"),
    ],
)
def test_a_correction_is_validated_like_the_original_event(
    app: Ledger, manager: Audit, relationship_id: UUID, setup: str, changes: dict[str, Any], field: str
) -> None:
    if setup == "contract":
        propose(app, manager, relationship_id)
    else:
        app.log_contact(manager, relationship_id, LogContact(occurred_at=MONDAY, channel="call", summary="x"))

    refuses(InvalidInput, app, lambda: correct(app, manager, relationship_id, 2, **changes), field)


def test_a_correction_needs_a_reason(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    refuses(
        InvalidInput,
        app,
        lambda: app.correct_entry(
            manager, relationship_id, CorrectEntry(corrects_version=1, reason="", changes={"client_name": "X"})
        ),
        "reason",
    )
