"""The examiner's report of a seeded year, on SQLite and PostgreSQL: its totals are the register's, every gift is in
both sections, its CSV parses, and it is tied to a seal that covers what it was drawn from."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest

from domain.application import Ledger
from domain.commands import GiveGift, OpenRelationship, RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from infrastructure.verification import Integrity
from projections.examiner_report import ExaminerReport, ExaminerReportReader, seal_covering
from projections.examiner_report_render import COLUMNS, seal_statement, to_csv
from projections.gift_register import GiftRegisterReader
from projections.runner import Projections
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import audit_as

YEAR = 2026
TODAY = date(2026, 6, 30)
PLAN = SeedPlan(managers=3, relationships=12, events=900, random_seed=17, until=TODAY)


@dataclass(frozen=True)
class FakeApproval:
    request_id: str
    band: str = "review"
    status: str = "used"
    decided_by: str | None = "compliance-1"
    decided_at: datetime | None = datetime(2026, 3, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class FakeCase:
    case_id: str
    kind: str
    key: str
    status: str = "open"
    outcome: str | None = None
    assignee: str | None = None
    opened_at: datetime = datetime(2026, 3, 2, 9, tzinfo=UTC)


class FakeApprovals:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, request_ids: Iterable[str], /) -> Mapping[str, FakeApproval]:
        self.asked += list(request_ids)
        return {request_id: FakeApproval(request_id) for request_id in self.asked}


class FakeCases:
    """One open case about the first gift asked for; the year's cases are that one."""

    def __init__(self) -> None:
        self.case: FakeCase | None = None

    def for_gifts(self, gift_ids: Iterable[str], /) -> Mapping[str, Sequence[FakeCase]]:
        first = next(iter(gift_ids), None)
        if first is None:
            return {}
        self.case = FakeCase(case_id=str(uuid4()), kind="near_limit", key=first)
        return {first: [self.case]}

    def opened_between(self, start: date, end: date, zone: tzinfo = UTC, /) -> Sequence[FakeCase]:
        return [self.case] if self.case is not None else []


@dataclass
class Seeded:
    ledger: Ledger
    projections: Projections
    integrity: Integrity
    key_path: str


@pytest.fixture
def seeded(database_url: str, tmp_path: Path) -> Iterator[Seeded]:
    settings = Settings(database_url=database_url, signing_key_path=str(tmp_path / "seal-key.pem"))
    ledger = build_ledger(settings)
    seed_ledger(ledger, PLAN, progress=False)
    projections = build_projections(ledger, settings)
    projections.catch_up()
    try:
        yield Seeded(ledger, projections, Integrity(ledger, projections.view), settings.signing_key_path)
    finally:
        projections.view.close()
        ledger.close()


def draw(seeded: Seeded, approvals: FakeApprovals, cases: FakeCases) -> ExaminerReport:
    position = seeded.projections.position()
    return ExaminerReportReader(seeded.projections.view).report(
        YEAR,
        TODAY,
        approvals=approvals,
        cases=cases,
        seal=seal_covering(seeded.integrity, position, seeded.key_path),
        position=position,
    )


def test_the_reports_totals_are_the_registers_and_every_gift_is_in_both_sections(seeded: Seeded) -> None:
    cases = FakeCases()
    report = draw(seeded, FakeApprovals(), cases)
    register = GiftRegisterReader(seeded.projections.view).register(YEAR, TODAY)

    assert report.gift_count > 20, "the seeded year gives the report something to show"
    assert [(s.recipient_id, s.counted_total, s.limit, s.status) for s in report.recipients] == [
        (e.recipient_id, e.counted_total, e.limit, e.status) for e in register
    ]
    assert [[r.gift.gift_id for r in s.gifts] for s in report.recipients] == [
        [g.gift_id for g in e.gifts] for e in register
    ]
    assert report.grand_total == sum((e.counted_total for e in register), Decimal("0.00"))
    assert sum((m.counted_total for m in report.managers), Decimal("0.00")) == report.grand_total
    by_recipient = sorted(r.gift.gift_id for s in report.recipients for r in s.gifts)
    assert sorted(r.gift.gift_id for m in report.managers for r in m.gifts) == by_recipient
    assert len(set(by_recipient)) == len(by_recipient)
    named = [r for s in report.recipients for r in s.gifts if r.account_manager_id is not None]
    assert named
    assert all(r.account_manager_name and r.relationship_name for r in named)
    # The case the lookup knows is on its gift, and among the cases opened in the year.
    assert cases.case is not None
    first = report.recipients[0].gifts[0]
    assert [c.case_id for c in first.cases] == [cases.case.case_id]
    assert [c.case_id for c in report.cases_opened] == [cases.case.case_id]


