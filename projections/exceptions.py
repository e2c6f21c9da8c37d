"""One list of every exception compliance sees, of every kind, each with the case about it if one was opened."""

from __future__ import annotations

from collections.abc import Sequence

from domain.exception_kinds import ExceptionKind
from infrastructure.sql import ViewStore
from projections.cases import CaseRow, CasesReader
from projections.exception_rows import ExceptionContext, ExceptionRow, ExceptionSource
from projections.exception_sources import SOURCES

NO_CASE = "none"
"""The `case_status` that asks for the exceptions no case was opened about."""


class ExceptionsReader:
    """Every source's exceptions of a limit year, joined to their cases."""

    def __init__(self, view: ViewStore, sources: Sequence[ExceptionSource] = SOURCES) -> None:
        self.view = view
        self.sources = tuple(sources)

    def rows(
        self, context: ExceptionContext, kind: ExceptionKind | None = None, case_status: str | None = None
    ) -> list[tuple[ExceptionRow, CaseRow | None]]:
        """The exceptions of `context`'s year (of `kind`, if given), each with its case or None, by `occurred_on`,
        kind and key; `case_status` keeps those whose case is `open` or `resolved`, or (`none`) has none."""
        found = [row for source in self.sources for row in source(self.view, context)]
        if kind is not None:
            found = [row for row in found if row.kind is kind]
        found.sort(key=lambda row: (row.occurred_on, row.kind.value, row.key))
        cases = CasesReader(self.view).by_ids(str(row.case_id) for row in found)
        joined = [(row, cases.get(str(row.case_id))) for row in found]
        if case_status is None:
            return joined
        return [(row, case) for row, case in joined if (case.status if case else NO_CASE) == case_status]

    def find(self, context: ExceptionContext, kind: ExceptionKind, key: str) -> ExceptionRow | None:
        """The exception of `kind` named `key` in `context`'s year, if there is one now."""
        return next((row for row, _ in self.rows(context, kind) if row.key == key), None)
