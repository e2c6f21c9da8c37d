"""Compliance cases: an exception opened, assigned, noted and resolved, every step on the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import CreateDep, LedgerDep, PageDep, ReaderOfEverythingDep, SystemDep, ViewsDep, WriteDep
from api.problems import problems
from api.routes.common import money, with_positions
from api.routes.events import event_public
from api.schemas.cases import (
    CaseAssignmentSet,
    CaseCreate,
    CaseNoteCreate,
    CaseReopeningCreate,
    CaseResolutionCreate,
)
from api.schemas.responses import CaseCommandPublic, CaseDetailPublic, CasePublic, CommandPublic, Page
from domain.application import Ledger
from domain.commands import CaseSubject
from domain.errors import InvalidInput, NotFound
from domain.exception_kinds import ExceptionKind
from domain.permissions import Action, check_allowed
from domain.values import CaseStatus, Role
from infrastructure.bootstrap import System
from infrastructure.tokens import TokenStore
from projections.cases import CaseRow, CasesReader
from projections.exception_rows import ExceptionContext, ExceptionRow
from projections.exceptions import ExceptionsReader
from projections.gift_register import GiftRegisterReader

router = APIRouter(prefix="/compliance/cases", tags=["compliance cases"])

CASE_WRITE_PROBLEMS = problems(
    "forbidden", "not_found", "rule_violation", "version_conflict", "precondition_failed", "validation_error"
)
ASSIGNABLE_ROLES = frozenset({Role.COMPLIANCE.value, Role.ADMIN.value})
TOKENS_READ = 1_000_000
"""Every token a firm issues (a few hundred at most): an assignee is looked for among them all."""


def exception_context(ledger: Ledger, year: int) -> ExceptionContext:
    """What the exception sources need to find `year`'s exceptions: the policy as the ledger holds it now, the
    firm's today, the clock and the firm's time zone."""
    policy = ledger.gift_policy()
    today = ledger.today()
    return ExceptionContext(
        year=year,
        window=GiftRegisterReader.window(policy.limit_year, year, today),
        today=today,
        now=ledger.clock(),
        zone=ledger.firm_timezone,
        policy=policy,
    )


def _uuid(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def subject_of(found: ExceptionRow) -> CaseSubject:
    """What compliance sees of an exception when it opens a case about it."""
    return CaseSubject(
        summary=found.summary[:2000],
        occurred_on=found.occurred_on,
        recipient_id=_uuid(found.recipient_id),
        account_manager_id=_uuid(found.account_manager_id),
        relationship_id=_uuid(found.relationship_id),
        gift_id=None if found.gift is None else _uuid(found.gift.gift_id),
        request_id=_uuid(found.request_id),
        received_gift_id=_uuid(found.received_gift_id),
        quarter=found.quarter,
        amount=found.amount,
        threshold=found.threshold,
    )


def _find_exception(system: System, kind: ExceptionKind, key: str, year: int | None) -> ExceptionRow:
    """The exception of `kind` named `key`, listed now in `year` (default: this year, then the one before)."""
    ledger = system.ledger
    this_year = ledger.today().year
    reader = ExceptionsReader(system.view)
    for looked_in in [year] if year is not None else [this_year, this_year - 1]:
        found = reader.find(exception_context(ledger, looked_in), kind, key)
        if found is not None:
            return found
    where = f"in {year}" if year is not None else f"in {this_year} or {this_year - 1}"
    msg = f"No {kind.value} exception {key!r} is listed {where}: a case is opened about an exception listed now."
    raise NotFound(msg)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseCommandPublic,
    responses=problems("forbidden", "not_found", "version_conflict", "projection_lagging", "validation_error"),
)
async def open_case(body: CaseCreate, views: ViewsDep, write: CreateDep, response: Response) -> CaseCommandPublic:
    """Opens the case about an exception listed now (compliance, admins); 200 with `created: false` if it exists."""
    check_allowed(write.audit.principal, Action.WORK_CASES)
    found = await run_in_threadpool(_find_exception, views, body.kind, body.key, body.year)
    result = await write.run(write.ledger.open_case, body.command(subject_of(found)))
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return CaseCommandPublic(id=result.id, version=result.version, position=result.position, created=result.created)


def _case_public(row: CaseRow) -> CasePublic:
    return CasePublic(
        case_id=UUID(row.case_id),
        kind=row.kind,
        key=row.key,
        status=row.status,
        assignee=row.assignee,
        outcome=row.outcome,
        summary=row.summary,
        occurred_on=row.occurred_on,
        recipient_id=_uuid(row.recipient_id),
        account_manager_id=_uuid(row.account_manager_id),
        relationship_id=_uuid(row.relationship_id),
        gift_id=_uuid(row.gift_id),
        request_id=_uuid(row.request_id),
        received_gift_id=_uuid(row.received_gift_id),
        quarter=row.quarter,
        amount=None if row.amount is None else money(row.amount),
        threshold=None if row.threshold is None else money(row.threshold),
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        updated_at=row.updated_at,
        notes=row.notes,
        version=row.version,
        position=row.position,
    )


@router.get(
    "",
    response_model=Page[CasePublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_cases(
    principal: ReaderOfEverythingDep,
    views: ViewsDep,
    page: PageDep,
    case_status: Annotated[CaseStatus | None, Query(alias="status", description="`open` or `resolved`.")] = None,
    kind: Annotated[ExceptionKind | None, Query(description="The kind of exception the case is about.")] = None,
    assignee: Annotated[
        str | None, Query(max_length=100, description="The token name the case is assigned to.")
    ] = None,
) -> Page[CasePublic]:
    """The compliance cases, oldest first, by status, kind and assignee (compliance, auditors, admins)."""
    found = CasesReader(views.view).cases(
        status=None if case_status is None else case_status.value,
        kind=None if kind is None else kind.value,
        assignee=assignee,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    return page.of(found, _case_public, lambda last: {"position": last.position})


def _case_detail(ledger: Ledger, case_id: UUID) -> CaseDetailPublic:
    case = ledger.compliance_case(case_id)
    trail = with_positions(ledger, case_id, list(ledger.history(case_id)))
    subject = case.subject
    return CaseDetailPublic(
        case_id=case.id,
        kind=case.kind.value,
        key=case.key,
        status=case.status.value,
        assignee=case.assignee,
        outcome=None if case.outcome is None else case.outcome.value,
        summary=subject.summary,
        occurred_on=subject.occurred_on,
        recipient_id=subject.recipient_id,
        account_manager_id=subject.account_manager_id,
        relationship_id=subject.relationship_id,
        gift_id=subject.gift_id,
        request_id=subject.request_id,
        received_gift_id=subject.received_gift_id,
        quarter=subject.quarter,
        amount=None if subject.amount is None else money(subject.amount),
        threshold=None if subject.threshold is None else money(subject.threshold),
        opened_at=trail[0].event.recorded_at,
        opened_by=trail[0].event.actor_id,
        updated_at=trail[-1].event.recorded_at,
        notes=case.notes,
        version=case.version,
        position=trail[0].position,
        trail=[event_public(event) for event in trail],
    )


@router.get(
    "/{case_id}",
    response_model=CaseDetailPublic,
    responses=problems("forbidden", "not_found"),
)
def get_case(
    case_id: UUID, principal: ReaderOfEverythingDep, ledger: LedgerDep, response: Response
) -> CaseDetailPublic:
    """One case as stored now, with its whole trail (who did what, when, under which request); `ETag` its version."""
    detail = _case_detail(ledger, case_id)
    response.headers["ETag"] = f'"{detail.version}"'
    return detail


def _check_assignable(tokens: TokenStore, assignee: str) -> None:
    """Refuses (422) an assignee that is not the name of an active compliance or admin token."""
    now = datetime.now(UTC)
    record = next((r for r in tokens.records(limit=TOKENS_READ) if r.name == assignee), None)
    if record is None:
        message = f"no token is named {assignee!r}: a case goes to a compliance or admin token"
        raise InvalidInput.of_field("assignee", message)
    if record.role not in ASSIGNABLE_ROLES or record.status(now) != "active":
        message = f"{assignee!r} is a {record.role} token, {record.status(now)}: a case goes to an active compliance "
        raise InvalidInput.of_field("assignee", message + "or admin token")


@router.post("/{case_id}/assignment", response_model=CommandPublic, responses=CASE_WRITE_PROBLEMS)
async def assign_case(case_id: UUID, body: CaseAssignmentSet, system: SystemDep, write: WriteDep) -> CommandPublic:
    """Gives an open case to a compliance officer or an admin, named by their token (compliance, admins)."""
    check_allowed(write.audit.principal, Action.WORK_CASES)
    await run_in_threadpool(_check_assignable, system.tokens, body.assignee)
    return await write.answer(write.ledger.assign_case, case_id, body.command())


@router.post(
    "/{case_id}/notes", status_code=status.HTTP_201_CREATED, response_model=CommandPublic, responses=CASE_WRITE_PROBLEMS
)
async def note_case(case_id: UUID, body: CaseNoteCreate, write: WriteDep) -> CommandPublic:
    """Adds a note to a case, open or resolved (compliance, admins)."""
    return await write.answer(write.ledger.note_case, case_id, body.command())


@router.post("/{case_id}/resolution", response_model=CommandPublic, responses=CASE_WRITE_PROBLEMS)
async def resolve_case(case_id: UUID, body: CaseResolutionCreate, write: WriteDep) -> CommandPublic:
    """Resolves an open case with its outcome and why (compliance, admins)."""
    return await write.answer(write.ledger.resolve_case, case_id, body.command())


@router.post("/{case_id}/reopening", response_model=CommandPublic, responses=CASE_WRITE_PROBLEMS)
async def reopen_case(case_id: UUID, body: CaseReopeningCreate, write: WriteDep) -> CommandPublic:
    """Reopens a resolved case, saying why (compliance, admins)."""
    return await write.answer(write.ledger.reopen_case, case_id, body.command())
