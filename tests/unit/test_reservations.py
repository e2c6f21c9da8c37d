"""Reservations on a GiftRecipient: headroom an approved pre-clearance request holds until a gift uses it or it
expires, counted by the limit beside the gifts."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.application import Ledger
from domain.commands import GiveGift, OpenRelationship, RegisterAccountManager
from domain.compliance_policy import CompliancePolicy
from domain.errors import Forbidden, GiftLimitExceeded, NotFound, RuleViolation
from domain.gift_recipient import (
    GiftReceived,
    GiftRecipient,
    HeadroomReserved,
    RecipientsMerged,
    Reservation,
    ReservationReleased,
)
from domain.model import LedgerSnapshot, StaleSnapshotError
from domain.values import ReleaseCause, Role
from tests.conftest import audit_as

PLANNED = date(2026, 5, 1)  # under the $300 limit in force from 2026-03-30
EXPIRES = date(2026, 5, 31)
AUDIT = audit_as(Role.COMPLIANCE)
POLICY = CompliancePolicy.establish(AUDIT)


def person(name: str = "Bob Smith") -> GiftRecipient:
    return GiftRecipient.register(AUDIT, name=name, employer=f"Acme {uuid4().hex[:6]}")


def reserve(
    recipient: GiftRecipient,
    amount: str,
    *,
    today: date | None = PLANNED,
    planned_on: date = PLANNED,
    expires_on: date = EXPIRES,
    request_id: UUID | None = None,
) -> UUID:
    request_id = request_id or uuid4()
    recipient.reserve(
        AUDIT,
        reservation_id=request_id,
        request_id=request_id,
        planned_on=planned_on,
        counted_value=Decimal(amount),
        expires_on=expires_on,
        policy=POLICY,
        today=today,
    )
    return request_id


def give(
    recipient: GiftRecipient,
    amount: str,
    *,
    on: date = PLANNED,
    today: date | None = None,
    preclearance_id: UUID | None = None,
    reservation_id: UUID | None = None,
) -> None:
    recipient.receive_gift(
        AUDIT,
        gift_id=uuid4(),
        relationship_id=uuid4(),
        given_on=on,
        counted_value=Decimal(amount),
        policy=POLICY,
        today=today,
        preclearance_id=preclearance_id,
        reservation_id=reservation_id,
    )


def counted(recipient: GiftRecipient, today: date | None) -> Decimal:
    return sum((g.counted_value for g in recipient.counted_gifts(today)), Decimal("0.00"))


def test_a_reservation_counts_beside_the_gifts_and_is_marked_reserved() -> None:
    bob = person()
    give(bob, "100.00")
    request_id = reserve(bob, "150.00")

    gifts = bob.counted_gifts(PLANNED)
    assert [(g.counted_value, g.reserved, g.given_on) for g in gifts] == [
        (Decimal("100.00"), False, PLANNED),
        (Decimal("150.00"), True, PLANNED),
    ]
    assert bob.reservations == [
        Reservation(
            reservation_id=request_id,
            request_id=request_id,
            planned_on=PLANNED,
            counted_value=Decimal("150.00"),
            expires_on=EXPIRES,
        )
    ]
    event = bob.collect_events()[-1]
    assert isinstance(event, HeadroomReserved)
    assert (event.limit, event.limit_year, event.business_time) == (Decimal("300.00"), "2026", PLANNED)
    assert event.TOPIC == "ledger:GiftRecipient.HeadroomReserved"


def test_a_reservation_counts_through_its_last_day_and_not_after_it_and_always_without_a_clock() -> None:
    bob = person()
    reserve(bob, "150.00")

    assert counted(bob, EXPIRES - timedelta(days=1)) == Decimal("150.00")
    assert counted(bob, EXPIRES) == Decimal("150.00")
    assert counted(bob, EXPIRES + timedelta(days=1)) == Decimal("0.00")
    assert counted(bob, None) == Decimal("150.00"), "without a clock every held reservation counts"


def test_a_gift_is_refused_when_gifts_and_active_reservations_leave_no_room_with_the_figures() -> None:
    bob = person()
    give(bob, "100.00")
    reserve(bob, "150.00")

    with pytest.raises(GiftLimitExceeded) as caught:
        give(bob, "50.01", today=PLANNED)

    refusal = caught.value.refusal
    assert (refusal.limit, refusal.counted_this_year, refusal.reserved, refusal.headroom) == (
        Decimal("300.00"),
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("50.00"),
    )
    assert caught.value.details() == {
        "limit": "300.00",
        "counted_this_year": "100.00",
        "headroom": "50.00",
        "limit_year": "2026",
        "reserved": "150.00",
    }
    assert "$150.00 is reserved by approved pre-clearance requests" in caught.value.message
    give(bob, "50.00", today=PLANNED)  # exactly the headroom left


def test_a_reservation_is_refused_beyond_the_headroom_and_accepted_up_to_it() -> None:
    bob = person()
    give(bob, "200.00")
    reserve(bob, "60.00")

    with pytest.raises(GiftLimitExceeded) as caught:
        reserve(bob, "40.01")
    assert (caught.value.refusal.reserved, caught.value.refusal.headroom) == (Decimal("60.00"), Decimal("40.00"))
    reserve(bob, "40.00")
    assert counted(bob, PLANNED) == Decimal("300.00")


def test_an_expired_reservation_leaves_its_room_to_the_next_gift_by_the_day_given() -> None:
    bob = person()
    reserve(bob, "300.00")

    with pytest.raises(GiftLimitExceeded):
        give(bob, "0.01", today=EXPIRES)
    with pytest.raises(GiftLimitExceeded):
        give(bob, "0.01", today=None)
    give(bob, "300.00", today=EXPIRES + timedelta(days=1))


def test_a_zero_value_reserves_nothing() -> None:
    bob = person()
    reserve(bob, "0.00")

    assert bob.reservations == []
    assert len(bob.collect_events()) == 1, "only the registration"


def test_release_records_once_and_answers_whether_it_was_held() -> None:
    bob = person()
    request_id = reserve(bob, "150.00")
    bob.collect_events()

    assert bob.release(AUDIT, reservation_id=request_id, cause=ReleaseCause.WITHDRAWN) is True
    assert bob.release(AUDIT, reservation_id=request_id, cause=ReleaseCause.WITHDRAWN) is False
    assert bob.release(AUDIT, reservation_id=uuid4(), cause=ReleaseCause.EXPIRED) is False

    events = bob.collect_events()
    assert len(events) == 1
    released = events[0]
    assert isinstance(released, ReservationReleased)
    assert (released.reservation_id, released.request_id, released.cause) == (
        request_id,
        request_id,
        ReleaseCause.WITHDRAWN,
    )
    assert bob.reservations == []
    assert counted(bob, None) == Decimal("0.00")


def test_an_expired_reservation_is_still_held_until_released() -> None:
    bob = person()
    request_id = reserve(bob, "150.00")

    assert bob.reservation(request_id) is not None
    assert counted(bob, EXPIRES + timedelta(days=1)) == Decimal("0.00")
    assert bob.release(AUDIT, reservation_id=request_id, cause=ReleaseCause.EXPIRED)
    assert bob.reservation(request_id) is None


def test_a_gift_using_a_reservation_consumes_it_and_is_not_counted_twice() -> None:
    bob = person()
    give(bob, "100.00")
    request_id = reserve(bob, "200.00")

    # All the room is held by the reservation; the gift that uses it takes its place.
    give(bob, "200.00", today=PLANNED, preclearance_id=request_id, reservation_id=request_id)

    assert bob.reservations == []
    assert counted(bob, None) == Decimal("300.00")
    received = bob.collect_events()[-1]
    assert isinstance(received, GiftReceived)
    assert (received.preclearance_id, received.reservation_id) == (request_id, request_id)


def test_a_gift_naming_a_reservation_not_held_is_refused() -> None:
    bob = person()
    request_id = reserve(bob, "100.00")
    bob.release(AUDIT, reservation_id=request_id, cause=ReleaseCause.WITHDRAWN)

    with pytest.raises(RuleViolation, match="holds no reservation"):
        give(bob, "100.00", preclearance_id=request_id, reservation_id=request_id)


def test_a_merge_carries_the_absorbed_persons_reservations() -> None:
    bob, robert = person(), person("Robert Smith")
    give(bob, "100.00")
    first = reserve(robert, "150.00")
    share = uuid5(first, "1")
    reserve(robert, "40.00", request_id=share)

    bob.absorb(AUDIT, other=robert, reason="The same person at the same firm")

    assert [r.reservation_id for r in bob.reservations] == [first, share]
    merged = next(e for e in bob.collect_events() if isinstance(e, RecipientsMerged))
    assert [r.counted_value for r in merged.absorbed_reservations] == [Decimal("150.00"), Decimal("40.00")]
    with pytest.raises(GiftLimitExceeded) as caught:
        give(bob, "10.01", today=PLANNED)
    assert (caught.value.refusal.counted_this_year, caught.value.refusal.reserved) == (
        Decimal("100.00"),
        Decimal("190.00"),
    )
    with pytest.raises(RuleViolation, match="merged into"):
        reserve(robert, "1.00")


def test_a_merged_event_stored_before_reservations_reads_with_none() -> None:
    bob, robert = person(), person("Robert Smith")
    bob.absorb(AUDIT, other=robert, reason="The same person")
    merged = next(e for e in bob.collect_events() if isinstance(e, RecipientsMerged))
    data = merged.model_dump(mode="json", by_alias=True)
    del data["absorbed_reservations"]

    assert RecipientsMerged.model_validate(data).absorbed_reservations == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["gift", "reserve", "release"]),
            st.integers(min_value=0, max_value=30_000).map(lambda cents: Decimal(cents) / 100),
            st.integers(min_value=0, max_value=20),
        ),
        max_size=25,
    )
)
def test_gifts_and_active_reservations_never_pass_the_limit(steps: list[tuple[str, Decimal, int]]) -> None:
    # The firm's days go forward; each approval lasts 30 days from the day it is given.
    bob = person()
    held: list[UUID] = []
    today = PLANNED
    for action, amount, days_later in steps:
        today += timedelta(days=days_later)
        refusal = None
        try:
            if action == "gift":
                give(bob, str(amount), on=PLANNED, today=today)
            elif action == "reserve":
                held.append(reserve(bob, str(amount), today=today, expires_on=today + timedelta(days=30)))
            elif held:
                bob.release(AUDIT, reservation_id=held.pop(0), cause=ReleaseCause.WITHDRAWN)
        except GiftLimitExceeded as refused:
            refusal = refused.refusal
        if refusal is not None:
            assert refusal.headroom < amount
            assert refusal.counted_this_year + refusal.reserved + refusal.headroom <= refusal.limit
        assert counted(bob, today) <= Decimal("300.00")


# -- stored recipients from before reservations --


def test_a_snapshot_from_before_reservations_is_passed_over_and_the_events_replayed() -> None:
    app = Ledger()
    try:
        bob = person()
        give(bob, "100.00")
        app.save(bob)
        current = app.mapper.to_stored_event(LedgerSnapshot.take(bob))
        state = json.loads(current.state)
        del state["state"]["reservations"]
        state["state_version"] = 2
        old = StoredEvent(
            originator_id=current.originator_id,
            originator_version=current.originator_version,
            topic=current.topic,
            state=json.dumps(state).encode(),
        )
        snapshot = app.mapper.to_domain_event(old)
        assert isinstance(snapshot, LedgerSnapshot)
        with pytest.raises(StaleSnapshotError):
            snapshot.mutate(None)

        assert app.snapshots is not None
        app.snapshots.recorder.insert_events([old])
        app.forget_cached_aggregates()
        loaded = app.gift_recipient(bob.id)

        assert (loaded.version, loaded.reservations) == (bob.version, [])
        assert [g.counted_value for g in loaded.counted_gifts(PLANNED)] == [Decimal("100.00")]
    finally:
        app.close()


def test_a_gift_naming_a_request_that_does_not_exist_is_not_found_and_stores_nothing() -> None:
    app = Ledger()
    try:
        manager = audit_as(Role.MANAGER)
        registered = app.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email="a@b.example"))
        relationship_id = app.open_relationship(
            manager,
            OpenRelationship(
                client_name="Client",
                client_kind="corporate",
                industry="technology",
                tier="major",
                account_manager_id=registered.id,
            ),
        ).id
        before = app.recorder.max_notification_id()
        gift = GiveGift(
            recipient={"name": "Bob Smith", "employer": "Acme"},
            description="Dinner",
            given_on=date(2026, 5, 1),
            category="general",
            cost="40.00",
            preclearance_id=uuid4(),
        )
        with pytest.raises(NotFound, match="no pre-clearance request"):
            app.give_gift(manager, relationship_id, gift)
        with pytest.raises(Forbidden):
            app.give_gift(audit_as(Role.AUDITOR), relationship_id, gift)
        assert app.recorder.max_notification_id() == before
    finally:
        app.close()
