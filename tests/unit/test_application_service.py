"""The application service: command results, the four audit fields, versions, not-found, and time travel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.application import CommandResult, Ledger
from domain.commands import (
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    CorrectEntry,
    GiveGift,
    IntroduceProduct,
    LogContact,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    RegisterAccountManager,
    ScheduleDemo,
    SetQuota,
    SignContract,
    TerminateContract,
)
from domain.errors import InvalidInput, NotFound, PreconditionFailed
from domain.relationship import ContactLogged, ContractSigned, ContractTerminated, GiftGiven, Opened
from domain.values import Audit, Role, Tier
from tests.conftest import audit_as

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class Clock:
    """The server's clock, moved by hand so that recorded times are known exactly."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr("domain.model.utc_now", clock)
    return clock


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def register(app: Ledger, audit: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    return app.register_account_manager(audit, RegisterAccountManager(name="Ann Lee", email=email)).id


def open_relationship(app: Ledger, audit: Audit, account_manager_id: UUID) -> UUID:
    return app.open_relationship(
        audit,
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="individual",
            industry="technology",
            tier="standard",
            account_manager_id=account_manager_id,
        ),
    ).id


@pytest.fixture
def relationship_id(app: Ledger, manager: Audit) -> UUID:
    return open_relationship(app, manager, register(app, manager))


# -- command results ---------------------------------------------------------


def test_each_command_returns_the_aggregate_its_new_version_and_the_global_position(
    app: Ledger, manager: Audit
) -> None:
    registered = app.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="ann@example.com"))
    opened = app.open_relationship(
        manager,
        OpenRelationship(
            client_name="Initech",
            client_kind="corporate",
            industry="technology",
            tier="key",
            account_manager_id=registered.id,
        ),
    )
    contacted = app.log_contact(manager, opened.id, LogContact(occurred_at=T0, channel="call", summary="Hello"))
    quota = app.set_quota(manager, registered.id, 2026, SetQuota(amount="1000.00"))

    assert registered == CommandResult(id=registered.id, version=1, position=1)
    assert opened == CommandResult(id=opened.id, version=1, position=2)
    assert contacted == CommandResult(id=opened.id, version=2, position=3)
    assert quota == CommandResult(id=registered.id, version=2, position=4)


def test_a_gift_returns_the_position_of_the_last_of_the_events_it_stored(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    # Positions 1 and 2 are the account manager and the relationship; the first
    # gift establishes the policy (3), then stores the gift and its recipient (4 to 6),
    # and starts the recipient index with its new entry (7 and 8).
    result = app.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Bob Smith", employer="Acme"),
            description="Wine",
            given_on=date(2026, 5, 1),
            category="general",
            cost="50.00",
        ),
    )

    assert (result.id, result.version, result.position) == (relationship_id, 2, 8)
    assert app.recorder.max_notification_id() == 8


