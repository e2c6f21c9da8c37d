"""Changes of a relationship's standing, due on the agenda at their yearly rates: closures and reopenings,
reassignments, changes of tier and cadence, and the termination of signed contracts; and managers leaving."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.commands import (
    AssignAccountManager,
    CancelDemo,
    ChangeCadence,
    ChangeTier,
    CloseRelationship,
    DeactivateAccountManager,
    ReopenRelationship,
    TerminateContract,
)
from domain.values import RelationshipStatus, Tier
from scripts.seed.cast import CLOSE_REASONS, REASSIGN_REASONS, REOPEN_REASONS, REOPENED_SHARE, TERMINATE_REASONS
from scripts.seed.story import Client, Manager, Story

_TIER_MOVES = {Tier.STANDARD: (Tier.MAJOR,), Tier.MAJOR: (Tier.KEY, Tier.STANDARD), Tier.KEY: (Tier.MAJOR,)}


class Standing(Story):
    """Chooses the changes of standing as they come due, and has the writer record them."""

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

    def terminate(self, client: Client, contract_id: UUID) -> None:
        signed_on = client.aggregate.contract(contract_id).signed_on
        assert signed_on is not None
        audit = self.acting(client)
        command = TerminateContract(on=max(signed_on, self.clock.today()), reason=self.rng.choice(TERMINATE_REASONS))
        self.writer.terminate_contract(audit, client.aggregate, contract_id, command)
        self.summary.contracts_terminated += 1

    def change_tier(self, client: Client) -> None:
        audit = self.audit(self.admin)
        command = ChangeTier(tier=self.rng.choice(_TIER_MOVES[client.aggregate.tier]))
        self.writer.change_tier(audit, client.aggregate, command)

    def change_cadence(self, client: Client) -> None:
        current = client.aggregate.cadence_days or client.aggregate.tier.default_cadence_days
        days = self.rng.choice([d for d in (5, 7, 10, 14, 21, 30, 45, 60) if d != current])
        self.writer.change_cadence(self.acting(client), client.aggregate, ChangeCadence(days=days))

    def reassign(self, client: Client) -> None:
        others = [m for m in self.active_managers() if m.aggregate.id != client.aggregate.account_manager_id]
        if others:
            self.assign(client, self.rng.choice(others), self.rng.choice(REASSIGN_REASONS))

    def assign(self, client: Client, manager: Manager, reason: str) -> None:
        self.load[client.aggregate.account_manager_id] -= 1
        command = AssignAccountManager(account_manager_id=manager.aggregate.id, reason=reason)
        self.writer.assign(self.audit(self.admin), client.aggregate, command, account_manager=manager.aggregate)
        self.load[manager.aggregate.id] += 1
        self.summary.reassignments += 1

    def close(self, client: Client) -> None:
        # Most of the book stays open: a relationship closes only while three in four are open.
        if (len(self.closed) + 1) * 4 > len(self.clients):
            self.plan_next("close", client)
            return
        for demo_id in client.scheduled_demos:
            cancelled = CancelDemo(reason="The relationship is closing")
            self.writer.cancel_demo(self.acting(client), client.aggregate, demo_id, cancelled)
            self.summary.demos_cancelled += 1
        client.scheduled_demos.clear()
        audit = self.acting(client)
        self.writer.close(audit, client.aggregate, CloseRelationship(reason=self.rng.choice(CLOSE_REASONS)))
        client.correctable.clear()
        self.closed.append(client)
        self.summary.closures += 1
        if self.rng.random() < REOPENED_SHARE:
            self.schedule(self.clock.now() + timedelta(days=self.rng.randint(60, 300)), "reopen", client)

    def reopen(self, client: Client) -> None:
        audit = self.acting(client)
        self.writer.reopen(audit, client.aggregate, ReopenRelationship(reason=self.rng.choice(REOPEN_REASONS)))
        self.closed.remove(client)
        self.summary.reopenings += 1
        self.plan_next("close", client)

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
        left = DeactivateAccountManager(reason="Left the firm")
        self.writer.deactivate(self.audit(self.admin), manager.aggregate, left)
        self.summary.deactivations += 1
        return True
