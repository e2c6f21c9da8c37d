"""The GiftRecipient aggregate: every gift to one person, whoever gave it, so the limit holds firm-wide."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from domain.compliance_policy import CompliancePolicy
from domain.errors import RuleViolation
from domain.gift_rule import CountedGift, check_within_limit, normalise_person
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.recipient_identity import identity_key
from domain.values import (
    Audit,
    BusinessDate,
    Frozen,
    Money,
    Name,
    NonNegativeMoney,
    Reason,
    RecordedMoney,
    ReleaseCause,
)

RECIPIENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:gift-recipient")


class ReceivedGift(Frozen):
    """One gift as the recipient's record holds it."""

    gift_id: UUID
    relationship_id: UUID
    given_on: date
    counted_value: RecordedMoney


class Reservation(Frozen):
    """Headroom an approved pre-clearance request holds for this person until a gift uses it or it expires: it
    counts against the limit while `today <= expires_on` (the firm's date)."""

    reservation_id: UUID
    request_id: UUID
    planned_on: date
    counted_value: RecordedMoney
    expires_on: date

    def active_on(self, today: date | None) -> bool:
        """Whether the reservation counts on `today` (with no clock: always, the conservative answer)."""
        return today is None or today <= self.expires_on


class Spelling(Frozen):
    """A name and an employer as a gift gave them."""

    name: str
    employer: str


class RecipientRegistered(LedgerCreated):
    """A person first received a gift. `distinct_from` names the look-alike recipients the giver declared this
    person is not (shown to compliance)."""

    TOPIC = "ledger:GiftRecipient.Registered"
    name: Name
    employer: Name
    distinct_from: list[UUID] = []

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.name = self.name
        aggregate.employer = self.employer
        aggregate.gifts = []
        aggregate.spellings = [Spelling(name=self.name, employer=self.employer)]
        aggregate.merged_into = None
        aggregate.distinct_from = list(self.distinct_from)
        aggregate.reservations = []


class GiftReceived(LedgerEvent):
    """A gift to this person was accepted under the limit (or counted as zero) and recorded; `spelled_as` keeps
    the name and employer the gift gave, where they differ from the registered ones."""

    TOPIC = "ledger:GiftRecipient.GiftReceived"
    business_time_field = "given_on"
    gift_id: UUID
    relationship_id: UUID
    given_on: BusinessDate
    counted_value: NonNegativeMoney
    limit: Money
    limit_year: str
    spelled_as: Spelling | None = None
    preclearance_id: UUID | None = None
    """The approved pre-clearance request the gift used, if any."""
    reservation_id: UUID | None = None
    """The reservation of that request the gift consumed (it stops counting: the gift counts instead)."""

    def apply(self, aggregate: GiftRecipient) -> None:
        if self.reservation_id is not None:
            aggregate.reservations = [r for r in aggregate.reservations if r.reservation_id != self.reservation_id]
        aggregate.gifts.append(
            ReceivedGift(
                gift_id=self.gift_id,
                relationship_id=self.relationship_id,
                given_on=self.given_on,
                counted_value=self.counted_value,
            )
        )
        if self.spelled_as is not None and self.spelled_as not in aggregate.spellings:
            aggregate.spellings.append(self.spelled_as)


class RecipientsMerged(LedgerEvent):
    """Compliance found that another recipient is this same person: their gifts (copied here as they stood) count
    with this one's in every year from now on. No stored gift changes."""

    TOPIC = "ledger:GiftRecipient.RecipientsMerged"
    absorbed_id: UUID
    reason: Reason
    absorbed_gifts: list[ReceivedGift]
    absorbed_spellings: list[Spelling]
    absorbed_reservations: list[Reservation] = []

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.gifts.extend(self.absorbed_gifts)
        aggregate.reservations.extend(self.absorbed_reservations)
        aggregate.spellings.extend(s for s in self.absorbed_spellings if s not in aggregate.spellings)


