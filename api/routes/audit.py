"""The audit trail: the global feed, per actor, and exports of everything recorded up to a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import LARGEST_INTEGER, AdminDep, AuditIndexDep, LedgerDep, PageDep, ReaderOfEverythingDep, SystemDep
from api.problems import problems
from api.routes.events import audit_event_public
from api.schemas.responses import AccessPublic, AuditEventPublic, Page, SealPublic, SealRecordPublic, VerificationPublic
from domain.values import ReadingMoment, clamped
from infrastructure.integrity import Seal, fingerprint
from infrastructure.verification import local_public_key
from projections.export import csv_lines, jsonl_lines
from projections.history import events_at, log_page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "/events",
    response_model=Page[AuditEventPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def global_feed(
    principal: ReaderOfEverythingDep,
    ledger: LedgerDep,
    system: SystemDep,
    index: AuditIndexDep,
    page: PageDep,
    after: Annotated[
        int | None, Query(ge=0, le=LARGEST_INTEGER, description="Only events after this global position.")
    ] = None,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=LARGEST_INTEGER,
            description="The page that ends just before this global position: the last `limit` events before it "
            "(still oldest first; `next_cursor` continues after it). From the audit index.",
        ),
    ] = None,
    actor_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Only events recorded by this actor (the `actor_id` on them).",
        ),
    ] = None,
    type: Annotated[  # noqa: A002 - the event's `type`, as each item names it
        str | None,
        Query(min_length=1, max_length=100, pattern=r"^[A-Za-z]+$", description="Only events of this type."),
    ] = None,
    aggregate_id: Annotated[UUID | None, Query(description="Only events of this aggregate.")] = None,
) -> Page[AuditEventPublic]:
    """Every event of the ledger, oldest first, with its aggregate and audit fields; filtered by actor, event
    type and aggregate (all optional, combined), and paged forward (`after`, cursor) or back (`before`)."""
    start = page.after_int("position", after or 0)
    if before is None and actor_id is None and type is None and aggregate_id is None:
        events = log_page(ledger, system.integrity, after=start, limit=page.limit + 1)
        return page.of(events, audit_event_public, lambda last: {"position": last.position})
    found = index.matching(
        actor_id=actor_id,
        event_type=type,
        aggregate_id=str(aggregate_id) if aggregate_id else None,
        after=start,
        before=before,
        limit=page.limit + 1,
    )
    if before is not None:
        # The page ending before `before` is the last `limit` found; the cursor goes on after its last event.
        found = found[-page.limit :]
        events = events_at(system.ledger, system.integrity, [entry.position for entry in found])
        items = [audit_event_public(event) for event in events]
        more = bool(found) and bool(
            index.matching(
                actor_id=actor_id,
                event_type=type,
                aggregate_id=str(aggregate_id) if aggregate_id else None,
                after=found[-1].position,
                limit=1,
            )
        )
        return Page(items=items, next_cursor=page.next_cursor(more, position=found[-1].position) if more else None)
    events = events_at(system.ledger, system.integrity, [entry.position for entry in found])
    return page.of(events, audit_event_public, lambda last: {"position": last.position})


class AuditActorPublic(BaseModel):
    """Someone who recorded events: the actor id stored on them (a token's name), their role, how many, the last."""

    actor_id: str
    actor_role: str
    events: int
    last_recorded_at: str


@router.get("/actors", response_model=Page[AuditActorPublic], responses=problems("forbidden", "validation_error"))
def actors(principal: ReaderOfEverythingDep, index: AuditIndexDep, page: PageDep) -> Page[AuditActorPublic]:
    """Everyone who has recorded an event, by actor id (from the audit index), so a feed can be filtered by actor."""
    # A cursor is the server's own; a NUL (which PostgreSQL refuses in text) can only come from one altered by hand.
    found = index.actors(after=page.after_text("actor_id").replace("\x00", ""), limit=page.limit + 1)
    return page.of(
        found,
        lambda row: AuditActorPublic(actor_id=row[0], actor_role=row[1], events=row[2], last_recorded_at=row[3]),
        lambda last: {"actor_id": last[0]},
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
    found = index.by_actor(actor_id, after=page.after_int("position"), limit=page.limit + 1)
    events = events_at(system.ledger, system.integrity, [entry.position for entry in found])
    return page.of(events, audit_event_public, lambda last: {"position": last.position})


@router.get("/access-log", response_model=Page[AccessPublic], responses=problems("forbidden", "validation_error"))
def access_log(principal: AdminDep, system: SystemDep, page: PageDep) -> Page[AccessPublic]:
    """Every read by an auditor or compliance principal (who, what, when, the status answered), for admins."""
    entries = system.access_log.entries(
        after=page.after_text("at"), after_id=page.after_text("id"), limit=page.limit + 1
    )
    return page.of(
        entries, lambda entry: AccessPublic(**vars(entry)), lambda last: {"at": last.at, "id": last.correlation_id}
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
    return page.of(found, seal_record_public, _after_seal)


def _after_seal(last: Seal) -> dict[str, Any]:
    return {
        "position": last.position,
        "kind": 1 if last.is_rotation else 0,
        "at": last.sealed_at if last.is_rotation else "",
    }


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
