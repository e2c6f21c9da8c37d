"""Gift pre-clearance: an account manager asks before giving; compliance approves or denies."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.deps import CreateDep, GiftRegisterDep, LedgerDep, PageDep, PrincipalDep, WriteDep
from api.problems import problems
from api.routes.common import money
from api.schemas.preclearance import (
    PreclearanceApproval,
    PreclearanceCommandPublic,
    PreclearanceCreate,
    PreclearanceDenial,
    PreclearancePublic,
    PreclearanceRecipientPublic,
    PreclearanceWithdrawal,
    RecipientYearPublic,
)
from api.schemas.responses import Page
from domain.errors import DomainError, Forbidden
from domain.permissions import Read, check_allowed, own_book
from domain.preclearance_commands import PreclearanceResult
from domain.values import PreclearanceStatus, Principal, Role
from projections.gift_register import GiftRegisterReader
from projections.preclearance import PreclearanceReader, RecipientNamed, RequestRow

router = APIRouter(prefix="/preclearance-requests", tags=["pre-clearance"])

DECISION_PROBLEMS = problems(
    "forbidden",
    "not_found",
    "rule_violation",
    "gift_limit_exceeded",
    "version_conflict",
    "precondition_failed",
    "validation_error",
)


def _answer(result: PreclearanceResult) -> PreclearanceCommandPublic:
    return PreclearanceCommandPublic(
        id=result.id,
        version=result.version,
        position=result.position,
        status=result.status,
        band=result.band,
        counted_value=money(result.counted_value),
        expires_on=result.expires_on,
        recipient_ids=list(result.recipient_ids),
    )


def _year(register: GiftRegisterReader, recipient_id: str, day: date, today: date) -> RecipientYearPublic | None:
    try:
        found = register.headroom_of(recipient_id, day, today)
    except DomainError:  # not in the register yet (the view lags), or a day before the schedule
        return None
    return RecipientYearPublic(
        limit_year=found.limit_year,
        limit=money(found.limit),
        counted=money(found.counted),
        reserved=money(found.reserved),
        headroom=money(found.headroom),
    )


def _shown(row: RequestRow, register: GiftRegisterReader, today: date) -> PreclearancePublic:
    def recipient(named: RecipientNamed) -> PreclearanceRecipientPublic:
        return PreclearanceRecipientPublic(
            recipient_id=UUID(named.recipient_id),
            name=named.name,
            employer=named.employer,
            year=_year(register, named.recipient_id, row.planned_on, today),
        )

    return PreclearancePublic(
        request_id=UUID(row.request_id),
        relationship_id=UUID(row.relationship_id),
        client_name=row.client_name,
        account_manager_id=UUID(row.account_manager_id),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        planned_on=row.planned_on,
        category=row.category,
        description=row.description,
        purpose=row.purpose,
        cost=money(row.cost),
        counted_value=money(row.counted_value),
        band=row.band,
        status=row.status,
        expires_on=row.expires_on,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        gift_id=None if row.gift_id is None else UUID(row.gift_id),
        version=row.version,
        recipients=[recipient(named) for named in row.recipients],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PreclearanceCommandPublic,
    responses=problems(
        "forbidden",
        "not_found",
        "rule_violation",
        "gift_limit_exceeded",
        "likely_same_recipient",
        "version_conflict",
        "validation_error",
    ),
)
async def request_preclearance(
    body: PreclearanceCreate, write: CreateDep, response: Response
) -> PreclearanceCommandPublic:
    """Asks before giving: approved at once within the auto band, else pending for compliance; over anyone's
    headroom it is refused with the figures (`gift_limit_exceeded`, with `reserved`)."""
    result = await write.run(write.ledger.request_preclearance, body.command())
    response.headers["Location"] = f"/v1/preclearance-requests/{result.id}"
    return _answer(result)


@router.get(
    "",
    response_model=Page[PreclearancePublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_preclearance_requests(
    principal: PrincipalDep,
    ledger: LedgerDep,
    register: GiftRegisterDep,
    page: PageDep,
    status: Annotated[PreclearanceStatus | None, Query(description="Only requests with this status today.")] = None,
    account_manager_id: Annotated[UUID | None, Query(description="Only this account manager's requests.")] = None,
    relationship_id: Annotated[UUID | None, Query(description="Only requests on this relationship.")] = None,
) -> Page[PreclearancePublic]:
    """Pre-clearance requests oldest first, each person's limit year beside them (compliance's queue is
    `status=pending`); an account manager sees their own."""
    book = own_book(principal, Read.PRECLEARANCE, asked=account_manager_id)
    today = ledger.today()
    found = PreclearanceReader(register.view).requests(
        today=today,
        status=status,
        account_manager_id=None if book is None else str(book),
        relationship_id=None if relationship_id is None else str(relationship_id),
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    return page.of(found, lambda row: _shown(row, register, today), lambda row: {"position": row.position})


def _check_may_read(principal: Principal, account_manager_ids: set[UUID]) -> None:
    check_allowed(principal, Read.PRECLEARANCE, account_manager_id=principal.account_manager_id)
    if principal.role is Role.ACCOUNT_MANAGER and principal.account_manager_id not in account_manager_ids:
        msg = "This pre-clearance request is neither yours nor on a relationship assigned to you."
        raise Forbidden(msg)


@router.get(
    "/{request_id}",
    response_model=PreclearancePublic,
    responses=problems("forbidden", "not_found", "projection_lagging", "validation_error"),
)
def get_preclearance_request(
    request_id: UUID, principal: PrincipalDep, ledger: LedgerDep, register: GiftRegisterDep, response: Response
) -> PreclearancePublic:
    """One pre-clearance request as the ledger holds it now, its status on the firm's today, with an `ETag`."""
    request = ledger.preclearance(request_id)
    relationship = ledger.relationship(request.relationship_id)
    _check_may_read(principal, {request.account_manager_id, relationship.account_manager_id})
    today = ledger.today()
    response.headers["ETag"] = f'"{request.version}"'
    row = RequestRow(
        request_id=str(request.id),
        relationship_id=str(request.relationship_id),
        client_name=relationship.client_name,
        account_manager_id=str(request.account_manager_id),
        requested_by=request.requested_by,
        requested_at=request.created_on,
        planned_on=request.planned_on,
        category=request.category.value,
        description=request.description,
        purpose=request.purpose,
        cost=request.cost,
        counted_value=request.counted_value,
        head_count=len(request.recipients),
        recipients=tuple(
            RecipientNamed(recipient_id=str(r.recipient_id), name=r.name, employer=r.employer)
            for r in request.recipients
        ),
        band=request.band.value,
        status=request.status_on(today),
        expires_on=request.expires_on,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        decision_reason=request.decision_reason,
        gift_id=None if request.gift_id is None else str(request.gift_id),
        position=0,
        version=request.version,
    )
    return _shown(row, register, today)


