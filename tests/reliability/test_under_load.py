"""Four API workers, two projection processes and eight clients on PostgreSQL: under load and through faults,
every acknowledged write is stored exactly once, nothing is stored in part, every view equals a clean rebuild,
the gift limit holds in every year, and the log still verifies.

The faults are real: PostgreSQL restarted (and once held down until clients
notice), a projection process and an API worker killed with SIGKILL.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from domain.gift_recipient import GiftRecipient
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from projections.runner import Projections
from tests.conftest import LEDGER
from tests.integration.projection_support import dump_views, head, stored_positions, tracking_positions, wait_until
from tests.reliability.checks import events_by_correlation, exactly_once_problems, gift_totals
from tests.reliability.cluster import (
    Cluster,
    postgres_cluster,
    require_restartable_postgres,
    restart_postgres,
    running_cluster,
)
from tests.reliability.load import (
    ACKNOWLEDGED,
    GIFT_COST,
    RECIPIENTS,
    REFUSED,
    Journal,
    run_clients,
)

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

CLIENTS = 8
MANAGERS = 4
RELATIONSHIPS_EACH = 4
LIMITS = {2025: Decimal("100.00"), 2026: Decimal("300.00")}
"""FINRA's limit in force on the gift days the clients use, by year (each year's days are on one side of its change)."""
CLIENTS_TIMEOUT = 300.0


@dataclass
class Fault:
    name: str
    started: float
    ended: float


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(postgres_url, tmp_path, workers=4, projection_processes=2) as running:
        yield running


def open_book(cluster: Cluster, token: str) -> list[str]:
    """The account managers and relationships the clients work on, opened over HTTP."""
    headers = {"Authorization": f"Bearer {token}"}
    relationships = []
    with httpx.Client(base_url=cluster.base_url, headers=headers, timeout=30) as http:
        for manager in range(MANAGERS):
            response = http.post(
                "/v1/account-managers", json={"name": f"Manager {manager}", "email": f"manager{manager}@example.com"}
            )
            assert response.status_code == 201, response.text
            manager_id = response.json()["id"]
            for number in range(RELATIONSHIPS_EACH):
                response = http.post(
                    "/v1/relationships",
                    json={
                        "client_name": f"Client {manager}-{number}",
                        "client_kind": "corporate",
                        "industry": "financial_services",
                        "tier": "standard",
                        "account_manager_id": manager_id,
                    },
                )
                assert response.status_code == 201, response.text
                relationships.append(response.json()["id"])
    return relationships


def join(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + CLIENTS_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"clients still running after {CLIENTS_TIMEOUT} s"


def assert_nothing_lost(cluster: Cluster, journal: Journal) -> None:
    """Stops the cluster, then checks the log, the views, the gift limit and the seals from the store itself."""
    print(f"load: {journal.summary()}")  # shown with -s: how the writes ended and what the clients met
    assert not journal.unexpected, journal.unexpected[:10]
    # The API stops first (finishing what it was doing); the projection processes then reach the head on their own.
    assert cluster.stop_api() == {"api": 0}, "the API stopped cleanly"
    settings = Settings(database_url=cluster.database_url)
    with build_ledger(settings) as ledger:
        projections = build_projections(ledger, settings)
        try:
            wait_until(
                lambda: set(tracking_positions(projections.view).values()) == {head(ledger)},
                timeout=60,
                what="the projection processes to reach the head of the log",
            )
        finally:
            projections.view.close()
    assert cluster.stop_projections() == {"projections-0": 0, "projections-1": 0}, "they stopped cleanly"

    with build_ledger(settings) as ledger:
        stored, positions = events_by_correlation(ledger)
        assert positions == sorted(set(positions)), "each event has one position, in order"
        assert positions == stored_positions(ledger)
        assert exactly_once_problems(journal.writes, stored) == []

        totals = gift_totals(ledger, {GiftRecipient.id_for(name, employer) for name, employer in RECIPIENTS})
        assert totals, "gifts were accepted"
        over = {key: str(total) for key, total in totals.items() if total > LIMITS[key[1]]}
        assert not over, over
        refused_gifts = [w for w in journal.writes if w.kind == "gift" and w.outcome == REFUSED]
        assert refused_gifts, "the load pushed recipients to the limit, so some gifts were refused"
        assert all(w.body and w.body["code"] == "gift_limit_exceeded" for w in refused_gifts)
        assert all(total % Decimal(GIFT_COST) == 0 for total in totals.values())

        # The projection processes left every view equal to a clean rebuild from the first event.
        projections = build_projections(ledger, settings)
        try:
            assert set(tracking_positions(projections.view).values()) == {head(ledger)}
            followed = dump_views(projections.view)
            Projections(ledger, projections.view).rebuild_from_scratch()
            assert dump_views(projections.view) == followed
        finally:
            projections.view.close()

    verified = subprocess.run(
        [str(LEDGER), "verify"],
        check=False,
        env=cluster.env,
        cwd=cluster.folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_four_workers_two_projection_processes_and_eight_clients_lose_nothing(cluster: Cluster) -> None:
    tokens = cluster.token("manager", "load-desk"), cluster.token("compliance", "load-compliance")
    relationships = open_book(cluster, tokens[0])
    journal = Journal()

    join(run_clients(cluster.base_url, tokens, relationships, journal, clients=CLIENTS, operations=40))

    acknowledged = [write for write in journal.writes if write.outcome == ACKNOWLEDGED]
    assert len(journal.writes) > 200, "the mix wrote for real"
    assert len(acknowledged) > 150, "most writes were acknowledged"
    assert not journal.faults_seen, f"no fault was injected, yet clients saw {journal.faults_seen[:5]}"
    assert_nothing_lost(cluster, journal)


def test_through_postgres_restarts_and_killed_processes_nothing_is_lost(cluster: Cluster) -> None:
    require_restartable_postgres()
    tokens = cluster.token("manager", "load-desk"), cluster.token("compliance", "load-compliance")
    relationships = open_book(cluster, tokens[0])
    journal = Journal()
    operations = 100
    total = CLIENTS * operations
    faults: list[Fault] = []

    def after(share: float) -> None:
        journal.wait_for(lambda: journal.done >= share * total, 120, f"{share:.0%} of the requests")

    def fault(name: str, inject: Callable[[], None]) -> None:
        started = time.monotonic()
        inject()
        faults.append(Fault(name, started, time.monotonic()))

    def kill_and_restart_a_projection_process() -> None:
        cluster.kill_projection_process(0)
        done = journal.done
        journal.wait_for(lambda: journal.done >= done + 40, 120, "requests while a projection process is dead")
        cluster.restart_projection_process(0)

    def kill_an_api_worker() -> None:
        victim = cluster.kill_api_worker()
        journal.wait_for(
            lambda: victim not in cluster.api_workers() and len(cluster.api_workers()) == cluster.workers,
            60,
            "uvicorn to replace the killed worker",
        )

    def hold_postgres_down_until_clients_notice() -> None:
        version, name = postgres_cluster()
        noticed = len(journal.faults_seen)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop", "--mode", "fast"], check=True
        )
        try:
            journal.wait_for(lambda: len(journal.faults_seen) > noticed, 60, "a client to meet the outage")
        finally:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=True)

    # The clients go on until the last fault is over and a request has succeeded after it: on a fast machine a
    # fixed number of requests could all be answered while `pg_ctlcluster start` is still returning.
    until = threading.Event()
    threads = run_clients(
        cluster.base_url, tokens, relationships, journal, clients=CLIENTS, operations=operations, until=until
    )
    try:
        after(0.10)
        fault("postgres restarted", restart_postgres)
        after(0.25)
        fault("projection process killed", kill_and_restart_a_projection_process)
        after(0.40)
        fault("api worker killed", kill_an_api_worker)
        after(0.55)
        fault("postgres down", hold_postgres_down_until_clients_notice)
        last = faults[-1].ended
        journal.wait_for(lambda: any(sent > last for sent in journal.successes), 120, "a request after the last fault")
    finally:
        until.set()
        join(threads)

    assert [f.name for f in faults] == [
        "postgres restarted",
        "projection process killed",
        "api worker killed",
        "postgres down",
    ]
    assert journal.faults_seen, "clients met the faults: 503s or broken connections"
    for injected in faults:
        assert any(sent > injected.ended for sent in journal.successes), f"requests succeed again after {injected.name}"
    assert cluster.restarts == 1
    assert cluster.workers_died() == 1, "no worker died but the one killed (uvicorn replaces a hung one too)"
    acknowledged = [write for write in journal.writes if write.outcome == ACKNOWLEDGED]
    assert len(acknowledged) > 300, "the mix wrote for real through the faults"
    assert_nothing_lost(cluster, journal)
