"""The gift register: every gift per recipient and limit year, the limit and headroom, and the exceptions.

The limit year and limit are worked out on reading, with the policy in force,
from the stored facts (each gift's date and counted value). One limit serves
everywhere: the register, its exceptions and a recipient's page all use the
firm's schedule as it stands now, so a change made after a gift (a retroactive
lowering) shows at once as a breach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson

from domain.compliance_policy import (
    DEFAULT_REVIEW_THRESHOLD,
    GiftLimitScheduled,
    LimitYearPolicyChanged,
    PolicyEstablished,
    ReviewThresholdSet,
)
from domain.errors import GiftLimitExceeded, NotFound, RuleViolation
from domain.exception_kinds import ExceptionKind, gift_key
from domain.gift_recipient import (
    GiftReceived,
    GiftRecipient,
    HeadroomReserved,
    MergedInto,
    RecipientRegistered,
    ReservationReleased,
)
from domain.gift_rule import (
    FINRA_SCHEDULE,
    CountedGift,
    LimitChange,
    LimitYear,
    LimitYearPolicy,
    check_within_limit,
    headroom_on,
    limit_in_force,
)
from domain.recipient_identity import firm_key, person_key
from domain.relationship import AccountManagerAssigned, EntryCorrected, GiftGiven, Opened
from domain.values import LimitYearKind
from infrastructure.sql import Cursor, Table, ViewStore
from projections.base import Batch, LedgerProjection, Row, cents, day_text, handles, money, utc_text
from projections.exception_rows import ExceptionContext, ExceptionRow
from projections.gift_register_rows import (
    NEAR_LIMIT,
    GiftException,
    Headroom,
    People,
    Person,
    RecipientYear,
    RegisteredGift,
    RegisteredReservation,
)

SPLIT_WINDOW = timedelta(days=7)

RECIPIENTS = Table(
    "gr_recipients",
    (
        ("recipient_id", "text"),
        ("name", "text"),
        ("employer", "text"),
        ("merged_into", "text"),
        ("distinct_from", "text"),
    ),
    key=("recipient_id",),
)
SPELLINGS = Table(
    "gr_spellings",
    (("recipient_id", "text"), ("name", "text"), ("employer", "text")),
    key=("recipient_id", "name", "employer"),
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
        ("market_value_cents", "int"),
        ("face_value_cents", "int"),
        ("head_count", "int"),
        ("preclearance_id", "text"),
    ),
    key=("gift_id",),
    indexes=(("given_on",), ("recipient_id", "given_on")),
)
"""Every gift per person (a share of a shared gift is a row); the last four columns are empty in a view made before
they were kept, until it is rebuilt."""
RESERVATIONS = Table(
    "gr_reservations",
    (
        ("reservation_id", "text"),
        ("request_id", "text"),
        ("recipient_id", "text"),
        ("planned_on", "text"),
        ("counted_cents", "int"),
        ("expires_on", "text"),
        ("position", "int"),
        ("ended", "text"),
    ),
    key=("reservation_id",),
    indexes=(("recipient_id",), ("planned_on",)),
)
"""Headroom approved pre-clearance requests hold, per person; `ended` is null while held, else `used` (a gift took
its place), `expired` or `withdrawn` (released). Whether a held one is active is the reader's to say, from today."""
RELATIONSHIP_MANAGERS = Table(
    "gr_relationship_managers", (("relationship_id", "text"), ("account_manager_id", "text")), key=("relationship_id",)
)
POLICY = Table(
    "gr_policy",
    (("id", "int"), ("limit_schedule", "text"), ("limit_year", "text"), ("review_threshold_cents", "int")),
    key=("id",),
)


