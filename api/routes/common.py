"""What the routers share: money as text, the problems a command can meet, and the relationships a principal sees."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from api.problems import problems
from domain.application import Ledger
from domain.permissions import Read, check_allowed
from domain.relationship import ClientRelationship
from domain.values import Principal

WRITE_PROBLEMS = problems(
    "forbidden", "not_found", "rule_violation", "version_conflict", "precondition_failed", "validation_error"
)
"""What a command on a relationship can answer besides its result."""


def money(amount: Decimal | None) -> str:
    return f"{(amount or Decimal(0)):.2f}"


def visible_relationship(principal: Principal, ledger: Ledger, relationship_id: UUID) -> ClientRelationship:
    """The relationship now, if the principal may read it (an account manager: only one assigned to them now)."""
    relationship = ledger.relationship(relationship_id)
    check_allowed(principal, Read.RELATIONSHIP, account_manager_id=relationship.account_manager_id)
    return relationship
