"""The protocol every route shares (API.md, Conventions): problems, correlation ids, ETags, idempotency, paging.

Also the operations routes (health, metrics, OpenAPI, docs) and what the API answers while its store is away.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from api.app import create_app
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.idempotency import Reservation, request_hash
from infrastructure.settings import Settings
from infrastructure.storage import AppendOnlyPostgresRecorder
from projections.runner import NAMES
from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.e2e.conftest import (
    PROBLEM_JSON,
    Desk,
    Json,
    Tokens,
    assert_problem,
    bearer,
    contact_body,
    events_of,
    gift_body,
    head_position,
    open_relationship,
    register_manager,
    relationship_body,
    unique,
    wait_until,
)

# -- problem+json --------------------------------------------------------------


def test_an_error_is_problem_json_with_type_title_status_code_and_detail(client: TestClient, tokens: Tokens) -> None:
    response = client.get(f"/v1/relationships/{uuid.uuid4()}", headers=tokens.manager)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert set(body) == {"type", "title", "status", "code", "detail"}
    assert (body["type"], body["status"], body["code"]) == ("about:blank", 404, "not_found")


def test_a_validation_error_names_each_field_in_error_with_a_message(client: TestClient, tokens: Tokens) -> None:
    response = client.post("/v1/account-managers", json={"name": "", "colour": "red"}, headers=tokens.manager)

    body = assert_problem(response, 422, "validation_error")
    assert sorted(error["field"] for error in body["errors"]) == ["colour", "email", "name"]
    assert all(set(error) == {"field", "message"} and error["message"] for error in body["errors"])


def test_malformed_json_is_invalid_input_and_stores_nothing(client: TestClient, tokens: Tokens, system: System) -> None:
    before = head_position(system)

    response = client.post(
        "/v1/account-managers",
        content=b'{"name": "Ann", "email": ',
        headers={**tokens.manager, "Content-Type": "application/json"},
    )

    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "body"
    assert head_position(system) == before


def test_a_naive_time_is_invalid_input(client: TestClient, desk: Desk) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        json=contact_body(occurred_at="2026-05-04T09:30:00"),
        headers=desk.manager,
    )

    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["occurred_at"]
    assert client.get(f"/v1/relationships/{desk.relationship_id}", headers=desk.manager).json()["version"] == 1


@pytest.mark.parametrize("amount", [250, 250.0, 0.1], ids=["integer", "float", "fraction"])
def test_money_sent_as_a_json_number_is_invalid_input(client: TestClient, tokens: Tokens, amount: float) -> None:
    manager_id = register_manager(client, tokens.manager)

    response = client.put(
        f"/v1/account-managers/{manager_id}/quotas/2026", json={"amount": amount}, headers=tokens.manager
    )

    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["amount"]
    assert "not a JSON number" in body["errors"][0]["message"]
    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["quotas"] == {}


def test_unknown_ids_are_not_found_on_every_kind_of_relationship_route(client: TestClient, desk: Desk) -> None:
    unknown = uuid.uuid4()
    base = f"/v1/relationships/{unknown}"
    known = f"/v1/relationships/{desk.relationship_id}"
    headers = desk.manager

    for response in (
        client.get(base, headers=headers),
        client.get(f"{base}/events", headers=headers),
        client.post(f"{base}/contacts", json=contact_body(), headers=headers),
        client.put(f"{base}/tier", json={"tier": "key"}, headers=headers),
        client.post(
            f"{base}/assignments", json={"account_manager_id": desk.account_manager_id, "reason": "?"}, headers=headers
        ),
        client.post(f"{base}/gifts", json=gift_body("Jane Roe", "Globex"), headers=headers),
        client.post(f"{base}/closure", json={"reason": "?"}, headers=headers),
        client.post(
            f"{known}/demos/{unknown}/reschedule", json={"scheduled_for": "2026-06-01T10:00:00Z"}, headers=headers
        ),
        client.post(
            f"{known}/contracts/{unknown}/termination", json={"on": "2026-06-01", "reason": "?"}, headers=headers
        ),
        client.get("/v1/no-such-route", headers=headers),
    ):
        assert_problem(response, 404, "not_found")
    malformed = client.get("/v1/relationships/not-a-uuid", headers=headers)
    assert assert_problem(malformed, 422, "validation_error")["errors"][0]["field"] == "relationship_id"


# -- authentication and roles ----------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ldg_not-a-token-this-ledger-issued", "Basic YWRtaW46YWRtaW4=", "Bearer"],
    ids=["no-header", "unknown-token", "basic-scheme", "empty-bearer"],
)
def test_a_request_without_a_valid_token_is_unauthenticated(
    client: TestClient, desk: Desk, system: System, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    before = head_position(system)

    for response in (
        client.get("/v1/workload", headers=headers),
        client.get(f"/v1/relationships/{desk.relationship_id}", headers=headers),
        client.post("/v1/account-managers", json={"name": "Ann", "email": "ann@example.com"}, headers=headers),
        client.post(
            f"/v1/relationships/{desk.relationship_id}/contacts",
            json=contact_body(),
            headers={**headers, "Idempotency-Key": "k-1"},
        ),
        client.get("/v1/compliance/gift-policy", headers=headers),
        client.get("/metrics", headers=headers),
    ):
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert head_position(system) == before


def test_malformed_json_without_a_token_is_unauthenticated_rather_than_invalid(client: TestClient) -> None:
    response = client.post("/v1/account-managers", content=b"{not json", headers={"Content-Type": "application/json"})

    assert_problem(response, 401, "unauthenticated")


def test_a_role_that_may_not_write_is_forbidden_and_nothing_is_stored(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    before = head_position(system)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=tokens.auditor
    )

    assert_problem(response, 403, "forbidden")
    assert head_position(system) == before


# -- correlation ids ---------------------------------------------------------------


def test_every_response_carries_a_new_correlation_id_when_none_was_sent(client: TestClient, tokens: Tokens) -> None:
    responses = [
        client.get("/health"),
        client.get("/v1/workload", headers=tokens.manager),
        client.get("/v1/workload"),
        client.get(f"/v1/relationships/{uuid.uuid4()}", headers=tokens.manager),
        client.post("/v1/account-managers", json={"name": "Ann", "email": "ann@example.com"}, headers=tokens.manager),
    ]

    ids = [response.headers["X-Correlation-ID"] for response in responses]
    assert all(ids)
    assert len(set(ids)) == len(ids)


def test_a_sent_correlation_id_is_echoed_and_stored_on_every_event_the_request_stores(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    correlation_id = f"gift-{uuid.uuid4().hex}"

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(unique("Jane Roe"), unique("Globex")),
        headers={**desk.manager, "X-Correlation-ID": correlation_id},
    )
    refused = client.post(
        f"/v1/relationships/{desk.relationship_id}/closure",
        json={},
        headers={**desk.manager, "X-Correlation-ID": "refused-closure-1"},
    )

    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == correlation_id
    assert refused.headers["X-Correlation-ID"] == "refused-closure-1"
    # A gift stores events on the relationship, on its new recipient and on the recipient index (started by the
    # first new recipient): all carry the request's id.
    feed = client.get("/v1/audit/events", params={"after": desk.position}, headers=tokens.auditor).json()["items"]
    stored = [(item["aggregate_type"], item["type"], item["correlation_id"]) for item in feed]
    assert stored == [
        ("ClientRelationship", "GiftGiven", correlation_id),
        ("GiftRecipient", "Registered", correlation_id),
        ("GiftRecipient", "GiftReceived", correlation_id),
        ("RecipientIndex", "Started", correlation_id),
        ("RecipientIndex", "RecipientIndexed", correlation_id),
    ]
    assert events_of(client, desk.manager, desk.relationship_id)[-1]["correlation_id"] == correlation_id


def test_a_generated_correlation_id_is_the_one_stored_on_the_events(client: TestClient, desk: Desk) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager
    )

    stored = events_of(client, desk.manager, desk.relationship_id)[-1]
    assert stored["correlation_id"] == response.headers["X-Correlation-ID"]


# -- ETag and If-Match ---------------------------------------------------------------


def test_if_match_writes_only_while_the_version_is_current_and_a_stale_one_is_412(
    client: TestClient, desk: Desk, system: System
) -> None:
    base = f"/v1/relationships/{desk.relationship_id}"
    etag = client.get(base, headers=desk.manager).headers["ETag"]

    current = client.put(f"{base}/tier", json={"tier": "key"}, headers={**desk.manager, "If-Match": etag})
    before = head_position(system)
    stale = client.put(f"{base}/tier", json={"tier": "standard"}, headers={**desk.manager, "If-Match": etag})
    also_stale = client.post(f"{base}/contacts", json=contact_body(), headers={**desk.manager, "If-Match": etag})

    assert etag == '"1"'
    assert (current.status_code, current.headers["ETag"]) == (200, '"2"')
    body = assert_problem(stale, 412, "precondition_failed")
    assert (body["expected_version"], body["current_version"]) == (1, 2)
    assert_problem(also_stale, 412, "precondition_failed")
    assert head_position(system) == before
    assert client.get(base, headers=desk.manager).json()["tier"] == "key"
    weak_and_current = client.put(f"{base}/cadence", json={"days": 9}, headers={**desk.manager, "If-Match": 'W/"2"'})
    any_version = client.put(f"{base}/cadence", json={"days": 8}, headers={**desk.manager, "If-Match": "*"})
    assert (weak_and_current.status_code, any_version.status_code) == (200, 200)
    malformed = client.put(f"{base}/tier", json={"tier": "major"}, headers={**desk.manager, "If-Match": "yesterday"})
    assert assert_problem(malformed, 422, "validation_error")["errors"][0]["field"] == "If-Match"


# -- Idempotency-Key ----------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_the_first_response_and_store_nothing_more(
    client: TestClient, desk: Desk, system: System
) -> None:
    path = f"/v1/relationships/{desk.relationship_id}/gifts"
    body = gift_body(unique("Jane Roe"), unique("Globex"), cost="120.00")
    headers = {**desk.manager, "Idempotency-Key": f"gift-{uuid.uuid4().hex}"}

    first = client.post(path, json=body, headers=headers)
    after_first = head_position(system)
    replay = client.post(path, json=body, headers=headers)
    other_body = client.post(path, json={**body, "cost": "130.00"}, headers=headers)

    assert first.status_code == 201
    assert (replay.status_code, replay.json(), replay.headers["ETag"]) == (201, first.json(), first.headers["ETag"])
    body_of_mismatch = assert_problem(other_body, 422, "validation_error")
    assert body_of_mismatch["errors"][0]["field"] == "Idempotency-Key"
    assert head_position(system) == after_first
    gifts = [e for e in events_of(client, desk.manager, desk.relationship_id) if e["type"] == "GiftGiven"]
    assert [gift["data"]["gift_id"] for gift in gifts] == [first.json()["gift_id"]]


def test_idempotency_keys_belong_to_one_principal(client: TestClient, tokens: Tokens, system: System) -> None:
    body = {"name": "Ann Lee", "email": "ann.lee@example.com"}
    key = {"Idempotency-Key": "register-ann"}

    by_manager = client.post("/v1/account-managers", json=body, headers={**tokens.manager, **key})
    by_admin = client.post("/v1/account-managers", json=body, headers={**tokens.admin, **key})

    assert (by_manager.status_code, by_admin.status_code) == (201, 201)
    assert by_manager.json()["id"] != by_admin.json()["id"]


def test_a_put_sent_again_with_its_idempotency_key_replays_rather_than_being_refused_as_no_change(
    client: TestClient, desk: Desk, system: System
) -> None:
    path = f"/v1/relationships/{desk.relationship_id}/tier"
    headers = {**desk.manager, "Idempotency-Key": f"tier-{uuid.uuid4().hex}"}

    first = client.put(path, json={"tier": "key"}, headers=headers)
    after_first = head_position(system)
    again = client.put(path, json={"tier": "key"}, headers=headers)
    without_key = client.put(path, json={"tier": "key"}, headers=desk.manager)

    assert (first.status_code, again.status_code, again.json()) == (200, 200, first.json())
    assert_problem(without_key, 409, "rule_violation")
    assert head_position(system) == after_first


def test_a_retry_whose_first_request_was_stored_but_never_answered_hears_already_stored(
    client: TestClient, desk: Desk, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker dies after the COMMIT and before it records the answer: modelled by never recording it.
    monkeypatch.setattr(system.idempotency, "complete", lambda *_: None)
    path = f"/v1/relationships/{desk.relationship_id}/contacts"
    headers = {**desk.manager, "Idempotency-Key": f"contact-{uuid.uuid4().hex}"}

    first = client.post(path, json=contact_body("The call whose answer was lost"), headers=headers)
    retry = client.post(path, json=contact_body("The call whose answer was lost"), headers=headers)

    assert first.status_code == 201
    problem = assert_problem(retry, 409, "already_stored")
    assert problem["position"] == first.json()["position"]
    contacts = [e for e in events_of(client, desk.manager, desk.relationship_id) if e["type"] == "ContactLogged"]
    assert [c["position"] for c in contacts] == [first.json()["position"]], "stored once, not run again"


def hold_key_as(system: System, principal_id: str, key: str, path: str, body: bytes, owner: str) -> None:
    """Leaves a reservation of `key` for this exact request, as if `owner` had taken it and not finished."""
    assert system.idempotency.reserve(principal_id, key, request_hash("POST", path, body)) == Reservation()
    with system.idempotency.view.transaction() as cursor:
        cursor.execute(
            "UPDATE api_idempotency SET owner = ? WHERE principal_id = ? AND idempotency_key = ?",
            (owner, principal_id, key),
        )


def test_a_key_whose_process_died_before_storing_anything_is_free_at_once_and_a_living_ones_is_not(
    client: TestClient, desk: Desk, tokens: Tokens, system: System
) -> None:
    path = f"/v1/relationships/{desk.relationship_id}/contacts"
    body = orjson.dumps(contact_body("Sent again after the worker died"))
    headers = {**desk.manager, "Content-Type": "application/json"}
    gone = subprocess.Popen(["true"])  # a process of this host that has exited: its pid names nobody now
    gone.wait()
    host = socket.gethostname()
    hold_key_as(system, tokens.actor_id(desk.manager), "died", path, body, owner=f"{host}:{gone.pid}")
    hold_key_as(system, tokens.actor_id(desk.manager), "alive", path, body, owner=f"{host}:{os.getppid()}")
    hold_key_as(system, tokens.actor_id(desk.manager), "elsewhere", path, body, owner="another-host:1")

    after_death = client.post(path, content=body, headers={**headers, "Idempotency-Key": "died"})
    while_alive = client.post(path, content=body, headers={**headers, "Idempotency-Key": "alive"})
    elsewhere = client.post(path, content=body, headers={**headers, "Idempotency-Key": "elsewhere"})

    assert after_death.status_code == 201, after_death.text
    assert_problem(while_alive, 409, "idempotency_in_progress")
    assert_problem(elsewhere, 409, "idempotency_in_progress")
    contacts = [e for e in events_of(client, desk.manager, desk.relationship_id) if e["type"] == "ContactLogged"]
    assert [c["position"] for c in contacts] == [after_death.json()["position"]]


@pytest.mark.postgres
def test_a_503_after_the_commit_landed_is_not_a_licence_to_store_it_again(postgres_url: str) -> None:
    """The database goes away at the COMMIT and stays away: the answer is 503, yet the events are stored.

    A retry with the same key must hear that, not run the command a second time.
    """
    system = build_system(Settings(database_url=postgres_url), run_projections=False)
    try:
        recorder = system.ledger.recorder
        assert isinstance(recorder, AppendOnlyPostgresRecorder)
        real_insert = AppendOnlyPostgresRecorder._insert_once
        stored: list[Any] = []

        def commit_then_lose_the_server(self: AppendOnlyPostgresRecorder, events: Any, **kwargs: Any) -> Any:
            if not stored:
                stored.append(real_insert(self, events, **kwargs))
            raise OperationalError("server closed the connection unexpectedly")

        headers = bearer(system.tokens.issue(role=Role.MANAGER, name="retrying-client").token)
        with TestClient(create_app(system)) as client:
            manager_id = register_manager(client, headers)
            relationship_id = open_relationship(client, headers, manager_id)["id"]
            path = f"/v1/relationships/{relationship_id}/contacts"
            keyed = {**headers, "Idempotency-Key": f"contact-{uuid.uuid4().hex}"}

            recorder.insert_attempts = 2
            recorder._insert_once = commit_then_lose_the_server
            during = client.post(path, json=contact_body("Stored, then the server went away"), headers=keyed)
            del recorder._insert_once, recorder.insert_attempts
            after = client.post(path, json=contact_body("Stored, then the server went away"), headers=keyed)
            contacts = [e for e in events_of(client, headers, relationship_id) if e["type"] == "ContactLogged"]

        assert_problem(during, 503, "unavailable")
        assert stored, "the first attempt's COMMIT landed"
        assert assert_problem(after, 409, "already_stored")["position"] == stored[0][-1]
        assert [c["position"] for c in contacts] == [stored[0][-1]], "stored once, not run again"
    finally:
        system.close()


# -- projections: min_position and X-Projection-Position ---------------------------------


def test_a_read_with_min_position_sees_the_write_that_reached_it(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)
    opened = open_relationship(client, tokens.manager, manager_id, tier="key")

    for path in ("/v1/relationships", "/v1/workload", f"/v1/account-managers/{manager_id}/workload"):
        response = client.get(path, params={"min_position": opened["position"]}, headers=tokens.manager)
        assert response.status_code == 200, path
        assert int(response.headers["X-Projection-Position"]) >= opened["position"]
    listed = client.get("/v1/relationships", params={"min_position": opened["position"]}, headers=tokens.manager)
    assert [item["id"] for item in listed.json()["items"]] == [opened["id"]]
    assert (
        "X-Projection-Position" not in client.get(f"/v1/relationships/{opened['id']}", headers=tokens.manager).headers
    )
    negative = client.get("/v1/workload", params={"min_position": -1}, headers=tokens.manager)
    assert_problem(negative, 422, "validation_error")


def test_views_that_have_not_reached_min_position_answer_projection_lagging(database_url: str) -> None:
    # No runner: the views stay where they are until caught up by hand.
    system = build_system(Settings(database_url=database_url), run_projections=False)
    try:
        headers = bearer(system.tokens.issue(role=Role.MANAGER, name="lag-checker").token)
        with TestClient(create_app(system, min_position_wait=0.2)) as client:
            opened = client.post(
                "/v1/account-managers", json={"name": "Ann Lee", "email": "ann@example.com"}, headers=headers
            ).json()

            lagging = client.get("/v1/workload", params={"min_position": opened["position"]}, headers=headers)
            without = client.get("/v1/workload", headers=headers)
            system.projections.catch_up()
            caught_up = client.get("/v1/workload", params={"min_position": opened["position"]}, headers=headers)

        assert_problem(lagging, 503, "projection_lagging")
        assert (without.status_code, without.headers["X-Projection-Position"], without.json()) == (200, "0", [])
        assert caught_up.status_code == 200
        assert caught_up.headers["X-Projection-Position"] == str(opened["position"])
        assert [row["account_manager_id"] for row in caught_up.json()] == [opened["id"]]
    finally:
        system.close()


# -- paging ------------------------------------------------------------------------------


def test_lists_page_fifty_by_default_up_to_five_hundred_with_an_opaque_cursor(
    client: TestClient, tokens: Tokens
) -> None:
    manager_id = register_manager(client, tokens.manager)
    opened = [open_relationship(client, tokens.manager, manager_id) for _ in range(51)]
    wait = {"min_position": opened[-1]["position"]}

    first = client.get("/v1/relationships", params=wait, headers=tokens.manager)
    second = client.get("/v1/relationships", params={"cursor": first.json()["next_cursor"]}, headers=tokens.manager)
    at_most = client.get("/v1/relationships", params={"limit": 500}, headers=tokens.manager)

    assert [item["id"] for item in first.json()["items"]] == [o["id"] for o in opened[:50]]
    assert isinstance(first.json()["next_cursor"], str)
    assert second.json() == {"items": second.json()["items"], "next_cursor": None}
    assert [item["id"] for item in second.json()["items"]] == [opened[50]["id"]]
    assert (len(at_most.json()["items"]), at_most.json()["next_cursor"]) == (51, None)
    audit = client.get("/v1/audit/events", headers=tokens.auditor).json()
    assert (len(audit["items"]), isinstance(audit["next_cursor"], str)) == (50, True)
    for limit in (501, 0):
        too_many = client.get("/v1/relationships", params={"limit": limit}, headers=tokens.manager)
        assert assert_problem(too_many, 422, "validation_error")["errors"][0]["field"] == "limit"
    assert_problem(
        client.get("/v1/audit/events", params={"limit": 501}, headers=tokens.auditor), 422, "validation_error"
    )


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", base64.urlsafe_b64encode(b"[1, 2]").decode(), base64.urlsafe_b64encode(b"hello").decode()],
    ids=["garbage", "json-list", "not-json"],
)
def test_a_cursor_this_api_did_not_give_out_is_invalid_input(client: TestClient, tokens: Tokens, cursor: str) -> None:
    for path in ("/v1/relationships", "/v1/audit/events", "/v1/compliance/gift-register"):
        response = client.get(path, params={"cursor": cursor}, headers=tokens.admin)
        assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "cursor", path


def test_a_tampered_cursor_is_invalid_input_not_a_server_error(system: System, tokens: Tokens) -> None:
    tampered = base64.urlsafe_b64encode(b'{"position": "abc"}').decode().rstrip("=")

    with TestClient(create_app(system), raise_server_exceptions=False) as client:
        response = client.get("/v1/relationships", params={"cursor": tampered}, headers=tokens.manager)

    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "cursor"


# -- operations: health, metrics, OpenAPI, docs ---------------------------------------------


def test_health_answers_without_a_token_with_the_store_and_each_projections_position(
    client: TestClient, system: System, database_url: str
) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["store"] == ("postgresql" if database_url.startswith("postgresql") else "sqlite")
    assert set(body["projections"]) == set(NAMES)
    assert all(isinstance(position, int) for position in body["projections"].values())


def metric(text: str, name: str) -> list[tuple[str, float]]:
    """The samples of one metric in Prometheus text: (labels, value)."""
    pattern = re.compile(rf"^{re.escape(name)}(\{{.*\}})? (\S+)$", re.MULTILINE)
    return [(match.group(1) or "", float(match.group(2))) for match in pattern.finditer(text)]


def test_metrics_need_a_token_of_any_role_and_count_requests_events_and_projection_lag(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager)
    head = head_position(system)
    # The views catch up with everything before metrics are read, so the lag is exact.
    client.get("/v1/workload", params={"min_position": head}, headers=desk.manager)

    without = client.get("/metrics")
    response = client.get("/metrics", headers=tokens.account_manager(desk.account_manager_id))

    assert_problem(without, 401, "unauthenticated")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    requests = metric(text, "ledger_http_requests_total")
    # The route label is the route's template (whether it keeps the /v1 prefix is the server's affair).
    contacts = re.compile(r'^\{method="POST",route="(/v1)?/relationships/\{relationship_id\}/contacts",status="201"\}$')
    assert [value for labels, value in requests if contacts.match(labels)] == [1.0]
    assert dict(requests)['{method="GET",route="/metrics",status="401"}'] == 1.0
    # Every event but the gift policy established when the system was built was appended through this app.
    assert metric(text, "ledger_events_appended_total") == [("", float(head - 1))]
    lag = metric(text, "ledger_projection_lag_events")
    assert sorted(lag) == sorted((f'{{projection="{name}"}}', 0.0) for name in NAMES)


@pytest.fixture(scope="module")
def openapi() -> Json:
    """The OpenAPI document, as served (the app needs no store to describe itself)."""
    client = TestClient(create_app())  # no lifespan: describing itself needs no store
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: Json = response.json()
    return spec


def test_the_interactive_docs_answer_without_a_token() -> None:
    response = TestClient(create_app()).get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


API_MD_ROUTES = [
    ("post", "/v1/account-managers"),
    ("get", "/v1/account-managers"),
    ("get", "/v1/account-managers/{account_manager_id}"),
    ("put", "/v1/account-managers/{account_manager_id}/quotas/{year}"),
    ("put", "/v1/account-managers/{account_manager_id}/compensation-plans/{year}"),
    ("post", "/v1/account-managers/{account_manager_id}/deactivation"),
    ("get", "/v1/account-managers/{account_manager_id}/workload"),
    ("get", "/v1/account-managers/{account_manager_id}/pay/{year}"),
    ("get", "/v1/workload"),
    ("post", "/v1/relationships"),
    ("get", "/v1/relationships"),
    ("get", "/v1/relationships/{relationship_id}"),
    ("get", "/v1/relationships/{relationship_id}/events"),
    ("post", "/v1/relationships/{relationship_id}/assignments"),
    ("put", "/v1/relationships/{relationship_id}/tier"),
    ("put", "/v1/relationships/{relationship_id}/cadence"),
    ("post", "/v1/relationships/{relationship_id}/contacts"),
    ("post", "/v1/relationships/{relationship_id}/product-introductions"),
    ("post", "/v1/relationships/{relationship_id}/demos"),
    ("post", "/v1/relationships/{relationship_id}/demos/{demo_id}/reschedule"),
    ("post", "/v1/relationships/{relationship_id}/demos/{demo_id}/completion"),
    ("post", "/v1/relationships/{relationship_id}/demos/{demo_id}/cancellation"),
    ("post", "/v1/relationships/{relationship_id}/contracts"),
    ("post", "/v1/relationships/{relationship_id}/contracts/{contract_id}/signature"),
    ("post", "/v1/relationships/{relationship_id}/contracts/{contract_id}/termination"),
    ("post", "/v1/relationships/{relationship_id}/gifts"),
    ("post", "/v1/relationships/{relationship_id}/entertainment"),
    ("post", "/v1/relationships/{relationship_id}/corrections"),
    ("post", "/v1/relationships/{relationship_id}/closure"),
    ("post", "/v1/relationships/{relationship_id}/reopening"),
    ("get", "/v1/compliance/gift-policy"),
    ("post", "/v1/compliance/gift-policy/limits"),
    ("put", "/v1/compliance/gift-policy/limit-year"),
    ("get", "/v1/compliance/gift-register"),
    ("get", "/v1/compliance/recipients/{recipient_id}"),
    ("get", "/v1/compliance/exceptions"),
    ("get", "/v1/audit/events"),
    ("get", "/v1/audit/actors/{actor_id}/events"),
    ("get", "/v1/audit/verify"),
    ("get", "/v1/audit/export"),
    ("get", "/health"),
    ("get", "/metrics"),
]


@pytest.mark.parametrize(("method", "path"), API_MD_ROUTES)
def test_the_openapi_document_lists_every_route_of_api_md(openapi: Json, method: str, path: str) -> None:
    # Path parameters are named differently in API.md ({id}); the document's own names are compared by shape.
    shape = re.sub(r"\{[^}]+\}", "{}", path)
    documented = {re.sub(r"\{[^}]+\}", "{}", p): operations for p, operations in openapi["paths"].items()}

    assert shape in documented
    assert method in documented[shape]


UNDOCUMENTED_PROBLEMS = {
    ("get", "/v1/account-managers/{account_manager_id}"),
    ("get", "/v1/compliance/gift-policy"),
    ("get", "/v1/audit/verify"),
    ("get", "/metrics"),
}


def operations_of(spec: Json) -> Iterator[tuple[str, str, Json]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def problem_statuses(operation: Json) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


def route_params() -> list[Any]:
    spec = create_app().openapi()
    params: list[Any] = []
    for method, path, _ in operations_of(spec):
        if path == "/health":
            continue
        params.append(pytest.param(method, path, id=f"{method.upper()} {path}"))
    return params


@pytest.mark.parametrize(("method", "path"), route_params())
def test_every_route_documents_its_problem_responses_as_problem_json(openapi: Json, method: str, path: str) -> None:
    operation = openapi["paths"][path][method]
    responses = operation["responses"]
    statuses = problem_statuses(operation)
    takes_input = "requestBody" in operation or any(
        parameter["in"] in ("path", "query") for parameter in operation.get("parameters", [])
    )
    names_an_aggregate = re.search(r"\{(?!actor_id)[a-z_]+_id\}", path) is not None
    is_write = method in ("post", "put")

    expected = {401, 503} | ({422} if takes_input else set()) | ({404} if names_an_aggregate else set())
    expected |= {403} if is_write else set()
    assert expected <= statuses
    expected |= {409} if is_write else set()
    assert expected <= statuses
    for status in statuses:
        content = responses[str(status)]["content"]
        assert content == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemPublic"}}}, status
        assert responses[str(status)]["description"].startswith("`"), status
    if is_write:
        assert "`already_stored`" in responses["409"]["description"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]


# -- the store goes away ----------------------------------------------------------------------


@pytest.fixture
def postgres_role_and_schema() -> Iterator[str]:
    """A ledger URL on a fresh schema owned by a login role of its own, so that only that role can be locked out."""
    require_postgres()
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
        conn.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{name}" LOGIN')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            conn.execute(f'DROP ROLE "{name}"')


def lock_out(role: str) -> None:
    """The store becomes unreachable for the app: its role may not log in, and its connections are cut."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))

        def backends_gone() -> bool | None:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone()
            return True if row is not None and row[0] == 0 else None

        # Termination is signalled, not awaited: wait until no backend of the role is left.
        wait_until(backends_gone, timeout=10, what=f"the backends of {role} to end")


