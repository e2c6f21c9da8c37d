"""Compliance cases about exceptions: their status, assignee, outcome and trail.

One row per case, as its events leave it; the trail itself is the case's events
(read from the log by the route, as a relationship's history is).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from domain.compliance_case import CaseAssigned, CaseNoted, CaseOpened, CaseReopened, CaseResolved
from domain.model import LedgerEvent
from infrastructure.sql import Table, ViewStore
from projections.base import Batch, LedgerProjection, cents, day_text, handles, money, utc_text

CASES = Table(
    "cs_cases",
    (
        ("case_id", "text"),
        ("kind", "text"),
        ("key", "text"),
        ("status", "text"),
        ("assignee", "text"),
        ("outcome", "text"),
        ("summary", "text"),
        ("occurred_on", "text"),
        ("recipient_id", "text"),
        ("account_manager_id", "text"),
        ("relationship_id", "text"),
        ("gift_id", "text"),
        ("request_id", "text"),
        ("received_gift_id", "text"),
        ("quarter", "text"),
        ("amount_cents", "int"),
        ("threshold_cents", "int"),
        ("opened_at", "text"),
        ("opened_by", "text"),
        ("updated_at", "text"),
        ("notes", "int"),
        ("position", "int"),
        ("updated_position", "int"),
        ("version", "int"),
    ),
    key=("case_id",),
    indexes=(("position",), ("gift_id",), ("opened_at",)),
)
"""A case as it stands; `position` is where it was opened (the list's order), `updated_position` its latest event."""


class CasesProjection(LedgerProjection):
    """Compliance cases about exceptions: their status, assignee, outcome and trail."""

    name = "cases"
    tables = (CASES,)

    @handles(CaseOpened)
    def on_case_opened(self, event: CaseOpened, batch: Batch, position: int) -> None:
        subject = event.subject
        batch.put(
            "cs_cases",
            {
                "case_id": str(event.originator_id),
                "kind": event.kind.value,
                "key": event.key,
                "status": "open",
                "assignee": None,
                "outcome": None,
                "summary": subject.summary,
                "occurred_on": None if subject.occurred_on is None else day_text(subject.occurred_on),
                "recipient_id": _text(subject.recipient_id),
                "account_manager_id": _text(subject.account_manager_id),
                "relationship_id": _text(subject.relationship_id),
                "gift_id": _text(subject.gift_id),
                "request_id": _text(subject.request_id),
                "received_gift_id": _text(subject.received_gift_id),
                "quarter": subject.quarter,
                "amount_cents": None if subject.amount is None else cents(subject.amount),
                "threshold_cents": None if subject.threshold is None else cents(subject.threshold),
                "opened_at": utc_text(event.recorded_at),
                "opened_by": event.actor_id,
                "updated_at": utc_text(event.recorded_at),
                "notes": 1 if event.note else 0,
                "position": position,
                "updated_position": position,
                "version": event.originator_version,
            },
        )

    @handles(CaseAssigned)
    def on_case_assigned(self, event: CaseAssigned, batch: Batch, position: int) -> None:
        self._changed(event, batch, position, assignee=event.assignee)

    @handles(CaseNoted)
    def on_case_noted(self, event: CaseNoted, batch: Batch, position: int) -> None:
        row = batch.get("cs_cases", str(event.originator_id))
        self._changed(event, batch, position, notes=(row["notes"] if row else 0) + 1)

    @handles(CaseResolved)
    def on_case_resolved(self, event: CaseResolved, batch: Batch, position: int) -> None:
        self._changed(event, batch, position, status="resolved", outcome=event.outcome.value)

    @handles(CaseReopened)
    def on_case_reopened(self, event: CaseReopened, batch: Batch, position: int) -> None:
        self._changed(event, batch, position, status="open", outcome=None)

    @staticmethod
    def _changed(event: LedgerEvent, batch: Batch, position: int, **changes: Any) -> None:
        batch.update(
            "cs_cases",
            (str(event.originator_id),),
            updated_at=utc_text(event.recorded_at),
            updated_position=position,
            version=event.originator_version,
            **changes,
        )


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


# -- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """A case as the view holds it."""

    case_id: str
    kind: str
    key: str
    status: str
    assignee: str | None
    outcome: str | None
    summary: str
    occurred_on: date | None
    recipient_id: str | None
    account_manager_id: str | None
    relationship_id: str | None
    gift_id: str | None
    request_id: str | None
    received_gift_id: str | None
    quarter: str | None
    amount: Decimal | None
    threshold: Decimal | None
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    notes: int
    position: int
    updated_position: int
    version: int


_COLUMNS = ", ".join(CASES.column_names)


class CasesReader:
    """Queries over the compliance cases."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def cases(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        assignee: str | None = None,
        after_position: int = 0,
        limit: int = 1_000,
    ) -> list[CaseRow]:
        """Cases opened after `after_position`, oldest first, with the status, kind and assignee asked for."""
        conditions: list[str] = ["position > ?"]
        values: list[object] = [after_position]
        for column, wanted in (("status", status), ("kind", kind), ("assignee", assignee)):
            if wanted is not None:
                conditions.append(f"{column} = ?")
                values.append(wanted)
        statement = f"SELECT {_COLUMNS} FROM cs_cases WHERE {' AND '.join(conditions)} ORDER BY position LIMIT ?"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, (*values, limit)).fetchall()
        return [_case(row) for row in rows]

    def by_ids(self, case_ids: Iterable[str]) -> dict[str, CaseRow]:
        """The cases of these ids that were opened, by id."""
        return {row.case_id: row for row in self._where("case_id", list(case_ids))}

    def for_gifts(self, gift_ids: Iterable[str]) -> dict[str, list[CaseRow]]:
        """The cases about each of these gifts (or shares), oldest first, by gift id (absent: none)."""
        found: dict[str, list[CaseRow]] = {}
        for row in self._where("gift_id", list(gift_ids)):
            assert row.gift_id is not None
            found.setdefault(row.gift_id, []).append(row)
        return found

    def opened_between(self, start: date, end: date, zone: tzinfo = UTC) -> list[CaseRow]:
        """The cases opened from the first moment of `start` to the last of `end` in `zone`, oldest first."""
        first = utc_text(datetime.combine(start, time(), zone))
        after = utc_text(datetime.combine(end, time(), zone) + timedelta(days=1))
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT {_COLUMNS} FROM cs_cases WHERE opened_at >= ? AND opened_at < ? ORDER BY position",
                (first, after),
            ).fetchall()
        return [_case(row) for row in rows]

    def _where(self, column: str, wanted: list[str]) -> list[CaseRow]:
        found: list[CaseRow] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            with self.view.reading() as cursor:
                rows = cursor.execute(
                    f"SELECT {_COLUMNS} FROM cs_cases WHERE {column} IN ({marks}) ORDER BY position", tuple(chunk)
                ).fetchall()
            found.extend(_case(row) for row in rows)
        return sorted(found, key=lambda row: row.position)


def _case(row: tuple[Any, ...]) -> CaseRow:
    values = dict(zip(CASES.column_names, row, strict=True))
    amount, threshold = values.pop("amount_cents"), values.pop("threshold_cents")
    occurred_on = values.pop("occurred_on")
    return CaseRow(
        **values
        | {
            "amount": None if amount is None else money(amount),
            "threshold": None if threshold is None else money(threshold),
            "occurred_on": None if occurred_on is None else date.fromisoformat(occurred_on),
            "opened_at": datetime.fromisoformat(values["opened_at"]),
            "updated_at": datetime.fromisoformat(values["updated_at"]),
        }
    )
