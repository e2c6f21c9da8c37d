"""One shape for every exception compliance sees, whatever view finds it, and what a source is given to find them.

Each view that finds exceptions has an `exception_rows(view, context)` source
(listed in `projections.exception_sources.SOURCES`); the exceptions list and the
cases read them all the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from uuid import UUID

from domain.compliance_policy import CompliancePolicy
from domain.exception_kinds import ExceptionKind, case_id_for
from domain.gift_rule import LimitYear
from infrastructure.sql import ViewStore
from projections.gift_register_rows import RegisteredGift


@dataclass(frozen=True)
class ExceptionRow:
    """An exception of any kind: what it concerns, the figure and the threshold it passed, and its stable `key`."""

    kind: ExceptionKind
    key: str
    """Names the exception within its kind, the same on every reading (`domain.exception_kinds`)."""
    occurred_on: date
    summary: str
    amount: Decimal | None = None
    threshold: Decimal | None = None
    recipient_id: str | None = None
    name: str | None = None
    employer: str | None = None
    account_manager_id: str | None = None
    relationship_id: str | None = None
    gift: RegisteredGift | None = None
    related_ids: tuple[str, ...] = ()
    request_id: str | None = None
    received_gift_id: str | None = None
    quarter: str | None = None

    @property
    def case_id(self) -> UUID:
        """The id of the one case about this exception (whether or not it was opened)."""
        return case_id_for(self.kind, self.key)


@dataclass(frozen=True)
class ExceptionContext:
    """What a source needs to find a limit year's exceptions: the year and its window, the firm's date and time,
    its time zone, and the policy (limit schedule, limit year, programme rules)."""

    year: int
    window: LimitYear
    today: date
    now: datetime
    zone: tzinfo
    policy: CompliancePolicy


ExceptionSource = Callable[[ViewStore, ExceptionContext], list[ExceptionRow]]
"""A view's exceptions of a limit year."""
