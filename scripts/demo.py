"""The demo ledger: seeded once into an empty store, then summarised for a new user."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.account_manager import Registered
from domain.application import Ledger
from domain.commands import ChangeTier, GiveGift, NamedRecipient
from domain.errors import LikelySameRecipient
from domain.gift_recipient import GiftReceived
from domain.gift_rule import limit_in_force
from domain.model import LedgerEvent
from domain.relationship import Closed, ContractSigned, Opened, Reopened
from domain.values import Audit, ClientKind, Industry, Principal, RelationshipStatus, Role, Tier
from infrastructure.bootstrap import System
from projections.workload import WorkloadReader
from scripts.seed import SeedPlan, holds_no_history, seed_ledger

DEMO_PLAN = SeedPlan(managers=8, relationships=60, events=3_000, random_seed=2026)


def ensure_demo(ledger: Ledger, *, progress: bool) -> bool:
    """Seeds the demo history into an empty ledger; returns False (and writes nothing) if it is not empty."""
    if not holds_no_history(ledger):
        return False
    seed_ledger(ledger, DEMO_PLAN, progress=progress)
    add_showcase(ledger, datetime.now(UTC).date())
    return True


SHOWCASE_RECIPIENT = "Eleanor Whitcombe"
"""A person the seed never invents (neither name is in its lists); her employer is the client's name."""
UPGRADE = {Tier.STANDARD: Tier.MAJOR, Tier.MAJOR: Tier.KEY, Tier.KEY: Tier.MAJOR}


def add_showcase(ledger: Ledger, today: date) -> None:
    """Adds what the dashboard's first look needs, whatever the random history holds.

    The first active account manager (the one the demo's account manager token
    stands for) upgrades the tier of their first open relationship, so its
    history shows an earlier tier, and gives one person gifts worth 90 % of the
    limit in force today, so the register shows a recipient near the limit.
    """
    managers: list[UUID] = []
    relationships: list[UUID] = []
    for event in all_events(ledger):
        if isinstance(event, Registered):
            managers.append(event.originator_id)
        elif isinstance(event, Opened):
            relationships.append(event.originator_id)
    manager = next((m for m in map(ledger.account_manager, managers) if m.active), None)
    if manager is None:
        return
    theirs = [
        r
        for r in map(ledger.relationship, relationships)
        if r.account_manager_id == manager.id and r.status is RelationshipStatus.OPEN
    ]
    if not theirs:
        return
    principal = Principal(id=f"account_manager:{manager.id}", role=Role.ACCOUNT_MANAGER, account_manager_id=manager.id)
    upgraded = next((r for r in theirs if r.tier is not Tier.KEY), theirs[0])
    ledger.change_tier(
        Audit(principal=principal, correlation_id="demo-showcase-tier"),
        upgraded.id,
        ChangeTier(tier=UPGRADE[upgraded.tier]),
    )
    corporate = [r for r in theirs if r.client_kind is ClientKind.CORPORATE] or theirs
    giver = next((r for r in corporate if r.industry is Industry.FINANCIAL_SERVICES), corporate[0])
    others: list[UUID] = []
    for number, (given_on, description, cost) in enumerate(_near_limit_gifts(ledger, today), start=1):
        audit = Audit(principal=principal, correlation_id=f"demo-showcase-gift-{number}")

        def give(
            distinct_from: list[UUID],
            audit: Audit = audit,
            given_on: date = given_on,
            cost: Decimal = cost,
            description: str = description,
        ) -> None:
            ledger.give_gift(
                audit,
                giver.id,
                GiveGift(
                    recipient=NamedRecipient(
                        name=SHOWCASE_RECIPIENT, employer=giver.client_name, distinct_from=distinct_from
                    ),
                    description=description,
                    given_on=given_on,
                    category="general",
                    cost=cost.quantize(Decimal("0.01")),
                ),
            )

        try:
            give(others)
        except LikelySameRecipient as resembles:
            # The random history holds a look-alike: the showcase person is someone else, and says so.
            others = [UUID(candidate.recipient_id) for candidate in resembles.candidates]
            give(others)


