"""Gifts and entertainment received from clients."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.account_manager import AccountManager
from domain.application_base import CommandResult
from domain.command_base import CommandBase
from domain.commands import RecordReceivedGift
from domain.errors import Forbidden, NotFound
from domain.permissions import Action
from domain.received_gift import ReceivedGift
from domain.relationship import ClientRelationship
from domain.values import Audit, Role


@dataclass(frozen=True)
class ReceivedGiftResult(CommandResult):
    value: Decimal
    review: bool
    """Whether it is worth more than the review threshold in force on `received_on` (compliance reviews it)."""


class ReceivedGiftCommands(CommandBase):
    """The commands recording gifts and entertainment received."""

    def record_received_gift(self, audit: Audit, command: RecordReceivedGift) -> ReceivedGiftResult:
        """Records a gift or entertainment received on a relationship: an account manager records what they
        received themself, on a relationship assigned to them; a manager or admin names an active receiver (by
        default the relationship's account manager). Never refused for its value: above the threshold it is
        reviewed."""
        self.check_not_after_today("received_on", command.received_on)

        def attempt() -> ReceivedGiftResult:
            relationship = self._load(ClientRelationship, command.relationship_id)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            receiver_id = self._receiver_of(audit, command, relationship)
            try:
                receiver = self._load(AccountManager, receiver_id)
            except NotFound:
                msg = f"No account manager {receiver_id} to have received this."
                raise NotFound(msg) from None
            receiver.check_active()
            received = ReceivedGift.record(audit, command, account_manager_id=receiver.id)
            threshold = self.gift_policy().programme_on(command.received_on).received_review_threshold
            result = self._stored(audit, received)
            return ReceivedGiftResult(**vars(result), value=received.value, review=received.value > threshold)

        return self._retrying(attempt)

    @staticmethod
    def _receiver_of(audit: Audit, command: RecordReceivedGift, relationship: ClientRelationship) -> UUID:
        principal = audit.principal
        if principal.role is Role.ACCOUNT_MANAGER:
            own = principal.account_manager_id
            if own is None or command.account_manager_id not in (None, own):
                msg = "An account manager records only the gifts and entertainment they received themself."
                raise Forbidden(msg)
            return own
        return command.account_manager_id or relationship.account_manager_id
