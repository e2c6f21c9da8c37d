"""`GET /workload` and a manager's workload are served ready-made: the same body (and `ETag`) while the views and
the clock leave it unchanged, a 304 for `If-None-Match`, and a new body as soon as either moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from tests.e2e.conftest import Tokens, contact_body, open_relationship, register_manager


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def clocked(database_url: str, clock: Clock) -> Iterator[tuple[System, TestClient]]:
    system = build_system(Settings(database_url=database_url), clock=clock)
    try:
        with TestClient(create_app(system)) as client:
            yield system, client
    finally:
        system.close()


def test_the_same_body_and_etag_until_the_views_move_and_304_for_the_etag_held(
    clocked: tuple[System, TestClient],
) -> None:
    system, client = clocked
    manager = Tokens(system).of(Role.MANAGER)
    am = register_manager(client, manager)
    opened = open_relationship(client, manager, am)
    first = client.get(f"/v1/workload?min_position={opened['position']}", headers=manager)
    again = client.get("/v1/workload", headers=manager)
    assert first.status_code == again.status_code == 200
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.content == again.content
    assert [row["active_relationships"] for row in first.json()] == [1]

    held = client.get("/v1/workload", headers={**manager, "If-None-Match": first.headers["ETag"]})
    assert (held.status_code, held.content, held.headers["ETag"]) == (304, b"", first.headers["ETag"])
    assert int(held.headers["X-Projection-Position"]) >= opened["position"]

    second = open_relationship(client, manager, am)
    moved = client.get(
        f"/v1/workload?min_position={second['position']}",
        headers={**manager, "If-None-Match": first.headers["ETag"]},
    )
    assert moved.status_code == 200
    assert moved.headers["ETag"] != first.headers["ETag"]
    assert [row["active_relationships"] for row in moved.json()] == [2]


def test_the_clock_passing_a_follow_up_date_makes_a_new_body_though_the_views_stay(
    clocked: tuple[System, TestClient], clock: Clock
) -> None:
    system, client = clocked
    manager = Tokens(system).of(Role.MANAGER)
    am = register_manager(client, manager)
    opened = open_relationship(client, manager, am)
    today = clock.now.date()
    logged = client.post(
        f"/v1/relationships/{opened['id']}/contacts",
        json=contact_body(occurred_at=clock.now.isoformat(), next_follow_up_on=today.isoformat()),
        headers=manager,
    ).json()
    path = f"/v1/account-managers/{am}/workload?min_position={logged['position']}"
    before = client.get(path, headers=manager)
    assert before.json()["overdue_follow_ups"] == 0
    assert client.get(path, headers=manager).headers["ETag"] == before.headers["ETag"]

    # The follow-up falls due at the end of its day; nothing is written meanwhile.
    clock.now = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(seconds=1)
    after = client.get(path, headers={**manager, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.json()["overdue_follow_ups"] == 1
    assert [r["relationship_id"] for r in after.json()["overdue_relationships"]] == [opened["id"]]
    assert client.get("/v1/workload", headers=manager).json()[0]["overdue_follow_ups"] == 1


def test_an_account_manager_gets_their_own_row_never_anothers_ready_made_body(
    clocked: tuple[System, TestClient],
) -> None:
    system, client = clocked
    tokens = Tokens(system)
    first, second = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    last = open_relationship(client, tokens.manager, second)
    everyone = client.get(f"/v1/workload?min_position={last['position']}", headers=tokens.manager)
    assert {row["account_manager_id"] for row in everyone.json()} == {first, second}
    own = client.get("/v1/workload", headers=tokens.account_manager(first))
    assert [row["account_manager_id"] for row in own.json()] == [first]
    assert own.headers["ETag"] != everyone.headers["ETag"]
    refused = client.get(f"/v1/account-managers/{second}/workload", headers=tokens.account_manager(first))
    assert refused.status_code == 403


def test_a_relationship_now_is_ready_made_per_version_and_each_reader_is_still_checked(
    clocked: tuple[System, TestClient],
) -> None:
    system, client = clocked
    tokens = Tokens(system)
    owner, other = register_manager(client, tokens.manager), register_manager(client, tokens.manager)
    opened = open_relationship(client, tokens.manager, owner)
    path = f"/v1/relationships/{opened['id']}"
    first = client.get(path, headers=tokens.manager)  # made, and kept for version 1
    assert (first.status_code, first.headers["ETag"]) == (200, '"1"')
    assert client.get(path, headers=tokens.manager).content == first.content
    assert client.get(path, headers={**tokens.manager, "If-None-Match": '"1"'}).status_code == 304

    # The kept body is never handed to a reader the role table refuses.
    refused = client.get(path, headers=tokens.account_manager(other))
    assert refused.status_code == 403
    assert client.get(path, headers=tokens.account_manager(owner)).content == first.content

    # A new version is a new body; its former manager, once it is reassigned, reads it as handed over.
    moved = client.post(
        f"{path}/assignments",
        json={"account_manager_id": other, "reason": "Handover"},
        headers={**tokens.manager, "If-Match": '"1"'},
    )
    assert moved.status_code == 201, moved.text
    now = client.get(path, headers={**tokens.manager, "If-None-Match": '"1"'})
    assert (now.status_code, now.headers["ETag"], now.json()["account_manager_id"]) == (200, '"2"', other)
    former = client.get(path, headers=tokens.account_manager(owner))
    assert (former.status_code, former.headers["ETag"]) == (200, '"1"')
    assert former.headers["Content-Location"] == f"{path}?version=1"
    assert client.get(path, headers=tokens.account_manager(other)).json()["account_manager_id"] == other
