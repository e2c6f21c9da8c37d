"""The programme's dated rules over HTTP, on SQLite and PostgreSQL: the defaults, a change naming only some rules,
a change in the past needing a reason, bad values refused whole, and who may change them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Json, Tokens, assert_problem

DEFAULTS = {
    "preclearance_required": False,
    "auto_approve_up_to": "50.00",
    "approval_valid_days": 30,
    "entertainment_cap_per_event": "250.00",
    "entertainment_cap_per_year": "1000.00",
    "received_review_threshold": "100.00",
    "attestations_required": False,
    "attestation_due_days": 30,
}


def policy(client: TestClient, tokens: Tokens) -> Json:
    response = client.get("/v1/compliance/gift-policy", headers=tokens.auditor)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def schedule(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/v1/compliance/gift-policy/programme",
        json=body,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def test_the_default_programme_is_in_force_from_1970_and_the_policy_reads_as_before(
    client: TestClient, tokens: Tokens
) -> None:
    programme = client.get("/v1/compliance/gift-policy/programme", headers=tokens.manager)

    assert programme.status_code == 200, programme.text
    assert programme.headers["ETag"] == '"1"'
    assert programme.json() == {
        "programme": [{"effective_from": "1970-01-01", **DEFAULTS}],
        "programme_in_force": DEFAULTS,
    }
    # Until the firm changes the programme, the gift policy's body is what it was before programmes existed.
    assert "programme" not in policy(client, tokens)
    assert "programme_in_force" not in policy(client, tokens)


def test_a_change_sets_the_rules_it_names_and_keeps_the_others(
    client: TestClient, tokens: Tokens, system: System
) -> None:
    later = system.ledger.today() + timedelta(days=10)

    first = schedule(
        client,
        tokens.compliance,
        effective_from=later.isoformat(),
        preclearance_required=True,
        auto_approve_up_to="25.00",
        entertainment_cap_per_event=None,
    )
    same_day = schedule(client, tokens.admin, effective_from=later.isoformat(), attestations_required=True)

    assert (first.status_code, first.json()["version"], first.headers["ETag"]) == (201, 2, '"2"')
    assert same_day.status_code == 201, same_day.text
    body = policy(client, tokens)
    # The second change on that day replaces the first, taking what it leaves out from the rules in force that
    # day (the first change's).
    assert body["programme"] == [
        {"effective_from": "1970-01-01", **DEFAULTS},
        {
            "effective_from": later.isoformat(),
            **DEFAULTS,
            "preclearance_required": True,
            "auto_approve_up_to": "25.00",
            "entertainment_cap_per_event": None,
            "attestations_required": True,
        },
    ]
    assert body["programme_in_force"] == DEFAULTS  # not yet in force
    assert client.get("/v1/compliance/gift-policy/programme", headers=tokens.manager).json() == {
        "programme": body["programme"],
        "programme_in_force": body["programme_in_force"],
    }
    events = client.get(
        "/v1/audit/events",
        params={"type": "ProgrammeRulesScheduled", "min_position": same_day.json()["position"]},
        headers=tokens.auditor,
    )
    assert events.status_code == 200, events.text
    assert [e["data"]["retroactive"] for e in events.json()["items"]] == [False, False]


def test_a_change_from_today_is_in_force_at_once_and_null_removes_a_cap(
    client: TestClient, tokens: Tokens, system: System
) -> None:
    today = system.ledger.today()

    response = schedule(
        client,
        tokens.compliance,
        effective_from=today.isoformat(),
        preclearance_required=True,
        approval_valid_days=365,
        entertainment_cap_per_year=None,
        attestation_due_days=0,
        received_review_threshold="0.00",
    )

    assert response.status_code == 201, response.text
    assert policy(client, tokens)["programme_in_force"] == {
        **DEFAULTS,
        "preclearance_required": True,
        "approval_valid_days": 365,
        "entertainment_cap_per_year": None,
        "attestation_due_days": 0,
        "received_review_threshold": "0.00",
    }


def test_a_change_in_the_past_needs_a_reason(client: TestClient, tokens: Tokens, system: System) -> None:
    yesterday = (system.ledger.today() - timedelta(days=1)).isoformat()

    without = schedule(client, tokens.compliance, effective_from=yesterday, preclearance_required=True)
    blank = schedule(client, tokens.compliance, effective_from=yesterday, reason="   ", preclearance_required=True)
    before_1970 = schedule(client, tokens.compliance, effective_from="1969-12-31", reason="Old")
    with_reason = schedule(
        client, tokens.compliance, effective_from=yesterday, reason="Adopted by the board", preclearance_required=True
    )

    assert assert_problem(without, 422, "validation_error")["errors"][0]["field"] == "reason"
    assert_problem(blank, 422, "validation_error")
    assert assert_problem(before_1970, 422, "validation_error")["errors"][0]["field"] == "effective_from"
    assert with_reason.status_code == 201, with_reason.text
    assert policy(client, tokens)["programme_in_force"]["preclearance_required"] is True


@pytest.mark.parametrize(
    "bad",
    [
        {"auto_approve_up_to": 50},
        {"auto_approve_up_to": "-1.00"},
        {"auto_approve_up_to": "1.001"},
        {"auto_approve_up_to": None},
        {"preclearance_required": None},
        {"preclearance_required": "true"},
        {"approval_valid_days": 0},
        {"approval_valid_days": 366},
        {"approval_valid_days": "30"},
        {"attestation_due_days": 91},
        {"entertainment_cap_per_event": "0.00"},
        {"received_review_threshold": "1e3"},
        {"surprise": True},
        {"effective_from": "2026-02-30"},
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(
    client: TestClient, tokens: Tokens, system: System, bad: dict[str, Any]
) -> None:
    body = {"effective_from": (system.ledger.today() + timedelta(days=3)).isoformat(), **bad}

    response = schedule(client, tokens.compliance, **body)

    assert_problem(response, 422, "validation_error")
    assert policy(client, tokens)["version"] == 1


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR, Role.ACCOUNT_MANAGER])
def test_only_compliance_and_admins_change_the_programme(
    client: TestClient, tokens: Tokens, desk: Desk, role: Role
) -> None:
    headers = tokens.account_manager(desk.account_manager_id) if role is Role.ACCOUNT_MANAGER else tokens.of(role)

    response = schedule(client, headers, effective_from=date(2199, 1, 1).isoformat(), preclearance_required=True)

    assert_problem(response, 403, "forbidden")
    assert policy(client, tokens)["version"] == 1


def test_a_stale_if_match_is_refused(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/v1/compliance/gift-policy/programme",
        json={"effective_from": "2199-12-31", "attestations_required": True},
        headers={**tokens.compliance, "If-Match": '"7"'},
    )

    assert_problem(response, 412, "precondition_failed")
