"""The seed's generator: the plan's history as a sequence of chosen acts, from the opening book to the last day.

It registers the managers and opens the first relationships, sets their
targets, then steps through simulated time: whatever is due (a relationship to
open, a manager leaving, a demo's day, a client's decision, a change of
standing) comes first, and otherwise one piece of day-to-day work on a
relationship. The writer records each act; the clock moves as far through the
history as the events written are through the plan.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from decimal import Decimal

from domain.application import Ledger
from domain.commands import CompensationPlan, OpenRelationship, RegisterAccountManager, SetQuota
from domain.values import ClientKind, Industry, Principal, Role, Tier
from scripts.seed.activity import DayToDay
from scripts.seed.cast import (
    ACTION_WEIGHTS,
    ACTIONS,
    CITIES,
    CONTRACT_VALUES,
    FIRM_DOMAIN,
    FIRST_NAMES,
    INDUSTRY_WEIGHTS,
    LAST_NAMES,
    PRIVATE_EMPLOYERS,
    SIGNED_VALUE_PER_EVENT,
    STANDING_RATES,
    STEMS,
    SUFFIXES,
    TIER_WEIGHTS,
)
from scripts.seed.gifts import GiftGiving
from scripts.seed.plan import HISTORY_STARTS, SeedPlan, SeedSummary
from scripts.seed.simulated_time import zone
from scripts.seed.standing import Standing
from scripts.seed.story import Client, Manager
from scripts.seed.writer import LedgerWriter


class HistoryGenerator(DayToDay, GiftGiving, Standing):
    """Runs one seed: chooses every act of the history in order, and has the writer record it."""

    def __init__(self, ledger: Ledger, plan: SeedPlan, on_flush: Callable[[int], None] | None) -> None:
        super().__init__(plan, LedgerWriter(ledger, batch_size=plan.batch_size, on_flush=on_flush))
        self.zones = {name: zone(name) for _, name, _ in CITIES}
        self.openings: list[float] = []
        self.deactivations: list[float] = []
        self.action_cum_weights = tuple(_cumulative(ACTION_WEIGHTS))
        self.activities: dict[str, Callable[[Client], None]] = {
            "contact": self.do_contact,
            "introduce": self.do_introduce,
            "demo": self.do_demo,
            "propose": self.do_propose,
            "gift": self.do_gift,
            "entertainment": self.do_entertainment,
            "correct": self.do_correct,
        }

    def run(self) -> SeedSummary:
        started = time.perf_counter()
        self.register_managers()
        opened_at_start = max(1, math.ceil(self.plan.relationships * 0.6))
        for _ in range(opened_at_start):
            self.open_relationship()
        self.set_targets()
        self.openings = sorted(self.rng.uniform(0.05, 0.75) for _ in range(self.plan.relationships - opened_at_start))
        self.openings.reverse()  # popped from the end, earliest first
        planned_departures = min(self.plan.managers - 2, max(1, self.plan.managers // 8))
        self.deactivations = sorted((self.rng.uniform(0.3, 0.9) for _ in range(planned_departures)), reverse=True)
        while self.writer.events < self.plan.events or self.openings:
            self.step()
        self.writer.flush()
        self.summary.events = self.writer.written
        self.summary.elapsed_seconds = time.perf_counter() - started
        return self.summary

    def step(self) -> None:
        """Runs the first piece of work that is due, or else one piece of day-to-day work on a relationship.

        Due work, in order: a relationship to open, a manager leaving, a demo's day, a client's decision
        on a proposal, a change of a relationship's standing (closure, reassignment, tier, cadence).
        """
        self.clock.tick(min(1.0, self.writer.events / self.plan.events))
        progress = self.clock.progress
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
        if self.demos_due and self.demos_due[0][0] <= self.clock.now():
            self.demo_comes_due(*heapq.heappop(self.demos_due)[2:])
            return
        if self.decisions_due and self.decisions_due[0][0] <= self.clock.today():
            self.decision_comes_due(*heapq.heappop(self.decisions_due)[2:])
            return
        if self.agenda and self.agenda[0][0] <= self.clock.now():
            self.standing_comes_due(*heapq.heappop(self.agenda)[2:])
            return
        action = self.rng.choices(ACTIONS, cum_weights=self.action_cum_weights)[0]
        self.activities[action](self.pick_client())

    # -- account managers --

    def register_managers(self) -> None:
        taken: set[str] = set()
        for _ in range(self.plan.managers):
            first, last = self.unique_person(taken)
            audit = self.audit(self.admin)
            command = RegisterAccountManager(
                name=f"{first} {last}", email=f"{first}.{last}@{FIRM_DOMAIN}".lower().replace("'", "")
            )
            manager = self.writer.register_manager(audit, command, manager_id=self.uuid())
            principal = Principal(
                id=f"account_manager:{manager.id}", role=Role.ACCOUNT_MANAGER, account_manager_id=manager.id
            )
            self.managers.append(Manager(manager, principal))
            self.by_id[manager.id] = self.managers[-1]
            self.load[manager.id] = 0
            self.summary.managers += 1

    def set_targets(self) -> None:
        """Quotas and compensation plans for every year of the history, once the opening book is assigned.

        A quota follows the manager's book (half of it) and the firm's average (the other half), and is
        sized to what the planned activity will sign, so attainment spreads around 100 %.
        """
        days = max(1, (self.clock.end - self.clock.start).days)
        activity = max(0, self.plan.events - 5 * self.plan.managers - self.plan.relationships)
        signed_per_year = SIGNED_VALUE_PER_EVENT * activity * min(365, days) / days
        book = {m.aggregate.id: 0.0 for m in self.managers}
        for client in self.clients:
            tier = client.aggregate.tier
            book[client.aggregate.account_manager_id] += tier.weight * _mean_value(tier)
        average = sum(book.values()) / len(book)
        shares = {manager_id: (value + average) / 2 for manager_id, value in book.items()}
        total = sum(shares.values())
        for manager in self.managers:
            quota = Decimal(signed_per_year * shares[manager.aggregate.id] / total * self.rng.uniform(0.85, 1.15))
            base_salary = Decimal(self.rng.randrange(55_000, 95_001, 500))
            bonus = Decimal(self.rng.randrange(5_000, 25_001, 500))
            for year in range(HISTORY_STARTS.year, self.clock.end.year + 1):
                amount = SetQuota(amount=max(Decimal(25_000), _round_to(quota, 5_000)))
                self.writer.set_quota(self.audit(self.admin), manager.aggregate, year, amount)
                plan = CompensationPlan(
                    base_salary=base_salary,
                    commission_rate=self.rng.choice(("0.03", "0.04", "0.05", "0.06", "0.08")),
                    accelerator_rate=self.rng.choice(("0.02", "0.03", "0.05")),
                    bonus_threshold=self.rng.choice(("1.00", "1.00", "1.00", "0.90", "1.10")),
                    bonus_amount=bonus,
                )
                self.writer.set_compensation_plan(self.audit(self.admin), manager.aggregate, year, plan)
                # Next year: a raise, and a stretch on the quota.
                base_salary = _round_to(base_salary * Decimal(str(self.rng.uniform(1.02, 1.06))), 500)
                quota *= Decimal(str(self.rng.uniform(1.03, 1.12)))

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
            self.teams[name] = people
        self.client_names.add(name)
        active = self.active_managers()
        # New business goes to the manager with the fewest clients half of the time.
        fewest = min(active, key=lambda m: self.load[m.aggregate.id])
        manager = fewest if rng.random() < 0.5 else rng.choice(active)
        audit = self.audit(manager.principal)
        command = OpenRelationship(
            client_name=name,
            client_kind=ClientKind.INDIVIDUAL if individual else ClientKind.CORPORATE,
            industry=industry,
            tier=tier,
            account_manager_id=manager.aggregate.id,
        )
        relationship = self.writer.open(audit, command, account_manager=manager.aggregate, relationship_id=self.uuid())
        client = Client(len(self.clients), relationship, self.zones[zone_name], city, people)
        self.clients.append(client)
        self.load[manager.aggregate.id] += 1
        self.summary.relationships += 1
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


def _mean_value(tier: Tier) -> float:
    low, high = CONTRACT_VALUES[tier]
    return (low + high) / 2


def _round_to(amount: Decimal, step: int) -> Decimal:
    return (amount / step).quantize(Decimal(1)) * step


def _cumulative(weights: tuple[int, ...]) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out
