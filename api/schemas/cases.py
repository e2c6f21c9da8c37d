"""Request bodies of the compliance cases (`/compliance/cases`), each building its domain command."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from api.schemas.requests import Body
from domain.commands import AssignCase, CaseSubject, NoteCase, OpenCase, ReopenCase, ResolveCase
from domain.exception_kinds import ExceptionKind
from domain.values import EARLIEST, LATEST, ActorName, CaseKey, CaseOutcome, Reason, Text


class CaseCreate(Body):
    kind: ExceptionKind
    key: CaseKey = Field(description="The exception's `key`, as `GET /compliance/exceptions` gives it.")
    note: Text | None = None
    year: Annotated[StrictInt, Field(ge=EARLIEST.year, le=LATEST.year)] | None = Field(
        default=None,
        description="The limit year the exception is listed in (default: this year, then the year before).",
    )

    def command(self, subject: CaseSubject) -> OpenCase:
        """The command opening the case about the exception found, with what compliance saw of it."""
        return OpenCase(kind=self.kind, key=self.key, note=self.note, subject=subject)


class CaseAssignmentSet(Body):
    assignee: ActorName = Field(description="The name of an unrevoked compliance or admin token.")
    reason: Reason | None = None

    def command(self) -> AssignCase:
        return AssignCase.of(self)


class CaseNoteCreate(Body):
    note: Text

    def command(self) -> NoteCase:
        return NoteCase.of(self)


class CaseResolutionCreate(Body):
    outcome: CaseOutcome
    reason: Reason

    def command(self) -> ResolveCase:
        return ResolveCase.of(self)


class CaseReopeningCreate(Body):
    reason: Reason

    def command(self) -> ReopenCase:
        return ReopenCase.of(self)
