"""The examiner's report of a limit year, as CSV or PDF, tied to the seal of the log it was drawn from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ReaderOfEverythingDep, ViewsDep
from api.problems import problems
from domain.values import EARLIEST, LATEST
from projections.examiner_report import ExaminerReport
from projections.examiner_report_live import draw_report
from projections.examiner_report_render import to_csv, to_pdf

router = APIRouter(prefix="/compliance", tags=["examiner report"])

ReportFormat = Literal["csv", "pdf"]
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
_REPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/pdf": {"schema": {"type": "string"}}},
        "description": "The report, as an attachment; `X-Projection-Position` is the log position it was drawn "
        "from, `X-Seal-Position` the seal that covers it (absent when sealing was refused: run `ledger verify`).",
    }
}


def rendered(report: ExaminerReport, report_format: ReportFormat) -> bytes:
    """The report's bytes in `report_format`."""
    return to_pdf(report) if report_format == "pdf" else to_csv(report).encode()


@router.get(
    "/examiner-report",
    response_class=Response,
    responses={**problems("forbidden", "projection_lagging", "validation_error"), **_REPORT_CONTENT},
)
def get_examiner_report(
    principal: ReaderOfEverythingDep,
    views: ViewsDep,
    response: Response,
    year: Annotated[
        int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="The limit year (default: this year).")
    ] = None,
    report_format: Annotated[ReportFormat, Query(alias="format", description="`csv` or `pdf`.")] = "csv",
) -> Response:
    """The limit year's gifts per recipient and per account manager, with approvals, cases and totals, for an
    examiner (compliance, auditors, admins), sealed at or after the position it was drawn from."""
    position = int(response.headers["X-Projection-Position"])
    ledger = views.ledger
    today = ledger.today()
    report = draw_report(
        views.view,
        views.integrity,
        key_path=views.settings.signing_key_path,
        year=year or today.year,
        today=today,
        zone=ledger.firm_timezone,
        position=position,
    )
    headers = {
        "Content-Disposition": f'attachment; filename="examiner-report-{report.year}.{report_format}"',
        "X-Projection-Position": str(position),
        "Cache-Control": "no-store",
    }
    if report.seal is not None:
        headers["X-Seal-Position"] = str(report.seal.position)
    return Response(rendered(report, report_format), media_type=MEDIA_TYPES[report_format], headers=headers)
