"""Compliance over HTTP: the gift policy (FINRA Rule 3220), the gift register, one recipient, and exceptions."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.e2e.conftest import Desk, Tokens, assert_problem, gift_body, unique

FINRA_SCHEDULE = [
    {"effective_from": "1970-01-01", "amount": "100.00"},
    {"effective_from": "2026-03-30", "amount": "300.00"},
]


def give(client: TestClient, desk: Desk, name: str, employer: str, cost: str, given_on: str) -> int:
    """Gives a gift and returns the position it reached."""
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost=cost, given_on=given_on),
        headers=desk.manager,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def test_the_default_gift_policy_is_finras_schedule_with_calendar_years(client: TestClient, tokens: Tokens) -> None:
    response = client.get("/v1/compliance/gift-policy", headers=tokens.auditor)

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.json() == {
        "limit_schedule": FINRA_SCHEDULE,
        "limit_year": {"kind": "calendar", "start_month": None},
        "review_threshold": "100.00",
        "version": 1,
    }


def test_a_lower_limit_from_a_date_applies_to_gifts_given_from_that_date(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    scheduled = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2026-06-01", "amount": "150.00", "reason": "Lowered by the board"},
        headers=tokens.compliance,
    )
    name, employer = unique("Jane Roe"), unique("Initech")
    before = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="200.00", given_on="2026-05-31"),
        headers=desk.manager,
    )
    after = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(unique("John Doe"), employer, cost="200.00", given_on="2026-06-01"),
        headers=desk.manager,
    )

    assert (scheduled.status_code, scheduled.json()["version"], scheduled.headers["ETag"]) == (201, 2, '"2"')
    policy = client.get("/v1/compliance/gift-policy", headers=tokens.manager).json()
    assert policy["limit_schedule"] == [*FINRA_SCHEDULE, {"effective_from": "2026-06-01", "amount": "150.00"}]
    assert before.status_code == 201
    refusal = assert_problem(after, 409, "gift_limit_exceeded")
    assert (refusal["limit"], refusal["counted_this_year"], refusal["headroom"]) == ("150.00", "0.00", "150.00")


def test_the_limit_year_may_be_fiscal_with_a_start_month_or_rolling(client: TestClient, tokens: Tokens) -> None:
    fiscal = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "fiscal", "start_month": 4}, headers=tokens.compliance
    )
    fiscal_without_month = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "fiscal"}, headers=tokens.compliance
    )
    calendar_with_month = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "calendar", "start_month": 4}, headers=tokens.compliance
    )
    month_13 = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "fiscal", "start_month": 13}, headers=tokens.compliance
    )

    assert (fiscal.status_code, fiscal.json()["version"]) == (200, 2)
    for refused in (fiscal_without_month, calendar_with_month, month_13):
        assert_problem(refused, 422, "validation_error")
    assert client.get("/v1/compliance/gift-policy", headers=tokens.compliance).json()["limit_year"] == {
        "kind": "fiscal",
        "start_month": 4,
    }
    rolling = client.put(
        "/v1/compliance/gift-policy/limit-year", json={"kind": "rolling_12_months"}, headers=tokens.compliance
    )
    assert (rolling.status_code, rolling.json()["version"]) == (200, 3)


def test_a_fiscal_limit_year_counts_gifts_from_its_start_month(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    client.put("/v1/compliance/gift-policy/limit-year", json={"kind": "fiscal", "start_month": 7}, headers=tokens.admin)
    name, employer = unique("Jane Roe"), unique("Initech")
    give(client, desk, name, employer, "250.00", "2026-06-30")

    next_fiscal_year = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="250.00", given_on="2026-07-01"),
        headers=desk.manager,
    )
    same_fiscal_year = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="100.00", given_on="2026-07-02"),
        headers=desk.manager,
    )

    assert next_fiscal_year.status_code == 201
    refusal = assert_problem(same_fiscal_year, 409, "gift_limit_exceeded")
    assert (refusal["counted_this_year"], refusal["headroom"]) == ("250.00", "50.00")
    assert refusal["limit_year"] != "2026"


def test_a_policy_change_with_a_stale_if_match_is_refused_and_stores_nothing(
    client: TestClient, tokens: Tokens
) -> None:
    first = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2026-09-01", "amount": "200.00", "reason": "Lowered"},
        headers={**tokens.compliance, "If-Match": '"1"'},
    )
    stale = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2026-10-01", "amount": "250.00", "reason": "Lowered"},
        headers={**tokens.compliance, "If-Match": '"1"'},
    )

    assert first.status_code == 201
    body = assert_problem(stale, 412, "precondition_failed")
    assert (body["expected_version"], body["current_version"]) == (1, 2)
    assert client.get("/v1/compliance/gift-policy", headers=tokens.compliance).json()["version"] == 2


def test_the_gift_register_shows_each_recipient_with_total_limit_headroom_and_gifts(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    jane, john, employer = unique("Jane Roe"), unique("John Doe"), unique("Initech")
    give(client, desk, jane, employer, "120.00", "2026-05-01")
    give(client, desk, jane, employer, "30.00", "2026-08-01")
    give(client, desk, jane, employer, "90.00", "2025-12-31")
    last = give(client, desk, john, employer, "40.00", "2026-02-01")

    response = client.get(
        "/v1/compliance/gift-register", params={"year": 2026, "min_position": last}, headers=tokens.compliance
    )

    assert response.status_code == 200
    assert int(response.headers["X-Projection-Position"]) >= last
    assert response.json()["next_cursor"] is None
    entries = {entry["name"]: entry for entry in response.json()["items"]}
    assert set(entries) == {jane, john}
    assert {k: v for k, v in entries[jane].items() if k not in ("recipient_id", "gifts")} == {
        "name": jane,
        "employer": employer,
        "limit_year": "2026",
        "counted_total": "150.00",
        "limit": "300.00",
        "headroom": "150.00",
        "status": "ok",
        "spellings": [{"name": jane, "employer": employer}],
        "absorbed": [],
        "distinct_from": [],
    }
    gifts = entries[jane]["gifts"]
    assert [(g["given_on"], g["cost"], g["counted_value"]) for g in gifts] == [
        ("2026-05-01", "120.00", "120.00"),
        ("2026-08-01", "30.00", "30.00"),
    ]
    assert {g["relationship_id"] for g in gifts} == {desk.relationship_id}
    assert {g["account_manager_id"] for g in gifts} == {desk.account_manager_id}
    # John's only gift was given before 2026-03-30, when the limit was $100.
    assert (entries[john]["counted_total"], entries[john]["limit"], entries[john]["headroom"]) == (
        "40.00",
        "300.00",
        "260.00",
    )
    in_2025 = client.get("/v1/compliance/gift-register", params={"year": 2025}, headers=tokens.auditor).json()
    assert [(e["name"], e["counted_total"], e["limit"]) for e in in_2025["items"]] == [(jane, "90.00", "100.00")]


def test_the_gift_register_pages_by_cursor(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    employer = unique("Initech")
    positions = [give(client, desk, unique("Person"), employer, "10.00", "2026-05-01") for _ in range(3)]

    first = client.get(
        "/v1/compliance/gift-register",
        params={"year": 2026, "limit": 2, "min_position": positions[-1]},
        headers=tokens.compliance,
    )
    second = client.get(
        "/v1/compliance/gift-register",
        params={"year": 2026, "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=tokens.compliance,
    )

    assert len(first.json()["items"]) == 2
    assert len(second.json()["items"]) == 1
    assert second.json()["next_cursor"] is None
    names = {e["name"] for e in first.json()["items"]} | {e["name"] for e in second.json()["items"]}
    assert len(names) == 3


def test_one_recipient_is_shown_for_a_year_and_an_unknown_one_is_not_found(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    name, employer = unique("Jane Roe"), unique("Initech")
    given = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="75.00", given_on="2026-05-01"),
        headers=desk.manager,
    ).json()

    this_year = client.get(
        f"/v1/compliance/recipients/{given['recipient_id']}",
        params={"year": 2026, "min_position": given["position"]},
        headers=tokens.compliance,
    )
    a_year_without_gifts = client.get(
        f"/v1/compliance/recipients/{given['recipient_id']}", params={"year": 2024}, headers=tokens.compliance
    )
    unknown = client.get(f"/v1/compliance/recipients/{uuid.uuid4()}", headers=tokens.compliance)

    assert this_year.status_code == 200
    body = this_year.json()
    assert (body["recipient_id"], body["name"], body["employer"]) == (given["recipient_id"], name, employer)
    assert (body["counted_total"], body["limit"], body["headroom"]) == ("75.00", "300.00", "225.00")
    assert [gift["gift_id"] for gift in body["gifts"]] == [given["gift_id"]]
    assert a_year_without_gifts.status_code == 200
    assert {
        k: a_year_without_gifts.json()[k] for k in ("limit_year", "counted_total", "limit", "headroom", "gifts")
    } == {
        "limit_year": "2024",
        "counted_total": "0.00",
        "limit": "100.00",
        "headroom": "100.00",
        "gifts": [],
    }
    assert_problem(unknown, 404, "not_found")


def test_exceptions_show_gifts_near_the_limit_and_gifts_split_within_a_week(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    near, split, employer = unique("Near Nell"), unique("Split Sid"), unique("Initech")
    give(client, desk, near, employer, "250.00", "2026-05-01")  # above 80 % of $300
    give(client, desk, split, employer, "50.00", "2026-06-01")
    last = give(client, desk, split, employer, "50.00", "2026-06-05")  # four days later

    response = client.get(
        "/v1/compliance/exceptions", params={"year": 2026, "min_position": last}, headers=tokens.compliance
    )

    assert response.status_code == 200
    found = {(item["kind"], item["name"]) for item in response.json()["items"]}
    assert found == {("near_limit", near), ("split", split)}
    near_item = next(item for item in response.json()["items"] if item["kind"] == "near_limit")
    assert (near_item["counted_total"], near_item["limit"], near_item["gift"]["cost"]) == ("250.00", "300.00", "250.00")
    split_item = next(item for item in response.json()["items"] if item["kind"] == "split")
    assert len(split_item["related_gift_ids"]) == 1
    assert split_item["related_gift_ids"][0] != split_item["gift"]["gift_id"]


def test_a_year_out_of_range_is_invalid_input_for_every_compliance_read(client: TestClient, tokens: Tokens) -> None:
    for path in (
        "/v1/compliance/gift-register",
        "/v1/compliance/exceptions",
        f"/v1/compliance/recipients/{uuid.uuid4()}",
    ):
        response = client.get(path, params={"year": 10_000}, headers=tokens.compliance)
        assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "year"
