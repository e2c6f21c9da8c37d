"""Stored events as the API shows them: the four audit fields and the event's own data."""

from __future__ import annotations

from typing import Any

from api.schemas import AuditEventPublic, EventPublic
from domain.model import LedgerEvent
from projections.audit_index import business_time_text, event_names


def event_public(event: LedgerEvent, position: int) -> EventPublic:
    return EventPublic(**_fields(event, position))


def audit_event_public(event: LedgerEvent, position: int, event_hash: str | None = None) -> AuditEventPublic:
    aggregate_type, _ = event_names(type(event))
    return AuditEventPublic(
        **_fields(event, position), aggregate_type=aggregate_type, aggregate_id=event.originator_id, hash=event_hash
    )


def _fields(event: LedgerEvent, position: int) -> dict[str, Any]:
    _, event_type = event_names(type(event))
    return {
        "position": position,
        "version": event.originator_version,
        "type": event_type,
        "recorded_at": event.recorded_at.isoformat(),
        "occurred_at": business_time_text(event.business_time),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role.value,
        "correlation_id": event.correlation_id,
        "data": event.data(),
    }
