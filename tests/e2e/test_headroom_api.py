"""`GET /v1/compliance/headroom`: what one person may still be given on a day, for every role (an account manager
asks before giving), found as a gift finds its recipient, with merged recipients counted as one person."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Headers, Tokens, assert_problem, gift_body, register_manager, unique

FIELDS = {"recipient_id", "name", "employer", "given_on", "limit_year", "limit", "counted", "headroom"}


def give(client: TestClient, desk: Desk, name: str, employer: str, cost: str, given_on: str) -> dict[str, Any]:
    """Gives a gift (general, counted at its cost) and returns the command's answer."""
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost=cost, given_on=given_on),
        headers=desk.manager,
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def headroom(client: TestClient, headers: Headers, position: int = 0, **params: str) -> dict[str, Any]:
    """The headroom read, once the views have reached `position`."""
    response = client.get("/v1/compliance/headroom", params={**params, "min_position": position}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == FIELDS  # totals only: never a gift, a relationship or a manager
    return body


def test_the_figures_are_the_limit_on_the_day_what_counts_in_its_limit_year_and_what_is_left(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    name, employer = unique("Jane Roe"), unique("Initech")
    give(client, desk, name, employer, "20.00", "2025-12-31")  # last year: does not count in 2026
    give(client, desk, name, employer, "120.00", "2026-05-01")
    last = give(client, desk, name, employer, "50.00", "2026-06-01")

    found = headroom(client, tokens.compliance, last["position"], name=name, employer=employer, given_on="2026-06-15")

    assert found == {
        "recipient_id": last["recipient_id"],
        "name": name,
        "employer": employer,
        "given_on": "2026-06-15",
        "limit_year": "2026",
        "limit": "300.00",
        "counted": "170.00",
        "headroom": "130.00",
    }
    # Earlier in the year FINRA's limit was $100: the year's gifts already pass it, so nothing is left that day.
    early = headroom(client, tokens.compliance, last["position"], name=name, employer=employer, given_on="2026-01-15")
    assert (early["limit"], early["counted"], early["headroom"]) == ("100.00", "170.00", "0.00")
    december = headroom(
        client, tokens.compliance, last["position"], name=name, employer=employer, given_on="2025-12-01"
    )
    assert (december["limit_year"], december["counted"], december["headroom"]) == ("2025", "20.00", "80.00")


def test_the_headroom_is_exactly_what_the_gift_rule_accepts_including_a_later_gifts_limit_year(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    # Rolling years: a gift on 1 June is in the year of a later gift on 1 September, which holds $250 already.
    policy = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "rolling_12_months"}, headers=tokens.compliance
    )
    assert policy.status_code == 200, policy.text
    name, employer = unique("Ada Byron"), unique("Analytical Engines")
    give(client, desk, name, employer, "100.00", "2026-01-10")
    last = give(client, desk, name, employer, "150.00", "2026-09-01")

    found = headroom(client, tokens.compliance, last["position"], name=name, employer=employer, given_on="2026-06-01")

    # On 1 June its own rolling year holds only the January gift ($100 of $300), but September's holds both.
    assert (found["limit_year"], found["counted"], found["headroom"]) == ("2025-06-02/2026-06-01", "100.00", "50.00")
    over = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="50.01", given_on="2026-06-01"),
        headers=desk.manager,
    )
    assert_problem(over, 409, "gift_limit_exceeded")
    exactly = give(client, desk, name, employer, found["headroom"], "2026-06-01")
    after = headroom(
        client, tokens.compliance, exactly["position"], name=name, employer=employer, given_on="2026-06-01"
    )
    assert (after["counted"], after["headroom"]) == ("150.00", "0.00")


