"""What every projection shares: a batch of rows held in memory, and the batch-processing loop.

A projection handles events one by one, in order, against a `Batch`: rows are
read from the view once, changed in memory, and written back with one
`executemany` per table when the batch ends, in the same transaction that moves
the projection's tracking position.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.model import LedgerEvent
from domain.values import CENT
from projections.store import NEXT, Cursor, Table, ViewStore

Row = dict[str, Any]
Key = tuple[Any, ...]


def cents(amount: Decimal) -> int:
    """Money as whole cents: exact to store and to add up in SQL."""
    return int(amount / CENT)


def money(amount_cents: int | None) -> Decimal:
    return (Decimal(amount_cents or 0) * CENT).quantize(CENT)


def utc_text(moment: datetime) -> str:
    """A moment as fixed-width UTC text, which sorts in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def day_text(day: date) -> str:
    return day.isoformat()


class Batch:
    """The rows a batch of events touches, read once and written back together."""

    def __init__(self, cursor: Cursor, tables: Sequence[Table], suffix: str) -> None:
        self.cursor = cursor
        self.suffix = suffix
        self.tables = {table.name: table for table in tables}
        self.rows: dict[str, dict[Key, Row | None]] = {name: {} for name in self.tables}
        self.dirty: dict[str, set[Key]] = {name: set() for name in self.tables}

    def get(self, table: str, *key: Any) -> Row | None:
        """The row with this primary key, or None."""
        rows = self.rows[table]
        if key not in rows:
            spec = self.tables[table]
            where = " AND ".join(f"{column} = ?" for column in spec.key)
            found = self.cursor.execute(
                f"SELECT {', '.join(spec.column_names)} FROM {table}{self.suffix} WHERE {where}", key
            ).fetchone()
            rows[key] = dict(zip(spec.column_names, found, strict=True)) if found else None
        return rows[key]

    def put(self, table: str, row: Row) -> None:
        """Inserts or replaces a whole row."""
        key = tuple(row[column] for column in self.tables[table].key)
        self.rows[table][key] = row
        self.dirty[table].add(key)

    def update(self, table: str, key: Key, **changes: Any) -> None:
        """Changes some columns of an existing row; a row that does not exist is left alone."""
        row = self.get(table, *key)
        if row is not None:
            row.update(changes)
            self.dirty[table].add(key)

    def delete(self, table: str, *key: Any) -> None:
        self.rows[table][key] = None
        self.dirty[table].add(key)

    def flush(self) -> None:
        """Writes every changed row: one upsert and one delete statement per table."""
        for name, keys in self.dirty.items():
            if not keys:
                continue
            spec = self.tables[name]
            physical = name + self.suffix
            rows = self.rows[name]
            upserts = [tuple(rows[k][c] for c in spec.column_names) for k in keys if rows[k] is not None]  # type: ignore[index]
            deletes = [k for k in keys if rows[k] is None]
            columns = ", ".join(spec.column_names)
            updates = ", ".join(f"{c} = excluded.{c}" for c in spec.column_names if c not in spec.key)
            conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
            self.cursor.executemany(
                f"INSERT INTO {physical} ({columns}) VALUES ({', '.join('?' * len(spec.column_names))}) "
                f"ON CONFLICT ({', '.join(spec.key)}) {conflict}",
                upserts,
            )
            where = " AND ".join(f"{column} = ?" for column in spec.key)
            self.cursor.executemany(f"DELETE FROM {physical} WHERE {where}", deletes)


class LedgerProjection(Projection[ViewStore]):
    """A view of the ledger: its tables, and how each event type changes them."""

    name: ClassVar[str] = ""
    tables: ClassVar[tuple[Table, ...]] = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """The library's one-event protocol, as a batch of one."""
        self.process_batch([(tracking.notification_id, domain_event)])

    def process_batch(self, items: Sequence[tuple[int, LedgerEvent]], *, rebuilding: bool = False) -> int:
        """Applies the events after this view's position, and moves the position, in one transaction.

        Returns the position reached. Events at or before the stored position are
        skipped, so replaying an event already processed changes nothing.
        """
        if not items:
            return self.position(rebuilding=rebuilding)
        suffix = NEXT if rebuilding else ""
        tracking_name = self.name + suffix
        with self.view.transaction() as cursor:
            done = self.view.lock_tracking(cursor, tracking_name)
            pending = [(position, event) for position, event in items if position > done]
            if not pending:
                return done
            batch = Batch(cursor, self.tables, suffix)
            for position, event in pending:
                self.handle(event, batch, position)
            batch.flush()
            self.view.record_tracking(cursor, tracking_name, pending[-1][0])
            return pending[-1][0]

    def position(self, *, rebuilding: bool = False) -> int:
        return self.view.position(self.name + (NEXT if rebuilding else ""))

    def handle(self, event: Any, batch: Batch, position: int) -> None:
        """Changes the view for one event; each projection dispatches on the event's type."""
        raise NotImplementedError

    def create_tables(self, cursor: Cursor, *, rebuilding: bool = False) -> None:
        for table in self.tables:
            self.view.create_view_table(cursor, table, suffix=NEXT if rebuilding else "", with_indexes=not rebuilding)

    def physical_tables(self, *, rebuilding: bool = False) -> Iterable[str]:
        suffix = NEXT if rebuilding else ""
        return (table.name + suffix for table in self.tables)
