"""The workload view: account managers, their relationships, demos and contracts, as facts.

"Overdue" and "in the next 14 days" depend on the clock, so they are worked
out when the view is read, never stored. A manager's capacity is stored only
once set (empty otherwise), so the default applies when the view is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from domain.account_manager import CapacitySet, Deactivated, Registered
from domain.relationship import (
    AccountManagerAssigned,
    Closed,
    ContactCadenceChanged,
    ContactLogged,
    ContractProposed,
    ContractSigned,
    ContractTerminated,
    CorrectionApproved,
    CorrectionRejected,
    CorrectionRequested,
    CorrectionStatus,
    DemoCancelled,
    DemoCompleted,
    DemoRescheduled,
    DemoScheduled,
    EntryCorrected,
    Opened,
    RelationshipEvent,
    Reopened,
    StaffMember,
    TierChanged,
)
from domain.values import ContractStatus, DemoStatus, RelationshipStatus, Tier
from infrastructure.sql import Cursor, Table, ViewStore
from projections.base import Batch, LedgerProjection, Row, cents, day_text, from_utc_text, handles, utc_text

UPCOMING = timedelta(days=14)

MANAGERS = Table(
    "wl_managers",
    (
        ("account_manager_id", "text"),
        ("name", "text"),
        ("email", "text"),
        ("active", "int"),
        ("position", "int"),
        ("capacity", "int"),
    ),
    key=("account_manager_id",),
    indexes=(("position",),),
)
"""Account managers; `capacity` is the one their manager set (null: none set, the default applies)."""
RELATIONSHIPS = Table(
    "wl_relationships",
    (
        ("relationship_id", "text"),
        ("client_name", "text"),
        ("client_kind", "text"),
        ("industry", "text"),
        ("tier", "text"),
        ("status", "text"),
        ("account_manager_id", "text"),
        ("cadence_days", "int"),
        ("last_contact_at", "text"),
        ("next_follow_up_on", "text"),
        ("opened_at", "text"),
        ("position", "int"),
        ("version", "int"),
    ),
    key=("relationship_id",),
    indexes=(("account_manager_id", "position"), ("position",)),
)
DEMOS = Table(
    "wl_demos",
    (
        ("demo_id", "text"),
        ("relationship_id", "text"),
        ("product", "text"),
        ("scheduled_for", "text"),
        ("location", "text"),
        ("staff", "text"),
        ("status", "text"),
    ),
    key=("demo_id",),
    indexes=(("relationship_id",), ("status", "scheduled_for")),
)
CONTRACTS = Table(
    "wl_contracts",
    (
        ("contract_id", "text"),
        ("relationship_id", "text"),
        ("title", "text"),
        ("value_cents", "int"),
        ("status", "text"),
    ),
    key=("contract_id",),
    indexes=(("relationship_id",),),
)
CORRECTION_REQUESTS = Table(
    "wl_correction_requests",
    (
        ("request_id", "text"),
        ("relationship_id", "text"),
        ("requested_version", "int"),
        ("requested_at", "text"),
        ("requested_by", "text"),
        ("requester_id", "text"),
        ("corrects_version", "int"),
        ("corrected_type", "text"),
        ("target", "text"),
        ("reason", "text"),
        ("changes", "text"),
        ("status", "text"),
        ("decided_version", "int"),
        ("decided_at", "text"),
        ("decided_by", "text"),
        ("decision_reason", "text"),
        ("position", "int"),
    ),
    key=("request_id",),
    indexes=(("status", "position"), ("requested_by", "position"), ("position",)),
)
"""Correction requests, open and decided: the queue managers work through."""


def _staff_text(staff: list[StaffMember]) -> str:
    return orjson.dumps([member.model_dump(mode="json") for member in staff]).decode()


class WorkloadProjection(LedgerProjection):
    """Who carries which relationships, with their contacts, demos and open proposals."""

    name = "workload"
    tables = (MANAGERS, RELATIONSHIPS, DEMOS, CONTRACTS, CORRECTION_REQUESTS)

    def create_tables(self, cursor: Cursor, *, rebuilding: bool = False) -> None:
        super().create_tables(cursor, rebuilding=rebuilding)
        if not rebuilding:
            # A view made before capacities gains the column, empty in every row: right, since no capacity can
            # have been set before the event existed.
            self.view.add_missing_columns(cursor, MANAGERS)

    @handles(Registered)
    def on_registered(self, event: Registered, batch: Batch, position: int) -> None:
        batch.put(
            "wl_managers",
            {
                "account_manager_id": str(event.originator_id),
                "name": event.name,
                "email": event.email,
                "active": 1,
                "position": position,
                "capacity": None,
            },
        )

    @handles(CapacitySet)
    def on_capacity_set(self, event: CapacitySet, batch: Batch, position: int) -> None:
        batch.update("wl_managers", (str(event.originator_id),), capacity=event.capacity)

    @handles(Deactivated)
    def on_deactivated(self, event: Deactivated, batch: Batch, position: int) -> None:
        batch.update("wl_managers", (str(event.originator_id),), active=0)

    @handles(Opened)
    def on_opened(self, event: Opened, batch: Batch, position: int) -> None:
        batch.put(
            "wl_relationships",
            {
                "relationship_id": str(event.originator_id),
                "client_name": event.client_name,
                "client_kind": event.client_kind.value,
                "industry": event.industry.value,
                "tier": event.tier.value,
                "status": RelationshipStatus.OPEN.value,
                "account_manager_id": str(event.account_manager_id),
                "cadence_days": None,
                "last_contact_at": None,
                "next_follow_up_on": None,
                "opened_at": utc_text(event.recorded_at),
                "position": position,
                "version": event.originator_version,
            },
        )

    def on_other(self, event: Any, batch: Batch, position: int) -> None:
        # Every other relationship event (a product introduction, a gift, entertainment)
        # still moves the relationship's version, which the list shows.
        if isinstance(event, RelationshipEvent):
            self._relationship(batch, event)

    def _relationship(self, batch: Batch, event: Any, **changes: Any) -> None:
        batch.update("wl_relationships", (str(event.originator_id),), version=event.originator_version, **changes)

    @handles(AccountManagerAssigned)
    def on_account_manager_assigned(self, event: AccountManagerAssigned, batch: Batch, position: int) -> None:
        self._relationship(batch, event, account_manager_id=str(event.account_manager_id))

    @handles(TierChanged)
    def on_tier_changed(self, event: TierChanged, batch: Batch, position: int) -> None:
        self._relationship(batch, event, tier=event.tier.value)

    @handles(ContactCadenceChanged)
    def on_contact_cadence_changed(self, event: ContactCadenceChanged, batch: Batch, position: int) -> None:
        self._relationship(batch, event, cadence_days=event.days)

    @handles(ContactLogged)
    def on_contact_logged(self, event: ContactLogged, batch: Batch, position: int) -> None:
        row = batch.get("wl_relationships", str(event.originator_id))
        occurred = utc_text(event.occurred_at)
        if row is not None and (row["last_contact_at"] is None or occurred >= row["last_contact_at"]):
            follow_up = day_text(event.next_follow_up_on) if event.next_follow_up_on else None
            self._relationship(batch, event, last_contact_at=occurred, next_follow_up_on=follow_up)
        else:
            self._relationship(batch, event)

    @handles(Closed)
    def on_closed(self, event: Closed, batch: Batch, position: int) -> None:
        self._relationship(batch, event, status=RelationshipStatus.CLOSED.value)

    @handles(Reopened)
    def on_reopened(self, event: Reopened, batch: Batch, position: int) -> None:
        self._relationship(batch, event, status=RelationshipStatus.OPEN.value)

    @handles(DemoScheduled)
    def on_demo_scheduled(self, event: DemoScheduled, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.put(
            "wl_demos",
            {
                "demo_id": str(event.demo_id),
                "relationship_id": str(event.originator_id),
                "product": event.product,
                "scheduled_for": utc_text(event.scheduled_for),
                "location": event.location,
                "staff": _staff_text(event.staff),
                "status": DemoStatus.SCHEDULED.value,
            },
        )

    @handles(DemoRescheduled)
    def on_demo_rescheduled(self, event: DemoRescheduled, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.update("wl_demos", (str(event.demo_id),), scheduled_for=utc_text(event.scheduled_for))

    @handles(DemoCompleted)
    def on_demo_completed(self, event: DemoCompleted, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.update("wl_demos", (str(event.demo_id),), status=DemoStatus.COMPLETED.value)

    @handles(DemoCancelled)
    def on_demo_cancelled(self, event: DemoCancelled, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.update("wl_demos", (str(event.demo_id),), status=DemoStatus.CANCELLED.value)

    @handles(ContractProposed)
    def on_contract_proposed(self, event: ContractProposed, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.put(
            "wl_contracts",
            {
                "contract_id": str(event.contract_id),
                "relationship_id": str(event.originator_id),
                "title": event.title,
                "value_cents": cents(event.value),
                "status": ContractStatus.PROPOSED.value,
            },
        )

    @handles(ContractSigned)
    def on_contract_signed(self, event: ContractSigned, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.update(
            "wl_contracts",
            (str(event.contract_id),),
            status=ContractStatus.SIGNED.value,
            value_cents=cents(event.value),
        )

    @handles(ContractTerminated)
    def on_contract_terminated(self, event: ContractTerminated, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.update("wl_contracts", (str(event.contract_id),), status=ContractStatus.TERMINATED.value)

    @handles(EntryCorrected)
    def on_entry_corrected(self, event: EntryCorrected, batch: Batch, position: int) -> None:
        changes = event.changes
        if event.corrected_type == Opened.TOPIC:
            self._relationship(batch, event, **changes)
        elif event.latest_contact is not None:
            contact = event.latest_contact
            follow_up = day_text(contact.next_follow_up_on) if contact.next_follow_up_on else None
            self._relationship(batch, event, last_contact_at=utc_text(contact.occurred_at), next_follow_up_on=follow_up)
        else:
            self._relationship(batch, event)
        if event.corrected_type == DemoScheduled.TOPIC and event.target:
            demo: dict[str, Any] = {k: v for k, v in changes.items() if k in ("product", "location")}
            if "staff" in changes:
                demo["staff"] = orjson.dumps(changes["staff"]).decode()  # validated JSON already
            batch.update("wl_demos", (event.target,), **demo)
        elif event.corrected_type in (ContractProposed.TOPIC, ContractSigned.TOPIC) and event.target:
            contract: dict[str, Any] = {}
            if "title" in changes:
                contract["title"] = changes["title"]
            if "value" in changes:
                contract["value_cents"] = cents(Decimal(changes["value"]))
            batch.update("wl_contracts", (event.target,), **contract)

    @handles(CorrectionRequested)
    def on_correction_requested(self, event: CorrectionRequested, batch: Batch, position: int) -> None:
        self._relationship(batch, event)
        batch.put(
            "wl_correction_requests",
            {
                "request_id": str(event.request_id),
                "relationship_id": str(event.originator_id),
                "requested_version": event.originator_version,
                "requested_at": utc_text(event.recorded_at),
                "requested_by": str(event.requested_by),
                "requester_id": event.actor_id,
                "corrects_version": event.corrects_version,
                "corrected_type": event.corrected_type,
                "target": event.target,
                "reason": event.reason,
                "changes": orjson.dumps(event.changes).decode(),  # validated JSON already
                "status": CorrectionStatus.OPEN.value,
                "decided_version": None,
                "decided_at": None,
                "decided_by": None,
                "decision_reason": None,
                "position": position,
            },
        )

    @handles(CorrectionApproved, CorrectionRejected)
    def on_correction_decided(
        self, event: CorrectionApproved | CorrectionRejected, batch: Batch, position: int
    ) -> None:
        self._relationship(batch, event)
        decided = CorrectionStatus.APPROVED if isinstance(event, CorrectionApproved) else CorrectionStatus.REJECTED
        batch.update(
            "wl_correction_requests",
            (str(event.request_id),),
            status=decided.value,
            decided_version=event.originator_version,
            decided_at=utc_text(event.recorded_at),
            decided_by=event.actor_id,
            decision_reason=event.reason,
        )


# -- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class RelationshipFacts:
    """A relationship as the workload sees it."""

    relationship_id: str
    client_name: str
    client_kind: str
    industry: str
    tier: Tier
    status: str
    account_manager_id: str
    cadence_days: int | None
    last_contact_at: datetime | None
    next_follow_up_on: date | None
    opened_at: datetime
    position: int
    version: int

    @classmethod
    def from_row(cls, row: Row) -> RelationshipFacts:
        return cls(
            relationship_id=row["relationship_id"],
            client_name=row["client_name"],
            client_kind=row["client_kind"],
            industry=row["industry"],
            tier=Tier(row["tier"]),
            status=row["status"],
            account_manager_id=row["account_manager_id"],
            cadence_days=row["cadence_days"],
            last_contact_at=from_utc_text(row["last_contact_at"]) if row["last_contact_at"] else None,
            next_follow_up_on=date.fromisoformat(row["next_follow_up_on"]) if row["next_follow_up_on"] else None,
            opened_at=from_utc_text(row["opened_at"]),
            position=row["position"],
            version=row["version"],
        )

    @property
    def cadence(self) -> int:
        return self.cadence_days or self.tier.default_cadence_days

    def contact_due(self) -> datetime:
        """When contact is due: the cadence after the last contact (or the opening), or the follow-up date if sooner."""
        due = _later(self.last_contact_at or self.opened_at, timedelta(days=self.cadence))
        if self.next_follow_up_on is not None:
            follow_up = _later(
                datetime.combine(self.next_follow_up_on, datetime.min.time(), tzinfo=UTC), timedelta(days=1)
            )
            due = min(due, follow_up)
        return due

    def is_overdue(self, now: datetime) -> bool:
        return self.status == RelationshipStatus.OPEN.value and self.contact_due() < now


def _later(moment: datetime, by: timedelta) -> datetime:
    """`moment` moved on by `by`, held at the calendar's end for a fact stored before dates were bounded."""
    try:
        return moment + by
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


