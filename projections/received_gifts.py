"""Gifts and entertainment account managers received from clients.

Each is stored as recorded; whether compliance reviews it depends on the
threshold in force on its `received_on`, read from the policy when it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.compliance_policy import CompliancePolicy
from domain.exception_kinds import ExceptionKind, received_key
from domain.received_gift import ReceivedGiftRecorded
from infrastructure.sql import Table, ViewStore
from projections.base import Batch, LedgerProjection, cents, day_text, from_utc_text, handles, money, utc_text
from projections.exception_rows import ExceptionContext, ExceptionRow

GIFTS = Table(
    "rg_gifts",
    (
        ("received_gift_id", "text"),
        ("relationship_id", "text"),
        ("account_manager_id", "text"),
        ("kind", "text"),
        ("giver_name", "text"),
        ("giver_employer", "text"),
        ("description", "text"),
        ("received_on", "text"),
        ("category", "text"),
        ("cost_cents", "int"),
        ("value_cents", "int"),
        ("shared_by", "int"),
        ("recorded_at", "text"),
        ("position", "int"),
    ),
    key=("received_gift_id",),
    indexes=(("position",), ("received_on",), ("account_manager_id", "received_on")),
)

_COLUMNS = ", ".join(GIFTS.column_names)


@dataclass(frozen=True)
class ReceivedRow:
    """A gift or entertainment received, as the view holds it."""

    received_gift_id: str
    relationship_id: str
    account_manager_id: str
    kind: str
    giver_name: str
    giver_employer: str
    description: str
    received_on: date
    category: str
    cost: Decimal
    value: Decimal
    shared_by: int
    recorded_at: datetime
    position: int

    def threshold(self, policy: CompliancePolicy) -> Decimal:
        """The review threshold in force on the day it was received."""
        return policy.programme_on(self.received_on).received_review_threshold

    def review(self, policy: CompliancePolicy) -> bool:
        """Whether compliance reviews it: worth more than the threshold in force on the day it was received."""
        return self.value > self.threshold(policy)


class ReceivedGiftsProjection(LedgerProjection):
    """Gifts and entertainment account managers received from clients."""

    name = "received_gifts"
    tables = (GIFTS,)

    @handles(ReceivedGiftRecorded)
    def on_recorded(self, event: ReceivedGiftRecorded, batch: Batch, position: int) -> None:
        batch.put(
            "rg_gifts",
            {
                "received_gift_id": str(event.originator_id),
                "relationship_id": str(event.relationship_id),
                "account_manager_id": str(event.account_manager_id),
                "kind": event.kind.value,
                "giver_name": event.giver.name,
                "giver_employer": event.giver.employer,
                "description": event.description,
                "received_on": day_text(event.received_on),
                "category": event.category.value,
                "cost_cents": cents(event.cost),
                "value_cents": cents(event.value),
                "shared_by": event.shared_by,
                "recorded_at": utc_text(event.recorded_at),
                "position": position,
            },
        )


class ReceivedGiftsReader:
    """Queries over the received gifts view."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def list(
        self,
        *,
        account_manager_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        after_position: int = 0,
        limit: int | None = None,
    ) -> list[ReceivedRow]:
        """What was received (by one account manager, from `start` to `end`), in the order recorded, after a
        paging position."""
        clauses = ["position > ?"]
        params: list[Any] = [after_position]
        if account_manager_id is not None:
            clauses.append("account_manager_id = ?")
            params.append(account_manager_id)
        if start is not None:
            clauses.append("received_on >= ?")
            params.append(day_text(start))
        if end is not None:
            clauses.append("received_on <= ?")
            params.append(day_text(end))
        statement = f"SELECT {_COLUMNS} FROM rg_gifts WHERE {' AND '.join(clauses)} ORDER BY position"
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.view.reading() as cursor:
            found = cursor.execute(statement, params).fetchall()
        return [_row(dict(zip(GIFTS.column_names, values, strict=True))) for values in found]


def _row(row: dict[str, Any]) -> ReceivedRow:
    return ReceivedRow(
        received_gift_id=row["received_gift_id"],
        relationship_id=row["relationship_id"],
        account_manager_id=row["account_manager_id"],
        kind=row["kind"],
        giver_name=row["giver_name"],
        giver_employer=row["giver_employer"],
        description=row["description"],
        received_on=date.fromisoformat(row["received_on"]),
        category=row["category"],
        cost=money(row["cost_cents"]),
        value=money(row["value_cents"]),
        shared_by=row["shared_by"],
        recorded_at=from_utc_text(row["recorded_at"]),
        position=row["position"],
    )


def exception_rows(view: ViewStore, context: ExceptionContext) -> list[ExceptionRow]:
    """Gifts and entertainment received in the limit year worth more than the threshold on their day."""
    window = context.window
    found = []
    for row in ReceivedGiftsReader(view).list(start=window.start, end=window.end):
        threshold = row.threshold(context.policy)
        if row.value <= threshold:
            continue
        found.append(
            ExceptionRow(
                kind=ExceptionKind.RECEIVED_REVIEW,
                key=received_key(row.received_gift_id),
                occurred_on=row.received_on,
                summary=(
                    f"{'Entertainment' if row.kind == 'entertainment' else 'A gift'} received from {row.giver_name} "
                    f"({row.giver_employer}) on {row.received_on} is worth ${row.value}, over the ${threshold} "
                    "review threshold."
                ),
                amount=row.value,
                threshold=threshold,
                name=row.giver_name,
                employer=row.giver_employer,
                account_manager_id=row.account_manager_id,
                relationship_id=row.relationship_id,
                received_gift_id=row.received_gift_id,
            )
        )
    return found
