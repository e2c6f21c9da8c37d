"""The database itself refuses to change or remove a stored event, whatever client asks."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from domain.application import Ledger
from domain.commands import RegisterAccountManager, SetQuota
from domain.values import Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from infrastructure.storage import library_env
from tests.conftest import audit_as


class RawStore:
    """A plain driver connection to the ledger's events table, bypassing the library entirely."""

    def __init__(self, database_url: str, ledger: Ledger) -> None:
        self.env = library_env(database_url)
        self.is_sqlite = self.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
        table_name = ledger.recorder.events_table_name  # type: ignore[attr-defined]
        if self.is_sqlite:
            self.table = table_name
            self.sqlite = sqlite3.connect(self.env["SQLITE_DBNAME"], isolation_level=None)
        else:
            schema = self.env["POSTGRES_SCHEMA"]
            self.table = sql.Identifier(schema, table_name).as_string()
            self.postgres = psycopg.connect(
                dbname=self.env["POSTGRES_DBNAME"],
                host=self.env["POSTGRES_HOST"],
                port=self.env["POSTGRES_PORT"],
                user=self.env["POSTGRES_USER"],
                password=self.env["POSTGRES_PASSWORD"],
                autocommit=True,
            )

    @property
    def refusal(self) -> type[Exception]:
        """The driver error a refused statement raises (the triggers' RAISE)."""
        return sqlite3.IntegrityError if self.is_sqlite else psycopg.errors.InsufficientPrivilege

    def id_param(self, originator_id: UUID) -> Any:
        # SQLite stores the originator id as hex text, PostgreSQL as a native uuid.
        return originator_id.hex if self.is_sqlite else originator_id

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.is_sqlite:
            return self.sqlite.execute(statement.replace("%s", "?"), params).fetchall()
        with self.postgres.cursor() as cursor:
            cursor.execute(statement.encode(), params)
            return cursor.fetchall() if cursor.description else []

    def all_rows(self) -> list[tuple[Any, ...]]:
        return self.execute(f"SELECT * FROM {self.table} ORDER BY originator_id, originator_version")

    def close(self) -> None:
        if self.is_sqlite:
            self.sqlite.close()
        else:
            self.postgres.close()


@contextmanager
def raw_store(database_url: str, ledger: Ledger) -> Iterator[RawStore]:
    store = RawStore(database_url, ledger)
    try:
        yield store
    finally:
        store.close()


def register_someone(ledger: Ledger) -> UUID:
    result = ledger.register_account_manager(
        audit_as(Role.MANAGER), RegisterAccountManager(name="Ann Lee", email="ann.lee@example.com")
    )
    return result.id


def test_a_raw_update_of_a_stored_event_is_refused_and_the_row_is_unchanged(database_url: str, ledger: Ledger) -> None:
    manager_id = register_someone(ledger)
    with raw_store(database_url, ledger) as store:
        before = store.all_rows()
        assert manager_id in {UUID(str(row[0])) for row in before}

        with pytest.raises(store.refusal, match="append-only: UPDATE is refused"):
            store.execute(
                f"UPDATE {store.table} SET topic = %s WHERE originator_id = %s",
                ("tampered", store.id_param(manager_id)),
            )

        assert store.all_rows() == before
    assert ledger.account_manager(manager_id).name == "Ann Lee"


def test_a_raw_delete_of_a_stored_event_is_refused_and_the_row_is_still_there(
    database_url: str, ledger: Ledger
) -> None:
    manager_id = register_someone(ledger)
    with raw_store(database_url, ledger) as store:
        before = store.all_rows()

        with pytest.raises(store.refusal, match="append-only: DELETE is refused"):
            store.execute(f"DELETE FROM {store.table} WHERE originator_id = %s", (store.id_param(manager_id),))
        # An unqualified DELETE of the whole table is refused just the same.
        with pytest.raises(store.refusal, match="append-only: DELETE is refused"):
            store.execute(f"DELETE FROM {store.table}")

        assert store.all_rows() == before

    # Refusing changes does not get in the way of appending.
    result = ledger.set_quota(audit_as(Role.MANAGER), manager_id, 2026, SetQuota(amount="500000.00"))
    assert result.version == 2
    assert [event.originator_version for event in ledger.history(manager_id)] == [1, 2]


@pytest.mark.postgres
def test_truncating_the_events_table_is_refused_on_postgres(postgres_url: str) -> None:
    ledger = build_ledger(Settings(database_url=postgres_url))
    try:
        manager_id = register_someone(ledger)
        with raw_store(postgres_url, ledger) as store:
            before = store.all_rows()

            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: TRUNCATE is refused"):
                store.execute(f"TRUNCATE {store.table}")

            assert store.all_rows() == before
        assert ledger.account_manager(manager_id).name == "Ann Lee"
    finally:
        ledger.close()


def test_the_store_stays_append_only_when_the_ledger_is_started_again_on_it(database_url: str, ledger: Ledger) -> None:
    manager_id = register_someone(ledger)
    # A second start runs the table and trigger creation again; it must neither fail nor drop the guard.
    restarted = build_ledger(Settings(database_url=database_url))
    try:
        assert restarted.account_manager(manager_id).name == "Ann Lee"
        with raw_store(database_url, restarted) as store:
            before = store.all_rows()
            with pytest.raises(store.refusal, match="append-only: UPDATE is refused"):
                store.execute(f"UPDATE {store.table} SET originator_version = originator_version + 1")
            with pytest.raises(store.refusal, match="append-only: DELETE is refused"):
                store.execute(f"DELETE FROM {store.table}")
            assert store.all_rows() == before
    finally:
        restarted.close()


def start_ledgers_at_once(database_url: str, count: int) -> list[BaseException | None]:
    """Starts `count` ledgers on one store at the same moment, as several workers of one deployment do."""
    start = threading.Barrier(count)

    def start_one() -> None:
        start.wait(timeout=30)
        build_ledger(Settings(database_url=database_url)).close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start_one) for _ in range(count)]
        return [future.exception(timeout=60) for future in futures]


def assert_still_append_only(database_url: str) -> None:
    ledger = build_ledger(Settings(database_url=database_url))
    try:
        with raw_store(database_url, ledger) as store, pytest.raises(store.refusal, match="append-only"):
            store.execute(f"DELETE FROM {store.table}")
    finally:
        ledger.close()


def test_several_ledgers_starting_at_once_on_an_existing_sqlite_store_all_start(sqlite_url: str) -> None:
    build_ledger(Settings(database_url=sqlite_url)).close()
    for _ in range(3):
        assert start_ledgers_at_once(sqlite_url, 4) == [None] * 4
    assert_still_append_only(sqlite_url)


@pytest.mark.postgres
def test_several_ledgers_starting_at_once_on_an_existing_postgres_store_all_start(postgres_url: str) -> None:
    build_ledger(Settings(database_url=postgres_url)).close()
    for _ in range(3):
        for error in start_ledgers_at_once(postgres_url, 4):
            if error is not None:
                raise error
    assert_still_append_only(postgres_url)
