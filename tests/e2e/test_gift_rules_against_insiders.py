"""The gift rule holds against the people it records: dates, the firm's limit, and uncounted gifts (issue 13)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.application import FIRM_TIMEZONE
from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Tokens, assert_problem, gift_body, head_position, unique


def firm_today() -> date:
    return datetime.now(FIRM_TIMEZONE).date()


def _gift(client: TestClient, desk: Desk, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/relationships/{desk.relationship_id}/gifts", json=body, headers=desk.manager)


def _register_entry(client: TestClient, tokens: Tokens, name: str, year: int, position: int) -> dict[str, Any]:
    response = client.get(
        "/v1/compliance/gift-register", params={"year": year, "min_position": position}, headers=tokens.compliance
    )
    assert response.status_code == 200, response.text
    (entry,) = [entry for entry in response.json()["items"] if entry["name"] == name]
    return dict(entry)


def _exceptions(client: TestClient, tokens: Tokens, year: int, position: int) -> list[dict[str, Any]]:
    response = client.get(
        "/v1/compliance/exceptions", params={"year": year, "min_position": position}, headers=tokens.compliance
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# -- finding 3: nothing is dated after today ------------------------------------------


@pytest.mark.parametrize("days_ahead", [2, 31, 366])
def test_a_gift_dated_after_tomorrow_is_refused_so_it_cannot_be_charged_to_a_later_year(
    client: TestClient, system: System, desk: Desk, days_ahead: int
) -> None:
    before = head_position(system)
    given_on = (firm_today() + timedelta(days=days_ahead)).isoformat()

    response = _gift(client, desk, gift_body(unique("Ada Moss"), "Initech", given_on=given_on))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "given_on"
    assert "today in the firm's time zone" in body["detail"]
    assert head_position(system) == before


def test_a_gift_dated_tomorrow_is_within_the_one_day_of_tolerance(client: TestClient, desk: Desk) -> None:
    tomorrow = (firm_today() + timedelta(days=1)).isoformat()

    response = _gift(client, desk, gift_body(unique("Ada Moss"), "Initech", given_on=tomorrow))

    assert response.status_code == 201, response.text


def test_entertainment_dated_after_tomorrow_is_refused(client: TestClient, desk: Desk) -> None:
    body = {
        "occurred_on": (firm_today() + timedelta(days=40)).isoformat(),
        "description": "Dinner",
        "cost": "80.00",
        "attendees": ["Ada Moss"],
        "representative_attended": True,
    }

    response = client.post(f"/v1/relationships/{desk.relationship_id}/entertainment", json=body, headers=desk.manager)

    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "occurred_on"


def _proposed_contract(client: TestClient, desk: Desk) -> str:
    proposed = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts",
        json={"title": "Retainer", "value": "1000.00", "starts_on": "2026-01-01", "ends_on": "2027-01-01"},
        headers=desk.manager,
    )
    assert proposed.status_code == 201, proposed.text
    return str(proposed.json()["contract_id"])


def test_a_contract_cannot_be_signed_in_the_future(client: TestClient, desk: Desk) -> None:
    contract_id = _proposed_contract(client, desk)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts/{contract_id}/signature",
        json={"signed_on": (firm_today() + timedelta(days=10)).isoformat()},
        headers=desk.manager,
    )

    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "signed_on"


def test_a_correction_cannot_move_a_signing_into_the_future(client: TestClient, system: System, desk: Desk) -> None:
    contract_id = _proposed_contract(client, desk)
    signed = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts/{contract_id}/signature",
        json={"signed_on": firm_today().isoformat()},
        headers=desk.manager,
    )
    assert signed.status_code == 200, signed.text
    before = head_position(system)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/corrections",
        json={
            "corrects_version": signed.json()["version"],
            "reason": "Typo",
            "changes": {"signed_on": (firm_today() + timedelta(days=60)).isoformat()},
        },
        headers=desk.manager,
    )

    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "changes.signed_on"
    assert head_position(system) == before


# -- finding 4: the firm may only lower the limit, and says why when it looks back ------------


def test_the_firms_limit_cannot_be_raised_above_the_regulatory_limit(
    client: TestClient, system: System, tokens: Tokens
) -> None:
    before = head_position(system)
    effective_from = (firm_today() + timedelta(days=30)).isoformat()

    response = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": effective_from, "amount": "5000.00"},
        headers=tokens.compliance,
    )

    body = assert_problem(response, 409, "rule_violation")
    assert "$300.00" in body["detail"]
    assert head_position(system) == before


def test_before_the_regulator_raised_it_the_firms_limit_cannot_exceed_100(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2025-06-01", "amount": "150.00", "reason": "Generous"},
        headers=tokens.compliance,
    )

    assert "$100.00" in assert_problem(response, 409, "rule_violation")["detail"]


def test_a_limit_effective_in_the_past_needs_a_reason(client: TestClient, tokens: Tokens) -> None:
    past = (firm_today() - timedelta(days=30)).isoformat()

    refused = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": past, "amount": "250.00"},
        headers=tokens.compliance,
    )
    accepted = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": past, "amount": "250.00", "reason": "Board decision of last month, recorded late"},
        headers=tokens.compliance,
    )

    assert assert_problem(refused, 422, "validation_error")["errors"][0]["field"] == "reason"
    assert accepted.status_code == 201, accepted.text
    policy_events = client.get("/v1/audit/events", params={"limit": 500}, headers=tokens.auditor).json()["items"]
    (scheduled,) = [e for e in policy_events if e["type"] == "GiftLimitScheduled"]
    assert scheduled["data"]["reason"] == "Board decision of last month, recorded late"
    assert scheduled["data"]["retroactive"] is True
    assert scheduled["data"]["regulatory_limit"] == "300.00"


def test_a_retroactive_lowering_shows_one_limit_and_a_breach_everywhere(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    # $270 to one person in July, under the $300 limit; then the firm lowers its limit to $200 from April on.
    name = unique("Grace Hopper")
    given = _gift(client, desk, gift_body(name, "Initech", cost="270.00", given_on="2026-07-01"))
    assert given.status_code == 201, given.text
    lowered = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2026-04-01", "amount": "200.00", "reason": "Firm policy tightened"},
        headers=tokens.compliance,
    )
    assert lowered.status_code == 201, lowered.text
    position = lowered.json()["position"]

    entry = _register_entry(client, tokens, name, 2026, position)
    exceptions = [e for e in _exceptions(client, tokens, 2026, position) if e["name"] == name]
    page = client.get(
        f"/v1/compliance/recipients/{given.json()['recipient_id']}",
        params={"year": 2026, "min_position": position},
        headers=tokens.compliance,
    ).json()

    assert (entry["limit"], entry["counted_total"], entry["headroom"], entry["status"]) == (
        "200.00",
        "270.00",
        "0.00",
        "breach",
    )
    assert [(e["kind"], e["limit"], e["gift"]["gift_id"]) for e in exceptions] == [
        ("breach", "200.00", given.json()["gift_id"])
    ]
    assert (page["limit"], page["status"]) == ("200.00", "breach")


def test_a_recipient_past_80_percent_but_within_the_limit_is_near_the_limit_not_in_breach(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    name = unique("Ada Lovelace")
    given = _gift(client, desk, gift_body(name, "Initech", cost="270.00", given_on="2026-07-01"))
    assert given.status_code == 201, given.text

    entry = _register_entry(client, tokens, name, 2026, given.json()["position"])
    kinds = [e["kind"] for e in _exceptions(client, tokens, 2026, given.json()["position"]) if e["name"] == name]

    assert (entry["status"], entry["headroom"]) == ("near_limit", "30.00")
    assert kinds == ["near_limit"]


# -- finding 5: a gift that counts nothing is still seen ------------------------------


def test_an_uncounted_gift_above_the_review_threshold_is_a_review_exception(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    name = unique("Alan Turing")
    promotional = _gift(
        client, desk, gift_body(name, "Initech", cost="50000.00", given_on="2026-07-01", category="promotional")
    )
    small = _gift(client, desk, gift_body(name, "Initech", cost="40.00", given_on="2026-07-20", category="promotional"))
    assert promotional.status_code == 201, promotional.text
    assert small.status_code == 201, small.text
    assert promotional.json()["counted_value"] == "0.00"

    found = [e for e in _exceptions(client, tokens, 2026, small.json()["position"]) if e["name"] == name]

    assert [(e["kind"], e["gift"]["gift_id"], e["gift"]["cost"]) for e in found] == [
        ("review", promotional.json()["gift_id"], "50000.00")
    ]


def test_the_firm_sets_the_review_threshold_and_only_compliance_may(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    name = unique("Alan Turing")
    promotional = _gift(
        client, desk, gift_body(name, "Initech", cost="500.00", given_on="2026-07-01", category="promotional")
    )
    assert promotional.status_code == 201, promotional.text

    refused = client.put(
        "/v1/compliance/gift-policy/review-threshold", json={"amount": "1000.00"}, headers=desk.manager
    )
    raised = client.put(
        "/v1/compliance/gift-policy/review-threshold", json={"amount": "1000.00"}, headers=tokens.compliance
    )

    assert_problem(refused, 403, "forbidden")
    assert raised.status_code == 200, raised.text
    policy = client.get("/v1/compliance/gift-policy", headers=tokens.compliance).json()
    assert policy["review_threshold"] == "1000.00"
    found = [e for e in _exceptions(client, tokens, 2026, raised.json()["position"]) if e["name"] == name]
    assert found == []
