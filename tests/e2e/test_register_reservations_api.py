"""What approved pre-clearance requests reserve, as the compliance reads show it over HTTP on SQLite and PostgreSQL:
the register entry, one recipient and the headroom gain `reserved` (and the register its `reservations`), the
headroom is net of it, and a gift using the approval turns the reservation into a gift counted once."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Json, Tokens, unique


def post(client: TestClient, path: str, headers: dict[str, str], body: Json) -> Json:
    response = client.post(path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    return answer


def read(client: TestClient, headers: dict[str, str], path: str, position: int, **params: Any) -> Json:
    response = client.get(path, params={**params, "min_position": position}, headers=headers)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def test_an_approvals_reservation_shows_in_the_register_and_the_headroom_until_a_gift_uses_it(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    today = system.ledger.today()
    name, employer = unique("Rhea Reserve"), unique("Initech")
    given = post(
        client,
        f"/v1/relationships/{desk.relationship_id}/gifts",
        desk.manager,
        {
            "recipient": {"name": name, "employer": employer},
            "description": "Lunch",
            "given_on": today.isoformat(),
            "category": "general",
            "cost": "100.00",
        },
    )
    request = post(
        client,
        "/v1/preclearance-requests",
        desk.manager,
        {
            "relationship_id": desk.relationship_id,
            "recipient": {"name": name, "employer": employer},
            "description": "Concert",
            "purpose": "Thank you",
            "planned_on": today.isoformat(),
            "category": "general",
            "cost": "40.00",
        },
    )
    assert (request["status"], request["band"]) == ("approved", "auto")
    year, recipient_id = today.year, given["recipient_id"]

    register = read(client, tokens.compliance, "/v1/compliance/gift-register", request["position"], year=year)
    (entry,) = [e for e in register["items"] if e["recipient_id"] == recipient_id]
    one = read(client, tokens.auditor, f"/v1/compliance/recipients/{recipient_id}", request["position"], year=year)
    headroom = read(
        client, tokens.manager, "/v1/compliance/headroom", request["position"], name=name, employer=employer
    )

    assert (entry["counted_total"], entry["reserved"], entry["headroom"]) == ("100.00", "40.00", "160.00")
    assert entry["reservations"] == [
        {
            "reservation_id": str(request["id"]),
            "request_id": str(request["id"]),
            "planned_on": today.isoformat(),
            "counted_value": "40.00",
            "expires_on": request["expires_on"],
        }
    ]
    assert one == entry
    assert (headroom["counted"], headroom["reserved"], headroom["headroom"]) == ("100.00", "40.00", "160.00")

    used = post(
        client,
        f"/v1/relationships/{desk.relationship_id}/gifts",
        desk.manager,
        {
            "recipient": {"name": name, "employer": employer},
            "description": "Concert",
            "given_on": today.isoformat(),
            "category": "general",
            "cost": "40.00",
            "preclearance_id": str(request["id"]),
        },
    )

    after = read(client, tokens.compliance, f"/v1/compliance/recipients/{recipient_id}", used["position"], year=year)
    assert (after["counted_total"], after["headroom"]) == ("140.00", "160.00")
    assert "reserved" not in after
    assert "reservations" not in after
    (gift,) = [g for g in after["gifts"] if g["gift_id"] == used["gift_id"]]
    assert (gift["preclearance_id"], gift["head_count"]) == (str(request["id"]), 1)
