"""Who may do what: the role table of DOMAIN.md, checked by the application service for every command."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from domain.errors import Forbidden
from domain.values import Principal, Role


class Action(StrEnum):
    MANAGE_ACCOUNT_MANAGERS = "register account managers, set quotas and plans, deactivate"
    OPEN_RELATIONSHIP = "open a relationship"
    ASSIGN = "assign or reassign a relationship"
    RECORD_ON_RELATIONSHIP = "record on a relationship"
    CHANGE_GIFT_POLICY = "change the gift-limit schedule or limit-year policy"
    DECIDE_CORRECTION = "approve or reject a correction request"


_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.MANAGE_ACCOUNT_MANAGERS: frozenset({Role.MANAGER, Role.ADMIN}),
    Action.OPEN_RELATIONSHIP: frozenset({Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN}),
    Action.ASSIGN: frozenset({Role.MANAGER, Role.ADMIN}),
    Action.RECORD_ON_RELATIONSHIP: frozenset({Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN}),
    Action.CHANGE_GIFT_POLICY: frozenset({Role.COMPLIANCE, Role.ADMIN}),
    Action.DECIDE_CORRECTION: frozenset({Role.MANAGER, Role.ADMIN}),
}


def check_allowed(principal: Principal, action: Action, *, account_manager_id: UUID | None = None) -> None:
    """Refuses `action` unless the principal's role allows it.

    For an account manager, `account_manager_id` is the manager the action is
    for (the relationship's current manager, or the manager it is opened for):
    they may act only for themself.
    """
    if principal.role not in _ALLOWED[action]:
        msg = f"The {principal.role} role may not {action.value}."
        raise Forbidden(msg)
    if principal.role is Role.ACCOUNT_MANAGER:
        if principal.account_manager_id is None:
            msg = "This account_manager principal is not linked to an account manager."
            raise Forbidden(msg)
        if account_manager_id != principal.account_manager_id:
            msg = f"An account manager may {action.value} only for relationships assigned to them."
            raise Forbidden(msg)


def check_may_correct_signing(principal: Principal, credited_account_manager_id: UUID) -> None:
    """Refuses an account manager any correction, even a request, of a signing credited to another manager."""
    if principal.role is Role.ACCOUNT_MANAGER and principal.account_manager_id != credited_account_manager_id:
        msg = (
            "This signing is credited to another account manager: only a manager or an admin may correct it, "
            "and an account manager may not even ask to."
        )
        raise Forbidden(msg)


def needs_approval(principal: Principal, *, moves_pay: bool) -> bool:
    """Whether a correction is only a request until a manager approves it: an account manager's that moves pay."""
    return moves_pay and principal.role is Role.ACCOUNT_MANAGER
