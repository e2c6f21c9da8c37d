"""Fills an empty ledger with a synthetic but realistic history, the same for the same random seed.

The aggregates are held in memory while the history is written: each command
runs on the aggregate in hand, its events are collected in the order the
commands ran, and every few thousand events one call to `Ledger.save` stores
the batch in one transaction. Every id (aggregates, demos, contracts, gifts,
correlation ids) comes from one `random.Random(random_seed)`, and every business
time from a simulated clock that runs from 2025-01-01 to `until` as the events
are written, so two runs with one seed store the same events in the same order
(only `recorded_at`, the server's clock, differs).

The batch keeps the events in the order the commands ran, across aggregates, so
the global log reads as the history happened and `recorded_at` never goes
backwards along it.
"""

from __future__ import annotations

import heapq
import math
import random
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.account_manager import AccountManager, CompensationPlan
from domain.application import Ledger
from domain.compliance_policy import POLICY_ID, CompliancePolicy
from domain.errors import GiftLimitExceeded
from domain.gift_recipient import GiftRecipient
from domain.gift_rule import ZERO, counted_value, limit_in_force
from domain.model import LedgerAggregate, LedgerEvent
from domain.relationship import (
    ClientRelationship,
    ContactLogged,
    EntertainmentProvided,
    ProductIntroduced,
    Recipient,
    StaffMember,
)
from domain.values import (
    CENT,
    Audit,
    Channel,
    ClientKind,
    GiftCategory,
    Industry,
    IntroductionOutcome,
    Principal,
    RelationshipStatus,
    Role,
    StaffRole,
    Tier,
)
from scripts.progress import events_progress

HISTORY_STARTS = date(2025, 1, 1)
"""The first business day of every seeded history."""


class LedgerNotEmptyError(Exception):
    """The seed was pointed at a ledger that already holds events; it writes only into an empty one."""


@dataclass(frozen=True)
class SeedPlan:
    """How much history to write, and the random seed that decides all of it."""

    managers: int = 12
    relationships: int = 200
    events: int = 10_000
    random_seed: int = 2026
    until: date | None = None
    """The last day of the history (today, UTC, when None); give it to repeat a history on another day."""
    batch_size: int = 2_000
    """Events stored per transaction (a logical command's events are never split)."""

    def __post_init__(self) -> None:
        for name in ("managers", "relationships", "events", "batch_size"):
            if getattr(self, name) < 1:
                msg = f"{name} must be at least 1, not {getattr(self, name)}"
                raise ValueError(msg)
        if self.until is not None and self.until <= HISTORY_STARTS + timedelta(days=7):
            msg = f"until must be after {HISTORY_STARTS + timedelta(days=7)}: the history starts on {HISTORY_STARTS}"
            raise ValueError(msg)


@dataclass
class SeedSummary:
    """What a seed wrote, and how fast."""

    managers: int = 0
    relationships: int = 0
    events: int = 0
    gifts_accepted: int = 0
    gifts_refused: int = 0
    contracts_proposed: int = 0
    contracts_signed: int = 0
    contracts_terminated: int = 0
    demos_scheduled: int = 0
    demos_completed: int = 0
    demos_cancelled: int = 0
    reassignments: int = 0
    deactivations: int = 0
    corrections: int = 0
    closures: int = 0
    reopenings: int = 0
    first_day: date = HISTORY_STARTS
    last_day: date = HISTORY_STARTS
    elapsed_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def describe(self) -> str:
        """A few lines for a person: what was written, over which dates, and how fast."""
        return "\n".join(
            [
                f"Seeded {self.events:,} events in {self.elapsed_seconds:.1f} s "
                f"({self.events_per_second:,.0f} events/s), business dates {self.first_day} to {self.last_day}.",
                f"{_count(self.managers, 'account manager')} ({self.deactivations} deactivated), "
                f"{_count(self.relationships, 'relationship')} ({self.closures} closed, {self.reopenings} reopened), "
                f"{_count(self.reassignments, 'reassignment')}.",
                f"{self.demos_scheduled:,} demos scheduled ({self.demos_completed:,} completed, "
                f"{self.demos_cancelled:,} cancelled); {self.contracts_signed:,} contracts signed of "
                f"{self.contracts_proposed:,} proposed ({self.contracts_terminated:,} terminated); "
                f"{self.corrections:,} corrections.",
                f"Gifts: {self.gifts_accepted:,} accepted, "
                f"{self.gifts_refused:,} refused at the FINRA Rule 3220 limit.",
            ]
        )


def seed_ledger(ledger: Ledger, plan: SeedPlan, *, progress: bool) -> SeedSummary:
    """Writes the plan's history into an empty ledger; refuses, writing nothing, if it holds any history."""
    if not holds_no_history(ledger):
        msg = (
            f"The ledger already holds events (up to position {ledger.recorder.max_notification_id()}); "
            "seed only an empty ledger, e.g. point LEDGER_DATABASE_URL at a new database."
        )
        raise LedgerNotEmptyError(msg)
    if not progress:
        return _Seeder(ledger, plan, on_flush=None).run()
    with events_progress("Seeding", plan.events) as update:
        return _Seeder(ledger, plan, on_flush=lambda done: update(done, plan.events)).run()


def holds_no_history(ledger: Ledger) -> bool:
    """Whether the ledger is empty but for its gift policy (which `build_ledger` stores before anything else)."""
    return all(
        notification.originator_id == POLICY_ID
        for notifications in ledger.log_pages(100)
        for notification in notifications
    )


