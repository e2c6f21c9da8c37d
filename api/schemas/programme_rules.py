"""The request body that schedules the programme's rules (`POST /compliance/gift-policy/programme`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, ValidationError

from api.schemas.requests import Body, Day, MoneyText
from domain.commands import ScheduleProgrammeRules
from domain.model import validation_failure
from domain.values import Text


class ProgrammeRulesCreate(Body):
    """The rules from `effective_from` on; a rule left out keeps the value in force that day."""

    effective_from: Day
    reason: Text | None = Field(default=None, description="Why; required when `effective_from` is before today.")
    preclearance_required: StrictBool | None = None
    auto_approve_up_to: MoneyText | None = None
    approval_valid_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    entertainment_cap_per_event: MoneyText | None = Field(default=None, description="Per attendee; null: no cap.")
    entertainment_cap_per_year: MoneyText | None = Field(default=None, description="Per attendee; null: no cap.")
    received_review_threshold: MoneyText | None = None
    attestations_required: StrictBool | None = None
    attestation_due_days: Annotated[StrictInt, Field(ge=0, le=90)] | None = None

    def command(self) -> ScheduleProgrammeRules:
        """The command with the fields given (a field left out is left out of the command too)."""
        try:
            return ScheduleProgrammeRules(**self.model_dump(exclude_unset=True))
        except ValidationError as error:
            raise validation_failure(error) from None
