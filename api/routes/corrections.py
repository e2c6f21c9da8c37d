"""Correction requests: what account managers asked to correct in pay, the managers' queue, and the decisions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Response

from api.deps import AuditDep, ExpectedVersionDep, LedgerDep, PageDep, PrincipalDep, WorkloadDep
from api.problems import problems
from api.routes.common import check_sees_relationship, command_done
from api.schemas import CommandPublic, CorrectionApproval, CorrectionRequestPublic, Page, Reasoned
from domain.relationship import CorrectionRequest, CorrectionStatus
from domain.values import Role

router = APIRouter(tags=["corrections"])

DECISION_PROBLEMS = problems(
    "forbidden", "not_found", "rule_violation", "version_conflict", "precondition_failed", "validation_error"
)


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
    """The relationship's correction requests, open and decided, in the order they were made."""
    relationship = ledger.relationship(relationship_id)
    check_sees_relationship(principal, relationship.account_manager_id)
    after = page.after_int("version")
    requests = sorted(
        (r for r in relationship.correction_requests.values() if r.requested_version > after),
        key=lambda r: r.requested_version,
    )
    items = requests[: page.limit]
    return Page(
        items=[request_public(relationship_id, r, relationship.client_name) for r in items],
        next_cursor=page.next_cursor(len(requests) > page.limit, version=items[-1].requested_version if items else 0),
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
    relationship = ledger.relationship(relationship_id)
    check_sees_relationship(principal, relationship.account_manager_id)
    return request_public(relationship_id, relationship.correction_request(request_id), relationship.client_name)


@router.post(
    "/relationships/{relationship_id}/correction-requests/{request_id}/approval",
    response_model=CommandPublic,
    responses=DECISION_PROBLEMS,
)
def approve_correction(
    relationship_id: UUID,
    request_id: UUID,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
    body: CorrectionApproval | None = None,
) -> CommandPublic:
    """Approves an open request (managers and admins): the correction is checked again and applied at once."""
    result = ledger.approve_correction(
        audit,
        relationship_id,
        request_id,
        reason=body.reason if body else None,
        expected_version=expected_version,
    )
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


@router.post(
    "/relationships/{relationship_id}/correction-requests/{request_id}/rejection",
    response_model=CommandPublic,
    responses=DECISION_PROBLEMS,
)
def reject_correction(
    relationship_id: UUID,
    request_id: UUID,
    body: Reasoned,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Rejects an open request (managers and admins): nothing it asked for is applied."""
    result = ledger.reject_correction(
        audit, relationship_id, request_id, reason=body.reason, expected_version=expected_version
    )
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


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
    requested_by = str(principal.account_manager_id) if principal.role is Role.ACCOUNT_MANAGER else None
    rows = workload.correction_requests(
        status=status.value if status else None,
        requested_by=requested_by,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    items = rows[: page.limit]
    return Page(
        items=[_queue_item(row) for row in items],
        next_cursor=page.next_cursor(len(rows) > page.limit, position=items[-1]["position"] if items else 0),
    )
