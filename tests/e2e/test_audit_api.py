"""The audit trail over HTTP: the global feed, one actor's events, exports, and integrity verification."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.bootstrap import System
from tests.e2e.conftest import (
    AUDIT_FIELDS,
    EXPORT_FIELDS,
    Desk,
    Json,
    Tokens,
    assert_problem,
    contact_body,
    head_position,
    register_manager,
)


def whole_feed(client: TestClient, headers: dict[str, str]) -> list[Json]:
    response = client.get("/v1/audit/events", params={"limit": 500}, headers=headers)
    assert response.status_code == 200
    assert response.json()["next_cursor"] is None
    items: list[Json] = response.json()["items"]
    return items


def test_the_global_feed_lists_every_event_oldest_first_with_its_aggregate_and_audit_fields(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager)

    feed = whole_feed(client, tokens.auditor)

    assert [item["position"] for item in feed] == list(range(1, head_position(system) + 1))
    assert all(set(item) == AUDIT_FIELDS for item in feed)
    assert [(item["aggregate_type"], item["type"]) for item in feed] == [
        ("CompliancePolicy", "Established"),
        ("AccountManager", "Registered"),
        ("ClientRelationship", "Opened"),
        ("ClientRelationship", "ContactLogged"),
    ]
    established, registered, opened, contact = feed
    assert (established["actor_id"], established["actor_role"]) == ("system:ledger", "admin")
    assert (registered["aggregate_id"], registered["actor_role"]) == (desk.account_manager_id, "manager")
    assert opened["aggregate_id"] == contact["aggregate_id"] == desk.relationship_id
    assert (contact["version"], contact["data"]["summary"]) == (2, "Quarterly review call")


def test_the_feed_starts_after_a_position_and_pages_by_cursor(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    for number in range(3):
        client.post(
            f"/v1/relationships/{desk.relationship_id}/contacts",
            json=contact_body(f"Call {number}"),
            headers=desk.manager,
        )

    after_two = client.get("/v1/audit/events", params={"after": 2, "limit": 2}, headers=tokens.auditor)
    rest = client.get(
        "/v1/audit/events", params={"limit": 2, "cursor": after_two.json()["next_cursor"]}, headers=tokens.auditor
    )

    assert [item["position"] for item in after_two.json()["items"]] == [3, 4]
    assert [item["position"] for item in rest.json()["items"]] == [5, 6]
    assert rest.json()["next_cursor"] is None
    assert client.get("/v1/audit/events", params={"after": 6}, headers=tokens.auditor).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert_problem(
        client.get("/v1/audit/events", params={"after": -1}, headers=tokens.auditor), 422, "validation_error"
    )


def test_an_actors_events_are_everything_that_principal_recorded_and_nothing_else(
    client: TestClient, tokens: Tokens
) -> None:
    ann = tokens.issue(Role.MANAGER, name="ann-the-manager")
    bob = tokens.issue(Role.MANAGER, name="bob-the-manager")
    first = register_manager(client, ann)
    register_manager(client, bob)
    last = client.put(f"/v1/account-managers/{first}/quotas/2026", json={"amount": "5.00"}, headers=ann).json()

    response = client.get(
        "/v1/audit/actors/ann-the-manager/events",
        params={"min_position": last["position"]},
        headers=tokens.auditor,
    )

    assert response.status_code == 200
    assert int(response.headers["X-Projection-Position"]) >= last["position"]
    items = response.json()["items"]
    assert [(item["type"], item["aggregate_id"], item["actor_id"]) for item in items] == [
        ("Registered", first, "ann-the-manager"),
        ("QuotaSet", first, "ann-the-manager"),
    ]
    assert all(set(item) == AUDIT_FIELDS for item in items)
    one_a_page = client.get(
        "/v1/audit/actors/ann-the-manager/events", params={"limit": 1}, headers=tokens.auditor
    ).json()
    assert [item["type"] for item in one_a_page["items"]] == ["Registered"]
    assert isinstance(one_a_page["next_cursor"], str)
    nobody = client.get("/v1/audit/actors/nobody/events", headers=tokens.auditor)
    assert nobody.json() == {"items": [], "next_cursor": None}


def test_the_jsonl_export_holds_every_event_recorded_up_to_as_of(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    feed_before = whole_feed(client, tokens.auditor)
    cut = datetime.fromisoformat(feed_before[-1]["recorded_at"])
    client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager)

    everything = client.get("/v1/audit/export", params={"format": "jsonl"}, headers=tokens.auditor)
    up_to_cut = client.get(
        "/v1/audit/export", params={"format": "jsonl", "as_of": cut.isoformat()}, headers=tokens.auditor
    )
    before_anything = client.get(
        "/v1/audit/export",
        params={"as_of": (datetime.fromisoformat(feed_before[0]["recorded_at"]) - timedelta(days=1)).isoformat()},
        headers=tokens.auditor,
    )

    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in everything.text.splitlines()]
    # Each line is the feed's item plus the stored form (README changelog: `topic` and `stored_state`).
    assert all(set(line) == EXPORT_FIELDS for line in lines)
    assert [as_fed(line) for line in lines] == whole_feed(client, tokens.auditor)
    assert len(lines) == head_position(system)
    assert [as_fed(json.loads(line)) for line in up_to_cut.text.splitlines()] == feed_before
    assert before_anything.text == ""


def as_fed(line: Json) -> Json:
    """An export line without the stored form: what the feed shows."""
    return {key: value for key, value in line.items() if key in AUDIT_FIELDS}


def test_the_csv_export_has_a_header_and_one_row_per_event(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    response = client.get("/v1/audit/export", params={"format": "csv"}, headers=tokens.compliance)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == head_position(system)
    assert list(rows[0]) == [
        "position",
        "aggregate_type",
        "aggregate_id",
        "version",
        "type",
        "recorded_at",
        "occurred_at",
        "actor_id",
        "actor_role",
        "correlation_id",
        "hash",
        "data",
        "topic",
        "stored_state",
    ]
    opened = rows[2]
    assert (opened["position"], opened["type"], opened["aggregate_id"]) == ("3", "Opened", desk.relationship_id)
    assert json.loads(opened["data"])["account_manager_id"] == desk.account_manager_id


def test_an_export_in_an_unknown_format_or_with_a_naive_as_of_is_invalid_input(
    client: TestClient, tokens: Tokens
) -> None:
    unknown_format = client.get("/v1/audit/export", params={"format": "xml"}, headers=tokens.auditor)
    naive = client.get("/v1/audit/export", params={"as_of": "2026-05-01T10:00:00"}, headers=tokens.auditor)

    assert assert_problem(unknown_format, 422, "validation_error")["errors"][0]["field"] == "format"
    assert assert_problem(naive, 422, "validation_error")["errors"][0]["field"] == "as_of"


def test_verification_reports_an_intact_log(client: TestClient, tokens: Tokens, desk: Desk, system: System) -> None:
    response = client.get("/v1/audit/verify", headers=tokens.auditor)

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["events_checked"], body["first_bad_position"]) == (True, head_position(system), None)


def test_every_feed_item_carries_its_tamper_evidence_hash(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    feed = whole_feed(client, tokens.auditor)

    hashes = [item["hash"] for item in feed]
    assert all(isinstance(value, str) and value for value in hashes)
    assert len(set(hashes)) == len(hashes)
