"""Exports of the log: every event recorded up to a time, with its audit fields, hash and stored form.

Read a page at a time, so an export of any size runs in constant memory; the
API streams these lines and `ledger export` writes them to a file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import orjson

from domain.application import Ledger
from projections.history import HashIndex, PositionedEvent

EXPORT_PAGE = 1_000
CSV_COLUMNS = (
    "position",
    "aggregate_type",
    "aggregate_id",
    "version",
    "type",
    "recorded_at",
    "occurred_at",
    "actor_id",
    "actor_role",
    "correlation_id",
    "hash",
    "data",
    "topic",
    "stored_state",
)


class ExportSource(Protocol):
    """The ledger and the index of its hashes (a `System` is one)."""

    @property
    def ledger(self) -> Ledger: ...

    @property
    def integrity(self) -> HashIndex: ...


def recorded_until(source: ExportSource, until: datetime) -> Iterator[dict[str, Any]]:
    """Every event recorded at or before `until`, a page at a time (constant memory): the audit fields, the
    hash, and the topic and state exactly as stored, so an examiner can recompute every hash independently."""
    ledger = source.ledger
    for notifications in ledger.log_pages(EXPORT_PAGE):
        hashes = source.integrity.hashes_at([n.id for n in notifications])
        for notification in notifications:
            event = ledger.decode(notification)
            if event.recorded_at <= until:
                row = PositionedEvent(event, notification.id, hashes.get(notification.id)).audit_fields()
                row["topic"] = notification.topic
                row["stored_state"] = notification.state.decode()
                yield row


def jsonl_lines(source: ExportSource, until: datetime) -> Iterator[bytes]:
    """The export as JSON lines, one event a line."""
    for row in recorded_until(source, until):
        yield orjson.dumps(row) + b"\n"


def csv_lines(source: ExportSource, until: datetime) -> Iterator[str]:
    """The export as CSV: a header of `CSV_COLUMNS`, then one event a row (its data as JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in recorded_until(source, until):
        row["data"] = orjson.dumps(row["data"]).decode()
        writer.writerow([row[column] for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
