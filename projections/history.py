"""The log as the query side reads it: stored events with their global positions, hashes and audit fields.

The ledger's recorders (SQLite and PostgreSQL) add two reads to the library's:
each version of an aggregate with its position, and the events at given
positions. `positioned` gives them a type, so no caller reaches into the
concrete recorder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification, Recorder

from domain.application import Ledger
from domain.model import LedgerEvent
from projections.audit_index import business_time_text, event_names


@runtime_checkable
class PositionedRecorder(Protocol):
    """What the ledger's recorders add to the library's: where each event stands in the global log."""

    def select_positions(self, originator_id: UUID) -> dict[int, int]:
        """Each version of an aggregate with its global position."""
        ...

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at these global positions, in position order."""
        ...


class HashIndex(Protocol):
    """Where each event's tamper-evidence hash is kept (`Integrity`)."""

    def hashes_at(self, positions: list[int]) -> dict[int, str]: ...


def positioned(recorder: Recorder) -> PositionedRecorder:
    """The ledger's recorder, typed for its position reads."""
    if not isinstance(recorder, PositionedRecorder):
        msg = f"{type(recorder).__name__} cannot say where events stand in the log"
        raise TypeError(msg)
    return recorder


@dataclass(frozen=True)
class PositionedEvent:
    """An event with its global position (and, read from the audit trail, its hash)."""

    event: LedgerEvent
    position: int
    hash: str | None = None

    def fields(self) -> dict[str, Any]:
        """The event as a relationship's history shows it: the four audit fields and the event's own data."""
        event = self.event
        _, event_type = event_names(type(event))
        return {
            "position": self.position,
            "version": event.originator_version,
            "type": event_type,
            "recorded_at": event.recorded_at.isoformat(),
            "occurred_at": business_time_text(event.business_time),
            "actor_id": event.actor_id,
            "actor_role": event.actor_role.value,
            "correlation_id": event.correlation_id,
            "data": event.data(),
        }

    def audit_fields(self) -> dict[str, Any]:
        """The event as the audit trail shows it: its fields, its aggregate and its hash (JSON-ready)."""
        aggregate_type, _ = event_names(type(self.event))
        return {
            **self.fields(),
            "aggregate_type": aggregate_type,
            "aggregate_id": str(self.event.originator_id),
            "hash": self.hash,
        }


def audited(ledger: Ledger, hashes: HashIndex, notifications: Iterable[Notification]) -> list[PositionedEvent]:
    """Stored events decoded, each with its position and its hash."""
    stored = list(notifications)
    found = hashes.hashes_at([n.id for n in stored])
    return [PositionedEvent(ledger.decode(n), n.id, found.get(n.id)) for n in stored]


LAST_POSITION = 2**63 - 1
"""The largest position either store can hold (a 64-bit integer): no event stands after it."""


def log_page(ledger: Ledger, hashes: HashIndex, *, after: int, limit: int) -> list[PositionedEvent]:
    """Up to `limit` events of the global log after position `after`, with their hashes."""
    if after >= LAST_POSITION:
        return []  # the next position would not fit in the store's integers
    return audited(ledger, hashes, ledger.recorder.select_notifications(start=after + 1, limit=limit))


def events_at(ledger: Ledger, hashes: HashIndex, positions: Sequence[int]) -> list[PositionedEvent]:
    """The events at these global positions, in position order, with their hashes."""
    return audited(ledger, hashes, positioned(ledger.recorder).select_notifications_at(positions))
