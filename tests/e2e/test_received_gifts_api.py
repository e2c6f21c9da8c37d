"""`POST /v1/received-gifts` and `GET /v1/received-gifts` over HTTP on SQLite and PostgreSQL: roles, valuation, the
review flag at the threshold, paging, and precise problems for bad input."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import Desk, Headers, Json, Tokens, assert_problem, register_manager

PATH = "/v1/received-gifts"


def body(desk: Desk, cost: Any = "80.00", **changes: Any) -> Json:
    return {
        "relationship_id": desk.relationship_id,
        "kind": "gift",
        "giver": {"name": "Bob Smith", "employer": "Acme"},
        "description": "Wine",
        "received_on": "2026-05-04",
        "cost": cost,
        **changes,
    }


def record(client: TestClient, headers: Headers, payload: Json) -> Json:
    response = client.post(PATH, json=payload, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"1"'
    answer: Json = response.json()
    return answer


def listed(client: TestClient, headers: Headers, position: int, **params: Any) -> list[Json]:
    response = client.get(PATH, params={"min_position": position, **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert int(response.headers["X-Projection-Position"]) >= position
    items: list[Json] = response.json()["items"]
    return items


def test_an_account_manager_records_what_they_received_and_compliance_sees_the_review_flag(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    mine = tokens.account_manager(desk.account_manager_id)
    at = record(client, mine, body(desk, "100.00"))
    over = record(client, mine, body(desk, "60.00", market_value="100.01", category="promotional"))
    shared = record(client, mine, body(desk, "300.00", kind="entertainment", shared_by=3))
    assert (at["value"], at["review"]) == ("100.00", False)
    assert (over["value"], over["review"]) == ("100.01", True)
    assert (shared["value"], shared["review"]) == ("100.00", False)
    items = listed(client, tokens.compliance, shared["position"])
    assert [(i["received_gift_id"], i["value"], i["review"]) for i in items] == [
        (at["id"], "100.00", False),
        (over["id"], "100.01", True),
        (shared["id"], "100.00", False),
    ]
    first = items[0]
    assert first["account_manager_id"] == desk.account_manager_id
    assert first["giver"] == {"name": "Bob Smith", "employer": "Acme"}
    assert (first["kind"], first["category"], first["cost"], first["shared_by"]) == ("gift", "general", "100.00", 1)
    assert listed(client, mine, shared["position"], year=2026) == items
    assert listed(client, mine, shared["position"], year=2025) == []


def test_the_list_pages_by_cursor_and_an_account_manager_reads_only_their_own(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    mine = tokens.account_manager(desk.account_manager_id)
    ids = [record(client, mine, body(desk, f"{n}.00"))["id"] for n in range(1, 4)]
    other = register_manager(client, tokens.manager)
    position = record(client, tokens.manager, body(desk, account_manager_id=other))["position"]
    response = client.get(PATH, params={"min_position": position, "limit": 2}, headers=mine)
    page = response.json()
    assert [i["received_gift_id"] for i in page["items"]] == ids[:2]
    rest = client.get(PATH, params={"cursor": page["next_cursor"]}, headers=mine).json()
    assert ([i["received_gift_id"] for i in rest["items"]], rest["next_cursor"]) == (ids[2:], None)
    assert len(listed(client, tokens.auditor, position)) == 4
    assert len(listed(client, tokens.manager, position, account_manager_id=other)) == 1
    assert_problem(client.get(PATH, params={"account_manager_id": other}, headers=mine), 403, "forbidden")


def test_who_may_record_and_on_whose_behalf(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    other = register_manager(client, tokens.manager)
    mine = tokens.account_manager(desk.account_manager_id)
    assert_problem(client.post(PATH, json=body(desk, account_manager_id=other), headers=mine), 403, "forbidden")
    stranger = tokens.account_manager(other)
    assert_problem(client.post(PATH, json=body(desk), headers=stranger), 403, "forbidden")
    for role_headers in (tokens.compliance, tokens.auditor):
        assert_problem(client.post(PATH, json=body(desk), headers=role_headers), 403, "forbidden")
    assert record(client, tokens.admin, body(desk, account_manager_id=other))["review"] is False
    missing = body(desk, relationship_id=str(uuid.uuid4()))
    assert_problem(client.post(PATH, json=missing, headers=tokens.manager), 404, "not_found")
    nobody = body(desk, account_manager_id=str(uuid.uuid4()))
    assert_problem(client.post(PATH, json=nobody, headers=tokens.manager), 404, "not_found")
    deactivated = client.post(
        f"/v1/account-managers/{other}/deactivation", json={"reason": "Left"}, headers=tokens.manager
    )
    assert deactivated.status_code == 200, deactivated.text
    gone = body(desk, account_manager_id=other)
    assert_problem(client.post(PATH, json=gone, headers=tokens.manager), 409, "rule_violation")


def test_bad_input_is_a_precise_problem(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    cases: list[tuple[Json, str]] = [
        (body(desk, cost=80), "cost"),
        (body(desk, cost="0.00"), "cost"),
        (body(desk, cost="1.001"), "cost"),
        (body(desk, kind="loan"), "kind"),
        (body(desk, shared_by=0), "shared_by"),
        (body(desk, shared_by="2"), "shared_by"),
        (body(desk, received_on="2026-13-01"), "received_on"),
        (body(desk, received_on="2199-12-31"), "received_on"),
        (body(desk, surprise=True), "surprise"),
        ({**body(desk), "giver": {"name": "Bob"}}, "giver"),
    ]
    for payload, field in cases:
        problem = assert_problem(client.post(PATH, json=payload, headers=tokens.manager), 422, "validation_error")
        assert any(field in error["field"] for error in problem["errors"]), (field, problem)
    assert_problem(client.get(PATH, params={"year": 1899}, headers=tokens.manager), 422, "validation_error")
    assert_problem(client.get(PATH, params={"cursor": "nonsense"}, headers=tokens.manager), 422, "validation_error")
