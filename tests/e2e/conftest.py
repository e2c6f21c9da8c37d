"""What the HTTP API tests share: a System and an in-process client on SQLite and PostgreSQL, tokens per role."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings

Json = dict[str, Any]
Headers = dict[str, str]
T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"

AUDIT_FIELDS = {
    "position",
    "version",
    "type",
    "recorded_at",
    "occurred_at",
    "actor_id",
    "actor_role",
    "correlation_id",
    "data",
    "aggregate_type",
    "aggregate_id",
    "hash",
}
"""The fields of an event in the audit feed (API.md: `/audit/events`)."""
EXPORT_FIELDS = AUDIT_FIELDS | {"topic", "stored_state"}
"""An export line adds the stored form."""


# -- the system under test -----------------------------------------------------


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    """A fresh ledger with its projections following the log in a thread, once on each store."""
    built = build_system(Settings(database_url=database_url), run_projections=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    """The API in process, its lifespan run (so metrics count appended events)."""
    with TestClient(create_app(system)) as test_client:
        yield test_client


class Tokens:
    """Issues bearer tokens straight into the system's token store: one per role, one per account manager."""

    def __init__(self, system: System) -> None:
        self.system = system
        self._by_role: dict[Role, Headers] = {}
        self._by_manager: dict[str, Headers] = {}
        self._names: dict[str, str] = {}

    def issue(self, role: Role, *, name: str | None = None, account_manager_id: str | None = None) -> Headers:
        """A new token's Authorization header."""
        issued = self.system.tokens.issue(
            role=role,
            name=name or f"{role.value}-{uuid.uuid4().hex[:8]}",
            account_manager_id=UUID(account_manager_id) if account_manager_id else None,
        )
        headers = bearer(issued.token)
        self._names[headers["Authorization"]] = issued.name
        return headers

    def actor_id(self, headers: Headers) -> str:
        """The actor id stored on the events a token writes: the name it was issued under."""
        return self._names[headers["Authorization"]]

    def of(self, role: Role) -> Headers:
        """The headers of this role's token (an account manager's needs `account_manager`)."""
        assert role is not Role.ACCOUNT_MANAGER, (
            "an account_manager token stands for one manager: use account_manager()"
        )
        if role not in self._by_role:
            self._by_role[role] = self.issue(role)
        return self._by_role[role]

    def account_manager(self, account_manager_id: str) -> Headers:
        if account_manager_id not in self._by_manager:
            self._by_manager[account_manager_id] = self.issue(
                Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id
            )
        return self._by_manager[account_manager_id]

    @property
    def manager(self) -> Headers:
        return self.of(Role.MANAGER)

    @property
    def admin(self) -> Headers:
        return self.of(Role.ADMIN)

    @property
    def compliance(self) -> Headers:
        return self.of(Role.COMPLIANCE)

    @property
    def auditor(self) -> Headers:
        return self.of(Role.AUDITOR)


@pytest.fixture
def tokens(system: System) -> Tokens:
    return Tokens(system)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


# -- building a little world over HTTP -----------------------------------------


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def register_manager(client: TestClient, headers: Headers, *, name: str | None = None) -> str:
    """Registers an account manager over HTTP; returns its id."""
    name = name or unique("Ann Lee")
    email = f"{name.lower().replace(' ', '.')}@example.com"
    response = client.post("/v1/account-managers", json={"name": name, "email": email}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def relationship_body(account_manager_id: str, **changes: Any) -> Json:
    return {
        "client_name": unique("Globex"),
        "client_kind": "corporate",
        "industry": "financial_services",
        "tier": "major",
        "account_manager_id": account_manager_id,
        **changes,
    }


def open_relationship(client: TestClient, headers: Headers, account_manager_id: str, **changes: Any) -> Json:
    """Opens a relationship over HTTP; returns the command's body (id, version, position)."""
    response = client.post("/v1/relationships", json=relationship_body(account_manager_id, **changes), headers=headers)
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def contact_body(summary: str = "Quarterly review call", **changes: Any) -> Json:
    return {"occurred_at": "2026-05-04T09:30:00+02:00", "channel": "call", "summary": summary, **changes}


def gift_body(name: str, employer: str, cost: str = "100.00", given_on: str = "2026-05-01", **changes: Any) -> Json:
    return {
        "recipient": {"name": name, "employer": employer},
        "description": "Hamper",
        "given_on": given_on,
        "category": "general",
        "cost": cost,
        **changes,
    }


@dataclass(frozen=True)
class Desk:
    """One account manager with one open relationship, registered and opened by a manager."""

    manager: Headers
    account_manager_id: str
    relationship_id: str
    position: int


@pytest.fixture
def desk(client: TestClient, tokens: Tokens) -> Desk:
    account_manager_id = register_manager(client, tokens.manager)
    opened = open_relationship(client, tokens.manager, account_manager_id)
    return Desk(tokens.manager, account_manager_id, str(opened["id"]), int(opened["position"]))


def events_of(client: TestClient, headers: Headers, relationship_id: str) -> list[Json]:
    """Every event of a relationship, read over HTTP (one page of up to 500)."""
    response = client.get(f"/v1/relationships/{relationship_id}/events", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


def head_position(system: System) -> int:
    """The last position in the global log, read from the store."""
    return system.projections.head()


# -- assertions and waiting ----------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> Json:
    """Asserts an RFC 9457 problem response with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: Json = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def wait_until(probe: Callable[[], T | None], *, timeout: float, interval: float = 0.05, what: str = "") -> T:
    """Calls `probe` until it returns something other than None, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what or probe}")
        time.sleep(interval)
