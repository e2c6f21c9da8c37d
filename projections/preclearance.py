"""Gift pre-clearance requests: who asked for what, for whom, and what compliance decided.

The view stores the facts (the status as recorded, `expires_on`); whether an
approval has expired depends on the firm's date, so the reader works it out
from `today` — an approval unused after its `expires_on` reads as `expired`
whether or not the sweeper has written its expiry yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from domain.exception_kinds import ExceptionKind
from domain.preclearance import (
    GiftPreclearanceApproved,
    GiftPreclearanceDenied,
    GiftPreclearanceExpired,
    GiftPreclearanceRequested,
    GiftPreclearanceUsed,
    GiftPreclearanceWithdrawn,
)
from domain.values import PreclearanceStatus
from infrastructure.sql import Cursor, Table, ViewStore
from projections.base import Batch, LedgerProjection, Row, cents, day_text, from_utc_text, handles, money, utc_text
from projections.exception_rows import ExceptionContext, ExceptionRow

REQUESTS = Table(
    "pc_requests",
    (
        ("request_id", "text"),
        ("relationship_id", "text"),
        ("account_manager_id", "text"),
        ("requested_by", "text"),
        ("requested_at", "text"),
        ("planned_on", "text"),
        ("category", "text"),
        ("description", "text"),
        ("purpose", "text"),
        ("cost_cents", "int"),
        ("counted_cents", "int"),
        ("head_count", "int"),
        ("recipients", "text"),
        ("band", "text"),
        ("status", "text"),
        ("expires_on", "text"),
        ("decided_by", "text"),
        ("decided_at", "text"),
        ("decision_reason", "text"),
        ("gift_id", "text"),
        ("position", "int"),
        ("decided_position", "int"),
        ("version", "int"),
    ),
    key=("request_id",),
    indexes=(("position",), ("status", "expires_on"), ("account_manager_id", "position")),
)
"""One row per request; `status` as recorded (an approval past `expires_on` is read as expired)."""

_COLUMNS = ", ".join(REQUESTS.column_names)


@dataclass(frozen=True)
class RecipientNamed:
    recipient_id: str
    name: str
    employer: str


@dataclass(frozen=True)
class RequestRow:
    """A request as the view holds it, with its status on the firm's `today`."""

    request_id: str
    relationship_id: str
    client_name: str | None
    account_manager_id: str
    requested_by: str
    requested_at: datetime
    planned_on: date
    category: str
    description: str
    purpose: str
    cost: Decimal
    counted_value: Decimal
    head_count: int
    recipients: tuple[RecipientNamed, ...]
    band: str
    status: PreclearanceStatus
    expires_on: date | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    gift_id: str | None
    position: int
    version: int

    @classmethod
    def of(cls, row: Row, client_name: str | None, today: date) -> RequestRow:
        expires_on = date.fromisoformat(row["expires_on"]) if row["expires_on"] else None
        status = PreclearanceStatus(row["status"])
        if status is PreclearanceStatus.APPROVED and expires_on is not None and today > expires_on:
            status = PreclearanceStatus.EXPIRED
        return cls(
            request_id=row["request_id"],
            relationship_id=row["relationship_id"],
            client_name=client_name,
            account_manager_id=row["account_manager_id"],
            requested_by=row["requested_by"],
            requested_at=from_utc_text(row["requested_at"]),
            planned_on=date.fromisoformat(row["planned_on"]),
            category=row["category"],
            description=row["description"],
            purpose=row["purpose"],
            cost=money(row["cost_cents"]),
            counted_value=money(row["counted_cents"]),
            head_count=row["head_count"],
            recipients=tuple(RecipientNamed(**r) for r in orjson.loads(row["recipients"])),
            band=row["band"],
            status=status,
            expires_on=expires_on,
            decided_by=row["decided_by"],
            decided_at=from_utc_text(row["decided_at"]) if row["decided_at"] else None,
            decision_reason=row["decision_reason"],
            gift_id=row["gift_id"],
            position=row["position"],
            version=row["version"],
        )


