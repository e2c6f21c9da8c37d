"""The seed's writer: each act the generator chooses goes through the domain's own command, on the aggregate in
hand, and the events are stored in batches.

The aggregates stay in memory while the history is written: each command runs
on the aggregate in hand, its events are collected in the order the commands
ran, and every few thousand events one call to `Ledger.save` stores the batch
in one transaction. The batch keeps that order across aggregates, so the global
log reads as the history happened and `recorded_at` never goes backwards along
it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from domain import commands
from domain.account_manager import AccountManager
from domain.application import Ledger
from domain.errors import GiftLimitExceeded
from domain.gift_giving import record_gift, value_of
from domain.gift_recipient import GiftRecipient
from domain.model import LedgerAggregate, LedgerEvent
from domain.relationship import ClientRelationship, ContactLogged, EntertainmentProvided, ProductIntroduced
from domain.values import Audit


class LedgerWriter:
    """Writes what the generator chose through the domain's own methods, and stores the events in batches."""

    def __init__(self, ledger: Ledger, *, batch_size: int, on_flush: Callable[[int], None] | None) -> None:
        self.ledger = ledger
        self.batch_size = batch_size
        self.on_flush = on_flush
        self.policy = ledger.gift_policy()
        self.recipients: dict[UUID, GiftRecipient] = {}
        """Everyone who has received a gift, by id."""
        self.pending: list[LedgerEvent] = []
        self.touched: dict[UUID, LedgerAggregate] = {}
        self.written = 0
        if self.policy.pending_events:  # not stored yet: its establishment goes in the first batch
            self.stage(self.policy)

    @property
    def events(self) -> int:
        """How many events have been written or are waiting in the batch."""
        return self.written + len(self.pending)

    def stage(self, *aggregates: LedgerAggregate) -> None:
        """Collects the events of one logical command, in order; stores a batch once it is full."""
        for aggregate in aggregates:
            self.pending.extend(aggregate.collect_events())  # type: ignore[arg-type]
            self.touched[aggregate.id] = aggregate
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Stores the batch in one transaction."""
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

    def _staged_last(self, aggregate: LedgerAggregate) -> Any:
        """The event the command just recorded on `aggregate`, once its events are staged."""
        event = aggregate.pending_events[-1]
        self.stage(aggregate)
        return event

    # -- account managers --

    def register_manager(
        self, audit: Audit, command: commands.RegisterAccountManager, *, manager_id: UUID
    ) -> AccountManager:
        manager = AccountManager.register(audit, command, id=manager_id)
        self.stage(manager)
        return manager

    def set_quota(self, audit: Audit, manager: AccountManager, year: int, command: commands.SetQuota) -> None:
        manager.set_quota(audit, year, command)
        self.stage(manager)

    def set_compensation_plan(
        self, audit: Audit, manager: AccountManager, year: int, plan: commands.CompensationPlan
    ) -> None:
        manager.set_compensation_plan(audit, year, plan)
        self.stage(manager)

    def deactivate(self, audit: Audit, manager: AccountManager, command: commands.DeactivateAccountManager) -> None:
        manager.deactivate(audit, command)
        self.stage(manager)

    # -- relationships --

    def open(
        self,
        audit: Audit,
        command: commands.OpenRelationship,
        *,
        account_manager: AccountManager,
        relationship_id: UUID,
    ) -> ClientRelationship:
        relationship = ClientRelationship.open(audit, command, account_manager=account_manager, id=relationship_id)
        self.stage(relationship)
        return relationship

    def assign(
        self,
        audit: Audit,
        relationship: ClientRelationship,
        command: commands.AssignAccountManager,
        *,
        account_manager: AccountManager,
    ) -> None:
        relationship.assign(audit, command, account_manager=account_manager)
        self.stage(relationship)

    def change_tier(self, audit: Audit, relationship: ClientRelationship, command: commands.ChangeTier) -> None:
        relationship.change_tier(audit, command)
        self.stage(relationship)

    def change_cadence(self, audit: Audit, relationship: ClientRelationship, command: commands.ChangeCadence) -> None:
        relationship.change_cadence(audit, command)
        self.stage(relationship)

    def close(self, audit: Audit, relationship: ClientRelationship, command: commands.CloseRelationship) -> None:
        relationship.close(audit, command)
        self.stage(relationship)

    def reopen(self, audit: Audit, relationship: ClientRelationship, command: commands.ReopenRelationship) -> None:
        relationship.reopen(audit, command)
        self.stage(relationship)

    # -- activity on a relationship --

    def log_contact(
        self, audit: Audit, relationship: ClientRelationship, command: commands.LogContact
    ) -> ContactLogged:
        relationship.log_contact(audit, command)
        contact: ContactLogged = self._staged_last(relationship)
        return contact

    def introduce_product(
        self, audit: Audit, relationship: ClientRelationship, command: commands.IntroduceProduct
    ) -> ProductIntroduced:
        relationship.introduce_product(audit, command)
        introduced: ProductIntroduced = self._staged_last(relationship)
        return introduced

    def schedule_demo(
        self, audit: Audit, relationship: ClientRelationship, command: commands.ScheduleDemo, *, demo_id: UUID
    ) -> UUID:
        demo_id = relationship.schedule_demo(audit, command, demo_id=demo_id)
        self.stage(relationship)
        return demo_id

    def reschedule_demo(
        self, audit: Audit, relationship: ClientRelationship, demo_id: UUID, command: commands.RescheduleDemo
    ) -> None:
        relationship.reschedule_demo(audit, demo_id, command)
        self.stage(relationship)

    def complete_demo(
        self, audit: Audit, relationship: ClientRelationship, demo_id: UUID, command: commands.CompleteDemo
    ) -> None:
        relationship.complete_demo(audit, demo_id, command)
        self.stage(relationship)

    def cancel_demo(
        self, audit: Audit, relationship: ClientRelationship, demo_id: UUID, command: commands.CancelDemo
    ) -> None:
        relationship.cancel_demo(audit, demo_id, command)
        self.stage(relationship)

    def propose_contract(
        self, audit: Audit, relationship: ClientRelationship, command: commands.ProposeContract, *, contract_id: UUID
    ) -> LedgerEvent:
        relationship.propose_contract(audit, command, contract_id=contract_id)
        proposal: LedgerEvent = self._staged_last(relationship)
        return proposal

    def sign_contract(
        self, audit: Audit, relationship: ClientRelationship, contract_id: UUID, command: commands.SignContract
    ) -> None:
        relationship.sign_contract(audit, contract_id, command)
        self.stage(relationship)

    def terminate_contract(
        self, audit: Audit, relationship: ClientRelationship, contract_id: UUID, command: commands.TerminateContract
    ) -> None:
        relationship.terminate_contract(audit, contract_id, command)
        self.stage(relationship)

    def provide_entertainment(
        self, audit: Audit, relationship: ClientRelationship, command: commands.ProvideEntertainment
    ) -> EntertainmentProvided:
        relationship.provide_entertainment(audit, command)
        entertainment: EntertainmentProvided = self._staged_last(relationship)
        return entertainment

    def correct_entry(
        self,
        audit: Audit,
        relationship: ClientRelationship,
        command: commands.CorrectEntry,
        original: LedgerEvent,
        history: Iterable[LedgerEvent] = (),
    ) -> None:
        """Corrects `original` (the event at `command.corrects_version`); a contact's correction needs the `history`
        of the contacts it may overtake."""
        assert original.originator_version == command.corrects_version
        changes, reason = command.changes, command.reason
        relationship.correct_entry(audit, original=original, reason=reason, changes=changes, history=history)
        self.stage(relationship)

    def recipient_named(self, named: commands.NamedRecipient) -> GiftRecipient | None:
        """The person a gift names, if they have received a gift before."""
        return self.recipients.get(_recipient_id(named.name, named.employer))

    def give_gift(
        self, audit: Audit, relationship: ClientRelationship, gift: commands.GiveGift, *, gift_id: UUID
    ) -> bool:
        """Records the gift through the domain's `record_gift`; refused at the limit, it stores nothing, not even
        someone registered for it, and returns False."""

        def find(named: commands.NamedRecipient) -> GiftRecipient:
            known = self.recipient_named(named)
            if known is None:
                return GiftRecipient.register(audit, name=named.name, employer=named.employer)
            # A shared gift refused at the limit of one person may already have been received by those before
            # them: they get it on a copy, kept only if everyone can. (A lone recipient refuses before any change.)
            return copy.deepcopy(known) if gift.shared_with else known

        try:
            people = record_gift(
                audit, relationship, gift, gift_id=gift_id, value=value_of(gift), find=find, policy=self.policy
            )
        except GiftLimitExceeded:
            return False
        for person in people:
            self.recipients[person.id] = person
        self.stage(relationship, *people)
        return True


@functools.cache
def _recipient_id(name: str, employer: str) -> UUID:
    """`GiftRecipient.id_for`, remembered: the seed names the same people again and again."""
    return GiftRecipient.id_for(name, employer)
