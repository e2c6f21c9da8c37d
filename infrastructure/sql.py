"""The SQL plumbing of every table beside the event store: views, tokens, idempotency keys, the access log, seals.

A `Table` declares a table; a `Cursor` takes `?` placeholders on either
database; a `ViewStore` (the library's tracking recorder for one database, see
`infrastructure.view_store`) creates, locks and swaps tables and writes rows
with a tracking position in one transaction. The tracking upsert only ever
moves a position forward, so a batch that another process has already applied
is refused and rolled back rather than applied twice.
"""

# Statements are assembled from table specs written in code; values always go in as parameters.
# ruff: noqa: S608

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresDatastore

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
                f"SELECT application_name, MAX(notification_id) FROM {self.tracking_table} "
                f"WHERE application_name IN ({marks}) GROUP BY application_name",
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
