"""Group commit: the commands a writer has queued, stored in one transaction of the event store.

Each command still runs as it would alone, through the `eventsourcing` library's
recorders: it reads what it checks and inserts its events (with their hashes and
its Idempotency-Key mark). While a group is open on the writer's thread, every
transaction the library opens there becomes a savepoint of the group's
transaction, and every read runs in it, so:

- a command whose rule fails, or whose insert conflicts, is undone alone (its
  savepoint is rolled back) and never fails its neighbours;
- a later command reads what the earlier ones stored, though not yet committed;
- the group pays for one COMMIT (on SQLite, one fsync) instead of one per command.

Other threads (the API's reads, the projections) are untouched: they use the
datastore's own connections and see the group once it commits. On SQLite the
group holds the write lock from its start (BEGIN IMMEDIATE), as a single insert
did, so what it read cannot change under it.

The hooks replace the datastore's `transaction` (and, on PostgreSQL,
`get_connection`) on the one datastore instance, written against `eventsourcing`
9.5.6: re-check them at each upgrade of the library.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteConnection, SQLiteCursor, SQLiteDatastore

from infrastructure.sql import Cursor, ViewStore

_LIBRARY_ERRORS: tuple[tuple[tuple[type[BaseException], ...], type[persistence.PersistenceError]], ...] = (
    ((sqlite3.InterfaceError, psycopg.InterfaceError), persistence.InterfaceError),
    ((sqlite3.DataError, psycopg.DataError), persistence.DataError),
    ((sqlite3.OperationalError, psycopg.OperationalError), persistence.OperationalError),
    ((sqlite3.IntegrityError, psycopg.IntegrityError), persistence.IntegrityError),
    ((sqlite3.InternalError, psycopg.InternalError), persistence.InternalError),
    ((sqlite3.ProgrammingError, psycopg.ProgrammingError), persistence.ProgrammingError),
    ((sqlite3.NotSupportedError, psycopg.NotSupportedError), persistence.NotSupportedError),
    ((sqlite3.DatabaseError, psycopg.DatabaseError), persistence.DatabaseError),
    ((sqlite3.Error, psycopg.Error), persistence.PersistenceError),
)
"""The driver's errors as the library raises them (its datastores' mapping), so that the recorders and the
ledger meet the same errors inside a group as outside one."""


def library_error(error: BaseException) -> BaseException:
    """The library's error for a driver's error (raise it `from` the driver's); any other error as it is."""
    for drivers, library in _LIBRARY_ERRORS:
        if isinstance(error, drivers):
            return library(str(error))
    return error


class GroupCommit:
    """Opens groups on one datastore; `group()` is entered by the writer's thread only."""

    acknowledgement_can_be_lost = False
    """Whether a COMMIT that failed may have landed all the same (the connection dropped as it was acknowledged)."""
    one_write_lock = False
    """Whether every writer of the database takes turns for one lock (SQLite): the views are then applied by the
    writer itself, between its groups, rather than by a second thread queueing for the lock."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._savepoints = itertools.count(1)

    def group(self) -> AbstractContextManager[None]:
        """One transaction for what the calling thread stores until the block ends: committed if the block ends
        normally, rolled back if it raises."""
        raise NotImplementedError

    @property
    def _connection(self) -> Any:
        return getattr(self._local, "connection", None)

    def _savepoint(self) -> str:
        return f"command_{next(self._savepoints)}"


class SQLiteGroupCommit(GroupCommit):
    one_write_lock = True

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__()
        self.datastore = datastore
        self._plain_transaction = datastore.transaction
        datastore.transaction = self._transaction  # type: ignore[method-assign]

    def tables_beside_events(self, view: ViewStore) -> Callable[[], AbstractContextManager[Cursor]]:
        """Transactions for tables in the events' file (the API's, say) in the view store's SQL: on the writer's
        thread, a savepoint of its group, so they commit with it; elsewhere, a transaction of their own."""

        @contextmanager
        def transaction() -> Iterator[Cursor]:
            with self.datastore.transaction(commit=True) as raw:
                yield Cursor(raw, view)

        return transaction

    @contextmanager
    def group(self) -> Iterator[None]:
        with self.datastore.get_connection(commit=True) as connection:
            _execute(connection, "BEGIN IMMEDIATE")
            self._local.connection = connection
            try:
                yield
            except BaseException:
                self._local.connection = None
                _finish(connection.rollback)
                raise
            self._local.connection = None
            try:
                _finish(connection.commit)
            except BaseException:
                with contextlib.suppress(Exception):  # never hand the pool a connection inside a transaction
                    connection.rollback()
                raise

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        connection: SQLiteConnection | None = self._connection
        if connection is None:
            with self._plain_transaction(commit=commit) as cursor:
                yield cursor
            return
        cursor = connection.cursor()
        if not commit:  # a read, inside the group's transaction: it sees what the group has stored so far
            try:
                with cursor:
                    yield cursor
            except sqlite3.Error as error:
                raise library_error(error) from error
            return
        savepoint = self._savepoint()
        cursor.execute(f"SAVEPOINT {savepoint}")
        try:
            with cursor:
                yield cursor
        except BaseException as error:
            _execute(connection, f"ROLLBACK TO SAVEPOINT {savepoint}")
            _execute(connection, f"RELEASE SAVEPOINT {savepoint}")
            converted = library_error(error)
            if converted is error:
                raise
            raise converted from error
        _execute(connection, f"RELEASE SAVEPOINT {savepoint}")


class PostgresGroupCommit(GroupCommit):
    acknowledgement_can_be_lost = True

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__()
        self.datastore = datastore
        self._plain_get_connection = datastore.get_connection
        self._plain_transaction = datastore.transaction
        datastore.get_connection = self._get_connection  # type: ignore[method-assign]
        datastore.transaction = self._transaction  # type: ignore[method-assign,assignment]

    @contextmanager
    def group(self) -> Iterator[None]:
        with self._plain_get_connection() as connection:
            try:
                with connection.transaction() as transaction:
                    self._local.connection = connection
                    try:
                        yield
                    finally:
                        self._local.connection = None
            except psycopg.Error as error:
                raise library_error(error) from error
            # psycopg leaves a transaction block on a lost connection without a word (psycopg/transaction.py,
            # `Transaction.__exit__`): the COMMIT was never sent, and the server rolled the group back.
            if transaction.status is not transaction.Status.COMMITTED:
                msg = (
                    f"The connection was lost before the group's COMMIT (its transaction is {transaction.status.name})"
                )
                raise persistence.OperationalError(msg)

    @contextmanager
    def _get_connection(self) -> Iterator[psycopg.Connection[Any]]:
        connection = self._connection
        if connection is None:
            with self._plain_get_connection() as plain:
                yield plain
            return
        try:
            yield connection  # its own `transaction()` blocks nest as savepoints
        except psycopg.Error as error:
            raise library_error(error) from error

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[psycopg.Cursor[Any]]:
        connection = self._connection
        if connection is None:
            with self._plain_transaction(commit=commit) as cursor:
                yield cursor
            return
        try:
            with connection.transaction(force_rollback=not commit):  # a savepoint of the group's transaction
                yield connection.cursor()
        except psycopg.Error as error:
            raise library_error(error) from error


def group_commit_for(datastore: object) -> GroupCommit:
    """Group commit on the event store's datastore (SQLite or PostgreSQL)."""
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteGroupCommit(datastore)
    if isinstance(datastore, PostgresDatastore):
        return PostgresGroupCommit(datastore)
    msg = f"No group commit for {type(datastore).__name__}"
    raise TypeError(msg)


def _execute(connection: SQLiteConnection, statement: str) -> None:
    with connection.cursor() as cursor:
        try:
            cursor.execute(statement)
        except sqlite3.Error as error:
            raise library_error(error) from error


def _finish(end: Any) -> None:
    try:
        end()
    except sqlite3.Error as error:
        raise library_error(error) from error
