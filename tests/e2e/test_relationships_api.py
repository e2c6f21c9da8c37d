"""Client relationships over HTTP: opening, the story of a client, the rules, corrections and time travel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.e2e.conftest import (
    Desk,
    Tokens,
    assert_problem,
    contact_body,
    events_of,
    open_relationship,
    register_manager,
)

STAFF = [{"name": "Tess Tech", "role": "technical"}, {"name": "Dan Design", "role": "design"}]


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_opening_a_relationship_answers_201_and_shows_its_state_with_the_tiers_cadence(
    client: TestClient, tokens: Tokens
) -> None:
    manager_id = register_manager(client, tokens.manager)

    response = client.post(
        "/v1/relationships",
        json={
            "client_name": "Globex Securities",
            "client_kind": "corporate",
            "industry": "financial_services",
            "tier": "key",
            "account_manager_id": manager_id,
        },
        headers=tokens.manager,
    )

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    relationship_id = response.json()["id"]
    state = client.get(f"/v1/relationships/{relationship_id}", headers=tokens.manager)
    assert state.status_code == 200
    assert state.headers["ETag"] == '"1"'
    body = state.json()
    assert body["opened_at"] == body["recorded_at"]
    assert datetime.fromisoformat(body["opened_at"]).utcoffset() == timedelta(0)
    assert {k: v for k, v in body.items() if k not in ("opened_at", "recorded_at")} == {
        "id": relationship_id,
        "version": 1,
        "client_name": "Globex Securities",
        "client_kind": "corporate",
        "industry": "financial_services",
        "tier": "key",
        "status": "open",
        "account_manager_id": manager_id,
        "cadence_days": 7,
        "last_contact_at": None,
        "next_follow_up_on": None,
        "products": {},
        "demos": {},
        "contracts": {},
        "gifts_given": 0,
    }


def test_an_unknown_client_kind_industry_or_tier_is_invalid_input(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)
    body = {
        "client_name": "Globex",
        "client_kind": "corporate",
        "industry": "financial_services",
        "tier": "major",
        "account_manager_id": manager_id,
    }

    for field, value in (("client_kind", "partnership"), ("industry", "mining"), ("tier", "platinum")):
        response = client.post("/v1/relationships", json={**body, field: value}, headers=tokens.manager)
        assert [error["field"] for error in assert_problem(response, 422, "validation_error")["errors"]] == [field]
    unknown_field = client.post("/v1/relationships", json={**body, "colour": "red"}, headers=tokens.manager)
    assert assert_problem(unknown_field, 422, "validation_error")["errors"][0]["field"] == "colour"


def test_the_relationship_list_filters_by_manager_tier_and_status(client: TestClient, tokens: Tokens) -> None:
    ann = register_manager(client, tokens.manager)
    bob = register_manager(client, tokens.manager)
    ann_key = open_relationship(client, tokens.manager, ann, tier="key")["id"]
    ann_standard = open_relationship(client, tokens.manager, ann, tier="standard")["id"]
    bob_key = open_relationship(client, tokens.manager, bob, tier="key")["id"]
    closed = client.post(
        f"/v1/relationships/{ann_standard}/closure", json={"reason": "Moved away"}, headers=tokens.manager
    ).json()

    def listed(**filters: str) -> list[str]:
        response = client.get(
            "/v1/relationships", params={**filters, "min_position": closed["position"]}, headers=tokens.manager
        )
        assert response.status_code == 200
        assert int(response.headers["X-Projection-Position"]) >= closed["position"]
        return [item["id"] for item in response.json()["items"]]

    assert listed() == [ann_key, ann_standard, bob_key]
    assert listed(account_manager_id=ann) == [ann_key, ann_standard]
    assert listed(tier="key") == [ann_key, bob_key]
    assert listed(status="closed") == [ann_standard]
    assert listed(account_manager_id=ann, status="open") == [ann_key]
    item = client.get("/v1/relationships", params={"tier": "standard"}, headers=tokens.manager).json()["items"][0]
    assert (item["status"], item["version"], item["cadence_days"], item["account_manager_id"]) == ("closed", 2, 30, ann)


def test_the_story_of_a_client_is_recorded_in_order_with_growing_versions_and_positions(
    client: TestClient, desk: Desk
) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    headers = desk.manager

    # A contact, a product pitched, a demo moved and held, a contract proposed, signed and ended.
    steps = [
        client.post(f"{base}/contacts", json=contact_body(next_follow_up_on="2026-05-18"), headers=headers),
        client.post(
            f"{base}/product-introductions",
            json={"product": "Prime brokerage", "occurred_at": "2026-05-04T10:00:00Z", "outcome": "interested"},
            headers=headers,
        ),
    ]
    demo = client.post(
        f"{base}/demos",
        json={"product": "Prime brokerage", "scheduled_for": in_days(5), "location": "Client HQ", "staff": STAFF},
        headers=headers,
    )
    demo_id = demo.json()["demo_id"]
    steps += [
        demo,
        client.post(f"{base}/demos/{demo_id}/reschedule", json={"scheduled_for": in_days(6)}, headers=headers),
        client.post(f"{base}/demos/{demo_id}/completion", json={"outcome": "Wants a proposal"}, headers=headers),
    ]
    contract = client.post(
        f"{base}/contracts",
        json={"title": "Prime brokerage", "value": "250000.00", "starts_on": "2026-06-01", "ends_on": "2027-05-31"},
        headers=headers,
    )
    contract_id = contract.json()["contract_id"]
    steps += [
        contract,
        client.post(f"{base}/contracts/{contract_id}/signature", json={"signed_on": "2026-05-20"}, headers=headers),
        client.post(
            f"{base}/contracts/{contract_id}/termination",
            json={"on": "2026-12-31", "reason": "Client merged"},
            headers=headers,
        ),
        client.post(
            f"{base}/entertainment",
            json={
                "occurred_on": "2026-05-21",
                "description": "Dinner",
                "cost": "180.00",
                "attendees": ["Jane Roe"],
                "representative_attended": True,
            },
            headers=headers,
        ),
        client.put(f"{base}/tier", json={"tier": "key"}, headers=headers),
        client.put(f"{base}/cadence", json={"days": 10}, headers=headers),
    ]

    assert [step.status_code for step in steps] == [201, 201, 201, 200, 200, 201, 200, 200, 201, 200, 200]
    assert [step.json()["version"] for step in steps] == list(range(2, 13))
    assert [step.headers["ETag"] for step in steps] == [f'"{v}"' for v in range(2, 13)]
    positions = [step.json()["position"] for step in steps]
    assert positions == sorted(positions)
    assert positions[0] > desk.position
    events = events_of(client, headers, desk.relationship_id)
    assert [event["type"] for event in events] == [
        "Opened",
        "ContactLogged",
        "ProductIntroduced",
        "DemoScheduled",
        "DemoRescheduled",
        "DemoCompleted",
        "ContractProposed",
        "ContractSigned",
        "ContractTerminated",
        "EntertainmentProvided",
        "TierChanged",
        "ContactCadenceChanged",
    ]
    assert [event["version"] for event in events] == list(range(1, 13))
    assert [event["position"] for event in events] == [desk.position, *positions]
    state = client.get(f"/v1/relationships/{desk.relationship_id}", headers=headers).json()
    assert (state["version"], state["tier"], state["cadence_days"]) == (12, "key", 10)
    assert state["products"] == {"Prime brokerage": "interested"}
    assert state["next_follow_up_on"] == "2026-05-18"
    assert datetime.fromisoformat(state["last_contact_at"]) == datetime(2026, 5, 4, 7, 30, tzinfo=UTC)
    assert state["demos"][demo_id]["status"] == "completed"
    assert state["contracts"][contract_id]["status"] == "terminated"


def test_a_demo_is_completed_cancelled_or_moved_only_while_scheduled(client: TestClient, desk: Desk) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    demo_id = client.post(
        f"{base}/demos",
        json={"product": "FX", "scheduled_for": in_days(2), "location": "Online", "staff": STAFF},
        headers=desk.manager,
    ).json()["demo_id"]
    cancelled = client.post(f"{base}/demos/{demo_id}/cancellation", json={"reason": "Ill"}, headers=desk.manager)

    assert cancelled.status_code == 200
    for action, body in (
        ("completion", {"outcome": "Done"}),
        ("cancellation", {"reason": "Again"}),
        ("reschedule", {"scheduled_for": in_days(9)}),
    ):
        assert_problem(
            client.post(f"{base}/demos/{demo_id}/{action}", json=body, headers=desk.manager), 409, "rule_violation"
        )
    assert_problem(
        client.post(f"{base}/demos/{uuid.uuid4()}/completion", json={"outcome": "?"}, headers=desk.manager),
        404,
        "not_found",
    )
    no_staff = client.post(
        f"{base}/demos",
        json={"product": "FX", "scheduled_for": in_days(2), "location": "Online", "staff": []},
        headers=desk.manager,
    )
    assert_problem(no_staff, 422, "validation_error")
    assert client.get(base, headers=desk.manager).json()["version"] == 3


def test_a_contract_is_signed_once_only_if_proposed_and_terminated_only_if_signed(
    client: TestClient, desk: Desk
) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    contract_id = client.post(
        f"{base}/contracts",
        json={"title": "Custody", "value": "1000.00", "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
        headers=desk.manager,
    ).json()["contract_id"]

    early_termination = client.post(
        f"{base}/contracts/{contract_id}/termination", json={"on": "2026-06-30", "reason": "?"}, headers=desk.manager
    )
    signed = client.post(
        f"{base}/contracts/{contract_id}/signature", json={"signed_on": "2026-01-02"}, headers=desk.manager
    )
    signed_again = client.post(
        f"{base}/contracts/{contract_id}/signature", json={"signed_on": "2026-01-03"}, headers=desk.manager
    )
    unknown = client.post(
        f"{base}/contracts/{uuid.uuid4()}/signature", json={"signed_on": "2026-01-03"}, headers=desk.manager
    )

    assert_problem(early_termination, 409, "rule_violation")
    assert signed.status_code == 200
    assert_problem(signed_again, 409, "rule_violation")
    assert_problem(unknown, 404, "not_found")
    assert client.get(base, headers=desk.manager).json()["version"] == 3


def test_a_contract_needs_a_positive_value_and_an_end_after_its_start(client: TestClient, desk: Desk) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    good = {"title": "Custody", "value": "1000.00", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}

    for changes in ({"value": "0.00"}, {"value": "-5.00"}, {"ends_on": "2025-12-31"}, {"ends_on": "2026-01-01"}):
        response = client.post(f"{base}/contracts", json={**good, **changes}, headers=desk.manager)
        assert_problem(response, 422, "validation_error")
    assert client.get(base, headers=desk.manager).json()["version"] == 1


def test_nothing_is_recorded_on_a_closed_relationship_until_it_is_reopened(client: TestClient, desk: Desk) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"

    closed = client.post(f"{base}/closure", json={"reason": "Client left"}, headers=desk.manager)
    refused = [
        client.post(f"{base}/contacts", json=contact_body(), headers=desk.manager),
        client.put(f"{base}/tier", json={"tier": "key"}, headers=desk.manager),
        client.post(f"{base}/closure", json={"reason": "Again"}, headers=desk.manager),
        client.post(
            f"{base}/gifts",
            json={
                "recipient": {"name": "Jane Roe", "employer": "Globex"},
                "description": "Pen",
                "given_on": "2026-05-01",
                "category": "general",
                "cost": "10.00",
            },
            headers=desk.manager,
        ),
    ]
    reopened = client.post(f"{base}/reopening", json={"reason": "Client returned"}, headers=desk.manager)
    reopened_again = client.post(f"{base}/reopening", json={"reason": "Twice"}, headers=desk.manager)
    contact = client.post(f"{base}/contacts", json=contact_body(), headers=desk.manager)

    assert (closed.status_code, closed.json()["version"]) == (200, 2)
    for response in refused:
        assert_problem(response, 409, "rule_violation")
    assert (reopened.status_code, reopened.json()["version"]) == (200, 3)
    assert_problem(reopened_again, 409, "rule_violation")
    assert (contact.status_code, contact.json()["version"]) == (201, 4)
    assert [e["type"] for e in events_of(client, desk.manager, desk.relationship_id)] == [
        "Opened",
        "Closed",
        "Reopened",
        "ContactLogged",
    ]


def test_reassignment_moves_the_relationship_and_refuses_an_unknown_manager(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    successor = register_manager(client, tokens.manager)
    base = f"/v1/relationships/{desk.relationship_id}"

    assigned = client.post(
        f"{base}/assignments", json={"account_manager_id": successor, "reason": "Rebalancing"}, headers=desk.manager
    )
    unknown = client.post(
        f"{base}/assignments", json={"account_manager_id": str(uuid.uuid4()), "reason": "?"}, headers=desk.manager
    )

    assert (assigned.status_code, assigned.json()["version"]) == (201, 2)
    assert_problem(unknown, 404, "not_found")
    assert client.get(base, headers=desk.manager).json()["account_manager_id"] == successor
    event = events_of(client, desk.manager, desk.relationship_id)[-1]
    assert event["type"] == "AccountManagerAssigned"
    assert event["data"]["account_manager_id"] == successor
    assert event["data"]["previous_account_manager_id"] == desk.account_manager_id
    assert event["data"]["reason"] == "Rebalancing"


def test_a_correction_points_at_the_version_it_corrects_and_leaves_the_original_in_place(
    client: TestClient, desk: Desk
) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    client.post(f"{base}/contacts", json=contact_body("Quarterly reveiw"), headers=desk.manager)

    corrected = client.post(
        f"{base}/corrections",
        json={"corrects_version": 2, "reason": "Typo", "changes": {"summary": "Quarterly review"}},
        headers=desk.manager,
    )
    beyond = client.post(
        f"{base}/corrections",
        json={"corrects_version": 9, "reason": "?", "changes": {"summary": "x"}},
        headers=desk.manager,
    )
    the_correction_itself = client.post(
        f"{base}/corrections",
        json={"corrects_version": 3, "reason": "?", "changes": {"summary": "x"}},
        headers=desk.manager,
    )

    assert (corrected.status_code, corrected.json()["version"]) == (201, 3)
    assert_problem(beyond, 404, "not_found")
    assert_problem(the_correction_itself, 409, "rule_violation")
    original, correction = events_of(client, desk.manager, desk.relationship_id)[1:]
    assert original["data"]["summary"] == "Quarterly reveiw"
    assert correction["type"] == "EntryCorrected"
    assert correction["data"]["corrects_version"] == 2
    assert correction["data"]["reason"] == "Typo"
    assert correction["data"]["changes"] == {"summary": "Quarterly review"}


def test_the_state_at_a_version_or_as_recorded_at_a_time_is_what_it_was_then(client: TestClient, desk: Desk) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    client.put(f"{base}/tier", json={"tier": "key"}, headers=desk.manager)
    first = events_of(client, desk.manager, desk.relationship_id)[0]

    at_version_1 = client.get(base, params={"version": 1}, headers=desk.manager)
    as_of_opening = client.get(base, params={"as_of": first["recorded_at"]}, headers=desk.manager)
    in_the_future = client.get(base, params={"as_of": "2999-01-01T00:00:00+00:00"}, headers=desk.manager)
    before_opening = client.get(
        base,
        params={"as_of": (datetime.fromisoformat(first["recorded_at"]) - timedelta(seconds=1)).isoformat()},
        headers=desk.manager,
    )

    assert (at_version_1.status_code, at_version_1.headers["ETag"]) == (200, '"1"')
    assert (at_version_1.json()["tier"], at_version_1.json()["cadence_days"]) == ("major", 14)
    assert (as_of_opening.json()["version"], as_of_opening.json()["tier"]) == (1, "major")
    assert (in_the_future.json()["version"], in_the_future.json()["tier"]) == (2, "key")
    assert_problem(before_opening, 404, "not_found")
    assert_problem(client.get(base, params={"version": 3}, headers=desk.manager), 404, "not_found")
    assert_problem(client.get(base, params={"version": 0}, headers=desk.manager), 422, "validation_error")
    both = client.get(base, params={"version": 1, "as_of": first["recorded_at"]}, headers=desk.manager)
    assert_problem(both, 422, "validation_error")
    naive = client.get(base, params={"as_of": "2026-05-01T10:00:00"}, headers=desk.manager)
    assert assert_problem(naive, 422, "validation_error")["errors"][0]["field"] == "as_of"


def test_a_relationships_events_carry_the_four_audit_fields_and_page_by_cursor(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    for number in range(4):
        client.post(f"{base}/contacts", json=contact_body(f"Call {number}"), headers=desk.manager)

    pages, cursor = [], None
    while True:
        response = client.get(
            f"{base}/events", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=desk.manager
        )
        assert response.status_code == 200
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    events = [event for page in pages for event in page]
    assert [event["version"] for event in events] == [1, 2, 3, 4, 5]
    assert set(events[1]) == {
        "position",
        "version",
        "type",
        "recorded_at",
        "occurred_at",
        "actor_id",
        "actor_role",
        "correlation_id",
        "data",
    }
    contact = events[1]
    assert contact["actor_role"] == "manager"
    assert contact["actor_id"] == tokens.actor_id(desk.manager)
    # Business time (when the call happened) differs from when it was recorded.
    assert datetime.fromisoformat(contact["occurred_at"]) == datetime(2026, 5, 4, 7, 30, tzinfo=UTC)
    assert contact["recorded_at"] != contact["occurred_at"]
    assert datetime.fromisoformat(contact["recorded_at"]).utcoffset() == timedelta(0)
    assert len({event["correlation_id"] for event in events}) == 5
    assert_problem(client.get(f"/v1/relationships/{uuid.uuid4()}/events", headers=desk.manager), 404, "not_found")
