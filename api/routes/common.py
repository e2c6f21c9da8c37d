"""What the routers share: command responses with their ETag, and who may see which relationship."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from fastapi import Response

from api.problems import Problem
from domain.application import CommandResult
from domain.values import Principal, Role


def command_done(response: Response, result: CommandResult) -> None:
    """Sets the command's `ETag` (the aggregate's new version)."""
    response.headers["ETag"] = f'"{result.version}"'


def money(amount: Decimal | None) -> str:
    return f"{(amount or Decimal(0)):.2f}"


def check_own_manager(principal: Principal, account_manager_id: UUID | str) -> None:
    """An account manager reads only their own workload, pay and record (403 otherwise)."""
    if principal.role is Role.ACCOUNT_MANAGER and str(principal.account_manager_id) != str(account_manager_id):
        raise Problem("forbidden", "An account manager may read only their own workload, pay and record.")


def check_sees_relationship(principal: Principal, current_account_manager_id: UUID | str) -> None:
    """An account manager reads only relationships currently assigned to them (403 otherwise)."""
    if principal.role is Role.ACCOUNT_MANAGER and str(principal.account_manager_id) != str(current_account_manager_id):
        raise Problem("forbidden", "An account manager may read only relationships currently assigned to them.")
