"""The examiner's report as CSV (one row per gift per section, then the totals) and as PDF (reportlab)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus.flowables import Flowable

from projections.examiner_report import CaseMark, ExaminerReport, ReportedGift

COLUMNS = (
    "section",
    "recipient_id",
    "recipient",
    "employer",
    "account_manager_id",
    "account_manager",
    "relationship_id",
    "relationship",
    "gift_id",
    "given_on",
    "category",
    "description",
    "cost",
    "market_value",
    "face_value",
    "head_count",
    "counted_value",
    "limit",
    "limit_year",
    "preclearance_id",
    "preclearance_band",
    "preclearance_status",
    "approved_by",
    "approved_at",
    "case_ids",
    "case_kinds",
    "case_statuses",
    "case_outcomes",
    "total",
    "status",
    "report_position",
    "seal_position",
    "seal_root",
)
"""The CSV's header. `section` is `by_recipient`, `by_account_manager`, `case_opened`, `recipient_total`,
`account_manager_total` or `grand_total`; the last three columns are the same on every row."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(report: ExaminerReport) -> str:
    """The report as CSV: every gift once per recipient and once per account manager, the cases opened in the
    year, each recipient's and manager's total, and the grand total; free text that a spreadsheet would read as a
    formula is prefixed with `'`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    tail = _tail(report)
    for section in report.recipients:
        for reported in section.gifts:
            writer.writerow(_gift_row("by_recipient", reported) + tail)
        writer.writerow(
            _row(
                "recipient_total",
                recipient_id=section.recipient_id,
                recipient=_text(section.name),
                employer=_text(section.employer),
                limit=_money(section.limit),
                limit_year=section.limit_year,
                total=_money(section.counted_total),
                status=section.status,
            )
            + tail
        )
    for manager in report.managers:
        for reported in manager.gifts:
            writer.writerow(_gift_row("by_account_manager", reported) + tail)
        writer.writerow(
            _row(
                "account_manager_total",
                account_manager_id=manager.account_manager_id or "",
                account_manager=_text(manager.name or ""),
                total=_money(manager.counted_total),
            )
            + tail
        )
    for case in report.cases_opened:
        writer.writerow(
            _row(
                "case_opened",
                case_ids=case.case_id,
                case_kinds=case.kind,
                case_statuses=case.status,
                case_outcomes=case.outcome or "",
                description=_text(case.key),
            )
            + tail
        )
    writer.writerow(_row("grand_total", limit_year=report.limit_year, total=_money(report.grand_total)) + tail)
    return out.getvalue()


def seal_statement(report: ExaminerReport) -> str:
    """Where the report was drawn from, and the seal an examiner verifies it against."""
    drawn = f"Drawn from the log up to position {report.position}"
    seal = report.seal
    if seal is None:
        return f"{drawn}; not sealed: run ledger verify."
    return (
        f"{drawn}; covered by the seal at position {seal.position} (root {seal.root}, key {seal.key}, sealed at "
        f"{seal.sealed_at}); verify with `ledger verify` or `scripts/examiner_check.py`."
    )


def to_pdf(report: ExaminerReport) -> bytes:
    """The report as a PDF: title, seal statement, the gifts per recipient and per account manager with their
    totals, the cases opened in the year, and the year's total."""
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(letter),
        leftMargin=0.4 * inch,
        rightMargin=0.4 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.5 * inch,
        title=f"Gifts and entertainment — limit year {report.limit_year}",
        author="Relationship ledger",
    )
    story: list[Flowable] = [
        Paragraph(_escape(f"Gifts given — examiner's report, limit year {report.limit_year}"), styles["Title"]),
        Paragraph(
            _escape(f"{report.start.isoformat()} to {report.end.isoformat()}; drawn up on {report.today.isoformat()}."),
            styles["Normal"],
        ),
        Paragraph(_escape(seal_statement(report)), styles["Normal"]),
        Spacer(1, 0.2 * inch),
        Paragraph("By recipient", styles["Heading2"]),
    ]
    heading = ["Given on", "Category", "Description", "Cost", "Counted", "Limit", "Manager", "Pre-clearance", "Cases"]
    rows: list[list[str]] = [heading]
    for section in report.recipients:
        rows.append([f"{section.name} ({section.employer})", "", "", "", "", "", "", "", ""])
        rows += [_pdf_gift(reported) for reported in section.gifts]
        rows.append(
            ["", "", f"Total ({section.status})", "", _money(section.counted_total), _money(section.limit), "", "", ""]
        )
    story.append(_table(rows))
    story += [Spacer(1, 0.2 * inch), Paragraph("By account manager", styles["Heading2"])]
    rows = [heading]
    for manager in report.managers:
        rows.append([_clip(manager.name or "(manager unknown)", 60), "", "", "", "", "", "", "", ""])
        rows += [_pdf_gift(reported) for reported in manager.gifts]
        rows.append(["", "", "Total", "", _money(manager.counted_total), "", "", "", ""])
    story.append(_table(rows))
    story += [Spacer(1, 0.2 * inch), Paragraph("Cases opened in the year", styles["Heading2"])]
    if report.cases_opened:
        story.append(_table([["Opened at", "Kind", "Key", "Status", "Outcome"], *map(_pdf_case, report.cases_opened)]))
    else:
        story.append(Paragraph("None.", styles["Normal"]))
    story += [
        Spacer(1, 0.2 * inch),
        Paragraph(_escape(f"Total counted in {report.limit_year}: ${_money(report.grand_total)}"), styles["Heading2"]),
    ]
    document.build(story)
    return out.getvalue()


