"""What every projection shares: a batch of rows held in memory, and the batch-processing loop.

A projection handles events one by one, in order, against a `Batch`: rows are
read from the view once, changed in memory, and written back with one
`executemany` per table when the batch ends, in the same transaction that moves
the projection's tracking position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.model import LedgerEvent
from domain.values import CENT
from infrastructure.sql import NEXT, Cursor, Table, ViewStore

Row = dict[str, Any]
Key = tuple[Any, ...]


def cents(amount: Decimal) -> int:
    """Money as whole cents: exact to store and to add up in SQL."""
    return int(amount / CENT)


def money(amount_cents: int | None) -> Decimal:
    return (Decimal(amount_cents or 0) * CENT).quantize(CENT)


def utc_text(moment: datetime) -> str:
    """A moment as fixed-width UTC text (`2026-05-01T09:30:00.000000+00:00`), which sorts in time order.

    New facts lie between 1900 and 2199 (`domain.values`); a fact stored before that bound whose UTC time
    falls outside the calendar (year 9999 at -23:59) is held at the calendar's edge rather than stop the view.
    """
    if moment.utcoffset():
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            moment = datetime.max.replace(tzinfo=UTC) if moment.year > 1 else datetime.min.replace(tzinfo=UTC)
    return moment.isoformat(timespec="microseconds")


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day_text(day: date) -> str:
    return day.isoformat()


Handler = Callable[[Any, Any, "Batch", int], None]


def handles(*event_types: type[LedgerEvent]) -> Callable[[Handler], Handler]:
    """Marks a projection method as the handler of these event types."""

    def mark(method: Handler) -> Handler:
        method.handles = event_types  # type: ignore[attr-defined]
        return method

    return mark


class RowCache:
    """Rows a projection has read or written, kept from one batch to the next while it is the only writer."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self.rows: dict[str, dict[Key, Row | None]] = {table.name: {} for table in tables}
        self.position: int | None = None
        self.limit = 50_000

    def valid_at(self, position: int) -> bool:
        return self.position == position

    def reset(self) -> None:
        for rows in self.rows.values():
            rows.clear()
        self.position = None


class Batch:
    """The rows a batch of events touches, read once and written back together."""

    def __init__(self, cursor: Cursor, tables: Sequence[Table], suffix: str, cache: RowCache) -> None:
        self.cursor = cursor
        self.suffix = suffix
        self.tables = {table.name: table for table in tables}
        self.rows = cache.rows
        self.dirty: dict[str, set[Key]] = {name: set() for name in self.tables}
        self.inserts: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.tables}

    def get(self, table: str, *key: Any) -> Row | None:
        """The row with this primary key, or None."""
        rows = self.rows[table]
        try:
            return rows[key]
        except KeyError:
            spec = self.tables[table]
            found = self.cursor.execute(spec.select_statement(self.suffix), key).fetchone()
            row = dict(zip(spec.column_names, found, strict=True)) if found else None
            rows[key] = row
            return row

    def put(self, table: str, row: Row) -> None:
        """Inserts or replaces a whole row."""
        key = tuple(row[column] for column in self.tables[table].key)
        self.rows[table][key] = row
        self.dirty[table].add(key)

    def insert(self, table: str, values: tuple[Any, ...]) -> None:
        """Adds a row that no other event changes (values in column order), without reading or caching it.

        A plain INSERT: the tracking position already keeps an event from being
        applied twice, so a duplicate here is a bug worth failing the batch for.
        """
        self.inserts[table].append(values)

    def update(self, table: str, key: Key, **changes: Any) -> None:
        """Changes some columns of an existing row; a row that does not exist is left alone."""
        row = self.get(table, *key)
        if row is not None:
            row.update(changes)
            self.dirty[table].add(key)

    def flush(self) -> None:
        """Writes every changed row: one upsert and one delete statement per table."""
        for name, values in self.inserts.items():
            self.cursor.executemany(self.tables[name].insert_statement(self.suffix), values)
        for name, keys in self.dirty.items():
            if not keys:
                continue
            spec = self.tables[name]
            rows = self.rows[name]
            columns = spec.column_names
            upserts = [tuple(row[c] for c in columns) for k in keys if (row := rows[k]) is not None]
            deletes = [k for k in keys if rows[k] is None]
            self.cursor.executemany(spec.upsert_statement(self.suffix), upserts)
            self.cursor.executemany(spec.delete_statement(self.suffix), deletes)


class LedgerProjection(Projection[ViewStore]):
    """A view of the ledger: its tables, and a handler per event type it shows (marked with `@handles`)."""

    name = ""
    tables: ClassVar[tuple[Table, ...]] = ()
    handlers: ClassVar[dict[type[Any], Handler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            event_type: method for method in vars(cls).values() for event_type in getattr(method, "handles", ())
        }

    def __init__(self, view: ViewStore) -> None:
        super().__init__(view)
        self.caches = {"": RowCache(self.tables), NEXT: RowCache(self.tables)}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """The library's one-event protocol, as a batch of one."""
        self.process_batch([(tracking.notification_id, domain_event)])

    def process_batch(self, items: Sequence[tuple[int, LedgerEvent]], *, rebuilding: bool = False) -> int:
        """Applies the events after this view's position, and moves the position, in one transaction."""
        with self.view.transaction() as cursor:
            return self.apply(cursor, items, rebuilding=rebuilding)

    def apply(self, cursor: Cursor, items: Sequence[tuple[int, LedgerEvent]], *, rebuilding: bool = False) -> int:
        """Within the caller's transaction: applies the events after this view's position and moves it.

        Returns the position reached. Events at or before the stored position are
        skipped, so replaying an event already processed changes nothing; the
        tracking row is locked first, so two processes never apply one batch twice.
        """
        suffix = NEXT if rebuilding else ""
        tracking_name = self.name + suffix
        done = self.view.lock_tracking(cursor, tracking_name)
        pending = [(position, event) for position, event in items if position > done]
        if not pending:
            return done
        cache = self.caches[suffix]
        if not cache.valid_at(done) or sum(map(len, cache.rows.values())) > cache.limit:
            cache.reset()  # another writer moved on, or the cache is full: read rows afresh
        batch = Batch(cursor, self.tables, suffix, cache)
        handlers, other = self.handlers, type(self).on_other
        for position, event in pending:
            handler: Handler = handlers.get(type(event), other)
            handler(self, event, batch, position)
        batch.flush()
        reached = pending[-1][0]
        self.view.record_tracking(cursor, tracking_name, reached)
        # The cache holds what this transaction wrote: trust it next time only if it commits.
        cache.position = None
        cursor.on_commit(lambda: setattr(cache, "position", reached))
        return reached

    def on_other(self, event: Any, batch: Batch, position: int) -> None:
        """Handles an event no `@handles` method names: by default, passes it over."""

    def position(self, *, rebuilding: bool = False) -> int:
        return self.view.position(self.name + (NEXT if rebuilding else ""))

    def create_tables(self, cursor: Cursor, *, rebuilding: bool = False) -> None:
        for table in self.tables:
            self.view.create_view_table(cursor, table, suffix=NEXT if rebuilding else "", with_indexes=not rebuilding)
