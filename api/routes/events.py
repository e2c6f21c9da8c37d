"""Stored events as the API shows them: the four audit fields and the event's own data."""

from __future__ import annotations

from api.schemas.responses import AuditEventPublic, EventPublic
from projections.history import PositionedEvent


def event_public(positioned: PositionedEvent) -> EventPublic:
    return EventPublic(**positioned.fields())


def audit_event_public(positioned: PositionedEvent) -> AuditEventPublic:
    return AuditEventPublic(**positioned.audit_fields())
