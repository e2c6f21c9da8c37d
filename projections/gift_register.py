"""The gift register: every gift per recipient and limit year, the limit and headroom, and the exceptions.

The limit year and limit are worked out on reading, with the policy in force,
from the stored facts (each gift's date, counted value and the limit recorded
when it was accepted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson

from domain.compliance_policy import GiftLimitScheduled, LimitYearPolicyChanged, PolicyEstablished
from domain.gift_recipient import GiftReceived, RecipientRegistered
from domain.gift_rule import FINRA_SCHEDULE, LimitChange, LimitYear, LimitYearPolicy, limit_in_force
from domain.relationship import AccountManagerAssigned, EntryCorrected, GiftGiven, Opened
from domain.values import LimitYearKind
from projections.base import Batch, LedgerProjection, Row, cents, day_text, handles, money, utc_text
from projections.store import Table, ViewStore

NEAR_LIMIT = Decimal("0.8")
SPLIT_WINDOW = timedelta(days=7)

RECIPIENTS = Table(
    "gr_recipients", (("recipient_id", "text"), ("name", "text"), ("employer", "text")), key=("recipient_id",)
)
GIFTS = Table(
    "gr_gifts",
    (
        ("gift_id", "text"),
        ("recipient_id", "text"),
        ("relationship_id", "text"),
        ("account_manager_id", "text"),
        ("given_on", "text"),
        ("category", "text"),
        ("description", "text"),
        ("cost_cents", "int"),
        ("counted_cents", "int"),
        ("limit_cents", "int"),
        ("limit_year", "text"),
        ("recorded_at", "text"),
        ("position", "int"),
    ),
    key=("gift_id",),
    indexes=(("given_on",), ("recipient_id", "given_on")),
)
RELATIONSHIP_MANAGERS = Table(
    "gr_relationship_managers", (("relationship_id", "text"), ("account_manager_id", "text")), key=("relationship_id",)
)
POLICY = Table("gr_policy", (("id", "int"), ("limit_schedule", "text"), ("limit_year", "text")), key=("id",))


class GiftRegisterProjection(LedgerProjection):
    """Gifts by recipient, with what each counted and the limit it was accepted under."""

    name = "gift_register"
    tables = (RECIPIENTS, GIFTS, RELATIONSHIP_MANAGERS, POLICY)

    @handles(Opened)
    def on_opened(self, event: Opened, batch: Batch, position: int) -> None:
        batch.put(
            "gr_relationship_managers",
            {"relationship_id": str(event.originator_id), "account_manager_id": str(event.account_manager_id)},
        )

    @handles(AccountManagerAssigned)
    def on_account_manager_assigned(self, event: AccountManagerAssigned, batch: Batch, position: int) -> None:
        batch.update(
            "gr_relationship_managers", (str(event.originator_id),), account_manager_id=str(event.account_manager_id)
        )

    @handles(RecipientRegistered)
    def on_recipient_registered(self, event: RecipientRegistered, batch: Batch, position: int) -> None:
        batch.put(
            "gr_recipients", {"recipient_id": str(event.originator_id), "name": event.name, "employer": event.employer}
        )

    @handles(GiftGiven)
    def on_gift_given(self, event: GiftGiven, batch: Batch, position: int) -> None:
        manager = batch.get("gr_relationship_managers", str(event.originator_id))
        self._merge_gift(
            batch,
            str(event.gift_id),
            recipient_id=str(event.recipient.recipient_id),
            relationship_id=str(event.originator_id),
            account_manager_id=manager["account_manager_id"] if manager else None,
            given_on=day_text(event.given_on),
            category=event.category.value,
            description=event.description,
            cost_cents=cents(event.cost),
            counted_cents=cents(event.counted_value),
            recorded_at=utc_text(event.recorded_at),
            position=position,
        )

    @handles(GiftReceived)
    def on_gift_received(self, event: GiftReceived, batch: Batch, position: int) -> None:
        self._merge_gift(
            batch,
            str(event.gift_id),
            recipient_id=str(event.originator_id),
            relationship_id=str(event.relationship_id),
            given_on=day_text(event.given_on),
            counted_cents=cents(event.counted_value),
            limit_cents=cents(event.limit),
            limit_year=event.limit_year,
        )

    @staticmethod
    def _merge_gift(batch: Batch, gift_id: str, **values: Any) -> None:
        # A gift is two events in one transaction (the relationship's and the
        # recipient's); whichever comes first creates the row, the other fills it in.
        row = batch.get("gr_gifts", gift_id) or dict.fromkeys(GIFTS.column_names) | {"gift_id": gift_id}
        row.update(values)
        batch.put("gr_gifts", row)

    @handles(EntryCorrected)
    def on_entry_corrected(self, event: EntryCorrected, batch: Batch, position: int) -> None:
        if event.corrected_type == GiftGiven.TOPIC and event.target and "description" in event.changes:
            batch.update("gr_gifts", (event.target,), description=event.changes["description"])

    @handles(PolicyEstablished)
    def on_policy_established(self, event: PolicyEstablished, batch: Batch, position: int) -> None:
        batch.put("gr_policy", _policy_row(event.limit_schedule, event.limit_year))

    @handles(GiftLimitScheduled)
    def on_gift_limit_scheduled(self, event: GiftLimitScheduled, batch: Batch, position: int) -> None:
        policy = batch.get("gr_policy", 1)
        schedule = [c for c in _schedule(policy) if c.effective_from != event.effective_from]
        schedule.append(LimitChange(effective_from=event.effective_from, amount=event.amount))
        schedule.sort(key=lambda change: change.effective_from)
        limit_year = LimitYearPolicy.model_validate_json(policy["limit_year"]) if policy else LimitYearPolicy()
        batch.put("gr_policy", _policy_row(schedule, limit_year))

    @handles(LimitYearPolicyChanged)
    def on_limit_year_policy_changed(self, event: LimitYearPolicyChanged, batch: Batch, position: int) -> None:
        policy = batch.get("gr_policy", 1)
        batch.put("gr_policy", _policy_row(_schedule(policy), event.limit_year))


def _shifted(day: date, by: timedelta) -> date:
    """`day` moved by `by`, held within the calendar's range (years 1 to 9999)."""
    try:
        return day + by
    except OverflowError:
        return date.max if by > timedelta(0) else date.min


