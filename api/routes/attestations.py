"""Quarterly attestations: each account manager attests that every gift and entertainment is recorded."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

from api.deps import CreateDep, PageDep, PrincipalDep, ViewsDep
from api.problems import problems
from api.schemas.programme import (
    AttestationCommandPublic,
    AttestationCreate,
    AttestationPublic,
    CountsPublic,
)
from api.schemas.responses import Page
from domain.permissions import Read, own_book
from domain.quarters import Quarter
from domain.values import QuarterLabel
from projections.attestations import AttestationRow, AttestationsReader, Counts

router = APIRouter(tags=["attestations"])

Status = Literal["not_required", "due", "submitted", "late", "overdue"]


@router.post(
    "/account-managers/{account_manager_id}/attestations",
    status_code=status.HTTP_201_CREATED,
    response_model=AttestationCommandPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "version_conflict", "validation_error"),
)
async def submit_attestation(
    account_manager_id: UUID, body: AttestationCreate, write: CreateDep
) -> AttestationCommandPublic:
    """Attests, once, that every gift and entertainment of an ended quarter, given and received, is recorded."""
    result = await write.run(write.ledger.submit_attestation, account_manager_id, body.command())
    return AttestationCommandPublic(
        id=result.id,
        version=result.version,
        position=result.position,
        quarter=result.quarter,
        due_on=result.due_on,
        late=result.late,
    )


def _counts(counts: Counts) -> CountsPublic:
    return CountsPublic(
        gifts_given=counts.gifts_given,
        entertainment_given=counts.entertainment_given,
        gifts_received=counts.gifts_received,
        entertainment_received=counts.entertainment_received,
    )


def _public(row: AttestationRow) -> AttestationPublic:
    return AttestationPublic(
        account_manager_id=UUID(row.account_manager_id),
        name=row.name,
        quarter=row.quarter,
        due_on=row.due_on,
        required=row.required,
        status=row.status,
        submitted_at=None if row.submitted_at is None else row.submitted_at.isoformat(),
        attested=None if row.attested is None else _counts(row.attested),
        recorded=_counts(row.recorded),
        statement=row.statement,
    )


@router.get(
    "/attestations",
    response_model=Page[AttestationPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_attestations(
    principal: PrincipalDep,
    system: ViewsDep,
    page: PageDep,
    quarter: Annotated[
        QuarterLabel | None, Query(description="YYYY-Qn (default: the last quarter that has ended).")
    ] = None,
    account_manager_id: UUID | None = None,
    status: Status | None = None,
) -> Page[AttestationPublic]:
    """A quarter's attestations, made and expected, by account manager name (an account manager: their own)."""
    manager = own_book(principal, Read.ATTESTATIONS, asked=account_manager_id)
    ledger = system.ledger
    today = ledger.today()
    label = quarter or Quarter.of(today).previous().label
    rows = AttestationsReader(system.view).quarter(
        label,
        today,
        ledger.clock(),
        ledger.firm_timezone,
        ledger.gift_policy(),
        account_manager_id=None if manager is None else str(manager),
    )
    return page.by_offset([row for row in rows if status is None or row.status == status], _public)