def test_a_merged_recipient_counts_as_their_survivor_by_either_name(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    employer = unique("Initech")
    robert = give(client, desk, "Robert Tables", employer, "200.00", "2026-05-01")
    bobby = give(client, desk, "Bobby Tables", employer, "50.00", "2026-06-01")
    before = headroom(
        client, tokens.compliance, bobby["position"], name="Bobby Tables", employer=employer, given_on="2026-07-01"
    )
    assert (before["recipient_id"], before["counted"], before["headroom"]) == (bobby["recipient_id"], "50.00", "250.00")

    merged = client.post(
        f"/v1/compliance/recipients/{robert['recipient_id']}/merges",
        json={"absorbed_id": bobby["recipient_id"], "reason": "Bobby is Robert: same desk, same e-mail"},
        headers=tokens.compliance,
    )
    assert merged.status_code == 201, merged.text

    for asked in ("Bobby Tables", "Robert Tables"):
        found = headroom(
            client, tokens.compliance, merged.json()["position"], name=asked, employer=employer, given_on="2026-07-01"
        )
        assert found["recipient_id"] == robert["recipient_id"]
        assert (found["name"], found["counted"], found["headroom"]) == ("Robert Tables", "250.00", "50.00")


def test_another_spelling_of_the_same_person_finds_them(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    firm = unique("Acme")
    given = give(client, desk, "Seán O'Brien", f"{firm}, Inc.", "75.00", "2026-05-01")

    found = headroom(
        client, tokens.compliance, given["position"], name="  SEAN   OBRIEN ", employer=f"The {firm.upper()} LLC",
        given_on="2026-05-02",
    )  # fmt: skip

    assert found["recipient_id"] == given["recipient_id"]
    assert (found["name"], found["employer"]) == ("Seán O'Brien", f"{firm}, Inc.")
    assert (found["counted"], found["headroom"]) == ("75.00", "225.00")


def test_someone_never_given_a_gift_has_the_whole_limit(client: TestClient, tokens: Tokens, system: System) -> None:
    found = headroom(
        client, tokens.compliance, name="  Nobody  Yet ", employer=unique("Nowhere"), given_on="2026-05-01"
    )

    assert found["recipient_id"] is None
    assert found["name"] == "Nobody Yet"
    assert (found["limit_year"], found["limit"], found["counted"], found["headroom"]) == (
        "2026",
        "300.00",
        "0.00",
        "300.00",
    )
    # Without a date, the day is today in the firm's time zone.
    today = headroom(client, tokens.compliance, name="Nobody Yet", employer="Nowhere")
    assert today["given_on"] == system.ledger.today().isoformat()


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_ask_and_sees_only_the_totals(
    client: TestClient, tokens: Tokens, desk: Desk, role: Role
) -> None:
    name, employer = unique("Jane Roe"), unique("Initech")
    given = give(client, desk, name, employer, "40.00", "2026-05-01")
    # An account manager who never gave this person anything (no relationship of theirs did) sees the totals too.
    other = register_manager(client, tokens.manager)
    headers = tokens.account_manager(other) if role is Role.ACCOUNT_MANAGER else tokens.of(role)

    found = headroom(client, headers, given["position"], name=name, employer=employer, given_on="2026-05-01")

    assert (found["recipient_id"], found["counted"], found["headroom"]) == (given["recipient_id"], "40.00", "260.00")


def test_without_a_token_it_is_refused(client: TestClient) -> None:
    response = client.get("/v1/compliance/headroom", params={"name": "Jane Roe", "employer": "Initech"})

    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"employer": "Initech"}, "name"),
        ({"name": "Jane Roe"}, "employer"),
        ({"name": "   ", "employer": "Initech"}, "name"),
        ({"name": "J" * 201, "employer": "Initech"}, "name"),
        ({"name": "Jane\u200bRoe", "employer": "Initech"}, "name"),
        ({"name": "Jane Roe", "employer": "Init\nech"}, "employer"),
        ({"name": "Jane Roe", "employer": "Initech", "given_on": "2026-13-01"}, "given_on"),
        ({"name": "Jane Roe", "employer": "Initech", "given_on": "2026-05-01T00:00:00Z"}, "given_on"),
        ({"name": "Jane Roe", "employer": "Initech", "given_on": "1899-12-31"}, "given_on"),
        ({"name": "Jane Roe", "employer": "Initech", "given_on": "1969-12-31"}, "given_on"),  # before any limit
        ({"name": "Jane Roe", "employer": "Initech", "given_on": "2199-12-31"}, "given_on"),  # after tomorrow
    ],
)
def test_bad_input_is_a_validation_error_naming_the_field(
    client: TestClient, tokens: Tokens, params: dict[str, str], field: str
) -> None:
    response = client.get("/v1/compliance/headroom", params=params, headers=tokens.compliance)

    body = assert_problem(response, 422, "validation_error")
    assert field in {error["field"] for error in body["errors"]}