class GiftRegisterProjection(LedgerProjection):
    """Gifts by recipient, with what each counted and the limit it was accepted under."""

    name = "gift_register"
    tables = (RECIPIENTS, SPELLINGS, GIFTS, RESERVATIONS, RELATIONSHIP_MANAGERS, POLICY)

    def create_tables(self, cursor: Cursor, *, rebuilding: bool = False) -> None:
        super().create_tables(cursor, rebuilding=rebuilding)
        if not rebuilding:
            # A view made before valuations and approvals were kept gains the columns, empty in its old rows.
            self.view.add_missing_columns(cursor, GIFTS)

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
        recipient_id = str(event.originator_id)
        batch.put(
            "gr_recipients",
            {
                "recipient_id": recipient_id,
                "name": event.name,
                "employer": event.employer,
                "merged_into": None,
                "distinct_from": orjson.dumps([str(other) for other in event.distinct_from]).decode(),
            },
        )
        batch.put("gr_spellings", {"recipient_id": recipient_id, "name": event.name, "employer": event.employer})

    @handles(MergedInto)
    def on_merged_into(self, event: MergedInto, batch: Batch, position: int) -> None:
        batch.update("gr_recipients", (str(event.originator_id),), merged_into=str(event.survivor_id))

    @handles(GiftGiven)
    def on_gift_given(self, event: GiftGiven, batch: Batch, position: int) -> None:
        manager = batch.get("gr_relationship_managers", str(event.originator_id))
        # A shared gift is a row per person who shares it, each under its own id (the gift's, or a share's).
        for gift_id, recipient_id in [
            (event.gift_id, event.recipient.recipient_id),
            *((share.share_id, share.recipient.recipient_id) for share in event.shared_with),
        ]:
            self._merge_gift(
                batch,
                str(gift_id),
                recipient_id=str(recipient_id),
                relationship_id=str(event.originator_id),
                account_manager_id=manager["account_manager_id"] if manager else None,
                given_on=day_text(event.given_on),
                category=event.category.value,
                description=event.description,
                cost_cents=cents(event.cost),
                counted_cents=cents(event.counted_value),
                recorded_at=utc_text(event.recorded_at),
                position=position,
                market_value_cents=None if event.market_value is None else cents(event.market_value),
                face_value_cents=None if event.face_value is None else cents(event.face_value),
                head_count=max(event.recipients_count, 1 + len(event.shared_with)),
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
            preclearance_id=None if event.preclearance_id is None else str(event.preclearance_id),
        )
        if event.reservation_id is not None:
            batch.update("gr_reservations", (str(event.reservation_id),), ended="used")
        if event.spelled_as is not None:
            spelling = {"name": event.spelled_as.name, "employer": event.spelled_as.employer}
            batch.put("gr_spellings", {"recipient_id": str(event.originator_id), **spelling})

    @handles(HeadroomReserved)
    def on_headroom_reserved(self, event: HeadroomReserved, batch: Batch, position: int) -> None:
        batch.put(
            "gr_reservations",
            {
                "reservation_id": str(event.reservation_id),
                "request_id": str(event.request_id),
                "recipient_id": str(event.originator_id),
                "planned_on": day_text(event.planned_on),
                "counted_cents": cents(event.counted_value),
                "expires_on": day_text(event.expires_on),
                "position": position,
                "ended": None,
            },
        )

    @handles(ReservationReleased)
    def on_reservation_released(self, event: ReservationReleased, batch: Batch, position: int) -> None:
        batch.update("gr_reservations", (str(event.reservation_id),), ended=event.cause.value)

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
        batch.put("gr_policy", _policy_row(event.limit_schedule, event.limit_year, None))

    @handles(GiftLimitScheduled)
    def on_gift_limit_scheduled(self, event: GiftLimitScheduled, batch: Batch, position: int) -> None:
        policy = batch.get("gr_policy", 1)
        schedule = [c for c in _schedule(policy) if c.effective_from != event.effective_from]
        schedule.append(LimitChange(effective_from=event.effective_from, amount=event.amount))
        schedule.sort(key=lambda change: change.effective_from)
        limit_year = LimitYearPolicy.model_validate_json(policy["limit_year"]) if policy else LimitYearPolicy()
        batch.put("gr_policy", _policy_row(schedule, limit_year, policy))

    @handles(LimitYearPolicyChanged)
    def on_limit_year_policy_changed(self, event: LimitYearPolicyChanged, batch: Batch, position: int) -> None:
        policy = batch.get("gr_policy", 1)
        batch.put("gr_policy", _policy_row(_schedule(policy), event.limit_year, policy))

    @handles(ReviewThresholdSet)
    def on_review_threshold_set(self, event: ReviewThresholdSet, batch: Batch, position: int) -> None:
        policy = batch.get("gr_policy", 1)
        limit_year = LimitYearPolicy.model_validate_json(policy["limit_year"]) if policy else LimitYearPolicy()
        row = _policy_row(_schedule(policy), limit_year, policy)
        batch.put("gr_policy", row | {"review_threshold_cents": cents(event.amount)})


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


