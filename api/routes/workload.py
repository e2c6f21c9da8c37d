"""Workload: one row per active account manager, against their capacity, worked out against the clock when asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request

from api.deps import PayDep, PrincipalDep, WorkloadDep
from api.problems import problems
from api.routes.common import money
from api.schemas.responses import (
    CreditedContractPublic,
    DemoPublic,
    ManagerWorkloadPublic,
    OverduePublic,
    PayPublic,
    WorkloadRowPublic,
)
from domain.permissions import Read, own_book
from domain.values import EARLIEST, LATEST
from projections.base import Row
from projections.pay import CreditedContract, Pay
from projections.workload import RelationshipFacts
from projections.workload_query import ManagerWorkload, WorkloadFactsCache, WorkloadRow, workload_rows

router = APIRouter(tags=["workload"])

QuotaYear = Annotated[
    int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="Quota year (default: this year).")
]


def row_public(row: WorkloadRow) -> WorkloadRowPublic:
    return WorkloadRowPublic(
        account_manager_id=row.account_manager_id,
        name=row.name,
        active_relationships=row.active_relationships,
        by_tier=row.by_tier,
        weighted_load=row.weighted_load,
        upcoming_demos=row.upcoming_demos,
        overdue_follow_ups=row.overdue_follow_ups,
        open_proposals=row.open_proposals,
        quota=money(row.quota),
        signed_value=money(row.signed_value),
        attainment=None if row.attainment is None else str(row.attainment),
        capacity=row.capacity,
        capacity_is_default=row.capacity_is_default,
        overloaded=row.overloaded,
    )


def manager_workload_public(workload: ManagerWorkload) -> ManagerWorkloadPublic:
    return ManagerWorkloadPublic(
        **row_public(workload.row).model_dump(),
        demos=[_demo(demo) for demo in workload.demos],
        overdue_relationships=[_overdue(relationship) for relationship in workload.overdue],
    )


def _demo(row: Row) -> DemoPublic:
    return DemoPublic(
        demo_id=row["demo_id"],
        relationship_id=row["relationship_id"],
        client_name=row["client_name"],
        product=row["product"],
        scheduled_for=row["scheduled_for"],
        location=row["location"],
        staff=orjson.loads(row["staff"]),
    )


def _overdue(relationship: RelationshipFacts) -> OverduePublic:
    return OverduePublic(
        relationship_id=relationship.relationship_id,
        client_name=relationship.client_name,
        tier=relationship.tier.value,
        last_contact_at=relationship.last_contact_at.isoformat() if relationship.last_contact_at else None,
        contact_due=relationship.contact_due().isoformat(),
    )


def pay_public(pay: Pay, contracts: Sequence[CreditedContract]) -> PayPublic:
    return PayPublic(
        account_manager_id=pay.account_manager_id,
        year=pay.year,
        signed_value=money(pay.signed_value),
        quota=money(pay.quota),
        attainment=None if pay.attainment is None else str(pay.attainment),
        commission=money(pay.commission),
        bonus=money(pay.bonus),
        base_salary=money(pay.base_salary),
        total=money(pay.total),
        contracts=[
            CreditedContractPublic(
                contract_id=c.contract_id,
                relationship_id=c.relationship_id,
                signed_on=c.signed_on,
                value=money(c.value),
            )
            for c in contracts
        ],
    )


@router.get(
    "/workload", response_model=list[WorkloadRowPublic], responses=problems("projection_lagging", "validation_error")
)
def get_workload(
    request: Request, principal: PrincipalDep, workload: WorkloadDep, pay: PayDep, year: QuotaYear = None
) -> list[WorkloadRowPublic]:
    """One row per active account manager (an account manager sees only their own row)."""
    now = datetime.now(UTC)
    only = own_book(principal, Read.ACCOUNT_MANAGER)
    cache: WorkloadFactsCache = request.app.state.workload_facts
    facts = cache.get(workload, pay, year or now.year)
    return [row_public(row) for row in workload_rows(facts, now, only=str(only) if only else None)]
