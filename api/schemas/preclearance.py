"""Request bodies and answers of the pre-clearance routes (`api/routes/preclearance.py`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from api.schemas.requests import Body, Day, GiftRecipientIn, MoneyText
from domain.commands import ApprovePreclearance, DenyPreclearance, RequestPreclearance, WithdrawPreclearance
from domain.values import GiftCategory, PreclearanceBand, PreclearanceStatus, Reason, Text


class PreclearanceCreate(Body):
    relationship_id: UUID
    recipient: GiftRecipientIn
    shared_with: Annotated[list[GiftRecipientIn], Field(max_length=99)] = Field(
        default_factory=list, description="Everyone else who would share the gift; each is held to their own limit."
    )
    description: Text
    purpose: Text
    planned_on: Day = Field(description="From yesterday to the end of an approval's validity (30 days by default).")
    category: GiftCategory
    cost: MoneyText
    market_value: MoneyText | None = None
    face_value: MoneyText | None = None
    representative_attended: StrictBool = False

    def command(self) -> RequestPreclearance:
        return RequestPreclearance.of(self)


class PreclearanceApproval(Body):
    reason: Reason | None = None

    def command(self) -> ApprovePreclearance:
        return ApprovePreclearance.of(self)


class PreclearanceDenial(Body):
    reason: Reason

    def command(self) -> DenyPreclearance:
        return DenyPreclearance.of(self)


class PreclearanceWithdrawal(Body):
    reason: Reason

    def command(self) -> WithdrawPreclearance:
        return WithdrawPreclearance.of(self)


class PreclearanceCommandPublic(BaseModel):
    """What a pre-clearance command stored, and where the request stands now."""

    id: UUID
    version: int
    position: int
    status: PreclearanceStatus
    band: PreclearanceBand
    counted_value: str = Field(description="What the gift would count for each person.")
    expires_on: date | None = Field(description="The last day an approval may be used (null unless approved).")
    recipient_ids: list[UUID]


class RecipientYearPublic(BaseModel):
    """A person's limit year on the planned day, as the firm's today counts it."""

    limit_year: str
    limit: str
    counted: str
    reserved: str
    headroom: str


class PreclearanceRecipientPublic(BaseModel):
    recipient_id: UUID
    name: str
    employer: str
    year: RecipientYearPublic | None = Field(description="Null while the register has not seen this person yet.")


class PreclearancePublic(BaseModel):
    """One pre-clearance request, with its status on the firm's today."""

    request_id: UUID
    relationship_id: UUID
    client_name: str | None
    account_manager_id: UUID
    requested_by: str
    requested_at: datetime
    planned_on: date
    category: GiftCategory
    description: str
    purpose: str
    cost: str
    counted_value: str
    band: PreclearanceBand
    status: PreclearanceStatus
    expires_on: date | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    gift_id: UUID | None
    version: int
    recipients: list[PreclearanceRecipientPublic]
