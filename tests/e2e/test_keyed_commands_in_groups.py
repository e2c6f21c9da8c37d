"""A keyed command's Idempotency-Key is reserved and completed in the writer's groups where the store has one write
lock (SQLite), beside the commands queued with it; elsewhere in transactions of their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from infrastructure.bootstrap import System
from infrastructure.sql import Cursor
from tests.e2e.conftest import Tokens, contact_body, open_relationship, register_manager


def _threads_of(system: System, monkeypatch: pytest.MonkeyPatch, *names: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        real = getattr(system.idempotency, name)

        def recording(*args: Any, _real: Any = real, _name: str = name) -> Any:
            seen[_name].append(threading.current_thread().name)
            return _real(*args)

        monkeypatch.setattr(system.idempotency, name, recording)
    return seen


def test_the_key_is_written_where_the_store_writes_best(
    client: TestClient, system: System, tokens: Tokens, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    manager = tokens.manager
    relationship = open_relationship(client, manager, register_manager(client, manager))
    seen = _threads_of(system, monkeypatch, "reserve", "complete")
    keyed = {**manager, "Idempotency-Key": "call-1"}
    path = f"/v1/relationships/{relationship['id']}/contacts"

    first = client.post(path, json=contact_body(), headers=keyed)
    again = client.post(path, json=contact_body(), headers=keyed)

    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())  # replayed, not stored twice
    on_writer = database_url.startswith("sqlite")
    assert system.idempotency.on_writer is on_writer
    expected = "ledger-writer" if on_writer else "AnyIO worker thread"
    assert seen == {"reserve": [expected, expected], "complete": [expected]}


def test_a_reservation_whose_transaction_did_not_commit_leaves_the_key_free(
    client: TestClient, system: System, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = tokens.manager
    relationship = open_relationship(client, manager, register_manager(client, manager))
    keyed = {**manager, "Idempotency-Key": "call-2"}
    path = f"/v1/relationships/{relationship['id']}/contacts"
    real_transaction = system.idempotency._transaction
    failures = iter([True])

    @contextmanager
    def losing_the_store_once() -> Iterator[Cursor]:
        with real_transaction() as cursor:  # on SQLite a savepoint of the writer's group
            yield cursor
            if next(failures, False):
                raise OperationalError("the store went away before the reservation was committed")

    monkeypatch.setattr(system.idempotency, "_transaction", losing_the_store_once)

    lost = client.post(path, json=contact_body(), headers=keyed)
    retried = client.post(path, json=contact_body(), headers=keyed)

    assert lost.status_code == 503
    assert retried.status_code == 201  # the reservation was undone with its transaction: not "in progress"
