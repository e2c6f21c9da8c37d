"""A view that cannot advance shows in /health and /metrics; reads with `min_position` never hold a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.commands import RegisterAccountManager
from domain.relationship import ContactLogged
from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from projections.base import Batch, Handler
from projections.failures import Backoff
from projections.runner import NAMES
from tests.conftest import audit_as
from tests.e2e.conftest import (
    Json,
    assert_problem,
    bearer,
    contact_body,
    open_relationship,
    register_manager,
    wait_until,
)
from tests.e2e.test_protocol import metric

POISON = "date value out of range"
VIEWS = NAMES


class BrokenContacts:
    """A bug in the workload view: it cannot apply the contacts of one relationship until `fixed`."""

    def __init__(self, system: System, relationship_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.relationship_id = relationship_id
        self.fixed = False
        workload = next(p for p in system.projections.projections if p.name == "workload")
        self.original = type(workload).handlers[ContactLogged]
        handlers: dict[type[Any], Handler] = {**type(workload).handlers, ContactLogged: self}
        monkeypatch.setattr(workload, "handlers", handlers)

    def __call__(self, view: Any, event: Any, batch: Batch, position: int) -> None:
        if str(event.originator_id) == self.relationship_id and not self.fixed:
            raise OverflowError(POISON)
        self.original(view, event, batch, position)


@pytest.fixture
def idle_system(database_url: str) -> Iterator[System]:
    """A ledger whose views follow the log only when a test catches them up."""
    built = build_system(Settings(database_url=database_url), run_projections=False)
    try:
        yield built
    finally:
        built.close()


def test_health_is_degraded_naming_the_view_that_cannot_advance_and_ok_again_once_it_recovers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = build_system(Settings(database_url=database_url), run_projections=True)
    system.projections.backoff = Backoff(first=0.05, most=0.2)
    headers = bearer(system.tokens.issue(role=Role.MANAGER, name="health-checker").token)
    try:
        with TestClient(create_app(system, min_position_wait=0.3)) as client:
            manager_id = register_manager(client, headers)
            opened = open_relationship(client, headers, manager_id)
            bug = BrokenContacts(system, str(opened["id"]), monkeypatch)
            path = f"/v1/relationships/{opened['id']}/contacts"
            bad = client.post(path, json=contact_body(), headers=headers).json()["position"]
            last = open_relationship(client, headers, manager_id)["position"]

            # While the workload view cannot apply the contact, /health says so (the others follow the log).
            def degraded() -> httpx.Response | None:
                response = client.get("/health")
                body = response.json()
                others = all(body["projections"][name] == last for name in VIEWS if name != "workload")
                return response if others and body["failing"].get("workload", {}).get("attempts", 0) >= 2 else None

            failing = wait_until(degraded, timeout=30, what="/health to name the failing view")
            metrics = client.get("/metrics", headers=headers).text
            lagging = client.get("/v1/workload", params={"min_position": last}, headers=headers)

            # The fix ships: the view goes past the event, and /health is ok again.
            bug.fixed = True

            def recovered() -> httpx.Response | None:
                response = client.get("/health")
                caught_up = response.status_code == 200 and response.json()["projections"]["workload"] == last
                return response if caught_up else None

            ok = wait_until(recovered, timeout=30, what="/health to be ok again")
            metrics_after = client.get("/metrics", headers=headers).text
            caught_up = client.get("/v1/workload", params={"min_position": last}, headers=headers)
    finally:
        system.close()

    body: Json = failing.json()
    assert failing.status_code == 503
    assert body["status"] == "degraded"
    assert set(body["failing"]) == {"workload"}
    workload = body["failing"]["workload"]
    assert workload["event_position"] == bad
    assert workload["position"] == bad - 1 == body["projections"]["workload"]
    assert workload["error"] == f"OverflowError: {POISON}"
    assert datetime.fromisoformat(workload["since"]).tzinfo is not None
    assert {name: body["projections"][name] for name in VIEWS if name != "workload"} == dict.fromkeys(
        (name for name in VIEWS if name != "workload"), last
    )
    assert dict(metric(metrics, "ledger_projection_failing")) == {
        f'{{projection="{name}"}}': 1.0 if name == "workload" else 0.0 for name in VIEWS
    }
    assert dict(metric(metrics, "ledger_projection_failed_attempts_total"))['{projection="workload"}'] >= 2
    assert (
        "the workload view cannot apply the event at position"
        in assert_problem(lagging, 503, "projection_lagging")["detail"]
    )
    assert (ok.json()["status"], ok.json()["failing"], ok.json()["projections"]["workload"]) == ("ok", {}, last)
    assert dict(metric(metrics_after, "ledger_projection_failing"))['{projection="workload"}'] == 0.0
    assert caught_up.status_code == 200


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_a_min_position_beyond_the_head_of_the_log_is_invalid_input_at_once(database_url: str, running: bool) -> None:
    system = build_system(Settings(database_url=database_url), run_projections=running)
    headers = bearer(system.tokens.issue(role=Role.MANAGER, name="far-ahead").token)
    try:
        with TestClient(create_app(system)) as client:  # the full 5 s wait for positions that exist
            head = system.projections.head()
            started = time.monotonic()
            response = client.get("/v1/workload", params={"min_position": head + 1}, headers=headers)
            took = time.monotonic() - started
    finally:
        system.close()

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == [{"field": "min_position", "message": f"the log only reaches position {head}"}]
    assert took < 1.0


def test_sixty_readers_waiting_for_the_views_hold_no_worker_thread_so_health_and_me_answer_at_once(
    idle_system: System,
) -> None:
    system = idle_system
    headers = bearer(system.tokens.issue(role=Role.MANAGER, name="patient-reader").token)
    email = "ann.patient@example.com"
    written = system.ledger.register_account_manager(
        audit_as(Role.MANAGER), RegisterAccountManager(name="Ann Lee", email=email)
    )
    app = create_app(system, min_position_wait=20.0)

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, httpx.Response, float, bool]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger.test") as client:
            # Answered once first, so the timing below is of waiting, not of a cold start.
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/v1/me", headers=headers)).status_code == 200
            params = {"min_position": written.position}
            readers = [
                asyncio.create_task(client.get("/v1/workload", params=params, headers=headers)) for _ in range(60)
            ]
            # Every reader is in flight, waiting for views that nobody catches up yet.
            registry = app.state.metrics.registry
            deadline = time.monotonic() + 30
            while (registry.get_sample_value("ledger_http_requests_in_flight") or 0) < 60:
                assert time.monotonic() < deadline, "the 60 readers never got in flight"
                await asyncio.sleep(0.01)
            started = time.monotonic()
            health = await client.get("/health")
            me = await client.get("/v1/me", headers=headers)
            took = time.monotonic() - started
            all_waiting = not any(reader.done() for reader in readers)
            # The views catch up (in another thread, as a projection process would): every reader is answered.
            await asyncio.to_thread(system.projections.catch_up)
            answers = await asyncio.wait_for(asyncio.gather(*readers), timeout=30)
        return answers, health, me, took, all_waiting

    answers, health, me, took, all_waiting = asyncio.run(scenario())

    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert me.status_code == 200
    assert took < 1.0
    assert all_waiting
    assert [answer.status_code for answer in answers] == [200] * 60
    assert all(int(answer.headers["X-Projection-Position"]) >= written.position for answer in answers)
