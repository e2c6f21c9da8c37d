"""Correction requests: what account managers asked to correct in pay, the managers' queue, and the decisions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter

from api.deps import LedgerDep, PageDep, PrincipalDep, WorkloadDep, WriteDep
from api.problems import problems
from api.routes.common import WRITE_PROBLEMS, visible_relationship
from api.schemas.requests import CorrectionApproval, Reasoned
from api.schemas.responses import CommandPublic, CorrectionRequestPublic, Page
from domain.commands import ApproveCorrection, RejectCorrection
from domain.permissions import Read, own_book
from domain.relationship import CorrectionRequest, CorrectionStatus

router = APIRouter(tags=["corrections"])


def request_public(relationship_id: UUID, request: CorrectionRequest, client_name: str) -> CorrectionRequestPublic:
    return CorrectionRequestPublic(
        request_id=request.request_id,
        relationship_id=relationship_id,
        client_name=client_name,
        status=request.status.value,
        corrects_version=request.corrects_version,
        corrected_type=request.corrected_type,
        target=request.target,
        reason=request.reason,
        changes=request.changes,
        requested_by=request.requested_by,
        requester_id=request.requester_id,
        requested_at=request.requested_at.isoformat(),
        requested_version=request.requested_version,
        decided_at=request.decided_at.isoformat() if request.decided_at else None,
        decided_by=request.decided_by,
        decided_version=request.decided_version,
        decision_reason=request.decision_reason,
    )


def _queue_item(row: dict[str, Any]) -> CorrectionRequestPublic:
    return CorrectionRequestPublic(**{**row, "changes": orjson.loads(row["changes"])})


@router.get(
    "/relationships/{relationship_id}/correction-requests",
    response_model=Page[CorrectionRequestPublic],
    responses=problems("forbidden", "not_found", "validation_error"),
)
def list_relationship_correction_requests(
    relationship_id: UUID, principal: PrincipalDep, ledger: LedgerDep, page: PageDep
) -> Page[CorrectionRequestPublic]:
    """The relationship's correction requests, open and decided, in the order they were made.

    Its former account manager sees those made while they managed it and those about contracts credited to them.
    """
    relationship, reach = visible_relationship(principal, ledger, relationship_id)
    after = page.after_int("version")
    requests = sorted(
        (
            r
            for r in relationship.correction_requests.values()
            if r.requested_version > after and reach.may_read_event(r.requested_version)
        ),
        key=lambda r: r.requested_version,
    )
    return page.of(
        requests,
        lambda r: request_public(relationship_id, r, relationship.client_name),
        lambda last: {"version": last.requested_version},
    )


@router.get(
    "/relationships/{relationship_id}/correction-requests/{request_id}",
    response_model=CorrectionRequestPublic,
    responses=problems("forbidden", "not_found", "validation_error"),
)
def get_correction_request(
    relationship_id: UUID, request_id: UUID, principal: PrincipalDep, ledger: LedgerDep
) -> CorrectionRequestPublic:
    """One correction request and, once decided, who decided it, when and why."""
    relationship, reach = visible_relationship(principal, ledger, relationship_id)
    request = relationship.correction_request(request_id)
    reach.check_request(request.requested_version)
    return request_public(relationship_id, request, relationship.client_name)


@router.post(
    "/relationships/{relationship_id}/correction-requests/{request_id}/approval",
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def approve_correction(
    relationship_id: UUID, request_id: UUID, write: WriteDep, body: CorrectionApproval | None = None
) -> CommandPublic:
    """Approves an open request (managers and admins): the correction is checked again and applied at once."""
    command = body.command() if body else ApproveCorrection()
    return await write.answer(write.ledger.approve_correction, relationship_id, request_id, command)


@router.post(
    "/relationships/{relationship_id}/correction-requests/{request_id}/rejection",
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def reject_correction(relationship_id: UUID, request_id: UUID, body: Reasoned, write: WriteDep) -> CommandPublic:
    """Rejects an open request (managers and admins): nothing it asked for is applied."""
    command = body.command(RejectCorrection)
    return await write.answer(write.ledger.reject_correction, relationship_id, request_id, command)


@router.get(
    "/correction-requests",
    response_model=Page[CorrectionRequestPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_correction_requests(
    principal: PrincipalDep,
    workload: WorkloadDep,
    page: PageDep,
    status: CorrectionStatus | None = None,
) -> Page[CorrectionRequestPublic]:
    """The queue of correction requests, oldest first (`status=open` for those awaiting a decision).

    Managers, admins, compliance and auditors see every request; an account manager sees their own.
    """
    requested_by = own_book(principal, Read.ACCOUNT_MANAGER)
    rows = workload.correction_requests(
        status=status.value if status else None,
        requested_by=str(requested_by) if requested_by else None,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    return page.of(rows, _queue_item, lambda last: {"position": last["position"]})
