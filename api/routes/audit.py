"""The audit trail: the global feed, per actor, and exports of everything recorded up to a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import LARGEST_INTEGER, AdminDep, AuditIndexDep, LedgerDep, PageDep, ReaderOfEverythingDep, SystemDep
from api.problems import problems
from api.routes.events import audit_event_public
from api.schemas import AccessPublic, AuditEventPublic, Page, SealPublic, SealRecordPublic, VerificationPublic
from domain.values import ReadingMoment, clamped
from infrastructure.bootstrap import System
from infrastructure.integrity import Seal, fingerprint
from infrastructure.verification import local_public_key

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
    "topic",
    "stored_state",
)


@router.get("/events", response_model=Page[AuditEventPublic], responses=problems("forbidden", "validation_error"))
def global_feed(
    principal: ReaderOfEverythingDep,
    ledger: LedgerDep,
    system: SystemDep,
    page: PageDep,
    after: Annotated[
        int | None, Query(ge=0, le=LARGEST_INTEGER, description="Only events after this global position.")
    ] = None,
) -> Page[AuditEventPublic]:
    """Every event of the ledger, oldest first, with its aggregate and audit fields."""
    start = page.after_int("position", after or 0)
    notifications = ledger.recorder.select_notifications(start=start + 1, limit=page.limit + 1)
    items = notifications[: page.limit]
    hashes = system.integrity.hashes_at([n.id for n in items])
    events = [audit_event_public(ledger.decode(n), n.id, hashes.get(n.id)) for n in items]
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
    actor_id: str, principal: ReaderOfEverythingDep, system: SystemDep, index: AuditIndexDep, page: PageDep
) -> Page[AuditEventPublic]:
    """Everything one principal recorded, oldest first."""
    start = page.after_int("position")
    found = index.by_actor(actor_id, after=start, limit=page.limit + 1)
    items = found[: page.limit]
    ledger = system.ledger
    notifications = ledger.recorder.select_notifications_at([e.position for e in items])  # type: ignore[attr-defined]
    hashes = system.integrity.hashes_at([n.id for n in notifications])
    events = [audit_event_public(ledger.decode(n), n.id, hashes.get(n.id)) for n in notifications]
    return Page(
        items=events,
        next_cursor=page.next_cursor(len(found) > page.limit, position=items[-1].position if items else start),
    )


@router.get("/access-log", response_model=Page[AccessPublic], responses=problems("forbidden", "validation_error"))
def access_log(principal: AdminDep, system: SystemDep, page: PageDep) -> Page[AccessPublic]:
    """Every read by an auditor or compliance principal (who, what, when, the status answered), for admins."""
    entries = system.access_log.entries(
        after=page.after_text("at"), after_id=page.after_text("id"), limit=page.limit + 1
    )
    items = entries[: page.limit]
    last = items[-1] if items else None
    return Page(
        items=[AccessPublic(**vars(entry)) for entry in items],
        next_cursor=page.next_cursor(
            len(entries) > page.limit, at=last.at if last else "", id=last.correlation_id if last else ""
        ),
    )


@router.get("/verify", response_model=VerificationPublic, responses=problems("forbidden"))
def verify(principal: ReaderOfEverythingDep, system: SystemDep) -> VerificationPublic:
    """Recomputes every hash chain and every seal's root and signature, each seal held to the ledger's own key."""
    result = system.integrity.verify(public_key=local_public_key(system.settings.signing_key_path))
    last = result.last_seal
    return VerificationPublic(
        ok=result.ok,
        events_checked=result.events_checked,
        seals_checked=result.seals_checked,
        first_bad_position=result.first_bad_position,
        problems=result.problems[:100],
        last_seal=SealPublic(position=last.position, size=last.size, sealed_at=last.sealed_at) if last else None,
        rotations_checked=result.rotations_checked,
        key_fingerprint=fingerprint(result.first_key) if result.first_key else None,
        current_key_fingerprint=fingerprint(result.current_key) if result.current_key else None,
        key_confirmed=result.key_confirmed,
    )


@router.get("/seals", response_model=Page[SealRecordPublic], responses=problems("forbidden", "validation_error"))
def seals(principal: ReaderOfEverythingDep, system: SystemDep, page: PageDep) -> Page[SealRecordPublic]:
    """Every seal and key rotation in log order, with its root, signature and key, for checking outside the ledger."""
    after = None
    if page.after:
        after = (page.after_int("position"), page.after_int("kind"), page.after_text("at"))
    found = system.integrity.seal_page(after, page.limit + 1)
    items = found[: page.limit]
    last = items[-1] if items else None
    return Page(
        items=[seal_record_public(seal) for seal in items],
        next_cursor=page.next_cursor(
            len(found) > page.limit,
            position=last.position if last else 0,
            kind=1 if last and last.is_rotation else 0,
            at=last.sealed_at if last and last.is_rotation else "",
        ),
    )


def seal_record_public(seal: Seal) -> SealRecordPublic:
    new_key = seal.new_public_key
    return SealRecordPublic(
        kind="rotation" if new_key else "seal",
        position=seal.position,
        size=seal.size,
        root=seal.root.hex(),
        signature=seal.signature.hex(),
        public_key=seal.public_key.hex(),
        key_fingerprint=fingerprint(seal.public_key),
        sealed_at=seal.sealed_at,
        new_public_key=new_key.hex() if new_key else None,
        new_key_fingerprint=fingerprint(new_key) if new_key else None,
        new_key_signature=seal.new_key_signature.hex() if seal.new_key_signature else None,
    )


@router.get(
    "/export",
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        **problems("forbidden", "validation_error"),
    },
)
def export(
    principal: ReaderOfEverythingDep,
    system: SystemDep,
    as_of: Annotated[ReadingMoment | None, Query(description="Events recorded up to this time (default: now).")] = None,
    format: Annotated[Literal["jsonl", "csv"], Query(description="`jsonl` or `csv`.")] = "jsonl",  # noqa: A002
) -> StreamingResponse:
    """Every event recorded up to `as_of`, with all audit fields, streamed in constant memory."""
    until = clamped(as_of) if as_of is not None else datetime.now(UTC)
    if format == "csv":
        return StreamingResponse(csv_lines(system, until), media_type="text/csv")
    return StreamingResponse(jsonl_lines(system, until), media_type="application/x-ndjson")


def recorded_until(system: System, until: datetime) -> Iterator[dict[str, Any]]:
    """Every event recorded at or before `until`, a page at a time (constant memory): the audit fields, the
    hash, and the topic and state exactly as stored, so an examiner can recompute every hash independently."""
    ledger = system.ledger
    for notifications in ledger.log_pages(EXPORT_PAGE):
        hashes = system.integrity.hashes_at([n.id for n in notifications])
        for notification in notifications:
            event = ledger.decode(notification)
            if event.recorded_at <= until:
                row = audit_event_public(event, notification.id, hashes.get(notification.id)).model_dump(mode="json")
                row["topic"] = notification.topic
                row["stored_state"] = notification.state.decode()
                yield row


def jsonl_lines(system: System, until: datetime) -> Iterator[bytes]:
    for row in recorded_until(system, until):
        yield orjson.dumps(row) + b"\n"


def csv_lines(system: System, until: datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in recorded_until(system, until):
        row["data"] = orjson.dumps(row["data"]).decode()
        writer.writerow([row[column] for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