def _policy_row(schedule: list[LimitChange], limit_year: LimitYearPolicy, previous: Row | None) -> Row:
    threshold = previous.get("review_threshold_cents") if previous else None
    return {
        "id": 1,
        "limit_schedule": orjson.dumps([change.model_dump(mode="json") for change in schedule]).decode(),
        "limit_year": limit_year.model_dump_json(),
        "review_threshold_cents": threshold if threshold is not None else cents(DEFAULT_REVIEW_THRESHOLD),
    }


def _schedule(policy: Row | None) -> list[LimitChange]:
    if policy is None:
        return list(FINRA_SCHEDULE)
    return [LimitChange.model_validate(item) for item in orjson.loads(policy["limit_schedule"])]


# -- reading -----------------------------------------------------------------


class GiftRegisterReader:
    """Queries over the gift register."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view

    def policy(self) -> tuple[list[LimitChange], LimitYearPolicy]:
        with self.view.reading() as cursor:
            row = cursor.execute("SELECT limit_schedule, limit_year FROM gr_policy WHERE id = 1").fetchone()
        if row is None:
            return list(FINRA_SCHEDULE), LimitYearPolicy()
        return _schedule({"limit_schedule": row[0]}), LimitYearPolicy.model_validate_json(row[1])

    def review_threshold(self) -> Decimal:
        """The cost above which a gift that counts nothing is shown for review."""
        with self.view.reading() as cursor:
            row = cursor.execute("SELECT review_threshold_cents FROM gr_policy WHERE id = 1").fetchone()
        return money(row[0]) if row is not None and row[0] is not None else DEFAULT_REVIEW_THRESHOLD

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
        return self._read(year, today, recipient_id=recipient_id).entries

    def _read(self, year: int, today: date, *, recipient_id: str | None = None) -> _LimitYearReading:
        """The limit year's register, with what was read to draw it up (the policy, the people, the counted gifts
        near the year), so that the exceptions need read none of it again."""
        schedule, policy = self.policy()
        window = self.window(policy, year, today)
        limit = limit_shown(schedule, min(window.end, today))
        statement = (
            "SELECT g.recipient_id, g.gift_id, g.relationship_id, g.account_manager_id, "
            "g.given_on, g.category, g.description, g.cost_cents, g.counted_cents, g.limit_cents, g.limit_year, "
            f"g.position, {_VALUATION_COLUMNS} FROM gr_gifts g "
            "WHERE g.given_on >= ? AND g.given_on <= ? ORDER BY g.given_on, g.position"
        )
        with self.view.reading() as cursor:
            rows = cursor.execute(statement, (day_text(window.start), day_text(window.end))).fetchall()
        people = self.people()
        wanted = None if recipient_id is None else people.survivor(recipient_id)
        years: dict[str, RecipientYear] = {}
        for row in rows:
            survivor = people.survivor(row[0])
            if wanted is not None and survivor != wanted:
                continue
            entry = years.get(survivor)
            if entry is None:
                person = people.by_id[survivor]
                entry = years[survivor] = RecipientYear(
                    survivor, person.name, person.employer, window.label, limit, person=people.whole(survivor)
                )
            entry.gifts.append(_registered_gift(row[1:]))
        for reservation in self._reservations(window.start, window.end, today):
            survivor = people.survivor(reservation.recipient_id)
            if wanted is not None and survivor != wanted:
                continue
            entry = years.get(survivor)
            if entry is None:
                person = people.by_id[survivor]
                entry = years[survivor] = RecipientYear(
                    survivor, person.name, person.employer, window.label, limit, person=people.whole(survivor)
                )
            entry.reservations.append(reservation)
        # A rolling year, or a later gift's year, reaches a year either side of the window.
        reach = timedelta(days=366)
        nearby = people.together(
            self._counted_gifts_between(_shifted(window.start, -reach), _shifted(window.end, reach))
        )
        breaching = _breaching(window, schedule, policy, nearby)
        for entry in years.values():
            entry.breaching_gift_ids = breaching.get(entry.recipient_id, set())
        entries = sorted(years.values(), key=lambda e: (e.name, e.employer, e.recipient_id))
        return _LimitYearReading(schedule, window, nearby, entries)

    def _reservations(self, start: date, end: date, today: date | None) -> list[RegisteredReservation]:
        """The reservations held with `planned_on` from `start` to `end` that count on `today` (every one held,
        without a clock), oldest first."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT reservation_id, request_id, recipient_id, planned_on, counted_cents, expires_on, position "
                "FROM gr_reservations WHERE ended IS NULL AND planned_on >= ? AND planned_on <= ? ORDER BY position",
                (day_text(start), day_text(end)),
            ).fetchall()
        held = [
            RegisteredReservation(
                reservation_id=row[0],
                request_id=row[1],
                recipient_id=row[2],
                planned_on=date.fromisoformat(row[3]),
                counted_value=money(row[4]),
                expires_on=date.fromisoformat(row[5]),
                position=row[6],
            )
            for row in rows
        ]
        return [reservation for reservation in held if reservation.active_on(today)]

    def people(self) -> People:
        """Every recipient, with who was merged into whom, the look-alikes declared distinct, and every spelling."""
        with self.view.reading() as cursor:
            recipients = cursor.execute(
                "SELECT recipient_id, name, employer, merged_into, distinct_from FROM gr_recipients"
            ).fetchall()
            spellings = cursor.execute("SELECT recipient_id, name, employer FROM gr_spellings").fetchall()
        by_id = {
            row[0]: Person(row[0], row[1], row[2], row[3], tuple(orjson.loads(row[4])) if row[4] else ())
            for row in recipients
        }
        spelt: dict[str, list[tuple[str, str]]] = {}
        for recipient_id, name, employer in spellings:
            spelt.setdefault(recipient_id, []).append((name, employer))
        return People(by_id, spelt)

    def exceptions(self, year: int, today: date) -> list[GiftException]:
        """Gifts over the limit in force (breach), past 80 % of it (near limit), within 7 days of another to the
        same person (split), and uncounted gifts that cost more than the review threshold (review).

        Every limit here is the one in force on the gift's date under the schedule as it stands now. A split is
        looked for across the ends of the limit year too: a gift on 30 December and another on 2 January are
        3 days apart.
        """
        reading = self._read(year, today)
        schedule, window = reading.schedule, reading.window
        threshold = self.review_threshold()
        found: list[GiftException] = []
        for entry in reading.entries:
            running = Decimal("0.00")
            for gift in entry.gifts:
                limit = limit_shown(schedule, gift.given_on)
                if gift.counted_value == 0:
                    if gift.cost > threshold:
                        found.append(GiftException("review", *entry.who, gift, running, limit))
                    continue
                running += gift.counted_value
                if gift.gift_id in entry.breaching_gift_ids:
                    found.append(GiftException("breach", *entry.who, gift, running, limit))
                elif running > NEAR_LIMIT * limit:
                    found.append(GiftException("near_limit", *entry.who, gift, running, limit))
        by_recipient = {entry.recipient_id: entry for entry in reading.entries}
        for recipient_id, gifts in reading.nearby.items():
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
                    limit = limit_shown(schedule, gift.given_on)
                    found.append(GiftException("split", *holder.who, gift, holder.counted_total, limit, close))
        return found

    def headroom(self, name: str, employer: str, given_on: date, today: date | None = None) -> Headroom:
        """The limit in force on `given_on`, what the person named already has counted in that day's limit year, and
        the headroom a gift given that day has: the same rule as a gift (`check_within_limit`), so the limit year of
        every later gift the day falls in is respected too. Merged recipients count as one person. Reservations
        active on the firm's `today` (every one held, without it) count as a gift does, on their `planned_on`:
        `reserved` says how much of the day's limit year they hold, and the headroom is net of them.

        The person is found as a gift finds them: by the id their identity key gives, else by a recipient registered
        (before identity keys) under another id whose name and employer have the same keys. Raises `RuleViolation`
        for a day before the limit schedule begins.
        """
        people = self.people()
        found = self._identified(people, name, employer)
        if found is None:
            schedule, policy = self.policy()
            limit = limit_in_force(schedule, given_on)
            shown_name, shown_employer = " ".join(name.split()), " ".join(employer.split())
            label = policy.year_of(given_on).label
            return Headroom(None, shown_name, shown_employer, given_on, label, limit, Decimal("0.00"), limit)
        return self._headroom_of(people, found, given_on, today)

    def headroom_of(self, recipient_id: str, given_on: date, today: date) -> Headroom:
        """`headroom` for a known recipient (merges followed: the survivor's year), as the firm's `today` sees it.
        Raises `NotFound` for a recipient the register does not know, `RuleViolation` for a day before the limit
        schedule begins."""
        people = self.people()
        if recipient_id not in people.by_id:
            msg = f"No gift recipient {recipient_id} is known."
            raise NotFound(msg)
        return self._headroom_of(people, recipient_id, given_on, today)

    def _headroom_of(self, people: People, found: str, given_on: date, today: date | None) -> Headroom:
        schedule, policy = self.policy()
        limit = limit_in_force(schedule, given_on)
        year = policy.year_of(given_on)
        survivor = people.survivor(found)
        person = people.by_id.get(survivor) or people.by_id[found]
        members = [recipient for recipient in people.by_id if people.survivor(recipient) == survivor]
        # A later gift's limit year reaches at most a year past the day, and any limit year a year before it.
        reach = timedelta(days=366)
        marks = ", ".join("?" for _ in members)
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT given_on, counted_cents FROM gr_gifts WHERE recipient_id IN ({marks}) "
                "AND given_on >= ? AND given_on <= ?",
                (*members, day_text(_shifted(given_on, -reach)), day_text(_shifted(given_on, reach))),
            ).fetchall()
        gifts = [_Counted(date.fromisoformat(row[0]), money(row[1])) for row in rows]
        counted = sum((gift.counted_value for gift in gifts if year.contains(gift.given_on)), Decimal("0.00"))
        held = [
            r
            for r in self._reservations(_shifted(given_on, -reach), _shifted(given_on, reach), today)
            if r.recipient_id in members
        ]
        reserved = sum((r.counted_value for r in held if year.contains(r.planned_on)), Decimal("0.00"))
        counting = [*gifts, *(_Counted(r.planned_on, r.counted_value) for r in held)]
        headroom = headroom_on(counting, given_on, schedule, policy)
        return Headroom(
            survivor, person.name, person.employer, given_on, year.label, limit, counted, headroom, reserved
        )

    def _identified(self, people: People, name: str, employer: str) -> str | None:
        """The recipient a gift naming `name` at `employer` would go to (before following merges), if any."""
        by_key = str(GiftRecipient.id_for(name, employer))
        if by_key in people.by_id:
            return by_key
        wanted = _keys(name, employer)
        alike = [
            person.recipient_id for person in people.by_id.values() if _keys(person.name, person.employer) == wanted
        ]
        if len(alike) <= 1:
            return alike[0] if alike else None
        # The index holds recipients in the order they were registered, which is the order of their first gifts.
        marks = ", ".join("?" for _ in alike)
        with self.view.reading() as cursor:
            firsts = dict(
                cursor.execute(
                    f"SELECT recipient_id, MIN(position) FROM gr_gifts WHERE recipient_id IN ({marks}) "
                    "GROUP BY recipient_id",
                    tuple(alike),
                ).fetchall()
            )
        return min(alike, key=lambda recipient: (firsts.get(recipient) is None, firsts.get(recipient) or 0, recipient))

    def _counted_gifts_between(self, start: date, end: date) -> dict[str, list[RegisteredGift]]:
        """Counted gifts given from `start` to `end`, per recipient, in date order."""
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT recipient_id, gift_id, relationship_id, account_manager_id, given_on, category, description, "
                f"cost_cents, counted_cents, limit_cents, limit_year, position, {_VALUATION_COLUMNS} FROM gr_gifts "
                "WHERE given_on >= ? AND given_on <= ? AND counted_cents > 0 ORDER BY recipient_id, given_on, position",
                (day_text(start), day_text(end)),
            ).fetchall()
        gifts: dict[str, list[RegisteredGift]] = {}
        for row in rows:
            gifts.setdefault(row[0], []).append(_registered_gift(row[1:]))
        return gifts


