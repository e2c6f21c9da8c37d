"""The examiner's report rendered: any text survives the CSV round trip and never reads as a formula; the PDF's seal
statement says what covers it; amounts keep their cents."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from projections.examiner_report import (
    ExaminerReport,
    ManagerSection,
    RecipientSection,
    ReportedGift,
    SealMark,
)
from projections.examiner_report_render import seal_statement, to_csv, to_pdf
from projections.gift_register_rows import RegisteredGift

SEAL = SealMark(position=12, root="ab" * 32, key="cd" * 32, sealed_at="2026-07-01T00:00:00+00:00")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999999999999.99"), places=2)


def report_of(description: str, name: str, cost: Decimal, *, seal: SealMark | None = SEAL) -> ExaminerReport:
    gift = RegisteredGift(
        gift_id="g-1",
        relationship_id="r-1",
        account_manager_id="am-1",
        given_on=date(2026, 5, 1),
        category="general",
        description=description,
        cost=cost,
        counted_value=cost,
        limit=Decimal("100.00"),
        limit_year="2026",
        position=7,
    )
    reported = ReportedGift("p-1", name, "Initech", "am-1", "Ann Lee", "Globex", gift, None, ())
    section = RecipientSection(
        "p-1", name, "Initech", "2026", Decimal("100.00"), cost, Decimal("0.00"), "ok", (reported,)
    )
    return ExaminerReport(
        year=2026,
        limit_year="2026",
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        today=date(2026, 6, 30),
        position=11,
        seal=seal,
        recipients=(section,),
        managers=(ManagerSection("am-1", "Ann Lee", (reported,)),),
        cases_opened=(),
        grand_total=cost,
    )


def as_shown(text: str) -> str:
    """Text as the CSV must show it: prefixed with `'` where a spreadsheet would read a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@given(description=st.text(max_size=200), name=st.text(min_size=1, max_size=50), cost=amounts)
def test_any_text_survives_the_csv_and_never_starts_a_formula(description: str, name: str, cost: Decimal) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report_of(description, name, cost)), newline="")))

    (gift,) = [row for row in rows if row["section"] == "by_recipient"]
    assert gift["description"] == as_shown(description)
    assert not gift["description"].startswith(FORMULA_STARTS)
    assert gift["recipient"] == as_shown(name)
    (grand,) = [row for row in rows if row["section"] == "grand_total"]
    assert Decimal(grand["total"]) == cost
    assert gift["counted_value"] == f"{cost:.2f}"


def test_the_seal_statement_names_the_seal_or_says_to_verify() -> None:
    sealed = seal_statement(report_of("Hamper", "Bob Smith", Decimal("10.00")))
    assert sealed.startswith("Drawn from the log up to position 11; covered by the seal at position 12 (root abab")
    assert "verify with `ledger verify` or `scripts/examiner_check.py`" in sealed
    unsealed = seal_statement(report_of("Hamper", "Bob Smith", Decimal("10.00"), seal=None))
    assert unsealed == "Drawn from the log up to position 11; not sealed: run ledger verify."


def test_a_pdf_is_made_whatever_the_text() -> None:
    pdf = to_pdf(report_of("<b>&amp; \x00\n" + "x" * 500 + " 名前", "Zoë <O'Brien>", Decimal("999999999999.99")))
    assert pdf.startswith(b"%PDF-")