def _tail(report: ExaminerReport) -> list[str]:
    seal = report.seal
    return [str(report.position), "" if seal is None else str(seal.position), "" if seal is None else seal.root]


def _row(section: str, **cells: str) -> list[str]:
    """A row of every column but the last three, `cells` by column name (the others empty)."""
    unknown = set(cells) - set(COLUMNS)
    assert not unknown, unknown
    return [section, *(cells.get(column, "") for column in COLUMNS[1:-3])]


def _gift_row(section: str, reported: ReportedGift) -> list[str]:
    gift = reported.gift
    approval = reported.approval
    return _row(
        section,
        recipient_id=reported.recipient_id,
        recipient=_text(reported.recipient_name),
        employer=_text(reported.employer),
        account_manager_id=reported.account_manager_id or "",
        account_manager=_text(reported.account_manager_name or ""),
        relationship_id=gift.relationship_id or "",
        relationship=_text(reported.relationship_name or ""),
        gift_id=gift.gift_id,
        given_on=gift.given_on.isoformat(),
        category=gift.category or "",
        description=_text(gift.description or ""),
        cost=_money(gift.cost),
        market_value=_optional(gift.market_value),
        face_value=_optional(gift.face_value),
        head_count="" if gift.head_count is None else str(gift.head_count),
        counted_value=_money(gift.counted_value),
        limit=_optional(gift.limit),
        limit_year=gift.limit_year or "",
        preclearance_id=gift.preclearance_id or "",
        preclearance_band="" if approval is None else approval.band,
        preclearance_status="" if approval is None else approval.status,
        approved_by=_text(approval.approved_by or "") if approval is not None else "",
        approved_at="" if approval is None or approval.approved_at is None else approval.approved_at.isoformat(),
        case_ids=_joined(case.case_id for case in reported.cases),
        case_kinds=_joined(case.kind for case in reported.cases),
        case_statuses=_joined(case.status for case in reported.cases),
        case_outcomes=_joined(case.outcome or "" for case in reported.cases),
    )


def _joined(values: Iterable[str]) -> str:
    """Several values in one cell, `;` between them."""
    return ";".join(values)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _optional(amount: Decimal | None) -> str:
    return "" if amount is None else _money(amount)


def _text(value: str) -> str:
    """Free text as a spreadsheet shows it, never as a formula it would run."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _pdf_gift(reported: ReportedGift) -> list[str]:
    gift = reported.gift
    approval = reported.approval
    cleared = "" if approval is None else f"{approval.band}, {approval.status}"
    return [
        gift.given_on.isoformat(),
        gift.category or "",
        _clip(gift.description or "", 40),
        _money(gift.cost),
        _money(gift.counted_value),
        _optional(gift.limit),
        _clip(reported.account_manager_name or "", 24),
        cleared,
        _clip(", ".join(f"{case.kind} ({case.status})" for case in reported.cases), 40),
    ]


def _pdf_case(case: CaseMark) -> list[str]:
    return [
        case.opened_at.isoformat(timespec="seconds"),
        case.kind,
        _clip(case.key, 60),
        case.status,
        case.outcome or "",
    ]


def _table(rows: Sequence[list[str]]) -> LongTable:
    table = LongTable(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _clip(text: str, width: int) -> str:
    """A table cell's text on one line: control characters as spaces, at most `width` characters."""
    flat = "".join(" " if ch < " " else ch for ch in text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _escape(text: str) -> str:
    """Text for a `Paragraph`, whose markup is a small XML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
