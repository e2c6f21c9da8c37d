"""Token checks across processes: what one process revokes or deactivates, another (its cache warm) refuses within a
second, at no more than a couple of reads a second; and an `api_tokens` table from before names were unique."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.persistence import IntegrityError

from domain.commands import DeactivateAccountManager, RegisterAccountManager
from domain.errors import NotFound, RuleViolation
from domain.values import Audit, Principal, Role
from infrastructure.bootstrap import System, build_system, build_view_store
from infrastructure.settings import Settings
from infrastructure.sql import Cursor, ViewStore
from infrastructure.tokens import FRESH_FOR, TOKENS, TokenRefused, TokenStore, token_hash

MANAGER = Audit(principal=Principal(id="boss", role=Role.MANAGER), correlation_id="c-1")


@pytest.fixture
def two_workers(database_url: str) -> Iterator[tuple[System, System]]:
    """Two systems on one store, each with its own connections and token cache, as two API workers have."""
    settings = Settings(database_url=database_url)
    first = build_system(settings, run_projections=False)
    second = build_system(settings, run_projections=False)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def refused_after(store: TokenStore, token: str, *, within: float) -> tuple[float, TokenRefused]:
    """Authenticates until the token is refused; how long that took, and why. Fails after `within` seconds."""
    started = time.monotonic()
    while True:
        try:
            store.authenticate(token)
        except TokenRefused as refused:
            return time.monotonic() - started, refused
        if time.monotonic() - started > within:
            pytest.fail(f"still accepted after {within} s")
        time.sleep(0.005)


@contextmanager
def counting_reads(view: ViewStore) -> Iterator[list[int]]:
    """Counts the read transactions a view store opens meanwhile."""
    count = [0]
    original = view.reading

    @contextmanager
    def reading() -> Iterator[Cursor]:
        count[0] += 1
        with original() as cursor:
            yield cursor

    view.reading = reading  # type: ignore[method-assign]
    try:
        yield count
    finally:
        view.reading = original  # type: ignore[method-assign]


def test_a_revocation_by_another_process_is_refused_within_a_second_and_the_cache_spares_the_store(
    two_workers: tuple[System, System],
) -> None:
    serving, operator = two_workers
    name = f"leaver-{uuid.uuid4().hex[:8]}"
    token = operator.tokens.issue(role=Role.MANAGER, name=name).token
    serving.tokens.authenticate(token)

    # A busy token is read from the store at most about twice a second.
    with counting_reads(serving.view) as reads:
        started = time.monotonic()
        requests = 0
        while time.monotonic() - started < 1.0:
            serving.tokens.authenticate(token)
            requests += 1
    assert requests > 100
    assert reads[0] <= 1.0 / FRESH_FOR + 1

    operator.tokens.revoke(name, by="admin-1")
    elapsed, refused = refused_after(serving.tokens, token, within=1.0)

    assert elapsed <= FRESH_FOR + 0.2
    assert refused.reason == "revoked"


def test_a_deactivation_by_another_process_stops_the_account_managers_token_within_a_second(
    two_workers: tuple[System, System],
) -> None:
    serving, operator = two_workers
    manager_id = operator.ledger.register_account_manager(
        MANAGER, RegisterAccountManager(name="Dee Part", email="dee@example.com")
    ).id
    token = operator.tokens.issue(
        role=Role.ACCOUNT_MANAGER, name=f"dee-{uuid.uuid4().hex[:8]}", account_manager_id=manager_id
    ).token
    assert serving.tokens.authenticate(token).account_manager_id == manager_id

    operator.ledger.deactivate_account_manager(MANAGER, manager_id, DeactivateAccountManager(reason="Left the firm"))
    elapsed, refused = refused_after(serving.tokens, token, within=1.0)

    assert elapsed <= FRESH_FOR + 0.2
    assert refused.reason == "deactivated"
    with pytest.raises(RuleViolation, match="deactivated"):
        operator.tokens.issue(
            role=Role.ACCOUNT_MANAGER, name=f"dee-{uuid.uuid4().hex[:8]}", account_manager_id=manager_id
        )
    with pytest.raises(NotFound):
        operator.tokens.issue(
            role=Role.ACCOUNT_MANAGER, name=f"x-{uuid.uuid4().hex[:8]}", account_manager_id=uuid.uuid4()
        )


def test_names_are_unique_in_a_new_database_down_to_the_index(database_url: str) -> None:
    view = build_view_store(Settings(database_url=database_url))
    try:
        store = TokenStore(view)
        store.issue(role=Role.AUDITOR, name="only-once")

        with pytest.raises(RuleViolation):
            store.issue(role=Role.MANAGER, name="only-once")
        # Even past the code, the index refuses.
        with pytest.raises((IntegrityError, sqlite3.IntegrityError)), view.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_tokens (token_hash, name, role) VALUES (?, ?, ?)", ("h", "only-once", "admin")
            )
    finally:
        view.close()


OLD_TABLE = (
    "CREATE TABLE api_tokens (token_hash TEXT, name TEXT, role TEXT, account_manager_id TEXT, created_at TEXT, "
    "PRIMARY KEY (token_hash))"
)


def test_an_old_tokens_table_with_duplicate_names_is_upgraded_in_place_and_keeps_working(database_url: str) -> None:
    view = build_view_store(Settings(database_url=database_url))
    old_rows = (
        ("ldg_old_one", "ann.lee", "2025-01-01T00:00:00+00:00"),
        ("ldg_old_two", "ann.lee", "2025-02-01T00:00:00+00:00"),
        ("ldg_old_three", "Bob Stone (ops)", "2025-03-01T00:00:00+00:00"),
    )
    try:
        with view.transaction() as cursor:
            cursor.execute(OLD_TABLE)
            for token, name, created in old_rows:
                cursor.execute(
                    "INSERT INTO api_tokens VALUES (?, ?, ?, NULL, ?)", (token_hash(token), name, "manager", created)
                )

        store = TokenStore(view)  # starts despite the duplicates
        TokenStore(view)  # and again, with nothing left to add

        with view.reading() as cursor:
            assert {"expires_at", "revoked_at", "revoked_by", "created_at"} <= view.column_names(cursor, TOKENS.name)
        assert store.authenticate("ldg_old_three").id == "Bob Stone (ops)"  # an old name stays valid for reading
        with pytest.raises(RuleViolation):
            store.issue(role=Role.MANAGER, name="ann.lee")  # no index, but the code still refuses a used name
        assert [record.name for record in store.records()] == ["ann.lee", "ann.lee", "Bob Stone (ops)"]
        store.revoke("ann.lee", by="admin-1")  # the name is the actor: every token under it goes
        store.revoke("Bob Stone (ops)", by="admin-1")
        for token, _, _ in old_rows:
            with pytest.raises(TokenRefused, match="revoked"):
                store.authenticate(token)
        assert {record.status() for record in store.records()} == {"revoked"}
    finally:
        view.close()
