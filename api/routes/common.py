"""What the routers share: money as text, the problems a command can meet, and the relationships a principal sees."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from api.problems import problems
from domain.application import Ledger
from domain.model import LedgerEvent
from domain.permissions import RelationshipReach
from domain.relationship import ClientRelationship
from domain.values import Principal
from projections.history import PositionedEvent, positioned

WRITE_PROBLEMS = problems(
    "forbidden", "not_found", "rule_violation", "version_conflict", "precondition_failed", "validation_error"
)
"""What a command on a relationship can answer besides its result."""


def money(amount: Decimal | None) -> str:
    return f"{(amount or Decimal(0)):.2f}"


def visible_relationship(
    principal: Principal, ledger: Ledger, relationship_id: UUID
) -> tuple[ClientRelationship, RelationshipReach]:
    """The relationship now, and how much of it the principal may read (403 if none of it: an account manager reads
    one assigned to them now whole, and one they managed before only in part)."""
    return ledger.readable_relationship(principal, relationship_id)


def with_positions(ledger: Ledger, relationship_id: UUID, events: Sequence[LedgerEvent]) -> list[PositionedEvent]:
    """A relationship's events, each with its global position."""
    positions = positioned(ledger.recorder).select_positions(relationship_id) if events else {}
    return [PositionedEvent(event, positions[event.originator_version]) for event in events]
