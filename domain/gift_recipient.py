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
from domain.values import Audit, BusinessDate, Frozen, Money, Name, NonNegativeMoney, Reason, RecordedMoney

RECIPIENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:gift-recipient")


class ReceivedGift(Frozen):
    """One gift as the recipient's record holds it."""

    gift_id: UUID
    relationship_id: UUID
    given_on: date
    counted_value: RecordedMoney


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

    def apply(self, aggregate: GiftRecipient) -> None:
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

    def apply(self, aggregate: GiftRecipient) -> None:
        aggregate.gifts.extend(self.absorbed_gifts)
        aggregate.spellings.extend(s for s in self.absorbed_spellings if s not in aggregate.spellings)


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
    snapshot_version = 2  # 2: State gained spellings, merged_into and distinct_from

    class State(BaseModel):
        name: str
        employer: str
        gifts: list[ReceivedGift]
        spellings: list[Spelling]
        merged_into: UUID | None
        distinct_from: list[UUID]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        name: str
        employer: str
        gifts: list[ReceivedGift]
        spellings: list[Spelling]
        merged_into: UUID | None
        distinct_from: list[UUID]

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
    ) -> None:
        self.check_not_merged()
        new = CountedGift(gift_id=gift_id, given_on=given_on, counted_value=counted_value)
        counted_under = check_within_limit(self.counted_gifts(), new, policy.limit_schedule, policy.limit_year)
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
        )

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
        )
        other._record(MergedInto, audit, survivor_id=self.id, reason=reason)

    def check_not_merged(self) -> None:
        if self.merged_into is not None:
            msg = f"{self.name} ({self.employer}) was merged into recipient {self.merged_into}; use that one."
            raise RuleViolation(msg)

    def counted_gifts(self) -> list[CountedGift]:
        return [CountedGift(gift_id=g.gift_id, given_on=g.given_on, counted_value=g.counted_value) for g in self.gifts]
