"""An account manager's capacity: the weighted load they can carry, set by their manager, a default until then."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import example, given
from hypothesis import strategies as st

from domain.account_manager import DEFAULT_CAPACITY, AccountManager, CapacitySet, Registered, capacity_or_default
from domain.application import Ledger
from domain.commands import (
    MAX_CAPACITY,
    MIN_CAPACITY,
    DeactivateAccountManager,
    RegisterAccountManager,
    SetCapacity,
)
from domain.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed, RuleViolation
from domain.model import LedgerSnapshot
from domain.values import STORED, Audit, Role
from tests.conftest import audit_as


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def new_manager(audit: Audit) -> AccountManager:
    return AccountManager.register(audit, RegisterAccountManager(name="Ann Lee", email=f"am-{uuid4().hex[:8]}@x.com"))


def register(app: Ledger, audit: Audit) -> UUID:
    return app.register_account_manager(
        audit, RegisterAccountManager(name="Ann Lee", email=f"am-{uuid4().hex[:8]}@example.com")
    ).id


# -- the aggregate -----------------------------------------------------------


def test_a_new_account_manager_has_no_capacity_set_and_carries_the_default(manager: Audit) -> None:
    account_manager = new_manager(manager)

    assert account_manager.capacity is None
    assert account_manager.capacity_in_force == DEFAULT_CAPACITY == capacity_or_default(None)


def test_a_capacity_set_by_their_manager_replaces_the_default_and_a_later_one_replaces_it(manager: Audit) -> None:
    account_manager = new_manager(manager)

    account_manager.set_capacity(manager, SetCapacity(capacity=30))
    account_manager.set_capacity(manager, SetCapacity(capacity=12))

    assert (account_manager.capacity, account_manager.capacity_in_force) == (12, 12)
    events = account_manager.collect_events()
    assert [type(event) for event in events] == [Registered, CapacitySet, CapacitySet]
    set_events = [event for event in events if isinstance(event, CapacitySet)]
    assert [event.data() for event in set_events] == [{"capacity": 30}, {"capacity": 12}]
    assert set_events[-1].actor_id == manager.principal.id


def test_a_deactivated_account_manager_is_given_no_capacity(manager: Audit) -> None:
    account_manager = new_manager(manager)
    account_manager.deactivate(manager, DeactivateAccountManager(reason="Left the firm"))

    with pytest.raises(RuleViolation, match="deactivated"):
        account_manager.set_capacity(manager, SetCapacity(capacity=10))

    assert account_manager.capacity is None
    assert account_manager.version == 2


@given(st.integers(min_value=MIN_CAPACITY, max_value=MAX_CAPACITY))
@example(MIN_CAPACITY)
@example(MAX_CAPACITY)
def test_any_whole_number_from_1_to_1000_is_a_capacity(capacity: int) -> None:
    account_manager = new_manager(audit_as(Role.MANAGER))

    account_manager.set_capacity(audit_as(Role.MANAGER), SetCapacity(capacity=capacity))

    assert account_manager.capacity_in_force == capacity


@given(st.integers(max_value=MIN_CAPACITY - 1) | st.integers(min_value=MAX_CAPACITY + 1))
@example(MIN_CAPACITY - 1)
@example(MAX_CAPACITY + 1)
@example(-(2**63))
@example(2**63)
def test_a_capacity_below_1_or_above_1000_is_refused_naming_the_field(capacity: int) -> None:
    with pytest.raises(InvalidInput, match="capacity: must be a whole number from 1 to 1000") as refused:
        SetCapacity(capacity=capacity)

    assert [error["field"] for error in refused.value.errors] == ["capacity"]


@pytest.mark.parametrize("capacity", [True, 20.0, 20.5, "20", "20.0", Decimal(20), None])
def test_a_capacity_that_is_not_a_whole_number_is_refused(capacity: Any) -> None:
    with pytest.raises(InvalidInput, match="capacity"):
        SetCapacity(capacity=capacity)


def test_a_capacity_already_recorded_is_read_back_as_recorded_even_beyond_todays_bound() -> None:
    stored = CapacitySet.model_validate(
        {
            "originator_id": uuid4(),
            "originator_version": 2,
            "recorded_at": "2026-01-05T09:00:00+00:00",
            "actor_id": "manager-1",
            "actor_role": "manager",
            "correlation_id": "corr-1",
            "capacity": MAX_CAPACITY * 5,
        },
        context=STORED,
    )

    assert stored.capacity == MAX_CAPACITY * 5


# -- through the application service -----------------------------------------


def test_a_capacity_set_through_the_ledger_is_stored_with_who_set_it(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)

    result = app.set_capacity(manager, account_manager_id, SetCapacity(capacity=24), expected_version=1)

    assert (result.id, result.version) == (account_manager_id, 2)
    assert app.account_manager(account_manager_id).capacity_in_force == 24
    (event,) = [e for e in app.history(account_manager_id) if isinstance(e, CapacitySet)]
    assert (event.capacity, event.actor_id, event.actor_role) == (24, manager.principal.id, Role.MANAGER)


def test_an_admin_may_set_a_capacity_too(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)

    app.set_capacity(audit_as(Role.ADMIN), account_manager_id, SetCapacity(capacity=8))

    assert app.account_manager(account_manager_id).capacity == 8


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.COMPLIANCE, Role.AUDITOR])
def test_only_managers_and_admins_set_a_capacity(app: Ledger, manager: Audit, role: Role) -> None:
    account_manager_id = register(app, manager)
    # An account manager may not set even their own.
    actor = audit_as(role, account_manager_id=account_manager_id if role is Role.ACCOUNT_MANAGER else None)

    with pytest.raises(Forbidden, match=f"The {role.value} role may not"):
        app.set_capacity(actor, account_manager_id, SetCapacity(capacity=99))

    assert app.account_manager(account_manager_id).version == 1


def test_a_capacity_for_an_unknown_account_manager_is_not_found(app: Ledger, manager: Audit) -> None:
    with pytest.raises(NotFound, match="account manager"):
        app.set_capacity(manager, uuid4(), SetCapacity(capacity=10))


def test_a_capacity_set_against_a_stale_version_is_refused_and_nothing_is_stored(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)
    app.set_capacity(manager, account_manager_id, SetCapacity(capacity=15))

    with pytest.raises(PreconditionFailed, match="Expected version 1"):
        app.set_capacity(manager, account_manager_id, SetCapacity(capacity=40), expected_version=1)

    stored = app.account_manager(account_manager_id)
    assert (stored.version, stored.capacity) == (2, 15)


def test_a_deactivated_account_manager_is_refused_a_capacity_through_the_ledger(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)
    app.deactivate_account_manager(manager, account_manager_id, DeactivateAccountManager(reason="Retired"))

    with pytest.raises(RuleViolation, match="deactivated"):
        app.set_capacity(manager, account_manager_id, SetCapacity(capacity=10))

    assert len(list(app.history(account_manager_id))) == 2


def test_a_snapshot_taken_before_capacities_existed_still_loads_with_the_default(app: Ledger, manager: Audit) -> None:
    account_manager_id = register(app, manager)
    # A snapshot as the ledger stored them before State had `capacity`.
    current = app.mapper.to_stored_event(LedgerSnapshot.take(app.account_manager(account_manager_id)))
    state = json.loads(current.state)
    del state["state"]["capacity"]
    old = StoredEvent(
        originator_id=current.originator_id,
        originator_version=current.originator_version,
        topic=current.topic,
        state=json.dumps(state).encode(),
    )

    # Turned back into the aggregate as it is (not passed over as stale, which would replay the events instead).
    snapshot = app.mapper.to_domain_event(old)
    assert isinstance(snapshot, LedgerSnapshot)
    loaded = snapshot.mutate(None)

    assert isinstance(loaded, AccountManager)
    assert (loaded.name, loaded.active, loaded.version) == ("Ann Lee", True, 1)
    assert (loaded.capacity, loaded.capacity_in_force) == (None, DEFAULT_CAPACITY)
    loaded.set_capacity(manager, SetCapacity(capacity=33))
    assert loaded.capacity_in_force == 33
