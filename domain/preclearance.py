"""The GiftPreclearance aggregate: a gift asked about before it is given, decided, and then used or let expire.

A request names the people who would receive the gift (resolved when it is
made) and what it would count for each. It is approved at once in the auto band,
or decided by compliance; an approval's reservations live on each
`GiftRecipient`, so the limit counts them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from pydantic import BaseModel

from domain.commands import RequestPreclearance
from domain.errors import RuleViolation
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.relationship_events import Recipient
from domain.values import (
    Audit,
    BusinessDate,
    Frozen,
    GiftCategory,
    NonNegativeMoney,
    PositiveMoney,
    PreclearanceBand,
    PreclearanceStatus,
    Reason,
    Text,
)


def band_of(counted: Decimal, headroom: Decimal, auto_up_to: Decimal) -> PreclearanceBand:
    """How a request counting `counted` per person is decided: automatically when it is within both the
    auto-approve band and the smallest headroom of its people, else by compliance. (A request over the headroom
    is refused by the limit check before it has a band.)"""
    return PreclearanceBand.AUTO if counted <= auto_up_to and counted <= headroom else PreclearanceBand.REVIEW


class HeldReservation(Frozen):
    """Which person an approval reserved headroom on, under which reservation id."""

    reservation_id: UUID
    recipient_id: UUID


class GiftPreclearanceRequested(LedgerCreated):
    """An account manager asked before giving a gift; `counted_value` is what it would count per person."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceRequested"
    business_time_field = "planned_on"
    relationship_id: UUID
    account_manager_id: UUID
    recipients: list[Recipient]
    planned_on: BusinessDate
    category: GiftCategory
    description: Text
    purpose: Text
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    representative_attended: bool = False
    counted_value: NonNegativeMoney
    band: PreclearanceBand
    requested_on: date
    """The firm's day when the request was made (a gift using it may be given from the day before on)."""

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.relationship_id = self.relationship_id
        aggregate.account_manager_id = self.account_manager_id
        aggregate.recipients = list(self.recipients)
        aggregate.planned_on = self.planned_on
        aggregate.category = self.category
        aggregate.description = self.description
        aggregate.purpose = self.purpose
        aggregate.cost = self.cost
        aggregate.market_value = self.market_value
        aggregate.face_value = self.face_value
        aggregate.representative_attended = self.representative_attended
        aggregate.counted_value = self.counted_value
        aggregate.band = self.band
        aggregate.requested_on = self.requested_on
        aggregate.status = PreclearanceStatus.PENDING
        aggregate.expires_on = None
        aggregate.requested_by = self.actor_id
        aggregate.decided_by = None
        aggregate.decided_at = None
        aggregate.decision_reason = None
        aggregate.gift_id = None
        aggregate.reservations = []


class GiftPreclearanceApproved(LedgerEvent):
    """The request was approved (by the band, or by compliance) until `expires_on`; `reservations` hold its
    counted value on each person."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceApproved"
    automatic: bool
    reason: Reason | None = None
    expires_on: BusinessDate
    reservations: list[HeldReservation]

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.status = PreclearanceStatus.APPROVED
        aggregate.expires_on = self.expires_on
        aggregate.decided_by = self.actor_id
        aggregate.decided_at = self.recorded_at
        aggregate.decision_reason = self.reason
        aggregate.reservations = list(self.reservations)


class GiftPreclearanceDenied(LedgerEvent):
    """Compliance denied the request, saying why."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceDenied"
    reason: Reason

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.status = PreclearanceStatus.DENIED
        aggregate.decided_by = self.actor_id
        aggregate.decided_at = self.recorded_at
        aggregate.decision_reason = self.reason


class GiftPreclearanceWithdrawn(LedgerEvent):
    """The request was withdrawn (an approval's reservations are released beside this)."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceWithdrawn"
    reason: Reason

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.status = PreclearanceStatus.WITHDRAWN


class GiftPreclearanceUsed(LedgerEvent):
    """A gift used the approval: its reservations became that gift."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceUsed"
    business_time_field = "given_on"
    gift_id: UUID
    given_on: BusinessDate
    counted_value: NonNegativeMoney

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.status = PreclearanceStatus.USED
        aggregate.gift_id = self.gift_id


class GiftPreclearanceExpired(LedgerEvent):
    """The approval passed `expires_on` unused (its reservations are released beside this)."""

    TOPIC = "ledger:GiftPreclearance.GiftPreclearanceExpired"
    expires_on: BusinessDate

    def apply(self, aggregate: GiftPreclearance) -> None:
        aggregate.status = PreclearanceStatus.EXPIRED