@dataclass(frozen=True)
class _LimitYearReading:
    """A limit year's register and what was read to draw it up."""

    schedule: list[LimitChange]
    window: LimitYear
    nearby: dict[str, list[RegisteredGift]]
    """Counted gifts from a year before the window to a year after it, per person (merged ones together)."""
    entries: list[RecipientYear]


def _breaching(
    window: LimitYear, schedule: list[LimitChange], policy: LimitYearPolicy, nearby: dict[str, list[RegisteredGift]]
) -> dict[str, set[str]]:
    """Per person, the gifts in `window` that the limit rule would refuse now: each gift is checked again, in the
    order it was recorded, against the ones before it, with today's schedule (one rule, the domain's)."""
    breaching: dict[str, set[str]] = {}
    for recipient_id, gifts in nearby.items():
        accepted: list[CountedGift] = []
        for gift in sorted(gifts, key=lambda g: g.position or 0):
            counted = CountedGift(gift_id=UUID(gift.gift_id), given_on=gift.given_on, counted_value=gift.counted_value)
            try:
                check_within_limit(accepted, counted, schedule, policy)
            except GiftLimitExceeded:
                if window.contains(gift.given_on):
                    breaching.setdefault(recipient_id, set()).add(gift.gift_id)
            except RuleViolation:
                pass  # a day before the schedule begins: no limit to be over
            accepted.append(counted)
    return breaching