class HeadroomReserved(LedgerEvent):
    """An approved pre-clearance request holds `counted_value` of this person's limit year for a gift planned on
    `planned_on`, until a gift uses it or `expires_on` passes."""

    TOPIC = "ledger:GiftRecipient.HeadroomReserved"
    business_time_field = "planned_on"
    reservation_id: UUID
    request_id: UUID
    planned_on: BusinessDate
    counted_value: NonNegativeMoney
    expires_on: BusinessDate
    limit: Money
    limit_year: str

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.reservations.append(
            Reservation(
                reservation_id=self.reservation_id,
                request_id=self.request_id,
                planned_on=self.planned_on,
                counted_value=self.counted_value,
                expires_on=self.expires_on,
            )
        )


class ReservationReleased(LedgerEvent):
    """A reservation stopped holding headroom without a gift: it expired, or its request was withdrawn."""

    TOPIC = "ledger:GiftRecipient.ReservationReleased"
    reservation_id: UUID
    request_id: UUID
    cause: ReleaseCause

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.reservations = [r for r in aggregate.reservations if r.reservation_id != self.reservation_id]


class MergedInto(LedgerEvent):
    """This recipient is the same person as `survivor_id`: gifts to them are recorded on the survivor from now on."""

    TOPIC = "ledger:GiftRecipient.MergedInto"
    survivor_id: UUID
    reason: Reason

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.merged_into = self.survivor_id