def limit_shown(schedule: list[LimitChange], day: date) -> Decimal:
    """The limit a register shows for a day: the one in force, or the first one for a day before the schedule
    (no gift can be recorded then, so there is nothing it could be wrong about)."""
    if day < min(change.effective_from for change in schedule):
        return min(schedule, key=lambda change: change.effective_from).amount
    return limit_in_force(schedule, day)


def _policy_row(schedule: list[LimitChange], limit_year: LimitYearPolicy) -> Row:
    return {
        "id": 1,
        "limit_schedule": orjson.dumps([change.model_dump(mode="json") for change in schedule]).decode(),
        "limit_year": limit_year.model_dump_json(),
    }


def _schedule(policy: Row | None) -> list[LimitChange]:
    if policy is None:
        return list(FINRA_SCHEDULE)
    return [LimitChange.model_validate(item) for item in orjson.loads(policy["limit_schedule"])]


# -- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredGift:
    gift_id: str
    relationship_id: str | None
    account_manager_id: str | None
    given_on: date
    category: str | None
    description: str | None
    cost: Decimal
    counted_value: Decimal
    limit: Decimal | None
    limit_year: str | None
    position: int | None


@dataclass
class RecipientYear:
    """One recipient's gifts in one limit year, against the limit in force."""

    recipient_id: str
    name: str
    employer: str
    limit_year: str
    limit: Decimal
    gifts: list[RegisteredGift] = field(default_factory=list)

    @property
    def who(self) -> tuple[str, str, str]:
        return self.recipient_id, self.name, self.employer

    @property
    def counted_total(self) -> Decimal:
        return sum((gift.counted_value for gift in self.gifts), Decimal("0.00"))

    @property
    def headroom(self) -> Decimal:
        return max(Decimal("0.00"), self.limit - self.counted_total)


@dataclass(frozen=True)
class GiftException:
    """A gift worth a compliance officer's look: `near_limit` (the year's total passed 80 % of the limit
    with it) or `split` (another counted gift to the same person within 7 days)."""

    kind: str
    recipient_id: str
    name: str
    employer: str
    gift: RegisteredGift
    counted_total: Decimal
    limit: Decimal
    related_gift_ids: tuple[str, ...] = ()


