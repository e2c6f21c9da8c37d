"""Request and response bodies of the gifts-and-entertainment programme's own records: gifts and entertainment
received (`/received-gifts`) and quarterly attestations (`/account-managers/{id}/attestations`, `/attestations`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt

from api.schemas.requests import Body, Day, MoneyText
from api.schemas.responses import CommandPublic
from domain.commands import Giver, RecordReceivedGift, SubmitAttestation
from domain.values import GiftCategory, Name, QuarterLabel, ReceivedKind, Text

CountIn = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class GiverIn(Body):
    """Who gave it: a person and their employer (the client), as typed."""

    name: Name
    employer: Name


class ReceivedGiftCreate(Body):
    relationship_id: UUID
    account_manager_id: UUID | None = Field(
        default=None,
        description="Who received it (managers and admins; default: the relationship's account manager). "
        "An account manager records only what they received.",
    )
    kind: ReceivedKind
    giver: GiverIn
    description: Text
    received_on: Day
    category: GiftCategory = GiftCategory.GENERAL
    cost: MoneyText
    market_value: MoneyText | None = None
    face_value: MoneyText | None = Field(default=None, description="A ticket's printed price.")
    shared_by: Annotated[StrictInt, Field(ge=1, le=100)] = Field(
        default=1, description="How many people of the firm shared it (the value is per person)."
    )

    def command(self) -> RecordReceivedGift:
        return RecordReceivedGift.of(self)


class AttestationCreate(Body):
    quarter: QuarterLabel = Field(examples=["2026-Q1"])
    gifts_given: CountIn
    entertainment_given: CountIn
    gifts_received: CountIn
    entertainment_received: CountIn
    statement: Text

    def command(self) -> SubmitAttestation:
        return SubmitAttestation.of(self)


class ReceivedGiftCommandPublic(CommandPublic):
    """What recording a gift received stored, its value per person, and whether compliance reviews it."""

    value: str
    review: bool


class ReceivedGiftPublic(BaseModel):
    received_gift_id: UUID
    relationship_id: UUID
    account_manager_id: UUID
    kind: ReceivedKind
    giver: Giver
    description: str
    received_on: date
    category: str
    cost: str
    value: str
    shared_by: int
    review: bool
    recorded_at: str


class AttestationCommandPublic(CommandPublic):
    """What submitting an attestation stored, the day it was due, and whether it came late."""

    quarter: str
    due_on: date
    late: bool


class CountsPublic(BaseModel):
    gifts_given: int
    entertainment_given: int
    gifts_received: int
    entertainment_received: int


class AttestationPublic(BaseModel):
    """An account manager's attestation of a quarter, made or expected, beside what the ledger recorded then."""

    account_manager_id: UUID
    name: str
    quarter: str
    due_on: date
    required: bool
    status: str = Field(description="not_required, due, submitted, late (submitted after due_on) or overdue.")
    submitted_at: str | None
    attested: CountsPublic | None
    recorded: CountsPublic
    statement: str | None
