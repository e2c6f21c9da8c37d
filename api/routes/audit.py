"""The audit trail: the global feed, per actor, and exports of everything recorded up to a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api.deps import AuditIndexDep, AuditorDep, LedgerDep, PageDep
from api.problems import problems
from api.routes.events import audit_event_public
from api.schemas import AuditEventPublic, Page
from domain.application import Ledger
from domain.model import LedgerEvent

router = APIRouter(prefix="/audit", tags=["audit"])
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
)


@router.get("/events", response_model=Page[AuditEventPublic], responses=problems("forbidden", "validation_error"))
def global_feed(
    principal: AuditorDep,
    ledger: LedgerDep,
    page: PageDep,
    after: Annotated[int | None, Query(ge=0, description="Only events after this global position.")] = None,
) -> Page[AuditEventPublic]:
    """Every event of the ledger, oldest first, with its aggregate and audit fields."""
    start = int(page.after.get("position", after or 0))
    notifications = ledger.recorder.select_notifications(start=start + 1, limit=page.limit + 1)
    items = notifications[: page.limit]
    events = [audit_event_public(ledger.decode(n), n.id) for n in items]
    return Page(
        items=events,
        next_cursor=page.next_cursor(len(notifications) > page.limit, position=items[-1].id if items else start),
    )


@router.get(
    "/actors/{actor_id}/events",
    response_model=Page[AuditEventPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def actor_events(
    actor_id: str, principal: AuditorDep, ledger: LedgerDep, index: AuditIndexDep, page: PageDep
) -> Page[AuditEventPublic]:
    """Everything one principal recorded, oldest first."""
    start = int(page.after.get("position", 0))
    found = index.by_actor(actor_id, after=start, limit=page.limit + 1)
    items = found[: page.limit]
    notifications = ledger.recorder.select_notifications_at([e.position for e in items])  # type: ignore[attr-defined]
    events = [audit_event_public(ledger.decode(n), n.id) for n in notifications]
    return Page(
        items=events,
        next_cursor=page.next_cursor(len(found) > page.limit, position=items[-1].position if items else start),
    )


@router.get(
    "/export",
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        **problems("forbidden", "validation_error"),
    },
)
def export(
    principal: AuditorDep,
    ledger: LedgerDep,
    as_of: Annotated[AwareDatetime | None, Query(description="Events recorded up to this time (default: now).")] = None,
    format: Annotated[Literal["jsonl", "csv"], Query(description="`jsonl` or `csv`.")] = "jsonl",  # noqa: A002
) -> StreamingResponse:
    """Every event recorded up to `as_of`, with all audit fields, streamed in constant memory."""
    until = as_of or datetime.now(UTC)
    if format == "csv":
        return StreamingResponse(csv_lines(ledger, until), media_type="text/csv")
    return StreamingResponse(jsonl_lines(ledger, until), media_type="application/x-ndjson")


def recorded_until(ledger: Ledger, until: datetime) -> Iterator[tuple[int, LedgerEvent]]:
    """Every event recorded at or before `until`, a page at a time."""
    start = 1
    while notifications := ledger.recorder.select_notifications(start=start, limit=EXPORT_PAGE):
        for notification in notifications:
            event = ledger.decode(notification)
            if event.recorded_at <= until:
                yield notification.id, event
        start = notifications[-1].id + 1


def jsonl_lines(ledger: Ledger, until: datetime) -> Iterator[bytes]:
    for position, event in recorded_until(ledger, until):
        yield orjson.dumps(audit_event_public(event, position).model_dump(mode="json")) + b"\n"


def csv_lines(ledger: Ledger, until: datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for position, event in recorded_until(ledger, until):
        row = audit_event_public(event, position).model_dump(mode="json")
        row["data"] = orjson.dumps(row["data"]).decode()
        writer.writerow([row[column] for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