def test_a_demo_and_a_contract_return_the_id_they_were_given(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    demo = app.schedule_demo(
        manager,
        relationship_id,
        ScheduleDemo(
            product="Analytics", scheduled_for=T0, location="HQ", staff=[{"name": "Dee", "role": "technical"}]
        ),
    )
    contract = app.propose_contract(
        manager,
        relationship_id,
        ProposeContract(title="Pilot", value="900.00", starts_on=date(2026, 6, 1), ends_on=date(2026, 9, 1)),
    )

    relationship = app.relationship(relationship_id)
    assert list(relationship.demos) == [demo.demo_id]
    assert list(relationship.contracts) == [contract.contract_id]
    assert (demo.version, contract.version) == (2, 3)


# -- the audit fields --------------------------------------------------------


def test_every_stored_event_carries_who_recorded_it_when_and_under_which_request(app: Ledger, clock: Clock) -> None:
    admin = audit_as(Role.ADMIN, actor_id="admin-1")
    manager = audit_as(Role.MANAGER, actor_id="manager-1")
    account_manager_id = register(app, manager)
    owner = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id, actor_id="ann")

    # Each command is made by a different principal, at a different moment.
    clock.set(T0 + timedelta(minutes=1))
    relationship_id = open_relationship(app, owner, account_manager_id)
    clock.set(T0 + timedelta(minutes=2))
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))
    clock.set(T0 + timedelta(minutes=3))
    app.log_contact(
        admin, relationship_id, LogContact(occurred_at=T0 - timedelta(days=2), channel="visit", summary="Tour")
    )

    events = list(app.history(relationship_id))
    assert [(e.actor_id, e.actor_role, e.correlation_id) for e in events] == [
        ("ann", Role.ACCOUNT_MANAGER, owner.correlation_id),
        ("manager-1", Role.MANAGER, manager.correlation_id),
        ("admin-1", Role.ADMIN, admin.correlation_id),
    ]
    assert [e.recorded_at for e in events] == [T0 + timedelta(minutes=n) for n in (1, 2, 3)]
    assert all(e.recorded_at.utcoffset() == timedelta(0) for e in events)
    assert len({owner.correlation_id, manager.correlation_id, admin.correlation_id}) == 3


def test_events_say_when_they_happened_in_business_terms_where_that_differs(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    contacted_at = datetime(2026, 4, 28, 16, 30, tzinfo=timezone(timedelta(hours=-4)))
    app.log_contact(manager, relationship_id, LogContact(occurred_at=contacted_at, channel="call", summary="Call"))
    contract_id = app.propose_contract(
        manager,
        relationship_id,
        ProposeContract(title="Pilot", value="900.00", starts_on=date(2026, 6, 1), ends_on=date(2026, 9, 1)),
    ).contract_id
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 4, 30)))
    app.terminate_contract(
        manager, relationship_id, contract_id, TerminateContract(on=date(2026, 8, 15), reason="Ended early")
    )
    app.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Bob Smith", employer="Acme"),
            description="Wine",
            given_on=date(2026, 4, 21),
            category="general",
            cost="50.00",
        ),
    )

    business_times = {type(e): e.business_time for e in app.history(relationship_id)}
    assert business_times[Opened] is None
    assert business_times[ContactLogged] == contacted_at
    assert business_times[ContractSigned] == date(2026, 4, 30)
    assert business_times[ContractTerminated] == date(2026, 8, 15)
    assert business_times[GiftGiven] == date(2026, 4, 21)


def test_recorded_times_never_go_backwards_even_when_the_server_clock_does(
    app: Ledger, manager: Audit, clock: Clock
) -> None:
    relationship_id = open_relationship(app, manager, register(app, manager))

    clock.set(T0 - timedelta(hours=1))
    app.change_tier(manager, relationship_id, ChangeTier(tier="major"))
    clock.set(T0 + timedelta(hours=1))
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))

    assert [e.recorded_at for e in app.history(relationship_id)] == [T0, T0, T0 + timedelta(hours=1)]


def test_history_lists_every_event_oldest_first(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))
    app.change_cadence(manager, relationship_id, ChangeCadence(days=5))

    events = list(app.history(relationship_id))

    assert [e.originator_version for e in events] == [1, 2, 3]
    assert {e.originator_id for e in events} == {relationship_id}
    assert [type(e).__name__ for e in events] == ["Opened", "TierChanged", "ContactCadenceChanged"]