@router.post("/{request_id}/approval", response_model=PreclearanceCommandPublic, responses=DECISION_PROBLEMS)
async def approve_preclearance(
    request_id: UUID, body: PreclearanceApproval, write: WriteDep
) -> PreclearanceCommandPublic:
    """Approves a pending request (compliance or an admin, not its requester), reserving its counted value on
    each person until it is used or `expires_on` passes."""
    return _answer(await write.run(write.ledger.approve_preclearance, request_id, body.command()))


@router.post("/{request_id}/denial", response_model=PreclearanceCommandPublic, responses=DECISION_PROBLEMS)
async def deny_preclearance(request_id: UUID, body: PreclearanceDenial, write: WriteDep) -> PreclearanceCommandPublic:
    """Denies a pending request (compliance or an admin), saying why."""
    return _answer(await write.run(write.ledger.deny_preclearance, request_id, body.command()))


@router.post("/{request_id}/withdrawal", response_model=PreclearanceCommandPublic, responses=DECISION_PROBLEMS)
async def withdraw_preclearance(
    request_id: UUID, body: PreclearanceWithdrawal, write: WriteDep
) -> PreclearanceCommandPublic:
    """Withdraws a pending request or a usable approval, releasing what it reserved."""
    return _answer(await write.run(write.ledger.withdraw_preclearance, request_id, body.command()))