# -- The cast and the props --------------------------------------------------

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Benjamin", "Harper", "Daniel", "Evelyn", "Henry", "Abigail", "Samuel", "Priya", "Arjun", "Mei",
    "Hiroshi", "Fatima", "Omar", "Chloe", "Gabriel", "Zoe", "Nathan", "Hannah", "Ethan", "Grace", "David", "Leah",
    "Marcus", "Nadia", "Tomas", "Ingrid", "Kwame", "Amara", "Diego", "Lucia", "Rafael", "Elena", "Viktor", "Anya",
    "Sean", "Aisha", "Jonah", "Rachel", "Carlos", "Yuki", "Ibrahim", "Sofia", "Patrick", "Claire", "Ravi", "Naomi",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen",
    "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Patel", "Kim", "Chen", "Okafor", "Novak",
    "Kowalski", "Schmidt", "Rossi", "Dubois", "Larsen", "Silva", "Haddad", "Cohen", "Murphy", "O'Brien", "Fischer",
    "Tanaka", "Singh", "Ivanova", "Moreau", "Bianchi", "Sato", "Reyes", "Brennan", "Whitfield", "Ashworth",
)  # fmt: skip
STEMS = (
    "Northwind", "Blue Harbor", "Granite Peak", "Silverline", "Redwood", "Summit Ridge", "Brightwater", "Ironbridge",
    "Meridian", "Clearview", "Oakhurst", "Lakeshore", "Crescent", "Harborview", "Pinecrest", "Stonegate", "Westfield",
    "Evergreen", "Highland", "Riverbend", "Atlas", "Beacon", "Cobalt", "Falcon", "Keystone", "Lighthouse", "Maple Leaf",
    "Orion", "Pioneer", "Quarry Hill", "Sterling", "Tidewater", "Vanguard", "Willow Creek", "Aurora", "Bluestone",
    "Cedar Point", "Driftwood", "Eastgate", "Foxglove", "Goldcrest", "Hawthorne", "Juniper", "Kingsbridge", "Larkspur",
    "Millbrook", "Newhaven", "Old Mill", "Parkside", "Rosewood", "Seabright", "Thornbury", "Upland", "Windermere",
)  # fmt: skip
SUFFIXES: dict[Industry, tuple[str, ...]] = {
    Industry.ADVERTISING: ("Advertising", "Media Group", "Creative", "Brand Partners", "Agency"),
    Industry.PUBLIC_RELATIONS: ("Communications", "Public Relations", "PR", "Strategies", "Reputation Partners"),
    Industry.FINANCIAL_SERVICES: ("Capital", "Asset Management", "Securities", "Bancorp", "Wealth Partners"),
    Industry.TECHNOLOGY: ("Systems", "Software", "Technologies", "Labs", "Networks"),
    Industry.OTHER: ("Foods", "Health Group", "Logistics", "Hospitality", "Pharmaceuticals"),
}
PRODUCTS: dict[Industry, tuple[str, ...]] = {
    Industry.ADVERTISING: (
        "Programmatic Display", "Connected TV Campaigns", "Creative Studio Retainer", "Audience Analytics",
        "Retail Media Network", "Brand Safety Monitoring",
    ),
    Industry.PUBLIC_RELATIONS: (
        "Media Monitoring", "Crisis Communications Retainer", "Executive Visibility Program", "Social Listening",
        "Press Release Distribution",
    ),
    Industry.FINANCIAL_SERVICES: (
        "Prime Brokerage", "Treasury Management", "FX Hedging Desk", "Securities Lending", "Custody Services",
        "Private Wealth Portfolio", "Cash Sweep Program",
    ),
    Industry.TECHNOLOGY: (
        "Managed Security Operations", "Endpoint Protection Suite", "Cloud Backup", "Hardware Support Plan",
        "Zero Trust Network Access", "Data Platform Migration",
    ),
    Industry.OTHER: (
        "Supply Chain Analytics", "Pharmacy Inventory Platform", "Fleet Telematics", "Procurement Portal",
        "Facilities Support Plan",
    ),
}  # fmt: skip
INDIVIDUAL_PRODUCTS = ("Private Wealth Portfolio", "Estate Planning Review", "Retirement Income Plan", "Trust Services")
CITIES: tuple[tuple[str, str, float], ...] = (
    ("New York", "America/New_York", 30),
    ("Boston", "America/New_York", 8),
    ("Chicago", "America/Chicago", 12),
    ("Austin", "America/Chicago", 6),
    ("Denver", "America/Denver", 5),
    ("San Francisco", "America/Los_Angeles", 12),
    ("Seattle", "America/Los_Angeles", 6),
    ("Toronto", "America/Toronto", 5),
    ("London", "Europe/London", 9),
    ("Frankfurt", "Europe/Berlin", 4),
    ("Singapore", "Asia/Singapore", 3),
)
FIRM_TIME_ZONE = "America/New_York"
FIRM_DOMAIN = "ledgerfirm.example"
INDUSTRY_WEIGHTS = {
    Industry.ADVERTISING: 22,
    Industry.PUBLIC_RELATIONS: 14,
    Industry.FINANCIAL_SERVICES: 28,
    Industry.TECHNOLOGY: 24,
    Industry.OTHER: 12,
}
TIER_WEIGHTS = {Tier.KEY: 8, Tier.MAJOR: 25, Tier.STANDARD: 67}
CONTRACT_VALUES = {Tier.KEY: (150_000, 1_500_000), Tier.MAJOR: (40_000, 300_000), Tier.STANDARD: (5_000, 60_000)}
PRIVATE_EMPLOYERS = (
    "Self-employed", "Mercy Hospital Group", "City of Springfield", "Lakeside School District", "Harlow & Finch LLP",
    "Retired", "St. Jude Medical Practice", "Grant Dental Partners",
)  # fmt: skip
CONTACT_SUMMARIES: dict[Channel, tuple[str, ...]] = {
    Channel.CALL: (
        "Checked in on renewal timing", "Walked through the latest invoice", "Discussed budget for next quarter",
        "Followed up on open support tickets", "Answered questions about pricing tiers",
    ),
    Channel.EMAIL: (
        "Sent the quarterly performance report", "Shared the revised statement of work",
        "Confirmed the agenda for the next review", "Sent case studies from the same industry",
    ),
    Channel.MEETING: (
        "Quarterly business review with the leadership team", "Planning session for next year's programme",
        "Reviewed service levels and escalations", "Introduced the new support lead",
    ),
    Channel.VISIT: (
        "On-site visit to the client's headquarters", "Toured the operations floor with the COO",
        "Attended the client's internal kickoff",
    ),
    Channel.OTHER: ("Met at an industry conference", "Spoke briefly at a charity event"),
}  # fmt: skip
CHANNEL_WEIGHTS = {Channel.CALL: 36, Channel.EMAIL: 34, Channel.MEETING: 18, Channel.VISIT: 8, Channel.OTHER: 4}
DEMO_OUTCOMES_POSITIVE = (
    "Strong interest; client asked for a proposal", "Pilot agreed with the technical team",
    "Design direction approved; pricing requested",
)  # fmt: skip
DEMO_OUTCOMES_OTHER = (
    "Needs a security review before going further", "Lukewarm; revisit next quarter",
    "Budget frozen until the new fiscal year", "Went well, but a competitor is preferred",
)  # fmt: skip
DEMO_CANCEL_REASONS = (
    "Client postponed indefinitely",
    "Key stakeholder left the company",
    "Client chose to evaluate internally",
)
STAFF: tuple[tuple[str, StaffRole], ...] = (
    ("Maya Fernandez", StaffRole.TECHNICAL), ("Kenji Watanabe", StaffRole.TECHNICAL),
    ("Oskar Lindqvist", StaffRole.TECHNICAL), ("Bola Adeyemi", StaffRole.TECHNICAL),
    ("Tara Quinn", StaffRole.TECHNICAL), ("Lena Hoffmann", StaffRole.DESIGN), ("Julien Marchand", StaffRole.DESIGN),
    ("Sana Qureshi", StaffRole.DESIGN), ("Ruth Okonkwo", StaffRole.SUPPORT), ("Miguel Santos", StaffRole.SUPPORT),
    ("Dana Whitaker", StaffRole.SUPPORT), ("Felix Brandt", StaffRole.OTHER),
)  # fmt: skip
CLOSE_REASONS = (
    "Client moved the work in-house",
    "Client was acquired; the parent has its own provider",
    "Contract not renewed after budget cuts",
    "Client went with a competitor after an RFP",
)
REOPEN_REASONS = ("Client returned after a new RFP", "New leadership at the client asked to restart", "Won back")
REASSIGN_REASONS = ("Territory rebalancing", "Industry specialisation", "Workload rebalancing", "Client request")
TERMINATE_REASONS = ("Client exercised the termination for convenience clause", "Merged into a larger agreement")
ENTERTAINMENT = (
    ("Client dinner", 180, 900), ("Lunch after the quarterly review", 60, 320), ("Box seats at a ballgame", 400, 1600),
    ("Theatre evening", 250, 1200), ("Golf outing", 300, 1400),
)  # fmt: skip

