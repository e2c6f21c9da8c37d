"""The examiner's report drawn from the live views: the pre-clearance and case readers as its lookups, and a seal
that covers the position it was drawn from (made now if the last one falls short)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo

from infrastructure.sql import ViewStore
from infrastructure.verification import Integrity
from projections.cases import CasesReader
from projections.examiner_report import ExaminerReport, ExaminerReportReader, seal_covering
from projections.preclearance import PreclearanceReader, RequestRow


def draw_report(
    view: ViewStore,
    integrity: Integrity,
    *,
    key_path: str,
    year: int,
    today: date,
    zone: tzinfo,
    position: int,
) -> ExaminerReport:
    """The report of the limit year `year` from the views at `position` (requests' statuses on `today`, cases
    opened in the year in `zone`), sealed up to there first if the last seal falls short of it."""
    requests = PreclearanceReader(view)

    def approvals(request_ids: Iterable[str], /) -> dict[str, RequestRow]:
        return requests.by_ids(request_ids, today)

    return ExaminerReportReader(view).report(
        year,
        today,
        approvals=approvals,
        cases=CasesReader(view),
        seal=seal_covering(integrity, position, key_path),
        position=position,
        zone=zone,
    )