class WorkloadReader:
    """Queries over the workload view."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def relationships(
        self,
        *,
        account_manager_id: str | None = None,
        tier: str | None = None,
        status: str | None = None,
        after_position: int = 0,
        limit: int | None = None,
    ) -> list[RelationshipFacts]:
        """Relationships in the order they were opened, filtered, after a paging position."""
        clauses: list[str] = ["position > ?"]
        params: list[Any] = [after_position]
        for column, value in (("account_manager_id", account_manager_id), ("tier", tier), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        statement = (
            f"SELECT {', '.join(RELATIONSHIPS.column_names)} FROM wl_relationships "
            f"WHERE {' AND '.join(clauses)} ORDER BY position"
        )
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, params).fetchall()
        return [RelationshipFacts.from_row(dict(zip(RELATIONSHIPS.column_names, row, strict=True))) for row in rows]

    def managers(
        self,
        *,
        after_position: int = 0,
        limit: int | None = None,
        active_only: bool = False,
        account_manager_id: str | None = None,
    ) -> list[Row]:
        statement = f"SELECT {', '.join(MANAGERS.column_names)} FROM wl_managers WHERE position > ?"
        params: list[Any] = [after_position]
        if active_only:
            statement += " AND active = 1"
        if account_manager_id is not None:
            statement += " AND account_manager_id = ?"
            params.append(account_manager_id)
        statement += " ORDER BY position"
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, params).fetchall()
        return [dict(zip(MANAGERS.column_names, row, strict=True)) for row in rows]

    def scheduled_demos(self) -> list[Row]:
        """Every demo still scheduled on an open relationship, soonest first, with its manager."""
        return self._demos("", [])

    def upcoming_demos(self, now: datetime, *, account_manager_id: str | None = None) -> list[Row]:
        """Scheduled demos from now to 14 days ahead, on open relationships, with their manager."""
        where = " AND d.scheduled_for >= ? AND d.scheduled_for < ?"
        params: list[Any] = [utc_text(now), utc_text(now + UPCOMING)]
        if account_manager_id is not None:
            where += " AND r.account_manager_id = ?"
            params.append(account_manager_id)
        return self._demos(where, params)

    def _demos(self, where: str, params: list[Any]) -> list[Row]:
        statement = (
            "SELECT d.demo_id, d.relationship_id, r.client_name, r.account_manager_id, d.product, "
            "d.scheduled_for, d.location, d.staff FROM wl_demos d "
            "JOIN wl_relationships r ON r.relationship_id = d.relationship_id "
            f"WHERE d.status = 'scheduled' AND r.status = 'open'{where} ORDER BY d.scheduled_for, d.demo_id"
        )
        columns = (
            "demo_id",
            "relationship_id",
            "client_name",
            "account_manager_id",
            "product",
            "scheduled_for",
            "location",
            "staff",
        )
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, params).fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def correction_requests(
        self,
        *,
        status: str | None = None,
        requested_by: str | None = None,
        after_position: int = 0,
        limit: int | None = None,
    ) -> list[Row]:
        """Correction requests in the order they were made, with their client's name, filtered, after a position."""
        clauses: list[str] = ["q.position > ?"]
        params: list[Any] = [after_position]
        for column, value in (("q.status", status), ("q.requested_by", requested_by)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        columns = [f"q.{name}" for name in CORRECTION_REQUESTS.column_names]
        statement = (
            f"SELECT {', '.join(columns)}, r.client_name FROM wl_correction_requests q "
            "LEFT JOIN wl_relationships r ON r.relationship_id = q.relationship_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY q.position"
        )
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, params).fetchall()
        names = (*CORRECTION_REQUESTS.column_names, "client_name")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def open_proposals(self) -> dict[str, int]:
        """Open proposals per account manager, on open relationships."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT r.account_manager_id, COUNT(*) FROM wl_contracts c "
                "JOIN wl_relationships r ON r.relationship_id = c.relationship_id "
                "WHERE c.status = 'proposed' AND r.status = 'open' GROUP BY r.account_manager_id"
            ).fetchall()
        return {manager: int(count) for manager, count in rows}
