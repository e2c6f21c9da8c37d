"""History and time travel: any past version of a relationship, as recorded at any moment, exactly as it was."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.application import Ledger
from domain.commands import (
    ChangeCadence,
    ChangeTier,
    CompleteDemo,
    CorrectEntry,
    GiveGift,
    IntroduceProduct,
    LogContact,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    RegisterAccountManager,
    ScheduleDemo,
    SignContract,
)
from domain.errors import InvalidInput, NotFound
from domain.model import LedgerEvent, LedgerSnapshot
from domain.relationship import (
    ClientRelationship,
    ContactLogged,
    DemoCompleted,
    DemoScheduled,
    EntryCorrected,
    GiftGiven,
    Opened,
    StaffMember,
    TierChanged,
)
from domain.values import Audit, DemoStatus, Role, StaffRole, Tier, utc_now
from tests.conftest import audit_as

FIRST_CONTACT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def register_account_manager(ledger: Ledger) -> UUID:
    return ledger.register_account_manager(
        audit_as(Role.MANAGER), RegisterAccountManager(name="Ann Lee", email=f"ann.{uuid.uuid4().hex[:6]}@example.com")
    ).id


def open_relationship(ledger: Ledger, audit: Audit | None = None, account_manager_id: UUID | None = None) -> UUID:
    return ledger.open_relationship(
        audit or audit_as(Role.MANAGER),
        OpenRelationship(
            client_name=f"Client {uuid.uuid4().hex[:8]}",
            client_kind="corporate",
            industry="advertising",
            tier="major",
            account_manager_id=account_manager_id or register_account_manager(ledger),
        ),
    ).id


def contact_at(number: int) -> datetime:
    return FIRST_CONTACT + timedelta(hours=number)


def log_contact(ledger: Ledger, relationship_id: UUID, number: int) -> int:
    return ledger.log_contact(
        audit_as(Role.MANAGER),
        relationship_id,
        LogContact(occurred_at=contact_at(number), channel="call", summary=f"contact {number}"),
    ).version


def replayed(ledger: Ledger, relationship_id: UUID, version: int) -> ClientRelationship:
    """The relationship at `version` rebuilt from its events alone, ignoring any snapshot."""
    aggregate: Any = None
    for event in ledger.events.get(relationship_id, lte=version):
        assert isinstance(event, LedgerEvent)
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, ClientRelationship)
    return aggregate


def assert_same_state(actual: ClientRelationship, expected: ClientRelationship) -> None:
    assert (actual.id, actual.version, actual.created_on, actual.modified_on) == (
        expected.id,
        expected.version,
        expected.created_on,
        expected.modified_on,
    )
    assert actual.snapshot_state() == expected.snapshot_state()


# -- versions ------------------------------------------------------------------


def test_a_relationship_read_at_an_earlier_version_shows_the_state_it_had_then(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)  # version 1: a major relationship
    log_contact(ledger, relationship_id, 1)  # version 2
    ledger.change_tier(audit_as(Role.MANAGER), relationship_id, ChangeTier(tier="key"))  # version 3
    ledger.change_cadence(audit_as(Role.MANAGER), relationship_id, ChangeCadence(days=10))  # version 4

    at_1 = ledger.relationship(relationship_id, version=1)
    assert (at_1.version, at_1.tier, at_1.last_contact_at, at_1.cadence_days) == (1, Tier.MAJOR, None, None)
    at_2 = ledger.relationship(relationship_id, version=2)
    assert (at_2.version, at_2.tier, at_2.last_contact_at) == (2, Tier.MAJOR, contact_at(1))
    at_3 = ledger.relationship(relationship_id, version=3)
    assert (at_3.version, at_3.tier, at_3.cadence_days) == (3, Tier.KEY, None)
    at_4 = ledger.relationship(relationship_id, version=4)
    assert (at_4.version, at_4.tier, at_4.cadence_days) == (4, Tier.KEY, 10)
    assert_same_state(ledger.relationship(relationship_id), at_4)


@pytest.mark.parametrize("version", [0, -1, 5, 1000])
def test_a_version_a_relationship_never_had_is_not_found(ledger: Ledger, version: int) -> None:
    relationship_id = open_relationship(ledger)
    for number in range(3):
        log_contact(ledger, relationship_id, number)  # versions 2 to 4

    with pytest.raises(NotFound):
        ledger.relationship(relationship_id, version=version)


def test_a_relationship_that_was_never_opened_is_not_found_at_any_version(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.relationship(uuid.uuid4())
    with pytest.raises(NotFound):
        ledger.relationship(uuid.uuid4(), version=1)
    with pytest.raises(NotFound):
        ledger.relationship_as_of(uuid.uuid4(), utc_now())


# -- time travel -----------------------------------------------------------------


def test_a_relationship_as_of_a_moment_between_two_commands_is_the_state_after_the_first(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)
    log_contact(ledger, relationship_id, 1)  # version 2
    between = utc_now()
    ledger.change_tier(audit_as(Role.MANAGER), relationship_id, ChangeTier(tier="key"))  # version 3

    history = list(ledger.history(relationship_id))
    assert history[1].recorded_at <= between < history[2].recorded_at
    as_of = ledger.relationship_as_of(relationship_id, between)
    assert (as_of.version, as_of.tier, as_of.last_contact_at) == (2, Tier.MAJOR, contact_at(1))
    assert_same_state(as_of, ledger.relationship(relationship_id, version=2))

    # The moment an event was recorded already includes it.
    for event in history:
        assert ledger.relationship_as_of(relationship_id, event.recorded_at).version == event.originator_version
    assert ledger.relationship_as_of(relationship_id, history[2].recorded_at).tier is Tier.KEY
    # A moment far in the future shows the relationship as it is now.
    assert ledger.relationship_as_of(relationship_id, utc_now() + timedelta(days=365)).version == 3


def test_a_relationship_as_of_a_moment_before_it_was_opened_is_not_found(ledger: Ledger) -> None:
    before = utc_now()
    relationship_id = open_relationship(ledger)
    opened = next(ledger.history(relationship_id))
    assert before < opened.recorded_at

    with pytest.raises(NotFound, match="had not been opened"):
        ledger.relationship_as_of(relationship_id, before)
    with pytest.raises(NotFound, match="had not been opened"):
        ledger.relationship_as_of(relationship_id, opened.recorded_at - timedelta(microseconds=1))
    assert ledger.relationship_as_of(relationship_id, opened.recorded_at).version == 1


def test_a_moment_given_in_another_time_zone_means_the_same_instant(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)
    log_contact(ledger, relationship_id, 1)
    second = list(ledger.history(relationship_id))[1]
    new_york = second.recorded_at.astimezone(timezone(timedelta(hours=-5)))
    tokyo = second.recorded_at.astimezone(timezone(timedelta(hours=9)))

    assert ledger.relationship_as_of(relationship_id, new_york).version == 2
    assert ledger.relationship_as_of(relationship_id, tokyo).version == 2
    assert ledger.relationship_as_of(relationship_id, tokyo - timedelta(microseconds=1)).version == 1


def test_a_moment_without_a_time_zone_is_refused_as_ambiguous(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)

    with pytest.raises(InvalidInput, match="as_of"):
        ledger.relationship_as_of(relationship_id, datetime(2026, 5, 1, 12, 0))


# -- snapshots -------------------------------------------------------------------


def test_after_more_than_a_hundred_events_a_snapshot_is_taken_and_every_version_still_reads_exactly(
    ledger: Ledger,
) -> None:
    manager = audit_as(Role.MANAGER)
    relationship_id = open_relationship(ledger)  # version 1
    # A demo and a proposal recorded before the snapshot, finished after it.
    demo = ledger.schedule_demo(
        manager,
        relationship_id,
        ScheduleDemo(
            product="Ledger Cloud",
            scheduled_for=datetime(2026, 6, 1, 14, 0, tzinfo=UTC),
            location="Client HQ",
            staff=[{"name": "Ann", "role": "technical"}, {"name": "Raj", "role": "design"}],
        ),
    )  # version 2
    proposal = ledger.propose_contract(
        manager,
        relationship_id,
        ProposeContract(
            title="Platform licence", value="120000.00", starts_on=date(2026, 7, 1), ends_on=date(2027, 6, 30)
        ),
    )  # version 3
    moments: dict[int, datetime] = {}
    for number in range(4, 161):
        if number == 120:
            ledger.change_tier(manager, relationship_id, ChangeTier(tier="key"))
        else:
            assert log_contact(ledger, relationship_id, number) == number
        moments[number] = utc_now()  # after version `number`, before the next
    ledger.complete_demo(manager, relationship_id, demo.demo_id, CompleteDemo(outcome="Signed off"))  # version 161
    ledger.sign_contract(
        manager, relationship_id, proposal.contract_id, SignContract(signed_on=date(2026, 6, 20))
    )  # version 162

    # Crossing version 100 took exactly one snapshot, at version 100.
    assert ledger.snapshots is not None
    snapshots = ledger.snapshots.recorder.select_events(relationship_id)
    assert [snapshot.originator_version for snapshot in snapshots] == [100]

    # Versions before, at and after the snapshot read as replaying the events alone would have them.
    for version in (1, 2, 3, 99, 100, 101, 119, 120, 121, 150, 160, 161, 162):
        assert_same_state(
            ledger.relationship(relationship_id, version=version), replayed(ledger, relationship_id, version)
        )
    at_119 = ledger.relationship(relationship_id, version=119)
    assert (at_119.tier, at_119.last_contact_version, at_119.last_contact_at) == (Tier.MAJOR, 119, contact_at(119))
    at_150 = ledger.relationship(relationship_id, version=150)
    assert (at_150.tier, at_150.last_contact_version, at_150.last_contact_at) == (Tier.KEY, 150, contact_at(150))
    assert at_150.demos[demo.demo_id].status is DemoStatus.SCHEDULED
    # The demo and contract from before the snapshot were found, and finished, after it.
    now = ledger.relationship(relationship_id)
    assert now.version == 162
    assert now.demos[demo.demo_id].status is DemoStatus.COMPLETED
    assert now.demos[demo.demo_id].staff == [
        StaffMember(name="Ann", role=StaffRole.TECHNICAL),
        StaffMember(name="Raj", role=StaffRole.DESIGN),
    ]
    assert now.contracts[proposal.contract_id].signed_on == date(2026, 6, 20)

    # Time travel across the snapshot.
    assert ledger.relationship_as_of(relationship_id, moments[99]).version == 99
    as_of = ledger.relationship_as_of(relationship_id, moments[130])
    assert_same_state(as_of, replayed(ledger, relationship_id, 130))
    assert (as_of.tier, as_of.last_contact_at) == (Tier.KEY, contact_at(130))

    # The snapshot hides nothing from the history.
    assert [event.originator_version for event in ledger.history(relationship_id)] == list(range(1, 163))


# -- audit fields ------------------------------------------------------------------


def test_every_event_in_a_relationships_history_carries_who_when_and_under_which_request(ledger: Ledger) -> None:
    account_manager_id = register_account_manager(ledger)
    owner = audit_as(Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id)
    manager = audit_as(Role.MANAGER)
    admin = audit_as(Role.ADMIN)
    relationship_id = open_relationship(ledger, owner, account_manager_id)
    ledger.log_contact(
        manager, relationship_id, LogContact(occurred_at=contact_at(1), channel="visit", summary="Site visit")
    )
    ledger.give_gift(
        admin,
        relationship_id,
        GiveGift(
            recipient=NamedRecipient(name="Jane Roe", employer="Globex"),
            description="Book",
            given_on=date(2026, 5, 1),
            category="general",
            cost="40.00",
        ),
    )
    ledger.change_tier(owner, relationship_id, ChangeTier(tier="key"))

    history = list(ledger.history(relationship_id))
    assert [type(event) for event in history] == [Opened, ContactLogged, GiftGiven, TierChanged]
    expected = [owner, manager, admin, owner]
    for event, audit in zip(history, expected, strict=True):
        assert (event.actor_id, event.actor_role, event.correlation_id) == (
            audit.principal.id,
            audit.principal.role,
            audit.correlation_id,
        )
        assert event.recorded_at.utcoffset() == timedelta(0)
    recorded = [event.recorded_at for event in history]
    assert recorded == sorted(recorded)
    # When it happened in business terms, where that differs from when it was recorded.
    assert [event.business_time for event in history] == [None, contact_at(1), date(2026, 5, 1), None]


# -- the DemoScheduled upcaster -----------------------------------------------------


def store_version_one_demo(ledger: Ledger, relationship_id: UUID, version: int) -> tuple[UUID, StoredEvent]:
    """Writes a DemoScheduled as version 1 of the class stored it: no class_version, staff as bare names."""
    demo_id = uuid.uuid4()
    current = DemoScheduled(
        originator_id=relationship_id,
        originator_version=version,
        timestamp=datetime(2025, 11, 3, 10, 30, tzinfo=UTC),
        actor_id="legacy-import",
        actor_role=Role.MANAGER,
        correlation_id="corr-legacy-0001",
        demo_id=demo_id,
        product="Ledger Cloud",
        scheduled_for=datetime(2026, 6, 1, 14, 0, tzinfo=UTC),
        location="Client HQ",
        staff=[StaffMember(name="Ann", role=StaffRole.TECHNICAL), StaffMember(name="Raj", role=StaffRole.DESIGN)],
    )
    record = ledger.mapper.to_stored_event(current)
    state = json.loads(record.state)
    assert state.pop("class_version") == 2
    state["staff"] = [member["name"] for member in state["staff"]]
    version_one = StoredEvent(
        originator_id=relationship_id,
        originator_version=version,
        topic=record.topic,
        state=json.dumps(state, separators=(",", ":")).encode(),
    )
    ledger.recorder.insert_events([version_one])
    return demo_id, version_one


def test_a_demo_stored_by_version_one_reads_back_with_every_staff_member_in_the_other_role(ledger: Ledger) -> None:
    relationship_id = open_relationship(ledger)
    demo_id, stored = store_version_one_demo(ledger, relationship_id, version=2)

    relationship = ledger.relationship(relationship_id)
    assert relationship.version == 2
    others = [StaffMember(name="Ann", role=StaffRole.OTHER), StaffMember(name="Raj", role=StaffRole.OTHER)]
    assert relationship.demos[demo_id].staff == others
    assert relationship.demos[demo_id].scheduled_for == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)

    demo = list(ledger.history(relationship_id))[1]
    assert isinstance(demo, DemoScheduled)
    assert demo.staff == others
    assert (demo.demo_id, demo.product, demo.location) == (demo_id, "Ledger Cloud", "Client HQ")
    assert (demo.actor_id, demo.actor_role, demo.correlation_id) == ("legacy-import", Role.MANAGER, "corr-legacy-0001")
    assert demo.recorded_at == datetime(2025, 11, 3, 10, 30, tzinfo=UTC)
    # Reading upcasts in memory only: the stored record is as it was written.
    (record,) = ledger.recorder.select_events(relationship_id, gt=1, lte=2)
    assert (record.topic, record.state) == (stored.topic, stored.state)


def test_a_version_one_demo_is_completed_and_corrected_like_any_other(ledger: Ledger) -> None:
    manager = audit_as(Role.MANAGER)
    relationship_id = open_relationship(ledger)
    demo_id, _ = store_version_one_demo(ledger, relationship_id, version=2)

    ledger.correct_entry(
        manager,
        relationship_id,
        CorrectEntry(
            corrects_version=2,
            reason="Roles were not recorded before",
            changes={"staff": [{"name": "Ann", "role": "technical"}, {"name": "Raj", "role": "design"}]},
        ),
    )  # version 3
    ledger.complete_demo(manager, relationship_id, demo_id, CompleteDemo(outcome="Went well"))  # version 4
    new_demo = ledger.schedule_demo(
        manager,
        relationship_id,
        ScheduleDemo(
            product="Ledger Mobile",
            scheduled_for=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
            location="Online",
            staff=[{"name": "Mia", "role": "support"}],
        ),
    )  # version 5, stored by the current class

    relationship = ledger.relationship(relationship_id)
    assert relationship.version == 5
    assert relationship.demos[demo_id].status is DemoStatus.COMPLETED
    assert relationship.demos[demo_id].staff == [
        StaffMember(name="Ann", role=StaffRole.TECHNICAL),
        StaffMember(name="Raj", role=StaffRole.DESIGN),
    ]
    assert relationship.demos[new_demo.demo_id].staff == [StaffMember(name="Mia", role=StaffRole.SUPPORT)]
    assert [type(event) for event in ledger.history(relationship_id)][1:] == [
        DemoScheduled,
        EntryCorrected,
        DemoCompleted,
        DemoScheduled,
    ]
    (record,) = ledger.recorder.select_events(relationship_id, gt=4, lte=5)
    assert json.loads(record.state)["class_version"] == 2
    assert json.loads(record.state)["staff"] == [{"name": "Mia", "role": "support"}]


def test_a_snapshot_taken_before_the_state_gained_a_field_does_not_make_the_relationship_unreadable(
    ledger: Ledger,
) -> None:
    relationship_id = open_relationship(ledger)
    ledger.introduce_product(
        audit_as(Role.MANAGER),
        relationship_id,
        IntroduceProduct(product="Ledger Cloud", occurred_at=contact_at(0), outcome="interested"),
    )  # version 2
    for number in range(3, 61):
        log_contact(ledger, relationship_id, number)
    # A snapshot at version 50 as the ledger stored them before State had `product_versions`.
    assert ledger.snapshots is not None
    current = ledger.mapper.to_stored_event(LedgerSnapshot.take(ledger.relationship(relationship_id, version=50)))
    state = json.loads(current.state)
    del state["state"]["product_versions"]
    ledger.snapshots.recorder.insert_events(
        [
            StoredEvent(
                originator_id=current.originator_id,
                originator_version=current.originator_version,
                topic=current.topic,
                state=json.dumps(state).encode(),
            )
        ]
    )

    relationship = ledger.relationship(relationship_id)

    assert_same_state(relationship, replayed(ledger, relationship_id, 60))
    assert relationship.product_versions == {"Ledger Cloud": 2}