def test_a_relationship_read_through_its_snapshot_equals_its_replay_from_every_event(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    offset = timezone(timedelta(hours=-4))
    demo_id = app.schedule_demo(
        manager,
        relationship_id,
        ScheduleDemo(
            product="Analytics",
            scheduled_for=datetime(2026, 6, 1, 10, 0, tzinfo=offset),
            location="HQ",
            staff=[{"name": "Dee", "role": "design"}],
        ),
    ).demo_id
    contract_id = app.propose_contract(
        manager,
        relationship_id,
        ProposeContract(title="Pilot", value="900.50", starts_on=date(2026, 6, 1), ends_on=date(2026, 9, 1)),
    ).contract_id
    app.sign_contract(manager, relationship_id, contract_id, SignContract(signed_on=date(2026, 6, 2)))
    app.introduce_product(
        manager, relationship_id, IntroduceProduct(product="Hosting", occurred_at=T0, outcome="declined")
    )
    # Enough contacts to pass the snapshotting interval of 100 events.
    for hour in range(100):
        app.log_contact(
            manager,
            relationship_id,
            LogContact(occurred_at=T0 + timedelta(hours=hour), channel="email", summary=f"Note {hour}"),
        )
    assert app.snapshots is not None
    assert [snapshot.originator_version for snapshot in app.snapshots.get(relationship_id)] == [100]

    replayed = None
    for event in app.history(relationship_id):
        replayed = event.mutate(replayed)
    read = app.relationship(relationship_id)

    assert isinstance(replayed, type(read))
    assert read.version == replayed.version == 105
    assert read.snapshot_state() == replayed.snapshot_state()
    assert read.demos[demo_id].scheduled_for.utcoffset() == timedelta(hours=-4)
    assert read.contracts[contract_id].value == Decimal("900.50")


# -- expected versions -------------------------------------------------------


def test_a_command_at_the_expected_version_is_stored(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    result = app.change_tier(manager, relationship_id, ChangeTier(tier="key"), expected_version=1)

    assert result.version == 2


def test_a_command_at_a_stale_version_is_refused_and_nothing_is_stored(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))

    with pytest.raises(PreconditionFailed) as caught:
        app.change_cadence(manager, relationship_id, ChangeCadence(days=3), expected_version=1)

    assert caught.value.details() == {"expected_version": 1, "current_version": 2}
    assert caught.value.code == "precondition_failed"
    assert app.relationship(relationship_id).version == 2
    assert app.relationship(relationship_id).cadence_days is None


def test_a_gift_correction_or_quota_at_a_stale_version_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    account_manager_id = app.relationship(relationship_id).account_manager_id
    app.set_quota(manager, account_manager_id, 2026, SetQuota(amount="10.00"))
    before = app.recorder.max_notification_id()

    with pytest.raises(PreconditionFailed):
        app.give_gift(
            manager,
            relationship_id,
            GiveGift(
                recipient=NamedRecipient(name="Bob Smith", employer="Acme"),
                description="Wine",
                given_on=date(2026, 5, 1),
                category="general",
                cost="50.00",
            ),
            expected_version=2,
        )
    with pytest.raises(PreconditionFailed):
        app.correct_entry(
            manager,
            relationship_id,
            CorrectEntry(corrects_version=1, reason="x", changes={"client_name": "Y"}),
            expected_version=0,
        )
    with pytest.raises(PreconditionFailed):
        app.set_quota(manager, account_manager_id, 2027, SetQuota(amount="20.00"), expected_version=1)

    assert app.recorder.max_notification_id() == before


# -- unknown ids -------------------------------------------------------------


def test_commands_and_reads_on_an_unknown_relationship_are_not_found(app: Ledger, manager: Audit) -> None:
    unknown = uuid4()

    with pytest.raises(NotFound, match=str(unknown)) as caught:
        app.log_contact(manager, unknown, LogContact(occurred_at=T0, channel="call", summary="x"))
    with pytest.raises(NotFound):
        app.close_relationship(manager, unknown, CloseRelationship(reason="x"))
    with pytest.raises(NotFound):
        app.relationship(unknown)
    with pytest.raises(NotFound):
        list(app.history(unknown))
    with pytest.raises(NotFound):
        app.relationship_as_of(unknown, T0)

    assert caught.value.code == "not_found"
    assert app.recorder.max_notification_id() is None


def test_an_unknown_account_manager_or_recipient_is_not_found(app: Ledger, manager: Audit) -> None:
    with pytest.raises(NotFound, match="account manager"):
        app.open_relationship(
            manager,
            OpenRelationship(
                client_name="Initech",
                client_kind="corporate",
                industry="technology",
                tier="key",
                account_manager_id=uuid4(),
            ),
        )
    with pytest.raises(NotFound):
        app.account_manager(uuid4())
    with pytest.raises(NotFound, match="gift recipient"):
        app.gift_recipient(uuid4())


def test_an_id_of_another_kind_of_aggregate_is_not_found(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    account_manager_id = app.relationship(relationship_id).account_manager_id

    with pytest.raises(NotFound, match="relationship"):
        app.relationship(account_manager_id)
    with pytest.raises(NotFound, match="account manager"):
        app.account_manager(relationship_id)
    with pytest.raises(NotFound):
        app.change_tier(manager, account_manager_id, ChangeTier(tier="key"))


# -- time travel -------------------------------------------------------------


@pytest.fixture
def three_versions(app: Ledger, manager: Audit, clock: Clock) -> UUID:
    """A relationship opened at T0, made key at T0+1h, and contacted at T0+2h."""
    relationship_id = open_relationship(app, manager, register(app, manager))
    clock.set(T0 + timedelta(hours=1))
    app.change_tier(manager, relationship_id, ChangeTier(tier="key"))
    clock.set(T0 + timedelta(hours=2))
    app.log_contact(manager, relationship_id, LogContact(occurred_at=T0, channel="call", summary="x"))
    return relationship_id


def test_a_relationship_can_be_read_as_it_stood_at_each_version(app: Ledger, three_versions: UUID) -> None:
    first = app.relationship(three_versions, version=1)
    second = app.relationship(three_versions, version=2)
    now = app.relationship(three_versions)

    assert (first.version, first.tier, first.last_contact_at) == (1, Tier.STANDARD, None)
    assert (second.version, second.tier, second.last_contact_at) == (2, Tier.KEY, None)
    assert (now.version, now.tier, now.last_contact_at) == (3, Tier.KEY, T0)


@pytest.mark.parametrize("version", [0, -1])
def test_a_version_before_the_first_is_not_found(app: Ledger, three_versions: UUID, version: int) -> None:
    with pytest.raises(NotFound, match="versions start at 1"):
        app.relationship(three_versions, version=version)


def test_a_version_after_the_latest_is_not_found(app: Ledger, three_versions: UUID) -> None:
    with pytest.raises(NotFound):
        app.relationship(three_versions, version=4)


@pytest.mark.parametrize(
    ("when", "version", "tier"),
    [
        (T0, 1, Tier.STANDARD),
        (T0 + timedelta(minutes=59), 1, Tier.STANDARD),
        (T0 + timedelta(hours=1), 2, Tier.KEY),
        (datetime(2026, 5, 4, 12, 30, tzinfo=timezone(timedelta(hours=2))), 2, Tier.KEY),
        (T0 + timedelta(hours=2), 3, Tier.KEY),
        (T0 + timedelta(days=365), 3, Tier.KEY),
    ],
)
def test_a_relationship_can_be_read_as_it_was_recorded_at_any_moment(
    app: Ledger, three_versions: UUID, when: datetime, version: int, tier: Tier
) -> None:
    relationship = app.relationship_as_of(three_versions, when)

    assert (relationship.version, relationship.tier) == (version, tier)


def test_a_relationship_read_as_of_before_it_was_opened_is_not_found(app: Ledger, three_versions: UUID) -> None:
    with pytest.raises(NotFound, match="had not been opened"):
        app.relationship_as_of(three_versions, T0 - timedelta(microseconds=1))


def test_a_relationship_read_as_of_a_naive_time_is_refused(app: Ledger, three_versions: UUID) -> None:
    with pytest.raises(InvalidInput, match="as_of") as caught:
        app.relationship_as_of(three_versions, datetime(2026, 5, 4, 12, 0))

    assert caught.value.details() == {
        "errors": [{"field": "as_of", "message": "must carry its offset; a naive time is ambiguous"}]
    }