class GiftRecipient(LedgerAggregate):
    """A person who receives gifts, keyed by their name and employer as `identity_key` folds them."""

    TOPIC = "ledger:GiftRecipient"
    snapshot_version = 3  # 2: State gained spellings, merged_into and distinct_from; 3: reservations

    class State(BaseModel):
        name: str
        employer: str
        gifts: list[ReceivedGift]
        spellings: list[Spelling]
        merged_into: UUID | None
        distinct_from: list[UUID]
        reservations: list[Reservation]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        name: str
        employer: str
        gifts: list[ReceivedGift]
        spellings: list[Spelling]
        merged_into: UUID | None
        distinct_from: list[UUID]
        reservations: list[Reservation]

    @staticmethod
    def id_for(name: str, employer: str) -> UUID:
        """The same id for every spelling of one person at one employer (see `domain.recipient_identity`)."""
        return uuid5(RECIPIENT_NAMESPACE, f"v2\x1f{identity_key(name, employer)}")

    @staticmethod
    def legacy_id_for(name: str, employer: str) -> UUID:
        """The id a recipient registered before identity keys was given (case and spaces folded only)."""
        return uuid5(RECIPIENT_NAMESPACE, f"{normalise_person(name)}\x1f{normalise_person(employer)}")

    @classmethod
    def register(cls, audit: Audit, *, name: str, employer: str, distinct_from: Sequence[UUID] = ()) -> GiftRecipient:
        return cls._start(
            RecipientRegistered,
            audit,
            id=cls.id_for(name, employer),
            name=" ".join(name.split()),
            employer=" ".join(employer.split()),
            distinct_from=list(distinct_from),
        )

    def receive_gift(
        self,
        audit: Audit,
        *,
        gift_id: UUID,
        relationship_id: UUID,
        given_on: date,
        counted_value: Decimal,
        policy: CompliancePolicy,
        spelled_as: Spelling | None = None,
        today: date | None = None,
        preclearance_id: UUID | None = None,
        reservation_id: UUID | None = None,
    ) -> None:
        """Records a gift to this person if it keeps every limit year it falls in within the limit, counting the
        reservations active on `today` (all of them without a clock). A gift using an approval names the
        reservation it consumes: that one must be held, and is not counted beside the gift."""
        self.check_not_merged()
        if reservation_id is not None and self.reservation(reservation_id) is None:
            msg = (
                f"{self.name} ({self.employer}) holds no reservation {reservation_id}: the approval was used, "
                "withdrawn or has expired."
            )
            raise RuleViolation(msg)
        new = CountedGift(gift_id=gift_id, given_on=given_on, counted_value=counted_value)
        counted_under = check_within_limit(
            self.counted_gifts(today, excluding=reservation_id), new, policy.limit_schedule, policy.limit_year
        )
        self._record(
            GiftReceived,
            audit,
            gift_id=gift_id,
            relationship_id=relationship_id,
            given_on=given_on,
            counted_value=counted_value,
            limit=counted_under.limit,
            limit_year=counted_under.year.label,
            spelled_as=None if spelled_as == Spelling(name=self.name, employer=self.employer) else spelled_as,
            preclearance_id=preclearance_id,
            reservation_id=reservation_id,
        )

    def reserve(
        self,
        audit: Audit,
        *,
        reservation_id: UUID,
        request_id: UUID,
        planned_on: date,
        counted_value: Decimal,
        expires_on: date,
        policy: CompliancePolicy,
        today: date | None,
    ) -> None:
        """Holds `counted_value` of this person's limit year for an approved request, if their gifts and active
        reservations leave room for it (else `GiftLimitExceeded` with the figures). A zero value reserves nothing."""
        self.check_not_merged()
        if counted_value == 0:
            return
        new = CountedGift(gift_id=reservation_id, given_on=planned_on, counted_value=counted_value, reserved=True)
        counted_under = check_within_limit(self.counted_gifts(today), new, policy.limit_schedule, policy.limit_year)
        self._record(
            HeadroomReserved,
            audit,
            reservation_id=reservation_id,
            request_id=request_id,
            planned_on=planned_on,
            counted_value=counted_value,
            expires_on=expires_on,
            limit=counted_under.limit,
            limit_year=counted_under.year.label,
        )

    def release(self, audit: Audit, *, reservation_id: UUID, cause: ReleaseCause) -> bool:
        """Stops a held reservation counting (`cause`: expired or withdrawn); answers whether it was held, and
        records nothing if it was not (releasing twice is releasing once)."""
        held = self.reservation(reservation_id)
        if held is None:
            return False
        self._record(ReservationReleased, audit, reservation_id=reservation_id, request_id=held.request_id, cause=cause)
        return True

    def reservation(self, reservation_id: UUID) -> Reservation | None:
        """The reservation held under `reservation_id`, if it is still held (active or expired but not released)."""
        return next((r for r in self.reservations if r.reservation_id == reservation_id), None)

    def absorb(self, audit: Audit, *, other: GiftRecipient, reason: str) -> None:
        """Counts `other`'s gifts as this person's from now on; `other` is told with `merge_into`."""
        self.check_not_merged()
        other.check_not_merged()
        if other.id == self.id:
            msg = "A recipient cannot be merged with themself."
            raise RuleViolation(msg)
        self._record(
            RecipientsMerged,
            audit,
            absorbed_id=other.id,
            reason=reason,
            absorbed_gifts=list(other.gifts),
            absorbed_spellings=list(other.spellings),
            absorbed_reservations=list(other.reservations),
        )
        other._record(MergedInto, audit, survivor_id=self.id, reason=reason)

    def check_not_merged(self) -> None:
        if self.merged_into is not None:
            msg = f"{self.name} ({self.employer}) was merged into recipient {self.merged_into}; use that one."
            raise RuleViolation(msg)

    def counted_gifts(self, today: date | None = None, *, excluding: UUID | None = None) -> list[CountedGift]:
        """What the limit counts for this person: their gifts, then the reservations active on `today` (every
        reservation held, without a clock), except the one `excluding` names."""
        gifts = [CountedGift(gift_id=g.gift_id, given_on=g.given_on, counted_value=g.counted_value) for g in self.gifts]
        return gifts + [
            CountedGift(gift_id=r.reservation_id, given_on=r.planned_on, counted_value=r.counted_value, reserved=True)
            for r in self.reservations
            if r.active_on(today) and r.reservation_id != excluding
        ]
