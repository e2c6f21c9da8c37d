"""Pre-clearance of gifts: request, approve, deny, withdraw and expire.

Every command that holds or frees headroom saves the request with the
`GiftRecipient`s it reserved on in one transaction, so racing writers to one
person conflict on that person's version and the loser re-checks (`_retrying`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.application_base import CommandResult
from domain.command_base import CommandBase
from domain.commands import ApprovePreclearance, DenyPreclearance, RequestPreclearance, WithdrawPreclearance
from domain.compliance_policy import CompliancePolicy
from domain.errors import InvalidInput
from domain.gift_giving import share_ids
from domain.gift_recipient import GiftRecipient
from domain.gift_rule import CountedGift, check_within_limit, counted_value, headroom_on
from domain.ledger_queries import DATE_TOLERANCE
from domain.permissions import Action, check_allowed
from domain.preclearance import GiftPreclearance, HeldReservation, band_of
from domain.recipient_finder import RecipientFinder
from domain.relationship import ClientRelationship
from domain.relationship_events import Recipient
from domain.values import Audit, PreclearanceBand, PreclearanceStatus, ReleaseCause


@dataclass(frozen=True)
class PreclearanceResult(CommandResult):
    status: PreclearanceStatus
    band: PreclearanceBand
    counted_value: Decimal
    expires_on: date | None
    recipient_ids: tuple[UUID, ...]


def _reserve_all(
    audit: Audit,
    request: GiftPreclearance,
    people: list[GiftRecipient],
    *,
    policy: CompliancePolicy,
    today: date,
    expires_on: date,
) -> list[HeldReservation]:
    """Reserves the request's counted value on each person (refused with the figures if anyone lacks room)."""
    held: list[HeldReservation] = []
    for person, reservation_id in zip(people, (request.id, *share_ids(request.id, len(people))), strict=True):
        person.reserve(
            audit,
            reservation_id=reservation_id,
            request_id=request.id,
            planned_on=request.planned_on,
            counted_value=request.counted_value,
            expires_on=expires_on,
            policy=policy,
            today=today,
        )
        if person.reservation(reservation_id) is not None:
            held.append(HeldReservation(reservation_id=reservation_id, recipient_id=person.id))
    return held


