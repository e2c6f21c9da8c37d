"""Who may do what, and who may read what: the role table of DOMAIN.md, in one place.

The application service checks every command against it (`Action`); the API
checks every read (`Read`). An account manager acts and reads only within their
own book: the relationships assigned to them now, and their own record; of a
relationship they managed before, they read only their part (`RelationshipReach`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.errors import Forbidden
from domain.tenure import Tenure
from domain.values import Principal, Role


class Action(StrEnum):
    """What a principal may do (a command)."""

    MANAGE_ACCOUNT_MANAGERS = "register account managers, set quotas and plans, deactivate"
    OPEN_RELATIONSHIP = "open a relationship"
    ASSIGN = "assign or reassign a relationship"
    RECORD_ON_RELATIONSHIP = "record on a relationship"
    CHANGE_GIFT_POLICY = "change the gift-limit schedule or limit-year policy"
    DECIDE_CORRECTION = "approve or reject a correction request"
    DECIDE_PRECLEARANCE = "approve or deny a gift pre-clearance request"
    WORK_CASES = "open, assign, note, resolve or reopen a compliance case"
    ATTEST = "attest to a quarter's gifts and entertainment"


class Read(StrEnum):
    """What a principal may read (a query)."""

    RELATIONSHIP = "a relationship, its events and its correction requests"
    RELATIONSHIP_LIST = "the list of relationships"
    ACCOUNT_MANAGER = "an account manager's record, workload, pay and correction requests"
    COMPLIANCE_RECORDS = "the gift register, its exceptions and the audit trail"
    GIFT_HEADROOM = "a gift recipient's counted total, limit and headroom for a date (never the gifts themselves)"
    ADMINISTRATION = "the access log and the API tokens"
    PRECLEARANCE = "gift pre-clearance requests"
    RECEIVED_GIFTS = "gifts and entertainment received"
    ATTESTATIONS = "quarterly attestations"


@dataclass(frozen=True)
class Rule:
    """The roles allowed (in the order a refusal names them), and what each refusal says."""

    roles: tuple[Role, ...]
    refused: str
    """Said to any other role; `{role}` is the principal's."""
    not_theirs: str
    """Said to an account manager outside their own book."""


def _doing(action: Action, *roles: Role) -> Rule:
    return Rule(
        roles,
        f"The {{role}} role may not {action.value}.",
        f"An account manager may {action.value} only for relationships assigned to them.",
    )


def _reading(not_theirs: str, *roles: Role) -> Rule:
    names = ", ".join(role.value for role in roles)
    return Rule(roles, f"The {{role}} role may not read this; it is for {names}.", not_theirs)


_EVERYONE = tuple(Role)
_THEIR_RECORD = "An account manager may read only their own workload, pay and record."

RULES: dict[Action | Read, Rule] = {
    Action.MANAGE_ACCOUNT_MANAGERS: _doing(Action.MANAGE_ACCOUNT_MANAGERS, Role.MANAGER, Role.ADMIN),
    Action.OPEN_RELATIONSHIP: _doing(Action.OPEN_RELATIONSHIP, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN),
    Action.ASSIGN: _doing(Action.ASSIGN, Role.MANAGER, Role.ADMIN),
    Action.RECORD_ON_RELATIONSHIP: _doing(
        Action.RECORD_ON_RELATIONSHIP, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN
    ),
    Action.CHANGE_GIFT_POLICY: _doing(Action.CHANGE_GIFT_POLICY, Role.COMPLIANCE, Role.ADMIN),
    Action.DECIDE_CORRECTION: _doing(Action.DECIDE_CORRECTION, Role.MANAGER, Role.ADMIN),
    Action.DECIDE_PRECLEARANCE: _doing(Action.DECIDE_PRECLEARANCE, Role.COMPLIANCE, Role.ADMIN),
    Action.WORK_CASES: _doing(Action.WORK_CASES, Role.COMPLIANCE, Role.ADMIN),
    Action.ATTEST: Rule(
        (Role.ACCOUNT_MANAGER, Role.ADMIN),
        f"The {{role}} role may not {Action.ATTEST.value}.",
        f"An account manager may {Action.ATTEST.value} only for themself.",
    ),
    Read.RELATIONSHIP: _reading(
        "An account manager may read only relationships assigned to them now, or their part of one they managed "
        "before.",
        *_EVERYONE,
    ),
    Read.RELATIONSHIP_LIST: _reading("An account manager may list only relationships assigned to them.", *_EVERYONE),
    Read.ACCOUNT_MANAGER: _reading(_THEIR_RECORD, *_EVERYONE),
    Read.COMPLIANCE_RECORDS: _reading(_THEIR_RECORD, Role.COMPLIANCE, Role.AUDITOR, Role.ADMIN),
    Read.ADMINISTRATION: _reading(_THEIR_RECORD, Role.ADMIN),
    # Everyone: an account manager needs it before giving; it shows totals only, never another manager's gifts.
    Read.GIFT_HEADROOM: _reading(_THEIR_RECORD, *_EVERYONE),
    Read.PRECLEARANCE: _reading("An account manager may read only their own pre-clearance requests.", *_EVERYONE),
    Read.RECEIVED_GIFTS: _reading("An account manager may read only the gifts they received.", *_EVERYONE),
    Read.ATTESTATIONS: _reading("An account manager may read only their own attestations.", *_EVERYONE),
}
"""The role table: every command and every read, with who may."""


