"""The audit index: every event's position with who recorded it, when, and under which request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from domain.model import LedgerEvent
from infrastructure.sql import Table, ViewStore
from projections.base import Batch, LedgerProjection, utc_text

EVENTS = Table(
    "audit_events",
    (
        ("position", "int"),
        ("aggregate_id", "text"),
        ("aggregate_type", "text"),
        ("version", "int"),
        ("event_type", "text"),
        ("actor_id", "text"),
        ("actor_role", "text"),
        ("correlation_id", "text"),
        ("recorded_at", "text"),
        ("occurred_at", "text"),
    ),
    key=("position",),
    indexes=(("actor_id", "position"), ("aggregate_id", "position"), ("correlation_id",)),
)


@cache
def event_names(event_class: type[LedgerEvent]) -> tuple[str, str]:
    """The aggregate type and event type of an event class, from its stable topic (`ledger:Aggregate.Event`)."""
    aggregate_type, _, event_type = event_class.TOPIC.removeprefix("ledger:").partition(".")
    return aggregate_type, event_type


def business_time_text(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return None


class AuditIndexProjection(LedgerProjection):
    """An index of the global log by actor, aggregate and correlation id."""

    name = "audit_index"
    tables = (EVENTS,)

    def on_other(self, event: Any, batch: Batch, position: int) -> None:
        if not isinstance(event, LedgerEvent):
            return
        aggregate_type, event_type = event_names(type(event))
        batch.insert(
            "audit_events",
            (
                position,
                str(event.originator_id),
                aggregate_type,
                event.originator_version,
                event_type,
                event.actor_id,
                event.actor_role.value,
                event.correlation_id,
                utc_text(event.recorded_at),
                business_time_text(event.business_time),
            ),
        )


@dataclass(frozen=True)
class IndexedEvent:
    position: int
    aggregate_id: str
    aggregate_type: str
    version: int
    event_type: str
    actor_id: str
    actor_role: str
    correlation_id: str
    recorded_at: str
    occurred_at: str | None


class AuditIndexReader:
    """Queries over the audit index."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def by_actor(self, actor_id: str, *, after: int = 0, limit: int = 50) -> list[IndexedEvent]:
        return self._select("actor_id = ? AND position > ?", (actor_id, after), limit)

    def by_aggregate(self, aggregate_id: str, *, after: int = 0, limit: int = 50) -> list[IndexedEvent]:
        return self._select("aggregate_id = ? AND position > ?", (aggregate_id, after), limit)

    def _select(self, where: str, params: tuple[Any, ...], limit: int) -> list[IndexedEvent]:
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT {', '.join(EVENTS.column_names)} FROM audit_events WHERE {where} "
                f"ORDER BY position LIMIT {int(limit)}",
                params,
            ).fetchall()
        return [IndexedEvent(*row) for row in rows]
