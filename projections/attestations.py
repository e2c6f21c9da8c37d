"""Quarterly attestations: who attested to which quarter, when, and to what counts.

The view stores facts — each account manager's registration and deactivation,
each attestation, and the gifts given (for the counts recorded) — and the
reader works out each quarter's status from the policy and the firm's clock:
`not_required`, `due`, `submitted`, `late` (submitted after its due day) or
`overdue` (missing after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from domain.account_manager import Deactivated, Registered
from domain.attestation import AttestationSubmitted
from domain.compliance_policy import CompliancePolicy
from domain.exception_kinds import ExceptionKind, attestation_key
from domain.quarters import Quarter, late
from domain.relationship import AccountManagerAssigned, GiftGiven, Opened
from infrastructure.sql import Cursor, Table, ViewStore
from projections.base import Batch, LedgerProjection, day_text, from_utc_text, handles, utc_text
from projections.exception_rows import ExceptionContext, ExceptionRow

MANAGERS = Table(
    "at_managers",
    (("account_manager_id", "text"), ("name", "text"), ("registered_at", "text"), ("deactivated_at", "text")),
    key=("account_manager_id",),
)
ATTESTATIONS = Table(
    "at_attestations",
    (
        ("account_manager_id", "text"),
        ("quarter", "text"),
        ("due_on", "text"),
        ("required", "int"),
        ("submitted_at", "text"),
        ("gifts_given", "int"),
        ("entertainment_given", "int"),
        ("gifts_received", "int"),
        ("entertainment_received", "int"),
        ("statement", "text"),
        ("position", "int"),
    ),
    key=("account_manager_id", "quarter"),
    indexes=(("quarter",),),
)
RELATIONSHIPS = Table(
    "at_relationships", (("relationship_id", "text"), ("account_manager_id", "text")), key=("relationship_id",)
)
GIVEN = Table(
    "at_gifts_given",
    (("gift_id", "text"), ("account_manager_id", "text"), ("given_on", "text")),
    key=("gift_id",),
    indexes=(("account_manager_id", "given_on"),),
)
"""One row per gift given (a shared gift once), with the account manager of its relationship then."""


@dataclass(frozen=True)
class Counts:
    gifts_given: int
    entertainment_given: int
    gifts_received: int
    entertainment_received: int


@dataclass(frozen=True)
class AttestationRow:
    """An account manager's attestation of a quarter — made or expected — and what the ledger recorded then."""

    account_manager_id: str
    name: str
    quarter: str
    due_on: date
    required: bool
    status: str
    submitted_at: datetime | None
    attested: Counts | None
    recorded: Counts
    statement: str | None


class AttestationsProjection(LedgerProjection):
    """Quarterly attestations: who attested to which quarter, when, and to what counts."""

    name = "attestations"
    tables = (MANAGERS, ATTESTATIONS, RELATIONSHIPS, GIVEN)

    @handles(Registered)
    def on_registered(self, event: Registered, batch: Batch, position: int) -> None:
        batch.put(
            "at_managers",
            {
                "account_manager_id": str(event.originator_id),
                "name": event.name,
                "registered_at": utc_text(event.recorded_at),
                "deactivated_at": None,
            },
        )

    @handles(Deactivated)
    def on_deactivated(self, event: Deactivated, batch: Batch, position: int) -> None:
        batch.update("at_managers", (str(event.originator_id),), deactivated_at=utc_text(event.recorded_at))

    @handles(AttestationSubmitted)
    def on_submitted(self, event: AttestationSubmitted, batch: Batch, position: int) -> None:
        batch.put(
            "at_attestations",
            {
                "account_manager_id": str(event.account_manager_id),
                "quarter": event.quarter,
                "due_on": day_text(event.due_on),
                "required": int(event.required),
                "submitted_at": utc_text(event.recorded_at),
                "gifts_given": event.gifts_given,
                "entertainment_given": event.entertainment_given,
                "gifts_received": event.gifts_received,
                "entertainment_received": event.entertainment_received,
                "statement": event.statement,
                "position": position,
            },
        )

    @handles(Opened)
    def on_opened(self, event: Opened, batch: Batch, position: int) -> None:
        batch.put(
            "at_relationships",
            {"relationship_id": str(event.originator_id), "account_manager_id": str(event.account_manager_id)},
        )

    @handles(AccountManagerAssigned)
    def on_assigned(self, event: AccountManagerAssigned, batch: Batch, position: int) -> None:
        batch.update("at_relationships", (str(event.originator_id),), account_manager_id=str(event.account_manager_id))

    @handles(GiftGiven)
    def on_gift_given(self, event: GiftGiven, batch: Batch, position: int) -> None:
        relationship = batch.get("at_relationships", str(event.originator_id)) or {}
        batch.put(
            "at_gifts_given",
            {
                "gift_id": str(event.gift_id),
                "account_manager_id": relationship.get("account_manager_id", ""),
                "given_on": day_text(event.given_on),
            },
        )