class GiftRegisterReader:
    """Queries over the gift register."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def policy(self) -> tuple[list[LimitChange], LimitYearPolicy]:
        with self.view.reading() as cursor:
            row = cursor.execute("SELECT id, limit_schedule, limit_year FROM gr_policy WHERE id = 1").fetchone()
        if row is None:
            return list(FINRA_SCHEDULE), LimitYearPolicy()
        return _schedule(dict(zip(POLICY.column_names, row, strict=True))), LimitYearPolicy.model_validate_json(row[2])

    @staticmethod
    def window(policy: LimitYearPolicy, year: int, today: date) -> LimitYear:
        """The limit year called `year`: that calendar year, the fiscal year starting in it, or 12 months to today."""
        if policy.kind is LimitYearKind.FISCAL:
            assert policy.start_month is not None
            return policy.year_of(date(year, policy.start_month, 1))
        if policy.kind is LimitYearKind.ROLLING_12_MONTHS:
            return policy.year_of(min(today, date(year, 12, 31)))
        return policy.year_of(date(year, 1, 1))

    def register(self, year: int, today: date, *, recipient_id: str | None = None) -> list[RecipientYear]:
        """Each recipient's gifts in the limit year, with the total, the limit in force and the headroom."""
        schedule, policy = self.policy()
        window = self.window(policy, year, today)
        limit = limit_shown(schedule, min(window.end, today))
        statement = (
            "SELECT g.recipient_id, r.name, r.employer, g.gift_id, g.relationship_id, g.account_manager_id, "
            "g.given_on, g.category, g.description, g.cost_cents, g.counted_cents, g.limit_cents, g.limit_year, "
            "g.position FROM gr_gifts g JOIN gr_recipients r ON r.recipient_id = g.recipient_id "
            "WHERE g.given_on >= ? AND g.given_on <= ?"
        )
        params: list[Any] = [day_text(window.start), day_text(window.end)]
        if recipient_id is not None:
            statement += " AND g.recipient_id = ?"
            params.append(recipient_id)
        statement += " ORDER BY r.name, r.employer, g.recipient_id, g.given_on, g.position"
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, params).fetchall()
        years: dict[str, RecipientYear] = {}
        for row in rows:
            entry = years.setdefault(row[0], RecipientYear(row[0], row[1], row[2], window.label, limit))
            entry.gifts.append(_registered_gift(row[3:]))
        return list(years.values())

    def exceptions(self, year: int, today: date) -> list[GiftException]:
        """Gifts that took a recipient past 80 % of the limit, and gifts within 7 days of another to the same person.

        A split is looked for across the ends of the limit year too: a gift on
        30 December and another on 2 January are 3 days apart.
        """
        schedule, policy = self.policy()
        window = self.window(policy, year, today)
        found: list[GiftException] = []
        entries = self.register(year, today)
        for entry in entries:
            running = Decimal("0.00")
            for gift in entry.gifts:
                if gift.counted_value == 0:
                    continue
                running += gift.counted_value
                limit = gift.limit if gift.limit is not None else limit_shown(schedule, gift.given_on)
                if running > NEAR_LIMIT * limit:
                    found.append(GiftException("near_limit", *entry.who, gift, running, limit))
        nearby = self._counted_gifts_between(_shifted(window.start, -SPLIT_WINDOW), _shifted(window.end, SPLIT_WINDOW))
        by_recipient = {entry.recipient_id: entry for entry in entries}
        for recipient_id, gifts in nearby.items():
            holder = by_recipient.get(recipient_id)
            for gift in gifts:
                if holder is None or not window.contains(gift.given_on):
                    continue
                close = tuple(
                    other.gift_id
                    for other in gifts
                    if other.gift_id != gift.gift_id and abs(other.given_on - gift.given_on) <= SPLIT_WINDOW
                )
                if close:
                    limit = gift.limit if gift.limit is not None else limit_shown(schedule, gift.given_on)
                    found.append(GiftException("split", *holder.who, gift, holder.counted_total, limit, close))
        return found

    def _counted_gifts_between(self, start: date, end: date) -> dict[str, list[RegisteredGift]]:
        """Counted gifts given from `start` to `end`, per recipient, in date order."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT recipient_id, gift_id, relationship_id, account_manager_id, given_on, category, description, "
                "cost_cents, counted_cents, limit_cents, limit_year, position FROM gr_gifts "
                "WHERE given_on >= ? AND given_on <= ? AND counted_cents > 0 ORDER BY recipient_id, given_on, position",
                (day_text(start), day_text(end)),
            ).fetchall()
        gifts: dict[str, list[RegisteredGift]] = {}
        for row in rows:
            gifts.setdefault(row[0], []).append(_registered_gift(row[1:]))
        return gifts


def _registered_gift(row: tuple[Any, ...]) -> RegisteredGift:
    """A gift from the columns gift_id, relationship_id, account_manager_id, given_on, category, description,
    cost_cents, counted_cents, limit_cents, limit_year, position."""
    return RegisteredGift(
        gift_id=row[0],
        relationship_id=row[1],
        account_manager_id=row[2],
        given_on=date.fromisoformat(row[3]),
        category=row[4],
        description=row[5],
        cost=money(row[6]),
        counted_value=money(row[7]),
        limit=money(row[8]) if row[8] is not None else None,
        limit_year=row[9],
        position=row[10],
    )