class PreclearanceCommands(CommandBase):
    """The pre-clearance commands: request, approve, deny, withdraw, expire."""

    def request_preclearance(self, audit: Audit, command: RequestPreclearance) -> PreclearanceResult:
        """Records a request: refused at once over anyone's headroom (with the figures), approved and reserved at
        once within the auto band, else pending for compliance."""
        today = self.today()
        value = counted_value(
            category=command.category,
            cost=command.cost,
            market_value=command.market_value,
            face_value=command.face_value,
            recipients_count=command.head_count,
            representative_attended=command.representative_attended,
        )
        request_id = uuid4()

        def attempt() -> PreclearanceResult:
            relationship = self._load(ClientRelationship, command.relationship_id)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            relationship.check_open()
            policy = self.gift_policy()
            rules = policy.programme_on(today)
            latest = today + timedelta(days=rules.approval_valid_days)
            if not today - DATE_TOLERANCE <= command.planned_on <= latest:
                message = f"must be between {today - DATE_TOLERANCE} and {latest} (today and the approval's validity)"
                raise InvalidInput.of_field("planned_on", message)
            finder = RecipientFinder(self, audit)
            people = [finder.find(named) for named in command.everyone]
            if len({person.id for person in people}) < len(people):
                raise InvalidInput.of_field("shared_with", "names one person twice: each person shares a gift once")
            headroom = self._smallest_headroom(
                people, command.planned_on, value, policy=policy, today=today, request_id=request_id
            )
            band = band_of(value, headroom, rules.auto_approve_up_to)
            recipients = [
                Recipient(recipient_id=person.id, name=named.name, employer=named.employer)
                for person, named in zip(people, command.everyone, strict=True)
            ]
            request = GiftPreclearance.request(
                audit,
                command,
                account_manager_id=relationship.account_manager_id,
                recipients=recipients,
                counted_value=value,
                band=band,
                requested_on=today,
                request_id=request_id,
            )
            if band is PreclearanceBand.AUTO:
                expires_on = today + timedelta(days=rules.approval_valid_days)
                held = _reserve_all(audit, request, people, policy=policy, today=today, expires_on=expires_on)
                request.approve(audit, automatic=True, reason=None, expires_on=expires_on, reservations=held)
            changed = [person for person in people if person.pending_events]
            result = self._stored(audit, request, *changed, policy, *finder.changed())
            return PreclearanceResult(
                **vars(result),
                status=request.status,
                band=band,
                counted_value=value,
                expires_on=request.expires_on,
                recipient_ids=tuple(person.id for person in people),
            )

        return self._retrying(attempt)

    def approve_preclearance(
        self, audit: Audit, request_id: UUID, command: ApprovePreclearance, *, expected_version: int | None = None
    ) -> PreclearanceResult:
        """Approves a pending request (compliance, not its requester) and reserves its counted value on each
        person, under the counts of today."""
        check_allowed(audit.principal, Action.DECIDE_PRECLEARANCE)

        def attempt() -> PreclearanceResult:
            request = self._load(GiftPreclearance, request_id, expected_version)
            relationship = self._load(ClientRelationship, request.relationship_id)
            request.check_pending("approved")
            relationship.check_open()
            today = self.today()
            policy = self.gift_policy()
            rules = policy.programme_on(today)
            expires_on = today + timedelta(days=rules.approval_valid_days)
            people = [self.current_recipient(r.recipient_id) for r in request.recipients]
            held = _reserve_all(audit, request, people, policy=policy, today=today, expires_on=expires_on)
            request.approve(audit, automatic=False, reason=command.reason, expires_on=expires_on, reservations=held)
            result = self._stored(audit, request, *[p for p in people if p.pending_events], policy)
            return self._result(result, request)

        return self._retrying(attempt)

    def deny_preclearance(
        self, audit: Audit, request_id: UUID, command: DenyPreclearance, *, expected_version: int | None = None
    ) -> PreclearanceResult:
        """Denies a pending request (compliance), saying why."""
        check_allowed(audit.principal, Action.DECIDE_PRECLEARANCE)

        def attempt() -> PreclearanceResult:
            request = self._load(GiftPreclearance, request_id, expected_version)
            request.deny(audit, reason=command.reason)
            return self._result(self._stored(audit, request), request)

        return self._retrying(attempt)

    def withdraw_preclearance(
        self, audit: Audit, request_id: UUID, command: WithdrawPreclearance, *, expected_version: int | None = None
    ) -> PreclearanceResult:
        """Withdraws a pending request or a usable approval (whoever may record on its relationship now),
        releasing the approval's reservations."""

        def attempt() -> PreclearanceResult:
            request = self._load(GiftPreclearance, request_id, expected_version)
            relationship = self._load(ClientRelationship, request.relationship_id)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            held = request.withdraw(audit, reason=command.reason, today=self.today())
            people = self._released(audit, held, ReleaseCause.WITHDRAWN)
            return self._result(self._stored(audit, request, *people), request)

        return self._retrying(attempt)

    def expire_preclearance(self, audit: Audit, request_id: UUID) -> CommandResult | None:
        """Writes the expiry of an approved, unused request past its `expires_on` and releases its reservations;
        nothing for any other request (so of several processes noticing one expiry, one writes it)."""

        def attempt() -> CommandResult | None:
            request = self._load(GiftPreclearance, request_id)
            held = request.expire(audit, today=self.today())
            if not request.pending_events:
                return None
            people = self._released(audit, held, ReleaseCause.EXPIRED)
            return self._stored(audit, request, *people)

        return self._retrying(attempt)

    def preclearance(self, request_id: UUID) -> GiftPreclearance:
        """The pre-clearance request now."""
        return self._load(GiftPreclearance, request_id)

    # -- helpers --

    def _released(self, audit: Audit, held: list[HeldReservation], cause: ReleaseCause) -> list[GiftRecipient]:
        """Each person still holding one of `held` (merges followed), with its release recorded."""
        people: dict[UUID, GiftRecipient] = {}
        for reservation in held:
            person = people.get(reservation.recipient_id) or self.current_recipient(reservation.recipient_id)
            people[person.id] = person
            person.release(audit, reservation_id=reservation.reservation_id, cause=cause)
        return [person for person in people.values() if person.pending_events]

    @staticmethod
    def _smallest_headroom(
        people: list[GiftRecipient],
        planned_on: date,
        value: Decimal,
        *,
        policy: CompliancePolicy,
        today: date,
        request_id: UUID,
    ) -> Decimal:
        """The least headroom among `people` on `planned_on`, counting active reservations; refuses at once (with
        the figures) if the request counts more than anyone's headroom."""
        new = CountedGift(gift_id=request_id, given_on=planned_on, counted_value=value, reserved=True)
        rooms = []
        for person in people:
            counted = person.counted_gifts(today)
            check_within_limit(counted, new, policy.limit_schedule, policy.limit_year)
            rooms.append(headroom_on(counted, planned_on, policy.limit_schedule, policy.limit_year))
        return min(rooms)

    @staticmethod
    def _result(result: CommandResult, request: GiftPreclearance) -> PreclearanceResult:
        return PreclearanceResult(
            **vars(result),
            status=request.status,
            band=request.band,
            counted_value=request.counted_value,
            expires_on=request.expires_on,
            recipient_ids=tuple(r.recipient_id for r in request.recipients),
        )
