"""What the projection tests share: dumps of every view row, a command driver, waiting, and spawned writers."""

from __future__ import annotations

import contextlib
import random
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, ClassVar
from uuid import UUID

import psycopg

from domain.application import Ledger
from domain.commands import (
    MAX_CAPACITY,
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    CompensationPlan,
    CompleteDemo,
    CorrectEntry,
    DeactivateAccountManager,
    GiveGift,
    IntroduceProduct,
    LogContact,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    ProvideEntertainment,
    RegisterAccountManager,
    ReopenRelationship,
    RescheduleDemo,
    ScheduleDemo,
    ScheduleGiftLimit,
    SetCapacity,
    SetLimitYear,
    SetQuota,
    SignContract,
    TerminateContract,
)
from domain.errors import DomainError
from domain.relationship import (
    ContactLogged,
    ContractProposed,
    ContractSigned,
    DemoCompleted,
    DemoScheduled,
    EntertainmentProvided,
    GiftGiven,
    Opened,
    ProductIntroduced,
)
from domain.values import Audit, ContractStatus, DemoStatus, Role
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from infrastructure.sql import NEXT, Table, ViewStore
from projections.runner import PROJECTIONS
from tests.conftest import POSTGRES_ADMIN_URL, audit_as

VIEW_TABLES: tuple[Table, ...] = tuple(table for projection in PROJECTIONS for table in projection.tables)
"""Every live view table of every projection."""

TRACKING_NAMES: tuple[str, ...] = tuple(projection.name for projection in PROJECTIONS)

Dump = dict[str, list[tuple[Any, ...]]]


# -- reading the views whole ---------------------------------------------------


def dump_views(view: ViewStore) -> Dump:
    """Every row of every live view table, in primary-key order, read in one snapshot."""
    dump: Dump = {}
    with view.reading() as cursor:
        for table in VIEW_TABLES:
            statement = f"SELECT {', '.join(table.column_names)} FROM {table.name} ORDER BY {', '.join(table.key)}"
            dump[table.name] = cursor.execute(statement).fetchall()
    return dump


def tracking_positions(view: ViewStore) -> dict[str, int]:
    """The tracking rows of the projections, live and rebuilding (`<name>__next`)."""
    names = {*TRACKING_NAMES, *(name + NEXT for name in TRACKING_NAMES)}
    with view.reading() as cursor:
        rows = cursor.execute(f"SELECT application_name, notification_id FROM {view.tracking_table}").fetchall()
    return {str(name): int(position) for name, position in rows if name in names}


def next_tables(view: ViewStore) -> list[str]:
    """The `__next` tables a from-scratch rebuild has left beside the live ones."""
    with view.reading() as cursor:
        return [table.name + NEXT for table in VIEW_TABLES if view.table_exists(cursor, table.name + NEXT)]


def audit_positions(view: ViewStore) -> list[int]:
    """The position of every row of the audit index, in order (duplicates would show twice)."""
    with view.reading() as cursor:
        return [int(row[0]) for row in cursor.execute("SELECT position FROM audit_events ORDER BY position").fetchall()]


def stored_positions(ledger: Ledger) -> list[int]:
    """The global position of every stored event, oldest first."""
    positions: list[int] = []
    start = 1
    while notifications := ledger.recorder.select_notifications(start=start, limit=1_000):
        positions.extend(notification.id for notification in notifications)
        start = notifications[-1].id + 1
    return positions


