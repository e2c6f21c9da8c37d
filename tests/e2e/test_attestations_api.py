"""`POST /v1/account-managers/{id}/attestations` and `GET /v1/attestations` over HTTP on SQLite and PostgreSQL:
who may attest, once, only an ended quarter; the list with attested and recorded counts, statuses and roles."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from domain.commands import ScheduleProgrammeRules
from domain.quarters import Quarter
from domain.values import Role
from infrastructure.bootstrap import System
from tests.conftest import audit_as
from tests.e2e.conftest import Desk, Headers, Json, Tokens, assert_problem, gift_body, register_manager

COUNTS = {"gifts_given": 1, "entertainment_given": 0, "gifts_received": 1, "entertainment_received": 0}


def path(account_manager_id: str) -> str:
    return f"/v1/account-managers/{account_manager_id}/attestations"


def attestation(quarter: str, **changes: Any) -> Json:
    return {"quarter": quarter, **COUNTS, "statement": "Everything is recorded.", **changes}


def attest(client: TestClient, headers: Headers, account_manager_id: str, quarter: str) -> Json:
    response = client.post(path(account_manager_id), json=attestation(quarter), headers=headers)
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    return answer


def listed(client: TestClient, headers: Headers, position: int, **params: Any) -> list[Json]:
    response = client.get("/v1/attestations", params={"min_position": position, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


def last_ended(system: System) -> Quarter:
    return Quarter.of(system.ledger.today()).previous()


def test_an_account_manager_attests_an_ended_quarter_once_and_compliance_reads_it_beside_the_records(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    quarter = last_ended(system)
    mine = tokens.account_manager(desk.account_manager_id)
    in_quarter = (quarter.start + (quarter.end - quarter.start) / 2).isoformat()
    gift = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Bob Smith", "Acme", "20.00", given_on=in_quarter),
        headers=mine,
    )
    assert gift.status_code == 201, gift.text
    received = {
        "relationship_id": desk.relationship_id,
        "kind": "entertainment",
        "giver": {"name": "Bob Smith", "employer": "Acme"},
        "description": "Opera",
        "received_on": in_quarter,
        "cost": "90.00",
    }
    assert client.post("/v1/received-gifts", json=received, headers=mine).status_code == 201
    answer = attest(client, mine, desk.account_manager_id, quarter.label)
    assert (answer["quarter"], answer["due_on"], answer["late"]) == (
        quarter.label,
        quarter.due_on(30).isoformat(),
        False,
    )
    again = assert_problem(
        client.post(path(desk.account_manager_id), json=attestation(quarter.label), headers=mine), 409, "rule_violation"
    )
    assert "already attested" in again["detail"]
    items = listed(client, tokens.compliance, answer["position"])  # the default quarter: the last ended one
    (row,) = [item for item in items if item["account_manager_id"] == desk.account_manager_id]
    assert (row["quarter"], row["status"], row["required"]) == (quarter.label, "submitted", False)
    assert row["attested"] == COUNTS
    assert row["recorded"] == {
        "gifts_given": 1,
        "entertainment_given": 0,
        "gifts_received": 0,
        "entertainment_received": 1,
    }
    assert row["statement"] == "Everything is recorded."
    assert listed(client, mine, answer["position"], quarter=quarter.label) == [row]
    assert listed(client, tokens.auditor, answer["position"], status="overdue") == []


def test_a_required_attestation_submitted_after_its_due_day_is_late(
    client: TestClient, tokens: Tokens, system: System
) -> None:
    manager_id = register_manager(client, tokens.manager)
    today = system.ledger.today()
    quarter = Quarter(today.year - 1, 1)  # long over, and due long ago
    system.ledger.schedule_programme_rules(
        audit_as(Role.COMPLIANCE),
        ScheduleProgrammeRules(effective_from=quarter.end, reason="Programme", attestations_required=True),
    )
    answer = attest(client, tokens.admin, manager_id, quarter.label)
    assert answer["late"] is True
    (row,) = [
        item
        for item in listed(client, tokens.compliance, answer["position"], quarter=quarter.label, status="late")
        if item["account_manager_id"] == manager_id
    ]
    assert (row["required"], row["due_on"]) == (True, quarter.due_on(30).isoformat())


def test_only_the_account_manager_or_an_admin_attests_and_only_an_ended_quarter(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    quarter = last_ended(system).label
    other = register_manager(client, tokens.manager)
    for headers in (tokens.account_manager(other), tokens.manager, tokens.compliance, tokens.auditor):
        response = client.post(path(desk.account_manager_id), json=attestation(quarter), headers=headers)
        assert_problem(response, 403, "forbidden")
    missing = client.post(path(str(uuid.uuid4())), json=attestation(quarter), headers=tokens.admin)
    assert_problem(missing, 404, "not_found")
    current = Quarter.of(system.ledger.today()).label
    mine = tokens.account_manager(desk.account_manager_id)
    not_over = client.post(path(desk.account_manager_id), json=attestation(current), headers=mine)
    assert "has not ended" in assert_problem(not_over, 409, "rule_violation")["detail"]
    assert attest(client, tokens.admin, desk.account_manager_id, quarter)["late"] is False
    assert_problem(client.get("/v1/attestations", params={"account_manager_id": other}, headers=mine), 403, "forbidden")


def test_bad_input_is_a_precise_problem(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    cases: list[tuple[Json, str]] = [
        (attestation("2026-Q5"), "quarter"),
        (attestation("1899-Q4"), "quarter"),
        (attestation("2026-q1"), "quarter"),
        (attestation("2026-Q1", gifts_given="1"), "gifts_given"),
        (attestation("2026-Q1", gifts_received=-1), "gifts_received"),
        (attestation("2026-Q1", entertainment_given=1_000_001), "entertainment_given"),
        (attestation("2026-Q1", statement="   "), "statement"),
        (attestation("2026-Q1", extra=1), "extra"),
    ]
    for payload, field in cases:
        response = client.post(path(desk.account_manager_id), json=payload, headers=tokens.admin)
        problem = assert_problem(response, 422, "validation_error")
        assert any(field in error["field"] for error in problem["errors"]), (field, problem)
    for params in ({"quarter": "2026-Q0"}, {"status": "lost"}, {"quarter": "2200-Q1"}):
        assert_problem(client.get("/v1/attestations", params=params, headers=tokens.admin), 422, "validation_error")
