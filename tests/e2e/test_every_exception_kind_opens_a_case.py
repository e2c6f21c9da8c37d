"""All nine kinds of exception, each made through the API, listed in one exceptions list and each opened as a case,
on SQLite and PostgreSQL.

The firm's clock is injected: the first eight kinds are made and opened today; then the clock moves 150 days on,
past the day the attestation of this quarter was due, and the missing attestation is the ninth.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.exception_kinds import ExceptionKind, attestation_key, case_id_for
from domain.quarters import Quarter
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from tests.e2e.conftest import Headers, Json, Tokens, open_relationship, register_manager, unique


class MovableClock:
    """The firm's clock, moved on by the test."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def system(database_url: str, clock: MovableClock) -> Iterator[System]:
    built = build_system(Settings(database_url=database_url), clock=clock, run_projections=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system)) as test_client:
        yield test_client


def post(client: TestClient, path: str, headers: Headers, body: Json) -> Json:
    response = client.post(path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    answer: Json = response.json()
    return answer


def listed(client: TestClient, headers: Headers, year: int, position: int) -> dict[tuple[str, str], Json]:
    response = client.get(
        "/v1/compliance/exceptions",
        params={"year": year, "min_position": position, "limit": 500},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return {(item["kind"], item["key"]): item for item in response.json()["items"]}


def open_case(client: TestClient, headers: Headers, year: int, position: int, kind: str, key: str) -> Any:
    return client.post(
        "/v1/compliance/cases",
        params={"min_position": position},
        json={"kind": kind, "key": key, "year": year},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def test_every_kind_of_exception_is_listed_and_opens_one_case(
    client: TestClient, system: System, clock: MovableClock
) -> None:
    tokens = Tokens(system)
    today = system.ledger.today()
    year, day = today.year, today.isoformat()
    account_manager_id = register_manager(client, tokens.manager)
    relationship_id = str(open_relationship(client, tokens.manager, account_manager_id)["id"])
    gifts = f"/v1/relationships/{relationship_id}/gifts"
    employer = unique("Initech")

    def gift(name: str, cost: str, category: str = "general") -> Json:
        body = {"recipient": {"name": name, "employer": employer}, "description": "Dinner", "given_on": day}
        return post(client, gifts, tokens.manager, {**body, "category": category, "cost": cost})

    near_first, near = gift("Nell Near", "160.00"), gift("Nell Near", "50.00")  # 210 of 250 later: near, and split
    review = gift("Rita Review", "150.00", category="personal")  # counts nothing, costs more than $100
    over = gift("Bree Breach", "260.00")  # over the $250 the firm sets next, from today
    post(
        client,
        "/v1/compliance/gift-policy/limits",
        tokens.compliance,
        {"effective_from": day, "amount": "250.00", "reason": "Board decision"},
    )
    request = post(
        client,
        "/v1/preclearance-requests",
        tokens.manager,
        {
            "relationship_id": relationship_id,
            "recipient": {"name": "Pat Pending", "employer": employer},
            "description": "Theatre",
            "purpose": "Annual review",
            "planned_on": day,
            "category": "general",
            "cost": "120.00",
        },
    )
    assert (request["status"], request["band"]) == ("pending", "review")
    entertainment = f"/v1/relationships/{relationship_id}/entertainment"
    event = {"occurred_on": day, "description": "Dinner", "representative_attended": True}
    over_cap = post(client, entertainment, tokens.manager, {**event, "cost": "300.00", "attendees": ["Eve Event"]})
    for _ in range(5):  # 5 x $240: under the $250 per event, over the $1,000 a year with the fifth
        yearly = post(client, entertainment, tokens.manager, {**event, "cost": "240.00", "attendees": ["Yul Year"]})
    received = post(
        client,
        "/v1/received-gifts",
        tokens.manager,
        {
            "relationship_id": relationship_id,
            "kind": "gift",
            "giver": {"name": "Gus Giver", "employer": employer},
            "description": "Whisky",
            "received_on": day,
            "cost": "150.00",
        },
    )
    # Attestations are required from today: this quarter's is due 30 days after it ends.
    programme = post(
        client,
        "/v1/compliance/gift-policy/programme",
        tokens.compliance,
        {"effective_from": day, "attestations_required": True},
    )

    found = listed(client, tokens.compliance, year, programme["position"])
    relationship = relationship_id
    expected = {
        ("breach", over["gift_id"]),
        ("near_limit", near["gift_id"]),
        ("split", near_first["gift_id"]),
        ("review", review["gift_id"]),
        ("preclearance_review", str(request["id"])),
        ("entertainment_event_cap", f"{relationship}/{over_cap['version']}"),
        ("received_review", str(received["id"])),
    }
    assert expected <= set(found), sorted(set(found))
    year_caps = [key for kind, key in found if kind == "entertainment_year_cap"]
    assert [key.rsplit("/", 2)[1] for key in year_caps] == [str(yearly["version"])]

    position = programme["position"]
    for kind, key in sorted(expected | {("entertainment_year_cap", year_caps[0])}):
        opened = open_case(client, tokens.compliance, year, position, kind, key)
        assert opened.status_code == 201, opened.text
        assert opened.json()["id"] == str(case_id_for(ExceptionKind(kind), key))
        position = opened.json()["position"]

    with_cases = listed(client, tokens.compliance, year, position)
    assert {kind for (kind, _), item in with_cases.items() if item["case"] is not None} == {
        kind.value for kind in ExceptionKind if kind is not ExceptionKind.LATE_ATTESTATION
    }

    # 150 days on, this quarter's attestation is overdue: the ninth kind.
    quarter = Quarter.of(today)
    clock.shift = timedelta(days=150)
    key = attestation_key(account_manager_id, quarter.label)
    late = listed(client, tokens.compliance, quarter.end.year, position)
    assert ("late_attestation", key) in late, sorted(late)
    opened = open_case(client, tokens.compliance, quarter.end.year, position, "late_attestation", key)
    assert opened.status_code == 201, opened.text

    after = listed(client, tokens.compliance, quarter.end.year, opened.json()["position"])
    item = after[("late_attestation", key)]
    assert (item["quarter"], item["account_manager_id"], item["case"]["status"]) == (
        quarter.label,
        account_manager_id,
        "open",
    )
    case = client.get(f"/v1/compliance/cases/{opened.json()['id']}", headers=tokens.auditor).json()
    assert (case["kind"], case["quarter"], case["account_manager_id"]) == (
        "late_attestation",
        quarter.label,
        account_manager_id,
    )
