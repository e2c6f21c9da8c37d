"""The ReceivedGift aggregate: a gift or entertainment an account manager received from a client, valued once.

A gift received is valued like a gift given, without zeroing any category (the
higher of cost and market value, a ticket's face value), shared by `shared_by`
people; entertainment received counts its cost per person. Nothing is refused
above the firm's review threshold: compliance reviews it as an exception.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, Field

from domain.commands import Giver, RecordReceivedGift
from domain.model import LedgerAggregate, LedgerCreated
from domain.values import (
    Audit,
    BusinessDate,
    GiftCategory,
    NonNegativeMoney,
    PositiveMoney,
    ReceivedKind,
    Text,
    round_cents,
)


def received_value(
    *,
    kind: ReceivedKind,
    category: GiftCategory,
    cost: Decimal,
    market_value: Decimal | None = None,
    face_value: Decimal | None = None,
    shared_by: int = 1,
) -> Decimal:
    """What a gift or entertainment received is worth to its receiver: entertainment its cost per person; a gift
    the higher of cost and market value (a ticket: face value) per person, half-up to cents, whatever its category."""
    if kind is ReceivedKind.ENTERTAINMENT:
        return round_cents(cost / shared_by)
    other = face_value if category is GiftCategory.TICKET else market_value
    return round_cents(max(cost, other if other is not None else cost) / shared_by)


class ReceivedGiftRecorded(LedgerCreated):
    """An account manager received a gift or entertainment from a client; `value` is what it is worth to them."""

    TOPIC = "ledger:ReceivedGift.ReceivedGiftRecorded"
    business_time_field = "received_on"
    relationship_id: UUID
    account_manager_id: UUID
    kind: ReceivedKind
    giver: Giver
    description: Text
    received_on: BusinessDate
    category: GiftCategory
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    shared_by: Annotated[int, Field(ge=1, le=100)] = 1
    value: NonNegativeMoney

    def apply(self, aggregate: ReceivedGift) -> None:
        aggregate.relationship_id = self.relationship_id
        aggregate.account_manager_id = self.account_manager_id
        aggregate.kind = self.kind
        aggregate.received_on = self.received_on
        aggregate.value = self.value


class ReceivedGift(LedgerAggregate):
    """One gift or entertainment received, as recorded (a fact: nothing happens to it afterwards)."""

    TOPIC = "ledger:ReceivedGift"

    class State(BaseModel):
        relationship_id: UUID
        account_manager_id: UUID
        kind: ReceivedKind
        received_on: date
        value: Decimal

    if TYPE_CHECKING:
        relationship_id: UUID
        account_manager_id: UUID
        kind: ReceivedKind
        received_on: date
        value: Decimal

    @classmethod
    def record(cls, audit: Audit, command: RecordReceivedGift, *, account_manager_id: UUID) -> ReceivedGift:
        """Records what `account_manager_id` received, valued by `received_value`."""
        value = received_value(
            kind=command.kind,
            category=command.category,
            cost=command.cost,
            market_value=command.market_value,
            face_value=command.face_value,
            shared_by=command.shared_by,
        )
        return cls._start(
            ReceivedGiftRecorded,
            audit,
            id=uuid4(),
            relationship_id=command.relationship_id,
            account_manager_id=account_manager_id,
            kind=command.kind,
            giver=command.giver,
            description=command.description,
            received_on=command.received_on,
            category=command.category,
            cost=command.cost,
            market_value=command.market_value,
            face_value=command.face_value,
            shared_by=command.shared_by,
            value=value,
        )