@lru_cache(maxsize=65_536)
@dataclass(frozen=True)
class _Counted:
    given_on: date
    counted_value: Decimal


def _keys(name: str, employer: str) -> tuple[str, str]:
    """A person's identity keys (cached: a look-up by name compares them with every recipient's)."""
    return person_key(name), firm_key(employer)


_VALUATION_COLUMNS = "market_value_cents, face_value_cents, head_count, preclearance_id"


def _registered_gift(row: tuple[Any, ...]) -> RegisteredGift:
    """A gift from the columns gift_id, relationship_id, account_manager_id, given_on, category, description,
    cost_cents, counted_cents, limit_cents, limit_year, position, then `_VALUATION_COLUMNS`."""
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
        market_value=None if row[11] is None else money(row[11]),
        face_value=None if row[12] is None else money(row[12]),
        head_count=row[13],
        preclearance_id=row[14],
    )


_SUMMARIES = {
    "breach": "the limit year is over the limit in force with this gift",
    "near_limit": "the limit year's counted total passed 80 % of the limit with this gift",
    "split": "another counted gift to the same person was given within 7 days",
    "review": "the gift counts nothing but cost more than the review threshold",
}


def exception_rows(view: ViewStore, context: ExceptionContext) -> list[ExceptionRow]:
    """The register's exceptions of the limit year (breach, near limit, split, review), each keyed by its gift (or
    share) id; `amount` is the recipient's counted total and `threshold` the limit in force, as the register shows
    them."""
    return [
        ExceptionRow(
            kind=ExceptionKind(found.kind),
            key=gift_key(found.gift.gift_id),
            occurred_on=found.gift.given_on,
            summary=f"{found.name} ({found.employer}): {_SUMMARIES[found.kind]}.",
            amount=found.counted_total,
            threshold=found.limit,
            recipient_id=found.recipient_id,
            name=found.name,
            employer=found.employer,
            account_manager_id=found.gift.account_manager_id,
            relationship_id=found.gift.relationship_id,
            gift=found.gift,
            related_ids=found.related_gift_ids,
        )
        for found in GiftRegisterReader(view).exceptions(context.year, context.today)
    ]
