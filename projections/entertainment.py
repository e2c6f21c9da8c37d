"""Entertainment provided, per event and attendee, against the firm's caps.

Entertainment is never refused: the view keeps each `EntertainmentProvided` as
corrected, and the exceptions are worked out when they are read, under the caps
in force on each event's `occurred_on` — per attendee per event (the cost shared
by the client's people named), and per attendee per limit year.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson

from domain.exception_kinds import ExceptionKind, attendee_key, event_key
from domain.gift_recipient import GiftRecipient
from domain.relationship import AccountManagerAssigned, EntryCorrected, Opened
from domain.relationship_corrections import typed_changes
from domain.relationship_events import EntertainmentProvided
from domain.values import round_cents
from infrastructure.sql import Table, ViewStore
from projections.base import Batch, LedgerProjection, cents, day_text, handles, money
from projections.exception_rows import ExceptionContext, ExceptionRow

EVENTS = Table(
    "ent_events",
    (
        ("relationship_id", "text"),
        ("version", "int"),
        ("account_manager_id", "text"),
        ("client_name", "text"),
        ("occurred_on", "text"),
        ("cost_cents", "int"),
        ("attendees", "text"),
        ("position", "int"),
    ),
    key=("relationship_id", "version"),
    indexes=(("occurred_on",), ("account_manager_id", "occurred_on")),
)
"""Each entertainment as corrected; the account manager and client name as they were when it was provided."""
RELATIONSHIPS = Table(
    "ent_relationships",
    (("relationship_id", "text"), ("account_manager_id", "text"), ("client_name", "text")),
    key=("relationship_id",),
)

_COLUMNS = ", ".join(EVENTS.column_names)


@dataclass(frozen=True)
class Attendee:
    attendee_id: str
    name: str


@dataclass(frozen=True)
class EntertainmentRow:
    """One entertainment as the view holds it, with what it counts for each attendee."""

    relationship_id: str
    version: int
    account_manager_id: str
    client_name: str
    occurred_on: date
    cost: Decimal
    attendees: tuple[Attendee, ...]
    position: int

    @property
    def per_attendee(self) -> Decimal:
        """The cost shared by the client's people named, half-up to cents."""
        return round_cents(self.cost / len(self.attendees))


class EntertainmentProjection(LedgerProjection):
    """Entertainment provided, per event and attendee, against the firm's caps."""

    name = "entertainment"
    tables = (EVENTS, RELATIONSHIPS)

    @handles(Opened)
    def on_opened(self, event: Opened, batch: Batch, position: int) -> None:
        batch.put(
            "ent_relationships",
            {
                "relationship_id": str(event.originator_id),
                "account_manager_id": str(event.account_manager_id),
                "client_name": event.client_name,
            },
        )

    @handles(AccountManagerAssigned)
    def on_account_manager_assigned(self, event: AccountManagerAssigned, batch: Batch, position: int) -> None:
        batch.update("ent_relationships", (str(event.originator_id),), account_manager_id=str(event.account_manager_id))

    @handles(EntertainmentProvided)
    def on_entertainment(self, event: EntertainmentProvided, batch: Batch, position: int) -> None:
        relationship_id = str(event.originator_id)
        relationship = batch.get("ent_relationships", relationship_id) or {}
        batch.put(
            "ent_events",
            {
                "relationship_id": relationship_id,
                "version": event.originator_version,
                "account_manager_id": relationship.get("account_manager_id", ""),
                "client_name": relationship.get("client_name", ""),
                "occurred_on": day_text(event.occurred_on),
                "cost_cents": cents(event.cost),
                "attendees": orjson.dumps(list(event.attendees)).decode(),
                "position": position,
            },
        )

    @handles(EntryCorrected)
    def on_entry_corrected(self, event: EntryCorrected, batch: Batch, position: int) -> None:
        relationship_id = str(event.originator_id)
        if event.corrected_type == Opened.TOPIC and "client_name" in event.changes:
            batch.update("ent_relationships", (relationship_id,), client_name=event.changes["client_name"])
        if event.corrected_type != EntertainmentProvided.TOPIC:
            return
        changes = typed_changes(EntertainmentProvided, event.changes)
        moved: dict[str, Any] = {}
        if "occurred_on" in changes:
            moved["occurred_on"] = day_text(changes["occurred_on"])
        if "cost" in changes:
            moved["cost_cents"] = cents(changes["cost"])
        if "attendees" in changes:
            moved["attendees"] = orjson.dumps(list(changes["attendees"])).decode()
        if moved:
            batch.update("ent_events", (relationship_id, event.corrects_version), **moved)


