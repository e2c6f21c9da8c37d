"""The Attestation aggregate: an account manager's statement that a quarter's gifts and entertainment are recorded.

One aggregate per account manager and quarter, its id derived from both, so a
second attestation of the same quarter (even a racing one) finds the first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from domain.commands import SubmitAttestation
from domain.model import LedgerAggregate, LedgerCreated
from domain.quarters import Quarter
from domain.values import Audit, Count, QuarterLabel, Text

ATTESTATION_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:attestation")


def attestation_id(account_manager_id: UUID, quarter: str) -> UUID:
    """The id of `account_manager_id`'s attestation of `quarter` (`YYYY-Qn`)."""
    return uuid5(ATTESTATION_NAMESPACE, f"{account_manager_id}\x1f{quarter}")


class AttestationSubmitted(LedgerCreated):
    """An account manager attested that every gift and entertainment of the quarter, given and received, is
    recorded, to the counts they give; submitted at `recorded_at`."""

    TOPIC = "ledger:Attestation.AttestationSubmitted"
    account_manager_id: UUID
    quarter: QuarterLabel
    quarter_start: date
    quarter_end: date
    due_on: date
    required: bool
    gifts_given: Count
    entertainment_given: Count
    gifts_received: Count
    entertainment_received: Count
    statement: Text

    def apply(self, aggregate: Attestation) -> None:
        aggregate.account_manager_id = self.account_manager_id
        aggregate.quarter = self.quarter
        aggregate.due_on = self.due_on
        aggregate.submitted_at = self.recorded_at


class Attestation(LedgerAggregate):
    """One account manager's attestation of one quarter."""

    TOPIC = "ledger:Attestation"

    class State(BaseModel):
        account_manager_id: UUID
        quarter: str
        due_on: date
        submitted_at: datetime

    if TYPE_CHECKING:
        account_manager_id: UUID
        quarter: str
        due_on: date
        submitted_at: datetime

    @classmethod
    def submit(
        cls,
        audit: Audit,
        command: SubmitAttestation,
        *,
        account_manager_id: UUID,
        quarter: Quarter,
        due_on: date,
        required: bool,
    ) -> Attestation:
        """The attestation of `quarter` (ended, checked by the caller) by `account_manager_id`."""
        return cls._start(
            AttestationSubmitted,
            audit,
            id=attestation_id(account_manager_id, quarter.label),
            account_manager_id=account_manager_id,
            quarter=quarter.label,
            quarter_start=quarter.start,
            quarter_end=quarter.end,
            due_on=due_on,
            required=required,
            gifts_given=command.gifts_given,
            entertainment_given=command.entertainment_given,
            gifts_received=command.gifts_received,
            entertainment_received=command.entertainment_received,
            statement=command.statement,
        )