ACTIONS = ("contact", "introduce", "demo", "propose", "gift", "entertainment", "correct")
ACTION_WEIGHTS = (430, 110, 70, 35, 70, 25, 12)
"""How the day-to-day work on a relationship is shared out (the more events planned, the busier the days)."""
STANDING_RATES = {"close": 0.05, "reassign": 0.12, "tier": 0.10, "cadence": 0.15}
"""How often a relationship's standing changes, per relationship and year, however busy the days are."""
REOPENED_SHARE = 0.5
TERMINATED_SHARE = 0.06
SIGNED_VALUE_PER_EVENT = 8_500
"""About how much contract value (USD) each event of activity ends up signing (measured), to size quotas."""


# -- Working state -----------------------------------------------------------


@dataclass(slots=True)
class _Manager:
    aggregate: AccountManager
    principal: Principal


@dataclass(slots=True)
class _Gift:
    given_on: date
    category: GiftCategory
    description: str
    cost: Decimal
    market_value: Decimal | None = None
    face_value: Decimal | None = None
    recipients_count: int = 1

    @property
    def counted(self) -> Decimal:
        return counted_value(
            category=self.category,
            cost=self.cost,
            market_value=self.market_value,
            face_value=self.face_value,
            recipients_count=self.recipients_count,
        )


@dataclass(slots=True)
class _Client:
    index: int
    aggregate: ClientRelationship
    time_zone: tzinfo
    city: str
    people: list[tuple[str, str]]
    scheduled_demos: list[UUID] = field(default_factory=list)
    latest_contact: ContactLogged | None = None
    """The contact that is the relationship's latest by when it happened (the seed never moves it earlier)."""
    correctable: list[LedgerEvent] = field(default_factory=list)
    interested: list[str] = field(default_factory=list)