def head(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


# -- stores and waiting ------------------------------------------------------


@contextlib.contextmanager
def fresh_postgres_url() -> Iterator[str]:
    """A ledger URL on a new PostgreSQL schema, dropped afterwards (for tests that need several per run)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_ADMIN_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_sessions(application_name: str) -> int:
    """How many server sessions the clients started with PGAPPNAME=`application_name` still have open."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    return int(row[0]) if row else 0


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.01, what: str) -> None:
    """Polls `condition` until it holds; fails with `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- a driver of random commands -----------------------------------------------

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BASE_DAY = date(2026, 1, 5)
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))
TIERS = ("key", "major", "standard")
INDUSTRIES = ("advertising", "public_relations", "financial_services", "technology", "other")
RECIPIENTS = (("Jane Roe", "Acme Bank"), ("john  DOE", "Globex Capital"), ("Mary Major", "Initrode"))
CATEGORIES = ("general", "general", "general", "ticket", "personal", "promotional", "retail_customer")


class Skipped(Exception):
    """The command has nothing to act on yet (no relationship, no demo...)."""


def _pick(items: Sequence[Any], number: int) -> Any:
    if not items:
        raise Skipped
    return items[number % len(items)]


def _money(number: int, ceiling: int) -> str:
    return f"{1 + number % ceiling}.{(number // 7) % 100:02d}"


class LedgerDriver:
    """Runs commands chosen by two numbers against a ledger, remembering the ids it can pick targets from.

    A command the ledger refuses (a domain error) stores nothing and is simply counted, as a client would
    see a 409 and move on; the views must then show exactly what was stored.
    """

    KINDS: ClassVar[tuple[str, ...]] = (
        "register",
        "quota",
        "plan",
        "capacity",
        "open_relationship",
        "open_relationship",
        "contact",
        "contact",
        "tier",
        "cadence",
        "product",
        "demo",
        "demo",
        "reschedule",
        "complete_demo",
        "cancel_demo",
        "propose",
        "propose",
        "sign",
        "sign",
        "terminate",
        "gift",
        "gift",
        "gift",
        "entertainment",
        "reassign",
        "correct",
        "correct",
        "close",
        "reopen",
        "deactivate",
        "gift_limit",
        "limit_year",
    )

    def __init__(self, ledger: Ledger, *, managers: Sequence[UUID] = (), relationships: Sequence[UUID] = ()) -> None:
        self.ledger = ledger
        self.managers = list(managers)
        self.relationships = list(relationships)
        self.demos: dict[UUID, tuple[UUID, DemoStatus]] = {}
        self.contracts: dict[UUID, tuple[UUID, ContractStatus]] = {}
        self.actor_prefix = uuid.uuid4().hex[:8]
        self.stored = 0
        self.refused = 0

    def run(self, kind: str, a: int, b: int) -> bool:
        """Runs command `kind` with targets and values chosen by `a` and `b`; False if there was nothing to do
        or the ledger refused it."""
        try:
            getattr(self, kind)(a, b)
        except (Skipped, DomainError):
            self.refused += 1
            return False
        self.stored += 1
        return True

    def audit(self, number: int, role: Role = Role.MANAGER) -> Audit:
        return audit_as(role, actor_id=f"{role.value}-{self.actor_prefix}-{number % 3}")

    def relationship(self, number: int) -> UUID:
        return UUID(str(_pick(self.relationships, number)))

    # -- account managers --

    def register(self, a: int, b: int) -> None:
        result = self.ledger.register_account_manager(
            self.audit(a),
            RegisterAccountManager(name=f"Manager {b % 1000}", email=f"am.{uuid.uuid4().hex[:10]}@example.com"),
        )
        self.managers.append(result.id)

    def quota(self, a: int, b: int) -> None:
        self.ledger.set_quota(self.audit(b), _pick(self.managers, a), 2025 + b % 2, SetQuota(amount=_money(b, 50_000)))

    def plan(self, a: int, b: int) -> None:
        plan = {
            "base_salary": _money(b, 90_000),
            "commission_rate": ("0.05", "0.075", "0.1")[b % 3],
            "accelerator_rate": ("0", "0.02", "0.035")[a % 3],
            "bonus_threshold": ("1", "1.1", "0.8")[(a + b) % 3],
            "bonus_amount": _money(a, 5_000),
        }
        self.ledger.set_compensation_plan(
            self.audit(b), _pick(self.managers, a), 2025 + b % 2, CompensationPlan.of(plan)
        )

    def capacity(self, a: int, b: int) -> None:
        # Mostly small, so that some loads go over it; now and then the largest a capacity may be.
        capacity = MAX_CAPACITY if b % 10 == 0 else 1 + b % 30
        self.ledger.set_capacity(self.audit(b), _pick(self.managers, a), SetCapacity(capacity=capacity))

    def deactivate(self, a: int, b: int) -> None:
        if b % 3:  # rarely, so that managers are left to assign
            raise Skipped
        self.ledger.deactivate_account_manager(
            self.audit(b), _pick(self.managers, a), DeactivateAccountManager(reason="Left the firm")
        )

    # -- relationships --

    def open_relationship(self, a: int, b: int) -> None:
        result = self.ledger.open_relationship(
            self.audit(b),
            OpenRelationship(
                client_name=f"Client {b % 10_000}",
                client_kind=("individual", "corporate")[b % 2],
                industry=INDUSTRIES[a % len(INDUSTRIES)],
                tier=TIERS[b % 3],
                account_manager_id=_pick(self.managers, a),
            ),
        )
        self.relationships.append(result.id)

    def contact(self, a: int, b: int) -> None:
        occurred_at = (BASE_TIME + timedelta(minutes=b % 400_000)).astimezone(ZONES[a % 3])
        follow_up = occurred_at.date() + timedelta(days=b % 20) if b % 2 else None
        self.ledger.log_contact(
            self.audit(a),
            self.relationship(a),
            LogContact(
                occurred_at=occurred_at,
                channel=("call", "email", "meeting", "visit")[b % 4],
                summary=f"Contact {b}",
                next_follow_up_on=follow_up,
            ),
        )

    def tier(self, a: int, b: int) -> None:
        self.ledger.change_tier(self.audit(b), self.relationship(a), ChangeTier(tier=TIERS[b % 3]))

    def cadence(self, a: int, b: int) -> None:
        self.ledger.change_cadence(self.audit(b), self.relationship(a), ChangeCadence(days=1 + b % 90))

    def product(self, a: int, b: int) -> None:
        self.ledger.introduce_product(
            self.audit(b),
            self.relationship(a),
            IntroduceProduct(
                product=f"Product {b % 3}",
                occurred_at=BASE_TIME + timedelta(hours=b % 5_000),
                outcome=("interested", "declined", "pending")[a % 3],
            ),
        )

    def reassign(self, a: int, b: int) -> None:
        self.ledger.assign_account_manager(
            self.audit(b),
            self.relationship(a),
            AssignAccountManager(account_manager_id=_pick(self.managers, b), reason="Rebalancing"),
        )

    def close(self, a: int, b: int) -> None:
        if b % 2:  # now and then, so that most relationships stay open
            raise Skipped
        self.ledger.close_relationship(self.audit(b), self.relationship(a), CloseRelationship(reason="Client left"))

    def reopen(self, a: int, b: int) -> None:
        self.ledger.reopen_relationship(
            self.audit(b), self.relationship(a), ReopenRelationship(reason="Client came back")
        )

    # -- demos --

    def demo(self, a: int, b: int) -> None:
        relationship_id = self.relationship(a)
        result = self.ledger.schedule_demo(
            self.audit(b),
            relationship_id,
            ScheduleDemo(
                product=f"Product {b % 3}",
                scheduled_for=(BASE_TIME + timedelta(hours=b % 9_000)).astimezone(ZONES[b % 3]),
                location=f"Room {a % 20}",
                staff=[{"name": "Priya Shah", "role": "technical"}, {"name": "Tom Bell", "role": "design"}][
                    : 1 + b % 2
                ],
            ),
        )
        self.demos[result.demo_id] = (relationship_id, DemoStatus.SCHEDULED)

    def _demo(self, b: int) -> tuple[UUID, UUID]:
        """One of the demos scheduled here, a scheduled one where there is any, with its relationship."""
        scheduled = [demo_id for demo_id, (_, status) in self.demos.items() if status is DemoStatus.SCHEDULED]
        demo_id: UUID = _pick(scheduled or list(self.demos), b)
        return self.demos[demo_id][0], demo_id

    def reschedule(self, a: int, b: int) -> None:
        relationship_id, demo_id = self._demo(b)
        when = BASE_TIME + timedelta(hours=a % 9_000)
        self.ledger.reschedule_demo(self.audit(b), relationship_id, demo_id, RescheduleDemo(scheduled_for=when))

    def complete_demo(self, a: int, b: int) -> None:
        relationship_id, demo_id = self._demo(b)
        self.ledger.complete_demo(self.audit(a), relationship_id, demo_id, CompleteDemo(outcome="Went well"))
        self.demos[demo_id] = (relationship_id, DemoStatus.COMPLETED)

    def cancel_demo(self, a: int, b: int) -> None:
        relationship_id, demo_id = self._demo(b)
        self.ledger.cancel_demo(self.audit(a), relationship_id, demo_id, CancelDemo(reason="Client asked"))
        self.demos[demo_id] = (relationship_id, DemoStatus.CANCELLED)

    # -- contracts --

    def propose(self, a: int, b: int) -> None:
        relationship_id = self.relationship(a)
        starts_on = BASE_DAY + timedelta(days=b % 300)
        result = self.ledger.propose_contract(
            self.audit(b),
            relationship_id,
            ProposeContract(
                title=f"Contract {b % 100}",
                value=_money(b, 40_000),
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=365),
            ),
        )
        self.contracts[result.contract_id] = (relationship_id, ContractStatus.PROPOSED)

    def _contract(self, b: int, status: ContractStatus) -> tuple[UUID, UUID]:
        """One of the contracts proposed here, one in `status` where there is any, with its relationship."""
        chosen = [contract_id for contract_id, (_, now) in self.contracts.items() if now is status]
        contract_id: UUID = _pick(chosen or list(self.contracts), b)
        return self.contracts[contract_id][0], contract_id

    def sign(self, a: int, b: int) -> None:
        relationship_id, contract_id = self._contract(b, ContractStatus.PROPOSED)
        signed_on = date(2025, 11, 1) + timedelta(days=a % 500)
        self.ledger.sign_contract(self.audit(b), relationship_id, contract_id, SignContract(signed_on=signed_on))
        self.contracts[contract_id] = (relationship_id, ContractStatus.SIGNED)

    def terminate(self, a: int, b: int) -> None:
        relationship_id, contract_id = self._contract(b, ContractStatus.SIGNED)
        signed_on = self.ledger.relationship(relationship_id).contracts[contract_id].signed_on
        on = (signed_on or BASE_DAY) + timedelta(days=a % 200)
        self.ledger.terminate_contract(
            self.audit(b), relationship_id, contract_id, TerminateContract(on=on, reason="Ended early")
        )
        self.contracts[contract_id] = (relationship_id, ContractStatus.TERMINATED)

    # -- gifts and entertainment --

    def gift(self, a: int, b: int) -> None:
        name, employer = RECIPIENTS[a % len(RECIPIENTS)]
        category = CATEGORIES[b % len(CATEGORIES)]
        self.ledger.give_gift(
            self.audit(b),
            self.relationship(a),
            GiveGift(
                recipient=NamedRecipient(name=name if b % 2 else name.upper(), employer=employer),
                description=f"Gift {b % 1000}",
                given_on=date(2025, 12, 20) + timedelta(days=b % 130),
                category=category,
                cost=_money(b, 120),
                face_value=_money(a, 160) if category == "ticket" else None,
                recipients_count=3 if b % 5 == 0 else 1,
            ),
        )

    def entertainment(self, a: int, b: int) -> None:
        self.ledger.provide_entertainment(
            self.audit(b),
            self.relationship(a),
            ProvideEntertainment(
                occurred_on=BASE_DAY + timedelta(days=b % 300),
                description="Dinner",
                cost=_money(b, 400),
                attendees=["Jane Roe"],
                representative_attended=True,
            ),
        )

    def gift_limit(self, a: int, b: int) -> None:
        self.ledger.schedule_gift_limit(
            self.audit(b, Role.COMPLIANCE),
            ScheduleGiftLimit(
                effective_from=date(2026, 1 + a % 12, 1), amount=f"{50 + b % 300}.00", reason="Set by the property test"
            ),
        )

    def limit_year(self, a: int, b: int) -> None:
        kind = ("calendar", "fiscal", "rolling_12_months")[b % 3]
        self.ledger.set_limit_year(
            self.audit(b, Role.COMPLIANCE),
            SetLimitYear(kind=kind, start_month=1 + a % 12 if kind == "fiscal" else None),
        )

    # -- corrections --

    def correct(self, a: int, b: int) -> None:
        relationship_id = self.relationship(a)
        correctable = [
            event
            for event in self.ledger.history(relationship_id)
            if isinstance(
                event,
                Opened
                | ContactLogged
                | ProductIntroduced
                | DemoScheduled
                | DemoCompleted
                | ContractProposed
                | ContractSigned
                | GiftGiven
                | EntertainmentProvided,
            )
        ]
        original = _pick(correctable, b)
        self.ledger.correct_entry(
            self.audit(b),
            relationship_id,
            CorrectEntry(
                corrects_version=original.originator_version,
                reason="Recorded wrongly",
                changes=_changes_for(original, b),
            ),
        )


def _changes_for(original: Any, number: int) -> dict[str, Any]:
    """Corrected values for some correctable fields of `original`."""
    if isinstance(original, Opened):
        return {"client_name": f"Corrected client {number % 100}", "industry": INDUSTRIES[number % len(INDUSTRIES)]}
    if isinstance(original, ContactLogged):
        occurred_at = BASE_TIME + timedelta(minutes=number % 400_000)
        return {"occurred_at": occurred_at.isoformat(), "next_follow_up_on": None}
    if isinstance(original, ProductIntroduced):
        return {"outcome": ("interested", "declined", "pending")[number % 3]}
    if isinstance(original, DemoScheduled):
        return {"location": f"Corrected room {number % 20}", "staff": [{"name": "Ola Berg", "role": "support"}]}
    if isinstance(original, DemoCompleted):
        return {"outcome": "Corrected outcome"}
    if isinstance(original, ContractProposed):
        return {"value": _money(number, 40_000), "title": f"Corrected contract {number % 10}"}
    if isinstance(original, ContractSigned):
        changes: dict[str, Any] = {"value": _money(number, 40_000)}
        if number % 2:
            changes["signed_on"] = (date(2025, 11, 1) + timedelta(days=number % 500)).isoformat()
        return changes
    if isinstance(original, GiftGiven):
        return {"description": f"Corrected gift {number % 10}"}
    return {"description": "Corrected dinner", "cost": _money(number, 400)}


# -- spawned writers -----------------------------------------------------------

FAILED = "failed"


def write_commands(
    database_url: str,
    seed: int,
    commands: int,
    managers: list[str],
    relationships: list[str],
    start: Barrier,
    report: Queue[tuple[int, int, str]],
) -> None:
    """Builds a ledger, waits for every writer at `start`, then runs `commands` random commands.

    Reports (seed, commands stored, "") or, on any failure, (seed, -1, the traceback).
    """
    try:
        ledger = build_ledger(Settings(database_url=database_url))
        try:
            driver = LedgerDriver(
                ledger, managers=[UUID(m) for m in managers], relationships=[UUID(r) for r in relationships]
            )
            rng = random.Random(seed)
            start.wait(timeout=60)
            for _ in range(commands):
                driver.run(rng.choice(LedgerDriver.KINDS), rng.getrandbits(24), rng.getrandbits(24))
        finally:
            ledger.close()
        report.put((seed, driver.stored, ""))
    except BaseException:  # reported to the test, which fails on it
        start.abort()
        report.put((seed, -1, traceback.format_exc()))