def test_the_csv_parses_with_the_same_totals_and_names_the_seal_covering_the_report(seeded: Seeded) -> None:
    report = draw(seeded, FakeApprovals(), FakeCases())
    assert report.seal is not None
    assert report.seal.position >= report.position > 0
    assert seeded.integrity.latest_seal() is not None

    rows = list(csv.DictReader(io.StringIO(to_csv(report))))

    assert all(list(row) == list(COLUMNS) for row in rows)
    sections = [row["section"] for row in rows]
    assert sections.count("by_recipient") == sections.count("by_account_manager") == report.gift_count
    assert sections.count("recipient_total") == len(report.recipients)
    assert sections.count("account_manager_total") == len(report.managers)
    assert sections.count("case_opened") == 1
    (grand,) = [row for row in rows if row["section"] == "grand_total"]
    assert Decimal(grand["total"]) == report.grand_total
    totals = {row["recipient_id"]: Decimal(row["total"]) for row in rows if row["section"] == "recipient_total"}
    assert totals == {s.recipient_id: s.counted_total for s in report.recipients}
    manager_rows = [Decimal(row["total"]) for row in rows if row["section"] == "account_manager_total"]
    assert sum(manager_rows, Decimal("0.00")) == report.grand_total
    counted = sum((Decimal(row["counted_value"]) for row in rows if row["section"] == "by_recipient"), Decimal(0))
    assert counted == report.grand_total
    assert {(row["report_position"], row["seal_position"], row["seal_root"]) for row in rows} == {
        (str(report.position), str(report.seal.position), report.seal.root)
    }
    assert f"covered by the seal at position {report.seal.position}" in seal_statement(report)


def test_a_second_report_at_a_sealed_position_uses_that_seal_and_seals_nothing_more(seeded: Seeded) -> None:
    first = draw(seeded, FakeApprovals(), FakeCases())
    second = draw(seeded, FakeApprovals(), FakeCases())
    assert first.seal is not None
    assert second.seal == first.seal


def test_a_seal_refused_leaves_the_report_unsealed_and_says_so(seeded: Seeded, tmp_path: Path) -> None:
    draw(seeded, FakeApprovals(), FakeCases())  # sealed with the ledger's key
    seeded.ledger.register_account_manager(
        audit_as(Role.MANAGER), RegisterAccountManager(name="Late Entry", email=f"late-{uuid4().hex[:8]}@example.com")
    )
    seeded.projections.catch_up()
    position = seeded.projections.position()

    mark = seal_covering(seeded.integrity, position, str(tmp_path / "another-key.pem"))

    assert mark is None
    report = ExaminerReportReader(seeded.projections.view).report(
        YEAR, TODAY, approvals=FakeApprovals(), cases=FakeCases(), seal=None, position=position
    )
    assert "not sealed: run ledger verify" in seal_statement(report)
    assert {(row["seal_position"], row["seal_root"]) for row in csv.DictReader(io.StringIO(to_csv(report)))} == {
        ("", "")
    }


def test_approvals_are_asked_for_the_gifts_that_used_one_and_text_is_never_a_formula(
    ledger: Ledger, database_url: str
) -> None:
    manager = audit_as(Role.MANAGER)
    account_manager_id = ledger.register_account_manager(
        manager, RegisterAccountManager(name="=Ann Lee", email=f"am-{uuid4().hex[:8]}@example.com")
    ).id
    relationship_id = ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name="+Acme",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=account_manager_id,
        ),
    ).id
    ledger.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient={"name": "Bob Smith", "employer": "@Globex"},
            description='=HYPERLINK("http://x.example","click")',
            given_on=date(2026, 5, 1),
            category="general",
            cost="40.00",
        ),
    )
    projections = build_projections(ledger, Settings(database_url=database_url))
    try:
        projections.catch_up()
        approvals = FakeApprovals()
        report = ExaminerReportReader(projections.view).report(
            YEAR, TODAY, approvals=approvals, cases=FakeCases(), seal=None, position=projections.position()
        )
    finally:
        projections.view.close()

    assert approvals.asked == []  # no gift named a pre-clearance request
    rows = [row for row in csv.DictReader(io.StringIO(to_csv(report))) if row["section"] == "by_recipient"]
    assert [(r["description"], r["employer"], r["account_manager"], r["relationship"]) for r in rows] == [
        ('\'=HYPERLINK("http://x.example","click")', "'@Globex", "'=Ann Lee", "'+Acme")
    ]
    assert (rows[0]["cost"], rows[0]["counted_value"], rows[0]["approved_by"]) == ("40.00", "40.00", "")
