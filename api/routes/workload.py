"""Workload: one row per active account manager, worked out against the clock when asked."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request

from api.deps import PayDep, PrincipalDep, WorkloadDep
from api.problems import Problem, problems
from api.routes.common import money
from api.schemas import DemoPublic, ManagerWorkloadPublic, OverduePublic, PayPublic, WorkloadRowPublic
from domain.values import EARLIEST, LATEST, Role, Tier
from projections.base import utc_text
from projections.pay import Pay, PayProjection, PayReader
from projections.workload import UPCOMING, RelationshipFacts, WorkloadProjection, WorkloadReader

router = APIRouter(tags=["workload"])


def _attainment(signed: Decimal, quota: Decimal) -> str | None:
    return str((signed / quota).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) if quota > 0 else None


@dataclass(frozen=True)
class WorkloadFacts:
    """What the workload is worked out from, as the views hold it at one position; the clock is applied later."""

    managers: list[dict[str, Any]]
    open_relationships: list[RelationshipFacts]
    scheduled_demos: list[dict[str, Any]]
    proposals: dict[str, int]
    signed: dict[str, Decimal]
    quotas: dict[str, Decimal]

    def upcoming_demos(self, now: datetime) -> list[dict[str, Any]]:
        """The scheduled demos from `now` to 14 days ahead, soonest first."""
        start, end = utc_text(now), utc_text(now + UPCOMING)
        return [demo for demo in self.scheduled_demos if start <= demo["scheduled_for"] < end]

    @classmethod
    def read(cls, workload: WorkloadReader, pay: PayReader, year: int) -> WorkloadFacts:
        return cls(
            managers=workload.managers(active_only=True),
            open_relationships=workload.relationships(status="open"),
            scheduled_demos=workload.scheduled_demos(),
            proposals=workload.open_proposals(),
            signed=pay.signed_values(year),
            quotas=pay.quotas(year),
        )


class WorkloadFactsCache:
    """The last facts read, kept while the workload and pay views stay at the positions they were read at.

    Facts only change when a view moves, so a read at the same positions is
    answered from memory; "overdue" and "the next 14 days" are still worked out
    against the clock on every request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._facts: WorkloadFacts | None = None

    def get(self, workload: WorkloadReader, pay: PayReader, year: int) -> WorkloadFacts:
        positions = workload.view.tracking_positions([WorkloadProjection.name, PayProjection.name])
        key = (positions[WorkloadProjection.name], positions[PayProjection.name], year)
        with self._lock:
            if key == self._key and self._facts is not None:
                return self._facts
        facts = WorkloadFacts.read(workload, pay, year)  # read at or after `key`: never older
        with self._lock:
            self._key, self._facts = key, facts
        return facts


def workload_rows(facts: WorkloadFacts, now: datetime, only: str | None = None) -> list[WorkloadRowPublic]:
    """The workload of every active account manager (or only one), against the clock at `now`."""
    open_by_manager: dict[str, list[RelationshipFacts]] = defaultdict(list)
    for relationship in facts.open_relationships:
        open_by_manager[relationship.account_manager_id].append(relationship)
    demos = Counter(demo["account_manager_id"] for demo in facts.upcoming_demos(now))
    rows = []
    for manager in facts.managers:
        manager_id = manager["account_manager_id"]
        if only is not None and manager_id != only:
            continue
        relationships = open_by_manager[manager_id]
        by_tier = {tier.value: sum(1 for r in relationships if r.tier is tier) for tier in Tier}
        signed_value, quota = facts.signed.get(manager_id, Decimal(0)), facts.quotas.get(manager_id, Decimal(0))
        rows.append(
            WorkloadRowPublic(
                account_manager_id=manager_id,
                name=manager["name"],
                active_relationships=len(relationships),
                by_tier=by_tier,
                weighted_load=sum(Tier(tier).weight * count for tier, count in by_tier.items()),
                upcoming_demos=demos[manager_id],
                overdue_follow_ups=sum(1 for r in relationships if r.is_overdue(now)),
                open_proposals=facts.proposals.get(manager_id, 0),
                quota=money(quota),
                signed_value=money(signed_value),
                attainment=_attainment(signed_value, quota),
            )
        )
    return rows


def manager_workload(
    workload: WorkloadReader, pay: PayReader, manager_id: str, now: datetime, year: int
) -> ManagerWorkloadPublic:
    facts = WorkloadFacts.read(workload, pay, year)
    rows = workload_rows(facts, now, only=manager_id)
    if not rows:
        known = any(m["account_manager_id"] == manager_id for m in workload.managers())
        raise Problem(
            "not_found",
            f"Account manager {manager_id} is deactivated and carries no workload."
            if known
            else f"No account manager {manager_id} (in the views; pass min_position to wait for a recent one).",
        )
    # The demos and relationships come from the facts already read, not from the views again.
    demos = [_demo(demo) for demo in facts.upcoming_demos(now) if demo["account_manager_id"] == manager_id]
    overdue = [
        OverduePublic(
            relationship_id=relationship.relationship_id,
            client_name=relationship.client_name,
            tier=relationship.tier.value,
            last_contact_at=relationship.last_contact_at.isoformat() if relationship.last_contact_at else None,
            contact_due=relationship.contact_due().isoformat(),
        )
        for relationship in facts.open_relationships
        if relationship.account_manager_id == manager_id and relationship.is_overdue(now)
    ]
    return ManagerWorkloadPublic(**rows[0].model_dump(), demos=demos, overdue_relationships=overdue)


def _demo(row: dict[str, Any]) -> DemoPublic:
    return DemoPublic(
        demo_id=row["demo_id"],
        relationship_id=row["relationship_id"],
        client_name=row["client_name"],
        product=row["product"],
        scheduled_for=row["scheduled_for"],
        location=row["location"],
        staff=orjson.loads(row["staff"]),
    )


def pay_public(pay: Pay) -> PayPublic:
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
    )


@router.get(
    "/workload", response_model=list[WorkloadRowPublic], responses=problems("projection_lagging", "validation_error")
)
def get_workload(
    request: Request,
    principal: PrincipalDep,
    workload: WorkloadDep,
    pay: PayDep,
    year: Annotated[
        int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="Quota year (default: this year).")
    ] = None,
) -> list[WorkloadRowPublic]:
    """One row per active account manager (an account manager sees only their own row)."""
    now = datetime.now(UTC)
    only = str(principal.account_manager_id) if principal.role is Role.ACCOUNT_MANAGER else None
    facts = request.app.state.workload_facts.get(workload, pay, year or now.year)
    return workload_rows(facts, now, only=only)
