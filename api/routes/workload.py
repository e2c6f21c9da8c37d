"""Workload: one row per active account manager, against their capacity, worked out against the clock when asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from api.deps import PrincipalDep, ViewsDep, view_positions
from api.problems import problems
from api.ready_made import NOT_MODIFIED, IfNoneMatch, ReadyMade
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
from infrastructure.bootstrap import System
from projections.base import Row
from projections.pay import CreditedContract, Pay, PayProjection, PayReader
from projections.workload import RelationshipFacts, WorkloadProjection, WorkloadReader
from projections.workload_query import ManagerWorkload, WorkloadFacts, WorkloadFactsCache, WorkloadRow, workload_rows

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
    "/workload",
    response_model=list[WorkloadRowPublic],
    responses={**problems("projection_lagging", "validation_error"), **NOT_MODIFIED},
)
async def get_workload(
    request: Request,
    principal: PrincipalDep,
    views: ViewsDep,
    response: Response,
    year: QuotaYear = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One row per active account manager (an account manager sees only their own row).

    Served ready-made: the body is kept until the views move or the clock passes the next moment it depends on
    (a follow-up falling due, a demo entering or leaving the next 14 days); its `ETag` answers `If-None-Match`.
    """
    now = views.ledger.clock()  # the ledger's clock: a test can move it
    only = str(own) if (own := own_book(principal, Read.ACCOUNT_MANAGER)) else None
    facts_at = facts_key(request, year or now.year)
    ready: ReadyMade = request.app.state.ready_made
    body = await ready.serve(
        ("workload", facts_at[2], only), facts_at[:2], now, lambda: _workload_body(request, views, facts_at, only, now)
    )
    return body.response(if_none_match, {"X-Projection-Position": response.headers["X-Projection-Position"]})


FactsKey = tuple[int, int, int]
"""What the workload's facts depend on: the workload and pay views' positions, and the quota year."""


def facts_key(request: Request, year: int) -> FactsKey:
    positions = view_positions(request)
    return positions[WorkloadProjection.name], positions[PayProjection.name], year


def workload_facts(request: Request, views: System, facts_at: FactsKey) -> WorkloadFacts:
    """The facts at (or after) the positions the request saw, from the app's cache when they have not moved."""
    cache: WorkloadFactsCache = request.app.state.workload_facts
    return cache.get(facts_at, WorkloadReader(views.view), PayReader(views.view))


def _workload_body(
    request: Request, views: System, facts_at: FactsKey, only: str | None, now: datetime
) -> tuple[bytes, datetime | None]:
    facts = workload_facts(request, views, facts_at)
    rows = [row_public(row) for row in workload_rows(facts, now, only=only)]
    return _ROWS.dump_json(rows, by_alias=True), facts.holds_until(now)


_ROWS = TypeAdapter(list[WorkloadRowPublic])