class PreclearanceProjection(LedgerProjection):
    """Gift pre-clearance requests: who asked for what, for whom, and what compliance decided."""

    name = "preclearance"
    tables = (REQUESTS,)

    @handles(GiftPreclearanceRequested)
    def on_requested(self, event: GiftPreclearanceRequested, batch: Batch, position: int) -> None:
        batch.put(
            "pc_requests",
            {
                "request_id": str(event.originator_id),
                "relationship_id": str(event.relationship_id),
                "account_manager_id": str(event.account_manager_id),
                "requested_by": event.actor_id,
                "requested_at": utc_text(event.recorded_at),
                "planned_on": day_text(event.planned_on),
                "category": event.category.value,
                "description": event.description,
                "purpose": event.purpose,
                "cost_cents": cents(event.cost),
                "counted_cents": cents(event.counted_value),
                "head_count": len(event.recipients),
                "recipients": orjson.dumps(
                    [
                        {"recipient_id": str(r.recipient_id), "name": r.name, "employer": r.employer}
                        for r in event.recipients
                    ]
                ).decode(),
                "band": event.band.value,
                "status": PreclearanceStatus.PENDING.value,
                "expires_on": None,
                "decided_by": None,
                "decided_at": None,
                "decision_reason": None,
                "gift_id": None,
                "position": position,
                "decided_position": None,
                "version": event.originator_version,
            },
        )

    def _decided(self, event: Any, batch: Batch, position: int, **changes: Any) -> None:
        batch.update(
            "pc_requests",
            (str(event.originator_id),),
            decided_by=event.actor_id,
            decided_at=utc_text(event.recorded_at),
            decided_position=position,
            version=event.originator_version,
            **changes,
        )

    @handles(GiftPreclearanceApproved)
    def on_approved(self, event: GiftPreclearanceApproved, batch: Batch, position: int) -> None:
        self._decided(
            event,
            batch,
            position,
            status=PreclearanceStatus.APPROVED.value,
            expires_on=day_text(event.expires_on),
            decision_reason=event.reason,
        )

    @handles(GiftPreclearanceDenied)
    def on_denied(self, event: GiftPreclearanceDenied, batch: Batch, position: int) -> None:
        self._decided(event, batch, position, status=PreclearanceStatus.DENIED.value, decision_reason=event.reason)

    def _moved(self, event: Any, batch: Batch, **changes: Any) -> None:
        batch.update("pc_requests", (str(event.originator_id),), version=event.originator_version, **changes)

    @handles(GiftPreclearanceWithdrawn)
    def on_withdrawn(self, event: GiftPreclearanceWithdrawn, batch: Batch, position: int) -> None:
        self._moved(event, batch, status=PreclearanceStatus.WITHDRAWN.value)

    @handles(GiftPreclearanceUsed)
    def on_used(self, event: GiftPreclearanceUsed, batch: Batch, position: int) -> None:
        self._moved(event, batch, status=PreclearanceStatus.USED.value, gift_id=str(event.gift_id))

    @handles(GiftPreclearanceExpired)
    def on_expired(self, event: GiftPreclearanceExpired, batch: Batch, position: int) -> None:
        self._moved(event, batch, status=PreclearanceStatus.EXPIRED.value)


def _status_clause(status: PreclearanceStatus, today: date) -> tuple[str, list[Any]]:
    """SQL for the effective status on `today` (an approval past `expires_on` is expired)."""
    day = day_text(today)
    if status is PreclearanceStatus.APPROVED:
        return "status = ? AND expires_on >= ?", [status.value, day]
    if status is PreclearanceStatus.EXPIRED:
        return "(status = ? OR (status = ? AND expires_on < ?))", [status.value, "approved", day]
    return "status = ?", [status.value]


