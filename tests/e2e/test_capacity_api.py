"""`PUT /v1/account-managers/{id}/capacity` and the workload against it, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.persistence import RecordConflictError
from fastapi.testclient import TestClient

from api.app import create_app
from domain.account_manager import DEFAULT_CAPACITY
from domain.commands import MAX_CAPACITY, MIN_CAPACITY, SetCapacity
from domain.values import Role
from infrastructure.bootstrap import System
from tests.conftest import audit_as
from tests.e2e.conftest import (
    Headers,
    Json,
    Tokens,
    assert_problem,
    head_position,
    open_relationship,
    register_manager,
)


def capacity_path(account_manager_id: str) -> str:
    return f"/v1/account-managers/{account_manager_id}/capacity"


def set_capacity(client: TestClient, headers: Headers, account_manager_id: str, capacity: Any, **extra: str) -> Any:
    return client.put(capacity_path(account_manager_id), json={"capacity": capacity}, headers={**headers, **extra})


def workload_row(client: TestClient, headers: Headers, account_manager_id: str, position: int) -> Json:
    response = client.get("/v1/workload", params={"min_position": position}, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[Json] = response.json()
    (row,) = [row for row in rows if row["account_manager_id"] == account_manager_id]
    return row


def carrying(client: TestClient, tokens: Tokens, *tiers: str) -> tuple[str, int]:
    """A new account manager with an open relationship of each tier given; their id and the last position."""
    manager_id = register_manager(client, tokens.manager)
    position = 0
    for tier in tiers:
        position = int(open_relationship(client, tokens.manager, manager_id, tier=tier)["position"])
    return manager_id, position


def test_a_manager_sets_a_capacity_and_the_record_and_the_workload_show_it(client: TestClient, tokens: Tokens) -> None:
    manager_id, _ = carrying(client, tokens, "key", "major")  # a weighted load of 6

    response = set_capacity(
        client, tokens.manager, manager_id, 12, **{"If-Match": '"1"', "Idempotency-Key": uuid.uuid4().hex}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (set(body), body["id"], body["version"]) == ({"id", "version", "position"}, manager_id, 2)
    assert response.headers["ETag"] == '"2"'
    record = client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager)
    assert (record.json()["capacity"], record.json()["capacity_is_default"], record.headers["ETag"]) == (
        12,
        False,
        '"2"',
    )
    row = workload_row(client, tokens.manager, manager_id, body["position"])
    assert (row["weighted_load"], row["capacity"], row["capacity_is_default"], row["overloaded"]) == (
        6,
        12,
        False,
        False,
    )
    # Their own workload shows it too, to them as to their manager.
    own = client.get(
        f"/v1/account-managers/{manager_id}/workload",
        params={"min_position": body["position"]},
        headers=tokens.account_manager(manager_id),
    ).json()
    assert (own["capacity"], own["overloaded"]) == (12, False)
    # The audit trail holds the fact with who set it.
    feed = client.get(
        "/v1/audit/events",
        params={"type": "CapacitySet", "aggregate_id": manager_id, "min_position": body["position"]},
        headers=tokens.auditor,
    )
    assert feed.status_code == 200, feed.text
    (event,) = feed.json()["items"]
    assert (event["aggregate_type"], event["data"], event["actor_role"]) == (
        "AccountManager",
        {"capacity": 12},
        "manager",
    )
    assert event["actor_id"] == tokens.actor_id(tokens.manager)


def test_until_a_capacity_is_set_the_default_applies(client: TestClient, tokens: Tokens) -> None:
    manager_id, position = carrying(client, tokens, "standard")

    row = workload_row(client, tokens.manager, manager_id, position)
    record = client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()

    assert (row["capacity"], row["capacity_is_default"], row["overloaded"]) == (DEFAULT_CAPACITY, True, False)
    assert (record["capacity"], record["capacity_is_default"]) == (DEFAULT_CAPACITY, True)


def test_a_load_over_the_capacity_is_overloaded_and_a_load_at_it_is_not(client: TestClient, tokens: Tokens) -> None:
    manager_id, _ = carrying(client, tokens, "key", "key")  # a weighted load of 8

    under = set_capacity(client, tokens.manager, manager_id, 7).json()
    over_row = workload_row(client, tokens.manager, manager_id, under["position"])
    exact = set_capacity(client, tokens.admin, manager_id, 8).json()
    at_row = workload_row(client, tokens.manager, manager_id, exact["position"])

    assert (over_row["weighted_load"], over_row["capacity"], over_row["overloaded"]) == (8, 7, True)
    assert (at_row["weighted_load"], at_row["capacity"], at_row["overloaded"]) == (8, 8, False)
    # One more relationship, even a standard one, takes them over the capacity they are at.
    last = open_relationship(client, tokens.manager, manager_id, tier="standard")
    after = workload_row(client, tokens.manager, manager_id, last["position"])
    assert (after["weighted_load"], after["capacity"], after["overloaded"]) == (9, 8, True)


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.COMPLIANCE, Role.AUDITOR])
def test_only_managers_and_admins_may_set_a_capacity(
    client: TestClient, tokens: Tokens, system: System, role: Role
) -> None:
    manager_id = register_manager(client, tokens.manager)
    before = head_position(system)
    # An account manager may not set even their own.
    headers = tokens.account_manager(manager_id) if role is Role.ACCOUNT_MANAGER else tokens.of(role)

    refused = set_capacity(client, headers, manager_id, 50)

    assert f"The {role.value} role may not" in assert_problem(refused, 403, "forbidden")["detail"]
    assert head_position(system) == before
    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["capacity_is_default"]


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (MIN_CAPACITY - 1, "greater than or equal to 1"),
        (MAX_CAPACITY + 1, "less than or equal to 1000"),
        (-1, "greater than or equal to 1"),
        (2**63, "less than or equal to 1000"),
        ("20", "valid integer"),
        (20.0, "valid integer"),
        (20.5, "valid integer"),
        (True, "valid integer"),
        (None, "valid integer"),
    ],
)
def test_a_capacity_out_of_bounds_or_not_a_whole_number_is_a_422_naming_the_field(
    client: TestClient, tokens: Tokens, system: System, capacity: Any, message: str
) -> None:
    manager_id = register_manager(client, tokens.manager)
    before = head_position(system)

    refused = set_capacity(client, tokens.manager, manager_id, capacity)

    errors = assert_problem(refused, 422, "validation_error")["errors"]
    assert [error["field"] for error in errors] == ["capacity"]
    assert message in errors[0]["message"]
    assert head_position(system) == before


def test_the_bounds_themselves_are_accepted(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)

    lowest = set_capacity(client, tokens.manager, manager_id, MIN_CAPACITY)
    highest = set_capacity(client, tokens.manager, manager_id, MAX_CAPACITY)

    assert (lowest.status_code, highest.status_code) == (200, 200)
    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["capacity"] == MAX_CAPACITY


def test_a_body_without_capacity_or_with_other_fields_is_a_422(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)

    missing = client.put(capacity_path(manager_id), json={}, headers=tokens.manager)
    extra = client.put(capacity_path(manager_id), json={"capacity": 10, "reason": "busy"}, headers=tokens.manager)

    assert assert_problem(missing, 422, "validation_error")["errors"][0]["field"] == "capacity"
    assert assert_problem(extra, 422, "validation_error")["errors"][0]["field"] == "reason"


def test_a_stale_if_match_is_412_and_stores_nothing(client: TestClient, tokens: Tokens, system: System) -> None:
    manager_id = register_manager(client, tokens.manager)
    assert set_capacity(client, tokens.manager, manager_id, 10, **{"If-Match": '"1"'}).status_code == 200
    before = head_position(system)

    stale = set_capacity(client, tokens.admin, manager_id, 30, **{"If-Match": '"1"'})

    assert "Expected version 1" in assert_problem(stale, 412, "precondition_failed")["detail"]
    assert head_position(system) == before
    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["capacity"] == 10


def test_a_capacity_whose_first_attempt_loses_a_race_is_run_again_on_the_fresh_record_or_412_with_if_match(
    client: TestClient, tokens: Tokens, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager_id = register_manager(client, tokens.manager)
    real_save = system.ledger.save
    rivals: list[int] = []

    def save_after_a_rival(*aggregates: Any, **kwargs: Any) -> Any:
        # Another manager's capacity lands between this command's read and its write, once per request.
        if len(rivals) < expected_rivals:
            rivals.append(1)
            system.ledger.set_capacity(audit_as(Role.ADMIN), uuid.UUID(manager_id), SetCapacity(capacity=5))
        return real_save(*aggregates, **kwargs)

    monkeypatch.setattr(system.ledger, "save", save_after_a_rival)

    expected_rivals = 1
    without = set_capacity(client, tokens.manager, manager_id, 40)
    expected_rivals = 2
    with_if_match = set_capacity(client, tokens.manager, manager_id, 60, **{"If-Match": '"3"'})

    # Without If-Match the loser re-reads and stores after the rival (version 2): its value stands, at version 3.
    assert (without.status_code, without.json()["version"]) == (200, 3)
    # With If-Match "3", the rival's write (version 4) makes the record stale: 412, and the rival's value stands.
    assert_problem(with_if_match, 412, "precondition_failed")
    record = client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()
    assert (record["version"], record["capacity"]) == (4, 5)


def test_a_capacity_that_keeps_losing_the_race_is_409_version_conflict_and_stores_nothing(
    client: TestClient, tokens: Tokens, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager_id = register_manager(client, tokens.manager)
    before = head_position(system)

    def always_beaten(*aggregates: Any, **kwargs: Any) -> Any:
        raise RecordConflictError

    monkeypatch.setattr(system.ledger, "save", always_beaten)
    lost = set_capacity(client, tokens.manager, manager_id, 40)
    monkeypatch.undo()

    assert "gave up" in assert_problem(lost, 409, "version_conflict")["detail"]
    assert head_position(system) == before


def test_a_capacity_for_an_unknown_account_manager_is_404(client: TestClient, tokens: Tokens) -> None:
    unknown = set_capacity(client, tokens.manager, str(uuid.uuid4()), 10)
    not_an_id = set_capacity(client, tokens.manager, "not-a-uuid", 10)

    assert "account manager" in assert_problem(unknown, 404, "not_found")["detail"]
    assert assert_problem(not_an_id, 422, "validation_error")["errors"][0]["field"] == "account_manager_id"


def test_a_deactivated_account_manager_is_given_no_capacity(client: TestClient, tokens: Tokens, system: System) -> None:
    manager_id = register_manager(client, tokens.manager)
    deactivated = client.post(
        f"/v1/account-managers/{manager_id}/deactivation", json={"reason": "Left the firm"}, headers=tokens.manager
    )
    assert deactivated.status_code == 200
    before = head_position(system)

    refused = set_capacity(client, tokens.manager, manager_id, 10)

    assert "deactivated" in assert_problem(refused, 409, "rule_violation")["detail"]
    assert head_position(system) == before


def test_the_same_idempotency_key_replays_the_first_answer_and_another_body_under_it_is_a_422(
    client: TestClient, tokens: Tokens, system: System
) -> None:
    manager_id = register_manager(client, tokens.manager)
    key = {"Idempotency-Key": f"capacity-{uuid.uuid4().hex}"}

    first = set_capacity(client, tokens.manager, manager_id, 18, **key)
    after_first = head_position(system)
    again = set_capacity(client, tokens.manager, manager_id, 18, **key)
    other = set_capacity(client, tokens.manager, manager_id, 19, **key)

    assert (first.status_code, again.status_code, again.json()) == (200, 200, first.json())
    assert assert_problem(other, 422, "validation_error")["errors"][0]["field"] == "Idempotency-Key"
    assert head_position(system) == after_first


def test_the_capacity_route_is_described_with_its_bounds_and_problems(system: System) -> None:
    spec = create_app(system).openapi()
    operation = spec["paths"]["/v1/account-managers/{account_manager_id}/capacity"]["put"]
    schema_name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    capacity = spec["components"]["schemas"][schema_name]["properties"]["capacity"]

    assert (capacity["type"], capacity["minimum"], capacity["maximum"]) == ("integer", MIN_CAPACITY, MAX_CAPACITY)
    assert {"403", "404", "409", "412", "422"} <= set(operation["responses"])
    workload_row_schema = spec["components"]["schemas"]["WorkloadRowPublic"]["properties"]
    assert {"capacity", "capacity_is_default", "overloaded"} <= set(workload_row_schema)
