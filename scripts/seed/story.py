"""What the seed's generator knows while it writes a history: the cast in hand, the agenda, the random source.

Every id (aggregates, demos, contracts, gifts, correlation ids) comes from one
`random.Random(random_seed)`, and every business time from the simulated
clock, so two runs with one seed choose the same acts in the same order.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from uuid import UUID

from domain.account_manager import AccountManager
from domain.model import LedgerEvent
from domain.relationship import ClientRelationship, ContactLogged
from domain.values import Audit, Principal, RelationshipStatus, Role
from scripts.seed.cast import STANDING_RATES
from scripts.seed.plan import SeedPlan, SeedSummary
from scripts.seed.simulated_time import SimulatedClock
from scripts.seed.writer import LedgerWriter


@dataclass(slots=True)
class Manager:
    """An account manager in hand, and the principal they act as."""

    aggregate: AccountManager
    principal: Principal


@dataclass(slots=True)
class Client:
    """A relationship in hand, with the props the generator draws on and what it remembers of it."""

    index: int
    aggregate: ClientRelationship
    time_zone: tzinfo
    city: str
    people: list[tuple[str, str]]
    """The people at the client, as (name, employer)."""
    scheduled_demos: list[UUID] = field(default_factory=list)
    latest_contact: ContactLogged | None = None
    """The contact that is the relationship's latest by when it happened (the seed never moves it earlier)."""
    correctable: list[LedgerEvent] = field(default_factory=list)
    interested: list[str] = field(default_factory=list)


class Story:
    """The state of one seed as it runs, and the small choices every part of the generator makes."""

    def __init__(self, plan: SeedPlan, writer: LedgerWriter) -> None:
        self.plan = plan
        self.writer = writer
        # One generator decides everything (ids too), so a seed always writes the same history.
        self.rng = random.Random(plan.random_seed)  # noqa: S311
        self.admin = Principal(id=f"seed:{plan.random_seed}", role=Role.ADMIN)
        until = plan.until or datetime.now(UTC).date()
        self.clock = SimulatedClock(until, self.rng)
        self.summary = SeedSummary(last_day=until - timedelta(days=1))
        self.managers: list[Manager] = []
        self.by_id: dict[UUID, Manager] = {}
        self.load: dict[UUID, int] = {}
        """How many relationships each account manager holds."""
        self.clients: list[Client] = []
        self.closed: list[Client] = []
        self.people: list[tuple[str, str]] = []
        """Everyone at a corporate client, as (name, employer)."""
        self.teams: dict[str, list[tuple[str, str]]] = {}
        """The people at each corporate client, by its name."""
        self.client_names: set[str] = set()
        self.sequence = 0
        self.demos_due: list[tuple[datetime, int, int, UUID, int]] = []
        self.decisions_due: list[tuple[date, int, int, UUID]] = []
        self.agenda: list[tuple[datetime, int, str, int, UUID | None]] = []
        """Changes of standing (closures, reassignments, ...) due at a simulated time."""

    # -- ids and audit --

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def audit(self, principal: Principal) -> Audit:
        # Built without re-validation: the principal is already a validated model.
        return Audit.model_construct(principal=principal, correlation_id=f"seed-{self.uuid()}")

    def acting(self, client: Client) -> Audit:
        """An audit for the client's account manager acting on it."""
        return self.audit(self.manager_of(client).principal)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    # -- the cast --

    def active_managers(self) -> list[Manager]:
        return [m for m in self.managers if m.aggregate.active]

    def manager_of(self, client: Client) -> Manager:
        return self.by_id[client.aggregate.account_manager_id]

    def pick_client(self) -> Client:
        """An open relationship, key ones four times as often as standard ones."""
        while True:
            client = self.clients[self.rng.randrange(len(self.clients))]
            relationship = client.aggregate
            if relationship.status is RelationshipStatus.OPEN and self.rng.random() * 4 < relationship.tier.weight:
                return client

    @staticmethod
    def remember(client: Client, event: LedgerEvent) -> None:
        """Keeps the last few correctable events of a relationship, to correct one later."""
        client.correctable.append(event)
        del client.correctable[:-6]

    # -- the agenda --

    def schedule(self, due: datetime, kind: str, client: Client, contract_id: UUID | None = None) -> None:
        heapq.heappush(self.agenda, (due, self.next_sequence(), kind, client.index, contract_id))

    def plan_next(self, kind: str, client: Client) -> None:
        """Puts the next change of this kind on the agenda, at the rate of `STANDING_RATES`."""
        years = self.rng.expovariate(STANDING_RATES[kind])
        self.schedule(self.clock.now() + timedelta(days=365 * years), kind, client)
