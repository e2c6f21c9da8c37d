"""The event store: a database URL turned into the library's settings, and its append-only tables.

The `eventsourcing` library owns the tables and the writing; this module adds
what an audit ledger needs on top: the database itself refuses UPDATE, DELETE
(and, on PostgreSQL, TRUNCATE) of stored events, and each event's global
position can be read back beside it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID, uuid4

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic, retry
from psycopg.sql import SQL, Identifier

from infrastructure.idempotency import KEYS, MARK_STORED, IdempotencyKey
from infrastructure.integrity import chained_rows
from infrastructure.sql import schema_lock

log = logging.getLogger(__name__)


class UnsupportedDatabaseURL(ValueError):
    """LEDGER_DATABASE_URL names a database the ledger cannot use."""


def library_env(
    database_url: str, *, pool_size: int | None = None, pool_max_overflow: int | None = None
) -> dict[str, str]:
    """The `eventsourcing` settings for a `sqlite:///...` or `postgresql://...` URL.

    On PostgreSQL the connection pool keeps `pool_size` connections and opens up
    to `pool_max_overflow` more under load (the library's own sizes where not given;
    `Settings` gives the ledger's, and SCALING.md the budget).
    """
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        return _sqlite_env(database_url)
    if parts.scheme in ("postgresql", "postgres"):
        sizes = {"POSTGRES_POOL_SIZE": pool_size, "POSTGRES_MAX_OVERFLOW": pool_max_overflow}
        return _postgres_env(database_url) | {name: str(size) for name, size in sizes.items() if size is not None}
    msg = (
        f"Unsupported LEDGER_DATABASE_URL {database_url!r}: use sqlite:///path/to/ledger.sqlite3 "
        "or postgresql://user:password@host:port/dbname"
    )
    raise UnsupportedDatabaseURL(msg)


def _sqlite_env(database_url: str) -> dict[str, str]:
    path = database_url.removeprefix("sqlite://").removeprefix("/")
    if not path:
        msg = f"LEDGER_DATABASE_URL {database_url!r} names no file: use sqlite:///path/to/ledger.sqlite3"
        raise UnsupportedDatabaseURL(msg)
    if path == ":memory:":
        # One shared in-memory database per URL use, visible to every pooled connection.
        path = f"file:ledger-{uuid4().hex}?mode=memory&cache=shared"
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(AppendOnlySQLiteRecorder),
    }


def _postgres_env(database_url: str) -> dict[str, str]:
    parts = urlsplit(database_url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        msg = f"LEDGER_DATABASE_URL {database_url!r} names no database: use postgresql://user@host:port/dbname"
        raise UnsupportedDatabaseURL(msg)
    query = parse_qs(parts.query)
    env = {
        "PERSISTENCE_MODULE": get_topic(LedgerPostgresFactory),
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Never the database-function insert path: with it, a reader following
        # the global log can miss events written concurrently.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "APPLICATION_RECORDER_TOPIC": get_topic(AppendOnlyPostgresRecorder),
    }
    if "schema" in query:
        env["POSTGRES_SCHEMA"] = query["schema"][0]
    return env


APPEND_ONLY_MESSAGE = "stored events are append-only"


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _idempotency_key(kwargs: dict[str, Any]) -> IdempotencyKey | None:
    """The (principal id, Idempotency-Key) that `save(..., idempotency_key=...)` passed down, if any."""
    key: IdempotencyKey | None = kwargs.get("idempotency_key")
    if key is None:
        return None
    principal_id, idempotency_key = key
    return str(principal_id), str(idempotency_key)


class AppendOnlySQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, with triggers that refuse UPDATE and DELETE of stored events,
    and each event's chained hash written beside it in the same transaction."""

    @property
    def hashes_table(self) -> str:
        return f"{self.events_table_name}_hashes"

    def construct_create_table_statements(self) -> list[str]:
        table, hashes = self.events_table_name, self.hashes_table
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {hashes} (position INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, hash TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {hashes}_aggregate ON {hashes} (originator_id, originator_version)",
            *(
                f"CREATE TRIGGER IF NOT EXISTS {guarded}_refuse_{operation.lower()} "
                f"BEFORE {operation} ON {guarded} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: {operation} is refused'); END"
                for guarded in (table, hashes)
                for operation in ("UPDATE", "DELETE")
            ),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None
        select_last = (
            f"SELECT hash FROM {self.hashes_table} WHERE originator_id = ? "  # noqa: S608 - the recorder's own table
            "ORDER BY originator_version DESC LIMIT 1"
        )

        def fetch_last_hash(originator_id: UUID) -> str | None:
            c.execute(select_last, (str(originator_id),))
            row = c.fetchone()
            return None if row is None else str(row[0])

        rows = chained_rows(
            ((_uuid(s.originator_id), s.originator_version, s.topic, s.state) for s in stored_events),
            positions,
            {},
            fetch_last_hash,
        )
        c.executemany(f"INSERT INTO {self.hashes_table} VALUES (?, ?, ?, ?)", rows)  # noqa: S608
        marked = _idempotency_key(kwargs)
        if marked is not None:  # the request's Idempotency-Key, marked stored in the same transaction
            c.execute(MARK_STORED.format(table=KEYS.name, mark="?"), (max(positions), *marked))
        return positions

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at these global positions, in position order."""
        if not positions:
            return []
        marks = ",".join("?" * len(positions))
        statement = f"SELECT rowid, * FROM {self.events_table_name} WHERE rowid IN ({marks}) ORDER BY rowid"  # noqa: S608
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, list(positions))
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]

    def select_positions(self, originator_id: UUID) -> dict[int, int]:
        """Each version of an aggregate with its global position."""
        with self.datastore.transaction(commit=False) as c:
            # The table name is the recorder's own, never input.
            statement = f"SELECT originator_version, rowid FROM {self.events_table_name} WHERE originator_id=?"  # noqa: S608
            c.execute(statement, (originator_id.hex,))
            return {row[0]: row[1] for row in c.fetchall()}


def _insert_in_one_transaction(
    recorder: AppendOnlyPostgresRecorder, stored_events: Sequence[StoredEvent], /, **kwargs: Any
) -> Sequence[int] | None:
    """One attempt at an insert, in one transaction.

    Replaces the body of the library's `insert_events` (9.5.6), which runs the
    statements in a pipeline and, when the insert conflicts, leaves its
    transaction block normally and raises afterwards. Inside a group commit
    (infrastructure/group_commit.py) that block is a savepoint, and leaving it
    normally after an error releases a savepoint of an aborted transaction,
    which fails and aborts the whole group. Here the conflict leaves the block
    as an error, so the savepoint (or, alone, the transaction) is rolled back
    and the conflict is what the caller sees. It costs two more round trips on
    loopback than the pipeline; the COMMIT dwarfs them.
    """
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        recorder._insert_events(curs, stored_events, **kwargs)
        if not stored_events:
            return []
        recorder._insert_stored_events(curs, stored_events, **kwargs)
        return recorder._fetch_ids_after_insert_events(curs, stored_events, **kwargs)


class AppendOnlyPostgresRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with a trigger that refuses UPDATE, DELETE and TRUNCATE.

    It also knows its own writes when a lost acknowledgement makes it try one twice (`insert_events`).
    """

    insert_attempts = 10
    """Attempts at an insert while the server cannot be reached (as many as the library makes)."""

    _insert_once: Callable[..., Sequence[int] | None] = staticmethod(_insert_in_one_transaction)
    """One attempt at an insert (a function of the recorder, so that tests can stand in for it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        function = Identifier(f"{self.events_table_name}_refuse_change")
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $body$ BEGIN "
                "RAISE EXCEPTION USING MESSAGE = '{message}: ' || TG_OP || ' is refused', "
                "ERRCODE = 'insufficient_privilege'; "
                "END $body$"
            ).format(schema=schema, function=function, message=SQL(APPEND_ONLY_MESSAGE))
        )
        hashes = Identifier(self.hashes_table)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{hashes} (position bigint PRIMARY KEY, "
                "originator_id text NOT NULL, originator_version bigint NOT NULL, hash text NOT NULL)"
            ).format(schema=schema, hashes=hashes)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {schema}.{hashes} (originator_id, originator_version)").format(
                index=Identifier(f"{self.hashes_table}_aggregate"), schema=schema, hashes=hashes
            )
        )
        for guarded in (self.events_table_name, self.hashes_table):
            self.sql_create_statements.append(
                SQL(
                    "CREATE OR REPLACE TRIGGER {trigger} "
                    "BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.{table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()"
                ).format(
                    trigger=Identifier(f"{guarded}_append_only"),
                    schema=schema,
                    table=Identifier(guarded),
                    function=function,
                )
            )
        self._select_last_hash = SQL(
            "SELECT hash FROM {schema}.{hashes} WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
        ).format(schema=schema, hashes=hashes)
        self._insert_hashes = SQL("INSERT INTO {schema}.{hashes} VALUES (%s, %s, %s, %s)").format(
            schema=schema, hashes=hashes
        )
        self._select_at = SQL(
            "SELECT * FROM {schema}.{table} WHERE notification_id = ANY(%s) ORDER BY notification_id"
        ).format(schema=schema, table=Identifier(self.events_table_name))
        self._mark_stored = SQL(MARK_STORED.format(table="{schema}.{table}", mark="%s")).format(
            schema=schema, table=Identifier(KEYS.name)
        )
        self._select_stored = SQL(
            "SELECT notification_id, topic, state FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(schema=schema, table=Identifier(self.events_table_name))
        self._select_positions = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table} WHERE originator_id = %s"
        ).format(schema=schema, table=Identifier(self.events_table_name))

    @property
    def hashes_table(self) -> str:
        return f"{self.events_table_name}_hashes"

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Stores the events in one transaction, trying again while the server cannot be reached.

        When the connection drops during COMMIT, nobody knows whether the
        transaction landed. Trying again then meets either nothing (insert) or the
        first attempt's own rows, which the library would report as a conflict, and
        the command would run a second time. So a retry that conflicts compares the
        stored rows with its own: the same events at the same versions mean the
        first attempt landed, and their positions are the answer.
        """
        for attempt in range(1, self.insert_attempts + 1):
            try:
                positions: Sequence[int] | None = self._insert_once(self, stored_events, **kwargs)
            except (InterfaceError, OperationalError):
                if attempt == self.insert_attempts:
                    raise
                time.sleep(random.uniform(0.15, 0.25))  # noqa: S311 - jitter, not secrecy
            except IntegrityError:
                landed = self._positions_if_stored(stored_events) if attempt > 1 else None
                if landed is None:
                    raise
                log.warning("An insert's acknowledgement was lost; its events are stored at %s", landed)
                return landed
            else:
                return positions
        raise AssertionError  # unreachable: the last attempt returns or raises

    def _positions_if_stored(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The positions of exactly these events (same aggregate, version, topic and state), or None."""
        positions = []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for event in stored_events:
                curs.execute(self._select_stored, (event.originator_id, event.originator_version))
                row = curs.fetchone()
                if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                    return None
                positions.append(int(row["notification_id"]))
        return positions

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Still inside the insert's transaction, which holds the table lock:
        # chain each new event to its aggregate's last hash and store the hashes.
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert positions is not None

        def fetch_last_hash(originator_id: UUID) -> str | None:
            curs.execute(self._select_last_hash, (str(originator_id),))
            row = curs.fetchone()
            return None if row is None else str(row["hash"])

        rows = chained_rows(
            ((_uuid(s.originator_id), s.originator_version, s.topic, s.state) for s in stored_events),
            positions,
            {},
            fetch_last_hash,
        )
        curs.executemany(self._insert_hashes, rows)
        marked = _idempotency_key(kwargs)
        if marked is not None:  # the request's Idempotency-Key, marked stored in the same transaction
            curs.execute(self._mark_stored, (max(positions), *marked))
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.1)
    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at these global positions, in position order."""
        if not positions:
            return []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_at, (list(positions),), prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.1)
    def select_positions(self, originator_id: UUID) -> dict[int, int]:
        """Each version of an aggregate with its global position."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_positions, (originator_id,), prepare=True)
            return {row["originator_version"]: row["notification_id"] for row in curs.fetchall()}


class LedgerPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory, creating tables one process at a time (see `schema_lock`)."""

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        with schema_lock(self.datastore):
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> ApplicationRecorder:
        with schema_lock(self.datastore):
            return super().application_recorder()

    def tracking_recorder(self, tracking_recorder_class: Any = None) -> Any:
        with schema_lock(self.datastore):
            return super().tracking_recorder(tracking_recorder_class)

    def process_recorder(self) -> ProcessRecorder:
        with schema_lock(self.datastore):
            return super().process_recorder()
