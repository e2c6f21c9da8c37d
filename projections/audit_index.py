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

    def matching(
        self,
        *,
        actor_id: str | None = None,
        event_type: str | None = None,
        aggregate_id: str | None = None,
        after: int = 0,
        before: int | None = None,
        limit: int = 50,
    ) -> list[IndexedEvent]:
        """The events matching every filter given, oldest first: the first `limit` after `after`, or, with
        `before`, the last `limit` before it (the page that ends there)."""
        where: list[str] = ["position > ?"]
        params: list[Any] = [after]
        for column, value in (("actor_id", actor_id), ("event_type", event_type), ("aggregate_id", aggregate_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if before is None:
            return self._select(" AND ".join(where), tuple(params), limit)
        where.append("position < ?")
        params.append(before)
        found = self._select(" AND ".join(where), tuple(params), limit, newest_first=True)
        return found[::-1]

    def actors(self, *, after: str = "", limit: int = 50) -> list[tuple[str, str, int, str]]:
        """Everyone who recorded an event, by actor id: (actor_id, role, events, last recorded at)."""
        with self.view.reading() as cursor:
            return [
                (row[0], row[1], int(row[2]), row[3])
                for row in cursor.execute(
                    "SELECT actor_id, MIN(actor_role), COUNT(*), MAX(recorded_at) FROM audit_events "
                    f"WHERE actor_id > ? GROUP BY actor_id ORDER BY actor_id LIMIT {int(limit)}",
                    (after,),
                ).fetchall()
            ]

    def _select(
        self, where: str, params: tuple[Any, ...], limit: int, *, newest_first: bool = False
    ) -> list[IndexedEvent]:
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT {', '.join(EVENTS.column_names)} FROM audit_events WHERE {where} "
                f"ORDER BY position {'DESC' if newest_first else 'ASC'} LIMIT {int(limit)}",
                params,
            ).fetchall()
        return [IndexedEvent(*row) for row in rows]
