"""Where views live: the SQLite and PostgreSQL view stores, on the library's tracking recorders.

A view store is the library's tracking recorder for its database plus the
view tables of every projection. Rows and the projection's tracking position
are written in one transaction; the tracking upsert only ever moves a position
forward, so a batch that another process has already applied is refused and
rolled back rather than applied twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg import Connection
from psycopg.sql import SQL, Identifier

ColumnType = Literal["text", "int"]
NEXT = "__next"
"""The suffix of the tables (and tracking name) a from-scratch rebuild fills beside the live ones."""


@dataclass(frozen=True)
class Table:
    """A view table: its columns (name and type), primary key and secondary indexes."""

    name: str
    columns: tuple[tuple[str, ColumnType], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(name for name, _ in self.columns))

    def select_statement(self, suffix: str = "") -> str:
        where = " AND ".join(f"{column} = ?" for column in self.key)
        return f"SELECT {', '.join(self.column_names)} FROM {self.name}{suffix} WHERE {where}"

    def upsert_statement(self, suffix: str = "") -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.column_names if c not in self.key)
        return (
            f"INSERT INTO {self.name}{suffix} ({', '.join(self.column_names)}) "
            f"VALUES ({', '.join('?' * len(self.column_names))}) "
            f"ON CONFLICT ({', '.join(self.key)}) " + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")
        )

    def insert_statement(self, suffix: str = "") -> str:
        return (
            f"INSERT INTO {self.name}{suffix} ({', '.join(self.column_names)}) "
            f"VALUES ({', '.join('?' * len(self.column_names))})"
        )

    def delete_statement(self, suffix: str = "") -> str:
        return f"DELETE FROM {self.name}{suffix} WHERE {' AND '.join(f'{column} = ?' for column in self.key)}"


class Cursor:
    """A cursor inside a view-store transaction, taking `?` placeholders on either database."""

    def __init__(self, raw: Any, store: ViewStore) -> None:
        self.raw = raw
        self.store = store
        self.committed: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Calls `callback` once this cursor's transaction has committed."""
        self.committed.append(callback)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self.store.sql(statement), params)
        return self

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self.raw.executemany(self.store.sql(statement), params)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) if not isinstance(row, dict) else tuple(row.values()) for row in self.raw.fetchall()]

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        if row is None:
            return None
        return tuple(row.values()) if isinstance(row, dict) else tuple(row)


class ViewStore(TrackingRecorder, ABC):
    """The view tables and tracking positions of one database."""

    dialect: str

    @abstractmethod
    def sql(self, statement: str) -> str:
        """The statement in this database's parameter style, with table names qualified."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A write transaction; committed on success, rolled back on any error."""

    @abstractmethod
    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A read-only transaction: one consistent snapshot of every view."""

    @abstractmethod
    def lock_schema(self, cursor: Cursor) -> None:
        """Within a transaction: waits until no other process is creating or swapping tables."""

    @abstractmethod
    def lock_tracking(self, cursor: Cursor, name: str) -> int:
        """Locks the tracking row of `name` for this transaction and returns its position (0 if none)."""

    @abstractmethod
    def record_tracking(self, cursor: Cursor, name: str, position: int) -> None:
        """Moves the tracking position of `name` forward to `position` (IntegrityError if it is not ahead)."""

    @abstractmethod
    def position(self, name: str) -> int:
        """The last position `name` has processed (0 if none)."""

    @abstractmethod
    def table_exists(self, cursor: Cursor, physical_name: str) -> bool: ...

    @abstractmethod
    def column_names(self, cursor: Cursor, physical_name: str) -> set[str]:
        """The columns a table has now (for adding those a newer version of the ledger declares)."""

    @abstractmethod
    def drop_indexes(self, cursor: Cursor, physical_name: str) -> None:
        """Drops a table's secondary indexes (its primary key stays)."""

    @abstractmethod
    def close(self) -> None: ...

    column_types: dict[ColumnType, str]

    def create_view_table(self, cursor: Cursor, table: Table, *, suffix: str = "", with_indexes: bool = True) -> None:
        physical = table.name + suffix
        columns = ", ".join(f"{name} {self.column_types[kind]}" for name, kind in table.columns)
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {physical} ({columns}, PRIMARY KEY ({', '.join(table.key)}))")
        if with_indexes:
            self.create_indexes(cursor, table)

    def add_missing_columns(self, cursor: Cursor, table: Table) -> None:
        """Adds the columns a table declares but a database made by an earlier version lacks (empty in old rows)."""
        present = self.column_names(cursor, table.name)
        for name, kind in table.columns:
            if name not in present:
                cursor.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {self.column_types[kind]}")

    def create_indexes(self, cursor: Cursor, table: Table) -> None:
        for columns in table.indexes:
            index = f"{table.name}__{'_'.join(columns)}"
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table.name} ({', '.join(columns)})")

    def drop_table(self, cursor: Cursor, physical_name: str) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {physical_name}")

    def rename_table(self, cursor: Cursor, old: str, new: str) -> None:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")
        if self.dialect == "postgres":
            # Keep the primary key's name in step with its table, so the next
            # rebuild's fresh table can take the name it expects.
            cursor.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {old}_pkey TO {new}_pkey")

    def tracking_positions(self, names: list[str]) -> dict[str, int]:
        """The tracking position of each of `names` (0 for one with none), in one query."""
        marks = ", ".join("?" * len(names))
        with self.reading() as cursor:
            rows = cursor.execute(
                f"SELECT application_name, notification_id FROM {self.tracking_table} "
                f"WHERE application_name IN ({marks})",
                names,
            ).fetchall()
        found = {str(name): int(position) for name, position in rows}
        return {name: found.get(name, 0) for name in names}

    def lowest_position(self, names: list[str]) -> int:
        """The lowest tracking position among `names` (0 if any has none)."""
        return min(self.tracking_positions(names).values())

    @abstractmethod
    def guard_append_only(self, cursor: Cursor, table: str) -> None:
        """Makes the database refuse UPDATE and DELETE (and TRUNCATE, where it has it) on `table`."""

    def insert_tracking_row(self, cursor: Cursor, name: str) -> None:
        """Starts `name` at position 0 unless it has a row: there is then always a row to lock, so two
        processes can never both take a projection's first batch."""
        cursor.execute(
            f"INSERT INTO {self.tracking_table} (application_name, notification_id) VALUES (?, 0) "
            "ON CONFLICT (application_name) DO NOTHING",
            (name,),
        )

    def set_tracking(self, cursor: Cursor, name: str, position: int) -> None:
        """Sets the position of `name`, forwards or back (only when a rebuilt view is swapped in)."""
        cursor.execute(
            f"INSERT INTO {self.tracking_table} (application_name, notification_id) VALUES (?, ?) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id",
            (name, position),
        )

    def forget_tracking(self, cursor: Cursor, name: str) -> None:
        cursor.execute(f"DELETE FROM {self.tracking_table} WHERE application_name = ?", (name,))

    tracking_table: str


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


SCHEMA_LOCK = 0x1ED6E7
"""The advisory lock that serialises creating and altering the ledger's tables across processes."""


@contextmanager
def schema_lock(datastore: PostgresDatastore) -> Iterator[None]:
    """Holds the schema lock for the duration: processes starting at once create tables one at a time.

    Without it, concurrent `CREATE ... IF NOT EXISTS` and `CREATE OR REPLACE`
    statements deadlock or collide in PostgreSQL's catalogues.
    """
    with datastore.get_connection() as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


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