class EntertainmentReader:
    """Queries over the entertainment view."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def between(self, start: date, end: date, *, account_manager_id: str | None = None) -> list[EntertainmentRow]:
        """The entertainment that took place from `start` to `end`, in the order it took place (then recorded)."""
        statement = f"SELECT {_COLUMNS} FROM ent_events WHERE occurred_on >= ? AND occurred_on <= ?"
        params: list[Any] = [day_text(start), day_text(end)]
        if account_manager_id is not None:
            statement += " AND account_manager_id = ?"
            params.append(account_manager_id)
        with self.view.reading() as cursor:
            found = cursor.execute(statement + " ORDER BY occurred_on, position", params).fetchall()
        return [_row(dict(zip(EVENTS.column_names, values, strict=True))) for values in found]


def _row(row: dict[str, Any]) -> EntertainmentRow:
    client_name = str(row["client_name"])
    names: list[str] = orjson.loads(row["attendees"])
    return EntertainmentRow(
        relationship_id=row["relationship_id"],
        version=row["version"],
        account_manager_id=row["account_manager_id"],
        client_name=client_name,
        occurred_on=date.fromisoformat(row["occurred_on"]),
        cost=money(row["cost_cents"]),
        attendees=tuple(Attendee(str(GiftRecipient.id_for(name, client_name)), name) for name in names),
        position=row["position"],
    )


def _earlier(day: date, by: timedelta) -> date:
    try:
        return day - by
    except OverflowError:
        return date.min


def exception_rows(view: ViewStore, context: ExceptionContext) -> list[ExceptionRow]:
    """Entertainment in the limit year over the per-event cap, and each event that took an attendee (or kept
    them) over the yearly cap of its limit year, under the caps in force on its `occurred_on`."""
    window = context.window
    # A limit year is at most 366 days: the events before the window that can count towards its years.
    events = EntertainmentReader(view).between(_earlier(window.start, timedelta(days=366)), window.end)
    found: list[ExceptionRow] = []
    for event in events:
        if window.contains(event.occurred_on):
            found += _event_cap(event, context)
    found += _year_cap(events, context)
    return found


def _event_cap(event: EntertainmentRow, context: ExceptionContext) -> list[ExceptionRow]:
    cap = context.policy.programme_on(event.occurred_on).entertainment_cap_per_event
    if cap is None or event.per_attendee <= cap:
        return []
    return [
        ExceptionRow(
            kind=ExceptionKind.ENTERTAINMENT_EVENT_CAP,
            key=event_key(event.relationship_id, event.version),
            occurred_on=event.occurred_on,
            summary=(
                f"Entertainment of {event.client_name} on {event.occurred_on} cost ${event.per_attendee} per "
                f"attendee ({len(event.attendees)} attending), over the ${cap} cap per attendee per event."
            ),
            amount=event.per_attendee,
            threshold=cap,
            employer=event.client_name,
            account_manager_id=event.account_manager_id,
            relationship_id=event.relationship_id,
            related_ids=tuple(attendee.attendee_id for attendee in event.attendees),
        )
    ]


def _year_cap(events: list[EntertainmentRow], context: ExceptionContext) -> list[ExceptionRow]:
    """Each event in the window whose share takes an attendee's total in its limit year over the yearly cap."""
    by_attendee: dict[str, list[EntertainmentRow]] = defaultdict(list)
    for event in events:
        for attendee_id in {a.attendee_id for a in event.attendees}:
            by_attendee[attendee_id].append(event)
    found: list[ExceptionRow] = []
    for event in events:
        if not context.window.contains(event.occurred_on):
            continue
        cap = context.policy.programme_on(event.occurred_on).entertainment_cap_per_year
        if cap is None:
            continue
        year = context.policy.limit_year.year_of(event.occurred_on)
        seen: set[str] = set()
        for attendee in event.attendees:
            if attendee.attendee_id in seen:
                continue
            seen.add(attendee.attendee_id)
            total = sum(
                (
                    other.per_attendee * sum(a.attendee_id == attendee.attendee_id for a in other.attendees)
                    for other in by_attendee[attendee.attendee_id]
                    if year.contains(other.occurred_on)
                    and (other.occurred_on, other.position) <= (event.occurred_on, event.position)
                ),
                Decimal("0.00"),
            )
            if total > cap:
                found.append(_year_row(event, attendee, total, cap, year.label))
    return found


def _year_row(event: EntertainmentRow, attendee: Attendee, total: Decimal, cap: Decimal, label: str) -> ExceptionRow:
    return ExceptionRow(
        kind=ExceptionKind.ENTERTAINMENT_YEAR_CAP,
        key=attendee_key(event.relationship_id, event.version, attendee.attendee_id),
        occurred_on=event.occurred_on,
        summary=(
            f"Entertainment of {attendee.name} ({event.client_name}) reached ${total} in limit year {label} with "
            f"the event on {event.occurred_on}, over the ${cap} cap per attendee per year."
        ),
        amount=total,
        threshold=cap,
        recipient_id=attendee.attendee_id,
        name=attendee.name,
        employer=event.client_name,
        account_manager_id=event.account_manager_id,
        relationship_id=event.relationship_id,
    )
