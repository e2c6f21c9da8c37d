"""Who may do what over HTTP (DOMAIN.md, "Who uses it"), and the account manager's assignment rule."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from tests.e2e.conftest import (
    Headers,
    Tokens,
    assert_problem,
    contact_body,
    open_relationship,
    register_manager,
)

# -- the role table, on one shared SQLite ledger (the rules do not depend on the store) ------------


class World:
    """One ledger for the whole role table: two account managers, and tokens for every role."""

    def __init__(self, client: TestClient, system: System) -> None:
        self.client = client
        self.tokens = Tokens(system)
        self.account_manager_id = register_manager(client, self.tokens.manager)
        self.successor_id = register_manager(client, self.tokens.manager)
        self._dates = itertools.count(1)

    @staticmethod
    def call(response: httpx.Response) -> httpx.Response:
        """The response, typed (the test client's methods are untyped here)."""
        return response

    def headers(self, role: Role) -> Headers:
        if role is Role.ACCOUNT_MANAGER:
            return self.tokens.account_manager(self.account_manager_id)
        return self.tokens.of(role)

    def relationship(self) -> str:
        """A new relationship assigned to the world's account manager."""
        return str(open_relationship(self.client, self.tokens.manager, self.account_manager_id)["id"])

    def next_date(self) -> str:
        """A date no other gift-limit change in this module uses (far from any gift given here)."""
        day = next(self._dates)
        return f"2031-{1 + day // 28:02d}-{1 + day % 28:02d}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("roles") / "ledger.sqlite3"
    system = build_system(Settings(database_url=f"sqlite:///{path}"), run_projections=True)
    try:
        with TestClient(create_app(system)) as client:
            yield World(client, system)
    finally:
        system.close()


Attempt = Callable[[World, Headers], httpx.Response]


def write_on_a_relationship(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.post(f"/v1/relationships/{world.relationship()}/contacts", json=contact_body(), headers=headers)
    )


def register_an_account_manager(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.post(
            "/v1/account-managers", json={"name": "New Hire", "email": "new.hire@example.com"}, headers=headers
        )
    )


def set_a_quota(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.put(
            f"/v1/account-managers/{world.account_manager_id}/quotas/2027", json={"amount": "1000.00"}, headers=headers
        )
    )


def reassign_a_relationship(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.post(
            f"/v1/relationships/{world.relationship()}/assignments",
            json={"account_manager_id": world.successor_id, "reason": "Rebalancing"},
            headers=headers,
        )
    )


def change_the_gift_limit(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.post(
            "/v1/compliance/gift-policy/limits",
            json={"effective_from": world.next_date(), "amount": "300.00"},
            headers=headers,
        )
    )


def change_the_limit_year(world: World, headers: Headers) -> httpx.Response:
    return world.call(
        world.client.put("/v1/compliance/gift-policy/limit-year", json={"kind": "calendar"}, headers=headers)
    )


def read_the_gift_register(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/compliance/gift-register", params={"year": 2026}, headers=headers))


def read_the_exceptions(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/compliance/exceptions", params={"year": 2026}, headers=headers))


def read_the_audit_feed(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/audit/events", headers=headers))


def export_the_audit_trail(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/audit/export", headers=headers))


def verify_the_log(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/audit/verify", headers=headers))


def read_the_access_log(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/audit/access-log", headers=headers))


def read_a_relationship(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get(f"/v1/relationships/{world.relationship()}", headers=headers))


def read_the_workload(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/workload", headers=headers))


def read_the_gift_policy(world: World, headers: Headers) -> httpx.Response:
    return world.call(world.client.get("/v1/compliance/gift-policy", headers=headers))


AM, MANAGER, COMPLIANCE, AUDITOR, ADMIN = (
    Role.ACCOUNT_MANAGER,
    Role.MANAGER,
    Role.COMPLIANCE,
    Role.AUDITOR,
    Role.ADMIN,
)

# Each kind of route with the status every role gets: (account_manager, manager, compliance, auditor, admin).
ROLE_TABLE: dict[Attempt, tuple[int, int, int, int, int]] = {
    write_on_a_relationship: (201, 201, 403, 403, 201),
    register_an_account_manager: (403, 201, 403, 403, 201),
    set_a_quota: (403, 200, 403, 403, 200),
    reassign_a_relationship: (403, 201, 403, 403, 201),
    change_the_gift_limit: (403, 403, 201, 403, 201),
    change_the_limit_year: (403, 403, 200, 403, 200),
    read_the_gift_register: (403, 403, 200, 200, 200),
    read_the_exceptions: (403, 403, 200, 200, 200),
    read_the_audit_feed: (403, 403, 200, 200, 200),
    export_the_audit_trail: (403, 403, 200, 200, 200),
    verify_the_log: (403, 403, 200, 200, 200),
    read_the_access_log: (403, 403, 403, 403, 200),
    read_a_relationship: (200, 200, 200, 200, 200),
    read_the_workload: (200, 200, 200, 200, 200),
    read_the_gift_policy: (200, 200, 200, 200, 200),
}


@pytest.mark.parametrize(
    ("attempt", "role", "expected"),
    [
        pytest.param(attempt, role, status, id=f"{attempt.__name__}-{role.value}")
        for attempt, statuses in ROLE_TABLE.items()
        for role, status in zip((AM, MANAGER, COMPLIANCE, AUDITOR, ADMIN), statuses, strict=True)
    ],
)
def test_each_role_may_do_only_what_the_role_table_allows(
    world: World, attempt: Attempt, role: Role, expected: int
) -> None:
    response = attempt(world, world.headers(role))

    if expected == 403:
        assert_problem(response, 403, "forbidden")
    else:
        assert response.status_code == expected, response.text


def test_a_forbidden_write_stores_nothing(world: World) -> None:
    relationship_id = world.relationship()

    refused = world.client.post(
        f"/v1/relationships/{relationship_id}/contacts", json=contact_body(), headers=world.headers(AUDITOR)
    )

    assert_problem(refused, 403, "forbidden")
    assert (
        world.client.get(f"/v1/relationships/{relationship_id}", headers=world.headers(AUDITOR)).json()["version"] == 1
    )


# -- the assignment rule, on both stores ----------------------------------------------------------


def test_an_account_manager_sees_and_writes_only_relationships_currently_assigned_to_them(
    client: TestClient, tokens: Tokens
) -> None:
    ann, bob = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    anns = open_relationship(client, tokens.manager, ann)["id"]
    bobs = open_relationship(client, tokens.manager, bob)
    as_ann = tokens.account_manager(ann)

    # Ann's own relationship: read, its history, and a write.
    assert client.get(f"/v1/relationships/{anns}", headers=as_ann).status_code == 200
    assert client.get(f"/v1/relationships/{anns}/events", headers=as_ann).status_code == 200
    assert client.post(f"/v1/relationships/{anns}/contacts", json=contact_body(), headers=as_ann).status_code == 201
    # Bob's: nothing at all.
    for response in (
        client.get(f"/v1/relationships/{bobs['id']}", headers=as_ann),
        client.get(f"/v1/relationships/{bobs['id']}", params={"version": 1}, headers=as_ann),
        client.get(f"/v1/relationships/{bobs['id']}/events", headers=as_ann),
        client.post(f"/v1/relationships/{bobs['id']}/contacts", json=contact_body(), headers=as_ann),
        client.put(f"/v1/relationships/{bobs['id']}/tier", json={"tier": "key"}, headers=as_ann),
        client.get("/v1/relationships", params={"account_manager_id": bob}, headers=as_ann),
    ):
        assert_problem(response, 403, "forbidden")
    listed = client.get("/v1/relationships", params={"min_position": bobs["position"]}, headers=as_ann)
    assert [item["id"] for item in listed.json()["items"]] == [anns]
    assert client.get(f"/v1/relationships/{bobs['id']}", headers=tokens.manager).json()["version"] == 1


def test_an_account_manager_loses_a_relationship_reassigned_away_and_its_new_manager_gains_it(
    client: TestClient, tokens: Tokens
) -> None:
    ann, bob = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    relationship_id = open_relationship(client, tokens.manager, ann)["id"]
    as_ann, as_bob = tokens.account_manager(ann), tokens.account_manager(bob)
    assert (
        client.post(f"/v1/relationships/{relationship_id}/contacts", json=contact_body(), headers=as_ann).status_code
        == 201
    )

    moved = client.post(
        f"/v1/relationships/{relationship_id}/assignments",
        json={"account_manager_id": bob, "reason": "Ann moves to another desk"},
        headers=tokens.manager,
    ).json()

    # Ann, its former manager, reads it only as she handed it over (tests/e2e/test_former_manager_access.py).
    handed_over = client.get(f"/v1/relationships/{relationship_id}", headers=as_ann)
    assert handed_over.status_code == 200, handed_over.text
    assert handed_over.json()["version"] == 2
    assert handed_over.headers["Content-Location"] == f"/v1/relationships/{relationship_id}?version=2"
    assert_problem(
        client.post(f"/v1/relationships/{relationship_id}/contacts", json=contact_body(), headers=as_ann),
        403,
        "forbidden",
    )
    assert client.get(f"/v1/relationships/{relationship_id}", headers=as_bob).status_code == 200
    assert (
        client.post(f"/v1/relationships/{relationship_id}/contacts", json=contact_body(), headers=as_bob).status_code
        == 201
    )
    wait = {"min_position": moved["position"]}
    assert client.get("/v1/relationships", params=wait, headers=as_ann).json()["items"] == []
    assert [item["id"] for item in client.get("/v1/relationships", params=wait, headers=as_bob).json()["items"]] == [
        relationship_id
    ]


def test_an_account_manager_opens_relationships_only_for_themself_and_never_reassigns(
    client: TestClient, tokens: Tokens
) -> None:
    ann, bob = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    as_ann = tokens.account_manager(ann)

    own = client.post(
        "/v1/relationships",
        json={
            "client_name": "Ann's client",
            "client_kind": "individual",
            "industry": "other",
            "tier": "standard",
            "account_manager_id": ann,
        },
        headers=as_ann,
    )
    for_bob = client.post(
        "/v1/relationships",
        json={
            "client_name": "Bob's client",
            "client_kind": "individual",
            "industry": "other",
            "tier": "standard",
            "account_manager_id": bob,
        },
        headers=as_ann,
    )
    give_away = client.post(
        f"/v1/relationships/{own.json()['id']}/assignments",
        json={"account_manager_id": bob, "reason": "Too busy"},
        headers=as_ann,
    )

    assert own.status_code == 201
    assert_problem(for_bob, 403, "forbidden")
    assert_problem(give_away, 403, "forbidden")
    assert client.get(f"/v1/relationships/{own.json()['id']}", headers=as_ann).json()["account_manager_id"] == ann
    opened_by = client.get(f"/v1/relationships/{own.json()['id']}/events", headers=as_ann).json()["items"][0]
    assert opened_by["actor_role"] == "account_manager"


def test_an_account_manager_reads_only_their_own_record_workload_and_pay(client: TestClient, tokens: Tokens) -> None:
    ann, bob = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    last = open_relationship(client, tokens.manager, bob)
    as_ann = tokens.account_manager(ann)

    for path in (
        f"/v1/account-managers/{ann}",
        f"/v1/account-managers/{ann}/workload",
        f"/v1/account-managers/{ann}/pay/2026",
    ):
        assert client.get(path, headers=as_ann).status_code == 200, path
    for path in (
        f"/v1/account-managers/{bob}",
        f"/v1/account-managers/{bob}/workload",
        f"/v1/account-managers/{bob}/pay/2026",
    ):
        assert_problem(client.get(path, headers=as_ann), 403, "forbidden")
    rows = client.get("/v1/workload", params={"min_position": last["position"]}, headers=as_ann).json()
    assert [row["account_manager_id"] for row in rows] == [ann]
    everyone = client.get("/v1/workload", params={"min_position": last["position"]}, headers=tokens.manager).json()
    assert {row["account_manager_id"] for row in everyone} == {ann, bob}
    listed = client.get("/v1/account-managers", params={"min_position": last["position"]}, headers=as_ann).json()
    assert [item["id"] for item in listed["items"]] == [ann]


def test_an_account_manager_finds_themself_in_the_list_of_account_managers_whatever_the_page_size(
    client: TestClient, tokens: Tokens
) -> None:
    register_manager(client, tokens.manager)
    register_manager(client, tokens.manager)
    carol = client.post(
        "/v1/account-managers", json={"name": "Carol Third", "email": "carol@example.com"}, headers=tokens.manager
    ).json()

    response = client.get(
        "/v1/account-managers",
        params={"limit": 1, "min_position": carol["position"]},
        headers=tokens.account_manager(carol["id"]),
    )

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [carol["id"]]
