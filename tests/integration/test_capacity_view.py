"""The workload view keeps each account manager's capacity: on SQLite and PostgreSQL, caught up, rebuilt from the log,
and upgraded from a view made before capacities existed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.account_manager import DEFAULT_CAPACITY
from domain.application import Ledger
from domain.commands import DeactivateAccountManager, OpenRelationship, RegisterAccountManager, SetCapacity
from domain.values import Role
from infrastructure.bootstrap import build_projections
from infrastructure.settings import Settings
from projections.pay import PayReader
from projections.runner import Projections
from projections.workload import WorkloadReader
from projections.workload_query import WorkloadFacts, workload_rows
from tests.conftest import audit_as
from tests.integration.projection_support import dump_views, head

MANAGER = audit_as(Role.MANAGER)

Shown = dict[str, tuple[int, int, bool, bool]]
"""Per account manager's name: (weighted load, capacity, capacity is the default, overloaded)."""


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    projections = build_projections(ledger, Settings(database_url=database_url))
    yield projections
    projections.view.close()


def register(ledger: Ledger, name: str) -> UUID:
    email = f"{name.split(maxsplit=1)[0].lower()}.{uuid.uuid4().hex[:8]}@example.com"
    return ledger.register_account_manager(MANAGER, RegisterAccountManager(name=name, email=email)).id


def give(ledger: Ledger, manager_id: UUID, *tiers: str) -> None:
    for number, tier in enumerate(tiers):
        ledger.open_relationship(
            MANAGER,
            OpenRelationship(
                client_name=f"Client {number} {uuid.uuid4().hex[:6]}",
                client_kind="corporate",
                industry="technology",
                tier=tier,
                account_manager_id=manager_id,
            ),
        )


def shown(projections: Projections) -> Shown:
    facts = WorkloadFacts.read(WorkloadReader(projections.view), PayReader(projections.view), 2026)
    return {
        row.name: (row.weighted_load, row.capacity, row.capacity_is_default, row.overloaded)
        for row in workload_rows(facts, datetime.now(UTC))
    }


def team(ledger: Ledger) -> dict[str, UUID]:
    """Four account managers: one over a capacity set low, one at the default, one whose capacity was set twice,
    and one given a capacity and then deactivated."""
    ada, ben, cleo, dan = (register(ledger, name) for name in ("Ada Lovelace", "Ben Okafor", "Cleo Park", "Dan Roe"))
    give(ledger, ada, "key", "key", "major")  # 10
    give(ledger, ben, "major", "standard")  # 3
    give(ledger, cleo, "key", "key", "key", "key", "standard")  # 17
    ledger.set_capacity(MANAGER, ada, SetCapacity(capacity=9))
    ledger.set_capacity(MANAGER, cleo, SetCapacity(capacity=12))
    ledger.set_capacity(audit_as(Role.ADMIN), cleo, SetCapacity(capacity=17))
    ledger.set_capacity(MANAGER, dan, SetCapacity(capacity=3))
    ledger.deactivate_account_manager(MANAGER, dan, DeactivateAccountManager(reason="Left the firm"))
    return {"ada": ada, "ben": ben, "cleo": cleo, "dan": dan}


EXPECTED: Shown = {
    "Ada Lovelace": (10, 9, False, True),
    "Ben Okafor": (3, DEFAULT_CAPACITY, True, False),
    "Cleo Park": (17, 17, False, False),
}


def test_the_workload_shows_each_capacity_set_the_default_elsewhere_and_who_is_over(
    ledger: Ledger, projections: Projections
) -> None:
    people = team(ledger)

    assert projections.catch_up() == head(ledger)

    assert shown(projections) == EXPECTED
    capacities = {row["name"]: row["capacity"] for row in WorkloadReader(projections.view).managers()}
    # The view stores only what was set (null: none set); the default is applied when it is read.
    assert capacities == {"Ada Lovelace": 9, "Ben Okafor": None, "Cleo Park": 17, "Dan Roe": 3}
    assert ledger.account_manager(people["cleo"]).capacity_in_force == 17


def test_a_rebuild_from_the_log_gives_the_same_capacities(
    ledger: Ledger, projections: Projections, database_url: str
) -> None:
    team(ledger)
    projections.catch_up()
    live = dump_views(projections.view)

    rebuilt = build_projections(ledger, Settings(database_url=database_url))
    try:
        assert rebuilt.rebuild_from_scratch() == head(ledger)
    finally:
        rebuilt.view.close()

    assert dump_views(projections.view) == live
    assert shown(projections) == EXPECTED


def test_a_view_made_before_capacities_gains_the_column_and_shows_the_default_until_one_is_set(
    ledger: Ledger, projections: Projections, database_url: str
) -> None:
    ada = register(ledger, "Ada Lovelace")
    give(ledger, ada, "key", "major")
    projections.catch_up()
    # The view as an earlier version of the ledger made it: no capacity column.
    with projections.view.transaction() as cursor:
        cursor.execute("ALTER TABLE wl_managers DROP COLUMN capacity")

    # The next process to start its projections adds the column, empty, and follows the log on from there.
    upgraded = build_projections(ledger, Settings(database_url=database_url))
    try:
        assert shown(upgraded) == {"Ada Lovelace": (6, DEFAULT_CAPACITY, True, False)}
        ledger.set_capacity(MANAGER, ada, SetCapacity(capacity=5))
        assert upgraded.catch_up() == head(ledger)
        assert shown(upgraded) == {"Ada Lovelace": (6, 5, False, True)}
    finally:
        upgraded.view.close()