def let_in(role: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" LOGIN')


@pytest.mark.postgres
def test_a_command_while_the_store_is_away_is_unavailable_stores_nothing_and_service_resumes_by_itself(
    postgres_role_and_schema: str,
) -> None:
    # SQLite has no reliable way to become unreachable here: the tests run as root (file modes do not stop
    # root), and the pooled connections keep the database file open through any rename or replacement.
    role = postgres_role_and_schema
    url = f"postgresql://{role}@127.0.0.1:5432/test?schema={role}"
    system = build_system(Settings(database_url=url), run_projections=True)
    try:
        headers = bearer(system.tokens.issue(role=Role.MANAGER, name="outage-manager").token)
        with TestClient(create_app(system)) as client:
            manager_id = register_manager(client, headers, name="Before Outage")
            before = head_position(system)

            # A token not used before, so the server must look it up in the store. (A token it has seen is
            # remembered in memory; such a request reaches the event store, where eventsourcing's @retry of
            # 10 attempts, each waiting up to 5 s for a pooled connection, makes the 503 take 30-50 s.)
            newcomer = bearer(system.tokens.issue(role=Role.MANAGER, name="outage-newcomer").token)
            lock_out(role)
            during = client.post(
                "/v1/relationships", json=relationship_body(manager_id, client_name="During Outage"), headers=newcomer
            )
            # The store is really away for the app's role, not merely its old connections.
            with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
                psycopg.connect(f"postgresql://{role}@127.0.0.1:5432/test", connect_timeout=5).close()
            let_in(role)

            def resumed() -> Json | None:
                response = client.post(
                    "/v1/relationships",
                    json=relationship_body(manager_id, client_name="After Outage"),
                    headers=headers,
                )
                if response.status_code == 503:
                    return None
                assert response.status_code == 201, response.text
                body: Json = response.json()
                return body

            after = wait_until(resumed, timeout=60, interval=0.2, what="a command to succeed once the store is back")
            listed = client.get("/v1/relationships", params={"min_position": after["position"]}, headers=headers)
            health = client.get("/health")

        body = assert_problem(during, 503, "unavailable")
        assert "nothing was written" in body["detail"]
        # Only the command sent after the store came back was stored, and the views followed it.
        assert after["position"] == before + 1
        assert head_position(system) == before + 1
        assert listed.status_code == 200
        assert [item["client_name"] for item in listed.json()["items"]] == ["After Outage"]
        assert health.json()["status"] == "ok"
    finally:
        system.close()
