"""`/v1/preclearance-requests`: asking before giving, compliance's decisions, gifts that use an approval, and
`preclearance_required`, over HTTP on both stores."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from domain.commands import ScheduleProgrammeRules
from domain.values import Role
from infrastructure.bootstrap import System
from tests.conftest import audit_as
from tests.e2e.conftest import Desk, Headers, Json, Tokens, assert_problem, gift_body, register_manager, unique

ITEM_FIELDS = {
    "request_id",
    "relationship_id",
    "client_name",
    "account_manager_id",
    "requested_by",
    "requested_at",
    "planned_on",
    "category",
    "description",
    "purpose",
    "cost",
    "counted_value",
    "band",
    "status",
    "expires_on",
    "decided_by",
    "decided_at",
    "decision_reason",
    "gift_id",
    "version",
    "recipients",
}


def request_body(desk: Desk, name: str, cost: str, planned_on: str, **changes: Any) -> Json:
    return {
        "relationship_id": desk.relationship_id,
        "recipient": {"name": name, "employer": "Acme"},
        "description": "Dinner",
        "purpose": "Thank the client for the renewal",
        "planned_on": planned_on,
        "category": "general",
        "cost": cost,
        **changes,
    }


def ask(client: TestClient, headers: Headers, body: Json) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/preclearance-requests", json=body, headers={**headers, "Idempotency-Key": unique("k")}
    )
    return response


def asked(client: TestClient, headers: Headers, body: Json) -> Json:
    response = ask(client, headers, body)
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    assert response.headers["Location"] == f"/v1/preclearance-requests/{answer['id']}"
    return answer


def decide(
    client: TestClient, headers: Headers, request_id: str, what: str, body: Json, version: int
) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/v1/preclearance-requests/{request_id}/{what}", json=body, headers={**headers, "If-Match": f'"{version}"'}
    )
    return response


def give(
    client: TestClient, desk: Desk, headers: Headers, name: str, cost: str, day: str, **extra: Any
) -> httpx.Response:
    body = gift_body(name, "Acme", cost=cost, given_on=day, **extra)
    response: httpx.Response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts", json=body, headers=headers
    )
    return response


def test_a_request_is_approved_at_once_in_the_auto_band_or_queued_and_every_role_reads_what_it_may(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    today = system.ledger.today().isoformat()
    mine = tokens.account_manager(desk.account_manager_id)
    auto = asked(client, mine, request_body(desk, "Bob Smith", "50.00", today))
    assert (auto["status"], auto["band"], auto["counted_value"]) == ("approved", "auto", "50.00")
    assert auto["expires_on"] is not None
    review = asked(client, mine, request_body(desk, "Carol Jones", "50.01", today))
    assert (review["status"], review["band"], review["expires_on"]) == ("pending", "review", None)

    queue = client.get(
        "/v1/preclearance-requests",
        params={"status": "pending", "min_position": review["position"]},
        headers=tokens.compliance,
    )
    assert queue.status_code == 200, queue.text
    (item,) = queue.json()["items"]
    assert set(item) == ITEM_FIELDS
    assert item["request_id"] == review["id"]
    (person,) = item["recipients"]
    assert person["name"] == "Carol Jones"
    assert person["year"]["headroom"] == person["year"]["limit"]

    every = client.get("/v1/preclearance-requests", params={"min_position": review["position"]}, headers=mine)
    assert [i["request_id"] for i in every.json()["items"]] == [auto["id"], review["id"]]
    bob = every.json()["items"][0]["recipients"][0]["year"]
    assert (bob["reserved"], bob["counted"]) == ("50.00", "0.00")

    other = tokens.account_manager(register_manager(client, tokens.manager))
    assert client.get("/v1/preclearance-requests", params={"min_position": 0}, headers=other).json()["items"] == []
    assert_problem(
        client.get("/v1/preclearance-requests", params={"account_manager_id": desk.account_manager_id}, headers=other),
        403,
        "forbidden",
    )
    assert_problem(client.get(f"/v1/preclearance-requests/{auto['id']}", headers=other), 403, "forbidden")
    for headers in (tokens.auditor, tokens.compliance, tokens.manager, tokens.admin, mine):
        one = client.get(f"/v1/preclearance-requests/{auto['id']}", headers=headers)
        assert one.status_code == 200, one.text
        assert one.headers["ETag"] == '"2"'
        assert (one.json()["status"], one.json()["client_name"]) == (
            "approved",
            every.json()["items"][0]["client_name"],
        )
    assert_problem(client.get(f"/v1/preclearance-requests/{desk.relationship_id}", headers=mine), 404, "not_found")


def test_compliance_approves_or_denies_and_the_problems_are_precise(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    today = system.ledger.today().isoformat()
    mine = tokens.account_manager(desk.account_manager_id)
    first = asked(client, mine, request_body(desk, "Bob Smith", "200.00", today))
    second = asked(client, mine, request_body(desk, "Bob Smith", "200.00", today))
    for headers in (mine, tokens.manager, tokens.auditor):
        assert_problem(decide(client, headers, first["id"], "approval", {}, 1), 403, "forbidden")
    assert_problem(decide(client, tokens.compliance, first["id"], "approval", {}, 7), 412, "precondition_failed")
    approved = decide(client, tokens.compliance, first["id"], "approval", {"reason": "Anniversary"}, 1)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.headers["ETag"] == '"2"'
    refused = assert_problem(
        decide(client, tokens.compliance, second["id"], "approval", {}, 1), 409, "gift_limit_exceeded"
    )
    assert (refused["reserved"], refused["headroom"]) == ("200.00", "100.00")
    assert_problem(decide(client, tokens.compliance, second["id"], "denial", {}, 1), 422, "validation_error")
    denied = decide(client, tokens.compliance, second["id"], "denial", {"reason": "Too lavish"}, 1)
    assert denied.json()["status"] == "denied"
    assert_problem(decide(client, tokens.compliance, second["id"], "approval", {}, 2), 409, "rule_violation")
    over = assert_problem(
        ask(client, mine, request_body(desk, "Bob Smith", "100.01", today)), 409, "gift_limit_exceeded"
    )
    assert over["reserved"] == "200.00"
    assert_problem(ask(client, mine, request_body(desk, "Bob Smith", "10.00", "2020-01-01")), 422, "validation_error")
    assert_problem(ask(client, tokens.compliance, request_body(desk, "Ann Other", "10.00", today)), 403, "forbidden")
    assert_problem(
        ask(client, mine, {**request_body(desk, "X Y", "10.00", today), "cost": 10}), 422, "validation_error"
    )
    missing = request_body(desk, "X Y", "10.00", today, relationship_id=first["id"])
    assert_problem(ask(client, mine, missing), 404, "not_found")
    ticket = request_body(desk, "X Y", "10.00", today, category="ticket", representative_attended=True)
    assert_problem(ask(client, mine, ticket), 409, "rule_violation")
    assert_problem(decide(client, tokens.compliance, desk.relationship_id, "approval", {}, 1), 404, "not_found")


def test_a_gift_using_an_approval_consumes_its_reservation_and_two_gifts_naming_it_let_one_through(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    today = system.ledger.today().isoformat()
    mine = tokens.account_manager(desk.account_manager_id)
    request = asked(client, mine, request_body(desk, "Bob Smith", "250.00", today))
    decide(client, tokens.compliance, request["id"], "approval", {}, 1)

    def gift(_: int) -> httpx.Response:
        return give(client, desk, mine, "Bob Smith", "250.00", today, preclearance_id=request["id"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(r.status_code for r in pool.map(gift, range(2)))
    assert outcomes == [201, 409]
    used = client.get(f"/v1/preclearance-requests/{request['id']}", headers=mine).json()
    assert used["status"] == "used"
    assert used["gift_id"] is not None
    position = system.projections.head()
    headroom = client.get(
        "/v1/compliance/headroom",
        params={"name": "Bob Smith", "employer": "Acme", "min_position": position},
        headers=mine,
    ).json()
    assert (headroom["counted"], headroom["headroom"]) == ("250.00", "50.00"), "the gift replaced the reservation"
    withdrawn = asked(client, mine, request_body(desk, "Carol Jones", "40.00", today))
    taken_back = decide(client, mine, withdrawn["id"], "withdrawal", {"reason": "Dinner cancelled"}, 2)
    assert taken_back.json()["status"] == "withdrawn"
    refused = give(client, desk, mine, "Carol Jones", "40.00", today, preclearance_id=withdrawn["id"])
    assert_problem(refused, 409, "rule_violation")


def test_when_the_programme_requires_it_a_gift_above_the_auto_band_needs_an_approval(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    today = system.ledger.today()
    system.ledger.schedule_programme_rules(
        audit_as(Role.COMPLIANCE), ScheduleProgrammeRules(effective_from=today, preclearance_required=True)
    )
    mine = tokens.account_manager(desk.account_manager_id)
    required = assert_problem(
        give(client, desk, mine, "Bob Smith", "50.01", today.isoformat()), 409, "preclearance_required"
    )
    assert (required["counted_value"], required["auto_approve_up_to"]) == ("50.01", "50.00")
    assert give(client, desk, mine, "Bob Smith", "50.00", today.isoformat()).status_code == 201
    request = asked(client, mine, request_body(desk, "Carol Jones", "80.00", today.isoformat()))
    decide(client, tokens.compliance, request["id"], "approval", {}, 1)
    with_approval = give(client, desk, mine, "Carol Jones", "80.00", today.isoformat(), preclearance_id=request["id"])
    assert with_approval.status_code == 201, with_approval.text
