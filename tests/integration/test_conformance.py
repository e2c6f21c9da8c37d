"""The eventsourcing library's own conformance cases, run against the ledger's append-only recorders and settings.

The library's abstract cases are reached through their modules (never imported by
name) so that pytest collects only the concrete subclasses below.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)
from eventsourcing.tests import application as library_application_cases
from eventsourcing.tests import persistence as library_persistence_cases
from eventsourcing.utils import Environment, get_topic

from domain.application import Ledger
from domain.mapper import PydanticMapper
from infrastructure.storage import (
    AppendOnlyPostgresRecorder,
    AppendOnlySQLiteRecorder,
    LedgerPostgresFactory,
    library_env,
)
from tests.conftest import POSTGRES_ADMIN_URL, require_postgres

# The same server and database as every other PostgreSQL test (LEDGER_TEST_POSTGRES_URL).
_ADMIN = urlsplit(POSTGRES_ADMIN_URL)
POSTGRES_DBNAME = unquote(_ADMIN.path.lstrip("/"))
POSTGRES_HOST = _ADMIN.hostname or "127.0.0.1"
POSTGRES_PORT = str(_ADMIN.port or 5432)
POSTGRES_USER = unquote(_ADMIN.username or "postgres")
POSTGRES_PASSWORD = unquote(_ADMIN.password or "")


def ledger_env(database_url: str) -> dict[str, str]:
    """The settings the ledger runs with: its class env (the pydantic mapper) and the store's."""
    return {**Ledger.env, **library_env(database_url)}


class ClosesDatastoreAfterItsThreads:
    """Mixin: closes the test's datastore only once the threads the test started have finished.

    The library's concurrency cases stop their reader threads without joining them;
    closing a SQLite connection under a running reader crashes the interpreter.
    """

    def close_after_threads(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        threads_before = set(threading.enumerate())

        def close() -> None:
            # The readers are ordinary threads; the connection pool's own workers are daemons it stops itself.
            for thread in set(threading.enumerate()) - threads_before:
                if thread.daemon:
                    continue
                thread.join(timeout=30)
                assert not thread.is_alive(), f"{thread.name} is still running after its test"
            datastore.close()

        self.addCleanup(close)  # type: ignore[attr-defined]


class TemporarySQLiteFile:
    """Mixin: a fresh SQLite file for each test, removed afterwards."""

    def make_sqlite_path(self) -> str:
        directory = tempfile.TemporaryDirectory(prefix="ledger-conformance-")
        self.addCleanup(directory.cleanup)  # type: ignore[attr-defined]
        return str(Path(directory.name) / "events.sqlite3")


class FreshPostgresSchema:
    """Mixin: a fresh PostgreSQL schema for each test, dropped with everything in it afterwards."""

    def make_postgres_schema(self) -> str:
        require_postgres()  # skips locally when the server is down, fails under CI=true
        schema = f"conformance_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.addCleanup(self._drop_schema, schema)  # type: ignore[attr-defined]
        return schema

    @staticmethod
    def _drop_schema(schema: str) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    @staticmethod
    def postgres_url(schema: str) -> str:
        return f"{POSTGRES_ADMIN_URL}?schema={schema}"


def assert_append_only(
    recorder: ApplicationRecorder, datastore: SQLiteDatastore | PostgresDatastore, table: str
) -> None:
    """The recorder that the library's cases exercise is the guarded one: what it stored cannot be changed."""
    stored = StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="topic1", state=b"state1")
    recorder.insert_events([stored])
    for statement in (f"UPDATE {table} SET state = state", f"DELETE FROM {table}"):
        with pytest.raises(PersistenceError, match="append-only"), datastore.transaction(commit=True) as cursor:
            cursor.execute(statement)
    (selected,) = recorder.select_events(stored.originator_id)
    assert (selected.topic, selected.state) == ("topic1", b"state1")


# -- application recorders -----------------------------------------------------------


class TestAppendOnlySQLiteRecorderConformance(
    ClosesDatastoreAfterItsThreads,
    TemporarySQLiteFile,
    library_persistence_cases.ApplicationRecorderTestCase[AppendOnlySQLiteRecorder],
):
    def setUp(self) -> None:
        super().setUp()
        self.datastore = SQLiteDatastore(db_name=self.make_sqlite_path())
        self.close_after_threads(self.datastore)

    def create_recorder(self) -> AppendOnlySQLiteRecorder:
        recorder = AppendOnlySQLiteRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def test_the_recorder_under_these_cases_refuses_to_change_what_it_stored(self) -> None:
        assert_append_only(self.create_recorder(), self.datastore, "stored_events")


@pytest.mark.postgres
class TestAppendOnlyPostgresRecorderConformance(
    ClosesDatastoreAfterItsThreads,
    FreshPostgresSchema,
    library_persistence_cases.ApplicationRecorderTestCase[AppendOnlyPostgresRecorder],
):
    def setUp(self) -> None:
        super().setUp()
        schema = self.make_postgres_schema()
        # Room for the library's concurrency cases: ten writers and two readers at once.
        self.datastore = PostgresDatastore(
            POSTGRES_DBNAME,
            POSTGRES_HOST,
            POSTGRES_PORT,
            POSTGRES_USER,
            POSTGRES_PASSWORD,
            pool_size=2,
            max_overflow=10,
            schema=schema,
        )
        self.close_after_threads(self.datastore)

    def create_recorder(self) -> AppendOnlyPostgresRecorder:
        recorder = AppendOnlyPostgresRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder

    def test_the_recorder_under_these_cases_refuses_to_change_what_it_stored(self) -> None:
        table = f'"{self.datastore.schema}"."ledger_events"'
        assert_append_only(self.create_recorder(), self.datastore, table)


