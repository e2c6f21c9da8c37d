"""The ComplianceCase aggregate: compliance's handling of one exception, every step an event on the audit trail.

A case is about one exception, named by its kind and key; its id is
`case_id_for(kind, key)`, so the same exception always names the same case.
It is opened, assigned, noted, resolved with an outcome and reopened: assign and
resolve only while it is open, reopen only once it is resolved, notes at any time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel

from domain.commands import AssignCase, CaseSubject, NoteCase, OpenCase, ReopenCase, ResolveCase
from domain.errors import RuleViolation
from domain.exception_kinds import ExceptionKind, case_id_for
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import ActorName, Audit, CaseKey, CaseOutcome, CaseStatus, Reason, Text

__all__ = [
    "CaseAssigned",
    "CaseNoted",
    "CaseOpened",
    "CaseReopened",
    "CaseResolved",
    "ComplianceCase",
]


class CaseOpened(LedgerCreated):
    TOPIC = "ledger:ComplianceCase.CaseOpened"
    kind: ExceptionKind
    key: CaseKey
    subject: CaseSubject
    note: Text | None = None

    def apply(self, aggregate: ComplianceCase) -> None:
        aggregate.kind = self.kind
        aggregate.key = self.key
        aggregate.subject = self.subject
        aggregate.status = CaseStatus.OPEN
        aggregate.assignee = None
        aggregate.outcome = None
        aggregate.notes = 1 if self.note else 0


class CaseAssigned(LedgerEvent):
    TOPIC = "ledger:ComplianceCase.CaseAssigned"
    assignee: ActorName
    previous: str | None = None
    reason: Reason | None = None

    def apply(self, aggregate: ComplianceCase) -> None:
        aggregate.assignee = self.assignee


class CaseNoted(LedgerEvent):
    TOPIC = "ledger:ComplianceCase.CaseNoted"
    note: Text

    def apply(self, aggregate: ComplianceCase) -> None:
        aggregate.notes += 1


class CaseResolved(LedgerEvent):
    TOPIC = "ledger:ComplianceCase.CaseResolved"
    outcome: CaseOutcome
    reason: Reason

    def apply(self, aggregate: ComplianceCase) -> None:
        aggregate.status = CaseStatus.RESOLVED
        aggregate.outcome = self.outcome


class CaseReopened(LedgerEvent):
    TOPIC = "ledger:ComplianceCase.CaseReopened"
    reason: Reason

    def apply(self, aggregate: ComplianceCase) -> None:
        aggregate.status = CaseStatus.OPEN
        aggregate.outcome = None


class ComplianceCase(LedgerAggregate):
    """Compliance's handling of one exception: open or resolved, who has it, the outcome, how many notes."""

    TOPIC = "ledger:ComplianceCase"

    class State(BaseModel):
        kind: ExceptionKind
        key: str
        subject: CaseSubject
        status: CaseStatus
        assignee: str | None
        outcome: CaseOutcome | None
        notes: int

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        kind: ExceptionKind
        key: str
        subject: CaseSubject
        status: CaseStatus
        assignee: str | None
        outcome: CaseOutcome | None
        notes: int

    @staticmethod
    def id_for(kind: ExceptionKind, key: str) -> UUID:
        """The id of the one case about the exception of `kind` named `key`."""
        return case_id_for(kind, key)

    @classmethod
    def open(cls, audit: Audit, command: OpenCase) -> ComplianceCase:
        """Opens the case about the exception the command names."""
        return cls._start(
            CaseOpened,
            audit,
            id=cls.id_for(command.kind, command.key),
            kind=command.kind,
            key=command.key,
            subject=command.subject,
            note=command.note,
        )

    def assign(self, audit: Audit, command: AssignCase) -> None:
        """Gives the open case to `assignee`, naming who had it before."""
        self._check_open("assigned")
        self._record(CaseAssigned, audit, assignee=command.assignee, previous=self.assignee, reason=command.reason)

    def note(self, audit: Audit, command: NoteCase) -> None:
        """Adds a note, open or resolved."""
        self._record(CaseNoted, audit, note=command.note)

    def resolve(self, audit: Audit, command: ResolveCase) -> None:
        """Resolves the open case with its outcome and why."""
        self._check_open("resolved")
        self._record(CaseResolved, audit, outcome=command.outcome, reason=command.reason)

    def reopen(self, audit: Audit, command: ReopenCase) -> None:
        """Reopens the resolved case."""
        if self.status is not CaseStatus.RESOLVED:
            msg = f"Case {self.id} is open: only a resolved case can be reopened."
            raise RuleViolation(msg)
        self._record(CaseReopened, audit, reason=command.reason)

    def _check_open(self, doing: str) -> None:
        if self.status is not CaseStatus.OPEN:
            msg = f"Case {self.id} is resolved ({self.outcome}): reopen it before it is {doing}."
            raise RuleViolation(msg)
