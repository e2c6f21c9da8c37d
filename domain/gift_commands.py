"""Giving a gift: valued, checked against the limit of everyone who receives it, and stored in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from domain.application_base import CommandResult
from domain.command_base import CommandBase
from domain.commands import GiveGift
from domain.compliance_policy import CompliancePolicy
from domain.errors import NotFound, PreclearanceRequired, RuleViolation
from domain.gift_giving import record_gift, value_of
from domain.ledger_queries import DATE_TOLERANCE
from domain.permissions import Action
from domain.preclearance import GiftPreclearance
from domain.recipient_finder import RecipientFinder
from domain.relationship import ClientRelationship
from domain.values import Audit


@dataclass(frozen=True)
class GiftResult(CommandResult):
    gift_id: UUID
    recipient_id: UUID
    counted_value: Decimal
    shared_recipient_ids: tuple[UUID, ...] = ()


class GiftCommands(CommandBase):
    """The gift commands of DOMAIN.md."""

    def give_gift(
        self, audit: Audit, relationship_id: UUID, command: GiveGift, *, expected_version: int | None = None
    ) -> GiftResult:
        """Values the gift, checks it against the limit of everyone who receives it, and stores every side in one
        transaction. A gift shared by several people names each of them (`shared_with`)."""
        self.check_not_after_today("given_on", command.given_on)
        value = value_of(command)
        gift_id = uuid4()

        def attempt() -> GiftResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            policy = self.gift_policy()
            today = self.today()
            approval = self._approval_for(relationship.id, command, value, policy, today)
            finder = RecipientFinder(self, audit)
            people = record_gift(
                audit,
                relationship,
                command,
                gift_id=gift_id,
                value=value,
                find=finder.find,
                policy=policy,
                today=today,
                reservations=None if approval is None else self._reservations_of(approval),
            )
            used: list[GiftPreclearance] = []
            if approval is not None:
                approval.use(audit, gift_id=gift_id, given_on=command.given_on, counted_value=value)
                used.append(approval)
            result = self._stored(audit, relationship, *people, policy, *finder.changed(), *used)
            return GiftResult(
                **vars(result),
                gift_id=gift_id,
                recipient_id=people[0].id,
                counted_value=value,
                shared_recipient_ids=tuple(person.id for person in people[1:]),
            )

        return self._retrying(attempt)

    def _approval_for(
        self, relationship_id: UUID, command: GiveGift, value: Decimal, policy: CompliancePolicy, today: date
    ) -> GiftPreclearance | None:
        """The approval the gift uses, checked usable; none if it names none (refused with
        `preclearance_required` if the rules on `given_on` require one for what it counts)."""
        if command.preclearance_id is None:
            rules = policy.programme_on(command.given_on)
            if rules.preclearance_required and value > rules.auto_approve_up_to:
                msg = (
                    f"Pre-clearance is required: this gift counts ${value} per person, more than the "
                    f"${rules.auto_approve_up_to} that needs none; ask first and name the approval "
                    "(preclearance_id)."
                )
                raise PreclearanceRequired(msg, counted_value=value, auto_approve_up_to=rules.auto_approve_up_to)
            return None
        try:
            approval = self._load(GiftPreclearance, command.preclearance_id)
        except NotFound:
            msg = f"There is no pre-clearance request {command.preclearance_id} for this gift to use."
            raise NotFound(msg) from None
        approval.check_usable(
            relationship_id=relationship_id, given_on=command.given_on, counted_value=value, today=today
        )
        requested_on = approval.requested_on
        if command.given_on < requested_on - DATE_TOLERANCE:
            msg = (
                f"The gift cannot use pre-clearance request {approval.id}: it was given on {command.given_on}, "
                f"before the request was made on {requested_on}."
            )
            raise RuleViolation(msg)
        if policy.limit_year.year_of(command.given_on) != policy.limit_year.year_of(approval.planned_on):
            msg = (
                f"The gift cannot use pre-clearance request {approval.id}: it was given on {command.given_on}, "
                f"outside the limit year of the planned day {approval.planned_on}."
            )
            raise RuleViolation(msg)
        return approval

    def _reservations_of(self, approval: GiftPreclearance) -> dict[UUID, UUID | None]:
        """Each person the approval names now (merges followed), with the reservation they hold for it."""
        held = {r.recipient_id: r.reservation_id for r in approval.reservations}
        return {self.current_recipient(r.recipient_id).id: held.get(r.recipient_id) for r in approval.recipients}