class AttestationsReader:
    """Each quarter's attestations, made and expected, with their status on the firm's clock."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def quarter(  # noqa: PLR0917 -- the readers' contract (issue 17 plan, section 2)
        self,
        label: str,
        today: date,
        now: datetime,
        zone: tzinfo,
        policy: CompliancePolicy,
        account_manager_id: str | None = None,
    ) -> list[AttestationRow]:
        """Every account manager active at the quarter's end (and anyone who attested to it), by name: due on the
        rules in force on its last day, and `late`/`overdue` by the firm's zone."""
        quarter = Quarter.parse(label)
        rules = policy.programme_on(quarter.end)
        due_on = quarter.due_on(rules.attestation_due_days)
        with self.view.reading() as cursor:
            managers = _rows(cursor, MANAGERS, "SELECT {} FROM at_managers", [])
            made = {
                row["account_manager_id"]: row
                for row in _rows(cursor, ATTESTATIONS, "SELECT {} FROM at_attestations WHERE quarter = ?", [label])
            }
            recorded = _recorded(cursor, quarter)
        found = []
        for manager in sorted(managers, key=lambda m: (m["name"], m["account_manager_id"])):
            manager_id = manager["account_manager_id"]
            if account_manager_id is not None and manager_id != account_manager_id:
                continue
            attestation = made.get(manager_id)
            if attestation is None and not _active_at_end(manager, quarter, zone):
                continue
            submitted_at = from_utc_text(attestation["submitted_at"]) if attestation else None
            found.append(
                AttestationRow(
                    account_manager_id=manager_id,
                    name=manager["name"],
                    quarter=label,
                    due_on=due_on,
                    required=rules.attestations_required,
                    status=_status(
                        rules.attestations_required, submitted_at, due_on, zone, now, ended=today > quarter.end
                    ),
                    submitted_at=submitted_at,
                    attested=_counts(attestation) if attestation else None,
                    recorded=recorded.get(manager_id, Counts(0, 0, 0, 0)),
                    statement=attestation["statement"] if attestation else None,
                )
            )
        return found


def _status(
    required: bool, submitted_at: datetime | None, due_on: date, zone: tzinfo, now: datetime, *, ended: bool
) -> str:
    if submitted_at is not None:
        return "late" if required and late(submitted_at, due_on, zone, now) else "submitted"
    if not required:
        return "not_required"
    return "overdue" if ended and late(None, due_on, zone, now) else "due"


def _active_at_end(manager: dict[str, Any], quarter: Quarter, zone: tzinfo) -> bool:
    """Registered by the quarter's last day and not deactivated by then (in the firm's zone)."""
    if from_utc_text(manager["registered_at"]).astimezone(zone).date() > quarter.end:
        return False
    deactivated = manager["deactivated_at"]
    return deactivated is None or from_utc_text(deactivated).astimezone(zone).date() > quarter.end


def _rows(cursor: Cursor, table: Table, statement: str, params: list[Any]) -> list[dict[str, Any]]:
    columns = table.column_names
    found = cursor.execute(statement.format(", ".join(columns)), params).fetchall()
    return [dict(zip(columns, values, strict=True)) for values in found]


def _counts(row: dict[str, Any]) -> Counts:
    return Counts(row["gifts_given"], row["entertainment_given"], row["gifts_received"], row["entertainment_received"])


def _recorded(cursor: Cursor, quarter: Quarter) -> dict[str, Counts]:
    """Per account manager, what the ledger recorded with a business date in the quarter."""
    span = [day_text(quarter.start), day_text(quarter.end)]
    tallies: dict[str, list[int]] = {}

    def add(table: str, statement: str, index: int) -> None:
        if not cursor.store.table_exists(cursor, table):
            return  # a view another projection keeps, not made yet
        for manager_id, count in cursor.execute(statement, span).fetchall():
            tallies.setdefault(str(manager_id), [0, 0, 0, 0])[index] += int(count)

    add(
        "at_gifts_given",
        "SELECT account_manager_id, COUNT(*) FROM at_gifts_given WHERE given_on BETWEEN ? AND ? "
        "GROUP BY account_manager_id",
        0,
    )
    add(
        "ent_events",
        "SELECT account_manager_id, COUNT(*) FROM ent_events WHERE occurred_on BETWEEN ? AND ? "
        "GROUP BY account_manager_id",
        1,
    )
    for index, kind in ((2, "gift"), (3, "entertainment")):
        add(
            "rg_gifts",
            "SELECT account_manager_id, COUNT(*) FROM rg_gifts WHERE received_on BETWEEN ? AND ? "
            f"AND kind = '{kind}' GROUP BY account_manager_id",
            index,
        )
    return {manager_id: Counts(*values) for manager_id, values in tallies.items()}


def exception_rows(view: ViewStore, context: ExceptionContext) -> list[ExceptionRow]:
    """Required attestations of the quarters ending in the limit year, once due: missing or submitted late."""
    reader = AttestationsReader(view)
    quarter = Quarter.of(context.window.start)
    found = []
    while quarter.start <= context.window.end:
        rules = context.policy.programme_on(quarter.end)
        if context.window.contains(quarter.end) and quarter.due_on(rules.attestation_due_days) < context.today:
            for row in reader.quarter(quarter.label, context.today, context.now, context.zone, context.policy):
                if row.status in {"late", "overdue"}:
                    found.append(_late_row(row))
        quarter = Quarter(quarter.year + 1, 1) if quarter.number == 4 else Quarter(quarter.year, quarter.number + 1)
    return found


def _late_row(row: AttestationRow) -> ExceptionRow:
    when = f"submitted on {row.submitted_at.isoformat()}" if row.submitted_at is not None else "not submitted"
    return ExceptionRow(
        kind=ExceptionKind.LATE_ATTESTATION,
        key=attestation_key(row.account_manager_id, row.quarter),
        occurred_on=row.due_on,
        summary=f"{row.name}'s attestation of {row.quarter}, due on {row.due_on}, is late: {when}.",
        name=row.name,
        account_manager_id=row.account_manager_id,
        quarter=row.quarter,
    )
