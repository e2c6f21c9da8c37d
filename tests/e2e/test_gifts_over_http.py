"""Gifts over HTTP under FINRA Rule 3220: counted values, refusals with their figures, and racing requests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.e2e.conftest import Desk, Tokens, assert_problem, events_of, gift_body, open_relationship, unique


def a_person() -> tuple[str, str]:
    return unique("Jane Roe"), unique("Globex Securities")


def test_a_gift_is_recorded_with_its_counted_value_gift_id_and_recipient_id(client: TestClient, desk: Desk) -> None:
    name, employer = a_person()

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="80.00", market_value="95.50"),
        headers=desk.manager,
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "version", "position", "gift_id", "recipient_id", "counted_value", "shared_with"}
    assert body["shared_with"] == []
    assert (body["id"], body["version"], body["counted_value"]) == (desk.relationship_id, 2, "95.50")
    assert response.headers["ETag"] == '"2"'
    given = events_of(client, desk.manager, desk.relationship_id)[-1]
    assert given["type"] == "GiftGiven"
    assert given["data"]["gift_id"] == body["gift_id"]
    assert given["data"]["counted_value"] == "95.50"
    assert given["occurred_at"] is not None
    assert given["occurred_at"].startswith("2026-05-01")


def test_counted_values_follow_the_category_the_ticket_rule_and_sharing(client: TestClient, desk: Desk) -> None:
    name, employer = a_person()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"category": "personal", "cost": "500.00"}, "0.00"),
        ({"category": "promotional", "cost": "40.00"}, "0.00"),
        ({"category": "ticket", "cost": "60.00", "face_value": "90.00"}, "90.00"),
        (
            {
                "category": "general",
                "cost": "100.00",
                "shared_with": [
                    {"name": unique("Carol Diaz"), "employer": employer},
                    {"name": unique("Dev Patel"), "employer": employer},
                ],
            },
            "33.33",
        ),
    ]

    counted = [
        client.post(
            f"/v1/relationships/{desk.relationship_id}/gifts",
            json=gift_body(name, employer, **changes),
            headers=desk.manager,
        ).json()["counted_value"]
        for changes, _ in cases
    ]

    assert counted == [expected for _, expected in cases]
    # A ticket to an event the representative attends is entertainment, not a gift.
    attended = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, category="ticket", cost="60.00", representative_attended=True),
        headers=desk.manager,
    )
    assert_problem(attended, 409, "rule_violation")


def test_a_gift_over_the_limit_is_refused_with_the_limit_the_amount_counted_and_the_headroom(
    client: TestClient, desk: Desk
) -> None:
    name, employer = a_person()
    first = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="250.00"),
        headers=desk.manager,
    )

    refused = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="100.00"),
        headers=desk.manager,
    )

    assert first.status_code == 201
    body = assert_problem(refused, 409, "gift_limit_exceeded")
    assert {key: body[key] for key in ("limit", "counted_this_year", "headroom", "limit_year")} == {
        "limit": "300.00",
        "counted_this_year": "250.00",
        "headroom": "50.00",
        "limit_year": "2026",
    }
    # Nothing of the refused gift was stored.
    assert [event["type"] for event in events_of(client, desk.manager, desk.relationship_id)] == [
        "Opened",
        "GiftGiven",
    ]
    exactly_the_headroom = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="50.00"),
        headers=desk.manager,
    )
    assert exactly_the_headroom.status_code == 201


def test_before_2026_03_30_the_limit_is_one_hundred_dollars(client: TestClient, desk: Desk) -> None:
    name, employer = a_person()
    client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="100.00", given_on="2026-01-15"),
        headers=desk.manager,
    )

    refused = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="0.01", given_on="2026-03-29"),
        headers=desk.manager,
    )

    body = assert_problem(refused, 409, "gift_limit_exceeded")
    assert (body["limit"], body["counted_this_year"], body["headroom"]) == ("100.00", "100.00", "0.00")


def test_gifts_to_one_person_from_different_relationships_count_together(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    other = open_relationship(client, tokens.manager, desk.account_manager_id)["id"]
    name, employer = a_person()
    client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost="200.00"),
        headers=desk.manager,
    )

    # The same person, written with other case and spacing, is the same recipient.
    refused = client.post(
        f"/v1/relationships/{other}/gifts",
        json=gift_body(f"  {name.upper()} ", employer.lower(), cost="150.00"),
        headers=desk.manager,
    )

    body = assert_problem(refused, 409, "gift_limit_exceeded")
    assert (body["counted_this_year"], body["headroom"]) == ("200.00", "100.00")


def test_money_for_a_gift_must_be_a_decimal_string_with_at_most_two_places(client: TestClient, desk: Desk) -> None:
    name, employer = a_person()

    for cost in (100, 100.5, "100.001", "1e2", "-5.00"):
        response = client.post(
            f"/v1/relationships/{desk.relationship_id}/gifts",
            json=gift_body(name, employer, cost=cost),  # type: ignore[arg-type]
            headers=desk.manager,
        )
        assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "cost", cost
    assert client.get(f"/v1/relationships/{desk.relationship_id}", headers=desk.manager).json()["gifts_given"] == 0


def test_twelve_simultaneous_hundred_dollar_gifts_to_one_person_let_exactly_three_through(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    relationship_ids = [
        desk.relationship_id,
        *(open_relationship(client, tokens.manager, desk.account_manager_id)["id"] for _ in range(2)),
    ]
    name, employer = a_person()
    requests = 12
    start = threading.Barrier(requests)

    def give(number: int) -> httpx.Response:
        relationship_id = relationship_ids[number % len(relationship_ids)]
        start.wait(timeout=30)
        response: httpx.Response = client.post(
            f"/v1/relationships/{relationship_id}/gifts",
            json=gift_body(name, employer, cost="100.00", given_on="2026-05-01", description=f"Hamper {number}"),
            headers=desk.manager,
        )
        return response

    with ThreadPoolExecutor(max_workers=requests) as pool:
        responses = list(pool.map(give, range(requests)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [409] * 9, [response.text for response in responses if response.status_code != 201]
    for refused in (response for response in responses if response.status_code == 409):
        body = assert_problem(refused, 409, "gift_limit_exceeded")
        assert (body["limit"], body["counted_this_year"], body["headroom"]) == ("300.00", "300.00", "0.00")
    given = {response.json()["gift_id"] for response in responses if response.status_code == 201}
    stored = {
        event["data"]["gift_id"]
        for relationship_id in relationship_ids
        for event in events_of(client, desk.manager, relationship_id)
        if event["type"] == "GiftGiven"
    }
    assert stored == given
    recipient_id = next(response.json()["recipient_id"] for response in responses if response.status_code == 201)
    position = max(response.json()["position"] for response in responses if response.status_code == 201)
    recipient = client.get(
        f"/v1/compliance/recipients/{recipient_id}",
        params={"year": 2026, "min_position": position},
        headers=tokens.compliance,
    ).json()
    assert (recipient["counted_total"], recipient["headroom"]) == ("300.00", "0.00")
    assert {gift["gift_id"] for gift in recipient["gifts"]} == given
