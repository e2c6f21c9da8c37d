"""Account managers over HTTP: registration, quotas and plans, deactivation, listing, workload and pay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.e2e.conftest import (
    Tokens,
    assert_problem,
    contact_body,
    open_relationship,
    register_manager,
)

PLAN = {
    "base_salary": "90000.00",
    "commission_rate": "0.05",
    "accelerator_rate": "0.02",
    "bonus_threshold": "1.0",
    "bonus_amount": "10000.00",
}


def test_registering_an_account_manager_answers_201_with_id_version_position_and_etag(
    client: TestClient, tokens: Tokens
) -> None:
    response = client.post(
        "/v1/account-managers", json={"name": "Ann Lee", "email": "ann.lee@example.com"}, headers=tokens.manager
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "version", "position"}
    assert body["version"] == 1
    # Position 1 is the default gift policy the ledger establishes on an empty store.
    assert body["position"] == 2
    assert response.headers["ETag"] == '"1"'
    record = client.get(f"/v1/account-managers/{body['id']}", headers=tokens.manager)
    assert record.status_code == 200
    assert record.headers["ETag"] == '"1"'
    assert record.json() == {
        "id": body["id"],
        "name": "Ann Lee",
        "email": "ann.lee@example.com",
        "active": True,
        "version": 1,
        "quotas": {},
        "compensation_plans": {},
        "capacity": 20,
        "capacity_is_default": True,
    }


def test_a_quota_and_a_compensation_plan_are_set_per_year_and_shown_on_the_record(
    client: TestClient, tokens: Tokens
) -> None:
    manager_id = register_manager(client, tokens.manager)

    quota = client.put(
        f"/v1/account-managers/{manager_id}/quotas/2026", json={"amount": "100000.00"}, headers=tokens.manager
    )
    plan = client.put(f"/v1/account-managers/{manager_id}/compensation-plans/2026", json=PLAN, headers=tokens.manager)

    assert (quota.status_code, quota.json()["version"], quota.headers["ETag"]) == (200, 2, '"2"')
    assert (plan.status_code, plan.json()["version"], plan.headers["ETag"]) == (200, 3, '"3"')
    assert plan.json()["position"] == quota.json()["position"] + 1
    record = client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()
    assert record["quotas"] == {"2026": "100000.00"}
    assert record["compensation_plans"] == {"2026": PLAN}
    assert record["version"] == 3


def test_a_quota_with_three_decimal_places_or_a_year_out_of_range_is_invalid_input(
    client: TestClient, tokens: Tokens
) -> None:
    manager_id = register_manager(client, tokens.manager)

    three_places = client.put(
        f"/v1/account-managers/{manager_id}/quotas/2026", json={"amount": "100.001"}, headers=tokens.manager
    )
    ancient = client.put(
        f"/v1/account-managers/{manager_id}/quotas/1800", json={"amount": "1.00"}, headers=tokens.manager
    )
    rate_as_number = client.put(
        f"/v1/account-managers/{manager_id}/compensation-plans/2026",
        json={**PLAN, "commission_rate": 0.05},
        headers=tokens.manager,
    )

    assert assert_problem(three_places, 422, "validation_error")["errors"][0]["field"] == "amount"
    assert assert_problem(ancient, 422, "validation_error")["errors"][0]["field"] == "year"
    assert assert_problem(rate_as_number, 422, "validation_error")["errors"][0]["field"] == "commission_rate"
    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["version"] == 1


def test_pay_for_a_year_follows_the_plan_and_the_contracts_signed_that_year(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)
    client.put(f"/v1/account-managers/{manager_id}/quotas/2026", json={"amount": "100000.00"}, headers=tokens.manager)
    client.put(f"/v1/account-managers/{manager_id}/compensation-plans/2026", json=PLAN, headers=tokens.manager)
    relationship_id = open_relationship(client, tokens.manager, manager_id)["id"]
    proposed = client.post(
        f"/v1/relationships/{relationship_id}/contracts",
        json={"title": "Custody", "value": "150000.00", "starts_on": "2026-02-01", "ends_on": "2027-01-31"},
        headers=tokens.manager,
    ).json()

    signed = client.post(
        f"/v1/relationships/{relationship_id}/contracts/{proposed['contract_id']}/signature",
        json={"signed_on": "2026-02-01"},
        headers=tokens.manager,
    )
    assert signed.status_code == 200
    pay = client.get(
        f"/v1/account-managers/{manager_id}/pay/2026",
        params={"min_position": signed.json()["position"]},
        headers=tokens.manager,
    )

    # commission = 0.05 x 150,000 + 0.02 x (150,000 - 100,000); the bonus threshold (1.0 x quota) is passed.
    assert pay.status_code == 200
    assert int(pay.headers["X-Projection-Position"]) >= signed.json()["position"]
    assert pay.json() == {
        "account_manager_id": manager_id,
        "year": 2026,
        "signed_value": "150000.00",
        "quota": "100000.00",
        "attainment": "1.5000",
        "commission": "8500.00",
        "bonus": "10000.00",
        "base_salary": "90000.00",
        "total": "108500.00",
        "contracts": [
            {
                "contract_id": proposed["contract_id"],
                "relationship_id": relationship_id,
                "signed_on": "2026-02-01",
                "value": "150000.00",
            }
        ],
    }
    nothing_in_2025 = client.get(f"/v1/account-managers/{manager_id}/pay/2025", headers=tokens.manager).json()
    assert (nothing_in_2025["signed_value"], nothing_in_2025["total"], nothing_in_2025["attainment"]) == (
        "0.00",
        "0.00",
        None,
    )
    assert nothing_in_2025["contracts"] == []


def test_workload_has_one_row_per_active_manager_with_tiers_and_weighted_load(
    client: TestClient, tokens: Tokens
) -> None:
    busy = register_manager(client, tokens.manager, name="Busy Bee")
    idle = register_manager(client, tokens.manager, name="Idle Ida")
    open_relationship(client, tokens.manager, busy, tier="key")
    open_relationship(client, tokens.manager, busy, tier="standard")
    last = open_relationship(client, tokens.manager, busy, tier="standard")

    response = client.get("/v1/workload", params={"min_position": last["position"]}, headers=tokens.manager)

    assert response.status_code == 200
    rows = {row["account_manager_id"]: row for row in response.json()}
    assert set(rows) == {busy, idle}
    assert rows[busy] == {
        "account_manager_id": busy,
        "name": "Busy Bee",
        "active_relationships": 3,
        "by_tier": {"key": 1, "major": 0, "standard": 2},
        "weighted_load": 6,
        "upcoming_demos": 0,
        "overdue_follow_ups": 0,
        "open_proposals": 0,
        "quota": "0.00",
        "signed_value": "0.00",
        "attainment": None,
        "capacity": 20,
        "capacity_is_default": True,
        "overloaded": False,
    }
    assert (rows[idle]["active_relationships"], rows[idle]["weighted_load"]) == (0, 0)


def test_a_managers_workload_adds_the_next_fortnights_demos_and_overdue_relationships(
    client: TestClient, tokens: Tokens
) -> None:
    manager_id = register_manager(client, tokens.manager)
    overdue = open_relationship(client, tokens.manager, manager_id, tier="standard", client_name="Stale Corp")["id"]
    fresh = open_relationship(client, tokens.manager, manager_id, tier="key", client_name="Fresh Corp")["id"]
    # A contact 40 days ago on a standard relationship (cadence 30 days) leaves it overdue.
    long_ago = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    client.post(
        f"/v1/relationships/{overdue}/contacts", json=contact_body(occurred_at=long_ago), headers=tokens.manager
    )
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    later = soon + timedelta(days=30)
    staff = [{"name": "Tess Tech", "role": "technical"}, {"name": "Dan Design", "role": "design"}]
    demo = client.post(
        f"/v1/relationships/{fresh}/demos",
        json={"product": "Prime brokerage", "scheduled_for": soon.isoformat(), "location": "Client HQ", "staff": staff},
        headers=tokens.manager,
    ).json()
    last = client.post(
        f"/v1/relationships/{fresh}/demos",
        json={"product": "FX", "scheduled_for": later.isoformat(), "location": "Client HQ", "staff": staff},
        headers=tokens.manager,
    ).json()

    response = client.get(
        f"/v1/account-managers/{manager_id}/workload", params={"min_position": last["position"]}, headers=tokens.manager
    )

    assert response.status_code == 200
    workload = response.json()
    assert (workload["upcoming_demos"], workload["overdue_follow_ups"]) == (1, 1)
    assert [(d["demo_id"], d["relationship_id"], d["client_name"], d["product"]) for d in workload["demos"]] == [
        (demo["demo_id"], fresh, "Fresh Corp", "Prime brokerage")
    ]
    assert workload["demos"][0]["staff"] == staff
    assert datetime.fromisoformat(workload["demos"][0]["scheduled_for"]) == soon
    assert [(o["relationship_id"], o["client_name"], o["tier"]) for o in workload["overdue_relationships"]] == [
        (overdue, "Stale Corp", "standard")
    ]


def test_a_deactivated_manager_leaves_the_workload_and_can_be_neither_deactivated_again_nor_assigned(
    client: TestClient, tokens: Tokens
) -> None:
    leaver = register_manager(client, tokens.manager)
    stayer = register_manager(client, tokens.manager)
    relationship_id = open_relationship(client, tokens.manager, stayer)["id"]

    deactivated = client.post(
        f"/v1/account-managers/{leaver}/deactivation", json={"reason": "Left the firm"}, headers=tokens.manager
    )
    again = client.post(f"/v1/account-managers/{leaver}/deactivation", json={"reason": "Twice"}, headers=tokens.manager)
    opened_for_leaver = client.post(
        "/v1/relationships",
        json={
            "client_name": "Initech",
            "client_kind": "corporate",
            "industry": "technology",
            "tier": "major",
            "account_manager_id": leaver,
        },
        headers=tokens.manager,
    )
    assigned_to_leaver = client.post(
        f"/v1/relationships/{relationship_id}/assignments",
        json={"account_manager_id": leaver, "reason": "Cover"},
        headers=tokens.manager,
    )

    assert (deactivated.status_code, deactivated.json()["version"]) == (200, 2)
    assert_problem(again, 409, "rule_violation")
    assert_problem(opened_for_leaver, 409, "rule_violation")
    assert_problem(assigned_to_leaver, 409, "rule_violation")
    position = deactivated.json()["position"]
    rows = client.get("/v1/workload", params={"min_position": position}, headers=tokens.manager).json()
    assert [row["account_manager_id"] for row in rows] == [stayer]
    assert_problem(client.get(f"/v1/account-managers/{leaver}/workload", headers=tokens.manager), 404, "not_found")
    assert client.get(f"/v1/account-managers/{leaver}", headers=tokens.manager).json()["active"] is False


def test_account_managers_are_listed_in_registration_order_a_page_at_a_time(client: TestClient, tokens: Tokens) -> None:
    names = ["First Fay", "Second Sam", "Third Tom"]
    ids = [register_manager(client, tokens.manager, name=name) for name in names]
    left = client.post(f"/v1/account-managers/{ids[1]}/deactivation", json={"reason": "Left"}, headers=tokens.manager)

    first = client.get(
        "/v1/account-managers", params={"limit": 2, "min_position": left.json()["position"]}, headers=tokens.manager
    )
    second = client.get(
        "/v1/account-managers", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=tokens.manager
    )

    assert first.status_code == 200
    assert [(item["id"], item["name"], item["active"]) for item in first.json()["items"]] == [
        (ids[0], "First Fay", True),
        (ids[1], "Second Sam", False),
    ]
    assert isinstance(first.json()["next_cursor"], str)
    assert second.json() == {
        "items": [{"id": ids[2], "name": "Third Tom", "email": "third.tom@example.com", "active": True}],
        "next_cursor": None,
    }


def test_an_unknown_account_manager_is_not_found_for_reads_and_commands(client: TestClient, tokens: Tokens) -> None:
    unknown = uuid.uuid4()

    for response in (
        client.get(f"/v1/account-managers/{unknown}", headers=tokens.manager),
        client.get(f"/v1/account-managers/{unknown}/pay/2026", headers=tokens.manager),
        client.get(f"/v1/account-managers/{unknown}/workload", headers=tokens.manager),
        client.put(f"/v1/account-managers/{unknown}/quotas/2026", json={"amount": "1.00"}, headers=tokens.manager),
        client.put(f"/v1/account-managers/{unknown}/compensation-plans/2026", json=PLAN, headers=tokens.manager),
        client.post(f"/v1/account-managers/{unknown}/deactivation", json={"reason": "?"}, headers=tokens.manager),
    ):
        assert_problem(response, 404, "not_found")