class GiftPreclearance(LedgerAggregate):
    """One pre-clearance request, from asking to its gift, denial, withdrawal or expiry."""

    TOPIC = "ledger:GiftPreclearance"

    class State(BaseModel):
        relationship_id: UUID
        account_manager_id: UUID
        recipients: list[Recipient]
        planned_on: date
        category: GiftCategory
        description: str
        purpose: str
        cost: Decimal
        market_value: Decimal | None
        face_value: Decimal | None
        representative_attended: bool
        counted_value: Decimal
        band: PreclearanceBand
        requested_on: date
        status: PreclearanceStatus
        expires_on: date | None
        requested_by: str
        decided_by: str | None
        decided_at: datetime | None
        decision_reason: str | None
        gift_id: UUID | None
        reservations: list[HeldReservation]

    if TYPE_CHECKING:
        relationship_id: UUID
        account_manager_id: UUID
        recipients: list[Recipient]
        planned_on: date
        category: GiftCategory
        description: str
        purpose: str
        cost: Decimal
        market_value: Decimal | None
        face_value: Decimal | None
        representative_attended: bool
        counted_value: Decimal
        band: PreclearanceBand
        requested_on: date
        status: PreclearanceStatus
        expires_on: date | None
        requested_by: str
        decided_by: str | None
        decided_at: datetime | None
        decision_reason: str | None
        gift_id: UUID | None
        reservations: list[HeldReservation]

    @classmethod
    def request(
        cls,
        audit: Audit,
        command: RequestPreclearance,
        *,
        account_manager_id: UUID,
        recipients: list[Recipient],
        counted_value: Decimal,
        band: PreclearanceBand,
        requested_on: date,
        request_id: UUID | None = None,
    ) -> GiftPreclearance:
        """A new request, pending until it is approved (at once, in the auto band), denied or withdrawn."""
        return cls._start(
            GiftPreclearanceRequested,
            audit,
            id=request_id or uuid4(),
            relationship_id=command.relationship_id,
            account_manager_id=account_manager_id,
            recipients=recipients,
            planned_on=command.planned_on,
            category=command.category,
            description=command.description,
            purpose=command.purpose,
            cost=command.cost,
            market_value=command.market_value,
            face_value=command.face_value,
            representative_attended=command.representative_attended,
            counted_value=counted_value,
            band=band,
            requested_on=requested_on,
        )

    def status_on(self, today: date) -> PreclearanceStatus:
        """The status on the firm's `today`: an approval not used by its `expires_on` has expired, written or not."""
        if self.status is PreclearanceStatus.APPROVED and self.expires_on is not None and today > self.expires_on:
            return PreclearanceStatus.EXPIRED
        return self.status

    def approve(
        self,
        audit: Audit,
        *,
        automatic: bool,
        reason: str | None,
        expires_on: date,
        reservations: list[HeldReservation],
    ) -> None:
        """Approves the pending request; compliance may not approve a request they made themself."""
        self.check_pending("approved")
        if not automatic and audit.principal.id == self.requested_by:
            msg = f"Pre-clearance request {self.id} was made by {self.requested_by}: someone else must approve it."
            raise RuleViolation(msg)
        self._record(
            GiftPreclearanceApproved,
            audit,
            automatic=automatic,
            reason=reason,
            expires_on=expires_on,
            reservations=reservations,
        )

    def deny(self, audit: Audit, *, reason: str) -> None:
        """Denies the pending request."""
        self.check_pending("denied")
        self._record(GiftPreclearanceDenied, audit, reason=reason)

    def withdraw(self, audit: Audit, *, reason: str, today: date) -> list[HeldReservation]:
        """Withdraws a pending request or a usable approval; answers the reservations to release."""
        status = self.status_on(today)
        if status not in (PreclearanceStatus.PENDING, PreclearanceStatus.APPROVED):
            msg = f"Pre-clearance request {self.id} is {status.value}: only a pending or approved one can be withdrawn."
            raise RuleViolation(msg)
        held = list(self.reservations) if status is PreclearanceStatus.APPROVED else []
        self._record(GiftPreclearanceWithdrawn, audit, reason=reason)
        return held

    def check_usable(self, *, relationship_id: UUID, given_on: date, counted_value: Decimal, today: date) -> None:
        """Refuses a gift that may not use this approval: another relationship, not approved or expired, worth
        more per person than approved, or given after the approval expires."""
        status = self.status_on(today)
        problem = None
        if relationship_id != self.relationship_id:
            problem = f"is for relationship {self.relationship_id}, not {relationship_id}"
        elif status is not PreclearanceStatus.APPROVED:
            problem = f"is {status.value}, not approved"
        elif counted_value > self.counted_value:
            problem = f"approved ${self.counted_value} per person, and this gift counts ${counted_value}"
        elif self.expires_on is not None and given_on > self.expires_on:
            problem = f"expires on {self.expires_on}, before the gift's day {given_on}"
        if problem is not None:
            msg = f"The gift cannot use pre-clearance request {self.id}: it {problem}."
            raise RuleViolation(msg)

    def use(self, audit: Audit, *, gift_id: UUID, given_on: date, counted_value: Decimal) -> None:
        """Marks the approval used by the gift `gift_id` (checked with `check_usable` first)."""
        self._record(GiftPreclearanceUsed, audit, gift_id=gift_id, given_on=given_on, counted_value=counted_value)

    def expire(self, audit: Audit, *, today: date) -> list[HeldReservation]:
        """Writes the expiry of an unused approval past `expires_on` (answers the reservations to release); answers
        `[]` and writes nothing for anything else, so noticing an expiry twice writes it once."""
        if self.status is not PreclearanceStatus.APPROVED or self.status_on(today) is not PreclearanceStatus.EXPIRED:
            return []
        assert self.expires_on is not None
        self._record(GiftPreclearanceExpired, audit, expires_on=self.expires_on)
        return list(self.reservations)

    def check_pending(self, outcome: str) -> None:
        """Refuses anything but a pending request being `outcome` (approved, denied)."""
        if self.status is not PreclearanceStatus.PENDING:
            msg = f"Pre-clearance request {self.id} is {self.status.value}: only a pending request can be {outcome}."
            raise RuleViolation(msg)