def check_allowed(principal: Principal, action: Action | Read, *, account_manager_id: UUID | str | None = None) -> None:
    """Refuses `action` unless the principal's role allows it.

    For an account manager, `account_manager_id` is the manager the action is
    for (the relationship's current manager, the manager it is opened for, or
    whose record is read): they may act and read only for themself.
    """
    rule = RULES[action]
    if principal.role not in rule.roles:
        raise Forbidden(rule.refused.format(role=principal.role.value))
    if principal.role is Role.ACCOUNT_MANAGER:
        if principal.account_manager_id is None:
            msg = "This account_manager principal is not linked to an account manager."
            raise Forbidden(msg)
        if str(account_manager_id) != str(principal.account_manager_id):
            raise Forbidden(rule.not_theirs)


@dataclass(frozen=True)
class RelationshipReach:
    """How much of one relationship a principal may read: all of it, or, for its former manager, their part."""

    former: Tenure | None = None
    """The former manager's tenure; None when the whole relationship may be read."""

    @property
    def handed_over(self) -> int | None:
        """The version a former manager reads when they ask for the relationship now: as they handed it over."""
        return self.former.handed_over if self.former else None

    def may_read_event(self, version: int) -> bool:
        """Whether the event at `version` (or the correction request it made) may be read."""
        return self.former is None or self.former.may_read_event(version)

    def check_request(self, requested_version: int) -> None:
        """Refuses a former manager a correction request made after their stints about a contract not theirs."""
        if not self.may_read_event(requested_version):
            msg = (
                "This correction request was made after you handed the relationship over, about a contract not "
                "credited to you."
            )
            raise Forbidden(msg)

    def check_state(self, version: int) -> None:
        """Refuses a former manager the relationship's state at a version outside their stints."""
        if self.former is None or self.former.assigned_at(version):
            return
        msg = (
            f"As a former manager of this relationship you may read its state only while you managed it: "
            f"{self.former.stints_in_words()}. Version {self.former.handed_over} is the state you handed over; "
            "after that, only the events about contracts credited to you."
        )
        raise Forbidden(msg)


WHOLE = RelationshipReach()
"""The whole relationship: its state at any version, every event and every correction request."""


def relationship_reach(
    principal: Principal, account_manager_id: UUID, tenure: Callable[[UUID], Tenure]
) -> RelationshipReach:
    """What the principal may read of a relationship managed now by `account_manager_id`.

    The role table decides first, at no cost; only an account manager it refuses has `tenure` (their stints on the
    relationship, read from its history) asked for: one who managed it before reads their part, anyone else none.
    """
    try:
        check_allowed(principal, Read.RELATIONSHIP, account_manager_id=account_manager_id)
    except Forbidden:
        if principal.role is not Role.ACCOUNT_MANAGER or principal.account_manager_id is None:
            raise
        former = tenure(principal.account_manager_id)
        if not former.managed or former.manages_now:
            raise
        return RelationshipReach(former)
    return WHOLE


def own_book(principal: Principal, read: Read, *, asked: UUID | None = None) -> UUID | None:
    """The account manager a list is narrowed to: for an account manager their own (asking for another's is
    refused), for the other roles the one `asked` for (None: everyone's)."""
    own = principal.account_manager_id if principal.role is Role.ACCOUNT_MANAGER else None
    check_allowed(principal, read, account_manager_id=asked or own)
    return own or asked


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