def _near_limit_gifts(ledger: Ledger, today: date) -> list[tuple[date, str, Decimal]]:
    """Two gifts three weeks apart worth 50 % and 40 % of today's limit, or one worth 90 % early in a limit year."""
    schedule = ledger.gift_policy().limit_schedule
    limit = limit_in_force(schedule, today)
    earlier = today - timedelta(days=21)
    if earlier.year == today.year and limit_in_force(schedule, earlier) == limit:
        return [
            (earlier, "Framed print of the client's headquarters", limit * Decimal("0.5")),
            (today, "Hamper for the team's product launch", limit * Decimal("0.4")),
        ]
    return [(today, "Framed print of the client's headquarters", limit * Decimal("0.9"))]


def all_events(ledger: Ledger, page: int = 1_000) -> Iterator[LedgerEvent]:
    """Every stored event in global order, read a page at a time."""
    for notifications in ledger.log_pages(page):
        for notification in notifications:
            yield ledger.decode(notification)


@dataclass
class LedgerSummary:
    """What a new user wants to see first: how much is in the ledger and where it stands."""

    events: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    open_relationships: set[UUID] = field(default_factory=set)
    signed_value: Decimal = Decimal("0.00")
    counted_by_recipient_year: Counter[tuple[UUID, int]] = field(default_factory=Counter)
    limits: dict[tuple[UUID, int], Decimal] = field(default_factory=dict)

    def add(self, event: LedgerEvent) -> None:
        self.events += 1
        self.by_type[type(event).__name__] += 1
        if isinstance(event, Opened | Reopened):
            self.open_relationships.add(event.originator_id)
        elif isinstance(event, Closed):
            self.open_relationships.discard(event.originator_id)
        elif isinstance(event, ContractSigned):
            self.signed_value += event.value
        elif isinstance(event, GiftReceived):
            key = (event.originator_id, event.given_on.year)
            self.counted_by_recipient_year[key] += event.counted_value  # type: ignore[assignment]
            self.limits[key] = event.limit

    def describe(self) -> str:
        near = [
            key
            for key, total in self.counted_by_recipient_year.items()
            if key[1] == date.today().year and total >= Decimal("0.8") * self.limits[key]
        ]
        lines = [
            f"{self.events:,} events: {self.by_type['Registered']} account managers, "
            f"{self.by_type['Opened']} relationships ({len(self.open_relationships)} open)",
            f"{self.by_type['ContactLogged']:,} contacts, {self.by_type['DemoScheduled']:,} demos, "
            f"{self.by_type['ContractSigned']:,} contracts signed worth ${self.signed_value:,}",
            f"{self.by_type['GiftGiven']:,} gifts to {len({k[0] for k in self.counted_by_recipient_year})} people; "
            f"{len(near)} of them above 80 % of this year's limit",
        ]
        return "\n".join(lines)


def summarise(ledger: Ledger) -> LedgerSummary:
    summary = LedgerSummary()
    for event in all_events(ledger):
        summary.add(event)
    return summary


def demo_tokens(system: System) -> dict[str, str]:
    """One new token per role; the account manager's stands for the first active seeded manager."""
    system.projections.catch_up()
    managers = WorkloadReader(system.view).managers(active_only=True)
    tokens = {}
    for role in Role:
        manager_id = UUID(managers[0]["account_manager_id"]) if role is Role.ACCOUNT_MANAGER and managers else None
        if role is Role.ACCOUNT_MANAGER and manager_id is None:
            continue
        # A token's name is never reused, so each start of the demo issues new names.
        name = f"demo-{role.value}-{uuid4().hex[:6]}"
        tokens[role.value] = system.tokens.issue(role=role, name=name, account_manager_id=manager_id).token
    return tokens
