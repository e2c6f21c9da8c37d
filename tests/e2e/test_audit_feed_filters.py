"""The audit feed's filters and backward paging (the dashboard's audit page): actor, event type, aggregate, `before`,
and the list of actors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Json, Tokens, assert_problem, contact_body, head_position


def feed(client: TestClient, tokens: Tokens, system: System, **params: object) -> Json:
    response = client.get(
        "/v1/audit/events", params={"min_position": head_position(system), **params}, headers=tokens.auditor
    )
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def test_the_feed_filters_by_actor_type_and_aggregate_combined(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    caller = tokens.issue(Role.MANAGER, name="cara-the-caller")
    for number in range(3):
        client.post(
            f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(f"Call {number}"), headers=caller
        )
    client.put(f"/v1/relationships/{desk.relationship_id}/tier", json={"tier": "key"}, headers=caller)

    by_actor = feed(client, tokens, system, actor_id="cara-the-caller")["items"]
    contacts = feed(client, tokens, system, type="ContactLogged")["items"]
    both = feed(client, tokens, system, actor_id="cara-the-caller", type="TierChanged")["items"]
    of_relationship = feed(client, tokens, system, aggregate_id=desk.relationship_id)["items"]

    assert [item["type"] for item in by_actor] == ["ContactLogged"] * 3 + ["TierChanged"]
    assert {item["actor_id"] for item in by_actor} == {"cara-the-caller"}
    assert [item["data"]["summary"] for item in contacts] == ["Call 0", "Call 1", "Call 2"]
    assert [item["type"] for item in both] == ["TierChanged"]
    assert [item["version"] for item in of_relationship] == [1, 2, 3, 4, 5]
    assert [item["position"] for item in by_actor] == sorted(item["position"] for item in by_actor)


def test_before_gives_the_page_that_ends_there_and_the_cursor_goes_on_after_it(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    for number in range(4):
        client.post(
            f"/v1/relationships/{desk.relationship_id}/contacts",
            json=contact_body(f"Call {number}"),
            headers=desk.manager,
        )
    head = head_position(system)

    newest = feed(client, tokens, system, before=head + 1, limit=2)
    older = feed(client, tokens, system, before=head - 1, limit=2)
    first = feed(client, tokens, system, before=2, limit=2)
    contacts = feed(client, tokens, system, type="ContactLogged", before=head, limit=2)

    assert [item["position"] for item in newest["items"]] == [head - 1, head]
    assert newest["next_cursor"] is None
    assert [item["position"] for item in older["items"]] == [head - 3, head - 2]
    following = client.get(
        "/v1/audit/events", params={"cursor": older["next_cursor"], "limit": 2}, headers=tokens.auditor
    ).json()
    assert [item["position"] for item in following["items"]] == [head - 1, head]
    assert [item["position"] for item in first["items"]] == [1]
    assert [item["data"]["summary"] for item in contacts["items"]] == ["Call 1", "Call 2"]
    assert contacts["next_cursor"] is not None


def test_the_actors_list_everyone_who_recorded_and_the_filters_are_bounded(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    response = client.get("/v1/audit/actors", params={"min_position": head_position(system)}, headers=tokens.auditor)

    assert response.status_code == 200
    actors = {item["actor_id"]: item for item in response.json()["items"]}
    manager = tokens.actor_id(desk.manager)
    assert actors[manager]["actor_role"] == "manager"
    assert actors[manager]["events"] == 2  # registered the account manager, opened the relationship
    assert "system:ledger" in actors
    assert client.get("/v1/audit/actors", headers=tokens.manager).status_code == 403
    assert_problem(
        client.get("/v1/audit/events", params={"type": "no such"}, headers=tokens.auditor), 422, "validation_error"
    )
    assert_problem(
        client.get("/v1/audit/events", params={"aggregate_id": "not-a-uuid"}, headers=tokens.auditor),
        422,
        "validation_error",
    )
    assert_problem(
        client.get("/v1/audit/events", params={"before": 0}, headers=tokens.auditor), 422, "validation_error"
    )
    assert client.get("/v1/audit/events", params={"type": "Opened"}, headers=tokens.manager).status_code == 403
    assert_problem(
        client.get("/v1/audit/events", params={"actor_id": "a\x00b"}, headers=tokens.auditor), 422, "validation_error"
    )
