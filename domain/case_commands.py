"""Compliance cases about exceptions: open, assign, note, resolve, reopen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast
from uuid import UUID

from domain.application_base import CommandResult
from domain.command_base import CommandBase
from domain.commands import AssignCase, NoteCase, OpenCase, ReopenCase, ResolveCase
from domain.compliance_case import ComplianceCase
from domain.errors import NotFound
from domain.permissions import Action, check_allowed
from domain.values import Audit


@dataclass(frozen=True)
class CaseResult(CommandResult):
    created: bool
    """False when the case was open already (or resolved): opening it again stored nothing."""


class CaseCommands(CommandBase):
    """The compliance case commands: open, assign, note, resolve, reopen."""

    def compliance_case(self, case_id: UUID) -> ComplianceCase:
        """The case `case_id` as stored now."""
        return self._load(ComplianceCase, case_id)

    def open_case(self, audit: Audit, command: OpenCase) -> CaseResult:
        """Opens the case about an exception; if it exists already (however it stands), answers it unchanged."""
        check_allowed(audit.principal, Action.WORK_CASES)
        case_id = ComplianceCase.id_for(command.kind, command.key)

        def attempt() -> CaseResult:
            try:
                case = self._load(ComplianceCase, case_id)
            except NotFound:
                result = self._stored(audit, ComplianceCase.open(audit, command))
                return CaseResult(**vars(result), created=True)
            position = self._position_of(case)
            return CaseResult(id=case.id, version=case.version, position=position, created=False)

        return self._retrying(attempt)

    def assign_case(
        self, audit: Audit, case_id: UUID, command: AssignCase, *, expected_version: int | None = None
    ) -> CommandResult:
        """Gives an open case to a compliance officer or an admin."""
        return self._on_case(audit, case_id, expected_version, lambda case: case.assign(audit, command))

    def note_case(
        self, audit: Audit, case_id: UUID, command: NoteCase, *, expected_version: int | None = None
    ) -> CommandResult:
        """Adds a note to a case, open or resolved."""
        return self._on_case(audit, case_id, expected_version, lambda case: case.note(audit, command))

    def resolve_case(
        self, audit: Audit, case_id: UUID, command: ResolveCase, *, expected_version: int | None = None
    ) -> CommandResult:
        """Resolves an open case with its outcome."""
        return self._on_case(audit, case_id, expected_version, lambda case: case.resolve(audit, command))

    def reopen_case(
        self, audit: Audit, case_id: UUID, command: ReopenCase, *, expected_version: int | None = None
    ) -> CommandResult:
        """Reopens a resolved case."""
        return self._on_case(audit, case_id, expected_version, lambda case: case.reopen(audit, command))

    def _on_case(
        self,
        audit: Audit,
        case_id: UUID,
        expected_version: int | None,
        change: Callable[[ComplianceCase], None],
    ) -> CommandResult:
        check_allowed(audit.principal, Action.WORK_CASES)

        def attempt() -> CommandResult:
            case = self._load(ComplianceCase, case_id, expected_version)
            change(case)
            return self._stored(audit, case)

        return self._retrying(attempt)

    def _position_of(self, case: ComplianceCase) -> int:
        """The global position of the case's latest event (what a reader waits for to see it)."""
        recorder = cast("_PositionedRecorder", self.recorder)
        return recorder.select_positions(case.id)[case.version]


class _PositionedRecorder(Protocol):
    """The ledger's recorders (both stores) know where each event of an aggregate stands in the global log."""

    def select_positions(self, originator_id: UUID) -> dict[int, int]: ...
