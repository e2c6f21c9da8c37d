"""Account managers: registration, quotas, compensation plans, capacities, deactivation, workload and pay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response, status

from api.deps import CreateDep, LedgerDep, PageDep, PayDep, PrincipalDep, ViewsDep, WorkloadDep, WriteDep
from api.problems import problems
from api.ready_made import NOT_MODIFIED, IfNoneMatch, ReadyMade
from api.routes.common import money
from api.routes.workload import FactsKey, QuotaYear, facts_key, manager_workload_public, pay_public, workload_facts
from api.schemas.requests import AccountManagerCreate, CapacitySet, CompensationPlanSet, Deactivation, QuotaSet
from api.schemas.responses import (
    AccountManagerListItem,
    AccountManagerPublic,
    CommandPublic,
    ManagerWorkloadPublic,
    Page,
    PayPublic,
)
from domain.permissions import Read, check_allowed, own_book
from domain.values import EARLIEST, LATEST
from infrastructure.bootstrap import System
from projections.base import Row
from projections.workload import WorkloadReader
from projections.workload_query import manager_workload

router = APIRouter(prefix="/account-managers", tags=["account managers"])
Year = Annotated[int, Path(ge=EARLIEST.year, le=LATEST.year)]
MANAGER_WRITE_PROBLEMS = problems("forbidden", "not_found", "rule_violation", "precondition_failed", "validation_error")


def _list_item(row: Row) -> AccountManagerListItem:
    return AccountManagerListItem(
        id=row["account_manager_id"], name=row["name"], email=row["email"], active=bool(row["active"])
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=problems("forbidden", "validation_error"),
)
async def register_account_manager(body: AccountManagerCreate, write: CreateDep) -> CommandPublic:
    """Registers an account manager (managers and admins)."""
    return await write.answer(write.ledger.register_account_manager, body.command())


@router.get(
    "", response_model=Page[AccountManagerListItem], responses=problems("validation_error", "projection_lagging")
)
def list_account_managers(
    principal: PrincipalDep, workload: WorkloadDep, page: PageDep
) -> Page[AccountManagerListItem]:
    """Lists account managers in the order they were registered (an account manager sees only themself)."""
    only = own_book(principal, Read.ACCOUNT_MANAGER)
    rows = workload.managers(
        after_position=page.after_int("position"), limit=page.limit + 1, account_manager_id=str(only) if only else None
    )
    return page.of(rows, _list_item, lambda last: {"position": last["position"]})


@router.get("/{account_manager_id}", response_model=AccountManagerPublic, responses=problems("forbidden", "not_found"))
def get_account_manager(
    account_manager_id: UUID, principal: PrincipalDep, ledger: LedgerDep, response: Response
) -> AccountManagerPublic:
    """An account manager's record: active or not, quotas and plans per year."""
    check_allowed(principal, Read.ACCOUNT_MANAGER, account_manager_id=account_manager_id)
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
        capacity=manager.capacity_in_force,
        capacity_is_default=manager.capacity is None,
    )


@router.put("/{account_manager_id}/quotas/{year}", response_model=CommandPublic, responses=MANAGER_WRITE_PROBLEMS)
async def set_quota(account_manager_id: UUID, year: Year, body: QuotaSet, write: WriteDep) -> CommandPublic:
    """Sets an account manager's quota for a year (managers and admins)."""
    return await write.answer(write.ledger.set_quota, account_manager_id, year, body.command())


@router.put(
    "/{account_manager_id}/compensation-plans/{year}", response_model=CommandPublic, responses=MANAGER_WRITE_PROBLEMS
)
async def set_compensation_plan(
    account_manager_id: UUID, year: Year, body: CompensationPlanSet, write: WriteDep
) -> CommandPublic:
    """Sets an account manager's compensation plan for a year (rates are decimal strings such as "0.05")."""
    plan = body.command()
    return await write.answer(write.ledger.set_compensation_plan, account_manager_id, year, plan)


@router.put("/{account_manager_id}/capacity", response_model=CommandPublic, responses=MANAGER_WRITE_PROBLEMS)
async def set_capacity(account_manager_id: UUID, body: CapacitySet, write: WriteDep) -> CommandPublic:
    """Sets the weighted load an account manager can carry (managers and admins); the workload shows who is over it."""
    return await write.answer(write.ledger.set_capacity, account_manager_id, body.command())


@router.post("/{account_manager_id}/deactivation", response_model=CommandPublic, responses=MANAGER_WRITE_PROBLEMS)
async def deactivate_account_manager(account_manager_id: UUID, body: Deactivation, write: WriteDep) -> CommandPublic:
    """Deactivates an account manager; they can no longer be assigned."""
    return await write.answer(write.ledger.deactivate_account_manager, account_manager_id, body.command())


@router.get(
    "/{account_manager_id}/workload",
    response_model=ManagerWorkloadPublic,
    responses={**problems("forbidden", "not_found", "projection_lagging", "validation_error"), **NOT_MODIFIED},
)
async def get_manager_workload(
    request: Request,
    account_manager_id: UUID,
    principal: PrincipalDep,
    views: ViewsDep,
    response: Response,
    year: QuotaYear = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One account manager's workload row, with their demos in the next 14 days and their overdue relationships.

    Served ready-made, as `GET /workload` is.
    """
    check_allowed(principal, Read.ACCOUNT_MANAGER, account_manager_id=account_manager_id)
    now = views.ledger.clock()  # the ledger's clock: a test can move it
    facts_at, manager_id = facts_key(request, year or now.year), str(account_manager_id)
    ready: ReadyMade = request.app.state.ready_made
    body = await ready.serve(
        ("manager-workload", facts_at[2], manager_id),
        facts_at[:2],
        now,
        lambda: _manager_workload_body(request, views, facts_at, manager_id, now),
    )
    return body.response(if_none_match, {"X-Projection-Position": response.headers["X-Projection-Position"]})


def _manager_workload_body(
    request: Request, views: System, facts_at: FactsKey, manager_id: str, now: datetime
) -> tuple[bytes, datetime | None]:
    facts = workload_facts(request, views, facts_at)
    workload = manager_workload(facts, WorkloadReader(views.view), manager_id, now)
    return manager_workload_public(workload).model_dump_json(by_alias=True).encode(), facts.holds_until(now)


@router.get(
    "/{account_manager_id}/pay/{year}",
    response_model=PayPublic,
    responses=problems("forbidden", "not_found", "projection_lagging", "validation_error"),
)
def get_pay(account_manager_id: UUID, year: Year, principal: PrincipalDep, ledger: LedgerDep, pay: PayDep) -> PayPublic:
    """An account manager's pay for a year: signed value, quota, attainment, commission, bonus and total."""
    check_allowed(principal, Read.ACCOUNT_MANAGER, account_manager_id=account_manager_id)
    ledger.account_manager(account_manager_id)  # 404 for an unknown manager
    return pay_public(pay.pay(str(account_manager_id), year), pay.credited_contracts(str(account_manager_id), year))
