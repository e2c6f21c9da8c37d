"""The view stores: the SQLite and PostgreSQL tables beside the events, on the library's tracking recorders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg import Connection
from psycopg.sql import SQL, Identifier

from infrastructure.sql import SCHEMA_LOCK, ColumnType, Cursor, ViewStore, schema_lock


class SQLiteViewStore(SQLiteTrackingRecorder, ViewStore):
    """Views in the ledger's SQLite file, beside its events."""

    dialect = "sqlite"
    column_types: dict[ColumnType, str] = {"text": "TEXT", "int": "INTEGER"}
    tracking_table = "tracking"

    def __init__(self, db_name: str) -> None:
        super().__init__(SQLiteDatastore(db_name=db_name, lock_timeout=30))
        self.create_table()

    def sql(self, statement: str) -> str:
        return statement

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front, so a transaction that
        # reads before it writes never fails to upgrade its lock under contention.
        with self.datastore.get_connection(commit=True) as connection:
            raw = connection.cursor()
            # Views can be rebuilt from the log, so they trade fsync-per-commit
            # for speed; WAL keeps each commit (rows with tracking) atomic.
            raw.execute("PRAGMA synchronous = NORMAL")
            raw.execute("BEGIN IMMEDIATE")
            cursor = Cursor(raw, self)
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        for callback in cursor.committed:
            callback()

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=False) as raw:
            yield Cursor(raw, self)

    def lock_schema(self, cursor: Cursor) -> None:
        """Nothing to do: BEGIN IMMEDIATE already serialises writers, DDL included."""

    def guard_append_only(self, cursor: Cursor, table: str) -> None:
        for operation in ("UPDATE", "DELETE"):
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} is refused'); END"
            )

    def lock_tracking(self, cursor: Cursor, name: str) -> int:
        row = cursor.execute("SELECT notification_id FROM tracking WHERE application_name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def record_tracking(self, cursor: Cursor, name: str, position: int) -> None:
        self._insert_tracking(cursor.raw, Tracking(name, position))

    def position(self, name: str) -> int:
        return self.max_tracking_id(name) or 0

    def table_exists(self, cursor: Cursor, physical_name: str) -> bool:
        row = cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (physical_name,))
        return row.fetchone() is not None

    def column_names(self, cursor: Cursor, physical_name: str) -> set[str]:
        return {str(row[1]) for row in cursor.execute(f"PRAGMA table_info({physical_name})").fetchall()}

    def drop_indexes(self, cursor: Cursor, physical_name: str) -> None:
        rows = cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (physical_name,),
        ).fetchall()
        for (index,) in rows:
            cursor.execute(f"DROP INDEX IF EXISTS {index}")

    def close(self) -> None:
        self.datastore.close()


class ViewDatastore(PostgresDatastore):
    """The library's PostgreSQL datastore, with each connection's search path set to the ledger's schema."""

    def after_connect_func(self) -> Callable[[Connection[Any]], None]:
        configure = super().after_connect_func()
        search_path = SQL("SET search_path TO {}").format(Identifier(self.schema))

        def after_connect(conn: Connection[Any]) -> None:
            configure(conn)
            conn.cursor().execute(search_path)

        return after_connect


class PostgresViewStore(PostgresTrackingRecorder, ViewStore):
    """Views in the ledger's PostgreSQL schema, beside its events."""

    dialect = "postgres"
    column_types: dict[ColumnType, str] = {"text": "TEXT", "int": "BIGINT"}

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, tracking_table_name="projection_tracking")
        self.tracking_table = "projection_tracking"
        self.create_table()

    def create_table(self) -> None:
        with schema_lock(self.datastore):
            super().create_table()

    def sql(self, statement: str) -> str:
        # Views are written with `?` placeholders; bare table names resolve
        # through the search path, which every connection sets to the schema.
        return statement.replace("%", "%%").replace("?", "%s")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=True) as raw:
            cursor = Cursor(raw, self)
            yield cursor
        for callback in cursor.committed:
            callback()

    def lock_schema(self, cursor: Cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))

    def guard_append_only(self, cursor: Cursor, table: str) -> None:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
            f"RAISE EXCEPTION USING MESSAGE = '{table} is append-only: ' || TG_OP || ' is refused', "
            "ERRCODE = 'insufficient_privilege'; END $body$"
        )
        cursor.execute(
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()"
        )

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self.datastore.get_connection() as connection, connection.transaction(), connection.cursor() as raw:
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Cursor(raw, self)

    def lock_tracking(self, cursor: Cursor, name: str) -> int:
        row = cursor.execute(
            "SELECT notification_id FROM projection_tracking WHERE application_name = ? FOR UPDATE", (name,)
        ).fetchone()
        return int(row[0]) if row else 0

    def record_tracking(self, cursor: Cursor, name: str, position: int) -> None:
        cursor.raw.execute(self.insert_tracking_statement, {"application_name": name, "notification_id": position})
        if cursor.raw.fetchone() is None:
            msg = f"Tracking for {name} is already at or past {position}"
            raise IntegrityError(msg)

    def position(self, name: str) -> int:
        return self.max_tracking_id(name) or 0

    def table_exists(self, cursor: Cursor, physical_name: str) -> bool:
        row = cursor.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (self.datastore.schema, physical_name),
        )
        return row.fetchone() is not None

    def column_names(self, cursor: Cursor, physical_name: str) -> set[str]:
        rows = cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            (self.datastore.schema, physical_name),
        ).fetchall()
        return {str(row[0]) for row in rows}

    def drop_indexes(self, cursor: Cursor, physical_name: str) -> None:
        rows = cursor.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = ? AND t.relname = ? AND NOT x.indisprimary",
            (self.datastore.schema, physical_name),
        ).fetchall()
        for (index,) in rows:
            cursor.raw.execute(
                SQL("DROP INDEX IF EXISTS {}.{}").format(Identifier(self.datastore.schema), Identifier(index))
            )

    def close(self) -> None:
        self.datastore.close()
