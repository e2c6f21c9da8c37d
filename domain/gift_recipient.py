"""The GiftRecipient aggregate: every gift to one person, whoever gave it, so the limit holds firm-wide."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from domain.compliance_policy import CompliancePolicy
from domain.gift_rule import CountedGift, check_within_limit, limit_in_force, normalise_person
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import Audit, BusinessDate, Frozen, Money, Name, NonNegativeMoney, RecordedMoney

RECIPIENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:gift-recipient")


class ReceivedGift(Frozen):
    """One gift as the recipient's record holds it."""

    gift_id: UUID
    relationship_id: UUID
    given_on: date
    counted_value: RecordedMoney


class RecipientRegistered(LedgerCreated):
    TOPIC = "ledger:GiftRecipient.Registered"
    name: Name
    employer: Name

    def apply(self, aggregate: Any) -> None:
        aggregate.name = self.name
        aggregate.employer = self.employer
        aggregate.gifts = []


class GiftReceived(LedgerEvent):
    """A gift to this person was accepted under the limit (or counted as zero) and recorded."""

    TOPIC = "ledger:GiftRecipient.GiftReceived"
    business_time_field = "given_on"
    gift_id: UUID
    relationship_id: UUID
    given_on: BusinessDate
    counted_value: NonNegativeMoney
    limit: Money
    limit_year: str

    def apply(self, aggregate: Any) -> None:
        aggregate.gifts.append(
            ReceivedGift(
                gift_id=self.gift_id,
                relationship_id=self.relationship_id,
                given_on=self.given_on,
                counted_value=self.counted_value,
            )
        )


class GiftRecipient(LedgerAggregate):
    """A person who receives gifts, keyed by their normalised name and employer."""

    TOPIC = "ledger:GiftRecipient"

    class State(BaseModel):
        name: str
        employer: str
        gifts: list[ReceivedGift]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        name: str
        employer: str
        gifts: list[ReceivedGift]

    @staticmethod
    def id_for(name: str, employer: str) -> UUID:
        """The same id for every spelling of one person at one employer."""
        return uuid5(RECIPIENT_NAMESPACE, f"{normalise_person(name)}\x1f{normalise_person(employer)}")

    @classmethod
    def register(cls, audit: Audit, *, name: str, employer: str) -> GiftRecipient:
        return cls._start(
            RecipientRegistered,
            audit,
            id=cls.id_for(name, employer),
            name=" ".join(name.split()),
            employer=" ".join(employer.split()),
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
    ) -> None:
        new = CountedGift(gift_id=gift_id, given_on=given_on, counted_value=counted_value)
        check_within_limit(self.counted_gifts(), new, policy.limit_schedule, policy.limit_year)
        self._record(
            GiftReceived,
            audit,
            gift_id=gift_id,
            relationship_id=relationship_id,
            given_on=given_on,
            counted_value=counted_value,
            limit=limit_in_force(policy.limit_schedule, given_on),
            limit_year=policy.limit_year.year_of(given_on).label,
        )

    def counted_gifts(self) -> list[CountedGift]:
        return [CountedGift(gift_id=g.gift_id, given_on=g.given_on, counted_value=g.counted_value) for g in self.gifts]
