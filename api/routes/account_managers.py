"""Account managers: registration, quotas, compensation plans, deactivation, workload and pay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import AuditDep, ExpectedVersionDep, LedgerDep, PageDep, PayDep, PrincipalDep, WorkloadDep
from api.problems import problems
from api.routes.common import check_own_manager, command_done, money
from api.routes.workload import manager_workload, pay_public
from api.schemas import (
    AccountManagerCreate,
    AccountManagerListItem,
    AccountManagerPublic,
    CommandPublic,
    CompensationPlanSet,
    Deactivation,
    ManagerWorkloadPublic,
    Page,
    PayPublic,
    QuotaSet,
)
from domain.values import EARLIEST, LATEST, Role

router = APIRouter(prefix="/account-managers", tags=["account managers"])
Year = Annotated[int, Path(ge=EARLIEST.year, le=LATEST.year)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=problems("forbidden", "validation_error"),
)
def register_account_manager(
    body: AccountManagerCreate, audit: AuditDep, ledger: LedgerDep, response: Response
) -> CommandPublic:
    """Registers an account manager (managers and admins)."""
    result = ledger.register_account_manager(audit, name=body.name, email=body.email)
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


@router.get(
    "", response_model=Page[AccountManagerListItem], responses=problems("validation_error", "projection_lagging")
)
def list_account_managers(
    principal: PrincipalDep, workload: WorkloadDep, page: PageDep
) -> Page[AccountManagerListItem]:
    """Lists account managers in the order they were registered (an account manager sees only themself)."""
    only = str(principal.account_manager_id) if principal.role is Role.ACCOUNT_MANAGER else None
    rows = workload.managers(after_position=page.after_int("position"), limit=page.limit + 1, account_manager_id=only)
    items = rows[: page.limit]
    return Page(
        items=[
            AccountManagerListItem(
                id=row["account_manager_id"], name=row["name"], email=row["email"], active=bool(row["active"])
            )
            for row in items
        ],
        next_cursor=page.next_cursor(len(rows) > page.limit, position=items[-1]["position"] if items else 0),
    )


@router.get("/{account_manager_id}", response_model=AccountManagerPublic, responses=problems("forbidden", "not_found"))
def get_account_manager(
    account_manager_id: UUID, principal: PrincipalDep, ledger: LedgerDep, response: Response
) -> AccountManagerPublic:
    """An account manager's record: active or not, quotas and plans per year."""
    check_own_manager(principal, account_manager_id)
    manager = ledger.account_manager(account_manager_id)
    response.headers["ETag"] = f'"{manager.version}"'
    return AccountManagerPublic(
        id=manager.id,
        name=manager.name,
        email=manager.email,
        active=manager.active,
        version=manager.version,
        quotas={str(year): money(amount) for year, amount in sorted(manager.quotas.items())},
        compensation_plans={
            str(year): {name: str(value) for name, value in plan.model_dump().items()}
            for year, plan in sorted(manager.plans.items())
        },
    )


@router.put(
    "/{account_manager_id}/quotas/{year}",
    response_model=CommandPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "precondition_failed", "validation_error"),
)
def set_quota(
    account_manager_id: UUID,
    year: Year,
    body: QuotaSet,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Sets an account manager's quota for a year (managers and admins)."""
    result = ledger.set_quota(
        audit, account_manager_id, year=year, amount=body.amount, expected_version=expected_version
    )
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


@router.put(
    "/{account_manager_id}/compensation-plans/{year}",
    response_model=CommandPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "precondition_failed", "validation_error"),
)
def set_compensation_plan(
    account_manager_id: UUID,
    year: Year,
    body: CompensationPlanSet,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Sets an account manager's compensation plan for a year (rates are decimal strings such as "0.05")."""
    result = ledger.set_compensation_plan(
        audit, account_manager_id, year=year, plan=body.model_dump(), expected_version=expected_version
    )
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


@router.post(
    "/{account_manager_id}/deactivation",
    response_model=CommandPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "precondition_failed", "validation_error"),
)
def deactivate_account_manager(
    account_manager_id: UUID,
    body: Deactivation,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Deactivates an account manager; they can no longer be assigned."""
    result = ledger.deactivate_account_manager(
        audit, account_manager_id, reason=body.reason, expected_version=expected_version
    )
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


@router.get(
    "/{account_manager_id}/workload",
    response_model=ManagerWorkloadPublic,
    responses=problems("forbidden", "not_found", "projection_lagging", "validation_error"),
)
def get_manager_workload(
    account_manager_id: UUID,
    principal: PrincipalDep,
    workload: WorkloadDep,
    pay: PayDep,
    year: Annotated[
        int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="Quota year (default: this year).")
    ] = None,
) -> ManagerWorkloadPublic:
    """One account manager's workload row, with their demos in the next 14 days and their overdue relationships."""
    check_own_manager(principal, account_manager_id)
    now = datetime.now(UTC)
    return manager_workload(workload, pay, str(account_manager_id), now, year or now.year)


@router.get(
    "/{account_manager_id}/pay/{year}",
    response_model=PayPublic,
    responses=problems("forbidden", "not_found", "projection_lagging", "validation_error"),
)
def get_pay(account_manager_id: UUID, year: Year, principal: PrincipalDep, ledger: LedgerDep, pay: PayDep) -> PayPublic:
    """An account manager's pay for a year: signed value, quota, attainment, commission, bonus and total."""
    check_own_manager(principal, account_manager_id)
    ledger.account_manager(account_manager_id)  # 404 for an unknown manager
    return pay_public(pay.pay(str(account_manager_id), year))