class _Seeder:
    """Runs one seed: the simulated clock, the aggregates in hand, and the batch being collected."""

    def __init__(self, ledger: Ledger, plan: SeedPlan, on_flush: Callable[[int], None] | None) -> None:
        self.ledger = ledger
        self.plan = plan
        self.on_flush = on_flush
        # One generator decides everything (ids too), so a seed always writes the same history.
        self.rng = random.Random(plan.random_seed)  # noqa: S311
        self.admin = Principal(id=f"seed:{plan.random_seed}", role=Role.ADMIN)
        until = plan.until or datetime.now(UTC).date()
        self.start = datetime.combine(HISTORY_STARTS, time(), UTC)
        self.end = datetime.combine(until, time(), UTC)
        self.span = self.end - self.start
        self.progress = 0.0
        self.instant = self.start
        self.day = HISTORY_STARTS
        self.firm_tz = _zone(FIRM_TIME_ZONE)
        self.zones = {name: _zone(name) for _, name, _ in CITIES}
        self.policy: CompliancePolicy | None = None
        self.managers: list[_Manager] = []
        self.by_id: dict[UUID, _Manager] = {}
        self.load: dict[UUID, int] = {}
        """How many relationships each account manager holds."""
        self.clients: list[_Client] = []
        self.closed: list[_Client] = []
        self.recipients: dict[UUID, GiftRecipient] = {}
        self.people: list[tuple[str, str]] = []
        self.client_names: set[str] = set()
        self.pending: list[LedgerEvent] = []
        self.touched: dict[UUID, LedgerAggregate] = {}
        self.written = 0
        self.sequence = 0
        self.demos_due: list[tuple[datetime, int, int, UUID, int]] = []
        self.decisions_due: list[tuple[date, int, int, UUID]] = []
        self.agenda: list[tuple[datetime, int, str, int, UUID | None]] = []
        """Changes of standing (closures, reassignments, ...) due at a simulated time."""
        self.openings: list[float] = []
        self.deactivations: list[float] = []
        self.action_cum_weights = tuple(_cumulative(ACTION_WEIGHTS))
        self.activities: dict[str, Callable[[_Client], None]] = {
            "contact": self.do_contact,
            "introduce": self.do_introduce,
            "demo": self.do_demo,
            "propose": self.do_propose,
            "gift": self.do_gift,
            "entertainment": self.do_entertainment,
            "correct": self.do_correct,
        }
        self.summary = SeedSummary(first_day=HISTORY_STARTS, last_day=until - timedelta(days=1))

    # -- the run --

    def run(self) -> SeedSummary:
        started = clock.perf_counter()
        self.policy = self.ledger.gift_policy()
        if self.policy.pending_events:  # not stored yet: its establishment goes in the first batch
            self.stage(self.policy)
        self.register_managers()
        opened_at_start = max(1, math.ceil(self.plan.relationships * 0.6))
        for _ in range(opened_at_start):
            self.open_relationship()
        self.set_targets()
        self.openings = sorted(self.rng.uniform(0.05, 0.75) for _ in range(self.plan.relationships - opened_at_start))
        self.openings.reverse()  # popped from the end, earliest first
        planned_departures = min(self.plan.managers - 2, max(1, self.plan.managers // 8))
        self.deactivations = sorted((self.rng.uniform(0.3, 0.9) for _ in range(planned_departures)), reverse=True)
        while self.written + len(self.pending) < self.plan.events or self.openings:
            self.step()
        self.flush()
        self.summary.events = self.written
        self.summary.elapsed_seconds = clock.perf_counter() - started
        return self.summary

    def step(self) -> None:
        """Runs the first piece of work that is due, or else one piece of day-to-day work on a relationship.

        Due work, in order: a relationship to open, a manager leaving, a demo's day, a client's decision
        on a proposal, a change of a relationship's standing (closure, reassignment, tier, cadence).
        """
        self.tick()
        progress = self.progress
        if self.openings and self.openings[-1] <= progress:
            self.openings.pop()
            self.open_relationship()
            return
        if self.deactivations and self.deactivations[-1] <= progress:
            if self.depart():
                self.deactivations.pop()
                return
            # Nobody can leave just now (each holds a closed relationship): try again a little later.
            self.deactivations[-1] += 0.02
            if self.deactivations[-1] > 1:
                self.deactivations.pop()
        if self.demos_due and self.demos_due[0][0] <= self.now():
            self.demo_comes_due(*heapq.heappop(self.demos_due)[2:])
            return
        if self.decisions_due and self.decisions_due[0][0] <= self.today():
            self.decision_comes_due(*heapq.heappop(self.decisions_due)[2:])
            return
        if self.agenda and self.agenda[0][0] <= self.now():
            self.standing_comes_due(*heapq.heappop(self.agenda)[2:])
            return
        action = self.rng.choices(ACTIONS, cum_weights=self.action_cum_weights)[0]
        self.activities[action](self.pick_client())

    # -- the clock --

    def tick(self) -> None:
        """Moves the simulated clock as far through the history as the events are through the plan."""
        self.progress = min(1.0, (self.written + len(self.pending)) / self.plan.events)
        self.instant = self.start + self.span * self.progress
        self.day = max(HISTORY_STARTS, _weekday_on_or_before(self.instant.astimezone(self.firm_tz).date()))

    def now(self) -> datetime:
        return self.instant

    def today(self) -> date:
        """The firm's business day (a weekend counts as the Friday before)."""
        return self.day

    def moment(self, zone: tzinfo) -> datetime:
        """A time during business hours of the simulated day, in the client's time zone."""
        day = max(HISTORY_STARTS, _weekday_on_or_before(self.now().astimezone(zone).date()))
        moment = datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randrange(0, 60, 5)), zone)
        return min(moment, self.end.astimezone(zone))

    def appointment(self, zone: tzinfo, after: datetime, days: tuple[int, int]) -> datetime:
        day = _weekday_on_or_after(after.astimezone(zone).date() + timedelta(days=self.rng.randint(*days)))
        return datetime.combine(day, time(self.rng.randint(9, 16), self.rng.choice((0, 30))), zone)

    # -- ids, audit and batches --

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def audit(self, principal: Principal) -> Audit:
        # Built without re-validation: the principal is already a validated model.
        return Audit.model_construct(principal=principal, correlation_id=f"seed-{self.uuid()}")

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def stage(self, *aggregates: LedgerAggregate) -> None:
        """Collects the events of one logical command, in order; stores a batch once it is full."""
        for aggregate in aggregates:
            self.pending.extend(aggregate.collect_events())  # type: ignore[arg-type]
            self.touched[aggregate.id] = aggregate
        if len(self.pending) >= self.plan.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        # The events go first, in the order the commands ran; the aggregates after
        # them have nothing left to collect and are passed so snapshots are taken.
        self.ledger.save(*self.pending, *self.touched.values())
        self.written += len(self.pending)
        self.pending = []
        self.touched = {}
        if self.on_flush is not None:
            self.on_flush(self.written)

    # -- account managers --

    def register_managers(self) -> None:
        taken: set[str] = set()
        for _ in range(self.plan.managers):
            first, last = self.unique_person(taken)
            manager = AccountManager.register(
                self.audit(self.admin),
                name=f"{first} {last}",
                email=f"{first}.{last}@{FIRM_DOMAIN}".lower().replace("'", ""),
                id=self.uuid(),
            )
            principal = Principal(
                id=f"account_manager:{manager.id}", role=Role.ACCOUNT_MANAGER, account_manager_id=manager.id
            )
            self.managers.append(_Manager(manager, principal))
            self.by_id[manager.id] = self.managers[-1]
            self.load[manager.id] = 0
            self.summary.managers += 1
            self.stage(manager)

    def set_targets(self) -> None:
        """Quotas and compensation plans for every year of the history, once the opening book is assigned.

        A quota follows the manager's book (half of it) and the firm's average (the other half), and is
        sized to what the planned activity will sign, so attainment spreads around 100 %.
        """
        days = max(1, (self.end - self.start).days)
        activity = max(0, self.plan.events - 5 * self.plan.managers - self.plan.relationships)
        signed_per_year = SIGNED_VALUE_PER_EVENT * activity * min(365, days) / days
        book = {m.aggregate.id: 0.0 for m in self.managers}
        for client in self.clients:
            book[client.aggregate.account_manager_id] += client.aggregate.tier.weight * _mean_value(
                client.aggregate.tier
            )
        average = sum(book.values()) / len(book)
        shares = {manager_id: (value + average) / 2 for manager_id, value in book.items()}
        total = sum(shares.values())
        for manager in self.managers:
            quota = Decimal(signed_per_year * shares[manager.aggregate.id] / total * self.rng.uniform(0.85, 1.15))
            base_salary = Decimal(self.rng.randrange(55_000, 95_001, 500))
            bonus = Decimal(self.rng.randrange(5_000, 25_001, 500))
            for year in range(HISTORY_STARTS.year, self.end.year + 1):
                amount = max(Decimal(25_000), _round_to(quota, 5_000))
                manager.aggregate.set_quota(self.audit(self.admin), year=year, amount=amount)
                plan = CompensationPlan(
                    base_salary=base_salary,
                    commission_rate=self.rng.choice(("0.03", "0.04", "0.05", "0.06", "0.08")),
                    accelerator_rate=self.rng.choice(("0.02", "0.03", "0.05")),
                    bonus_threshold=self.rng.choice(("1.00", "1.00", "1.00", "0.90", "1.10")),
                    bonus_amount=bonus,
                )
                manager.aggregate.set_compensation_plan(self.audit(self.admin), year=year, plan=plan)
                self.stage(manager.aggregate)
                # Next year: a raise, and a stretch on the quota.
                base_salary = _round_to(base_salary * Decimal(str(self.rng.uniform(1.02, 1.06))), 500)
                quota *= Decimal(str(self.rng.uniform(1.03, 1.12)))

    def active_managers(self) -> list[_Manager]:
        return [m for m in self.managers if m.aggregate.active]

    def manager_of(self, client: _Client) -> _Manager:
        return self.by_id[client.aggregate.account_manager_id]

    def assign(self, client: _Client, manager: _Manager, reason: str) -> None:
        self.load[client.aggregate.account_manager_id] -= 1
        client.aggregate.assign(self.audit(self.admin), account_manager=manager.aggregate, reason=reason)
        self.load[manager.aggregate.id] += 1
        self.summary.reassignments += 1
        self.stage(client.aggregate)

    def depart(self) -> bool:
        """An account manager leaves: their relationships are handed over first, then they are deactivated."""
        active = self.active_managers()
        if len(active) <= 2:
            return False
        closed_with = {c.aggregate.account_manager_id for c in self.closed}
        # A closed relationship cannot be reassigned, so whoever holds one stays.
        leaving = [m for m in active if m.aggregate.id not in closed_with]
        if not leaving:
            return False
        manager = self.rng.choice(leaving)
        staying = [m for m in active if m is not manager]
        for client in self.clients:
            if client.aggregate.account_manager_id == manager.aggregate.id:
                reason = f"Handover: {manager.aggregate.name} is leaving the firm"
                self.assign(client, self.rng.choice(staying), reason)
        manager.aggregate.deactivate(self.audit(self.admin), reason="Left the firm")
        self.summary.deactivations += 1
        self.stage(manager.aggregate)
        return True

    # -- relationships --

    def open_relationship(self) -> None:
        rng = self.rng
        industry = rng.choices(tuple(INDUSTRY_WEIGHTS), tuple(INDUSTRY_WEIGHTS.values()))[0]
        tier = rng.choices(tuple(TIER_WEIGHTS), tuple(TIER_WEIGHTS.values()))[0]
        individual = industry in (Industry.FINANCIAL_SERVICES, Industry.OTHER) and rng.random() < 0.3
        city, zone_name, _ = rng.choices(CITIES, [weight for _, _, weight in CITIES])[0]
        if individual:
            tier = Tier.STANDARD if tier is Tier.KEY and rng.random() < 0.7 else tier
            first, last = self.unique_person(self.client_names)
            name = f"{first} {last}"
            people = [(name, rng.choice(PRIVATE_EMPLOYERS))]
        else:
            name = self.unique_company(industry, city)
            taken: set[str] = set()
            people = [(" ".join(self.unique_person(taken)), name) for _ in range(rng.randint(2, 5))]
            self.people.extend(people)
        self.client_names.add(name)
        active = self.active_managers()
        # New business goes to the manager with the fewest clients half of the time.
        fewest = min(active, key=lambda m: self.load[m.aggregate.id])
        manager = fewest if rng.random() < 0.5 else rng.choice(active)
        relationship = ClientRelationship.open(
            self.audit(manager.principal),
            client_name=name,
            client_kind=ClientKind.INDIVIDUAL if individual else ClientKind.CORPORATE,
            industry=industry,
            tier=tier,
            account_manager=manager.aggregate,
            id=self.uuid(),
        )
        client = _Client(len(self.clients), relationship, self.zones[zone_name], city, people)
        self.clients.append(client)
        self.load[manager.aggregate.id] += 1
        self.summary.relationships += 1
        self.stage(relationship)
        for kind in STANDING_RATES:
            self.plan_next(kind, client)

    def unique_person(self, taken: set[str]) -> tuple[str, str]:
        for _ in range(50):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            if f"{first} {last}" not in taken:
                break
        else:
            last = f"{last}-{self.rng.choice(LAST_NAMES)}"
        taken.add(f"{first} {last}")
        return first, last

    def unique_company(self, industry: Industry, city: str) -> str:
        for attempt in range(20):
            name = f"{self.rng.choice(STEMS)} {self.rng.choice(SUFFIXES[industry])}"
            if attempt >= 10:
                name = f"{name} {city}"
            if name not in self.client_names:
                return name
        return f"{name} {len(self.client_names) + 1}"

    def pick_client(self) -> _Client:
        """An open relationship, key ones four times as often as standard ones."""
        while True:
            client = self.clients[self.rng.randrange(len(self.clients))]
            relationship = client.aggregate
            if relationship.status is RelationshipStatus.OPEN and self.rng.random() * 4 < relationship.tier.weight:
                return client

    def acting(self, client: _Client) -> Audit:
        return self.audit(self.manager_of(client).principal)

    def remember(self, client: _Client) -> None:
        """Keeps the last few correctable events of a relationship, to correct one later."""
        last = client.aggregate.pending_events[-1]
        client.correctable.append(last)  # type: ignore[arg-type]
        del client.correctable[:-6]

    # -- activity on a relationship --

    def do_contact(self, client: _Client) -> None:
        rng = self.rng
        channel = rng.choices(tuple(CHANNEL_WEIGHTS), tuple(CHANNEL_WEIGHTS.values()))[0]
        occurred_at = self.moment(client.time_zone)
        cadence = client.aggregate.cadence_days or client.aggregate.tier.default_cadence_days
        follow_up = occurred_at.date() + timedelta(days=cadence) if rng.random() < 0.6 else None
        client.aggregate.log_contact(
            self.acting(client),
            occurred_at=occurred_at,
            channel=channel,
            summary=rng.choice(CONTACT_SUMMARIES[channel]),
            next_follow_up_on=follow_up,
        )
        contact = client.aggregate.pending_events[-1]
        assert isinstance(contact, ContactLogged)
        if client.aggregate.last_contact_version == contact.originator_version:
            client.latest_contact = contact
        self.remember(client)
        self.stage(client.aggregate)

    def products_for(self, client: _Client) -> tuple[str, ...]:
        if client.aggregate.client_kind is ClientKind.INDIVIDUAL:
            return INDIVIDUAL_PRODUCTS
        return PRODUCTS[client.aggregate.industry]

    def do_introduce(self, client: _Client) -> None:
        product = self.rng.choice(self.products_for(client))
        outcome = self.rng.choices(
            (IntroductionOutcome.INTERESTED, IntroductionOutcome.PENDING, IntroductionOutcome.DECLINED), (45, 35, 20)
        )[0]
        client.aggregate.introduce_product(
            self.acting(client), product=product, occurred_at=self.moment(client.time_zone), outcome=outcome
        )
        if outcome is IntroductionOutcome.INTERESTED and product not in client.interested:
            client.interested.append(product)
        self.remember(client)
        self.stage(client.aggregate)

    def do_demo(self, client: _Client) -> None:
        rng = self.rng
        product = rng.choice(client.interested or self.products_for(client))
        crew = rng.sample(STAFF, rng.randint(1, 3))
        if all(role is not StaffRole.TECHNICAL for _, role in crew):
            crew.append(rng.choice(STAFF[:5]))
        location = rng.choice(
            (f"Client office, {client.city}", "Video call", f"Our briefing centre, {client.city}", "Client office")
        )
        scheduled_for = self.appointment(client.time_zone, self.now(), (3, 21))
        demo_id = client.aggregate.schedule_demo(
            self.acting(client),
            product=product,
            scheduled_for=scheduled_for,
            location=location,
            staff=[StaffMember(name=name, role=role) for name, role in crew],
            demo_id=self.uuid(),
        )
        client.scheduled_demos.append(demo_id)
        heapq.heappush(self.demos_due, (scheduled_for, self.next_sequence(), client.index, demo_id, 0))
        self.summary.demos_scheduled += 1
        self.stage(client.aggregate)

    def demo_comes_due(self, index: int, demo_id: UUID, reschedules: int) -> None:
        client = self.clients[index]
        if demo_id not in client.scheduled_demos or client.aggregate.status is RelationshipStatus.CLOSED:
            return
        roll = self.rng.random()
        if roll < 0.1 and reschedules < 2:
            scheduled_for = self.appointment(client.time_zone, self.now(), (2, 14))
            client.aggregate.reschedule_demo(self.acting(client), demo_id=demo_id, scheduled_for=scheduled_for)
            heapq.heappush(self.demos_due, (scheduled_for, self.next_sequence(), index, demo_id, reschedules + 1))
            self.stage(client.aggregate)
            return
        client.scheduled_demos.remove(demo_id)
        if roll < 0.2:
            client.aggregate.cancel_demo(
                self.acting(client), demo_id=demo_id, reason=self.rng.choice(DEMO_CANCEL_REASONS)
            )
            self.summary.demos_cancelled += 1
            self.stage(client.aggregate)
            return
        positive = self.rng.random() < 0.5
        outcome = self.rng.choice(DEMO_OUTCOMES_POSITIVE if positive else DEMO_OUTCOMES_OTHER)
        client.aggregate.complete_demo(self.acting(client), demo_id=demo_id, outcome=outcome)
        self.summary.demos_completed += 1
        self.stage(client.aggregate)
        if positive:
            self.do_propose(client)

    def do_propose(self, client: _Client) -> None:
        rng = self.rng
        low, high = CONTRACT_VALUES[client.aggregate.tier]
        value = Decimal(rng.randrange(low, high + 1, 500))
        years = rng.choice((1, 1, 2, 3))
        today = self.today()
        lead = rng.randint(14, 60)
        starts_on = today + timedelta(days=lead)
        product = rng.choice(client.interested or self.products_for(client))
        contract_id = client.aggregate.propose_contract(
            self.acting(client),
            title=f"{product}: {years}-year agreement",
            value=value,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=365 * years - 1),
            contract_id=self.uuid(),
        )
        decide_on = today + timedelta(days=rng.randint(5, lead - 1))
        heapq.heappush(self.decisions_due, (decide_on, self.next_sequence(), client.index, contract_id))
        self.summary.contracts_proposed += 1
        self.remember(client)
        self.stage(client.aggregate)

    def decision_comes_due(self, index: int, contract_id: UUID) -> None:
        """The client decides on a proposal: signed (sometimes after a negotiated price) or left unsigned."""
        client = self.clients[index]
        relationship = client.aggregate
        if relationship.status is RelationshipStatus.CLOSED or self.rng.random() < 0.35:
            return
        proposal = next(
            (e for e in reversed(client.correctable) if getattr(e, "contract_id", None) == contract_id), None
        )
        if proposal is not None and self.rng.random() < 0.15:
            discounted = relationship.contract(contract_id).value * Decimal(self.rng.choice(("0.90", "0.95")))
            relationship.correct_entry(
                self.acting(client),
                original=proposal,
                reason="Price agreed in negotiation was lower than first proposed",
                changes={"value": str(discounted.quantize(CENT))},
            )
            self.summary.corrections += 1
            self.stage(relationship)
        relationship.sign_contract(self.acting(client), contract_id=contract_id, signed_on=self.today())
        self.summary.contracts_signed += 1
        self.stage(relationship)
        if self.rng.random() < TERMINATED_SHARE:
            self.schedule(self.now() + timedelta(days=self.rng.randint(30, 400)), "terminate", client, contract_id)

    def do_gift(self, client: _Client) -> None:
        """A gift to someone at the client, valued by the rule and accepted by the recipient or refused."""
        assert self.policy is not None
        person, gift = self.choose_gift(client)
        recipient = self.recipients.get(GiftRecipient.id_for(*person))
        # Four times in five the manager checks the register first and stays within the headroom.
        if recipient is not None and gift.counted > ZERO and self.rng.random() < 0.8:
            headroom = self.headroom(recipient, gift.given_on)
            if gift.counted > headroom:
                gift = self.smaller_gift(gift, headroom)
        audit = self.acting(client)
        if recipient is None:
            recipient = GiftRecipient.register(audit, name=person[0], employer=person[1])
        gift_id = self.uuid()
        try:
            recipient.receive_gift(
                audit,
                gift_id=gift_id,
                relationship_id=client.aggregate.id,
                given_on=gift.given_on,
                counted_value=gift.counted,
                policy=self.policy,
            )
        except GiftLimitExceeded:
            # Refused: nothing is stored, not even a recipient registered just now.
            recipient.collect_events()
            self.summary.gifts_refused += 1
            return
        self.recipients[recipient.id] = recipient
        client.aggregate.give_gift(
            audit,
            gift_id=gift_id,
            recipient=Recipient(recipient_id=recipient.id, name=recipient.name, employer=recipient.employer),
            description=gift.description,
            given_on=gift.given_on,
            category=gift.category,
            cost=gift.cost,
            market_value=gift.market_value,
            face_value=gift.face_value,
            recipients_count=gift.recipients_count,
            representative_attended=False,
            counted_value=gift.counted,
        )
        self.summary.gifts_accepted += 1
        self.stage(client.aggregate, recipient)

    def choose_gift(self, client: _Client) -> tuple[tuple[str, str], _Gift]:
        """Who gets what: retail customers a token of thanks; people at corporate clients anything."""
        rng = self.rng
        # Gifts are often recorded a few days after they are given.
        given_on = max(HISTORY_STARTS, self.today() - timedelta(days=rng.choice((0, 0, 0, 1, 2, 5))))
        if client.aggregate.client_kind is ClientKind.INDIVIDUAL:
            description = rng.choice(("Holiday hamper", "Birthday flowers", "Book on estate planning"))
            gift = _Gift(given_on, GiftCategory.RETAIL_CUSTOMER, description, _cents(rng.randint(3_000, 20_000)))
            return client.people[0], gift
        # Most gifts go to people at the client; some to people elsewhere who know the firm.
        person = rng.choice(client.people if rng.random() < 0.85 else self.people)
        category, description, cost = self.corporate_gift()
        gift = _Gift(given_on, category, description, cost)
        if category is GiftCategory.GENERAL and rng.random() < 0.3:
            gift.market_value = (cost * Decimal(str(rng.uniform(1.05, 1.4)))).quantize(CENT)
        if category is GiftCategory.GENERAL and rng.random() < 0.15:
            gift.recipients_count = rng.randint(2, 5)
            gift.cost = cost * gift.recipients_count
            gift.description = f"{description}, shared by {gift.recipients_count} people on the team"
        if category is GiftCategory.TICKET:
            gift.face_value = cost + _cents(rng.choice((0, 0, 1_000, 2_500)))
        return person, gift

    def smaller_gift(self, gift: _Gift, headroom: Decimal) -> _Gift:
        """What a manager gives instead once the register shows too little headroom."""
        if headroom >= Decimal(20):
            cost = (headroom * Decimal(str(self.rng.uniform(0.5, 1.0)))).quantize(CENT)
            return _Gift(gift.given_on, GiftCategory.GENERAL, "Thank-you gift card", cost)
        cost = _cents(self.rng.randint(800, 2_500))
        return _Gift(gift.given_on, GiftCategory.PROMOTIONAL, "Branded notebook and pen", cost)

    def corporate_gift(self) -> tuple[GiftCategory, str, Decimal]:
        rng = self.rng
        category = rng.choices(
            (
                GiftCategory.GENERAL,
                GiftCategory.TICKET,
                GiftCategory.PROMOTIONAL,
                GiftCategory.DE_MINIMIS,
                GiftCategory.COMMEMORATIVE,
                GiftCategory.PERSONAL,
                GiftCategory.BEREAVEMENT,
                GiftCategory.DISASTER_DONATION,
            ),
            (52, 12, 13, 7, 6, 5, 2, 3),
        )[0]
        choices: dict[GiftCategory, tuple[tuple[str, int, int], ...]] = {
            GiftCategory.GENERAL: (
                ("Bottle of wine", 2_500, 9_000),
                ("Gourmet gift basket", 4_000, 14_000),
                ("Restaurant gift card", 2_500, 10_000),
                ("Leather notebook", 3_000, 8_000),
            ),
            GiftCategory.TICKET: (
                ("Two tickets to a basketball game (representative not attending)", 6_000, 24_000),
                ("Concert tickets (representative not attending)", 5_000, 18_000),
            ),
            GiftCategory.PROMOTIONAL: (("Branded fleece jacket", 2_500, 6_000), ("Logo umbrella", 1_200, 3_000)),
            GiftCategory.DE_MINIMIS: (("Box of chocolates", 800, 2_000), ("Coffee and pastries", 1_000, 3_000)),
            GiftCategory.COMMEMORATIVE: (("Lucite deal tombstone", 6_000, 15_000),),
            GiftCategory.PERSONAL: (("Wedding gift, paid personally", 5_000, 20_000), ("Baby gift", 4_000, 9_000)),
            GiftCategory.BEREAVEMENT: (("Condolence flowers", 6_000, 15_000),),
            GiftCategory.DISASTER_DONATION: (("Donation to hurricane relief on their behalf", 10_000, 50_000),),
        }
        description, low, high = rng.choice(choices[category])
        return category, description, _cents(rng.randint(low, high))

    def headroom(self, recipient: GiftRecipient, given_on: date) -> Decimal:
        assert self.policy is not None
        year = self.policy.limit_year.year_of(given_on)
        counted = sum((g.counted_value for g in recipient.gifts if year.contains(g.given_on)), ZERO)
        return limit_in_force(self.policy.limit_schedule, given_on) - counted

    def do_entertainment(self, client: _Client) -> None:
        rng = self.rng
        description, low, high = rng.choice(ENTERTAINMENT)
        guests = [name for name, _ in rng.sample(client.people, min(len(client.people), rng.randint(1, 3)))]
        client.aggregate.provide_entertainment(
            self.acting(client),
            occurred_on=self.today(),
            description=f"{description} in {client.city}",
            cost=Decimal(rng.randint(low, high)),
            attendees=[self.manager_of(client).aggregate.name, *guests],
            representative_attended=True,
        )
        self.remember(client)
        self.stage(client.aggregate)

    def do_correct(self, client: _Client) -> None:
        """Fixes a recent mistake with a correcting event that points at the original."""
        rng = self.rng
        kinds = (ContactLogged, ProductIntroduced, EntertainmentProvided)
        candidates = [e for e in client.correctable if isinstance(e, kinds)]
        if not candidates:
            self.do_contact(client)
            return
        original = rng.choice(candidates)
        reason: str
        changes: dict[str, object]
        history: list[LedgerEvent] = []
        if isinstance(original, ContactLogged):
            assert client.latest_contact is not None
            # The latest contact is never moved earlier, so it stays the latest unless the corrected
            # contact overtakes it: those two are all the history the new latest depends on.
            latest = client.latest_contact
            history = [latest] if latest is original else [latest, original]
            if rng.random() < 0.5 or latest is original or original.occurred_at.date() <= HISTORY_STARTS:
                channel = rng.choice([c for c in CHANNEL_WEIGHTS if c is not original.channel])
                reason, changes = "Logged under the wrong channel", {"channel": channel}
            else:
                earlier = original.occurred_at - timedelta(days=1)
                reason, changes = "Logged with the wrong date; it happened the day before", {"occurred_at": earlier}
        elif isinstance(original, ProductIntroduced):
            outcome = rng.choice([o for o in IntroductionOutcome if o is not original.outcome])
            reason, changes = "Outcome recorded before the client's answer came in", {"outcome": outcome}
        else:
            assert isinstance(original, EntertainmentProvided)
            cost = (original.cost * Decimal("1.18")).quantize(CENT)
            reason, changes = "The receipt showed the tip was left out", {"cost": str(cost)}
        client.aggregate.correct_entry(
            self.acting(client), original=original, reason=reason, changes=changes, history=history
        )
        client.correctable.remove(original)
        self.summary.corrections += 1
        self.stage(client.aggregate)

    # -- changes of standing --

    def schedule(self, due: datetime, kind: str, client: _Client, contract_id: UUID | None = None) -> None:
        heapq.heappush(self.agenda, (due, self.next_sequence(), kind, client.index, contract_id))

    def plan_next(self, kind: str, client: _Client) -> None:
        """Puts the next change of this kind on the agenda, at the rate of `STANDING_RATES`."""
        years = self.rng.expovariate(STANDING_RATES[kind])
        self.schedule(self.now() + timedelta(days=365 * years), kind, client)

    def standing_comes_due(self, kind: str, index: int, contract_id: UUID | None) -> None:
        client = self.clients[index]
        if kind == "reopen":
            self.reopen(client)
        elif client.aggregate.status is RelationshipStatus.CLOSED:
            if kind != "terminate":
                self.plan_next(kind, client)  # nothing changes on a closed relationship; look again later
        elif kind == "terminate":
            assert contract_id is not None
            self.terminate(client, contract_id)
        elif kind == "close":
            self.close(client)
        else:
            {"reassign": self.reassign, "tier": self.change_tier, "cadence": self.change_cadence}[kind](client)
            self.plan_next(kind, client)

    def terminate(self, client: _Client, contract_id: UUID) -> None:
        signed_on = client.aggregate.contract(contract_id).signed_on
        assert signed_on is not None
        client.aggregate.terminate_contract(
            self.acting(client),
            contract_id=contract_id,
            on=max(signed_on, self.today()),
            reason=self.rng.choice(TERMINATE_REASONS),
        )
        self.summary.contracts_terminated += 1
        self.stage(client.aggregate)

    def change_tier(self, client: _Client) -> None:
        tier = client.aggregate.tier
        options = {Tier.STANDARD: (Tier.MAJOR,), Tier.MAJOR: (Tier.KEY, Tier.STANDARD), Tier.KEY: (Tier.MAJOR,)}
        client.aggregate.change_tier(self.audit(self.admin), tier=self.rng.choice(options[tier]))
        self.stage(client.aggregate)

    def change_cadence(self, client: _Client) -> None:
        current = client.aggregate.cadence_days or client.aggregate.tier.default_cadence_days
        days = self.rng.choice([d for d in (5, 7, 10, 14, 21, 30, 45, 60) if d != current])
        client.aggregate.change_cadence(self.acting(client), days=days)
        self.stage(client.aggregate)

    def reassign(self, client: _Client) -> None:
        others = [m for m in self.active_managers() if m.aggregate.id != client.aggregate.account_manager_id]
        if others:
            self.assign(client, self.rng.choice(others), self.rng.choice(REASSIGN_REASONS))

    def close(self, client: _Client) -> None:
        # Most of the book stays open: a relationship closes only while three in four are open.
        if (len(self.closed) + 1) * 4 > len(self.clients):
            self.plan_next("close", client)
            return
        for demo_id in client.scheduled_demos:
            client.aggregate.cancel_demo(self.acting(client), demo_id=demo_id, reason="The relationship is closing")
            self.summary.demos_cancelled += 1
            self.stage(client.aggregate)
        client.scheduled_demos.clear()
        client.aggregate.close(self.acting(client), reason=self.rng.choice(CLOSE_REASONS))
        client.correctable.clear()
        self.closed.append(client)
        self.summary.closures += 1
        self.stage(client.aggregate)
        if self.rng.random() < REOPENED_SHARE:
            self.schedule(self.now() + timedelta(days=self.rng.randint(60, 300)), "reopen", client)

    def reopen(self, client: _Client) -> None:
        client.aggregate.reopen(self.acting(client), reason=self.rng.choice(REOPEN_REASONS))
        self.closed.remove(client)
        self.summary.reopenings += 1
        self.stage(client.aggregate)
        self.plan_next("close", client)


# -- Small helpers -----------------------------------------------------------


def _zone(name: str) -> tzinfo:
    """The named time zone, or where the system has no zone data, its standard offset."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        offsets = {
            "America/New_York": -5,
            "America/Toronto": -5,
            "America/Chicago": -6,
            "America/Denver": -7,
            "America/Los_Angeles": -8,
            "Europe/London": 0,
            "Europe/Berlin": 1,
            "Asia/Singapore": 8,
        }
        return timezone(timedelta(hours=offsets[name]), name)


def _weekday_on_or_before(day: date) -> date:
    return day - timedelta(days=max(0, day.weekday() - 4))


def _weekday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() > 4 else 0)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _mean_value(tier: Tier) -> float:
    low, high = CONTRACT_VALUES[tier]
    return (low + high) / 2


def _round_to(amount: Decimal, step: int) -> Decimal:
    return (amount / step).quantize(Decimal(1)) * step


def _cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _cumulative(weights: Sequence[int]) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out
