"""What every group of the ledger's commands shares: who may act, and running a command on the gift policy.

The commands are grouped in mixins (`domain/gift_commands.py`, …), each a
`CommandBase`; `domain.application.Ledger` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.account_manager import AccountManager
from domain.application_base import CommandResult, checked_version
from domain.compliance_policy import CompliancePolicy
from domain.errors import Forbidden, NotFound
from domain.ledger_queries import LedgerQueries
from domain.permissions import Action, check_allowed
from domain.values import Audit, Role


class CommandBase(LedgerQueries):
    """The checks and runners the ledger's command mixins share."""

    def _on_policy(
        self, audit: Audit, expected_version: int | None, command: Callable[[CompliancePolicy], Any]
    ) -> CommandResult:
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)

        def attempt() -> CommandResult:
            policy = checked_version(self.gift_policy(), expected_version)
            command(policy)
            return self._stored(audit, policy)

        return self._retrying(attempt)

    def _check_may(self, audit: Audit, action: Action, account_manager_id: UUID) -> None:
        """The role table's check for an action on an account manager's book, and that an account manager acting
        is still active."""
        check_allowed(audit.principal, action, account_manager_id=account_manager_id)
        self._check_acting_manager_active(audit)

    def _check_acting_manager_active(self, audit: Audit) -> None:
        """Refuses a command by an account manager's principal once that account manager is deactivated (even
        if their token was still accepted a moment ago)."""
        manager_id = audit.principal.account_manager_id
        if audit.principal.role is not Role.ACCOUNT_MANAGER or manager_id is None:
            return
        try:
            active = self._load(AccountManager, manager_id).active
        except NotFound:
            active = False
        if not active:
            msg = f"Account manager {manager_id} is deactivated (or unknown): their principal can do nothing."
            raise Forbidden(msg)