class TestAppendOnlySQLiteRecorderNotificationIDsDoNotInterleave(
    ClosesDatastoreAfterItsThreads,
    TemporarySQLiteFile,
    library_persistence_cases.NonInterleavingNotificationIDsBaseCase,
):
    def setUp(self) -> None:
        super().setUp()
        self.datastore = SQLiteDatastore(db_name=self.make_sqlite_path())
        self.close_after_threads(self.datastore)

    def create_recorder(self) -> ApplicationRecorder:
        recorder = AppendOnlySQLiteRecorder(self.datastore)
        recorder.create_table()
        return recorder


@pytest.mark.postgres
class TestAppendOnlyPostgresRecorderNotificationIDsDoNotInterleave(
    ClosesDatastoreAfterItsThreads,
    FreshPostgresSchema,
    library_persistence_cases.NonInterleavingNotificationIDsBaseCase,
):
    def setUp(self) -> None:
        super().setUp()
        schema = self.make_postgres_schema()
        self.datastore = PostgresDatastore(
            POSTGRES_DBNAME, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, pool_size=2, schema=schema
        )
        self.close_after_threads(self.datastore)

    def create_recorder(self) -> ApplicationRecorder:
        recorder = AppendOnlyPostgresRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder


# -- infrastructure factories configured as the ledger configures them ---------------------


class LedgerFactoryChecks:
    """What the ledger's settings add to the library's factory cases: our mapper and our recorder."""

    factory: Any
    env: Environment
    expected_recorder: ClassVar[type[ApplicationRecorder]]

    def test_the_ledger_settings_choose_the_pydantic_mapper_and_the_append_only_recorder(self) -> None:
        assert isinstance(self.factory.mapper(), PydanticMapper)
        assert type(self.factory.application_recorder()) is self.expected_recorder


class TestSQLiteFactoryWithLedgerSettings(
    TemporarySQLiteFile, LedgerFactoryChecks, library_persistence_cases.InfrastructureFactoryTestCase[SQLiteFactory]
):
    expected_recorder = AppendOnlySQLiteRecorder

    class TrackingRecorderSubclass(SQLiteTrackingRecorder):
        pass

    def setUp(self) -> None:
        self.env = Environment("TestCase", ledger_env(f"sqlite:///{self.make_sqlite_path()}"))
        super().setUp()

    def expected_factory_class(self) -> type[SQLiteFactory]:
        return SQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder  # snapshots: the library's own table, not part of the record

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return AppendOnlySQLiteRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLiteProcessRecorder


@pytest.mark.postgres
class TestPostgresFactoryWithLedgerSettings(
    FreshPostgresSchema, LedgerFactoryChecks, library_persistence_cases.InfrastructureFactoryTestCase[PostgresFactory]
):
    expected_recorder = AppendOnlyPostgresRecorder

    class TrackingRecorderSubclass(PostgresTrackingRecorder):
        pass

    def setUp(self) -> None:
        self.env = Environment("TestCase", ledger_env(self.postgres_url(self.make_postgres_schema())))
        super().setUp()

    def expected_factory_class(self) -> type[PostgresFactory]:
        return LedgerPostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return AppendOnlyPostgresRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return PostgresProcessRecorder


# -- applications on the ledger's settings (the library's cases read os.environ) ----------------


class LedgerEnvironment:
    """Mixin: os.environ holds the ledger's settings for the duration of each test."""

    def use_ledger_env(self, database_url: str) -> None:
        patcher = mock.patch.dict(os.environ, {**ledger_env(database_url), "CREATE_TABLE": "y"})
        patcher.start()
        self.addCleanup(patcher.stop)  # type: ignore[attr-defined]


class TestApplicationOnSQLiteWithLedgerSettings(
    TemporarySQLiteFile, LedgerEnvironment, library_application_cases.ApplicationTestCase
):
    def setUp(self) -> None:
        super().setUp()
        self.use_ledger_env(f"sqlite:///{self.make_sqlite_path()}")


class TestExampleApplicationOnSQLiteWithLedgerSettings(
    TemporarySQLiteFile, LedgerEnvironment, library_application_cases.ExampleApplicationTestCase
):
    expected_factory_topic = "eventsourcing.sqlite:SQLiteFactory"

    def setUp(self) -> None:
        super().setUp()
        self.use_ledger_env(f"sqlite:///{self.make_sqlite_path()}")


@pytest.mark.postgres
class TestApplicationOnPostgresWithLedgerSettings(
    FreshPostgresSchema, LedgerEnvironment, library_application_cases.ApplicationTestCase
):
    def setUp(self) -> None:
        super().setUp()
        self.use_ledger_env(self.postgres_url(self.make_postgres_schema()))


@pytest.mark.postgres
class TestExampleApplicationOnPostgresWithLedgerSettings(
    FreshPostgresSchema, LedgerEnvironment, library_application_cases.ExampleApplicationTestCase
):
    expected_factory_topic = get_topic(LedgerPostgresFactory)

    def setUp(self) -> None:
        super().setUp()
        self.use_ledger_env(self.postgres_url(self.make_postgres_schema()))
