"""The workload as it is asked for: one row per active account manager, worked out against the clock when asked.

The facts (managers with their capacities, open relationships, scheduled
demos, proposals, signed value and quotas) come from the workload and pay
views; "overdue" and "the next 14 days" are worked out against the clock on
every read, and a capacity never set is the domain's default.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from domain.account_manager import capacity_or_default
from domain.errors import NotFound
from domain.values import Tier
from projections.base import Row, from_utc_text, utc_text
from projections.pay import PayReader
from projections.workload import UPCOMING, RelationshipFacts, WorkloadReader


def attainment(signed: Decimal, quota: Decimal) -> Decimal | None:
    """Signed value as a fraction of the quota, to four places (None without a quota)."""
    return (signed / quota).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if quota > 0 else None


@dataclass(frozen=True)
class WorkloadFacts:
    """What the workload is worked out from, as the views hold it at one position; the clock is applied later."""

    managers: list[Row]
    open_relationships: list[RelationshipFacts]
    scheduled_demos: list[Row]
    proposals: dict[str, int]
    signed: dict[str, Decimal]
    quotas: dict[str, Decimal]

    def upcoming_demos(self, now: datetime) -> list[Row]:
        """The scheduled demos from `now` to 14 days ahead, soonest first."""
        start, end = utc_text(now), utc_text(now + UPCOMING)
        return [demo for demo in self.scheduled_demos if start <= demo["scheduled_for"] < end]

    def holds_until(self, now: datetime) -> datetime | None:
        """The first moment from `now` on at which the clock alone could change what is worked out at `now`: an
        open relationship's contact falling due, a demo entering the next 14 days or passing (None: none ahead)."""
        moments = [due for due in (r.contact_due() for r in self.open_relationships) if due >= now]
        for demo in self.scheduled_demos:
            at = from_utc_text(demo["scheduled_for"])
            with contextlib.suppress(OverflowError):  # a demo stored before dates were bounded, at the calendar's edge
                moments.extend(moment for moment in (at - UPCOMING, at) if moment >= now)
        return min(moments, default=None)

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
        self._key: tuple[int, int, int] | None = None
        self._facts: WorkloadFacts | None = None

    def get(self, key: tuple[int, int, int], workload: WorkloadReader, pay: PayReader) -> WorkloadFacts:
        """The facts for `key`: the workload and pay views' positions as the caller read them, and the year."""
        with self._lock:
            if key == self._key and self._facts is not None:
                return self._facts
        facts = WorkloadFacts.read(workload, pay, key[2])  # read at or after the positions in `key`: never older
        with self._lock:
            self._key, self._facts = key, facts
        return facts


@dataclass(frozen=True)
class WorkloadRow:
    """One active account manager's load: relationships by tier, weighted against their capacity, and what is due,
    against the quota."""

    account_manager_id: str
    name: str
    active_relationships: int
    by_tier: dict[str, int]
    weighted_load: int
    upcoming_demos: int
    overdue_follow_ups: int
    open_proposals: int
    quota: Decimal
    signed_value: Decimal
    attainment: Decimal | None
    capacity: int
    """The weighted load they can carry: the one their manager set, or the default."""
    capacity_is_default: bool

    @property
    def overloaded(self) -> bool:
        """Whether their weighted load is over their capacity (at it is not over)."""
        return self.weighted_load > self.capacity


def workload_rows(facts: WorkloadFacts, now: datetime, only: str | None = None) -> list[WorkloadRow]:
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
            WorkloadRow(
                account_manager_id=manager_id,
                name=manager["name"],
                active_relationships=len(relationships),
                by_tier=by_tier,
                weighted_load=sum(Tier(tier).weight * count for tier, count in by_tier.items()),
                upcoming_demos=demos[manager_id],
                overdue_follow_ups=sum(1 for r in relationships if r.is_overdue(now)),
                open_proposals=facts.proposals.get(manager_id, 0),
                quota=quota,
                signed_value=signed_value,
                attainment=attainment(signed_value, quota),
                capacity=capacity_or_default(manager["capacity"]),
                capacity_is_default=manager["capacity"] is None,
            )
        )
    return rows


@dataclass(frozen=True)
class ManagerWorkload:
    """One account manager's workload row, with their demos in the next 14 days and their overdue relationships."""

    row: WorkloadRow
    demos: list[Row]
    overdue: list[RelationshipFacts]


def manager_workload(facts: WorkloadFacts, workload: WorkloadReader, manager_id: str, now: datetime) -> ManagerWorkload:
    """One active account manager's workload (NotFound for one deactivated, or not in the views yet)."""
    rows = workload_rows(facts, now, only=manager_id)
    if not rows:
        known = any(m["account_manager_id"] == manager_id for m in workload.managers())
        raise NotFound(
            f"Account manager {manager_id} is deactivated and carries no workload."
            if known
            else f"No account manager {manager_id} (in the views; pass min_position to wait for a recent one)."
        )
    # The demos and relationships come from the facts already read, not from the views again.
    return ManagerWorkload(
        row=rows[0],
        demos=[demo for demo in facts.upcoming_demos(now) if demo["account_manager_id"] == manager_id],
        overdue=[
            relationship
            for relationship in facts.open_relationships
            if relationship.account_manager_id == manager_id and relationship.is_overdue(now)
        ],
    )
