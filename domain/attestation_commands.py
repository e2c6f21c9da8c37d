"""Quarterly attestations by account managers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.account_manager import AccountManager
from domain.application_base import CommandResult
from domain.attestation import Attestation, attestation_id
from domain.command_base import CommandBase
from domain.commands import SubmitAttestation
from domain.errors import NotFound, RuleViolation
from domain.permissions import Action, check_allowed
from domain.quarters import Quarter, late
from domain.values import Audit


@dataclass(frozen=True)
class AttestationResult(CommandResult):
    quarter: str
    due_on: date
    late: bool
    """Required and submitted after `due_on` in the firm's time zone (an attestation not required is never late)."""


class AttestationCommands(CommandBase):
    """The quarterly attestation commands."""

    def submit_attestation(
        self, audit: Audit, account_manager_id: UUID, command: SubmitAttestation
    ) -> AttestationResult:
        """Records an active account manager's attestation of a quarter that has ended in the firm's time zone,
        once: a second attestation of the same quarter is refused, naming when the first was submitted."""
        check_allowed(audit.principal, Action.ATTEST, account_manager_id=account_manager_id)
        self._check_acting_manager_active(audit)
        quarter = Quarter.parse(command.quarter)

        def attempt() -> AttestationResult:
            manager = self._load(AccountManager, account_manager_id)
            manager.check_active()
            today = self.today()
            if today <= quarter.end:
                msg = (
                    f"{quarter.label} has not ended yet in the firm's time zone (it ends on {quarter.end}; today is "
                    f"{today}): a quarter is attested once it is over."
                )
                raise RuleViolation(msg)
            self._check_not_attested(account_manager_id, quarter)
            rules = self.gift_policy().programme_on(quarter.end)
            due_on = quarter.due_on(rules.attestation_due_days)
            attestation = Attestation.submit(
                audit,
                command,
                account_manager_id=account_manager_id,
                quarter=quarter,
                due_on=due_on,
                required=rules.attestations_required,
            )
            result = self._stored(audit, attestation)
            return AttestationResult(
                **vars(result),
                quarter=quarter.label,
                due_on=due_on,
                late=rules.attestations_required
                and late(attestation.submitted_at, due_on, self.firm_timezone, attestation.submitted_at),
            )

        return self._retrying(attempt)

    def _check_not_attested(self, account_manager_id: UUID, quarter: Quarter) -> None:
        try:
            earlier = self._load(Attestation, attestation_id(account_manager_id, quarter.label))
        except NotFound:
            return
        msg = (
            f"Account manager {account_manager_id} already attested to {quarter.label} "
            f"(submitted at {earlier.submitted_at.isoformat()}): a quarter is attested once."
        )
        raise RuleViolation(msg)