class PreclearanceReader:
    """Queries over the pre-clearance view."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def requests(
        self,
        *,
        today: date,
        status: PreclearanceStatus | None = None,
        account_manager_id: str | None = None,
        relationship_id: str | None = None,
        after_position: int = 0,
        limit: int | None = None,
    ) -> list[RequestRow]:
        """Requests oldest first, filtered by their status on `today`, after a paging position."""
        clauses = ["position > ?"]
        params: list[Any] = [after_position]
        if status is not None:
            clause, values = _status_clause(status, today)
            clauses.append(clause)
            params += values
        for column, value in (("account_manager_id", account_manager_id), ("relationship_id", relationship_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        statement = f"SELECT {_COLUMNS} FROM pc_requests WHERE {' AND '.join(clauses)} ORDER BY position"
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        return self._rows(statement, params, today)

    def by_ids(self, request_ids: Iterable[str], today: date | None = None) -> dict[str, RequestRow]:
        """The requests named (those the view holds), by id; statuses on `today` (as recorded without one)."""
        wanted = sorted(set(request_ids))
        if not wanted:
            return {}
        marks = ", ".join("?" for _ in wanted)
        statement = f"SELECT {_COLUMNS} FROM pc_requests WHERE request_id IN ({marks})"
        rows = self._rows(statement, wanted, today or date.min)
        return {row.request_id: row for row in rows}

    def expired_due(self, today: date) -> list[str]:
        """The approved requests whose expiry has passed on `today` but is not written yet (for the sweeper)."""
        statement = "SELECT request_id FROM pc_requests WHERE status = ? AND expires_on < ? ORDER BY position"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, ["approved", day_text(today)]).fetchall()
        return [str(row[0]) for row in rows]

    def _rows(self, statement: str, params: list[Any], today: date) -> list[RequestRow]:
        with self.view.reading() as cursor:
            found = [
                dict(zip(REQUESTS.column_names, row, strict=True))
                for row in cursor.execute(statement, params).fetchall()
            ]
            names = self._client_names(cursor, {row["relationship_id"] for row in found})
        return [RequestRow.of(row, names.get(row["relationship_id"]), today) for row in found]

    def _client_names(self, cursor: Cursor, relationship_ids: set[str]) -> dict[str, str]:
        if not relationship_ids or not self.view.table_exists(cursor, "wl_relationships"):
            return {}
        wanted = sorted(relationship_ids)
        marks = ", ".join("?" for _ in wanted)
        statement = f"SELECT relationship_id, client_name FROM wl_relationships WHERE relationship_id IN ({marks})"
        return {str(r[0]): str(r[1]) for r in cursor.execute(statement, wanted).fetchall()}


def exception_rows(view: ViewStore, context: ExceptionContext) -> list[ExceptionRow]:
    """Requests in the review band still waiting for compliance, planned in the limit year."""
    reader = PreclearanceReader(view)
    window = context.window
    rows = [
        row
        for row in reader.requests(today=context.today, status=PreclearanceStatus.PENDING)
        if window.contains(row.planned_on)
    ]
    found = []
    for row in rows:
        first = row.recipients[0]
        threshold = context.policy.programme_on(row.requested_at.astimezone(context.zone).date()).auto_approve_up_to
        found.append(
            ExceptionRow(
                kind=ExceptionKind.PRECLEARANCE_REVIEW,
                key=row.request_id,
                occurred_on=row.planned_on,
                summary=(
                    f"Pre-clearance request for {first.name} ({first.employer}) counting ${row.counted_value} per "
                    f"person awaits compliance's decision."
                ),
                amount=row.counted_value,
                threshold=threshold,
                recipient_id=first.recipient_id,
                name=first.name,
                employer=first.employer,
                account_manager_id=row.account_manager_id,
                relationship_id=row.relationship_id,
                related_ids=tuple(r.recipient_id for r in row.recipients[1:]),
                request_id=row.request_id,
            )
        )
    return found
