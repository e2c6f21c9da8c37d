"""Tokens that stop working from the moment they should (revoked, expired, account manager deactivated), names used
once, `ledger tokens list/revoke/add --expires`, and the admins' `/v1/tokens` (issue 13, finding 7)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.commands import DeactivateAccountManager, GiveGift, LogContact, NamedRecipient, OpenRelationship
from domain.errors import Forbidden
from domain.values import Audit, Principal, Role
from infrastructure.bootstrap import System
from infrastructure.tokens import token_hash
from tests.e2e.conftest import (
    Desk,
    Headers,
    Json,
    Tokens,
    assert_problem,
    bearer,
    contact_body,
    gift_body,
    open_relationship,
    register_manager,
)
from tests.e2e.test_served import add_token, ledger, ledger_env, start_server

REFUSED_WITHIN = 1.0
"""DOMAIN.md: a revoked or expired token, or a deactivated account manager's, can do nothing from the moment it
happens; the ledger promises that within a second, in every process."""


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def seconds_until_refused(get: httpx.Client | TestClient, headers: Headers, *, within: float) -> tuple[float, Json]:
    """Polls GET /v1/me until it answers 401; returns how long that took and the problem. Fails after `within` s."""
    started = time.monotonic()
    while True:
        response = get.get("/v1/me", headers=headers)
        elapsed = time.monotonic() - started
        if response.status_code == 401:
            return elapsed, assert_problem(response, 401, "unauthenticated")
        assert response.status_code == 200, response.text
        if elapsed > within:
            pytest.fail(f"the token still worked {elapsed:.2f} s later")
        time.sleep(0.02)


def warm_up(get: httpx.Client | TestClient) -> None:
    """Answers one 401 first: the first builds the OpenAPI schema (for the metrics' route label), a one-off second
    that is not the token check being timed."""
    assert get.get("/v1/me").status_code == 401


def issue(client: TestClient, admin: Headers, **body: object) -> httpx.Response:
    response: httpx.Response = client.post("/v1/tokens", json=body, headers=admin)
    return response


# -- revocation ------------------------------------------------------------------------------------------------------


def test_a_token_revoked_by_the_command_line_is_refused_by_a_running_server_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    server = start_server(database_url, tmp_path)
    try:
        server.wait_until_healthy()
        name = unique_name("leaver")
        headers = bearer(add_token(server.env, server.cwd, "manager", name))
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            # The server has seen (and cached) the token before it is revoked.
            warm_up(http)
            for _ in range(3):
                assert http.get("/v1/me", headers=headers).status_code == 200

            revoked = ledger(server.env, server.cwd, "tokens", "revoke", name)
            assert revoked.returncode == 0, revoked.stderr
            elapsed, problem = seconds_until_refused(http, headers, within=REFUSED_WITHIN)

        assert elapsed < REFUSED_WITHIN
        assert "revoked" in problem["detail"]
        # The row stays, marked revoked by the operator; revoking it again, or an unknown name, fails in one line.
        listed = ledger(server.env, server.cwd, "tokens", "list")
        line = next(line for line in listed.stdout.splitlines() if line.startswith(name))
        assert " by cli:" in line
        for again in (name, unique_name("nobody")):
            done = ledger(server.env, server.cwd, "tokens", "revoke", again)
            assert done.returncode == 1
            assert done.stdout == ""
            assert len(done.stderr.strip().splitlines()) == 1
            assert done.stderr.startswith("ledger: ")
    finally:
        server.stop()


def test_deleting_a_tokens_row_stops_it_within_a_second_though_it_was_cached(
    client: TestClient, system: System, tokens: Tokens
) -> None:
    headers = tokens.issue(Role.MANAGER)
    assert client.get("/v1/me", headers=headers).status_code == 200  # now in the cache
    warm_up(client)

    with system.view.transaction() as cursor:
        cursor.execute("DELETE FROM api_tokens WHERE token_hash = ?", (token_hash(headers["Authorization"][7:]),))
    elapsed, problem = seconds_until_refused(client, headers, within=REFUSED_WITHIN)

    assert elapsed < REFUSED_WITHIN
    assert "not known" in problem["detail"]


def test_a_token_revoked_over_the_api_is_refused_at_once_and_its_revocation_is_recorded(
    client: TestClient, tokens: Tokens
) -> None:
    name = unique_name("contractor")
    issued = issue(client, tokens.admin, name=name, role="auditor")
    assert issued.status_code == 201, issued.text
    headers = bearer(issued.json()["token"])
    assert client.get("/v1/me", headers=headers).status_code == 200

    revoked = client.post(f"/v1/tokens/{name}/revocation", headers=tokens.admin)

    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked"
    assert body["revoked_by"] == tokens.actor_id(tokens.admin)
    assert body["revoked_at"]
    refused_response = client.get("/v1/me", headers=headers)
    refused = assert_problem(refused_response, 401, "unauthenticated")
    assert "revoked" in refused["detail"]
    assert refused_response.headers["www-authenticate"] == "Bearer"
    again = assert_problem(client.post(f"/v1/tokens/{name}/revocation", headers=tokens.admin), 409, "rule_violation")
    assert "already revoked" in again["detail"]
    assert_problem(client.post("/v1/tokens/no-such-token/revocation", headers=tokens.admin), 404, "not_found")


# -- expiry ----------------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refused_as_expired(client: TestClient, system: System, tokens: Tokens) -> None:
    warm_up(client)
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    issued = system.tokens.issue(role=Role.MANAGER, name=unique_name("temp"), expires_at=expires_at)
    headers = bearer(issued.token)
    assert client.get("/v1/me", headers=headers).status_code == 200

    elapsed, problem = seconds_until_refused(client, headers, within=3.0)

    assert datetime.now(UTC) >= expires_at
    assert "expired" in problem["detail"]
    assert elapsed < 3.0
    listed = client.get("/v1/tokens", params={"limit": 500}, headers=tokens.admin).json()["items"]
    assert next(item for item in listed if item["name"] == issued.name)["status"] == "expired"


def test_the_command_line_takes_an_expiry_as_a_duration_or_an_rfc3339_time(sqlite_url: str, tmp_path: Path) -> None:
    env = ledger_env(sqlite_url)
    soon, later = unique_name("ninety-days"), unique_name("new-year")

    by_duration = ledger(env, tmp_path, "tokens", "add", "--role", "auditor", "--name", soon, "--expires", "90d")
    by_time = ledger(
        env, tmp_path, "tokens", "add", "--role", "auditor", "--name", later, "--expires", "2199-01-01T00:00:00+01:00"
    )
    listed = ledger(env, tmp_path, "tokens", "list").stdout

    assert by_duration.returncode == 0, by_duration.stderr
    assert by_time.returncode == 0, by_time.stderr
    expected = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert expected in next(line for line in listed.splitlines() if line.startswith(soon))
    assert "2198-12-31T23:00:00Z" in next(line for line in listed.splitlines() if line.startswith(later))
    for bad in ("yesterday", "2020-01-01T00:00:00Z", "2199-01-01T00:00:00", "0d"):
        done = ledger(env, tmp_path, "tokens", "add", "--role", "auditor", "--name", unique_name("x"), "--expires", bad)
        assert done.returncode == 1, bad
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# -- deactivation ----------------------------------------------------------------------------------------------------


def test_a_deactivated_account_managers_token_is_refused_within_a_second_and_their_commands_are_refused(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    own = tokens.account_manager(desk.account_manager_id)
    warm_up(client)
    logged = client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=own)
    assert logged.status_code == 201, logged.text

    deactivated = client.post(
        f"/v1/account-managers/{desk.account_manager_id}/deactivation", json={"reason": "Left"}, headers=tokens.manager
    )
    assert deactivated.status_code == 200, deactivated.text
    elapsed, problem = seconds_until_refused(client, own, within=REFUSED_WITHIN)

    assert elapsed < REFUSED_WITHIN
    assert "deactivated" in problem["detail"]
    # Neither a contact nor a gift gets through (the finding: both were stored after the deactivation).
    contact = client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=own)
    gift = client.post(f"/v1/relationships/{desk.relationship_id}/gifts", json=gift_body("Ann", "Initech"), headers=own)
    assert_problem(contact, 401, "unauthenticated")
    assert_problem(gift, 401, "unauthenticated")


def test_the_ledger_refuses_a_deactivated_account_managers_command_even_if_a_token_slipped_through(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    principal = Principal(id="slipped-through", role=Role.ACCOUNT_MANAGER, account_manager_id=desk.account_manager_id)
    audit = Audit(principal=principal, correlation_id=uuid.uuid4().hex)
    system.ledger.log_contact(
        audit,
        uuid.UUID(desk.relationship_id),
        LogContact(occurred_at=datetime.now(UTC), channel="call", summary="Before"),
    )
    system.ledger.deactivate_account_manager(
        Audit(principal=Principal(id="boss", role=Role.MANAGER), correlation_id="c"),
        uuid.UUID(desk.account_manager_id),
        DeactivateAccountManager(reason="Left the firm"),
    )

    with pytest.raises(Forbidden, match="deactivated"):
        system.ledger.log_contact(
            audit,
            uuid.UUID(desk.relationship_id),
            LogContact(occurred_at=datetime.now(UTC), channel="call", summary="After"),
        )
    with pytest.raises(Forbidden, match="deactivated"):
        system.ledger.give_gift(
            audit,
            uuid.UUID(desk.relationship_id),
            GiveGift(
                recipient=NamedRecipient(name="Ann", employer="Initech"),
                description="Hamper",
                given_on=datetime.now(UTC).date(),
                category="general",
                cost="10.00",
            ),
        )
    with pytest.raises(Forbidden, match="deactivated"):
        system.ledger.open_relationship(
            audit,
            OpenRelationship(
                client_name="Globex",
                client_kind="corporate",
                industry="technology",
                tier="standard",
                account_manager_id=uuid.UUID(desk.account_manager_id),
            ),
        )


def test_no_token_is_issued_for_a_deactivated_or_unknown_account_manager(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)
    client.post(f"/v1/account-managers/{manager_id}/deactivation", json={"reason": "Left"}, headers=tokens.manager)

    deactivated = issue(
        client, tokens.admin, name=unique_name("am"), role="account_manager", account_manager_id=manager_id
    )
    unknown = issue(
        client, tokens.admin, name=unique_name("am"), role="account_manager", account_manager_id=str(uuid.uuid4())
    )

    assert_problem(deactivated, 409, "rule_violation")
    assert_problem(unknown, 404, "not_found")


# -- unique names ----------------------------------------------------------------------------------------------------


def test_a_name_once_issued_is_refused_again_on_the_command_line_even_after_revocation(
    database_url: str, tmp_path: Path
) -> None:
    env = ledger_env(database_url)
    name = unique_name("ann")
    add_token(env, tmp_path, "manager", name)

    twice = ledger(env, tmp_path, "tokens", "add", "--role", "auditor", "--name", name)
    assert ledger(env, tmp_path, "tokens", "revoke", name).returncode == 0
    after_revocation = ledger(env, tmp_path, "tokens", "add", "--role", "manager", "--name", name)

    for done in (twice, after_revocation):
        assert done.returncode == 1
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1
        assert "never reused" in done.stderr


def test_a_name_once_issued_is_refused_again_by_the_api(client: TestClient, tokens: Tokens) -> None:
    name = unique_name("bob")
    assert issue(client, tokens.admin, name=name, role="manager").status_code == 201

    twice = issue(client, tokens.admin, name=name, role="auditor")
    client.post(f"/v1/tokens/{name}/revocation", headers=tokens.admin)
    after_revocation = issue(client, tokens.admin, name=name, role="manager")

    assert "never reused" in assert_problem(twice, 409, "rule_violation")["detail"]
    assert_problem(after_revocation, 409, "rule_violation")


# -- listing ---------------------------------------------------------------------------------------------------------


def test_the_command_line_lists_tokens_without_their_secrets(sqlite_url: str, tmp_path: Path) -> None:
    env = ledger_env(sqlite_url)
    name = unique_name("carol")
    token = add_token(env, tmp_path, "compliance", name)

    listed = ledger(env, tmp_path, "tokens", "list")

    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["NAME", "ROLE", "ACCOUNT", "MANAGER", "CREATED", "EXPIRES", "REVOKED"]
    row = next(row for row in rows if row.startswith(name))
    assert row.split()[1:] == ["compliance", "-", row.split()[3], "never", "-"]
    assert token not in listed.stdout
    assert token_hash(token) not in listed.stdout


def test_the_api_lists_tokens_page_by_page_without_their_secrets(client: TestClient, tokens: Tokens) -> None:
    issued = [issue(client, tokens.admin, name=unique_name(f"t{n}"), role="auditor").json() for n in range(5)]

    names: list[str] = []
    texts: list[str] = []
    cursor = None
    while True:
        response = client.get(
            "/v1/tokens", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=tokens.admin
        )
        assert response.status_code == 200, response.text
        texts.append(response.text)
        body = response.json()
        assert len(body["items"]) <= 2
        names.extend(item["name"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [t["name"] for t in issued] == [n for n in names if n in {t["name"] for t in issued}]
    assert len(names) == len(set(names))
    assert tokens.actor_id(tokens.admin) in names
    for item in issued:
        for text in texts:
            assert item["token"] not in text
            assert token_hash(item["token"]) not in text
    first = client.get("/v1/tokens", headers=tokens.admin).json()["items"][0]
    assert set(first) == {
        "name",
        "role",
        "account_manager_id",
        "created_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "status",
    }


# -- the admins' API -------------------------------------------------------------------------------------------------


def test_an_issued_token_is_shown_once_and_works_at_once(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    name = unique_name("am")
    expires_at = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = issue(
        client,
        tokens.admin,
        name=name,
        role="account_manager",
        account_manager_id=desk.account_manager_id,
        expires_at=expires_at,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"name", "role", "account_manager_id", "expires_at", "token"}
    assert body["token"].startswith("ldg_")
    assert (body["name"], body["role"], body["account_manager_id"]) == (
        name,
        "account_manager",
        desk.account_manager_id,
    )
    assert datetime.fromisoformat(body["expires_at"]) == datetime.fromisoformat(expires_at)
    me = client.get("/v1/me", headers=bearer(body["token"]))
    assert me.json() == {"name": name, "role": "account_manager", "account_manager_id": desk.account_manager_id}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.COMPLIANCE, Role.AUDITOR])
def test_only_admins_issue_list_and_revoke_tokens(client: TestClient, tokens: Tokens, role: Role) -> None:
    name = unique_name("target")
    assert issue(client, tokens.admin, name=name, role="auditor").status_code == 201
    headers = tokens.of(role)

    assert_problem(issue(client, headers, name=unique_name("mine"), role="admin"), 403, "forbidden")
    assert_problem(client.get("/v1/tokens", headers=headers), 403, "forbidden")
    assert_problem(client.post(f"/v1/tokens/{name}/revocation", headers=headers), 403, "forbidden")
    for response in (
        client.post("/v1/tokens", json={"name": "x", "role": "admin"}),
        client.get("/v1/tokens"),
        client.post(f"/v1/tokens/{name}/revocation"),
    ):
        assert_problem(response, 401, "unauthenticated")


def test_an_account_manager_may_not_issue_tokens(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    own = tokens.account_manager(desk.account_manager_id)
    assert_problem(issue(client, own, name=unique_name("self"), role="admin"), 403, "forbidden")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ann Lee", "role": "manager"}, "name"),
        ({"name": "x" * 101, "role": "manager"}, "name"),
        ({"name": "", "role": "manager"}, "name"),
        ({"name": "ann\u200b", "role": "manager"}, "name"),
        ({"name": "ann", "role": "boss"}, "role"),
        ({"name": "ann", "role": "account_manager"}, "account_manager_id"),
        (
            {"name": "ann", "role": "manager", "account_manager_id": "00000000-0000-0000-0000-000000000001"},
            "account_manager_id",
        ),
        ({"name": "ann", "role": "manager", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "ann", "role": "manager", "expires_at": "2199-01-01T00:00:00"}, "expires_at"),
        ({"name": "ann", "role": "manager", "token": "ldg_mine"}, "token"),
    ],
)
def test_an_invalid_token_request_is_a_validation_error_naming_the_field(
    client: TestClient, tokens: Tokens, body: Json, field: str
) -> None:
    problem = assert_problem(issue(client, tokens.admin, **body), 422, "validation_error")
    assert field in {error["field"] for error in problem["errors"]}


def test_issuing_a_token_refuses_an_idempotency_key_so_the_secret_is_never_stored(
    client: TestClient, system: System, tokens: Tokens
) -> None:
    name = unique_name("retry")
    response = client.post(
        "/v1/tokens", json={"name": name, "role": "manager"}, headers={**tokens.admin, "Idempotency-Key": "k-1"}
    )

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert client.get("/v1/tokens", params={"limit": 500}, headers=tokens.admin).text.count(name) == 0


def test_the_openapi_schema_documents_the_token_routes_and_their_problems(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert set(paths["/v1/tokens"]["post"]["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    assert set(paths["/v1/tokens"]["get"]["responses"]) >= {"200", "401", "403", "422"}
    assert set(paths["/v1/tokens/{name}/revocation"]["post"]["responses"]) >= {"200", "401", "403", "404", "409"}


def test_a_gift_by_an_account_manager_still_works_while_they_are_active(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    own = tokens.account_manager(desk.account_manager_id)
    mine = open_relationship(client, own, desk.account_manager_id)
    gift = client.post(f"/v1/relationships/{mine['id']}/gifts", json=gift_body("Ann", "Initech", "20.00"), headers=own)
    assert gift.status_code == 201, gift.text
